"""Completion figures by union unit, batch and day, for the dashboard, the exports and the
periodic report; every query is limited to an admin's scope.

One aggregate query counts the learners of the viewed subtree grouped by (unit, batch); the
subtree totals are rolled up in Python along the units' materialized paths, so the dashboard
costs one scan of the learners whatever the depth of the tree.

What is counted, for one course:
- issued: learner accounts (in a unit), optionally those issued in a period;
- started / completed: their enrolment in the course has a start / completion time;
- passed: one of its final-test attempts passed;
- certified: it has a certificate that is neither revoked nor replaced;
- overdue: not completed and the due time has passed (at `now`);
- never logged in: the account has never been used.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import (
    Date,
    Select,
    and_,
    case,
    cast,
    delete,
    exists,
    func,
    insert,
    or_,
    select,
)
from sqlalchemy.orm import Session

from lms.models import (
    ALL_BATCHES,
    NO_BATCH,
    Certificate,
    Cohort,
    Course,
    Enrolment,
    OrgUnit,
    Report,
    ReportDaily,
    ReportFigure,
    ReportSnapshot,
    Role,
    RoleAssignment,
    TestAttempt,
    User,
    utcnow,
)
from lms.services.clock import DEFAULT_TIMEZONE
from lms.services.deadlines import due_day
from lms.services.errors import N_, DomainError, NotFound
from lms.services.scope import Scope
from lms.services.text import fold

MAX_PERIOD_DAYS = 3 * 366


@dataclass
class Counts:
    """The figures of one unit, batch or total."""

    issued: int = 0
    started: int = 0
    completed: int = 0
    passed: int = 0
    certified: int = 0
    overdue: int = 0
    never_logged_in: int = 0

    def add(self, other: Counts) -> None:
        for name, value in asdict(other).items():
            setattr(self, name, getattr(self, name) + value)

    @property
    def rate(self) -> float | None:
        """Completion rate in percent (None when nobody was issued an account)."""
        return 100 * self.completed / self.issued if self.issued else None

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


FIGURES = ("issued", "started", "completed", "passed", "certified", "overdue", "never_logged_in")


@dataclass(frozen=True)
class Period:
    """Days from `start` to `end`, both included (local dates)."""

    start: date
    end: date

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


def check_period(start: date | None, end: date | None) -> Period:
    """A period from two dates, or a DomainError naming what is wrong."""
    if start is None or end is None:
        raise DomainError(N_("Give the first and the last day of the period."), field="start")
    if end < start:
        raise DomainError(N_("The end of the period cannot be before its start."), field="end")
    if (end - start).days >= MAX_PERIOD_DAYS:
        raise DomainError(N_("A period can be at most %(years)d years long."), field="end", years=3)
    return Period(start, end)


def half_year(day: date) -> Period:
    """The half-year (1 January - 30 June or 1 July - 31 December) containing `day`."""
    if day.month <= 6:
        return Period(date(day.year, 1, 1), date(day.year, 6, 30))
    return Period(date(day.year, 7, 1), date(day.year, 12, 31))


def previous_half_year(day: date) -> Period:
    """The last half-year that has ended before `day`."""
    current = half_year(day)
    return half_year(current.start - timedelta(days=1))


def year(day: date) -> Period:
    return Period(date(day.year, 1, 1), date(day.year, 12, 31))


@dataclass(frozen=True)
class Filters:
    """What the figures are about: a course, optionally a batch and a period of issue."""

    course_id: int
    cohort_id: int | None = None
    issued_from: date | None = None
    issued_to: date | None = None


@dataclass
class UnitFigures:
    """A unit with the figures of its whole subtree."""

    id: int
    parent_id: int | None
    name: str
    code: str
    path: str
    depth: int
    total: Counts = field(default_factory=Counts)
    child_count: int = 0


@dataclass
class BatchFigures:
    id: int | None  # None: accounts without a batch
    name: str
    counts: Counts


@dataclass
class Overview:
    """What the dashboard or a report shows for one subtree (or the whole scope)."""

    unit: UnitFigures | None  # None: the whole scope
    total: Counts
    rows: list[UnitFigures]  # the viewed unit's children (or the scope's roots)
    batches: list[BatchFigures]
    as_of: datetime


def learner_ids() -> Select:
    """Accounts holding the learner role."""
    return select(RoleAssignment.user_id).where(RoleAssignment.role == Role.LEARNER)


def passed_expr():
    return exists().where(TestAttempt.enrolment_id == Enrolment.id, TestAttempt.passed.is_(True))


def certified_expr():
    return exists().where(
        Certificate.enrolment_id == Enrolment.id,
        Certificate.revoked_at.is_(None),
        Certificate.replaced_by_id.is_(None),
    )


def _subtree_filter(scope: Scope, unit: OrgUnit | None):
    if unit is not None:
        return and_(OrgUnit.path.startswith(unit.path, autoescape=True), scope.unit_filter())
    return scope.unit_filter()


def _learner_filters(stmt: Select, filters: Filters) -> Select:
    if filters.cohort_id is not None:
        stmt = stmt.where(User.cohort_id == filters.cohort_id)
    if filters.issued_from is not None:
        stmt = stmt.where(User.issued_at >= filters.issued_from)
    if filters.issued_to is not None:
        stmt = stmt.where(User.issued_at <= filters.issued_to)
    return stmt


def grouped_counts(
    session: Session,
    scope: Scope,
    filters: Filters,
    unit: OrgUnit | None = None,
    now: datetime | None = None,
) -> list[tuple[int, int | None, Counts]]:
    """(unit id, batch id, counts) of the learners of the subtree (or scope), one query."""
    now = now or utcnow()
    completed = Enrolment.completed_at.is_not(None)
    stmt = (
        select(
            User.org_unit_id,
            User.cohort_id,
            func.count(User.id),
            func.count(Enrolment.started_at),
            func.count(Enrolment.completed_at),
            func.sum(case((passed_expr(), 1), else_=0)),
            func.sum(case((certified_expr(), 1), else_=0)),
            func.sum(case((and_(~completed, Enrolment.due_at <= now), 1), else_=0)),
            func.sum(case((User.last_login_at.is_(None), 1), else_=0)),
        )
        .join(OrgUnit, User.org_unit_id == OrgUnit.id)
        .outerjoin(
            Enrolment,
            and_(Enrolment.user_id == User.id, Enrolment.course_id == filters.course_id),
        )
        .where(User.id.in_(learner_ids()), _subtree_filter(scope, unit))
        .group_by(User.org_unit_id, User.cohort_id)
    )
    stmt = _learner_filters(stmt, filters)
    return [
        (unit_id, cohort_id, Counts(*(int(v or 0) for v in values)))
        for unit_id, cohort_id, *values in session.execute(stmt)
    ]


def _units_in_view(session: Session, scope: Scope, unit: OrgUnit | None) -> dict[int, UnitFigures]:
    stmt = select(
        OrgUnit.id, OrgUnit.parent_id, OrgUnit.name, OrgUnit.code, OrgUnit.path, OrgUnit.depth
    ).where(_subtree_filter(scope, unit))
    units = {row.id: UnitFigures(*row) for row in session.execute(stmt)}
    for figures in units.values():
        parent = units.get(figures.parent_id) if figures.parent_id else None
        if parent is not None:
            parent.child_count += 1
    return units


def _ancestors(path: str) -> list[int]:
    return [int(raw) for raw in path.strip("/").split("/")]


def _roll_up(
    units: dict[int, UnitFigures], grouped: Iterable[tuple[int, int | None, Counts]]
) -> dict[tuple[int, int], Counts]:
    """Subtree totals by (unit, batch), batch ALL_BATCHES for every batch together; the
    figures of each unit's own learners go to every ancestor in view."""
    totals: dict[tuple[int, int], Counts] = {}
    for unit_id, cohort_id, counts in grouped:
        figures = units.get(unit_id)
        if figures is None:  # added after the units were read
            continue
        batch = cohort_id if cohort_id is not None else NO_BATCH
        for ancestor in _ancestors(figures.path):
            if ancestor in units:
                totals.setdefault((ancestor, ALL_BATCHES), Counts()).add(counts)
                totals.setdefault((ancestor, batch), Counts()).add(counts)
    return totals


def _batch_rows(session: Session, counts_by_batch: dict[int, Counts]) -> list[BatchFigures]:
    ids = [b for b in counts_by_batch if b not in (ALL_BATCHES, NO_BATCH)]
    names = dict(session.execute(select(Cohort.id, Cohort.name).where(Cohort.id.in_(ids))).all())
    rows = [
        BatchFigures(None if b == NO_BATCH else b, names.get(b, ""), counts)
        for b, counts in counts_by_batch.items()
        if b != ALL_BATCHES
    ]
    rows.sort(key=lambda r: (r.id is None, r.name.casefold(), r.id or 0))
    return rows


def _assemble(
    session: Session,
    units: dict[int, UnitFigures],
    totals: dict[tuple[int, int], Counts],
    unit: OrgUnit | None,
    batch: int,
    as_of: datetime,
) -> Overview:
    for figures in units.values():
        figures.total = totals.get((figures.id, batch), Counts())
    if unit is not None:
        viewed = units[unit.id]
        rows = [u for u in units.values() if u.parent_id == unit.id]
        heads = [unit.id]
    else:
        viewed = None
        rows = [u for u in units.values() if u.parent_id not in units]
        heads = [u.id for u in rows]
    rows.sort(key=lambda u: (u.name.casefold(), u.id))
    total = Counts()
    by_batch: dict[int, Counts] = {}
    for head in heads:
        total.add(totals.get((head, batch), Counts()))
        for (unit_id, b), counts in totals.items():
            if unit_id == head and (batch == ALL_BATCHES or b == batch):
                by_batch.setdefault(b, Counts()).add(counts)
    return Overview(viewed, total, rows, _batch_rows(session, by_batch), as_of)


def _check_unit(scope: Scope, unit: OrgUnit | None) -> None:
    if unit is not None and not scope.covers_unit(unit):
        raise NotFound(N_("This unit does not exist or is outside the units you manage."))


def overview(
    session: Session,
    scope: Scope,
    filters: Filters,
    unit: OrgUnit | None = None,
    now: datetime | None = None,
) -> Overview:
    """Figures computed now, from the learners' rows (the periodic report, the tests)."""
    _check_unit(scope, unit)
    now = now or utcnow()
    units = _units_in_view(session, scope, unit)
    totals = _roll_up(units, grouped_counts(session, scope, filters, unit, now))
    return _assemble(session, units, totals, unit, ALL_BATCHES, now)


# --- the dashboard's snapshot ---------------------------------------------------------------


def latest_snapshot(session: Session, course_id: int) -> ReportSnapshot | None:
    """The newest complete snapshot of a course's figures."""
    return session.scalar(
        select(ReportSnapshot)
        .where(ReportSnapshot.course_id == course_id, ReportSnapshot.completed_at.is_not(None))
        .order_by(ReportSnapshot.completed_at.desc(), ReportSnapshot.id.desc())
        .limit(1)
    )


def refresh(
    session: Session, course_id: int, timezone: str = DEFAULT_TIMEZONE, now: datetime | None = None
) -> ReportSnapshot:
    """Count every learner of the course now and store the rolled-up figures. The snapshot
    before it is kept (a page may be reading it right now); older ones are deleted."""
    now = now or utcnow()
    everything = Scope(everything=True, paths=())
    snapshot = ReportSnapshot(course_id=course_id, started_at=now)
    session.add(snapshot)
    session.flush()
    units = _units_in_view(session, everything, None)
    totals = _roll_up(units, grouped_counts(session, everything, Filters(course_id), None, now))
    rows = []
    for unit_id in units:  # every unit gets an all-batches row, empty units too
        totals.setdefault((unit_id, ALL_BATCHES), Counts())
    for (unit_id, batch), counts in totals.items():
        rows.append(
            {"snapshot_id": snapshot.id, "org_unit_id": unit_id, "batch": batch, **counts.as_dict()}
        )
    _insert_rows(session, ReportFigure, rows)
    daily = _daily_counts(session, course_id, timezone)
    day_totals: dict[tuple[int, date], int] = {}
    for unit_id, day, count in daily:
        figures = units.get(unit_id)
        if figures is None:
            continue
        for ancestor in _ancestors(figures.path):
            if ancestor in units:
                day_totals[(ancestor, day)] = day_totals.get((ancestor, day), 0) + count
    _insert_rows(
        session,
        ReportDaily,
        [
            {"snapshot_id": snapshot.id, "org_unit_id": u, "day": d, "completed": n}
            for (u, d), n in day_totals.items()
        ],
    )
    snapshot.completed_at = utcnow()
    session.flush()
    older = session.scalars(
        select(ReportSnapshot.id)
        .where(
            ReportSnapshot.course_id == course_id,
            ReportSnapshot.id != snapshot.id,
            ReportSnapshot.started_at <= snapshot.started_at,
        )
        .order_by(ReportSnapshot.started_at.desc(), ReportSnapshot.id.desc())
    ).all()
    old_ids = older[1:]
    if old_ids:
        session.execute(delete(ReportFigure).where(ReportFigure.snapshot_id.in_(old_ids)))
        session.execute(delete(ReportDaily).where(ReportDaily.snapshot_id.in_(old_ids)))
        session.execute(delete(ReportSnapshot).where(ReportSnapshot.id.in_(old_ids)))
    session.flush()
    return snapshot


def _insert_rows(session: Session, model, rows: list[dict]) -> None:
    for start in range(0, len(rows), 5000):
        session.execute(insert(model), rows[start : start + 5000])


def _daily_counts(session: Session, course_id: int, timezone: str) -> list[tuple[int, date, int]]:
    day = _local_day(session, Enrolment.completed_at, timezone)
    stmt = (
        select(User.org_unit_id, day, func.count())
        .join(User, Enrolment.user_id == User.id)
        .where(
            Enrolment.course_id == course_id,
            Enrolment.completed_at.is_not(None),
            User.org_unit_id.is_not(None),
            User.id.in_(learner_ids()),
        )
        .group_by(User.org_unit_id, day)
    )
    return [(u, _as_date(d), int(n)) for u, d, n in session.execute(stmt)]


def _as_date(value) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def dashboard(
    session: Session,
    scope: Scope,
    snapshot: ReportSnapshot,
    unit: OrgUnit | None = None,
    batch: int | None = None,
) -> Overview:
    """The snapshot's figures for a subtree (or the scope): a handful of indexed rows."""
    _check_unit(scope, unit)
    units = _units_in_view(session, scope, unit)
    if unit is not None:
        heads = [unit.id] + [u.id for u in units.values() if u.parent_id == unit.id]
    else:
        roots = [u.id for u in units.values() if u.parent_id not in units]
        heads = roots
    wanted = ALL_BATCHES if batch is None else batch
    totals: dict[tuple[int, int], Counts] = {}
    for start in range(0, len(heads), 900):
        stmt = select(ReportFigure).where(
            ReportFigure.snapshot_id == snapshot.id,
            ReportFigure.org_unit_id.in_(heads[start : start + 900]),
        )
        for row in session.scalars(stmt):
            totals[(row.org_unit_id, row.batch)] = Counts(*(getattr(row, name) for name in FIGURES))
    return _assemble(session, units, totals, unit, wanted, snapshot.completed_at)


def daily_from_snapshot(
    session: Session,
    scope: Scope,
    snapshot: ReportSnapshot,
    period: Period,
    unit: OrgUnit | None = None,
) -> list[tuple[date, int]]:
    """Completions per day of the period for a subtree (or the scope's roots)."""
    _check_unit(scope, unit)
    if unit is not None:
        heads = [unit.id]
    else:
        units = _units_in_view(session, scope, None)
        heads = [u.id for u in units.values() if u.parent_id not in units]
    found: dict[date, int] = {}
    stmt = (
        select(ReportDaily.day, func.sum(ReportDaily.completed))
        .where(
            ReportDaily.snapshot_id == snapshot.id,
            ReportDaily.org_unit_id.in_(heads),
            ReportDaily.day >= period.start,
            ReportDaily.day <= period.end,
        )
        .group_by(ReportDaily.day)
    )
    for day, count in session.execute(stmt):
        found[_as_date(day)] = int(count)
    return [
        (period.start + timedelta(days=n), found.get(period.start + timedelta(days=n), 0))
        for n in range(period.days)
    ]


def _local_day(session: Session, column, timezone: str):
    """The local date of a UTC timestamp column, in SQL."""
    if session.get_bind().dialect.name == "postgresql":
        return cast(func.timezone(timezone, column), Date)
    # SQLite stores naive UTC text; Vietnam keeps one offset all year (no summer time).
    offset = datetime.now(ZoneInfo(timezone)).utcoffset() or timedelta(0)
    return func.date(column, f"{int(offset.total_seconds() // 60):+d} minutes")


def _local_midnight(day: date, timezone: str) -> datetime:
    return datetime.combine(day, datetime.min.time(), tzinfo=ZoneInfo(timezone)).astimezone(UTC)


def completions_per_day(
    session: Session,
    scope: Scope,
    filters: Filters,
    period: Period,
    unit: OrgUnit | None = None,
    timezone: str = DEFAULT_TIMEZONE,
) -> list[tuple[date, int]]:
    """Completions of the course by the subtree's learners on each day of the period."""
    day = _local_day(session, Enrolment.completed_at, timezone)
    stmt = (
        select(day, func.count())
        .join(User, Enrolment.user_id == User.id)
        .join(OrgUnit, User.org_unit_id == OrgUnit.id)
        .where(
            Enrolment.course_id == filters.course_id,
            Enrolment.completed_at >= _local_midnight(period.start, timezone),
            Enrolment.completed_at < _local_midnight(period.end + timedelta(days=1), timezone),
            User.id.in_(learner_ids()),
            _subtree_filter(scope, unit),
        )
        .group_by(day)
    )
    stmt = _learner_filters(stmt, filters)
    found: dict[date, int] = {}
    for value, count in session.execute(stmt):
        key = _as_date(value)
        found[key] = found.get(key, 0) + int(count)
    return [
        (period.start + timedelta(days=n), found.get(period.start + timedelta(days=n), 0))
        for n in range(period.days)
    ]


def courses_in_use(session: Session) -> list[Course]:
    """Published courses, most enrolled first (the dashboard's default is the first)."""
    enrolled = (
        select(Enrolment.course_id, func.count().label("n"))
        .group_by(Enrolment.course_id)
        .subquery()
    )
    return list(
        session.scalars(
            select(Course)
            .outerjoin(enrolled, enrolled.c.course_id == Course.id)
            .where(Course.current_version_id.is_not(None))
            .order_by(func.coalesce(enrolled.c.n, 0).desc(), Course.title)
        )
    )


# --- learner lists -------------------------------------------------------------------------

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
    stmt = select(User).outerjoin(OrgUnit, User.org_unit_id == OrgUnit.id)
    if not scope.everything:
        stmt = stmt.where(scope.user_filter())
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
        stmt = stmt.where(OrgUnit.path.startswith(unit.path, autoescape=True))
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


__all__ = [
    "Counts",
    "Filters",
    "LearnerFilter",
    "Overview",
    "Period",
    "check_period",
    "completions_per_day",
    "grouped_counts",
    "half_year",
    "learner_query",
    "refresh",
    "dashboard",
    "daily_from_snapshot",
    "overview",
    "states_of",
]


# --- periodic reports -------------------------------------------------------------------------


def report_data(
    session: Session,
    actor: User,
    *,
    course: Course,
    unit: OrgUnit | None,
    kind: str,
    period: Period,
    site_name: str,
    timezone: str = DEFAULT_TIMEZONE,
    now: datetime | None = None,
) -> dict:
    """The figures of a periodic report, counted now, as plain JSON-able values: the
    accounts issued in the period in the unit's subtree, by child unit, batch and day."""
    scope = Scope.of(actor)
    if unit is None and not scope.everything:
        raise NotFound(N_("This unit does not exist or is outside the units you manage."))
    now = now or utcnow()
    filters = Filters(course.id, issued_from=period.start, issued_to=period.end)
    view = overview(session, scope, filters, unit, now)
    days = completions_per_day(session, scope, filters, period, unit, timezone)
    return {
        "unit": unit.name if unit else site_name,
        "unit_id": unit.id if unit else None,
        "course": course.title,
        "kind": kind,
        "start": period.start.isoformat(),
        "end": period.end.isoformat(),
        "as_of": now.isoformat(),
        "issued_by": actor.full_name,
        "total": view.total.as_dict(),
        "rows": [{"name": r.name, "code": r.code, "counts": r.total.as_dict()} for r in view.rows],
        "batches": [{"name": b.name, "counts": b.counts.as_dict()} for b in view.batches],
        "days": [[d.isoformat(), n] for d, n in days],
    }


def reports_of(session: Session, scope: Scope) -> Select:
    """Issued reports the scope may see: those on its units (site-wide ones: site admins)."""
    stmt = select(Report).outerjoin(OrgUnit, Report.org_unit_id == OrgUnit.id)
    if not scope.everything:
        stmt = stmt.where(Report.org_unit_id.is_not(None), scope.unit_filter())
    return stmt.order_by(Report.created_at.desc(), Report.id.desc())
