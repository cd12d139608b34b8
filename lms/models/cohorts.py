"""Batches of accounts ("đợt học"), their courses and deadline rule."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, ForeignKey, Integer, String, Table, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lms.app.database import UTCDateTime, utcnow
from lms.app.extensions import db
from lms.models.accounts import OrgUnit
from lms.models.catalog import Course

cohort_course = Table(
    "cohort_course",
    db.metadata,
    Column("cohort_id", ForeignKey("cohort.id", ondelete="CASCADE"), primary_key=True),
    Column("course_id", ForeignKey("course.id"), primary_key=True),
)


class Cohort(db.Model):
    """A batch of accounts issued together: they follow the same courses and deadline."""

    __tablename__ = "cohort"
    __table_args__ = (UniqueConstraint("org_unit_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    # The unit that owns the batch; its admins (and those above) manage it.
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)
    # Overrides the courses' own number of days when set.
    deadline_days: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    org_unit: Mapped[OrgUnit] = relationship()
    courses: Mapped[list[Course]] = relationship(secondary=cohort_course, order_by=Course.title)
