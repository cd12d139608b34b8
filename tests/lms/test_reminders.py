"""Reminders reach a real SMTP server exactly once, follow changed dates, respect learners
without email, and a "not started" reminder waits for a day without another reminder."""

from __future__ import annotations

import email
import os
import re
import socket
import subprocess
import sys
import time
from datetime import UTC, date, datetime
from email.policy import default as default_policy
from pathlib import Path

import pytest
from sqlalchemy import select

from lms.jobs.reminders import send_reminders
from lms.models import Notice, Reminder
from lms.services import deadlines, reminders

ROOT = Path(__file__).resolve().parents[2]


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp(tmp_path):
    """A real SMTP server in its own process; yields (port, folder of received messages)."""
    port, folder = _free_port(), tmp_path / "mailbox"
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.support.smtp_server", "127.0.0.1", str(port), str(folder)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout.readline().strip() == "ready"
    yield port, folder
    process.terminate()
    process.wait(10)


def _received(folder: Path) -> list[email.message.EmailMessage]:
    return [
        email.message_from_bytes(p.read_bytes(), policy=default_policy)
        for p in sorted(folder.glob("*.eml"))
    ]


@pytest.fixture
def app_config(request):
    return {
        "HOCVU_MAIL_FROM": "nhac-hoc@ldld-quangninh.vn",
        "HOCVU_BASE_URL": "https://hoc.example.vn",
    }


@pytest.fixture
def course_with_learners(make, app):
    version = make.course(app.config["HOCVU_FILES_DIR"])
    with_mail = make.learner(
        make.unit(), username="hv.mail", full_name="Nguyễn Thị Thư", issued_at=date(2026, 11, 1)
    )
    with_mail.email = "thu@example.vn"
    without = make.learner(make.unit(), username="hv.khongmail", issued_at=date(2026, 11, 1))
    enrolments = [make.enrol(with_mail, version), make.enrol(without, version)]
    make.commit()
    return enrolments


def test_reminders_follow_the_schedule_and_arrive_once(app, smtp, course_with_learners, session):
    port, folder = smtp
    app.config.update(HOCVU_SMTP_HOST="127.0.0.1", HOCVU_SMTP_PORT=port)
    # Due 24:00 on 11 November. On the 6th (5 days left) the first reminder goes out.
    assert send_reminders(app, utc(2026, 11, 5, 10, 0))["claimed"] == 2  # not started (day 4)
    first = send_reminders(app, utc(2026, 11, 6, 2, 0))
    assert first == {"claimed": 2, "emailed": 1, "email_failed": 0}
    again = send_reminders(app, utc(2026, 11, 6, 2, 15))
    assert again["claimed"] == 0
    messages = _received(folder)
    assert len(messages) == 2
    last = messages[-1] if "Còn 5 ngày" in messages[-1].get_content() else messages[0]
    assert last["To"] == "thu@example.vn"
    assert last["Subject"] == "Nhắc hạn học: Khóa học thử: An toàn trên mạng"
    body = last.get_content()
    assert "Chào Nguyễn Thị Thư," in body
    assert "Còn 5 ngày để hoàn thành khóa học «Khóa học thử: An toàn trên mạng»" in body
    assert "hạn chót là 24:00 ngày 11 tháng 11 năm 2026" in body
    assert "https://hoc.example.vn/" in body
    # The learner without email got the same reminders in the app only.
    session.rollback()
    notices = session.scalars(
        select(Notice).where(Notice.user_id == course_with_learners[1].user_id)
    ).all()
    assert len(notices) == 2
    # Last day: one reminder "today"; a late first run on the 10th skips the 2-day one.
    assert send_reminders(app, utc(2026, 11, 11, 1, 0))["claimed"] == 2
    assert any("Hôm nay là ngày cuối cùng" in m.get_content() for m in _received(folder))
    assert send_reminders(app, utc(2026, 11, 11, 18, 0))["claimed"] == 0  # overdue: nothing


def test_a_changed_due_date_gets_its_own_reminders(app, course_with_learners, session):
    enrolment = course_with_learners[0]
    # "Not started" is skipped when a days-left reminder is due at the same run.
    assert send_reminders(app, utc(2026, 11, 6, 2, 0))["claimed"] == 2
    session.rollback()
    enrolment = session.merge(enrolment)
    enrolment.user.issued_at = date(2026, 11, 3)
    deadlines.recompute(enrolment)
    session.commit()
    # Due now on the 13th: 5 days left on the 8th; the earlier reminder does not block it.
    assert send_reminders(app, utc(2026, 11, 8, 2, 0))["claimed"] == 1


def test_not_started_reminder_goes_out_on_a_later_day(session, make, app):
    """Due the same day as a days-left reminder, "not started" is skipped that day and sent on
    the next run of a later day, not lost."""
    version = make.course(app.config["HOCVU_FILES_DIR"])
    learner = make.learner(make.unit(), issued_at=date(2026, 11, 1))
    make.enrol(learner, version)
    version.course.reminder_days = [5, 2, 0]
    version.course.not_started_after_days = 6  # after the 5-days-left reminder
    make.commit()
    first = reminders.claim_due(session, utc(2026, 11, 6, 2))  # 5 days left
    assert [c.message for c in first] == [reminders.MESSAGES["days_left"]]
    later = reminders.claim_due(session, utc(2026, 11, 7, 2))  # 6 days after issue
    assert [c.message for c in later] == [reminders.MESSAGES["not_started"]]


def test_smtp_failure_is_recorded_and_in_app_notice_remains(app, course_with_learners, session):
    app.config.update(HOCVU_SMTP_HOST="127.0.0.1", HOCVU_SMTP_PORT=_free_port())
    result = send_reminders(app, utc(2026, 11, 6, 2, 0))
    assert result["email_failed"] == 1
    session.rollback()
    failed = session.scalars(select(Reminder).where(Reminder.email_error.is_not(None))).all()
    assert len(failed) == 1


def test_concurrent_runs_in_two_processes_never_duplicate(
    app, smtp, course_with_learners, backend, session
):
    port, folder = smtp
    env = {
        **os.environ,
        "HOCVU_ENV": "testing",
        "HOCVU_SECRET_KEY": "k",
        "HOCVU_DATABASE_URL": app.config["HOCVU_DATABASE_URL"],
        "HOCVU_INSTANCE_PATH": app.instance_path,
        "HOCVU_SMTP_HOST": "127.0.0.1",
        "HOCVU_SMTP_PORT": str(port),
    }
    hocvu = str(Path(sys.executable).with_name("hocvu"))
    runs = [
        subprocess.Popen(
            [hocvu, "send-reminders", "--now", "2026-11-06T02:00:00+0000"],
            env=env,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    outputs = [run.communicate(timeout=60) for run in runs]
    assert all(run.returncode == 0 for run in runs), outputs
    time.sleep(0.2)
    assert len(_received(folder)) == 1  # one learner with email, one reminder due
    session.rollback()
    assert len(session.scalars(select(Notice)).all()) == 2


def test_sent_reminders_are_listed_on_the_learner_record(
    app, client, login, make, course_with_learners
):
    make.site_admin(username="admin")
    make.commit()
    send_reminders(app, utc(2026, 11, 6, 2, 0))
    login("admin")
    page = client.get(f"/admin/users/{course_with_learners[1].user_id}").get_data(as_text=True)
    text = " ".join(page.split())
    assert "Các lần nhắc đã gửi" in text and "Còn 5 ngày · trong ứng dụng</li>" in text


def test_a_learner_dismisses_a_notice_with_its_own_form(client, login, make, session):
    """The home page's notice has a form with the page's CSRF token; sending it marks the
    notice read and the home page no longer shows it (Flask-WTF CSRF: a form without the token
    is refused)."""
    learner = make.learner(make.unit(), username="hv.thongbao")
    session.flush()
    notice = Notice(
        user_id=learner.id,
        message=reminders.MESSAGES["last_day"],
        params={"course": "An toàn trên mạng"},
    )
    session.add(notice)
    make.commit()
    login("hv.thongbao")
    home = client.get("/").get_data(as_text=True)
    assert "Hôm nay là ngày cuối cùng" in home
    action = f'action="/notices/{notice.id}/read"'
    form = home[home.index(action) : home.index("</form>", home.index(action))]
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', form)[1]

    assert client.post(f"/notices/{notice.id}/read", data={}).status_code == 400
    session.rollback()
    assert session.get(Notice, notice.id).read_at is None

    client.post(f"/notices/{notice.id}/read", data={"csrf_token": token})
    session.rollback()
    assert session.get(Notice, notice.id).read_at is not None
    assert "Hôm nay là ngày cuối cùng" not in client.get("/").get_data(as_text=True)
