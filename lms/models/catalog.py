"""Courses, their published versions and the activities of each version."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lms.app.database import UTCDateTime, str_enum, utcnow
from lms.app.extensions import db


class VersionStatus(enum.StrEnum):
    """A version is checked and stored as a draft, then published once."""

    DRAFT = "draft"
    PUBLISHED = "published"


class OverduePolicy(enum.StrEnum):
    """What happens after the due time."""

    LOCK = "lock"  # the learner may read, but not take the final test, until extended
    LATE = "late"  # the learner may finish; the completion is marked late


DEFAULT_REMINDER_DAYS = [5, 2, 0]  # days left when a reminder goes out (0 = the last day)


class Course(db.Model):
    """A course: its versions, the one new enrolments get, and its deadline settings."""

    __tablename__ = "course"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    overdue_policy: Mapped[OverduePolicy] = mapped_column(
        str_enum(OverduePolicy), default=OverduePolicy.LOCK
    )
    reminder_days: Mapped[list[int]] = mapped_column(
        JSON, default=lambda: list(DEFAULT_REMINDER_DAYS)
    )
    # "Not started yet" reminder this many days after the account was issued (None: never).
    not_started_after_days: Mapped[int | None] = mapped_column(Integer, default=2)
    current_version_id: Mapped[int | None] = mapped_column(
        ForeignKey("course_version.id", use_alter=True, name="fk_course_current_version_id")
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    versions: Mapped[list[CourseVersion]] = relationship(
        back_populates="course",
        foreign_keys="CourseVersion.course_id",
        order_by="CourseVersion.number",
    )
    current_version: Mapped[CourseVersion | None] = relationship(
        foreign_keys=[current_version_id], post_update=True
    )


class CourseVersion(db.Model):
    """One uploaded state of a course; learners keep the version they started."""

    __tablename__ = "course_version"
    __table_args__ = (UniqueConstraint("course_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("course.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    status: Mapped[VersionStatus] = mapped_column(
        str_enum(VersionStatus), default=VersionStatus.DRAFT
    )
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    language: Mapped[str] = mapped_column(String(10), default="vi")
    deadline_days: Mapped[int] = mapped_column(Integer, default=10)
    pass_mark: Mapped[float] = mapped_column(Float, default=5.0)
    certificate_title: Mapped[str] = mapped_column(String(200))
    certificate_body: Mapped[str] = mapped_column(String(500))
    # The question bank as read from the bundle; the test engine draws from it.
    # The whole question bank: loaded when read, not with every page that names the version.
    final_test: Mapped[dict[str, Any] | None] = mapped_column(JSON, deferred=True)
    # Where the bundle's files are kept, relative to HOCVU_FILES_DIR.
    files_path: Mapped[str] = mapped_column(String(300))
    source_sha256: Mapped[str] = mapped_column(String(64))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    course: Mapped[Course] = relationship(back_populates="versions", foreign_keys=[course_id])
    activities: Mapped[list[Activity]] = relationship(
        back_populates="version", order_by="Activity.position", cascade="all, delete-orphan"
    )

    @property
    def minutes(self) -> int:
        """The estimated time of the whole course."""
        return sum(a.minutes for a in self.activities)


class Activity(db.Model):
    """A step of a course version: a Markdown page, a SCORM package or the final test.

    `kind` names a class in lms.activities; `content` is that kind's data.
    """

    __tablename__ = "activity"
    __table_args__ = (UniqueConstraint("version_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("course_version.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    key: Mapped[str] = mapped_column(String(120))
    kind: Mapped[str] = mapped_column(String(20))
    title: Mapped[str] = mapped_column(String(200))
    minutes: Mapped[int] = mapped_column(Integer, default=0)
    min_minutes: Mapped[int] = mapped_column(Integer, default=0)
    required: Mapped[bool] = mapped_column(Boolean, default=True)
    content: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    version: Mapped[CourseVersion] = relationship(back_populates="activities")
