"""Moodle question banks (GIFT, Moodle XML) uploaded by an author and taken by a learner.

Issue 21's findings, each checked here the way an author or a learner would notice it: real
banks were refused (categories, duplicate names) with messages citing a file the author never
uploaded; warnings stopped at 50; weights showed in answers; HTML showed as raw markup.
"""

from __future__ import annotations

import io
import re
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from lms.app.storage import LocalStorage
from lms.models import Course, CourseVersion, Role, TestAttempt, utcnow
from lms.services import assessment, catalog, learning
from tests.conftest import csrf_token
from tests.factories import mini_course_files

BANKS = Path(__file__).parents[1] / "courses" / "fixtures" / "banks"
SLUG = "an-toan-tren-mang"


@pytest.fixture
def files_dir(app):
    return app.config["HOCVU_FILES_DIR"]


@pytest.fixture
def author(make):
    user = make.user(make.unit(), username="tacgia", roles=[(Role.AUTHOR, None)])
    make.commit()
    return user


def _upload(client, data: bytes, name: str, course_id: int):
    token = csrf_token(client, "/author/")
    return client.post(
        "/author/",
        data={"csrf_token": token, "course_id": str(course_id), "file": (io.BytesIO(data), name)},
        content_type="multipart/form-data",
    )


def test_a_bank_whose_categories_are_no_lessons_is_imported_and_drawn(
    client, login, author, make, files_dir, session
):
    """Issue 21: every real bank was refused because its categories are not lesson names, one
    duplicate name refused the file, and the messages cited final-test.toml:<line>."""
    v1 = make.course(files_dir)
    make.commit()
    login("tacgia")
    response = _upload(client, (BANKS / "moodle-rules.xml").read_bytes(), "rules.xml", v1.course_id)
    assert response.status_code == 302
    page = client.get(response.location).get_data(as_text=True)
    assert "Ngân hàng có 8 câu hỏi" in page  # 7 questions and a description; 3 skipped
    assert "final-test.toml" not in page
    assert (
        "<code>rules.xml:8 (Thư rác)</code> Danh mục Default for Tin học/Thư điện tử không trùng "
        "tên bài học nào: hãy chọn trên trang phiên bản số câu rút từ 7 câu hỏi của nó cho mỗi "
        "lượt làm bài."
    ) in page
    assert (
        "<code>rules.xml:71 (Thư rác)</code> Một câu hỏi phía trước đã dùng tên này: câu này "
        "được đổi tên thành Thư rác (2)."
    ) in page
    assert "<code>rules.xml:63 (Viết thư)</code>" in page  # the essay, skipped
    assert "<code>rules.xml:67 (Tính dung lượng)</code>" in page  # calculated, skipped
    storage = LocalStorage(files_dir)
    version_files = storage.read_tree(f"courses/{v1.course_id}/v2")
    assert [p for p in version_files if p.startswith("media/bank/")] == [
        "media/bank/6627b3a7c227bf65.png"
    ]
    assert (
        "<code>rules.xml:83 (Chọn nhiều ô)</code> Chỗ trống MULTIRESPONSE của câu hỏi điền "
        "khuyết này chưa đọc được; câu hỏi bị bỏ qua."
    ) in page
    session.rollback()
    v2 = session.scalars(select(CourseVersion).order_by(CourseVersion.number.desc())).first()
    catalog.publish(session, None, v2)
    learner = make.learner(make.unit(), username="hv.nhom")
    enrolment = make.enrol(learner, v2)
    session.commit()
    for step in learning.progress_of(session, enrolment).steps:
        if step.activity.kind == "page":
            progress = learning.open_activity(
                session, enrolment, step.activity, utcnow() - timedelta(hours=1)
            )
            progress.data = {"self_check": {"0": [0], "1": [0]}}
            learning.complete_activity(session, enrolment, step.activity)
    test = next(a for a in v2.activities if a.kind == "test")
    attempt = assessment.start(session, enrolment, test)
    pool = {q.id for q in assessment.bank_of(test).questions if q.graded}
    assert len(attempt.draw) == 2 and {d["id"] for d in attempt.draw} <= pool
    session.commit()
    # Another bank replaces this one, and its images: none is left behind.
    again = _upload(client, (BANKS / "an-toan.gift").read_bytes(), "an-toan.gift", v1.course_id)
    assert again.status_code == 302
    assert not [p for p in storage.read_tree(f"courses/{v1.course_id}/v3") if "bank/" in p]


def test_every_import_message_is_kept_and_listed(client, login, author, make, files_dir):
    """Issue 21: warnings stopped at 50 without a word (71 skipped questions never reported).
    All are listed on the version's page; past the first ten they fold, saying how many."""
    v1 = make.course(files_dir)
    make.commit()
    login("tacgia")
    essays = "\n\n".join(f"::Tự luận {n}::Hãy trình bày ý kiến số {n}.{{}}" for n in range(71))
    bank = f"::Đúng sai::Mã OTP chỉ dùng một lần.{{T}}\n\n{essays}\n".encode()
    response = _upload(client, bank, "nhieu.gift", v1.course_id)
    assert response.status_code == 302
    page = client.get(response.location, follow_redirects=True).get_data(as_text=True)
    assert "Nhập tệp nhieu.gift có 72 thông báo: xem bên dưới." in page
    assert "72 thông báo, mỗi thông báo ghi tên câu hỏi" in page
    assert "Xem thêm 62 thông báo" in page
    for n in range(71):
        assert f"<code>nhieu.gift:{3 + 2 * n} (Tự luận {n})</code>" in page


def test_a_refused_bank_names_the_uploaded_file_and_the_question(
    client, login, author, make, files_dir
):
    """Issue 21: messages cited final-test.toml:<line>, a file the author never uploaded. A
    matching question whose rows are only scripts (removed by the sanitizer) is refused with
    the uploaded file's line and the question's name."""
    v1 = make.course(files_dir)
    make.commit()
    login("tacgia")
    bank = (
        "// chú thích\n::Ghép::[html]Nối{\n=<script>a</script> -> A\n=<script>b</script> -> B\n}\n"
    )
    response = _upload(client, bank.encode(), "ghep.gift", v1.course_id)
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "final-test.toml" not in page
    assert (
        "<code>ghep.gift:2 (Ghép)</code> Câu hỏi ghép nối cần ít nhất hai cặp, mỗi cặp có left "
        "và right."
    ) in page


RENDERED = (
    '::Ảnh::[html]<p dir\\="ltr" style\\="width\\: 9000px">Ô này màu <b>đỏ</b>\\: '
    '<img src\\="data\\:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAQAAAACCAIAAADwyuo0AAAAEElEQVR4'
    'nGM4o6QERwzIHABz6giB6pZQ+wAAAABJRU5ErkJggg\\=\\=" width\\="18705"></p>{T}\n\n'
    "::Tên::Người dùng Moodle được gọi là gì?{\n\t=%100%Moodler#Đúng.\n\t=%0%*#Chưa đúng.\n}\n\n"
    "::Năm::Bác Hồ đọc Tuyên ngôn Độc lập năm nào?{#1945}\n\n"
    "::Lời dẫn::[markdown]Ba câu sau là **câu hỏi ôn tập**.\n"
)


def _take(app, make, session, username: str):
    files = mini_course_files(
        **{
            "course.toml": mini_course_files()["course.toml"]
            .decode()
            .replace("questions = 2", "questions = 3")
        }
    )
    version = make.course(app.config["HOCVU_FILES_DIR"], files)
    storage = LocalStorage(app.config["HOCVU_FILES_DIR"])
    course = session.get(Course, version.course_id)
    v2, _ = catalog.replace_bank(session, None, course, "on-tap.gift", RENDERED.encode(), storage)
    catalog.publish(session, None, v2)
    enrolment = make.enrol(make.learner(make.unit(), username=username), v2)
    make.commit()
    for step in learning.progress_of(session, enrolment).steps:
        if step.activity.kind == "page":
            progress = learning.open_activity(
                session, enrolment, step.activity, utcnow() - timedelta(hours=1)
            )
            progress.data = {"self_check": {"0": [0], "1": [0]}}
            learning.complete_activity(session, enrolment, step.activity)
    session.commit()
    return v2


def test_learners_see_formatted_questions_and_are_graded_as_in_moodle(
    app, client, login, make, session
):
    """Issue 21: GIFT [html] showed as raw markup (<p dir="ltr">, <img src="data:...">) and a
    page grew 18,705 px wide; `=%100%Moodler` scored 0 and the review showed "%100%Moodler"."""
    version = _take(app, make, session, "hv.moodle")
    login("hv.moodle")
    token = csrf_token(client, f"/courses/{SLUG}/final-test")
    start = client.post(f"/courses/{SLUG}/test/start", data={"csrf_token": token})
    page = client.get(start.location).get_data(as_text=True)
    assert "Ô này màu <b>đỏ</b>:" in page
    assert "&lt;p" not in page and "dir=" not in page and "9000px" not in page
    assert "data:image" not in page
    image = re.search(r'<img src="(/media/\d+/media/bank/[0-9a-f]+\.png)"', page)
    assert image, page
    served = client.get(image[1])
    assert served.status_code == 200 and served.data.startswith(b"\x89PNG")
    # The description is shown, rendered, and is not one of the questions.
    assert "Ba câu sau là <strong>câu hỏi ôn tập</strong>." in page
    assert page.count('class="question card"') == 3
    assert 'inputmode="decimal"' in page
    css = client.get("/static/css/hocvu.css").get_data(as_text=True)
    assert re.search(r"\.rich img[^{]*\{[^}]*max-width: 100%", css)
    session.rollback()
    attempt = session.scalars(select(TestAttempt)).one()
    ids = {assessment.question_map(attempt.activity)[d["id"]].name: d["id"] for d in attempt.draw}
    form = {
        "csrf_token": token,
        f"q-{ids['Ảnh']}": "true",
        f"q-{ids['Tên']}": "Moodler",
        f"q-{ids['Năm']}": "1945,0",
    }
    done = client.post(start.location + "/submit", data=form)
    result = client.get(done.location).get_data(as_text=True)
    assert "10/10 – Đạt" in result
    assert "Đáp án đúng: Moodler" in result and "%100%" not in result
    assert "Đáp án đúng: 1.945" in result  # the number, in Vietnamese notation
    assert version.final_test["report"]["file"] == "on-tap.gift"


def test_a_weight_zero_wildcard_earns_nothing(app, client, login, make, session):
    """Issue 21: typing `%0%*` scored 10/10. `=%0%*` is Moodle's catch-all answer worth 0 %."""
    _take(app, make, session, "hv.sao")
    login("hv.sao")
    token = csrf_token(client, f"/courses/{SLUG}/final-test")
    start = client.post(f"/courses/{SLUG}/test/start", data={"csrf_token": token})
    session.rollback()
    attempt = session.scalars(select(TestAttempt)).one()
    ids = {assessment.question_map(attempt.activity)[d["id"]].name: d["id"] for d in attempt.draw}
    form = {
        "csrf_token": token,
        "confirm": "1",
        f"q-{ids['Tên']}": "%0%*",
        f"q-{ids['Năm']}": "1944",
    }
    done = client.post(start.location + "/submit", data=form)
    assert "0/10 – Chưa đạt" in client.get(done.location).get_data(as_text=True)


def test_a_cloze_blank_inside_a_tag_is_not_a_field(app):
    """A blank written in an attribute (an image's alt text) must not put a field inside the
    tag: only the blanks of the text become fields."""
    from courses import moodlexml
    from lms.web.learn import cloze_html

    xml = (
        '<quiz><question type="cloze"><name><text>Ảnh</text></name><questiontext format="html">'
        '<text><![CDATA[<p>Ảnh <img alt="x > {1:SA:=a}" src="https://example.org/a.png"> là '
        "{1:SA:=b}.</p>]]></text></questiontext></question></quiz>"
    ).encode()
    question = moodlexml.parse("anh.xml", xml).questions[0]
    with app.test_request_context():
        html = str(cloze_html(question, "q-anh", {"2": 'b"><script>'}, False, None))
    assert re.search(r"<img[^<]*>", html) and "{#1}" in html
    assert html.count("<input") == 1 and 'name="q-anh-2"' in html
    assert 'value="b&#34;&gt;&lt;script&gt;"' in html


def test_the_question_form_leaves_moodle_questions_to_the_bank_file(
    client, login, author, make, files_dir
):
    """The form edits plain questions without weights; saving a Moodle question through it
    would drop its weights and formatting, so it sends the author to the bank file instead."""
    v1 = make.course(files_dir)
    make.commit()
    login("tacgia")
    _upload(client, (BANKS / "moodle-rules.xml").read_bytes(), "rules.xml", v1.course_id)
    listing = client.get(f"/author/courses/{v1.course_id}/questions").get_data(as_text=True)
    assert "Thư nào là thư lừa đảo?" in listing and "&lt;strong&gt;" not in listing
    assert "Điền khuyết (cloze)" in listing and "Câu trả lời dạng số" in listing
    edit = client.get(f"/author/courses/{v1.course_id}/questions/thu-rac")
    assert edit.status_code == 302
    page = client.get(edit.location).get_data(as_text=True)
    assert "hãy sửa trong tệp ngân hàng rồi tải tệp đó lên" in page
    plain = client.get(f"/author/courses/{v1.course_id}/questions/thu-rac-2")
    assert plain.status_code == 200  # a true/false question: the form can edit it


def test_an_uploaded_toml_bank_is_named_as_uploaded(client, login, author, make, files_dir):
    """A TOML bank is stored as final-test.toml with the same lines: its messages name the
    file the author chose, not final-test.toml."""
    v1 = make.course(files_dir)
    make.commit()
    login("tacgia")
    bank = '[[questions]]\nid = "a"\nmodule = "01-mat-khau"\ntype = "truefalse"\ntext = "?"\n'
    response = _upload(client, bank.encode(), "ngan-hang.toml", v1.course_id)
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and "final-test.toml" not in page
    assert "<code>ngan-hang.toml:1</code>" in page


FEEDBACK = (
    "::Mạnh::Mật khẩu nào mạnh nhất?{=Hạ Long mùa thu 2026#Đúng: dài và dễ nhớ. "
    "~123456#Quá ngắn. ~matkhau#Dễ đoán.}\n\n"
    "::Viết tắt::Mã dùng một lần viết tắt là gì?{=OTP#Chính xác. =%50%OPT#Sai thứ tự.}\n\n"
    "::Chia sẻ::Có thể đọc mã OTP cho nhân viên ngân hàng.{F#Không: ngân hàng không bao giờ "
    "hỏi mã.#Đúng vậy.}\n"
)


def test_the_review_shows_the_feedback_of_the_chosen_answer(app, client, login, make, session):
    """Issue 21, per-answer feedback: Moodle's review shows the feedback written for the answer
    the learner gave (question/type/*/renderer.php, specific_feedback); only that one."""
    files = mini_course_files(
        **{
            "course.toml": mini_course_files()["course.toml"]
            .decode()
            .replace("questions = 2", "questions = 3")
        }
    )
    version = make.course(app.config["HOCVU_FILES_DIR"], files)
    storage = LocalStorage(app.config["HOCVU_FILES_DIR"])
    course = session.get(Course, version.course_id)
    v2, _ = catalog.replace_bank(session, None, course, "phan-hoi.gift", FEEDBACK.encode(), storage)
    catalog.publish(session, None, v2)
    enrolment = make.enrol(make.learner(make.unit(), username="hv.phanhoi"), v2)
    make.commit()
    for step in learning.progress_of(session, enrolment).steps:
        if step.activity.kind == "page":
            progress = learning.open_activity(
                session, enrolment, step.activity, utcnow() - timedelta(hours=1)
            )
            progress.data = {"self_check": {"0": [0], "1": [0]}}
            learning.complete_activity(session, enrolment, step.activity)
    session.commit()
    login("hv.phanhoi")
    token = csrf_token(client, f"/courses/{SLUG}/final-test")
    start = client.post(f"/courses/{SLUG}/test/start", data={"csrf_token": token})
    session.rollback()
    attempt = session.scalars(select(TestAttempt)).one()
    questions = assessment.question_map(attempt.activity)
    items = {questions[d["id"]].name: d for d in attempt.draw}
    strong = items["Mạnh"]
    right = next(p for p, i in enumerate(strong["order"]) if i == 0)
    form = {
        "csrf_token": token,
        f"q-{strong['id']}": str(right),
        f"q-{items['Viết tắt']['id']}": "opt",
        f"q-{items['Chia sẻ']['id']}": "true",
    }
    done = client.post(start.location + "/submit", data=form)
    result = client.get(done.location).get_data(as_text=True)
    assert "5/10 – Đạt" in result  # 1 + 0.5 + 0 of 3
    assert "Nhận xét về câu trả lời của bạn: Đúng: dài và dễ nhớ." in result
    assert "Nhận xét về câu trả lời của bạn: Sai thứ tự." in result
    # "true" was chosen and is wrong: the feedback GIFT writes first, for the wrong answer.
    assert "Nhận xét về câu trả lời của bạn: Không: ngân hàng không bao giờ hỏi mã." in result
    for other in ("Quá ngắn.", "Dễ đoán.", "Chính xác.", "Đúng vậy."):
        assert other not in result
