"""Final-test attempts: the draw fixed at the start, the saved answers, the grade."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lms.app.database import UTCDateTime, str_enum, utcnow
from lms.app.extensions import db
from lms.models.catalog import Activity
from lms.models.learning import Enrolment


class AttemptStatus(enum.StrEnum):
    """An attempt is open until submitted, or until its time runs out (then graded as saved)."""

    OPEN = "open"
    GRADED = "graded"


class TestAttempt(db.Model):
    """One attempt at a final test."""

    __tablename__ = "test_attempt"
    __table_args__ = (UniqueConstraint("enrolment_id", "activity_id", "number"),)
    __test__ = False  # not a pytest test class

    id: Mapped[int] = mapped_column(primary_key=True)
    enrolment_id: Mapped[int] = mapped_column(ForeignKey("enrolment.id"), index=True)
    activity_id: Mapped[int] = mapped_column(ForeignKey("activity.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    status: Mapped[AttemptStatus] = mapped_column(
        str_enum(AttemptStatus), default=AttemptStatus.OPEN
    )
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # When answers stop being accepted (None: no time limit).
    ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # [{"id": question id, "order": [bank index shown at each position]}], fixed at the start.
    draw: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    # {question id: response in shown positions}, saved as the learner goes.
    answers: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    score: Mapped[float | None] = mapped_column(Float)
    passed: Mapped[bool | None] = mapped_column(Boolean)
    # {question id: fraction earned}, {module: [earned, possible]}
    per_question: Mapped[dict[str, float] | None] = mapped_column(JSON)
    per_module: Mapped[dict[str, list[float]] | None] = mapped_column(JSON)
    graded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # "online", or "paper": a test taken on paper in an in-person class, whose score a trainer
    # or an admin entered (entered_by) with the reason (note); it has no questions or answers.
    source: Mapped[str] = mapped_column(String(10), default="online", server_default="online")
    entered_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    note: Mapped[str | None] = mapped_column(String(500))

    enrolment: Mapped[Enrolment] = relationship()
    activity: Mapped[Activity] = relationship()
