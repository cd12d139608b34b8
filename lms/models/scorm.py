"""SCORM packages and the run-time state of each SCO for each learner."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lms.app.database import UTCDateTime, utcnow
from lms.app.extensions import db
from lms.models.accounts import User
from lms.models.catalog import Activity
from lms.models.learning import Enrolment


class ScormPackage(db.Model):
    """One uploaded package, stored once by content (course versions share it)."""

    __tablename__ = "scorm_package"

    id: Mapped[int] = mapped_column(primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    standard: Mapped[str] = mapped_column(String(10))  # "1.2" or "2004"
    edition: Mapped[str | None] = mapped_column(String(10))  # 2004: "2nd" .. "4th"
    title: Mapped[str] = mapped_column(String(300))
    # Where the expanded files are kept, relative to HOCVU_FILES_DIR.
    files_path: Mapped[str] = mapped_column(String(300))
    # The organization's item tree and the SCOs in order (see lms.scorm_player.describe).
    manifest: Mapped[dict[str, Any]] = mapped_column(JSON)
    size: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ScoState(db.Model):
    """The CMI state of one SCO for one learner: what the SCO wrote, and what it means.

    `data` is the list of [element, value] pairs the SCO wrote, in first-write order (the
    order the server re-validates them in). `seq` is the number of the newest commit taken:
    a commit with a lower or equal number is a replay and changes nothing; a commit of an
    older session (another tab, another device) changes nothing but that session's time.
    """

    __tablename__ = "sco_state"
    __table_args__ = (UniqueConstraint("enrolment_id", "activity_id", "sco"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    enrolment_id: Mapped[int] = mapped_column(
        ForeignKey("enrolment.id", ondelete="CASCADE"), index=True
    )
    activity_id: Mapped[int] = mapped_column(ForeignKey("activity.id"), index=True)
    package_id: Mapped[int] = mapped_column(ForeignKey("scorm_package.id"), index=True)
    sco: Mapped[str] = mapped_column(String(200))  # the item identifier
    seq: Mapped[int] = mapped_column(Integer, default=0)
    session_key: Mapped[str | None] = mapped_column(String(40))
    data: Mapped[list[Any]] = mapped_column(JSON, default=list)
    # The digest of the last commit whose every value the data model took as written
    # (lms.services.tracking.commits): the same commit again needs no replay of the rules.
    # NULL when a value was refused, or before the first such commit.
    data_digest: Mapped[str | None] = mapped_column(String(32))
    # Each launch is a session with a key the server gives; only the newest may change the
    # data, any may report its own time: {session key: seconds}, and their sum.
    # The sessions of the current attempt (SCORM 2004: a new attempt starts with none) are in
    # session_times; the time of earlier attempts in earlier_seconds. total_seconds is all
    # of the learner's time; cmi.total_time is that of the attempt (RTE 4.2.25).
    session_times: Mapped[dict[str, float]] = mapped_column(JSON, default=dict)
    earlier_seconds: Mapped[float] = mapped_column(Float, default=0.0, server_default="0")
    total_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    sessions: Mapped[int] = mapped_column(Integer, default=0)  # launches
    attempts: Mapped[int] = mapped_column(Integer, default=0)  # launches that did not resume
    exit: Mapped[str] = mapped_column(String(20), default="")
    terminated: Mapped[bool] = mapped_column(Boolean, default=False)
    # The outcome as the SCO left it (lms.services.scorm.outcome).
    completion: Mapped[str] = mapped_column(String(20), default="not attempted")
    success: Mapped[str] = mapped_column(String(20), default="unknown")
    score_scaled: Mapped[float | None] = mapped_column(Float)
    score_raw: Mapped[float | None] = mapped_column(Float)
    # The best of every attempt (lms.services.tracking.rollup.best_result): a later attempt
    # that ends lower (a finished lesson opened again) does not take it back.
    best_completion: Mapped[str] = mapped_column(String(20), default="not attempted")
    best_success: Mapped[str] = mapped_column(String(20), default="unknown")
    best_score_scaled: Mapped[float | None] = mapped_column(Float)
    # An admin's correction, which wins over what the SCO reported.
    override_completion: Mapped[str | None] = mapped_column(String(20))
    override_success: Mapped[str | None] = mapped_column(String(20))
    override_reason: Mapped[str | None] = mapped_column(String(500))
    override_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    override_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    launched_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    satisfied_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    enrolment: Mapped[Enrolment] = relationship()
    activity: Mapped[Activity] = relationship()
    package: Mapped[ScormPackage] = relationship()
    override_by: Mapped[User | None] = relationship()

    @property
    def effective_completion(self) -> str:
        return self.override_completion or self.completion

    @property
    def effective_success(self) -> str:
        return self.override_success or self.success

    # The learner's result as every page and report shows it: the best of the attempts, an
    # admin's correction winning.
    @property
    def result_completion(self) -> str:
        return self.override_completion or self.best_completion

    @property
    def result_success(self) -> str:
        return self.override_success or self.best_success

    @property
    def result_score(self) -> float | None:
        return self.best_score_scaled


class SharedData(db.Model):
    """One SCORM 2004 shared data bucket (adl.data) of one learner: what SCOs stored under a
    manifest's adlcp:map targetID, kept across attempts.

    `scope` is "" for buckets global to the system (adlcp:sharedDataGlobalToSystem, the
    default: every package of the learner with that target shares them) or "package:<id>"
    for one package's. A target ID may be 4,000 characters: rows are found by its SHA-256.
    `store` is None until a SCO writes it (GetValue answers 403 until then).
    """

    __tablename__ = "scorm_shared_data"
    __table_args__ = (UniqueConstraint("user_id", "scope", "target_hash"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    scope: Mapped[str] = mapped_column(String(40))
    target_hash: Mapped[str] = mapped_column(String(64))
    target_id: Mapped[str] = mapped_column(Text)
    store: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Registration(db.Model):
    """One learner's sequencing of one SCORM 2004 activity: the SN engine's whole state
    (scorm.sequencing.Sequencer.state, JSON) and the seed of its random selections.

    `version` grows with each change: a change is stored only over the version it was made
    from (two tabs of one learner must not overwrite each other's navigation). `delivered` is
    the activity the engine delivered last while its SCO has not yet terminated: the one the
    player page launches; None when the player waits for the learner's next request.
    `nav_valid` holds the adl.nav.request_valid.* values of the stored state (None: not found
    yet), so that a commit that changes nothing the engine reads does not run it.
    """

    __tablename__ = "scorm_registration"
    __table_args__ = (UniqueConstraint("enrolment_id", "activity_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    enrolment_id: Mapped[int] = mapped_column(
        ForeignKey("enrolment.id", ondelete="CASCADE"), index=True
    )
    activity_id: Mapped[int] = mapped_column(ForeignKey("activity.id"), index=True)
    package_id: Mapped[int] = mapped_column(ForeignKey("scorm_package.id"))
    state: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    seed: Mapped[int] = mapped_column(Integer)
    version: Mapped[int] = mapped_column(Integer, default=0)
    delivered: Mapped[str | None] = mapped_column(String(200))
    nav_valid: Mapped[dict[str, str] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
