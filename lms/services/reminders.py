"""Deadline reminders: which are due now, and claiming each exactly once.

A reminder is claimed by inserting its row with INSERT ... ON CONFLICT DO NOTHING on a unique
key (enrolment, kind, days left, due time): of two runs at the same moment, even on two
machines, only one inserts it, and only that one notifies the learner. The claim and the
in-app notice are committed together; the email is sent after the commit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from lms.models import Course, Enrolment, Notice, Reminder, ReminderKind, User
from lms.services.clock import DEFAULT_TIMEZONE
from lms.services.deadlines import due_day, end_of_day, local_today
from lms.services.errors import N_

MESSAGES = {
    "days_left": N_("%(days)d days left to finish %(course)s: the deadline is 24:00 on %(date)s."),
    "last_day": N_("Today is the last day to finish %(course)s: the deadline is 24:00 tonight."),
    "not_started": N_("You have not started %(course)s yet: the deadline is 24:00 on %(date)s."),
}


NOT_STARTED_KEY = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Claimed:
    """A reminder this run claimed: to be emailed (the in-app notice is already stored)."""

    reminder_id: int
    user_id: int
    message: str
    params: dict


def _wanted(enrolment: Enrolment, course: Course, user: User, now: datetime, timezone: str):
    """(kind, days_left) reminders due now for an enrolment, most urgent first."""
    today = local_today(now, timezone)
    left = (due_day(enrolment.due_at, timezone) - today).days
    wanted: list[tuple[ReminderKind, int, bool]] = []
    applicable = sorted(k for k in course.reminder_days or [] if left <= k)
    for index, k in enumerate(applicable):
        # Only the most urgent is sent; the ones a late run skipped are recorded as skipped.
        wanted.append((ReminderKind.DAYS_LEFT, k, index != 0))
    after = course.not_started_after_days
    if (
        after is not None
        and enrolment.started_at is None
        and user.issued_at is not None
        and today >= user.issued_at + timedelta(days=after)
    ):
        # Skipped only when a days-left reminder goes out in the same run (decided below).
        wanted.append((ReminderKind.NOT_STARTED, -1, False))
    return wanted, left


def _days_left_sent_today(
    session: Session, enrolment: Enrolment, now: datetime, timezone: str
) -> bool:
    start = end_of_day(local_today(now, timezone) - timedelta(days=1), timezone)
    return (
        session.scalar(
            select(Reminder.id).where(
                Reminder.enrolment_id == enrolment.id,
                Reminder.kind == ReminderKind.DAYS_LEFT,
                Reminder.skipped.is_(False),
                Reminder.created_at >= start,
            )
        )
        is not None
    )


def _insert_ignore(session: Session, values: dict) -> int | None:
    """Insert a reminder row unless its key exists; its id when this call inserted it."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(Reminder).values(**values).on_conflict_do_nothing().returning(Reminder.id)
    return session.execute(statement).scalar_one_or_none()


def claim_due(session: Session, now: datetime, timezone: str = DEFAULT_TIMEZONE) -> list[Claimed]:
    """Claim every reminder due at `now`, storing its in-app notice; commit per claim."""
    rows = session.execute(
        select(Enrolment, Course, User)
        .join(Course, Enrolment.course_id == Course.id)
        .join(User, Enrolment.user_id == User.id)
        .where(
            Enrolment.completed_at.is_(None),
            Enrolment.due_at.is_not(None),
            Enrolment.due_at > now,
            User.is_active_account.is_(True),
        )
        .order_by(Enrolment.id)
    ).all()
    claimed: list[Claimed] = []
    for enrolment, course, user in rows:
        wanted, left = _wanted(enrolment, course, user, now, timezone)
        for kind, days, skipped in wanted:
            if kind == ReminderKind.NOT_STARTED:
                # One reminder a day is enough: skip it when a days-left reminder went out
                # today, from this run or a concurrent one.
                skipped = _days_left_sent_today(session, enrolment, now, timezone)
            # "Not started yet" is sent once per enrolment, whatever later happens to the date.
            key_time = NOT_STARTED_KEY if kind == ReminderKind.NOT_STARTED else enrolment.due_at
            reminder_id = _insert_ignore(
                session,
                {
                    "enrolment_id": enrolment.id,
                    "kind": kind.value,
                    "days_left": days,
                    "due_at": key_time,
                    "created_at": now,
                    "skipped": skipped,
                },
            )
            if reminder_id is None or skipped:
                session.commit()
                continue
            key = (
                "not_started"
                if kind == ReminderKind.NOT_STARTED
                else ("last_day" if left == 0 else "days_left")
            )
            params = {
                "course": enrolment.version.title,
                "days": left,
                "date": due_day(enrolment.due_at, timezone).isoformat(),
            }
            session.add(
                Notice(
                    user_id=user.id,
                    enrolment_id=enrolment.id,
                    message=MESSAGES[key],
                    params=params,
                    created_at=now,
                )
            )
            session.commit()
            claimed.append(Claimed(reminder_id, user.id, MESSAGES[key], params))
    return claimed
