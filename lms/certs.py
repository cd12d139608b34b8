"""Certificates in the running LMS: the signer (loaded once per process), the site's
settings, and issuing on the completion event."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from flask import Flask, current_app, has_app_context
from sqlalchemy.orm import Session

from certificates.sign import Signer, SigningError, make_development_key
from lms.models import Enrolment
from lms.services import certification, deadlines
from lms.storage import LocalStorage

log = logging.getLogger(__name__)
_signers: dict[tuple, Signer] = {}
_lock = threading.Lock()


def signer(app: Flask) -> Signer:
    """The site's signer; the key file is read again only when it changes."""
    config = app.config
    path = Path(config["HOCVU_SIGNING_KEY"])
    try:
        stamp = path.stat().st_mtime_ns
    except OSError as error:
        raise SigningError(
            f"the signing key {path} does not exist: run `hocvu init` or set HOCVU_SIGNING_KEY"
        ) from error
    key = (str(path), stamp, config.get("HOCVU_SIGNING_CERT"), config.get("HOCVU_TSA_URL"))
    with _lock:
        if key not in _signers:
            _signers[key] = Signer(
                path,
                password=config.get("HOCVU_SIGNING_KEY_PASSWORD"),
                cert_path=config.get("HOCVU_SIGNING_CERT"),
                tsa_url=config.get("HOCVU_TSA_URL"),
                location=config["HOCVU_CERT_PLACE"],
            )
        return _signers[key]


def settings(app: Flask) -> certification.Settings:
    config = app.config
    seal = config.get("HOCVU_CERT_SEAL_IMAGE")
    return certification.Settings(
        organisation=config["HOCVU_CERT_ORGANISATION"],
        place=config["HOCVU_CERT_PLACE"],
        signer_title=config["HOCVU_CERT_SIGNER_TITLE"],
        signer_name=config["HOCVU_CERT_SIGNER_NAME"],
        base_url=config["HOCVU_BASE_URL"] + config.get("HOCVU_URL_PREFIX", ""),
        seal_png=Path(seal).read_bytes() if seal else None,
        timezone=config["HOCVU_TIMEZONE"],
    )


def storage(app: Flask) -> LocalStorage:
    return LocalStorage(app.config["HOCVU_FILES_DIR"])


def issue_for(app: Flask, session: Session, enrolment: Enrolment):
    """Issue the certificate of a completed enrolment with the site's signer and settings."""
    return certification.issue(session, enrolment, signer(app), storage(app), settings(app))


def on_course_completed(session: Session, enrolment: Enrolment) -> None:
    """The completion listener: issue the certificate now, in the same transaction.

    A missing or broken signing key must not undo the learner's completion: it is logged, and
    `hocvu issue-certificates` issues the missing ones once the key is fixed.
    """
    if not has_app_context():
        return
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    try:
        issue_for(app, session, enrolment)  # fails (if at all) before writing to the database
    except (SigningError, OSError) as error:
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
