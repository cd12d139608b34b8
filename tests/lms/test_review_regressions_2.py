"""Cases found in the second review: answers shown while an attempt is open, grading time of
expired attempts, attempts across versions, odd imports, extensions, reminders, batches."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from courses import moodlexml
from lms.app.storage import LocalStorage
from lms.models import Cohort, Enrolment, OverduePolicy, TestAttempt, utcnow
from lms.services import assessment, catalog, cohorts, deadlines, learning
from lms.services.errors import DomainError
from tests.conftest import csrf_token
from tests.factories import correct_answers, mini_course_files, zip_bytes


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.fixture
def enrolled(make, app, session):
    version = make.course(app.config["HOCVU_FILES_DIR"])
    from lms.services import clock

    learner = make.learner(
        make.unit(), username="hv.thi", issued_at=clock.today() - timedelta(days=2)
    )
    enrolment = make.enrol(learner, version)
    for step in learning.progress_of(session, enrolment).steps:
        if step.activity.kind == "page":
            progress = learning.open_activity(
                session, enrolment, step.activity, utcnow() - timedelta(hours=2)
            )
            progress.data = {"self_check": {"0": [0], "1": [0]}}
            learning.complete_activity(session, enrolment, step.activity)
    make.commit()
    return enrolment


def _test(enrolment):
    return next(a for a in enrolment.version.activities if a.kind == "test")


def test_an_expired_attempt_is_graded_as_of_its_end(session, enrolled):
    enrolled.user.issued_at = date(2026, 11, 1)  # due at 24:00 on 11 November
    deadlines.recompute(enrolled)
    activity = _test(enrolled)
    start = utc(2026, 11, 11, 16, 45)  # 15 minutes before the deadline, limit 10 minutes
    attempt = assessment.start(session, enrolled, activity, start)
    assessment.save_answers(
        session, attempt, correct_answers(attempt), start + timedelta(minutes=5)
    )
    assessment.finish_if_expired(session, attempt, utc(2026, 11, 12, 8, 0))  # seen next day
    assert attempt.passed and attempt.submitted_at == start + timedelta(minutes=10)
    assert enrolled.completed_at == start + timedelta(minutes=10) and not enrolled.completed_late


def test_answers_are_not_shown_while_an_attempt_is_open(client, login, enrolled, session):
    activity = _test(enrolled)
    activity.content = {
        "settings": {
            **activity.content["settings"],
            "attempts": 2,
            "show_answers": "after_last_attempt",
        }
    }
    session.commit()
    first = assessment.start(session, enrolled, activity)
    assessment.submit(session, first, {})
    assessment.start(session, enrolled, activity)
    session.commit()
    login("hv.thi")
    page = client.get("/courses/an-toan-tren-mang/test/1").get_data(as_text=True)
    assert "Đáp án đúng:" not in page


def test_moving_learners_to_a_new_version_keeps_their_attempts(session, enrolled, app):
    activity = _test(enrolled)
    for _ in range(2):
        assessment.submit(session, assessment.start(session, enrolled, activity), {})
    session.commit()
    files = mini_course_files(
        **{"modules/02-ma-otp.md": ("---\ntitle: Mã OTP\nminutes: 4\n---\n\nSửa câu chữ.\n")}
    )
    version = catalog.import_bundle(
        session,
        None,
        zip_bytes(files),
        LocalStorage(app.config["HOCVU_FILES_DIR"]),
        publish_now=False,
    )
    catalog.publish(session, None, version, move_enrolled=True)
    session.commit()
    enrolment = session.get(Enrolment, enrolled.id)
    with pytest.raises(DomainError, match="used all 2 attempts"):
        assessment.start(session, enrolment, _test(enrolment))


def test_odd_moodle_xml_is_reported_not_crashing():
    xml = (
        b'<quiz><question type="category"><category><text>01-a</text></category></question>'
        b'<question type="multichoice"><name><text>x</text></name><questiontext><text>?'
        b"</text></questiontext><defaultgrade>nan</defaultgrade><single>true</single>"
        b'<answer fraction="abc"><text>A</text></answer>'
        b'<answer fraction="100"><text>B</text></answer></question></quiz>'
    )
    result = moodlexml.parse("x.xml", xml)
    messages = {p.message for p in result.problems}
    assert "An answer's fraction is not a number; it counts as wrong." in messages
    assert "The grade of this question is not a positive number; 1 point is used." in messages
    assert result.questions[0].points == 1.0


def test_an_empty_bank_upload_says_why(client, login, make, app, session):
    from lms.models import Role

    version = make.course(app.config["HOCVU_FILES_DIR"])
    make.user(make.unit(), username="tacgia", roles=[(Role.AUTHOR, None)])
    make.commit()
    login("tacgia")
    import io

    token = csrf_token(client, "/author/")
    response = client.post(
        "/author/",
        content_type="multipart/form-data",
        data={
            "csrf_token": token,
            "course_id": str(version.course_id),
            "file": (io.BytesIO("// chỉ có chú thích\n".encode()), "trong.gift"),
        },
    )
    assert "Không đọc được câu hỏi nào từ tệp này." in response.get_data(as_text=True)


def test_an_extension_cannot_shorten_the_deadline(session, enrolled, make):
    admin = make.site_admin()
    with pytest.raises(DomainError, match="later than the current one"):
        deadlines.extend(
            session, admin, [enrolled], reason="Nhầm", until=date(2026, 11, 5), now=utc(2026, 11, 2)
        )


def test_not_started_reminder_goes_out_on_a_later_day(session, make, app):
    from lms.services import reminders

    version = make.course(app.config["HOCVU_FILES_DIR"])
    learner = make.learner(make.unit(), issued_at=date(2026, 11, 1))
    enrolment = make.enrol(learner, version)
    version.course.reminder_days = [5, 2, 0]
    version.course.not_started_after_days = 6  # after the 5-days-left reminder
    make.commit()
    first = reminders.claim_due(session, utc(2026, 11, 6, 2))  # 5 days left
    assert [c.message for c in first] == [reminders.MESSAGES["days_left"]]
    later = reminders.claim_due(session, utc(2026, 11, 7, 2))  # 6 days after issue
    assert [c.message for c in later] == [reminders.MESSAGES["not_started"]]
    assert enrolment.id


def test_a_batch_of_another_unit_cannot_be_assigned(session, make):
    batch = Cohort(name="Đợt khác", org_unit=make.unit())
    session.add(batch)
    learner = make.learner(make.unit())
    with pytest.raises(DomainError, match="another unit"):
        cohorts.assign(session, learner, batch)


def test_odd_digits_in_answers_do_not_crash(client, login, enrolled, session):
    attempt = assessment.start(session, enrolled, _test(enrolled), utcnow())
    session.commit()
    login("hv.thi")
    token = csrf_token(client, "/courses/an-toan-tren-mang/final-test")
    response = client.post(
        f"/courses/an-toan-tren-mang/test/{attempt.number}/save",
        data={"csrf_token": token, "q-q1": "²", "q-q2": "9" * 5000},
    )
    assert response.status_code == 200


def test_regrade_of_an_unpublished_course_does_nothing(session, make, app):
    version = make.course(app.config["HOCVU_FILES_DIR"], publish=False)
    assert assessment.regrade(session, version.course) == {"regraded": 0, "changed": 0}
    assert OverduePolicy.LOCK and select(TestAttempt) is not None
