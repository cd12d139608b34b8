"""The deadline rule: due at 24:00 local time of (issued_at + N days), extensions, overdue.

N is the batch's number of days when it sets one, else the course version's (10 by default).
The issue day is not counted, as in the Vietnamese Civil Code's rule for periods counted in
days (Bộ luật Dân sự 2015, art. 147(2): the first day is not counted; art. 148: the period ends
at 24:00 of its last day): an account issued on 1 November (at any time that day) with N = 10
is due at 24:00 on 11 November, which is stored as 17:00 UTC on 11 November.

`due_after` is that rule, and every deadline counted in days goes through it: the issue date
(`rule_due_at`, the import, enrolling a batch, a batch's days) and extensions "by N days",
which count from the current due day, or from today for a learner already overdue
(`extension_start`), today not counted either.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from lms.models import (
    Cohort,
    DeadlineExtension,
    Enrolment,
    Notice,
    OrgUnit,
    OverduePolicy,
    ProgressStatus,
    User,
    utcnow,
)
from lms.services import attendance, audit
from lms.services.clock import DEFAULT_TIMEZONE
from lms.services.errors import N_, DomainError, Forbidden
from lms.services.scope import Scope

MAX_EXTENSION_DAYS = 365


def end_of_day(day: date, timezone: str = DEFAULT_TIMEZONE) -> datetime:
    """24:00 local time of `day` (that is, 00:00 of the next day), in UTC."""
    local = datetime.combine(day + timedelta(days=1), time(0), tzinfo=ZoneInfo(timezone))
    return local.astimezone(UTC)


def last_day(start: date, days: int) -> date:
    """The last day of a period of `days` days counted from `start`, `start` not counted."""
    return start + timedelta(days=days)


def due_after(start: date, days: int, timezone: str = DEFAULT_TIMEZONE) -> datetime:
    """The deadline `days` days after the day `start`: 24:00 local time of its last day, in
    UTC. The one place the rule is written; the start day itself is not counted."""
    return end_of_day(last_day(start, days), timezone)


def extension_start(due_at: datetime | None, today: date, timezone: str = DEFAULT_TIMEZONE) -> date:
    """The day an extension "by N days" counts from: the current due day, or today when the
    learner is already overdue (or has no deadline). Like the issue day, it is not counted:
    an overdue learner extended by 3 days is due at 24:00 of today + 3, with 3 days left."""
    if due_at is None:
        return today
    return max(due_day(due_at, timezone), today)


def due_day(due_at: datetime, timezone: str = DEFAULT_TIMEZONE) -> date:
    """The local day whose 24:00 is `due_at`."""
    return (due_at.astimezone(ZoneInfo(timezone)) - timedelta(microseconds=1)).date()


def local_today(now: datetime, timezone: str = DEFAULT_TIMEZONE) -> date:
    """The local day at `now`."""
    return now.astimezone(ZoneInfo(timezone)).date()


def deadline_days(enrolment: Enrolment) -> int:
    """N for this enrolment: the batch's when it sets one, else the course version's."""
    cohort: Cohort | None = enrolment.user.cohort
    if cohort is not None and cohort.deadline_days and enrolment.course in cohort.courses:
        return cohort.deadline_days
    return enrolment.version.deadline_days


def rule_due_at(enrolment: Enrolment, timezone: str = DEFAULT_TIMEZONE) -> datetime | None:
    """The due time by the rule alone, or None when the account has no issue date."""
    issued = enrolment.user.issued_at
    if issued is None:
        return None
    return due_after(issued, deadline_days(enrolment), timezone)


def effective_due(
    rule_due: datetime | None, extended_until: date | None, timezone: str = DEFAULT_TIMEZONE
) -> datetime | None:
    """The due time in force: the rule's, or the extension's when that is later."""
    if extended_until is None:
        return rule_due
    extended = end_of_day(extended_until, timezone)
    return extended if rule_due is None else max(rule_due, extended)


def recompute(enrolment: Enrolment, timezone: str = DEFAULT_TIMEZONE) -> bool:
    """Set the effective due time from the rule and any extension; True when it changed."""
    due = effective_due(rule_due_at(enrolment, timezone), enrolment.extended_until, timezone)
    if due != enrolment.due_at:
        enrolment.due_at = due
        return True
    return False


def recompute_user(session: Session, user: User, timezone: str = DEFAULT_TIMEZONE) -> int:
    """Recompute every enrolment of an account (after issued_at or its batch changed)."""
    changed = sum(
        recompute(e, timezone)
        for e in session.scalars(select(Enrolment).where(Enrolment.user_id == user.id))
    )
    session.flush()
    return changed


class DeadlineState(enum.StrEnum):
    """What the learner is told about the deadline."""

    NONE = "none"  # no issue date: no deadline
    OPEN = "open"  # days left
    TODAY = "today"  # due at 24:00 today
    OVERDUE = "overdue"
    DONE = "done"


@dataclass(frozen=True)
class Countdown:
    """The deadline as the learner sees it."""

    state: DeadlineState
    days_left: int | None
    due_day: date | None
    late: bool = False

    @property
    def urgent(self) -> bool:
        """Fewer than 3 days remain (the banner is shown)."""
        return self.state == DeadlineState.TODAY or (
            self.state == DeadlineState.OPEN and (self.days_left or 0) < 3
        )


def countdown(enrolment: Enrolment, now: datetime, timezone: str = DEFAULT_TIMEZONE) -> Countdown:
    """The learner's countdown for one enrolment at `now`."""
    if enrolment.completed_at is not None:
        day = due_day(enrolment.due_at, timezone) if enrolment.due_at else None
        return Countdown(DeadlineState.DONE, None, day, enrolment.completed_late)
    if enrolment.due_at is None:
        return Countdown(DeadlineState.NONE, None, None)
    day = due_day(enrolment.due_at, timezone)
    if now >= enrolment.due_at:
        return Countdown(DeadlineState.OVERDUE, None, day)
    left = (day - local_today(now, timezone)).days
    return Countdown(DeadlineState.TODAY if left == 0 else DeadlineState.OPEN, left, day)


def is_overdue(enrolment: Enrolment, now: datetime) -> bool:
    return (
        enrolment.completed_at is None and enrolment.due_at is not None and now >= enrolment.due_at
    )


def locked(enrolment: Enrolment, now: datetime) -> bool:
    """True when the course's policy is 'lock' and the learner is overdue: they may read, but
    not take the final test or get a certificate until an admin extends the deadline."""
    return enrolment.course.overdue_policy == OverduePolicy.LOCK and is_overdue(enrolment, now)


def check_completion(session: Session, enrolment: Enrolment, now: datetime | None = None) -> bool:
    """Record the completion once every required activity is done (and not locked).

    Returns True when this call recorded it. The final-test activity counts as done only when
    passed, so "every required activity done" includes passing the test. A learner who met the
    attendance rule of an in-person class of the course took the lessons there: only the final
    test is required of them.
    """
    now = now or utcnow()
    if enrolment.completed_at is not None or locked(enrolment, now):
        return False
    from lms.models import Activity, ActivityProgress

    required_activities = select(Activity.id).where(
        Activity.version_id == enrolment.version_id, Activity.required.is_(True)
    )
    if attendance.attended_class(session, enrolment.user_id, enrolment.course_id) is not None:
        required_activities = required_activities.where(Activity.kind == "test")
    required = session.scalars(required_activities).all()
    done = set(
        session.scalars(
            select(ActivityProgress.activity_id).where(
                ActivityProgress.enrolment_id == enrolment.id,
                ActivityProgress.status == ProgressStatus.DONE,
            )
        )
    )
    if not required or not set(required) <= done:
        return False
    enrolment.completed_at = now
    enrolment.completed_late = enrolment.due_at is not None and now >= enrolment.due_at
    session.flush()
    for listener in COMPLETION_LISTENERS:
        listener(session, enrolment)
    return True


# Called with (session, enrolment) when a course is completed; certificates register here.
COMPLETION_LISTENERS: list = []


def check_extension(reason: str, days: int | None, until: date | None, today: date) -> str:
    """Check what an extension asks, whoever it is for; return the reason, tidied."""
    reason = " ".join((reason or "").split())
    if not reason:
        raise DomainError(N_("Give the reason for the extension."), field="reason")
    if len(reason) > 500:
        raise DomainError(N_("The reason is too long (at most 500 characters)."), field="reason")
    if (days is None) == (until is None):
        raise DomainError(N_("Give either a number of days or a date."), field="days")
    if days is not None and not 1 <= days <= MAX_EXTENSION_DAYS:
        raise DomainError(N_("Extend by 1 to %(max)d days."), field="days", max=MAX_EXTENSION_DAYS)
    if until is not None and until < today:
        raise DomainError(N_("The new deadline cannot be in the past."), field="until")
    return reason


def extension_targets(
    scope: Scope,
    course_id: int,
    *,
    cohort_id: int | None = None,
    user_ids: list[int] | None = None,
) -> Select:
    """The ids of the enrolments an extension of many learners covers: in the course, not
    completed, of the batch's members (or of the accounts named) inside the scope."""
    stmt = (
        select(Enrolment.id)
        .join(User, Enrolment.user_id == User.id)
        .outerjoin(OrgUnit, User.org_unit_id == OrgUnit.id)
        .where(Enrolment.course_id == course_id, Enrolment.completed_at.is_(None))
    )
    if not scope.everything:
        stmt = stmt.where(scope.user_filter())
    if cohort_id is not None:
        return stmt.where(User.cohort_id == cohort_id)
    return stmt.where(User.id.in_(user_ids or []))


def check_until(
    session: Session, targets: Select, until: date | None, timezone: str = DEFAULT_TIMEZONE
) -> None:
    """Refuse extending `targets` to the day `until` when one of them is due that day or
    later already (as `extend` would, at that learner), in one query."""
    if until is None:
        return
    latest = session.scalar(select(func.max(Enrolment.due_at)).where(Enrolment.id.in_(targets)))
    if latest is not None and until <= due_day(latest, timezone):
        raise DomainError(
            N_("The new deadline must be later than the current one (%(date)s)."),
            field="until",
            date=due_day(latest, timezone).isoformat(),
        )


def extend(
    session: Session,
    actor: User,
    enrolments: Iterable[Enrolment],
    *,
    reason: str,
    days: int | None = None,
    until: date | None = None,
    timezone: str = DEFAULT_TIMEZONE,
    now: datetime | None = None,
) -> int:
    """Extend deadlines by `days` (counted from each current due day, or from today for a
    learner already overdue; see `extension_start`) or to the day `until`.

    Each extension is recorded with its reason, in the audit log and as a notice to the
    learner; a locked learner is unlocked at once. Returns how many were extended.
    """
    now = now or utcnow()
    today = local_today(now, timezone)
    reason = check_extension(reason, days, until, today)
    scope = Scope.of(actor)
    count = 0
    for enrolment in enrolments:
        if not scope.can_manage_user(enrolment.user):
            raise Forbidden(N_("You cannot change this account."))
        if enrolment.completed_at is not None:
            continue
        old = enrolment.due_at
        if until is not None:
            if old is not None and until <= due_day(old, timezone):
                raise DomainError(
                    N_("The new deadline must be later than the current one (%(date)s)."),
                    field="until",
                    date=due_day(old, timezone).isoformat(),
                )
            target = until
        else:
            target = last_day(extension_start(old, today, timezone), days)
        enrolment.extended_until = target
        recompute(enrolment, timezone)
        session.add(
            DeadlineExtension(
                enrolment=enrolment,
                actor_id=actor.id,
                old_due_at=old,
                new_due_at=enrolment.due_at,
                reason=reason,
            )
        )
        session.add(
            Notice(
                user_id=enrolment.user_id,
                enrolment_id=enrolment.id,
                message=N_("Your deadline for %(course)s has been extended to %(date)s."),
                params={
                    "course": enrolment.version.title,
                    "date": due_day(enrolment.due_at, timezone).isoformat(),
                },
            )
        )
        audit.record(
            session,
            actor,
            "enrolment.extend",
            enrolment.user,
            course=enrolment.version.title,
            old=old.isoformat() if old else None,
            new=enrolment.due_at.isoformat(),
            reason=reason,
        )
        check_completion(session, enrolment, now)
        count += 1
    session.flush()
    return count
