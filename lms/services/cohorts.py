"""Batches ("đợt học"): their unit, courses and number of days, and bringing their members in
line with them.

Saving a batch changes the batch alone. What that means for its members (enrolling them in
added courses with due dates, recomputing due dates when the days or the courses change,
enrolling those a wider unit now covers, a batch-wide issue date) is work on thousands of rows,
done by `update_members` one chunk of members at a time, set-based (a few statements a chunk,
no ORM object per learner), for the job `cohorts.members` (lms/jobs/cohorts.py) to commit
chunk by chunk. Every chunk can be done again harmlessly: an enrolment is inserted only where
(user, course) has none, and a due date is a function of the stored values.

A batch's unit is who manages it; its members keep their own units (their workplaces). The
batch speaks for the members inside its unit: they are enrolled in its courses, and a
batch-wide issue date applies to them. Moving a batch to a unit that would leave some of those
members outside is refused: a batch would silently stop speaking for them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from lms.models import (
    Cohort,
    Course,
    CourseVersion,
    Enrolment,
    OrgUnit,
    User,
    utcnow,
)
from lms.models.accounts import cohort_course
from lms.services import audit, deadlines
from lms.services.catalog import enrol
from lms.services.clock import DEFAULT_TIMEZONE
from lms.services.errors import N_, DomainError, Forbidden
from lms.services.scope import Scope
from lms.services.text import clean_text

# Members per chunk of the member job: each chunk is one transaction with the job's progress.
MEMBER_CHUNK = 2000
# How far ahead a batch-wide issue date may be set (an account is handed out soon, not later).
MAX_ISSUE_DAYS_AHEAD = 365


@dataclass(frozen=True)
class BatchState:
    """What a batch asks of its members: the unit it speaks for, its number of days, and its
    courses with the version new enrolments get (and that version's days). The member job
    applies one state in a pass, and passes again when the batch changed meanwhile."""

    unit_path: str
    days: int | None
    courses: tuple[tuple[int, int | None, int | None], ...]  # (course, version, version days)

    def as_json(self) -> list[Any]:
        return [self.unit_path, self.days, [list(c) for c in self.courses]]

    @classmethod
    def from_json(cls, value: list[Any] | None) -> BatchState | None:
        if not value:
            return None
        path, days, courses = value
        return cls(path, days, tuple(tuple(c) for c in courses))


def batch_state(session: Session, cohort: Cohort) -> BatchState:
    """The batch's state as stored now (read again from the database)."""
    path = session.scalar(select(OrgUnit.path).where(OrgUnit.id == cohort.org_unit_id))
    days = session.scalar(select(Cohort.deadline_days).where(Cohort.id == cohort.id))
    courses = session.execute(
        select(Course.id, Course.current_version_id, CourseVersion.deadline_days)
        .select_from(cohort_course)
        .join(Course, Course.id == cohort_course.c.course_id)
        .outerjoin(CourseVersion, CourseVersion.id == Course.current_version_id)
        .where(cohort_course.c.cohort_id == cohort.id)
        .order_by(Course.id)
    ).all()
    return BatchState(path, days, tuple(tuple(c) for c in courses))


def member_count(session: Session, cohort: Cohort) -> int:
    """How many accounts the batch has."""
    return session.scalar(select(func.count(User.id)).where(User.cohort_id == cohort.id)) or 0


def _clean(name: str, days: int | None) -> str:
    name = clean_text(name)
    if not name:
        raise DomainError(N_("Enter the name of the batch."), field="name")
    if len(name) > 120:
        raise DomainError(N_("At most %(max)d characters."), field="name", max=120)
    if days is not None and not 1 <= days <= 365:
        raise DomainError(
            N_("deadline_days must be a whole number from 1 to 365."), field="deadline_days"
        )
    return name


def _lock(session: Session, cohort: Cohort) -> None:
    """Lock the batch's row until the commit (PostgreSQL; SQLite serialises writers): the
    member job's closing check takes the same lock, so a change is either seen by the running
    job or made after it has said it is finishing (and then a new job is started)."""
    session.execute(select(Cohort.id).where(Cohort.id == cohort.id).with_for_update())


def _left_outside(session: Session, cohort: Cohort, old: OrgUnit, new: OrgUnit) -> int:
    """Members inside the batch's current unit that a move to `new` would leave outside it."""
    return (
        session.scalar(
            select(func.count(User.id))
            .join(OrgUnit, User.org_unit_id == OrgUnit.id)
            .where(
                User.cohort_id == cohort.id,
                OrgUnit.path.startswith(old.path, autoescape=True),
                ~OrgUnit.path.startswith(new.path, autoescape=True),
            )
        )
        or 0
    )


@dataclass(frozen=True)
class Saved:
    """A saved batch, and whether its members need the member job."""

    cohort: Cohort
    members_to_update: bool


def save_cohort(
    session: Session,
    actor: User,
    cohort: Cohort | None,
    *,
    name: str,
    unit: OrgUnit,
    courses: list[Course],
    deadline_days: int | None,
) -> Saved:
    """Create or change a batch (its name, unit, courses and days), and nothing else: the
    members are brought in line by `update_members`, which the result says is needed when the
    unit, the courses or the days changed and the batch has members."""
    scope = Scope.of(actor)
    if not scope.covers_unit(unit) or (
        cohort is not None and not scope.covers_unit(cohort.org_unit)
    ):
        raise Forbidden(N_("You cannot manage this batch."))
    name = _clean(name, deadline_days)
    duplicate = session.scalar(
        select(Cohort.id).where(
            Cohort.org_unit_id == unit.id,
            Cohort.name == name,
            Cohort.id != (cohort.id if cohort else -1),
        )
    )
    if duplicate:
        raise DomainError(
            N_("This unit already has a batch named %(name)s."), field="name", name=name
        )
    before = None
    if cohort is None:
        cohort = Cohort(name=name, org_unit=unit)
        session.add(cohort)
        action = "cohort.create"
    else:
        _lock(session, cohort)
        before = batch_state(session, cohort)
        if unit.id != cohort.org_unit_id and (
            outside := _left_outside(session, cohort, cohort.org_unit, unit)
        ):
            raise DomainError(
                N_(
                    "Learners of this batch in units outside %(unit)s: %(count)s. Choose a unit "
                    "that contains all of them, or move them first."
                ),
                field="org_unit_id",
                count=outside,
                unit=unit.name,
            )
        action = "cohort.update"
    cohort.name, cohort.org_unit, cohort.deadline_days = name, unit, deadline_days
    cohort.courses = list(dict.fromkeys(courses))
    session.flush()
    audit.record(
        session,
        actor,
        action,
        unit,
        cohort=name,
        days=deadline_days,
        courses=[c.title for c in cohort.courses],
    )
    changed = before is None or batch_state(session, cohort) != before
    return Saved(cohort, changed and member_count(session, cohort) > 0)


def check_issue_date(
    session: Session,
    actor: User,
    cohort: Cohort,
    day: date | None,
    *,
    past_ok: bool,
    now: datetime | None = None,
    timezone: str = DEFAULT_TIMEZONE,
) -> None:
    """Check a batch-wide issue date before the member job sets it, and record the decision.

    A date giving a deadline already past (or ending today) needs `past_ok`, the admin's tick:
    every member would be overdue, or nearly, at once.
    """
    if not Scope.of(actor).covers_unit(cohort.org_unit):
        raise Forbidden(N_("You cannot manage this batch."))
    if day is None:
        raise DomainError(N_("Enter the date the accounts were handed out."), field="issued_at")
    now = now or utcnow()
    today = deadlines.local_today(now, timezone)
    if (day - today).days > MAX_ISSUE_DAYS_AHEAD:
        raise DomainError(
            N_("The issue date cannot be more than %(days)d days ahead."),
            field="issued_at",
            days=MAX_ISSUE_DAYS_AHEAD,
        )
    state = batch_state(session, cohort)
    shortest = min(
        (state.days or version_days for _, version, version_days in state.courses if version),
        default=None,
    )
    if shortest is not None and not past_ok:
        due = deadlines.due_after(day, shortest, timezone)
        if deadlines.due_day(due, timezone) <= today:
            raise DomainError(
                N_(
                    "With this date the deadline is 24:00 on %(date)s, which leaves the learners "
                    "no time: tick the box to set it all the same."
                ),
                field="past_ok",
                date=deadlines.due_day(due, timezone).isoformat(),
            )
    audit.record(
        session,
        actor,
        "cohort.issue_date",
        cohort.org_unit,
        cohort=cohort.name,
        issued_at=day.isoformat(),
        members=member_count(session, cohort),
    )


@dataclass(frozen=True)
class ChunkDone:
    """What one chunk of `update_members` did."""

    last_id: int | None  # the last member done; None when no member was left after `after`
    members: int = 0
    enrolled: int = 0
    changed: int = 0  # due dates changed (the new enrolments' not counted)


def _insert_new(session: Session, rows: list[dict]) -> int:
    """Insert enrolments, skipping any (user, course) enrolled meanwhile; how many were new."""
    if not rows:
        return 0
    dialect = session.get_bind().dialect.name
    make = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = make(Enrolment.__table__).on_conflict_do_nothing(
        index_elements=["user_id", "course_id"]
    )
    return len(session.execute(statement.returning(Enrolment.__table__.c.id), rows).all())


def update_members(
    session: Session,
    cohort: Cohort,
    state: BatchState,
    *,
    after: int = 0,
    issued_at: date | None = None,
    limit: int | None = None,
    timezone: str = DEFAULT_TIMEZONE,
) -> ChunkDone:
    """Bring the next `limit` (default MEMBER_CHUNK) members of the batch (by account id,
    past `after`) in line with `state`: set their issue date (the batch-wide action), enrol
    those inside the batch's unit in its courses, with due dates by the rule, and recompute
    every due date of theirs.

    A few set-based statements whatever the chunk's size; flushes, never commits. Harmless to
    run again: a (user, course) already enrolled is skipped, a due date is recomputed from
    stored values, and a due date changed meanwhile by someone else (an extension, a new issue
    date) is left to them.
    """
    members = session.execute(
        select(User.id, User.issued_at, OrgUnit.path)
        .outerjoin(OrgUnit, User.org_unit_id == OrgUnit.id)
        .where(User.cohort_id == cohort.id, User.id > after)
        .order_by(User.id)
        .limit(limit or MEMBER_CHUNK)
    ).all()
    if not members:
        return ChunkDone(None)
    last = members[-1].id
    in_chunk = select(User.id).where(User.cohort_id == cohort.id, User.id > after, User.id <= last)
    inside = {m.id for m in members if m.path is not None and m.path.startswith(state.unit_path)}
    issued = {m.id: m.issued_at for m in members}
    if issued_at is not None and inside:
        session.execute(
            update(User)
            .where(
                User.cohort_id == cohort.id,
                User.id > after,
                User.id <= last,
                User.org_unit_id.in_(
                    select(OrgUnit.id).where(
                        OrgUnit.path.startswith(state.unit_path, autoescape=True)
                    )
                ),
            )
            .values(issued_at=issued_at)
            .execution_options(synchronize_session=False)
        )
        issued.update(dict.fromkeys(inside, issued_at))

    dues: dict[tuple[date, int], datetime] = {}

    def rule_due(user_id: int, days: int) -> datetime | None:
        day = issued.get(user_id)
        if day is None:
            return None
        if (day, days) not in dues:
            dues[day, days] = deadlines.due_after(day, days, timezone)
        return dues[day, days]

    now = utcnow()
    enrolled = 0
    for course_id, version_id, version_days in state.courses:
        if version_id is None:
            continue  # no published version: nothing to enrol in
        have = set(
            session.scalars(
                select(Enrolment.user_id).where(
                    Enrolment.course_id == course_id, Enrolment.user_id.in_(in_chunk)
                )
            )
        )
        days = state.days or version_days
        enrolled += _insert_new(
            session,
            [
                {
                    "user_id": user_id,
                    "course_id": course_id,
                    "version_id": version_id,
                    "enrolled_at": now,
                    "completed_late": False,
                    "due_at": rule_due(user_id, days),
                }
                for user_id in sorted(inside - have)
            ],
        )

    batch_courses = {course_id for course_id, _, _ in state.courses}
    stale = []
    for row in session.execute(
        select(
            Enrolment.id,
            Enrolment.user_id,
            Enrolment.course_id,
            Enrolment.due_at,
            Enrolment.extended_until,
            CourseVersion.deadline_days,
        )
        .join(CourseVersion, Enrolment.version_id == CourseVersion.id)
        .where(Enrolment.user_id.in_(in_chunk))
    ):
        if row.user_id not in issued:
            continue  # put in the batch since this chunk began: assign() saw to them
        # The batch's days for its courses, the version's for the others (deadline_days()).
        days = state.days if state.days and row.course_id in batch_courses else row.deadline_days
        due = deadlines.effective_due(rule_due(row.user_id, days), row.extended_until, timezone)
        if due != row.due_at:
            stale.append({"eid": row.id, "old": row.due_at, "ext": row.extended_until, "new": due})
    changed = 0
    if stale:
        table = Enrolment.__table__
        changed = session.execute(
            update(table)
            .where(
                table.c.id == bindparam("eid"),
                # Written meanwhile by someone else (an extension): theirs stands.
                table.c.due_at.is_not_distinct_from(bindparam("old", type_=table.c.due_at.type)),
                table.c.extended_until.is_not_distinct_from(
                    bindparam("ext", type_=table.c.extended_until.type)
                ),
            )
            .values(due_at=bindparam("new", type_=table.c.due_at.type)),
            stale,
        ).rowcount
    session.flush()
    return ChunkDone(last, len(members), enrolled, max(changed, 0))


def apply_to_members(
    session: Session,
    cohort: Cohort,
    *,
    issued_at: date | None = None,
    timezone: str = DEFAULT_TIMEZONE,
) -> ChunkDone:
    """All chunks of `update_members` in one transaction (a small batch, a command or a test;
    the web runs the job, which commits each chunk); the totals."""
    state = batch_state(session, cohort)
    after, members, enrolled, changed = 0, 0, 0, 0
    while True:
        done = update_members(
            session, cohort, state, after=after, issued_at=issued_at, timezone=timezone
        )
        if done.last_id is None:
            break
        after = done.last_id
        members, enrolled, changed = (
            members + done.members,
            enrolled + done.enrolled,
            changed + done.changed,
        )
    session.expire_all()
    return ChunkDone(after or None, members, enrolled, changed)


def assign(
    session: Session, user: User, cohort: Cohort | None, timezone: str = DEFAULT_TIMEZONE
) -> None:
    """Put an account in a batch and enrol it in the batch's courses."""
    if cohort is not None and (
        user.org_unit is None or not cohort.org_unit.contains(user.org_unit)
    ):
        raise DomainError(
            N_("The batch %(name)s belongs to another unit than this account."),
            field="cohort_id",
            name=cohort.name,
        )
    user.cohort = cohort
    session.flush()
    if cohort is not None:
        for course in cohort.courses:
            if course.current_version_id is not None:
                enrol(session, user, course, timezone)
    deadlines.recompute_user(session, user, timezone)
