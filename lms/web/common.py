"""What the site's blueprints share: the login session's key in the cookie and how long a
login lasts, a domain error's message in the user's language, and static file versions."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from functools import lru_cache
from pathlib import Path

from lms.app.i18n import message_text
from lms.services.errors import DomainError
from lms.services.logins import SessionRules

# The session cookie's key of the login session (lms.models.LoginSession) it belongs to.
LOGIN_KEY = "_hocvu_login"


def session_rules(config) -> SessionRules:
    """How long logins last, from the settings."""
    return SessionRules(
        idle=timedelta(hours=float(config["HOCVU_SESSION_HOURS"])),
        absolute=timedelta(hours=float(config["HOCVU_SESSION_MAX_HOURS"])),
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
