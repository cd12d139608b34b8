"""In-person classes of a blended campaign: a class of a course held by a unit, its sessions,
its trainers and learners, and who attended each session."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import Column, Date, ForeignKey, Integer, String, Table, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lms.app.database import UTCDateTime, str_enum, utcnow
from lms.app.extensions import db
from lms.models.accounts import OrgUnit, User
from lms.models.catalog import Course


class AttendanceStatus(enum.StrEnum):
    """What a trainer (or the learner's own check-in) recorded for one learner at one session."""

    PRESENT = "present"
    LATE = "late"
    ABSENT = "absent"
    EXCUSED = "excused"


class_trainer = Table(
    "class_trainer",
    db.metadata,
    Column("class_id", ForeignKey("training_class.id", ondelete="CASCADE"), primary_key=True),
    Column("user_id", ForeignKey("user_account.id", ondelete="CASCADE"), primary_key=True),
)


class TrainingClass(db.Model):
    """A class ("lớp trực tiếp") of a course, held by a unit: its admins manage it, its
    trainers take attendance, its learners are enrolled in the course."""

    __tablename__ = "training_class"
    __table_args__ = (UniqueConstraint("org_unit_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    course_id: Mapped[int] = mapped_column(ForeignKey("course.id"), index=True)
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)
    capacity: Mapped[int | None] = mapped_column(Integer)
    # The share of sessions (present or late; excused sessions are not counted) a learner
    # must attend, in percent.
    min_attendance: Mapped[int] = mapped_column(Integer, default=80)
    # The class's own deadline: its learners have until the end of this day (local) when that
    # is later than their usual one (recorded as an extension, with the class as the reason).
    due_on: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    course: Mapped[Course] = relationship()
    org_unit: Mapped[OrgUnit] = relationship()
    sessions: Mapped[list[ClassSession]] = relationship(
        back_populates="training_class",
        cascade="all, delete-orphan",
        order_by="ClassSession.starts_at",
    )
    trainers: Mapped[list[User]] = relationship(secondary=class_trainer, order_by=User.sort_name)


class ClassSession(db.Model):
    """One meeting of a class: when and where."""

    __tablename__ = "class_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    class_id: Mapped[int] = mapped_column(
        ForeignKey("training_class.id", ondelete="CASCADE"), index=True
    )
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    place: Mapped[str] = mapped_column(String(300), default="")

    training_class: Mapped[TrainingClass] = relationship(back_populates="sessions")


class ClassMember(db.Model):
    """A learner on a class's roster."""

    __tablename__ = "class_member"

    class_id: Mapped[int] = mapped_column(
        ForeignKey("training_class.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    added_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    user: Mapped[User] = relationship()


class Attendance(db.Model):
    """One learner's attendance at one session. `marked_at` is when the mark was made on the
    trainer's phone (it may arrive later, from an offline queue): the latest mark wins, so
    marks sent twice or out of order leave the same result."""

    __tablename__ = "attendance"

    session_id: Mapped[int] = mapped_column(
        ForeignKey("class_session.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    status: Mapped[AttendanceStatus] = mapped_column(str_enum(AttendanceStatus))
    # "trainer" (the roster) or "code" (the learner checked in with the session's code).
    source: Mapped[str] = mapped_column(String(10))
    marked_at: Mapped[datetime] = mapped_column(UTCDateTime)
    marked_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
