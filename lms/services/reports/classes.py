"""Figures of the in-person classes of a course, by unit: classes held, sessions held,
learners on their rosters, the attendance rate and the completions of learners who met their
class's attendance rule. Counted live (classes are few: hundreds, not tens of thousands)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from lms.models import (
    Attendance,
    AttendanceStatus,
    ClassMember,
    ClassSession,
    Enrolment,
    OrgUnit,
    TrainingClass,
)
from lms.services import attendance
from lms.services.clock import DEFAULT_TIMEZONE
from lms.services.deadlines import local_today
from lms.services.reports.figures import Period, ancestors, rows_in_view, subtree_filter
from lms.services.scope import Scope


@dataclass
class ClassCounts:
    """In-person figures of a unit's subtree. `attended` of `counted` learner-sessions (a
    roster learner at a held session, excused ones left out) gives the attendance rate."""

    classes: int = 0
    sessions: int = 0
    learners: int = 0
    attended: int = 0
    counted: int = 0
    completed: int = 0

    def add(self, other: ClassCounts) -> None:
        for name, value in asdict(other).items():
            setattr(self, name, getattr(self, name) + value)

    @property
    def rate(self) -> float | None:
        """Attendance rate (0..1), None when no session was held."""
        return self.attended / self.counted if self.counted else None

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


@dataclass
class ClassRow:
    """A unit of the view with the figures of its subtree."""

    id: int
    code: str
    name: str
    counts: ClassCounts = field(default_factory=ClassCounts)


def _in_period(moment: datetime | None, period: Period | None, timezone: str) -> bool:
    if moment is None:
        return False
    if period is None:
        return True
    return period.start <= local_today(moment, timezone) <= period.end


def class_figures(
    session: Session,
    scope: Scope,
    course_id: int,
    unit: OrgUnit | None,
    now: datetime,
    period: Period | None = None,
    timezone: str = DEFAULT_TIMEZONE,
) -> tuple[ClassCounts, list[ClassRow]]:
    """The subtree's totals and one row per unit of the view (the viewed unit's children, or
    the scope's top units). Sessions count once held (started before `now`) and, with a
    period, when held in it; completions when recorded in it."""
    units = rows_in_view(session, scope, unit)
    if unit is not None:
        row_ids = [u.id for u in units.values() if u.parent_id == unit.id]
    else:
        row_ids = [u.id for u in units.values() if u.parent_id not in units]
    rows = {i: ClassRow(i, units[i].code, units[i].name) for i in row_ids}
    total = ClassCounts()
    found = session.scalars(
        select(TrainingClass)
        .join(OrgUnit, TrainingClass.org_unit_id == OrgUnit.id)
        .where(TrainingClass.course_id == course_id, subtree_filter(scope, unit))
    ).all()
    for training_class in found:
        counts = _one_class(session, training_class, now, period, timezone)
        total.add(counts)
        for ancestor in ancestors(training_class.org_unit.path):
            if ancestor in rows:
                rows[ancestor].counts.add(counts)
    ordered = sorted(rows.values(), key=lambda r: (r.name, r.id))
    return total, ordered


def _one_class(
    session: Session,
    training_class: TrainingClass,
    now: datetime,
    period: Period | None,
    timezone: str,
) -> ClassCounts:
    every_session = session.scalars(
        select(ClassSession).where(ClassSession.class_id == training_class.id)
    ).all()
    held = [
        s.id
        for s in every_session
        if s.starts_at <= now and _in_period(s.starts_at, period, timezone)
    ]
    members = session.scalars(
        select(ClassMember.user_id).where(ClassMember.class_id == training_class.id)
    ).all()
    marks: dict[int, dict[int, AttendanceStatus]] = {}
    if every_session:
        for session_id, user_id, status in session.execute(
            select(Attendance.session_id, Attendance.user_id, Attendance.status).where(
                Attendance.session_id.in_([s.id for s in every_session])
            )
        ):
            marks.setdefault(user_id, {})[session_id] = status
    counts = ClassCounts(classes=1 if held else 0, sessions=len(held), learners=len(members))
    for user_id in members:
        mine = marks.get(user_id, {})
        in_held = [mine[s] for s in held if s in mine]
        counts.attended += sum(1 for s in in_held if s in attendance.ATTENDED)
        counts.counted += len(held) - sum(1 for s in in_held if s == AttendanceStatus.EXCUSED)
    completed = (
        dict(
            session.execute(
                select(Enrolment.user_id, Enrolment.completed_at).where(
                    Enrolment.course_id == training_class.course_id,
                    Enrolment.user_id.in_(members),
                    Enrolment.completed_at.is_not(None),
                )
            ).all()
        )
        if members
        else {}
    )
    for user_id, completed_at in completed.items():
        _, counted, percent = attendance.rate(marks.get(user_id, {}).values(), len(every_session))
        if attendance.meets(percent, counted, training_class.min_attendance) and _in_period(
            completed_at, period, timezone
        ):
            counts.completed += 1
    return counts
