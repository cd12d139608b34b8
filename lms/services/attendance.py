"""The attendance rule of in-person classes, kept apart from the rest of the classes service
so that deadlines (completion) and assessment (when the test opens) can consult it without
importing the classes service, which enrols learners through the catalog."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from lms.models import Attendance, AttendanceStatus, ClassMember, ClassSession, TrainingClass

ATTENDED = (AttendanceStatus.PRESENT, AttendanceStatus.LATE)


def rate(statuses: Iterable[AttendanceStatus], sessions: int) -> tuple[int, int, float]:
    """(sessions attended, sessions counted, percent): present or late count as attended; a
    session the learner was excused from is not counted."""
    statuses = list(statuses)
    attended = sum(1 for s in statuses if s in ATTENDED)
    counted = sessions - sum(1 for s in statuses if s == AttendanceStatus.EXCUSED)
    return attended, counted, (100.0 * attended / counted if counted else 0.0)


def meets(percent: float, counted: int, required: int) -> bool:
    """Whether an attendance rate meets a class's rule."""
    return counted > 0 and percent >= required


def attended_class(session: Session, user_id: int, course_id: int) -> TrainingClass | None:
    """The class of this course in which the learner met the attendance rule, if any: its
    sessions replace the online lessons (the final test is still required)."""
    for training_class in session.scalars(
        select(TrainingClass)
        .join(ClassMember, ClassMember.class_id == TrainingClass.id)
        .where(ClassMember.user_id == user_id, TrainingClass.course_id == course_id)
    ):
        sessions = session.scalar(
            select(func.count())
            .select_from(ClassSession)
            .where(ClassSession.class_id == training_class.id)
        )
        statuses = session.scalars(
            select(Attendance.status)
            .join(ClassSession, Attendance.session_id == ClassSession.id)
            .where(ClassSession.class_id == training_class.id, Attendance.user_id == user_id)
        ).all()
        _, counted, percent = rate(statuses, sessions)
        if meets(percent, counted, training_class.min_attendance):
            return training_class
    return None
