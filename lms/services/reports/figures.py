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
from datetime import date, datetime, timedelta

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
    ALL_BATCHES,
    NO_BATCH,
    Certificate,
    Cohort,
    Enrolment,
    OrgUnit,
    Role,
    RoleAssignment,
    TestAttempt,
    User,
    utcnow,
)
from lms.services.errors import N_, DomainError, NotFound
from lms.services.scope import Scope

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


def subtree_filter(scope: Scope, unit: OrgUnit | None):
    if unit is not None:
        return and_(OrgUnit.path.startswith(unit.path, autoescape=True), scope.unit_filter())
    return scope.unit_filter()


def learner_filters(stmt: Select, filters: Filters) -> Select:
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
        .where(User.id.in_(learner_ids()), subtree_filter(scope, unit))
        .group_by(User.org_unit_id, User.cohort_id)
    )
    stmt = learner_filters(stmt, filters)
    return [
        (unit_id, cohort_id, Counts(*(int(v or 0) for v in values)))
        for unit_id, cohort_id, *values in session.execute(stmt)
    ]


def units_in_view(session: Session, scope: Scope, unit: OrgUnit | None) -> dict[int, UnitFigures]:
    stmt = select(
        OrgUnit.id, OrgUnit.parent_id, OrgUnit.name, OrgUnit.code, OrgUnit.path, OrgUnit.depth
    ).where(subtree_filter(scope, unit))
    units = {row.id: UnitFigures(*row) for row in session.execute(stmt)}
    for figures in units.values():
        parent = units.get(figures.parent_id) if figures.parent_id else None
        if parent is not None:
            parent.child_count += 1
    return units


def rows_in_view(session: Session, scope: Scope, unit: OrgUnit | None) -> dict[int, UnitFigures]:
    """The viewed unit and the rows shown under it (its children, or the scope's top units),
    each with its number of children: what a page reading the snapshot needs, without the
    whole subtree (2,000 units for a province, read three times a dashboard)."""
    if unit is not None:
        where = or_(OrgUnit.id == unit.id, OrgUnit.parent_id == unit.id)
    elif scope.everything:
        where = OrgUnit.parent_id.is_(None)
    else:  # the roots of the admin's subtrees (one inside another is no row: assemble())
        where = OrgUnit.path.in_(scope.paths)
    stmt = select(
        OrgUnit.id, OrgUnit.parent_id, OrgUnit.name, OrgUnit.code, OrgUnit.path, OrgUnit.depth
    ).where(where, scope.unit_filter())
    units = {row.id: UnitFigures(*row) for row in session.execute(stmt)}
    children = select(OrgUnit.parent_id, func.count()).group_by(OrgUnit.parent_id)
    for start in range(0, len(units), 900):  # SQLite's parameter limit
        ids = list(units)[start : start + 900]
        for parent_id, count in session.execute(children.where(OrgUnit.parent_id.in_(ids))):
            units[parent_id].child_count = count
    return units


def ancestors(path: str) -> list[int]:
    return [int(raw) for raw in path.strip("/").split("/")]


def roll_up_counts(
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
        for ancestor in ancestors(figures.path):
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


def assemble(
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


def check_unit(scope: Scope, unit: OrgUnit | None) -> None:
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
    check_unit(scope, unit)
    now = now or utcnow()
    units = units_in_view(session, scope, unit)
    totals = roll_up_counts(units, grouped_counts(session, scope, filters, unit, now))
    return assemble(session, units, totals, unit, ALL_BATCHES, now)
