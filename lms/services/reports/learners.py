"""Learner lists: the filters, sorts and scope of the admin's list and its export, and each
learner's state in a course."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime

from sqlalchemy import (
    Select,
    and_,
    case,
    exists,
    func,
    or_,
    select,
)
from sqlalchemy.orm import Session

from lms.models import (
    Certificate,
    Course,
    Enrolment,
    OrgUnit,
    Role,
    RoleAssignment,
    TestAttempt,
    User,
    utcnow,
)
from lms.services.clock import DEFAULT_TIMEZONE
from lms.services.deadlines import due_day
from lms.services.errors import N_, NotFound
from lms.services.reports.figures import certified_expr, passed_expr
from lms.services.scope import Scope
from lms.services.text import fold

ACCOUNT_STATUSES = ("active", "inactive", "never_logged_in", "must_change_password", "overdue")
PROGRESS_STATUSES = (
    "not_enrolled",
    "not_started",
    "in_progress",
    "completed",
    "passed",
    "certified",
    "overdue",
)
SORTS = ("name", "unit", "issued", "last_login", "due", "completed")


@dataclass(frozen=True)
class LearnerFilter:
    """The filters of a learner list (also the arguments of its export job)."""

    q: str = ""
    unit_id: int | None = None
    cohort_id: int | None = None
    course_id: int | None = None
    role: str | None = None
    status: str | None = None
    progress: str | None = None
    sort: str = "name"
    descending: bool = False

    def as_args(self) -> dict:
        return {k: v for k, v in asdict(self).items() if v not in (None, "", False)}


def _enrolment_condition(course_id: int | None, *conditions):
    where = [Enrolment.user_id == User.id, *conditions]
    if course_id:
        where.append(Enrolment.course_id == course_id)
    return exists().where(*where)


def learner_query(
    session: Session, scope: Scope, f: LearnerFilter, now: datetime | None = None
) -> Select:
    """Accounts of the scope matching the filters, sorted (a SELECT of User)."""
    now = now or utcnow()
    stmt = select(User)
    # The scope and the chosen unit as the list of the unit ids they cover, read first: the
    # databases then find a district's 3,000 learners through the index on the account's unit
    # (a join on the path let SQLite walk all 122,000 accounts for a count; given a subquery,
    # PostgreSQL cannot tell how many accounts it holds and reads them all).
    in_units = [] if scope.everything else [scope.unit_filter()]
    if f.q:
        folded = fold(f.q)
        stmt = stmt.where(
            or_(
                User.search_name.contains(folded, autoescape=True),
                User.username.contains(f.q.lower(), autoescape=True),
                User.phone.contains(f.q.replace(" ", ""), autoescape=True),
                func.lower(User.email).contains(f.q.lower(), autoescape=True),
            )
        )
    if f.unit_id:
        unit = session.get(OrgUnit, f.unit_id)
        if unit is None or not scope.covers_unit(unit):
            raise NotFound(N_("This unit does not exist or is outside the units you manage."))
        in_units.append(OrgUnit.path.startswith(unit.path, autoescape=True))
    if in_units:
        unit_ids = session.scalars(select(OrgUnit.id).where(*in_units)).all()
        stmt = stmt.where(User.org_unit_id.in_(unit_ids))
    if f.cohort_id:
        stmt = stmt.where(User.cohort_id == f.cohort_id)
    if f.role in {r.value for r in Role}:
        stmt = stmt.where(
            User.id.in_(select(RoleAssignment.user_id).where(RoleAssignment.role == Role(f.role)))
        )
    overdue = and_(Enrolment.completed_at.is_(None), Enrolment.due_at <= now)
    match f.status:
        case "active":
            stmt = stmt.where(User.is_active_account.is_(True))
        case "inactive":
            stmt = stmt.where(User.is_active_account.is_(False))
        case "never_logged_in":
            stmt = stmt.where(User.last_login_at.is_(None))
        case "must_change_password":
            stmt = stmt.where(User.must_change_password.is_(True))
        case "overdue":
            stmt = stmt.where(_enrolment_condition(f.course_id, overdue))
    course = f.course_id
    match f.progress:
        case "not_enrolled":
            stmt = stmt.where(~_enrolment_condition(course))
        case "not_started":
            stmt = stmt.where(_enrolment_condition(course, Enrolment.started_at.is_(None)))
        case "in_progress":
            stmt = stmt.where(
                _enrolment_condition(
                    course, Enrolment.started_at.is_not(None), Enrolment.completed_at.is_(None)
                )
            )
        case "completed":
            stmt = stmt.where(_enrolment_condition(course, Enrolment.completed_at.is_not(None)))
        case "passed":
            stmt = stmt.where(_enrolment_condition(course, passed_expr()))
        case "certified":
            stmt = stmt.where(_enrolment_condition(course, certified_expr()))
        case "overdue":
            stmt = stmt.where(_enrolment_condition(course, overdue))
    return _sorted(stmt, f)


def _sorted(stmt: Select, f: LearnerFilter) -> Select:
    enrolment_value = None
    if f.sort in ("due", "completed") and f.course_id:
        column = Enrolment.due_at if f.sort == "due" else Enrolment.completed_at
        enrolment_value = (
            select(column)
            .where(Enrolment.user_id == User.id, Enrolment.course_id == f.course_id)
            .scalar_subquery()
        )
    if f.sort == "unit":
        stmt = stmt.outerjoin(OrgUnit, User.org_unit_id == OrgUnit.id)
    key = {
        "unit": OrgUnit.name,
        "issued": User.issued_at,
        "last_login": User.last_login_at,
    }.get(f.sort, enrolment_value)
    if key is None:
        order = [User.sort_name.desc() if f.descending else User.sort_name]
    else:
        # Empty values last in both directions, on both databases.
        order = [
            case((key.is_(None), 1), else_=0),
            key.desc() if f.descending else key,
            User.sort_name,
        ]
    return stmt.order_by(*order, User.id)


@dataclass(frozen=True)
class LearnerState:
    """One learner's state in one course, for lists and exports."""

    course_id: int
    course_title: str
    due_at: datetime | None
    started_at: datetime | None
    completed_at: datetime | None
    passed: bool
    certified: bool
    best_score: float | None
    overdue: bool
    due_day: date | None  # the local day at whose end it is due

    @property
    def status(self) -> str:
        if self.completed_at is not None:
            return "completed"
        if self.overdue:
            return "overdue"
        if self.started_at is not None:
            return "in_progress"
        return "not_started"


def states_of(
    session: Session,
    user_ids: Iterable[int],
    course_id: int | None,
    timezone: str = DEFAULT_TIMEZONE,
    now: datetime | None = None,
) -> dict[int, list[LearnerState]]:
    """The enrolments of these accounts (in one course, or all) with their results."""
    now = now or utcnow()
    ids = list(user_ids)
    result: dict[int, list[LearnerState]] = {i: [] for i in ids}
    for start in range(0, len(ids), 900):  # SQLite's parameter limit
        chunk = ids[start : start + 900]
        # Correlated aggregates, not EXISTS: for a few hundred rows PostgreSQL would hash
        # the whole attempts and certificates tables for an EXISTS, but probes the index here.
        best = (
            select(func.max(TestAttempt.score))
            .where(TestAttempt.enrolment_id == Enrolment.id, TestAttempt.passed.is_(True))
            .scalar_subquery()
        )
        passes = (
            select(func.count(TestAttempt.id))
            .where(TestAttempt.enrolment_id == Enrolment.id, TestAttempt.passed.is_(True))
            .scalar_subquery()
        )
        valid = (
            select(func.count(Certificate.id))
            .where(
                Certificate.enrolment_id == Enrolment.id,
                Certificate.revoked_at.is_(None),
                Certificate.replaced_by_id.is_(None),
            )
            .scalar_subquery()
        )
        stmt = (
            select(
                Enrolment.user_id,
                Enrolment.course_id,
                Course.title,
                Enrolment.due_at,
                Enrolment.started_at,
                Enrolment.completed_at,
                passes,
                valid,
                best,
            )
            .join(Course, Enrolment.course_id == Course.id)
            .where(Enrolment.user_id.in_(chunk))
            .order_by(Enrolment.user_id, Course.title)
        )
        if course_id:
            stmt = stmt.where(Enrolment.course_id == course_id)
        for row in session.execute(stmt):
            user_id, cid, title, due, started, completed, passed, certified, score = row
            due = _aware(due)
            completed = _aware(completed)
            result[user_id].append(
                LearnerState(
                    cid,
                    title,
                    due,
                    _aware(started),
                    completed,
                    bool(passed),
                    bool(certified),
                    score,
                    completed is None and due is not None and due <= now,
                    due_day(due, timezone) if due else None,
                )
            )
    return result


def _aware(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:  # raw rows from SQLite
        return value.replace(tzinfo=UTC)
    return value
