"""A SCORM package uploaded as a new course whose title is an existing course's: the author
(web page) or the operator (`hocvu import-course`) chooses a new version of that course or a
new course with another title; nothing is created before the choice."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from lms.models import Course, CourseVersion, Role, ScormPackage
from tests.conftest import csrf_token
from tests.lms.test_scorm_tracking import FIXTURES, _upload, package_bytes

TITLE = "Dịch vụ công trực tuyến"  # probe2004's organization title


def _another_build() -> bytes:
    """The same course rebuilt by its author: same title, other content (another hash)."""
    page = (FIXTURES / "probe2004" / "part.html").read_bytes().replace(b"</h1>", b" (2)</h1>")
    return package_bytes("probe2004", **{"part.html": page})


def _counts(session) -> tuple[int, int, int]:
    session.rollback()
    return tuple(
        session.scalar(select(func.count()).select_from(model))
        for model in (Course, CourseVersion, ScormPackage)
    )


@pytest.fixture
def author(make):
    user = make.user(make.unit(), username="tacgia", roles=[(Role.AUTHOR, None)])
    make.user(make.unit(), username="tacgia.khac", roles=[(Role.AUTHOR, None)])
    make.commit()
    return user


def _choose(client, url: str, **fields):
    return client.post(url, data={"csrf_token": csrf_token(client, url), **fields})


def test_the_author_is_asked_before_a_package_becomes_a_version_of_a_course(
    client, login, author, session
):
    login("tacgia")
    assert _upload(client, package_bytes("probe2004"), "dich-vu-cong.zip").status_code == 302
    before = _counts(session)
    asked = _upload(client, _another_build(), "dich-vu-cong-moi.zip")
    assert asked.status_code == 302 and "/author/uploads/" in asked.location
    assert _counts(session) == before  # nothing created before the choice
    page = client.get(asked.location)
    html = page.get_data(as_text=True)
    assert "Đã có khóa học cùng tên" in html
    assert f"Phiên bản mới của {TITLE}" in html
    assert "Một khóa học mới, với tên khác" in html
    assert f'value="{TITLE}"' in html  # the new title starts from the package's

    nothing = _choose(client, asked.location)
    assert nothing.status_code == 422 and "Hãy chọn một mục." in nothing.get_data(as_text=True)
    same = _choose(client, asked.location, choice="course", title=TITLE.upper())
    assert same.status_code == 422
    assert f"Đã có khóa học tên {TITLE}." in same.get_data(as_text=True)
    empty = _choose(client, asked.location, choice="course", title=" ")
    assert "Hãy đặt tên cho khóa học mới." in empty.get_data(as_text=True)
    assert _counts(session) == before

    made = _choose(client, asked.location, choice="version")
    assert made.status_code == 302 and "/author/versions/" in made.location
    session.rollback()
    [course] = session.scalars(select(Course)).all()
    assert [v.number for v in course.versions] == [1, 2]
    assert client.get(asked.location).status_code == 404  # the upload is gone once used


def test_the_author_may_make_it_another_course_with_another_title(client, login, author, session):
    login("tacgia")
    _upload(client, package_bytes("probe2004"), "dich-vu-cong.zip")
    asked = _upload(client, _another_build(), "dich-vu-cong-moi.zip")
    made = _choose(client, asked.location, choice="course", title=f"{TITLE} 2027")
    assert made.status_code == 302
    session.rollback()
    titles = sorted((c.title, c.slug) for c in session.scalars(select(Course)))
    assert titles == [
        (TITLE, "dich-vu-cong-truc-tuyen"),
        (f"{TITLE} 2027", "dich-vu-cong-truc-tuyen-2027"),
    ]
    page = client.get(made.location).get_data(as_text=True)
    assert re.search(rf"<h1>{TITLE} 2027</h1>", page)


def test_another_author_cannot_answer_the_question(client, login, author, session):
    login("tacgia")
    _upload(client, package_bytes("probe2004"), "dich-vu-cong.zip")
    asked = _upload(client, _another_build(), "dich-vu-cong-moi.zip")
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    login("tacgia.khac")
    assert client.get(asked.location).status_code == 404


def test_import_course_takes_a_bare_package_with_the_same_title_rule(runner, session, tmp_path):
    """`hocvu import-course` reads a SCORM zip as the upload page does (catalog.import_upload)
    and asks for --new-version or --new-course when its title is taken."""
    first, second = tmp_path / "goi.zip", tmp_path / "goi-moi.zip"
    first.write_bytes(package_bytes("probe2004"))
    second.write_bytes(_another_build())
    made = runner.invoke(args=["import-course", str(first)])
    assert made.exit_code == 0, made.output
    assert f"{TITLE}: version 1 published, 0 lessons, 1 SCORM packages." in made.output
    before = _counts(session)
    refused = runner.invoke(args=["import-course", str(second)])
    assert refused.exit_code != 0
    assert f"Đã có khóa học tên {TITLE}: thêm --new-version" in refused.output
    assert _counts(session) == before
    again = runner.invoke(args=["import-course", str(second), "--new-version", "--draft"])
    assert again.exit_code == 0, again.output
    assert f"{TITLE}: version 2 draft" in again.output
    other = runner.invoke(args=["import-course", str(second), "--new-course", "Dịch vụ công 2027"])
    assert other.exit_code == 0, other.output
    session.rollback()
    assert sorted(c.title for c in session.scalars(select(Course))) == [
        "Dịch vụ công 2027",
        TITLE,
    ]
    both = runner.invoke(args=["import-course", str(second), "--new-version", "--new-course", "X"])
    assert both.exit_code != 0 and "not both" in both.output
