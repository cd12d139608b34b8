"""What the site's blueprints share: the login session's key in the cookie and how long a
login lasts, a domain error's message in the user's language, static file versions, and the
logged-in learner's enrolment in a course."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from functools import lru_cache, wraps
from pathlib import Path

from flask import abort
from flask_login import current_user, login_required
from sqlalchemy import bindparam, select
from sqlalchemy.orm import contains_eager, joinedload

from lms.app.extensions import db
from lms.app.i18n import message_text
from lms.models import Course, Enrolment, Role
from lms.services.errors import DomainError
from lms.services.logins import SessionRules

# The session cookie's key of the login session (lms.models.LoginSession) it belongs to.
LOGIN_KEY = "_hocvu_login"


def session_rules(config) -> SessionRules:
    """How long logins last, from the settings."""
    return _session_rules(config["HOCVU_SESSION_HOURS"], config["HOCVU_SESSION_MAX_HOURS"])


@lru_cache(maxsize=16)
def _session_rules(idle, absolute) -> SessionRules:
    # Made once per pair of settings: every commit and every page asks (SessionRules is frozen).
    return SessionRules(
        idle=timedelta(hours=float(idle)), absolute=timedelta(hours=float(absolute))
    )


def message_of(error: DomainError) -> str:
    """A domain error's message in the user's language (ISO dates shown the local way)."""
    return message_text(error.message, error.params)


_STATIC_ROOT = Path(__file__).resolve().parent.parent / "static"


@lru_cache(maxsize=512)
def _hash_of(path: Path, _mtime_ns: int) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:12]


def static_version(filename: str) -> str | None:
    """A short hash of a static file's content (looked up again when the file changes)."""
    path = _STATIC_ROOT / filename
    try:
        return _hash_of(path, path.stat().st_mtime_ns)
    except OSError:
        return None


def role_required(role: Role):
    """A view for accounts holding `role` (403 for others, the login page when logged out);
    which records the role reaches is checked by the view through its service's door."""

    def decorate(view):
        @wraps(view)
        @login_required
        def wrapped(*args, **kwargs):
            if not current_user.has_role(role):
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorate


# Built once: building a statement costs about as much as running it (issue 24).
_MY_ENROLMENT = (
    select(Enrolment)
    .join(Course, Enrolment.course_id == Course.id)
    .where(Course.slug == bindparam("slug"), Enrolment.user_id == bindparam("user_id"))
    .options(contains_eager(Enrolment.course), joinedload(Enrolment.version))
)


def enrolment_or_404(slug: str) -> Enrolment:
    """The logged-in learner's enrolment in the course `slug` with its course and version (404
    for anyone else's)."""
    enrolment = db.session.scalar(_MY_ENROLMENT, {"slug": slug, "user_id": current_user.id})
    if enrolment is None:
        abort(404)
    return enrolment
