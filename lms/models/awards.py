"""Completion certificates issued by Hocvu, and the organisation profile they print."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lms.app.database import UTCDateTime, utcnow
from lms.app.extensions import db
from lms.models.accounts import User
from lms.models.catalog import Course
from lms.models.learning import Enrolment


class Certificate(db.Model):
    """One issued certificate: the file's hash proves a copy is ours and unaltered."""

    __tablename__ = "certificate"
    # One certificate per enrolment and edition: the first issue is edition 1 and each reissue
    # the next, so two workers issuing (or reissuing) the same one cannot both succeed.
    __table_args__ = (UniqueConstraint("enrolment_id", "edition"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # A random number (7K3Q-M9PX-T2VD), after the site's prefix when it has one (QN-...).
    serial: Mapped[str] = mapped_column(String(40), unique=True)
    enrolment_id: Mapped[int] = mapped_column(ForeignKey("enrolment.id"), index=True)
    edition: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("course.id"), index=True)
    # What the certificate says, as issued (the account may be renamed later).
    learner_name: Mapped[str] = mapped_column(String(120))
    course_title: Mapped[str] = mapped_column(String(200))
    score: Mapped[float | None] = mapped_column(Float)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    files_path: Mapped[str] = mapped_column(String(300))
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoke_reason: Mapped[str | None] = mapped_column(String(500))
    replaced_by_id: Mapped[int | None] = mapped_column(ForeignKey("certificate.id"))

    user: Mapped[User] = relationship()
    course: Mapped[Course] = relationship()
    enrolment: Mapped[Enrolment] = relationship()
    replaced_by: Mapped[Certificate | None] = relationship(remote_side="Certificate.id")


class OrganisationProfile(db.Model):
    """What certificates print about their issuer, set by a site admin on the organisation
    page: one row (PROFILE_ID). Until it is saved, the HOCVU_CERT_* settings stand in for it.

    The seal or signature image is a file under HOCVU_FILES_DIR (`seal_path`, a storage key),
    not a value of the database; a unit can print its own name (`OrgUnit.certificate_issuer`).
    """

    __tablename__ = "organisation_profile"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation: Mapped[str] = mapped_column(String(200))
    place: Mapped[str] = mapped_column(String(100))
    signer_title: Mapped[str] = mapped_column(String(120))
    signer_name: Mapped[str] = mapped_column(String(120), default="")
    seal_path: Mapped[str | None] = mapped_column(String(300))
    serial_prefix: Mapped[str] = mapped_column(String(12), default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


PROFILE_ID = 1  # the one row of organisation_profile
