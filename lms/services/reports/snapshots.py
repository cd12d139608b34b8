"""The dashboard's snapshot: the figures counted in the background (the page shows when),
and completions per day."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import (
    Date,
    cast,
    delete,
    func,
    insert,
    select,
)
from sqlalchemy.orm import Session

from lms.models import (
    ALL_BATCHES,
    Course,
    Enrolment,
    OrgUnit,
    ReportDaily,
    ReportFigure,
    ReportSnapshot,
    User,
    utcnow,
)
from lms.services.clock import DEFAULT_TIMEZONE
from lms.services.reports.figures import (
    FIGURES,
    Counts,
    Filters,
    Overview,
    Period,
    ancestors,
    assemble,
    check_unit,
    grouped_counts,
    learner_filters,
    learner_ids,
    roll_up_counts,
    rows_in_view,
    subtree_filter,
    units_in_view,
)
from lms.services.scope import Scope


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
    units = units_in_view(session, everything, None)
    counted = grouped_counts(session, everything, Filters(course_id), None, now)
    totals = roll_up_counts(units, counted)
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
        for ancestor in ancestors(figures.path):
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
    check_unit(scope, unit)
    units = rows_in_view(session, scope, unit)
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
    return assemble(session, units, totals, unit, wanted, snapshot.completed_at)


def daily_from_snapshot(
    session: Session,
    scope: Scope,
    snapshot: ReportSnapshot,
    period: Period,
    unit: OrgUnit | None = None,
) -> list[tuple[date, int]]:
    """Completions per day of the period for a subtree (or the scope's roots)."""
    check_unit(scope, unit)
    if unit is not None:
        heads = [unit.id]
    else:
        units = rows_in_view(session, scope, None)
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
            subtree_filter(scope, unit),
        )
        .group_by(day)
    )
    stmt = learner_filters(stmt, filters)
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
