"""Links to a SCORM package's files on the content origin: signed, launch-scoped, expiring
and revocable capabilities, so that the content origin needs no cookie.

A link names one package and who opened it. A learner's launch link is also bound to the
learner's SCO state and to the run-time session of that launch: a later launch (another tab,
another device) revokes it, as do logging out, a password change or reset, and deactivation
(they end the login session the link is bound to). An author's try-out link ("preview") is
bound to the author's login session and records nothing. The signature (HMAC with the site's
secret key, through itsdangerous) carries the time it was made; a link is refused after
HOCVU_CONTENT_LINK_MINUTES. The LMS origin the link was made for is part of it: the API frame
accepts messages from that origin only, and only pages of that origin may frame it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from lms.models import Enrolment, LoginSession, Role, RoleAssignment, User, utcnow
from lms.models.scorm import ScoState
from lms.services.logins import SessionRules, live_login_session

LAUNCH = "launch"
PREVIEW = "preview"
# A SCORM 2004 SCO kept for offline play (lms.services.tracking.offline): bound to the
# learner's SCO state and login session, not to a run-time session, as keeping it opens none.
KEEP = "keep"
_SALT = "hocvu.content-link.v1"


@dataclass(frozen=True)
class Grant:
    """What a content link allows: the files of `package_id`, framed by `lms_origin`."""

    kind: str  # LAUNCH, KEEP or PREVIEW
    user_id: int
    login_session_id: int
    package_id: int
    lms_origin: str
    state_id: int = 0  # LAUNCH, KEEP: the learner's SCO state
    session_tag: str = ""  # LAUNCH: a digest of the run-time session key of the launch


def session_tag(session_key: str) -> str:
    """A short digest of a run-time session key: the link names the session without
    carrying the key that the commits of that session present."""
    return hashlib.sha256(b"hocvu content link\0" + session_key.encode()).hexdigest()[:16]


def _serializer(secret: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret, salt=_SALT)


def issue(secret: str, grant: Grant) -> str:
    """The signed token of `grant`, for a URL path segment."""
    return _serializer(secret).dumps(
        [
            grant.kind,
            grant.user_id,
            grant.login_session_id,
            grant.package_id,
            grant.lms_origin,
            grant.state_id,
            grant.session_tag,
        ]
    )


def read(secret: str, token: str, max_age_seconds: int) -> Grant | None:
    """The grant of a token signed by this site and younger than `max_age_seconds`, or None."""
    try:
        kind, user_id, login_id, package_id, origin, state_id, tag = _serializer(secret).loads(
            token, max_age=max_age_seconds
        )
    except (BadSignature, ValueError, TypeError):
        return None
    if kind not in (LAUNCH, KEEP, PREVIEW):
        return None
    return Grant(kind, user_id, login_id, package_id, origin, state_id, tag)


def still_valid(
    session: Session, grant: Grant, rules: SessionRules, now: datetime | None = None
) -> bool:
    """Whether a grant has not been revoked since it was issued (one query)."""
    now = now or utcnow()
    logged_in = (
        User.id == grant.user_id,
        User.is_active_account.is_(True),
        LoginSession.id == grant.login_session_id,
        LoginSession.user_id == User.id,
        live_login_session(rules, now),
    )
    if grant.kind == PREVIEW:
        author = exists().where(
            RoleAssignment.user_id == User.id,
            RoleAssignment.role.in_([Role.AUTHOR, Role.SITE_ADMIN]),
        )
        return session.scalar(select(User.id).where(*logged_in, author)) is not None
    found = session.execute(
        select(ScoState.session_key)
        .join(Enrolment, Enrolment.id == ScoState.enrolment_id)
        .join(User, User.id == Enrolment.user_id)
        .where(
            ScoState.id == grant.state_id,
            ScoState.package_id == grant.package_id,
            *logged_in,
        )
    ).first()
    if found is None:
        return False
    if grant.kind == KEEP:
        return True
    return found.session_key is not None and session_tag(found.session_key) == grant.session_tag
