"""Enrolments and the progress of each learner in each activity."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lms.database import UTCDateTime, str_enum, utcnow
from lms.extensions import db
from lms.models.accounts import User
from lms.models.catalog import Activity, Course, CourseVersion


class ProgressStatus(enum.StrEnum):
    """Where a learner is in one activity."""

    NOT_STARTED = "not_started"
    IN_PROGRESS = "in_progress"
    DONE = "done"


class Enrolment(db.Model):
    """A learner in a course, on the version they started."""

    __tablename__ = "enrolment"
    __table_args__ = (UniqueConstraint("user_id", "course_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("course.id"), index=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("course_version.id"), index=True)
    enrolled_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_activity_id: Mapped[int | None] = mapped_column(ForeignKey("activity.id"))

    user: Mapped[User] = relationship()
    course: Mapped[Course] = relationship()
    version: Mapped[CourseVersion] = relationship()
    progress: Mapped[list[ActivityProgress]] = relationship(
        back_populates="enrolment", cascade="all, delete-orphan"
    )


class ActivityProgress(db.Model):
    """One learner's progress in one activity; `data` is the activity kind's own state."""

    __tablename__ = "activity_progress"
    __table_args__ = (UniqueConstraint("enrolment_id", "activity_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    enrolment_id: Mapped[int] = mapped_column(ForeignKey("enrolment.id"), index=True)
    activity_id: Mapped[int] = mapped_column(ForeignKey("activity.id"), index=True)
    status: Mapped[ProgressStatus] = mapped_column(
        str_enum(ProgressStatus), default=ProgressStatus.NOT_STARTED
    )
    first_opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    enrolment: Mapped[Enrolment] = relationship(back_populates="progress")
    activity: Mapped[Activity] = relationship()
