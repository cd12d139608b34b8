"""Enrolments and the progress of each learner in each activity."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lms.app.database import UTCDateTime, str_enum, utcnow
from lms.app.extensions import db
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
    # The effective due time (UTC): 24:00 local of issued_at + N days, or the extension.
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    # An admin's extension: due at 24:00 local of this day (if later than the rule's).
    extended_until: Mapped[date | None] = mapped_column(Date)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    completed_late: Mapped[bool] = mapped_column(Boolean, default=False)

    user: Mapped[User] = relationship()
    course: Mapped[Course] = relationship()
    version: Mapped[CourseVersion] = relationship()
    progress: Mapped[list[ActivityProgress]] = relationship(
        back_populates="enrolment", cascade="all, delete-orphan"
    )
    extensions: Mapped[list[DeadlineExtension]] = relationship(
        back_populates="enrolment",
        cascade="all, delete-orphan",
        order_by="DeadlineExtension.created_at",
    )


class DeadlineExtension(db.Model):
    """One extension of one learner's deadline, with who gave it and why."""

    __tablename__ = "deadline_extension"

    id: Mapped[int] = mapped_column(primary_key=True)
    enrolment_id: Mapped[int] = mapped_column(
        ForeignKey("enrolment.id", ondelete="CASCADE"), index=True
    )
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    old_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    new_due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    reason: Mapped[str] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    enrolment: Mapped[Enrolment] = relationship(back_populates="extensions")
    actor: Mapped[User | None] = relationship()


class ReminderKind(enum.StrEnum):
    """Which reminder."""

    DAYS_LEFT = "days_left"
    NOT_STARTED = "not_started"


class Reminder(db.Model):
    """A reminder sent (or being sent) to one learner about one due time.

    The unique key is the idempotency guarantee: two runs, even on two machines, cannot both
    insert the same reminder, and only the run that inserted it sends it. A changed due time
    is a new key, so reminders follow the new date.
    """

    __tablename__ = "reminder"
    __table_args__ = (UniqueConstraint("enrolment_id", "kind", "days_left", "due_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    enrolment_id: Mapped[int] = mapped_column(
        ForeignKey("enrolment.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[ReminderKind] = mapped_column(str_enum(ReminderKind))
    days_left: Mapped[int] = mapped_column(Integer, default=-1)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    emailed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    email_error: Mapped[str | None] = mapped_column(String(500))
    skipped: Mapped[bool] = mapped_column(Boolean, default=False)


class Notice(db.Model):
    """An in-app message to a learner (reminders, extensions)."""

    __tablename__ = "notice"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    enrolment_id: Mapped[int | None] = mapped_column(ForeignKey("enrolment.id", ondelete="CASCADE"))
    # An English msgid and its parameters, translated when shown.
    message: Mapped[str] = mapped_column(String(300))
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


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


class OfflineAction(db.Model):
    """An action a learner's browser queued while offline (lesson opened, self-check
    answered, lesson completed, time spent), recorded once by the id the browser gave it, so
    that the same action sent again is answered as before and changes nothing."""

    __tablename__ = "offline_action"
    __table_args__ = (UniqueConstraint("user_id", "client_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    client_id: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(20))
    # When the browser says the action happened (checked), and when it reached the server.
    happened_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # "done" or "refused"; a refusal keeps its reason (an English msgid and parameters).
    outcome: Mapped[str] = mapped_column(String(20))
    message: Mapped[str | None] = mapped_column(String(300))
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
