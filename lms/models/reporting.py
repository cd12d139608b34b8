"""Completion figures: the dashboard's rolled-up snapshot, and the periodic reports issued.

The dashboard reads figures computed in the background (`ReportSnapshot`): counting 100,000
learners live on every page view costs seconds on SQLite, reading the rolled-up rows of a unit's
children costs milliseconds. An issued `Report` keeps its own figures and PDF, frozen.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lms.app.database import UTCDateTime, utcnow
from lms.app.extensions import db
from lms.models.accounts import OrgUnit, User

# ReportFigure.batch: every batch together, or the accounts without a batch.
ALL_BATCHES = -1
NO_BATCH = 0


class ReportSnapshot(db.Model):
    """One computation of the figures of one course; the newest complete one is shown."""

    __tablename__ = "report_snapshot"

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("course.id"), index=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Set once every row is written: a snapshot without it is still being made.
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ReportFigure(db.Model):
    """The figures of a unit's whole subtree, for all batches or one batch."""

    __tablename__ = "report_figure"
    __table_args__ = (Index("ix_report_figure_lookup", "snapshot_id", "org_unit_id", "batch"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    snapshot_id: Mapped[int] = mapped_column(ForeignKey("report_snapshot.id", ondelete="CASCADE"))
    # Not a foreign key: a unit deleted after the snapshot must not block the deletion.
    org_unit_id: Mapped[int] = mapped_column(Integer)
    batch: Mapped[int] = mapped_column(Integer)  # a cohort id, ALL_BATCHES or NO_BATCH
    issued: Mapped[int] = mapped_column(Integer, default=0)
    started: Mapped[int] = mapped_column(Integer, default=0)
    completed: Mapped[int] = mapped_column(Integer, default=0)
    passed: Mapped[int] = mapped_column(Integer, default=0)
    certified: Mapped[int] = mapped_column(Integer, default=0)
    overdue: Mapped[int] = mapped_column(Integer, default=0)
    never_logged_in: Mapped[int] = mapped_column(Integer, default=0)


class ReportDaily(db.Model):
    """Completions by the learners of a unit's subtree on one local day (non-zero days only)."""

    __tablename__ = "report_daily"
    __table_args__ = (Index("ix_report_daily_lookup", "snapshot_id", "org_unit_id", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    snapshot_id: Mapped[int] = mapped_column(ForeignKey("report_snapshot.id", ondelete="CASCADE"))
    org_unit_id: Mapped[int] = mapped_column(Integer)
    day: Mapped[date] = mapped_column(Date)
    completed: Mapped[int] = mapped_column(Integer, default=0)


class Report(db.Model):
    """An issued periodic report ("Báo cáo kết quả thực hiện"): figures and PDF, frozen."""

    __tablename__ = "report"

    id: Mapped[int] = mapped_column(primary_key=True)
    # The unit reported on (None: the whole site, site administrators only).
    org_unit_id: Mapped[int | None] = mapped_column(ForeignKey("org_unit.id"), index=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("course.id"))
    period_kind: Mapped[str] = mapped_column(String(20))  # half_year, year, custom
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    # What the report says, as issued (names as they were, every figure).
    title: Mapped[str] = mapped_column(String(300))
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    files_path: Mapped[str] = mapped_column(String(300))
    sha256: Mapped[str] = mapped_column(String(64))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)

    org_unit: Mapped[OrgUnit | None] = relationship()
    created_by: Mapped[User | None] = relationship()
