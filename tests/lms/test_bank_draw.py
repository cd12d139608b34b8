"""How many questions the final test draws from each category of an imported bank.

Issue 21 ("Categories map to the final test's draw rules without having to match lesson names:
the author sees the bank's category tree with counts and chooses how many to draw from each,
with a sensible default"): checked as the author and the learner notice it, on the version's
page and in the questions an attempt draws.
"""

from __future__ import annotations

import io
import re
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import select

from lms.app.storage import LocalStorage
from lms.models import AuditEvent, Course, CourseVersion, Role, utcnow
from lms.services import assessment, catalog, drawing, learning
from lms.web.admin.audit import audit_label
from tests.conftest import LoggedIn, csrf_token
from tests.factories import mini_course_files

# Three categories (two inside "Tin học", which has no question of its own): 8, 6 and 6.
SIZES = {"An toàn": 8, "Tin học/Thư điện tử": 6, "Tin học/Trình duyệt": 6}


def three_categories() -> bytes:
    """A GIFT bank with the categories of SIZES, true/false questions named after them."""
    blocks = []
    for category, size in SIZES.items():
        blocks.append(f"$CATEGORY: $course$/top/{category}")
        last = category.rsplit("/", 1)[-1]
        blocks += [f"::{last} {n}::{last}: câu số {n} là đúng.{{T}}" for n in range(1, size + 1)]
    return "\n\n".join(blocks).encode()


def ten_question_course() -> dict[str, bytes]:
    """The mini course with a test of 10 questions."""
    toml = mini_course_files()["course.toml"].decode().replace("questions = 2", "questions = 10")
    return mini_course_files(**{"course.toml": toml})


@pytest.fixture
def author(make):
    user = make.user(make.unit(), username="tacgia", roles=[(Role.AUTHOR, None)])
    make.commit()
    return user


@pytest.fixture
def imported(app, client, login, author, make, session):
    """An author uploads the three-category bank; returns the new version's id."""
    v1 = make.course(app.config["HOCVU_FILES_DIR"], ten_question_course())
    make.commit()
    login("tacgia")
    token = csrf_token(client, "/author/")
    response = client.post(
        "/author/",
        data={
            "csrf_token": token,
            "course_id": str(v1.course_id),
            "file": (io.BytesIO(three_categories()), "ba-nhom.gift"),
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    return int(response.location.rsplit("/", 1)[-1])


def _inputs(page: str) -> dict[str, str]:
    """The draw form's numbers by their category's label."""
    found = {}
    for number, label in re.findall(r'<label for="n-(\d+)">([^<]+?) <span', page):
        value = re.search(rf'name="n-{number}"[^>]*value="([^"]*)"', page)
        found[label] = value.group(1)
    return found


def _post_draw(client, version_id: int, numbers: dict[int, str]):
    page = f"/author/versions/{version_id}"
    data = {"csrf_token": csrf_token(client, page)}
    data |= {f"n-{index}": value for index, value in numbers.items()}
    return client.post(f"{page}/draw", data=data)


def _learner_attempt(make, session, version, username: str):
    enrolment = make.enrol(make.learner(make.unit(), username=username), version)
    for step in learning.progress_of(session, enrolment).steps:
        if step.activity.kind == "page":
            progress = learning.open_activity(
                session, enrolment, step.activity, utcnow() - timedelta(hours=1)
            )
            progress.data = {"self_check": {"0": [0], "1": [0]}}
            learning.complete_activity(session, enrolment, step.activity)
    test = next(a for a in version.activities if a.kind == "test")
    attempt = assessment.start(session, enrolment, test)
    session.commit()
    return attempt


def _drawn_categories(attempt) -> Counter:
    questions = assessment.question_map(attempt.activity)
    return Counter(questions[d["id"]].group for d in attempt.draw)


def test_the_author_sees_the_category_tree_and_a_proportional_proposal(client, imported):
    """Issue 21: after an import the version's page shows the bank's categories as a tree
    (`$course$/top/Tin học/Thư điện tử` inside "Tin học"), each with its number of questions,
    and proposes the test's 10 questions in proportion to their sizes (8, 6, 6 -> 4, 3, 3)."""
    page = client.get(f"/author/versions/{imported}").get_data(as_text=True)
    assert "Số câu hỏi rút từ mỗi danh mục" in page
    assert _inputs(page) == {"An toàn": "4", "Thư điện tử": "3", "Trình duyệt": "3"}
    tree = page[page.index('class="category-tree"') :]
    # "Tin học" is a heading with 12 questions inside, its two categories nested under it.
    assert re.search(
        r'<span class="category-name">Tin học</span> <span class="meta">12 câu hỏi kể cả các '
        r'danh mục bên trong</span>\s*<ul class="category-tree">\s*<li>\s*<div class="field '
        r'category">\s*<label for="n-1">Thư điện tử <span class="meta">6 câu hỏi</span>',
        tree,
    ), tree[:2000]
    assert 'max="8"' in tree and 'max="6"' in tree
    assert "Tổng mỗi lượt: <output" in page and '<output id="draw-total">10</output>' in page
    assert "Chưa lưu: các số dưới đây chia 10 câu hỏi của bài kiểm tra" in page


def test_the_chosen_numbers_are_drawn_by_the_next_attempts(app, client, imported, make, session):
    """Issue 21: the author sets 5 / 2 / 3; an attempt started before keeps its draw (4 / 3 /
    3, the proposal used until a choice is saved), the next attempts draw 5 / 2 / 3."""
    version = session.get(CourseVersion, imported)
    catalog.publish(session, None, version)
    session.commit()
    before = _learner_attempt(make, session, version, "hv.truoc")
    assert _drawn_categories(before) == {
        "An toàn": 4,
        "Tin học/Thư điện tử": 3,
        "Tin học/Trình duyệt": 3,
    }
    kept = [d["id"] for d in before.draw]
    response = _post_draw(client, imported, {0: "5", 1: "2", 2: "3"})
    assert response.status_code == 302
    page = client.get(response.location).get_data(as_text=True)
    assert "Từ nay mỗi lượt làm bài mới rút 10 câu hỏi" in page
    assert _inputs(page) == {"An toàn": "5", "Thư điện tử": "2", "Trình duyệt": "3"}
    assert "Chưa lưu" not in page
    # The change is in the audit log, in words (AUDIT_LABELS), with what was chosen.
    event = session.scalars(select(AuditEvent).where(AuditEvent.action == "course.draw")).one()
    assert event.details["per_category"] == {
        "An toàn": 5,
        "Tin học/Thư điện tử": 2,
        "Tin học/Trình duyệt": 3,
    }
    with app.test_request_context():
        assert audit_label("course.draw") == "Đổi số câu rút từ mỗi danh mục của bài kiểm tra"
    session.expire_all()
    for n in range(3):
        after = _learner_attempt(make, session, version, f"hv.sau{n}")
        assert _drawn_categories(after) == {
            "An toàn": 5,
            "Tin học/Thư điện tử": 2,
            "Tin học/Trình duyệt": 3,
        }
    again = assessment.start(session, before.enrolment, before.activity)
    assert again.id == before.id and [d["id"] for d in again.draw] == kept


def test_a_number_larger_than_a_category_is_refused(client, imported, session):
    """Issue 21: "refuse a number larger than a category holds, in Vietnamese"; a number that
    is not a whole number, and a draw of no question at all, are refused too. Nothing is kept
    and the form shows what was typed."""
    response = _post_draw(client, imported, {0: "9", 1: "2", 2: "3"})
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Danh mục An toàn chỉ có 8 câu hỏi: không thể rút 9 câu." in page
    assert 'aria-invalid="true" aria-describedby="n-0-error"' in page
    assert _inputs(page)["An toàn"] == "9"
    assert '<output id="draw-total">14</output>' in page
    response = _post_draw(client, imported, {0: "4", 1: "-1", 2: "ba"})
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Hãy ghi một số nguyên từ 0 trở lên cho danh mục Tin học/Trình duyệt." in page
    assert "Hãy ghi một số nguyên từ 0 trở lên cho danh mục Tin học/Thư điện tử." in page
    response = _post_draw(client, imported, {0: "0", 1: "0", 2: "0"})
    assert response.status_code == 422
    assert "Hãy rút ít nhất một câu hỏi." in response.get_data(as_text=True)
    session.expire_all()
    test = next(a for a in session.get(CourseVersion, imported).activities if a.kind == "test")
    assert not test.content["settings"].get("per_category")


def test_a_learner_cannot_change_the_draw(app, imported, make):
    """Only an author may set the draw: a learner's post is refused."""
    make.learner(make.unit(), username="hv.to-mo")
    make.commit()
    client = app.test_client()
    LoggedIn(client)("hv.to-mo")
    token = csrf_token(client, "/password")
    response = client.post(
        f"/author/versions/{imported}/draw", data={"csrf_token": token, "n-0": "1"}
    )
    assert response.status_code == 403


def test_a_new_version_keeps_the_choice_while_the_categories_hold_it(
    app, client, imported, session
):
    """The choice is kept with the version; a version made from it (a lesson replaced) keeps
    it while the bank still has those categories, big enough."""
    assert _post_draw(client, imported, {0: "5", 1: "2", 2: "3"}).status_code == 302
    session.expire_all()
    version = session.get(CourseVersion, imported)
    course = session.get(Course, version.course_id)
    storage = LocalStorage(app.config["HOCVU_FILES_DIR"])
    lesson = storage.read_tree(version.files_path)["modules/01-mat-khau.md"]
    newer = catalog.replace_module(session, None, course, "01-mat-khau.md", lesson, storage)
    test = next(a for a in newer.activities if a.kind == "test")
    assert test.content["settings"]["per_category"] == {
        "An toàn": 5,
        "Tin học/Thư điện tử": 2,
        "Tin học/Trình duyệt": 3,
    }
    # A bank without those categories: the choice cannot apply, the proposal does.
    bank = b"$CATEGORY: $course$/top/Khac\n\n::A::a?{T}\n\n::B::b?{F}\n"
    other, _ = catalog.replace_bank(session, None, course, "khac.gift", bank, storage)
    test = next(a for a in other.activities if a.kind == "test")
    assert not test.content["settings"].get("per_category")
    plan = drawing.plan(assessment.settings_of(test), assessment.bank_of(test))
    assert plan == drawing.Plan({"Khac": 2}, True)


def test_lesson_named_categories_are_drawn_per_lesson_as_before(app, make, session):
    """Lesson-named categories keep working as before issue 21's second part: without a
    choice, the test's questions are spread evenly over the lessons."""
    version = make.course(app.config["HOCVU_FILES_DIR"], ten_question_course())
    course = session.get(Course, version.course_id)
    bank = "\n\n".join(
        [
            "$CATEGORY: $course$/top/01-mat-khau",
            *(f"::M{n}::Mật khẩu {n}?{{T}}" for n in range(8)),
            "$CATEGORY: $course$/top/02-ma-otp",
            *(f"::O{n}::OTP {n}?{{F}}" for n in range(3)),
        ]
    ).encode()
    storage = LocalStorage(app.config["HOCVU_FILES_DIR"])
    newer, problems = catalog.replace_bank(session, None, course, "bai.gift", bank, storage)
    assert problems == []
    test = next(a for a in newer.activities if a.kind == "test")
    plan = drawing.plan(assessment.settings_of(test), assessment.bank_of(test))
    assert plan == drawing.Plan({"01-mat-khau": 7, "02-ma-otp": 3}, False)
