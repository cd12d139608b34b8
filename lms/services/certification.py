"""Issuing, revoking, reissuing and verifying completion certificates."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from certificates.render import CertificateData, render_pdf
from certificates.sign import Signer
from lms.app.storage import LocalStorage
from lms.models import Certificate, Enrolment, TestAttempt, User, utcnow
from lms.services import attendance, audit, organisation
from lms.services.clock import DEFAULT_TIMEZONE
from lms.services.deadlines import local_today
from lms.services.errors import N_, DomainError, Forbidden
from lms.services.scope import Scope

# Crockford's base32 without look-alikes (no I, L, O, U): easy to read aloud or type.
_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


@dataclass(frozen=True)
class Settings:
    """What the site prints on certificates: the organisation profile (or, until a site admin
    saves one, the HOCVU_CERT_* settings), the site's address and time zone."""

    organisation: str  # the site's issuer; a unit of the learner's may name its own
    place: str
    signer_title: str
    signer_name: str
    base_url: str
    seal_png: bytes | None = None
    timezone: str = DEFAULT_TIMEZONE
    serial_prefix: str = ""  # "QN": numbers read QN-7K3Q-M9PX-T2VD


class NoIssuer(DomainError):
    """No organisation is named to issue certificates: they wait until a site admin names one
    (as they wait for a missing signing key)."""

    def __init__(self) -> None:
        super().__init__(
            N_(
                "Certificates cannot be issued yet: no organisation is named as their issuer. "
                "A site administrator fills in the organisation profile (Administration, "
                "Issuing organisation); then the missing certificates can be issued."
            )
        )


def new_serial(prefix: str = "") -> str:
    """A random serial such as 7K3Q-M9PX-T2VD (60 bits), after the prefix when there is one
    (QN-7K3Q-M9PX-T2VD)."""
    raw = "".join(secrets.choice(_ALPHABET) for _ in range(12))
    serial = f"{raw[:4]}-{raw[4:8]}-{raw[8:]}"
    return f"{prefix}-{serial}" if prefix else serial


def _official_date(day) -> str:
    """'ngày 05 tháng 02 năm 2027', 'ngày 23 tháng 11 năm 2026': days under 10 and the months
    January and February take a leading zero, as administrative documents write them."""
    month = f"{day.month:02d}" if day.month < 3 else str(day.month)
    return f"ngày {day.day:02d} tháng {month} năm {day.year}"


def _date(moment: datetime | None, timezone: str) -> str:
    return local_today(moment, timezone).strftime("%d/%m/%Y") if moment else ""


def _best_score(session: Session, enrolment: Enrolment) -> float | None:
    return session.scalar(
        select(func.max(TestAttempt.score)).where(
            TestAttempt.enrolment_id == enrolment.id, TestAttempt.passed.is_(True)
        )
    )


def _score_text(score: float | None) -> str:
    if score is None:
        return "Đạt"
    text = f"{score:.2f}".rstrip("0").rstrip(".").replace(".", ",")
    return f"Đạt - {text}/10"


def document(
    session: Session, enrolment: Enrolment, settings: Settings, serial: str, development: bool
) -> tuple[CertificateData, float | None]:
    """What a certificate for this enrolment says."""
    user = enrolment.user
    version = enrolment.version
    zone = settings.timezone
    done = enrolment.completed_at or utcnow()
    day = local_today(done, zone)
    score = _best_score(session, enrolment)
    start = enrolment.started_at or enrolment.enrolled_at
    return (
        CertificateData(
            serial=serial,
            verify_url=f"{settings.base_url.rstrip('/')}/verify/{serial}",
            organisation=organisation.issuer_for(session, user.org_unit) or settings.organisation,
            learner_name=user.full_name,
            course_title=version.title,
            result=_score_text(score),
            period=f"từ ngày {_date(start, zone)} đến ngày {_date(done, zone)}",
            place_and_date=f"{settings.place}, {_official_date(day)}",
            signer_title=settings.signer_title,
            signer_name=settings.signer_name,
            title=version.certificate_title,
            body=version.certificate_body,
            birth_date=user.birth_date.strftime("%d/%m/%Y") if user.birth_date else "",
            unit=user.org_unit.name if user.org_unit else "",
            seal_png=settings.seal_png,
            mode="trực tiếp"
            if attendance.attended_class(session, enrolment.user_id, enrolment.course_id)
            else "",
            development=development,
        ),
        score,
    )


def sample_pdf(
    settings: Settings, *, organisation: str, course_title: str, unit: str, day: date
) -> bytes:
    """A certificate as these settings would print it, for the organisation page: made-up
    learner and dates, a number with the prefix, marked as a sample (and never signed)."""
    serial = new_serial(settings.serial_prefix)
    data = CertificateData(
        serial=serial,
        verify_url=f"{settings.base_url.rstrip('/')}/verify/{serial}",
        organisation=organisation,
        learner_name="Nguyễn Văn A",
        course_title=course_title,
        result=_score_text(9.5),
        period=f"từ ngày {(day - timedelta(days=7)).strftime('%d/%m/%Y')} "
        f"đến ngày {day.strftime('%d/%m/%Y')}",
        place_and_date=f"{settings.place}, {_official_date(day)}",
        signer_title=settings.signer_title,
        signer_name=settings.signer_name,
        birth_date="01/01/1990",
        unit=unit,
        seal_png=settings.seal_png,
        sample=True,
    )
    return render_pdf(data)


def issue(
    session: Session,
    enrolment: Enrolment,
    signer: Signer,
    storage: LocalStorage,
    settings: Settings,
) -> Certificate:
    """Render, sign and store the certificate of a completed enrolment (once)."""
    if enrolment.completed_at is None:
        raise DomainError(N_("The course is not completed yet."))
    existing = session.scalar(
        select(Certificate).where(
            Certificate.enrolment_id == enrolment.id, Certificate.replaced_by_id.is_(None)
        )
    )
    if existing is not None:
        return existing
    return _make(session, enrolment, signer, storage, settings)


def _make(session, enrolment, signer, storage, settings) -> Certificate:
    if not settings.organisation.strip():
        raise NoIssuer()
    # The next edition of this enrolment's certificate; (enrolment, edition) is unique, so of
    # two workers issuing it at once, the second one's flush fails instead of issuing twice.
    edition = 1 + (
        session.scalar(
            select(func.max(Certificate.edition)).where(Certificate.enrolment_id == enrolment.id)
        )
        or 0
    )
    serial = new_serial(settings.serial_prefix)
    data, score = document(session, enrolment, settings, serial, signer.development)
    pdf = signer.sign(render_pdf(data))
    # Folders by the first group of the random part (the prefix is the same for all).
    files_path = f"certificates/{serial[-14:-10]}/{serial}.pdf"
    storage.write_file(files_path, pdf)
    certificate = Certificate(
        serial=serial,
        enrolment_id=enrolment.id,
        edition=edition,
        user_id=enrolment.user_id,
        course_id=enrolment.course_id,
        learner_name=data.learner_name,
        course_title=data.course_title,
        score=score,
        sha256=hashlib.sha256(pdf).hexdigest(),
        files_path=files_path,
    )
    session.add(certificate)
    session.flush()
    return certificate


def revoke(session: Session, actor: User, certificate: Certificate, reason: str) -> None:
    """Mark a certificate revoked, with the reason (shown on the verification page)."""
    if not Scope.of(actor).can_manage_user(certificate.user):
        raise Forbidden(N_("You cannot change this account."))
    reason = " ".join((reason or "").split())
    if not reason:
        raise DomainError(N_("Give the reason for revoking the certificate."), field="reason")
    if certificate.revoked_at is None:
        certificate.revoked_at = utcnow()
        certificate.revoke_reason = reason[:500]
        audit.record(
            session,
            actor,
            "certificate.revoke",
            certificate.user,
            serial=certificate.serial,
            reason=reason[:500],
        )
        session.flush()


def reissue(
    session: Session,
    actor: User,
    certificate: Certificate,
    signer: Signer,
    storage: LocalStorage,
    settings: Settings,
) -> Certificate:
    """A new certificate (new serial) with the account's current details; the old one is
    marked replaced. Used after a name correction."""
    if not Scope.of(actor).can_manage_user(certificate.user):
        raise Forbidden(N_("You cannot change this account."))
    if certificate.replaced_by_id is not None:
        raise DomainError(N_("This certificate has already been replaced."))
    new = _make(session, certificate.enrolment, signer, storage, settings)
    certificate.replaced_by_id = new.id
    audit.record(
        session,
        actor,
        "certificate.reissue",
        certificate.user,
        old=certificate.serial,
        new=new.serial,
    )
    session.flush()
    return new


@dataclass(frozen=True)
class Verdict:
    """What the public verification page says about a serial or an uploaded file."""

    state: str  # valid | revoked | replaced | unknown | altered
    certificate: Certificate | None = None


def status_of(certificate: Certificate | None) -> str:
    if certificate is None:
        return "unknown"
    if certificate.revoked_at is not None:
        return "revoked"
    if certificate.replaced_by_id is not None:
        return "replaced"
    return "valid"


def verify_file(session: Session, data: bytes, signer: Signer | None) -> Verdict:
    """Is this file a certificate Hocvu issued, unaltered, and still valid?

    A file whose bytes are those of an issued certificate (its stored SHA-256) is that
    certificate, whatever key signed it (the key may have changed since) and even while the
    key is missing (no signer). Any other file is "altered" when it carries a signature (a
    changed certificate), else "unknown"."""
    digest = hashlib.sha256(data).hexdigest()
    certificate = session.scalar(select(Certificate).where(Certificate.sha256 == digest))
    if certificate is not None:
        return Verdict(status_of(certificate), certificate)
    signed = signer is not None and signer.check(data).signed
    return Verdict("altered" if signed else "unknown")
