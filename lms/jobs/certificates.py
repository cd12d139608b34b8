"""Issuing certificates in the running LMS: the signer (loaded once per process), the site's
settings, issuing on the completion event, and the jobs that issue the missing ones and ZIP a
unit's or a batch's certificates."""

from __future__ import annotations

import io
import logging
import threading
import zipfile
from pathlib import Path
from typing import NamedTuple

from flask import Flask, current_app, has_app_context
from sqlalchemy import select
from sqlalchemy.orm import Session

from certificates.sign import Signer, SigningError, make_development_key
from lms.app import storage as files
from lms.jobs import core as jobs
from lms.models import Certificate, Enrolment, OrgUnit, User
from lms.services import certification, deadlines, organisation
from lms.services.scope import Scope

log = logging.getLogger(__name__)
_signers: dict[tuple, Signer] = {}
_lock = threading.Lock()


def signer(app: Flask, location: str | None = None) -> Signer:
    """The site's signer, writing `location` (the place of the date line) in its signatures;
    the key file is read again only when it changes."""
    config = app.config
    location = config["HOCVU_CERT_PLACE"] if location is None else location
    path = Path(config["HOCVU_SIGNING_KEY"])
    try:
        stamp = path.stat().st_mtime_ns
    except OSError as error:
        raise SigningError(
            f"the signing key {path} does not exist: set HOCVU_SIGNING_KEY to the "
            "organisation's key (for a trial, `hocvu init` makes a self-signed one)"
        ) from error
    key = (
        str(path),
        stamp,
        config.get("HOCVU_SIGNING_CERT"),
        config.get("HOCVU_TSA_URL"),
        location,
    )
    with _lock:
        if key not in _signers:
            _signers[key] = Signer(
                path,
                password=config.get("HOCVU_SIGNING_KEY_PASSWORD"),
                cert_path=config.get("HOCVU_SIGNING_CERT"),
                tsa_url=config.get("HOCVU_TSA_URL"),
                location=location,
            )
        return _signers[key]


def signer_if_ready(app: Flask, location: str | None = None) -> Signer | None:
    """The site's signer, or None while its key is missing or broken (logged)."""
    try:
        return signer(app, location)
    except (SigningError, OSError) as error:
        log.error("no signer: %s", error)
        return None


class SigningProblem(NamedTuple):
    trial: bool  # certificates are signed, but with the self-signed trial key
    detail: str  # for the operator


def signing_problem(app: Flask) -> SigningProblem | None:
    """Why certificates cannot be signed now (the key missing, unreadable, its password
    wrong), or, in production, are signed with the self-signed trial key; None when fine."""
    try:
        current = signer(app)
    except (SigningError, OSError) as error:
        return SigningProblem(False, str(error))
    if current.development and app.config["HOCVU_ENV"] == "production":
        return SigningProblem(
            True,
            f"the signing key {app.config['HOCVU_SIGNING_KEY']} is the self-signed trial key: "
            "set HOCVU_SIGNING_KEY to the organisation's key",
        )
    return None


def defaults(app: Flask) -> organisation.Profile:
    """The organisation profile of the HOCVU_CERT_* settings, used until a site admin saves
    one on the organisation page."""
    config = app.config
    seal = config.get("HOCVU_CERT_SEAL_IMAGE")
    return organisation.Profile(
        organisation=(config["HOCVU_CERT_ORGANISATION"] or "").strip(),
        place=config["HOCVU_CERT_PLACE"] or "",
        signer_title=config["HOCVU_CERT_SIGNER_TITLE"] or "",
        signer_name=config["HOCVU_CERT_SIGNER_NAME"] or "",
        serial_prefix=config.get("HOCVU_CERT_SERIAL_PREFIX") or "",
        seal=Path(seal) if seal else None,
    )


def profile(app: Flask, session: Session) -> organisation.Profile:
    """What certificates print now: the saved organisation profile, else the settings."""
    return organisation.current(session, defaults(app), files.for_app(app))


def settings(app: Flask, session: Session) -> certification.Settings:
    """The settings a certificate is issued with (reads the seal image: OSError when the file
    is gone, like a missing key)."""
    config = app.config
    current = profile(app, session)
    return certification.Settings(
        organisation=current.organisation,
        place=current.place,
        signer_title=current.signer_title,
        signer_name=current.signer_name,
        base_url=config["HOCVU_BASE_URL"] + config.get("HOCVU_URL_PREFIX", ""),
        seal_png=current.seal.read_bytes() if current.seal else None,
        timezone=config["HOCVU_TIMEZONE"],
        serial_prefix=current.serial_prefix,
    )


def issue_for(app: Flask, session: Session, enrolment: Enrolment):
    """Issue the certificate of a completed enrolment with the site's signer and settings."""
    current = settings(app, session)
    return certification.issue(
        session, enrolment, signer(app, current.place), files.for_app(app), current
    )


def _without_certificate():
    """The condition of a completed enrolment that has no certificate."""
    from sqlalchemy import and_, select

    from lms.models import Certificate

    return and_(
        Enrolment.completed_at.is_not(None),
        ~select(Certificate.id).where(Certificate.enrolment_id == Enrolment.id).exists(),
    )


def missing_enrolment_ids(session: Session) -> list[int]:
    """The completed enrolments that have no certificate."""
    from sqlalchemy import select

    return list(
        session.scalars(select(Enrolment.id).where(_without_certificate()).order_by(Enrolment.id))
    )


def missing_count(session: Session) -> int:
    """How many completed enrolments have no certificate (after a signing-key problem)."""
    from sqlalchemy import func, select

    return session.scalar(select(func.count(Enrolment.id)).where(_without_certificate())) or 0


def issue_missing(app: Flask, session: Session, before_commit=None) -> int:
    """Issue the certificates of completed enrolments that have none, committing each one;
    return how many were issued.

    Safe to run again after a stop, or on two machines at once: each certificate is its own
    transaction, and (enrolment, edition) is unique, so one issued meanwhile elsewhere makes
    this insert fail instead of issuing it twice. `before_commit(done, total, issued)` may add
    to each transaction (a job records its count with the certificate it counts).
    """
    from sqlalchemy import select
    from sqlalchemy.exc import IntegrityError

    from lms.models import Certificate

    if not profile(app, session).organisation:
        raise certification.NoIssuer()  # each one would fail alike: say so once
    ids = missing_enrolment_ids(session)
    issued = 0
    for done, enrolment_id in enumerate(ids, start=1):
        taken = session.scalar(
            select(Certificate.id).where(Certificate.enrolment_id == enrolment_id).limit(1)
        )
        if taken is None:
            try:
                issue_for(app, session, session.get(Enrolment, enrolment_id))
                session.flush()
            except IntegrityError:
                session.rollback()
                log.info("certificate of enrolment %s issued meanwhile elsewhere", enrolment_id)
            else:
                issued += 1
        if before_commit is not None:
            before_commit(done, len(ids), issued)
        session.commit()
    return issued


def on_course_completed(session: Session, enrolment: Enrolment) -> None:
    """The completion listener: issue the certificate now, in the same transaction.

    A missing or broken signing key, or no issuing organisation named yet, must not undo the
    learner's completion: it is logged, and the certificates page (or `hocvu
    issue-certificates`) issues the missing ones once it is fixed.
    """
    if not has_app_context():
        return
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    try:
        issue_for(app, session, enrolment)  # fails (if at all) before writing to the database
    except (SigningError, OSError, certification.NoIssuer) as error:
        log.error("certificate for enrolment %s not issued: %s", enrolment.id, error)


def ensure_development_key(app: Flask) -> bool:
    """Create the self-signed development key when none exists; True when created."""
    path = Path(app.config["HOCVU_SIGNING_KEY"])
    if path.exists():
        return False
    make_development_key(path, app.config["HOCVU_CERT_ORGANISATION"])
    return True


def init_app(app: Flask) -> None:
    if on_course_completed not in deadlines.COMPLETION_LISTENERS:
        deadlines.COMPLETION_LISTENERS.append(on_course_completed)


def export_key(job_id: int) -> str:
    return f"exports/job-{job_id}.zip"


@jobs.task("certificates.zip")
def certificates_zip(
    ctx: jobs.JobContext,
    *,
    actor_id: int,
    unit_id: int | None = None,
    cohort_id: int | None = None,
) -> dict:
    """ZIP the current certificates of a unit's subtree or of a batch, within the actor's
    scope (checked again here: the job may run long after the request)."""
    session = ctx.session
    actor = session.get(User, actor_id)
    scope = Scope.of(actor)
    stmt = (
        select(Certificate)
        .join(User, Certificate.user_id == User.id)
        .outerjoin(OrgUnit, User.org_unit_id == OrgUnit.id)
        .where(Certificate.replaced_by_id.is_(None), Certificate.revoked_at.is_(None))
    )
    if not scope.everything:
        stmt = stmt.where(scope.user_filter())
    if unit_id:
        unit = session.get(OrgUnit, unit_id)
        stmt = stmt.where(OrgUnit.path.startswith(unit.path))
    if cohort_id:
        stmt = stmt.where(User.cohort_id == cohort_id)
    found = session.scalars(stmt.order_by(User.sort_name, Certificate.id)).all()
    storage = files.for_app(current_app)
    buffer = io.BytesIO()
    total = len(found)
    ctx.progress(0, total)
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:  # PDFs are compressed
        for done, certificate in enumerate(found, start=1):
            data = storage.local_path(certificate.files_path).read_bytes()
            unit = certificate.user.org_unit.code if certificate.user.org_unit else "khac"
            archive.writestr(f"{unit}/{certificate.serial}.pdf", data)
            if done % 50 == 0 or done == total:
                ctx.progress(done, total)
    storage.write_file(export_key(ctx.job_id), buffer.getvalue())
    return {"count": total}


@jobs.task("certificates.issue")
def issue_certificates(ctx: jobs.JobContext) -> dict:
    """Issue the certificates that completed courses are missing (the job form of
    `hocvu issue-certificates`). Each certificate is committed with the job's count, so a run
    stopped half-way is continued by the next one without issuing any twice."""
    session = ctx.session
    job = session.get(jobs.Job, ctx.job_id)
    before = (job.result or {}).get("count", 0)  # issued by earlier, interrupted runs

    def record(done: int, total: int, issued: int) -> None:
        job = session.get(jobs.Job, ctx.job_id)
        job.done, job.total = done, total
        job.result = {"count": before + issued}

    issued = issue_missing(current_app._get_current_object(), session, record)
    return {"count": before + issued}
