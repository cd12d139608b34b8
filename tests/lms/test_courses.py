"""Courses in the LMS: the learner's way through lessons, media, authoring and versions."""

from __future__ import annotations

import io
import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from lms.models import ActivityProgress, Course, CourseVersion, Enrolment, ProgressStatus, Role
from tests.conftest import LoggedIn, csrf_token
from tests.factories import mini_course_files, zip_bytes


@pytest.fixture
def files_dir(app):
    return app.config["HOCVU_FILES_DIR"]


@pytest.fixture
def learner_in_course(make, files_dir):
    version = make.course(files_dir)
    learner = make.learner(make.unit(), username="hv.hoc", full_name="Lê Thị Học")
    make.enrol(learner, version)
    make.commit()
    return learner, version


def _rewind(session, username: str, minutes: int) -> None:
    """Pretend the learner opened their lessons `minutes` ago."""
    session.rollback()
    for progress in session.scalars(select(ActivityProgress)):
        progress.first_opened_at -= timedelta(minutes=minutes)
    session.commit()


def test_learner_reads_completes_lessons_and_sees_progress(
    client, login, learner_in_course, session
):
    login("hv.hoc")
    home = client.get("/").get_data(as_text=True)
    assert "Khóa học thử: An toàn trên mạng" in home
    assert "Đã học xong 0/3 bài" in home and "Bắt đầu học" in home
    course = client.get("/courses/an-toan-tren-mang").get_data(as_text=True)
    assert course.count("Chưa học") == 3 and "thời lượng dự kiến 19 phút" in course

    assert client.get("/courses/an-toan-tren-mang/continue").location == (
        "/courses/an-toan-tren-mang/01-mat-khau"
    )
    lesson = client.get("/courses/an-toan-tren-mang/01-mat-khau").get_data(as_text=True)
    assert "<strong>mật khẩu mạnh</strong>" in lesson and "<table>" in lesson
    assert 'src="/media/' in lesson and "Đang học" in lesson
    assert "Hãy trả lời các câu hỏi tự kiểm tra trước." in lesson

    token = csrf_token(client, "/courses/an-toan-tren-mang/01-mat-khau")
    refused = client.post(
        "/courses/an-toan-tren-mang/01-mat-khau/complete", data={"csrf_token": token}
    )
    assert refused.status_code == 302
    assert "Hãy trả lời các câu hỏi tự kiểm tra trước." in client.get(refused.location).get_data(
        as_text=True
    )
    partial = client.post(
        "/courses/an-toan-tren-mang/01-mat-khau/self-check", data={"csrf_token": token, "q0": "0"}
    )
    assert partial.status_code == 422
    assert "Hãy trả lời tất cả câu hỏi tự kiểm tra." in partial.get_data(as_text=True)
    answered = client.post(
        "/courses/an-toan-tren-mang/01-mat-khau/self-check",
        data={"csrf_token": token, "q0": "0", "q1": "1"},
    )
    page = client.get(answered.location).get_data(as_text=True)
    assert "Chưa đúng." in page and "Đúng rồi." in page
    done = client.post(
        "/courses/an-toan-tren-mang/01-mat-khau/complete", data={"csrf_token": token}
    )
    assert done.location == "/courses/an-toan-tren-mang/02-ma-otp"

    # Lesson 2 has a minimum time of 2 minutes.
    client.get("/courses/an-toan-tren-mang/02-ma-otp")
    client.post(
        "/courses/an-toan-tren-mang/02-ma-otp/self-check", data={"csrf_token": token, "q0": "0"}
    )
    early = client.post("/courses/an-toan-tren-mang/02-ma-otp/complete", data={"csrf_token": token})
    assert "Bạn cần học bài này thêm ít nhất 2 phút nữa." in client.get(early.location).get_data(
        as_text=True
    )
    _rewind(session, "hv.hoc", 3)
    finished = client.post(
        "/courses/an-toan-tren-mang/02-ma-otp/complete", data={"csrf_token": token}
    )
    assert finished.location == "/courses/an-toan-tren-mang/final-test"

    # Progress survives logging out and in again.
    fresh = client.application.test_client()
    LoggedIn(fresh)("hv.hoc")
    home = fresh.get("/").get_data(as_text=True)
    assert "Đã học xong 2/3 bài" in home and "Học tiếp" in home
    session.rollback()
    statuses = session.scalars(select(ActivityProgress.status)).all()
    assert statuses == [ProgressStatus.DONE, ProgressStatus.DONE]


def test_lesson_text_cannot_take_the_ids_of_the_page_around_it(client, login, make, files_dir):
    module = mini_course_files()["modules/01-mat-khau.md"].decode()
    hostile = (
        '# main\n\n<a id="finish" href="#self-check">Xong</a> '
        '<img src="media/o-khoa.svg" name="csrf_token" id="self-check">\n\n'
    )
    module = module.replace("## Tự kiểm tra", hostile + "## Tự kiểm tra")
    version = make.course(files_dir, mini_course_files(**{"modules__01-mat-khau.md": module}))
    make.enrol(make.learner(make.unit(), username="hv.hoc"), version)
    make.commit()
    login("hv.hoc")
    lesson = client.get("/courses/an-toan-tren-mang/01-mat-khau").get_data(as_text=True)
    # The page's own elements (what its scripts and skip link find) are still the only ones.
    for page_id in ("main", "finish", "self-check"):
        assert lesson.count(f'id="{page_id}"') == 1, page_id
        assert f'id="hocvu-md-{page_id}"' in lesson
    assert 'href="#hocvu-md-self-check"' in lesson
    assert 'name="csrf_token"' not in lesson.split('<div class="prose">')[1].split("</article>")[0]


def test_a_course_page_is_404_for_someone_not_enrolled(client, login, make, files_dir):
    make.course(files_dir)
    make.learner(make.unit(), username="hv.ngoai")
    make.commit()
    login("hv.ngoai")
    assert client.get("/courses/an-toan-tren-mang").status_code == 404
    assert client.get("/courses/an-toan-tren-mang/01-mat-khau").status_code == 404


def test_media_is_served_to_learners_only_and_sandboxed(
    client, login, learner_in_course, make, app
):
    _, version = learner_in_course
    make.learner(make.unit(), username="hv.khac")
    make.commit()
    login("hv.hoc")
    image = client.get(f"/media/{version.id}/media/o-khoa.svg")
    assert image.status_code == 200 and image.mimetype == "image/svg+xml"
    assert "sandbox" in image.headers["Content-Security-Policy"]
    for bad in ("course.toml", "media/../course.toml", "media/%2e%2e/course.toml", "media/x.png"):
        assert client.get(f"/media/{version.id}/{bad}").status_code == 404, bad
    other = app.test_client()
    LoggedIn(other)("hv.khac")
    assert other.get(f"/media/{version.id}/media/o-khoa.svg").status_code == 404


def _upload(client, data: bytes, name: str, course_id: int = 0):
    token = csrf_token(client, "/author/")
    return client.post(
        "/author/",
        data={"csrf_token": token, "course_id": str(course_id), "file": (io.BytesIO(data), name)},
        content_type="multipart/form-data",
    )


def _version_id(response) -> int:
    return int(re.search(r"/versions/(\d+)", response.location)[1])


@pytest.fixture
def author(make):
    user = make.user(make.unit(), username="tacgia", roles=[(Role.AUTHOR, None)])
    make.commit()
    return user


def test_author_sees_every_problem_then_fixes_previews_and_publishes(
    client, login, author, session
):
    login("tacgia")
    broken = mini_course_files(
        modules__01_mat_khau_md=None,
        **{
            "modules/01-mat-khau.md": "---\ntitle: Mật khẩu\nminutes: nhiều\n---\n\n"
            "<script>alert(1)</script>![ảnh](media/khong-co.png)\n",
            "course.toml": 'title = "Khóa"\nslug = "an-toan-tren-mang"\nmau = "đỏ"\n',
        },
    )
    response = _upload(client, zip_bytes(broken), "khoa.zip")
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Tệp có 3 lỗi; chưa có gì được lưu:" in page
    assert "<code>course.toml:3</code> Khóa mau không hợp lệ." in page
    assert "<code>modules/01-mat-khau.md:3</code> minutes phải là số phút nguyên" in page
    assert "<code>modules/01-mat-khau.md:6</code> Không có media/khong-co.png" in page
    session.rollback()
    assert session.scalar(select(Course)) is None

    response = _upload(client, zip_bytes(mini_course_files()), "khoa.zip")
    assert response.status_code == 302
    version_page = client.get(response.location).get_data(as_text=True)
    assert "bản nháp, học viên chưa nhìn thấy" in version_page
    version = session.scalar(select(CourseVersion))
    preview = client.get(f"/author/versions/{version.id}/preview/01-mat-khau").get_data(
        as_text=True
    )
    assert "Xem trước phiên bản 1" in preview and "<table>" in preview
    assert client.get(f"/media/{version.id}/media/o-khoa.svg").status_code == 200
    token = csrf_token(client, f"/author/versions/{version.id}")
    published = client.post(f"/author/versions/{version.id}", data={"csrf_token": token})
    assert "Đã xuất bản phiên bản 1." in client.get(published.location).get_data(as_text=True)
    session.rollback()
    assert session.scalar(select(Course)).current_version_id == version.id


def test_learners_keep_their_version_unless_the_author_moves_them(
    client, login, author, make, files_dir, session
):
    v1 = make.course(files_dir)
    learner = make.learner(make.unit(), username="hv.cu")
    enrolment = make.enrol(learner, v1)
    make.commit()
    learner_client = client.application.test_client()
    LoggedIn(learner_client)("hv.cu")
    learner_client.get("/courses/an-toan-tren-mang/01-mat-khau")

    login("tacgia")
    changed = mini_course_files(
        **{
            "modules/01-mat-khau.md": (
                "---\ntitle: Mật khẩu thật mạnh\nminutes: 5\n---\n\nNội dung đã sửa câu chữ.\n"
            )
        }
    )
    v2_id = _version_id(_upload(client, zip_bytes(changed), "k.zip"))
    token = csrf_token(client, f"/author/versions/{v2_id}")
    client.post(f"/author/versions/{v2_id}", data={"csrf_token": token})
    session.rollback()
    assert session.get(Enrolment, enrolment.id).version_id == v1.id  # kept
    assert "Mật khẩu mạnh" in learner_client.get("/courses/an-toan-tren-mang").get_data(
        as_text=True
    )

    v3_id = _version_id(_upload(client, zip_bytes(changed), "k.zip"))
    page = client.get(f"/author/versions/{v3_id}").get_data(as_text=True)
    assert "1 học viên" in page
    token = csrf_token(client, f"/author/versions/{v3_id}")
    moved = client.post(
        f"/author/versions/{v3_id}", data={"csrf_token": token, "move_enrolled": "y"}
    )
    assert "Đã chuyển 1 học viên sang phiên bản này." in client.get(moved.location).get_data(
        as_text=True
    )
    session.rollback()
    assert session.get(Enrolment, enrolment.id).version_id == v3_id
    progress = session.scalars(select(ActivityProgress)).one()
    assert progress.activity.version_id == v3_id and progress.status == ProgressStatus.IN_PROGRESS
    assert "Mật khẩu thật mạnh" in learner_client.get("/courses/an-toan-tren-mang").get_data(
        as_text=True
    )


def test_author_replaces_one_module(client, login, author, make, files_dir, session):
    v1 = make.course(files_dir)
    make.commit()
    login("tacgia")
    module = "---\ntitle: Mã OTP (sửa)\nminutes: 4\n---\n\nBài đã sửa.\n"
    response = _upload(client, module.encode(), "02-ma-otp.md", course_id=v1.course_id)
    assert response.status_code == 302
    session.rollback()
    v2 = session.scalars(select(CourseVersion).order_by(CourseVersion.number.desc())).first()
    assert v2.number == 2 and [a.title for a in v2.activities] == [
        "Mật khẩu mạnh",
        "Mã OTP (sửa)",
        "Bài kiểm tra cuối khóa",
    ]
    bad = _upload(
        client, "---\ntitle: X\n---\n\nThiếu minutes.\n".encode(), "03-moi.md", v1.course_id
    )
    assert "Phần đầu bài cần có minutes." in bad.get_data(as_text=True)
    wrong_kind = _upload(client, b"PK not a zip", "khoa.pdf", v1.course_id)
    assert "Hãy chọn một bài (.md), một gói SCORM (NN-ten.zip)" in wrong_kind.get_data(as_text=True)
    # A zip is known by its content: named anyhow, it must be named for its place.
    unnamed = _upload(client, zip_bytes({"a.txt": b"a"}), "khoa.zip", v1.course_id)
    assert "ví dụ 04-vneid.zip" in unnamed.get_data(as_text=True)
    not_a_zip = _upload(client, b"PK not a zip", "khoa.zip", v1.course_id)
    assert "Tệp không phải là tệp nén zip" in not_a_zip.get_data(as_text=True)
    broken = _upload(client, b"PK not a zip", "04-vneid.zip", v1.course_id)
    assert broken.status_code == 422
    assert "không phải" in broken.get_data(as_text=True)
    not_zip = _upload(client, module.encode(), "02-ma-otp.md", 0)
    assert "Tệp không phải là tệp nén zip hoặc đã bị hỏng." in not_zip.get_data(as_text=True)


def test_authoring_is_for_authors_only(client, login, make):
    make.learner(make.unit(), username="hv.thuong")
    make.commit()
    login("hv.thuong")
    assert client.get("/author/").status_code == 403
    assert "Soạn bài" not in client.get("/").get_data(as_text=True)


def test_import_course_command(runner, session, tmp_path):
    good = runner.invoke(args=["import-course", "tests/courses/fixtures/mini"])
    assert good.exit_code == 0, good.output
    assert "version 1 published, 2 lessons, final test bank of 2 questions." in good.output
    bad_zip = tmp_path / "bad.zip"
    bad_zip.write_bytes(zip_bytes(mini_course_files(**{"course.toml": 'slug = "Có Dấu"\n'})))
    bad = runner.invoke(args=["import-course", str(bad_zip)])
    assert bad.exit_code != 0
    assert "course.toml: Khóa học cần có tên (title)." in bad.output
    assert "nothing was imported" in bad.output
    session.rollback()
    assert len(session.scalars(select(CourseVersion)).all()) == 1


@pytest.mark.parametrize("bank", ["an-toan.gift", "an-toan.xml"])
def test_author_imports_a_gift_or_moodle_xml_bank(
    client, login, author, make, files_dir, session, bank
):
    from pathlib import Path

    v1 = make.course(files_dir)
    make.commit()
    login("tacgia")
    data = (Path(__file__).parents[1] / "courses" / "fixtures" / "banks" / bank).read_bytes()
    response = _upload(client, data, bank, course_id=v1.course_id)
    assert response.status_code == 302
    page = client.get(response.location).get_data(as_text=True)
    assert "Ngân hàng có 8 câu hỏi" in page or "Ngân hàng có 6 câu hỏi" in page
    # The essay it skips, with the file, the question's name and its line.
    assert re.search(rf"<code>{re.escape(bank)}:\d+ \(OTP-?X?3\)</code> [^<]*bị bỏ qua", page)
    session.rollback()
    v2 = session.scalars(select(CourseVersion).order_by(CourseVersion.number.desc())).first()
    assert v2.number == 2 and {q["module"] for q in v2.final_test["questions"]} == {
        "01-mat-khau",
        "02-ma-otp",
    }


def test_an_empty_bank_upload_says_why(client, login, author, make, files_dir):
    version = make.course(files_dir)
    make.commit()
    login("tacgia")
    response = _upload(
        client, "// chỉ có chú thích\n".encode(), "trong.gift", course_id=version.course_id
    )
    assert "Không đọc được câu hỏi nào từ tệp này." in response.get_data(as_text=True)


def test_author_edits_a_question_in_the_browser_and_previews_it(
    client, login, author, make, files_dir, session
):
    v1 = make.course(files_dir)
    make.commit()
    login("tacgia")
    listing = client.get(f"/author/courses/{v1.course_id}/questions").get_data(as_text=True)
    assert "Mật khẩu nào mạnh nhất?" in listing and "Một đáp án đúng" in listing
    page = client.get(f"/author/courses/{v1.course_id}/questions/q1").get_data(as_text=True)
    assert "Học viên sẽ thấy như sau" in page and 'name="q-q1"' in page
    token = csrf_token(client, f"/author/courses/{v1.course_id}/questions/q1")
    form = {
        "csrf_token": token,
        "text": "Mật khẩu nào an toàn nhất?",
        "points": "2",
        "feedback": "Chọn câu dài.",
        "choices_text-0": "123456",
        "choices_text-1": "Hạ Long mùa thu 2026",
        "choices_text-2": "matkhau",
        "correct": ["1"],
    }
    saved = client.post(f"/author/courses/{v1.course_id}/questions/q1", data=form)
    assert saved.status_code == 302
    assert "Đã lưu câu hỏi vào phiên bản 2" in client.get(saved.location).get_data(as_text=True)
    session.rollback()
    v2 = session.scalars(select(CourseVersion).order_by(CourseVersion.number.desc())).first()
    q1 = next(q for q in v2.final_test["questions"] if q["id"] == "q1")
    assert q1["text"] == "Mật khẩu nào an toàn nhất?" and q1["points"] == 2.0
    assert [c["correct"] for c in q1["choices"]] == [False, True, False]
    # Two right answers to a one-answer question are refused, and nothing is saved.
    form["correct"] = ["0", "1"]
    refused = client.post(f"/author/courses/{v1.course_id}/questions/q1", data=form)
    assert "Câu hỏi một lựa chọn phải có đúng một phương án đúng." in refused.get_data(as_text=True)
    session.rollback()
    assert (
        session.scalars(select(CourseVersion).order_by(CourseVersion.number.desc())).first().number
        == 2
    )


# What course.html's loop over the lessons wrote before lms.web.learn.lesson_items wrote them.
_LESSON_LOOP = (
    '{% from "hocvu/learn/_status.html" import status_label %}\n'
    "{% set status_labels = {'done': status_label('done'), "
    "'in_progress': status_label('in_progress'), 'not_started': status_label('not_started')} %}"
    '<ol class="lessons">\n'
    "  {% for step in progress.steps %}\n"
    '  <li class="lesson {{ step.status }}">\n'
    "    <a href=\"{{ url_for('learn.activity', slug=slug, key=step.activity.key) }}\">"
    "{{ step.activity.title }}</a>\n"
    '    <span class="meta">{{ status_labels[step.status] }} · '
    '{{ _("%(minutes)s min", minutes=step.activity.minutes) }}</span>\n'
    "  </li>\n"
    "  {% endfor %}\n"
    "</ol>"
)


@pytest.mark.parametrize("locale", ["vi", "en"])
def test_the_course_page_s_lessons_are_written_as_its_loop_wrote_them(app, locale):
    from flask import render_template_string
    from flask_babel import force_locale

    from lms.services.learning import Step, StepActivity

    loop = _LESSON_LOOP
    written = loop[: loop.index("<ol")] + (
        '<ol class="lessons">\n  {{ lesson_items(progress.steps, slug, status_labels) }}\n</ol>'
    )
    done, doing, todo = ProgressStatus.DONE, ProgressStatus.IN_PROGRESS, ProgressStatus.NOT_STARTED
    steps = [
        Step(StepActivity(1, "a&b", "page", 'Tít <le> "q" & ý', 0, True), done),
        Step(StepActivity(2, "k2", "page", "Bài 2", 12, True), doing),
        Step(StepActivity(3, "final-test", "test", "Kiểm tra", 1, True), todo),
    ]
    with app.test_request_context("/courses/x"), force_locale(locale):
        for shown in (steps, steps[:1], []):
            values = {"progress": {"steps": shown}, "slug": "s&lug"}
            expected = render_template_string(loop, **values)
            assert render_template_string(written, **values) == expected
            if shown:
                assert 's&amp;lug/a&amp;b">Tít &lt;le&gt; &#34;q&#34; &amp; ý<' in expected


def test_a_lesson_s_content_is_decoded_once_per_process():
    # A lesson opened before is shown from its content's JSON text, decoded once per
    # process (lms.services.learning._content) and shared read-only by the requests.
    from lms.services import learning

    raw = '{"html": "<p>Chào</p>", "self_check": []}'
    first = learning._content(raw)
    assert first == {"html": "<p>Chào</p>", "self_check": []}
    assert learning._content(raw[:-1] + "}") is first  # the same text, another string
    with pytest.raises(TypeError):
        first["html"] = "<p>khác</p>"  # type: ignore[index]
    assert learning._content(None) is None


# What kinds/page.html's loop over the self-check wrote before fragments.self_check_fields.
_SELF_CHECK_LOOP = (
    "    {% for q in questions %}\n"
    "    {% set qi = loop.index0 %}\n"
    "    {% set given = answers.get(qi|string) %}\n"
    "    {% set multiple = q.correct|length > 1 %}\n"
    '    <fieldset class="question">\n'
    "      <legend>{{ loop.index }}. {{ q.text }}{% if multiple %} "
    '<span class="muted small">({{ _("choose every correct answer") }})</span>'
    "{% endif %}</legend>\n"
    "      {% for option in q.options %}\n"
    '      <label class="option">\n'
    "        <input type=\"{{ 'checkbox' if multiple else 'radio' }}\" name=\"q{{ qi }}\" "
    'value="{{ loop.index0 }}" {% if given and loop.index0 in given %}checked{% endif %}>\n'
    "        <span>{{ option }}</span>\n"
    "      </label>\n"
    "      {% endfor %}\n"
    "      {% if given %}\n"
    "      {% if given|sort == q.correct|sort %}\n"
    '      <p class="feedback right">{{ _("Correct.") }} {{ q.explanation }}</p>\n'
    "      {% else %}\n"
    '      <p class="feedback wrong">{{ _("Not quite.") }} {{ q.explanation }}</p>\n'
    "      {% endif %}\n"
    "      {% endif %}\n"
    "    </fieldset>\n"
    "    {% endfor %}"
)


@pytest.mark.parametrize("locale", ["vi", "en"])
def test_the_self_check_is_written_as_its_loop_wrote_it(app, locale):
    from flask import render_template_string
    from flask_babel import force_locale

    questions = [
        {
            "text": 'Một <đúng> & "sai"',
            "options": ["A & B", "<C>"],
            "correct": [1],
            "explanation": "Vì <b> & c",
        },
        {"text": "Chọn hai", "options": ["1", "2", "3"], "correct": [0, 2], "explanation": None},
    ]
    written = "    {{ self_check_fields(questions, answers) }}"
    states = [{}, {"0": [1]}, {"0": [0], "1": [2, 0]}, {"1": [0]}, {"0": []}]
    with app.test_request_context("/courses/x/y"), force_locale(locale):
        for answers in states:
            for shown in (questions, questions[1:], []):
                values = {"questions": shown, "answers": answers}
                expected = render_template_string(_SELF_CHECK_LOOP, **values)
                assert render_template_string(written, **values) == expected, answers
