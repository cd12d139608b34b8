"""The learner pages ask the database only for what they need, once: no page SELECTs again a
row it already holds (issue 24, "Twice the learners per core": the final-test page reloaded
the user, enrolment and attempt that its own commit had expired; the autosave read back the
answers it had just written; the course page loaded every activity with its content again
for the course's estimated time).

Each test counts the SQL statements of one request with an SQLAlchemy event listener. The
counts are what each page needs; a page that needs more (a new feature) changes its count
here, on purpose.
"""

from __future__ import annotations

import re
from collections import Counter
from contextlib import contextmanager
from datetime import timedelta

import pytest
from sqlalchemy import event

from lms.app.extensions import db
from lms.models import utcnow
from lms.services import assessment, learning
from tests.conftest import csrf_token

SLUG = "an-toan-tren-mang"


@pytest.fixture
def mid_course(make, app, session, login):
    """A learner of the mini course with every lesson done and the final test open, with
    one answer saved; logged in."""
    version = make.course(app.config["HOCVU_FILES_DIR"])
    learner = make.learner(make.unit(), username="hv.demo", full_name="Học Viên Đếm")
    enrolment = make.enrol(learner, version)
    make.commit()
    for step in learning.progress_of(session, enrolment).steps:
        if step.activity.kind == "page":
            progress = learning.open_activity(
                session, enrolment, step.activity, utcnow() - timedelta(hours=1)
            )
            progress.data = {"self_check": {"0": [0], "1": [0]}}
            learning.complete_activity(session, enrolment, step.activity)
    test = next(a for a in version.activities if a.kind == "test")
    attempt = assessment.start(session, enrolment, test)
    # The mini bank's two questions: one answered now, the other left for the autosave.
    kinds = {q.id: q.type for q in assessment.question_map(test).values()}
    assert sorted(kinds.values()) == ["single", "truefalse"]
    first = next(qid for qid, kind in kinds.items() if kind == "single")
    other = next(qid for qid, kind in kinds.items() if kind == "truefalse")
    assessment.save_answers(session, attempt, {first: 0})
    session.commit()
    login("hv.demo")
    lesson = next(a.key for a in version.activities if a.kind == "page")
    return {"lesson": lesson, "attempt": attempt.number, "unanswered": other}


@contextmanager
def statements(app):
    """The SQL statements run while the block runs (whitespace collapsed)."""
    seen: list[str] = []
    with app.app_context():
        engine = db.engine

    def note(_conn, _cursor, statement, parameters, *_args):
        seen.append(" ".join(statement.split()))

    event.listen(engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", note)


_FROM = re.compile(r"^SELECT .*? FROM (\w+)")


def selected_tables(seen: list[str]) -> Counter:
    """How many SELECTs read each table (named by the first table of their FROM)."""
    return Counter(m.group(1) for s in seen if (m := _FROM.match(s)))


def _get(client, app, path: str) -> list[str]:
    with statements(app) as seen:
        response = client.get(path)
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    return seen


def test_the_final_test_page_loads_the_user_enrolment_and_attempt_once(client, app, mid_course):
    seen = _get(client, app, f"/courses/{SLUG}/test/{mid_course['attempt']}")
    tables = selected_tables(seen)
    # The user (with the login), then the open attempt with its test, the test's version and
    # the title of the learner's version in one query: nothing else, nothing twice.
    assert tables == {"user_account": 1, "test_attempt": 1}, seen
    assert len(seen) == 2, seen


def test_the_autosave_does_not_read_back_what_it_wrote(client, app, mid_course):
    path = f"/courses/{SLUG}/test/{mid_course['attempt']}"
    token = csrf_token(client, path)
    with statements(app) as seen:
        response = client.post(
            f"{path}/save",
            data={"csrf_token": token, f"q-{mid_course['unanswered']}": "true"},
            headers={"Accept": "application/json"},
        )
    assert response.status_code == 200
    assert response.get_json()["saved"] == 2  # the answer saved before and this one
    tables = selected_tables(seen)
    # The user, then the attempt with its test (and the learner's enrolment, in its WHERE).
    assert tables == {"user_account": 1, "test_attempt": 1}, seen
    assert [s.split()[0] for s in seen].count("UPDATE") == 1
    assert len(seen) == 3, seen


def test_the_course_page_loads_each_activity_once_without_content(client, app, mid_course):
    # The first visit in a process works out the size of the course's offline download from
    # the lessons' content (once per version); every visit after it does not read it again.
    first = _get(client, app, f"/courses/{SLUG}")
    assert selected_tables(first)["activity"] == 2, first
    seen = _get(client, app, f"/courses/{SLUG}")
    tables = selected_tables(seen)
    # The steps (content deferred); the activities are not loaded again for the course's
    # estimated time.
    assert tables["activity"] == 1, seen
    assert tables["user_account"] == 1, seen
    assert sum(" FROM enrolment JOIN " in s for s in seen) == 1, seen
    # user, the enrolment (with whether it has a graded attempt or a certificate: neither
    # here, so neither is loaded), the steps with their statuses.
    assert len(seen) == 3, seen


def test_the_home_page_runs_only_the_queries_it_needs(client, app, mid_course):
    seen = _get(client, app, "/")
    tables = selected_tables(seen)
    # No final test loaded to learn that attempts are left when none was graded.
    assert tables["activity"] == 1, seen
    assert tables["user_account"] == 1, seen
    # user, enrolments (each row with whether there are notices, certificates, classes to
    # check in to or a graded attempt (none here: none of them is loaded), and the name of
    # the learner's unit), steps with their statuses.
    loaded = ("SELECT notice.", "SELECT certificate.", "SELECT class_session.", "SELECT test_")
    assert not [s for s in seen if s.startswith(loaded)], seen
    assert len(seen) == 3, seen


def test_a_revisited_lesson_writes_nothing_and_loads_nothing_twice(client, app, mid_course):
    path = f"/courses/{SLUG}/{mid_course['lesson']}"
    _get(client, app, path)
    seen = _get(client, app, path)
    assert not [s for s in seen if not s.startswith("SELECT")], seen
    assert len(seen) == len(set(seen)), seen
    assert selected_tables(seen)["user_account"] == 1, seen
    # user, the enrolment with the lesson and its progress, the steps with their statuses.
    assert len(seen) == 3, seen


def test_a_lesson_page_records_an_opening_only_when_it_changes_something(
    client, app, session, mid_course
):
    # A lesson opened before is shown from plain columns, writing nothing; going back to
    # another lesson still makes it the last one opened (where "continue" leads from).
    from lms.models import Activity, Enrolment

    keys = [
        key
        for (key,) in session.query(Activity.key)
        .filter(Activity.kind == "page")
        .order_by(Activity.position)
    ]
    assert len(keys) >= 2 and mid_course["lesson"] == keys[0]
    _get(client, app, f"/courses/{SLUG}/{keys[1]}")
    seen = _get(client, app, f"/courses/{SLUG}/{keys[0]}")
    assert [s.split()[0] for s in seen].count("UPDATE") == 1, seen
    seen = _get(client, app, f"/courses/{SLUG}/{keys[0]}")
    assert not [s for s in seen if not s.startswith("SELECT")], seen
    session.expire_all()
    enrolment = session.query(Enrolment).one()
    first = session.query(Activity).filter_by(key=keys[0]).one()
    assert enrolment.last_activity_id == first.id


def test_the_home_names_the_learner_s_unit_and_nothing_without_one(client, app, make, login):
    # The unit's name comes with the home's query of flags (no lazy load of user.org_unit).
    make.learner(make.unit(name="Công đoàn Trường <Nhơn Bình>"), username="hv.donvi")
    make.learner(None, username="hv.khong")
    make.commit()
    login("hv.donvi")
    page = client.get("/").get_data(as_text=True)
    assert "<dt>Đơn vị</dt><dd>Công đoàn Trường &lt;Nhơn Bình&gt;</dd>" in page
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    login("hv.khong")
    page = client.get("/").get_data(as_text=True)
    assert "<dt>Đơn vị</dt>" not in page and "hv.khong" in page


def test_the_one_query_pages_are_404_for_what_the_learner_does_not_have(client, mid_course):
    # The lesson and final-test pages read the enrolment with the lesson or attempt at once:
    # an unknown lesson, an attempt not made or a course not enrolled in is still a 404.
    assert client.get(f"/courses/{SLUG}/khong-co-bai-nay").status_code == 404
    assert client.get(f"/courses/{SLUG}/test/{mid_course['attempt'] + 1}").status_code == 404
    assert client.get("/courses/khoa-khac/" + mid_course["lesson"]).status_code == 404
    assert client.get("/courses/khoa-khac/test/1").status_code == 404


def test_an_open_attempt_past_its_time_is_graded_when_its_page_is_opened(
    client, app, session, mid_course
):
    # The open attempt's page is made from plain columns only while it takes answers; past
    # its end (and the grace) the page grades it and shows the result.
    from lms.models import AttemptStatus, TestAttempt

    attempt = session.query(TestAttempt).one()
    assert attempt.status == AttemptStatus.OPEN
    # A process that has not parsed the version's bank yet loads it for the page.
    assessment._BANKS.clear()
    page = client.get(f"/courses/{SLUG}/test/{mid_course['attempt']}").get_data(as_text=True)
    assert 'id="attempt"' in page and page.count('name="q-') >= 2
    attempt.ends_at = utcnow() - assessment.GRACE - timedelta(minutes=1)
    session.commit()
    seen = _get(client, app, f"/courses/{SLUG}/test/{mid_course['attempt']}")
    assert [s.split()[0] for s in seen].count("UPDATE") >= 1, seen
    session.expire_all()
    assert session.get(TestAttempt, attempt.id).status == AttemptStatus.GRADED
    page = client.get(f"/courses/{SLUG}/test/{mid_course['attempt']}").get_data(as_text=True)
    assert 'id="attempt"' not in page
