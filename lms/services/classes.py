"""In-person classes: setting a class up (course, unit, sessions, trainers, roster), taking
attendance (a trainer's marks, possibly sent late from a phone's queue, or a learner's own
check-in with the session's short-lived code) and the class's attendance rule.

A unit admin manages the classes of the units in their scope; a trainer sees the classes they
are named trainer of, and only those: every function that serves a trainer takes the trainer
and refuses a class that is not theirs.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from lms.models import (
    Attendance,
    AttendanceStatus,
    ClassMember,
    ClassSession,
    Course,
    Enrolment,
    OrgUnit,
    Role,
    RoleAssignment,
    TestAttempt,
    TrainingClass,
    User,
    utcnow,
)
from lms.models.classes import class_trainer
from lms.services import assessment, attendance, audit, catalog, deadlines, organisation
from lms.services.errors import N_, DomainError, Forbidden, NotFound
from lms.services.scope import Scope

LONGEST_SESSION = timedelta(hours=12)


def save_class(
    session: Session,
    scope: Scope,
    actor: User,
    *,
    name: str,
    course: Course,
    unit: OrgUnit,
    capacity: int | None = None,
    min_attendance: int = 80,
    due_on: date | None = None,
    training_class: TrainingClass | None = None,
    now: datetime | None = None,
) -> TrainingClass:
    """Create a class (or change one) of `course` held by `unit`, which must be in scope. With
    `due_on`, the class's learners have until that day when it is later than their usual
    deadline (an extension naming the class)."""
    name = " ".join((name or "").split())
    if not name:
        raise DomainError(N_("Give the class a name."), field="name")
    if len(name) > 200:
        raise DomainError(N_("A class name has at most 200 characters."), field="name")
    if not scope.covers_unit(unit):
        raise Forbidden(N_("You do not manage this unit."), field="unit")
    if training_class is not None and not scope.covers_unit(training_class.org_unit):
        raise NotFound(N_("This class does not exist."))
    if course.current_version_id is None:
        raise DomainError(
            N_("The course %(title)s has no published version."), field="course", title=course.title
        )
    if capacity is not None and not 1 <= capacity <= 10000:
        raise DomainError(N_("The capacity is a number from 1 to 10,000."), field="capacity")
    now = now or utcnow()
    changed_due = due_on != (training_class.due_on if training_class else None)
    if due_on is not None and changed_due and due_on < deadlines.local_today(now):
        raise DomainError(N_("The class's deadline cannot be in the past."), field="due_on")
    if not 0 <= min_attendance <= 100:
        raise DomainError(
            N_("The attendance required is a percentage from 0 to 100."), field="min_attendance"
        )
    clash = session.scalar(
        select(TrainingClass.id).where(
            TrainingClass.org_unit_id == unit.id,
            func.lower(TrainingClass.name) == name.lower(),
            TrainingClass.id != (training_class.id if training_class else -1),
        )
    )
    if clash is not None:
        raise DomainError(
            N_("%(unit)s already has a class named %(name)s."),
            field="name",
            unit=unit.name,
            name=name,
        )
    if training_class is None:
        training_class = TrainingClass(name=name, course=course, org_unit=unit)
        session.add(training_class)
        action = "class.create"
    else:
        if training_class.course_id != course.id and _member_count(session, training_class):
            raise DomainError(
                N_("The course of a class with learners cannot change; make a new class."),
                field="course",
            )
        action = "class.update"
    training_class.name = name
    training_class.course = course
    training_class.org_unit = unit
    training_class.capacity = capacity
    training_class.min_attendance = min_attendance
    training_class.due_on = due_on
    session.flush()
    if capacity is not None and _member_count(session, training_class) > capacity:
        raise DomainError(
            N_("The class already has more learners than %(capacity)s."),
            field="capacity",
            capacity=capacity,
        )
    audit.record(session, actor, action, training_class, course=course.title)
    _apply_deadline(session, actor, training_class, None, now)
    return training_class


def _apply_deadline(
    session: Session,
    actor: User,
    training_class: TrainingClass,
    user_ids: Iterable[int] | None,
    now: datetime,
) -> int:
    """Give the class's learners (or those of `user_ids`) until its due day where that is
    later than their deadline now; returns how many were extended."""
    if training_class.due_on is None:
        return 0
    members = select(ClassMember.user_id).where(ClassMember.class_id == training_class.id)
    if user_ids is not None:
        members = members.where(ClassMember.user_id.in_(list(user_ids)))
    later = [
        e
        for e in session.scalars(
            select(Enrolment).where(
                Enrolment.course_id == training_class.course_id,
                Enrolment.user_id.in_(members),
                Enrolment.completed_at.is_(None),
            )
        )
        if e.due_at is None or deadlines.due_day(e.due_at) < training_class.due_on
    ]
    if not later:
        return 0
    return deadlines.extend(
        session,
        actor,
        later,
        reason=f"Lớp trực tiếp: {training_class.name}",
        until=training_class.due_on,
        now=now,
    )


def add_session(
    session: Session,
    training_class: TrainingClass,
    starts_at: datetime,
    ends_at: datetime,
    place: str = "",
) -> ClassSession:
    """Add a meeting to the class (times are aware datetimes)."""
    if ends_at <= starts_at:
        raise DomainError(N_("A session ends after it starts."), field="ends_at")
    if ends_at - starts_at > LONGEST_SESSION:
        raise DomainError(N_("A session lasts at most 12 hours."), field="ends_at")
    place = " ".join((place or "").split())[:300]
    meeting = ClassSession(
        training_class=training_class, starts_at=starts_at, ends_at=ends_at, place=place
    )
    session.add(meeting)
    session.flush()
    return meeting


def delete_session(session: Session, meeting: ClassSession) -> None:
    """Remove a session nobody was marked at yet (a mistake in the plan)."""
    marked = session.scalar(
        select(func.count()).select_from(Attendance).where(Attendance.session_id == meeting.id)
    )
    if marked:
        raise DomainError(N_("Attendance was already taken at this session: it cannot be removed."))
    session.delete(meeting)
    session.flush()


def set_trainers(
    session: Session,
    scope: Scope,
    actor: User,
    training_class: TrainingClass,
    users: Sequence[User],
) -> None:
    """Name the class's trainers (accounts the admin manages); each gets the trainer role."""
    for user in users:
        if not scope.can_manage_user(user):
            raise Forbidden(
                N_("You do not manage the account %(username)s."), username=user.username
            )
        if not user.has_role(Role.TRAINER):
            session.add(RoleAssignment(user=user, role=Role.TRAINER))
    training_class.trainers = list(users)
    session.flush()
    audit.record(
        session, actor, "class.trainers", training_class, trainers=[u.username for u in users]
    )


def _member_count(session: Session, training_class: TrainingClass) -> int:
    return session.scalar(
        select(func.count())
        .select_from(ClassMember)
        .where(ClassMember.class_id == training_class.id)
    )


def add_members(
    session: Session,
    scope: Scope,
    actor: User,
    training_class: TrainingClass,
    users: Iterable[User],
) -> int:
    """Put learners on the roster and enrol them in the class's course; returns how many were
    added (learners already on it are skipped). Refused as a whole past the capacity."""
    present = set(
        session.scalars(
            select(ClassMember.user_id).where(ClassMember.class_id == training_class.id)
        )
    )
    new = []
    for user in users:
        if not scope.can_manage_user(user):
            raise Forbidden(
                N_("You do not manage the account %(username)s."), username=user.username
            )
        if user.id not in present and user not in new:
            new.append(user)
    if training_class.capacity is not None and len(present) + len(new) > training_class.capacity:
        raise DomainError(
            N_(
                "The class takes %(capacity)s learners: %(present)s are on the roster, "
                "%(new)s more do not fit."
            ),
            capacity=training_class.capacity,
            present=len(present),
            new=len(new),
        )
    for user in new:
        session.add(ClassMember(class_id=training_class.id, user_id=user.id))
        catalog.enrol(session, user, training_class.course)
    session.flush()
    if new:
        audit.record(session, actor, "class.members", training_class, added=len(new))
        _apply_deadline(session, actor, training_class, [u.id for u in new], utcnow())
    return len(new)


def members(session: Session, training_class: TrainingClass) -> list[User]:
    """The roster in Vietnamese name order."""
    return list(
        session.scalars(
            select(User)
            .join(ClassMember, ClassMember.user_id == User.id)
            .where(ClassMember.class_id == training_class.id)
            .order_by(User.sort_name, User.id)
        )
    )


def trainer_classes(session: Session, trainer: User) -> list[TrainingClass]:
    """The classes `trainer` is named trainer of."""
    return list(
        session.scalars(
            select(TrainingClass)
            .join(class_trainer, class_trainer.c.class_id == TrainingClass.id)
            .where(class_trainer.c.user_id == trainer.id)
            .order_by(TrainingClass.name)
        )
    )


def trainer_class(session: Session, trainer: User, class_id: int) -> TrainingClass:
    """One of the trainer's classes; NotFound for any other."""
    found = session.scalar(
        select(TrainingClass)
        .join(class_trainer, class_trainer.c.class_id == TrainingClass.id)
        .where(TrainingClass.id == class_id, class_trainer.c.user_id == trainer.id)
    )
    if found is None:
        raise NotFound(N_("This class does not exist."))
    return found


def enter_paper_score(
    session: Session,
    trainer: User,
    training_class: TrainingClass,
    learner_id: int,
    score: float,
    note: str,
    now: datetime,
):
    """A trainer enters the score of a final test a learner of their class took on paper."""
    member = session.get(ClassMember, (training_class.id, learner_id))
    enrolment = session.scalar(
        select(Enrolment).where(
            Enrolment.user_id == learner_id, Enrolment.course_id == training_class.course_id
        )
    )
    if member is None or enrolment is None:
        raise NotFound(N_("This learner is not on the class's roster."))
    test = next((a for a in enrolment.version.activities if a.kind == "test"), None)
    if test is None:
        raise DomainError(N_("The course of this class has no final test."))
    return assessment.record_paper_score(session, trainer, enrolment, test, score, note, now)


def passed_test(session: Session, training_class: TrainingClass) -> set[int]:
    """The roster learners who passed the course's final test (online or on paper)."""
    return set(
        session.scalars(
            select(Enrolment.user_id)
            .join(ClassMember, ClassMember.user_id == Enrolment.user_id)
            .join(TestAttempt, TestAttempt.enrolment_id == Enrolment.id)
            .where(
                ClassMember.class_id == training_class.id,
                Enrolment.course_id == training_class.course_id,
                TestAttempt.passed.is_(True),
            )
        )
    )


def trainer_session(session: Session, trainer: User, session_id: int) -> ClassSession:
    """A session of one of the trainer's classes; NotFound for any other (nothing leaks)."""
    meeting = session.scalar(
        select(ClassSession)
        .join(class_trainer, class_trainer.c.class_id == ClassSession.class_id)
        .where(ClassSession.id == session_id, class_trainer.c.user_id == trainer.id)
    )
    if meeting is None:
        raise NotFound(N_("This session does not exist."))
    return meeting


@dataclass(frozen=True)
class MemberAttendance:
    """A learner's attendance in a class: sessions attended (present or late), excused, and
    whether the class's rule is met so far."""

    user: User
    attended: int
    excused: int
    counted: int  # sessions that count: all of the class's, less the excused ones
    percent: float
    meets_rule: bool


def attendance_of(session: Session, training_class: TrainingClass) -> list[MemberAttendance]:
    """Each roster learner's attendance against the class's rule (min_attendance percent of
    the class's sessions; a session the learner was excused from is not counted)."""
    total = len(training_class.sessions)
    ids = [s.id for s in training_class.sessions]
    marks: dict[int, list[AttendanceStatus]] = {}
    if ids:
        for user_id, status in session.execute(
            select(Attendance.user_id, Attendance.status).where(Attendance.session_id.in_(ids))
        ):
            marks.setdefault(user_id, []).append(status)
    result = []
    for user in members(session, training_class):
        statuses = marks.get(user.id, [])
        attended, counted, percent = attendance.rate(statuses, total)
        result.append(
            MemberAttendance(
                user=user,
                attended=attended,
                excused=sum(1 for s in statuses if s == AttendanceStatus.EXCUSED),
                counted=counted,
                percent=percent,
                meets_rule=attendance.meets(percent, counted, training_class.min_attendance),
            )
        )
    return result


def marks_of(
    session: Session, training_class: TrainingClass
) -> dict[int, dict[int, AttendanceStatus]]:
    """{learner id: {session id: status}} for the class's sessions (the sheet and export)."""
    ids = [s.id for s in training_class.sessions]
    marks: dict[int, dict[int, AttendanceStatus]] = {}
    if ids:
        for session_id, user_id, status in session.execute(
            select(Attendance.session_id, Attendance.user_id, Attendance.status).where(
                Attendance.session_id.in_(ids)
            )
        ):
            marks.setdefault(user_id, {})[session_id] = status
    return marks


def attendance_sheet_pdf(
    session: Session, training_class: TrainingClass, default_organisation: str, now: datetime
) -> bytes:
    """The printable attendance sheet of the class (marks as letters, a signature column)."""
    from lms.app.i18n import format_number
    from lms.documents import attendance_sheet

    legend = attendance_sheet.marks_legend()
    marks = marks_of(session, training_class)
    rows = [
        attendance_sheet.SheetRow(
            full_name=row.user.full_name,
            username=row.user.username,
            unit=row.user.org_unit.name if row.user.org_unit else "",
            marks=tuple(
                legend[m.value] if (m := marks.get(row.user.id, {}).get(s.id)) else ""
                for s in training_class.sessions
            ),
            attended=f"{row.attended}/{row.counted} ({format_number(row.percent)}%)",
        )
        for row in attendance_of(session, training_class)
    ]
    stored = organisation.stored(session)
    return attendance_sheet.render(
        organisation=organisation.issuer_for(session, training_class.org_unit)
        or (stored.organisation if stored else "")
        or default_organisation,
        unit=training_class.org_unit.name,
        class_name=training_class.name,
        course_title=training_class.course.title,
        sessions=[(s.starts_at, s.ends_at, s.place) for s in training_class.sessions],
        rows=rows,
        printed_at=now,
    )
