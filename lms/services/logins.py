"""Logging in: throttling counted before the password is checked, authentication, and the
login sessions the session cookie names (revoked on logout, with idle and absolute lifetimes)."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import bindparam, delete, func, inspect, select, update
from sqlalchemy.orm import Session, make_transient_to_detached
from sqlalchemy.orm.attributes import instance_state, set_committed_value

from lms.app.driver import Prepared
from lms.models import (
    LoginFailure,
    LoginSession,
    RoleAssignment,
    User,
    utcnow,
)
from lms.services.errors import N_, DomainError
from lms.services.passwords import (
    INITIAL_PREFIX,
    dummy_check,
    hash_password,
    needs_rehash,
    password_matches,
)


@dataclass(frozen=True)
class ThrottleRules:
    """How many failed logins are allowed in a sliding window.

    `per_account` counts the failures for one account from one address, so that nobody can
    lock a colleague (or the site administrator) out from elsewhere; `per_account_any_ip`
    is a much higher ceiling across all addresses against distributed guessing; `per_ip`
    counts every failure from one address.
    """

    per_account: int
    per_ip: int
    window: timedelta
    per_account_any_ip: int = 50


class LoginThrottled(DomainError):
    """Too many failed attempts; try again after `minutes`."""


def account_key(username: str) -> str:
    return f"u:{username}"


def _ip_key(ip: str) -> str:
    return f"ip:{ip}"


def _pair_key(username: str, ip: str) -> str:
    return f"p:{ip}:{username}"[:120]


def _failures(session: Session, key: str, since: datetime) -> tuple[int, datetime | None]:
    count, oldest = session.execute(
        select(func.count(), func.min(LoginFailure.at)).where(
            LoginFailure.key == key, LoginFailure.at >= since
        )
    ).one()
    if oldest is not None and oldest.tzinfo is None:  # SQLite aggregate bypasses the type
        oldest = oldest.replace(tzinfo=UTC)
    return count, oldest


@dataclass(frozen=True)
class LoginAttempt:
    """One login attempt, counted against its limits before its password is checked."""

    username: str
    keys: tuple[str, str, str]  # (account from this address, account, address)
    row_ids: tuple[int, ...]
    at: datetime


def begin_login(
    session: Session, username: str, ip: str, now: datetime | None = None
) -> LoginAttempt:
    """Record an attempt as a failure of its account and address before anything is checked.

    The caller commits at once: parallel attempts then see each other's rows when they count
    (each counts after its own row is committed, so the k-th attempt sees at least k), and no
    more attempts than the limit reach the password check, however many arrive together.
    """
    now = now or utcnow()
    name = clean_username_lenient(username)
    keys = (_pair_key(name, ip), account_key(name), _ip_key(ip))
    rows = [LoginFailure(key=k, at=now) for k in keys]
    session.add_all(rows)
    session.flush()
    return LoginAttempt(name, keys, tuple(r.id for r in rows), now)


def withdraw_login(session: Session, attempt: LoginAttempt) -> None:
    """Take back an attempt that was refused before its password was checked (throttled) or
    that gave the right password of a deactivated account: it tested nothing."""
    session.execute(delete(LoginFailure).where(LoginFailure.id.in_(attempt.row_ids)))
    session.flush()


def authenticate(
    session: Session,
    attempt: LoginAttempt,
    password: str,
    rules: ThrottleRules,
    initial_key: bytes | None = None,
) -> User | None:
    """The account for these credentials, or None; raise LoginThrottled when locked out.

    `attempt` comes from begin_login, committed. Failures are rows in the database so that
    every worker counts the same attempts. While an account or address is over its limit even
    the right password is refused, so guessing cannot go on in parallel. Every path that
    checks a password costs one memory-hard check, so the time taken does not tell an
    imported account that has not logged in yet (a fast keyed hash) from an unknown name. A
    password stored with an older hash is stored again with the current one.
    """
    now = attempt.at
    since = now - rules.window
    limits = (rules.per_account, rules.per_account_any_ip, rules.per_ip)
    for key, limit in zip(attempt.keys, limits, strict=True):
        count, oldest = _failures(session, key, since)
        if count > limit:  # this attempt's own row is counted too
            wait = (oldest + rules.window - now) if oldest else rules.window
            minutes = max(1, int(wait.total_seconds() // 60) + 1)
            raise LoginThrottled(
                N_("Too many failed attempts. Try again in %(minutes)d minutes."),
                minutes=minutes,
            )
    user = session.scalar(select(User).where(User.username == attempt.username))
    stored = user.password_hash if user else None
    if stored is None or stored.startswith(INITIAL_PREFIX):
        # The same memory-hard work as a real password check (its answer is not used).
        dummy_check(password)
    ok = stored is not None and password_matches(stored, password, initial_key)
    if user is None or not ok:
        # The attempt's rows stay as failures. Old rows of these keys are no longer counted;
        # keep the table small.
        session.execute(
            delete(LoginFailure).where(LoginFailure.key.in_(attempt.keys), LoginFailure.at < since)
        )
        session.flush()
        return None
    if not user.is_active_account:
        raise DomainError(
            N_("This account has been deactivated. Contact your unit's administrator.")
        )
    session.execute(delete(LoginFailure).where(LoginFailure.key == attempt.keys[0]))
    session.execute(delete(LoginFailure).where(LoginFailure.id.in_(attempt.row_ids)))
    user.last_login_at = now
    if needs_rehash(stored):
        user.password_hash = hash_password(password)
    session.flush()
    return user


def clean_username_lenient(raw: str) -> str:
    """The username as typed at login: trimmed and lower-cased, never an error."""
    return " ".join((raw or "").split()).lower()[:64]


@dataclass(frozen=True)
class SessionRules:
    """How long a login lasts: `idle` without a request, `absolute` at most, however active.

    `last_seen_at` is written at most every `touch_every`, so that a busy learner's requests
    (a SCORM commit every 30 s) do not each write it; the idle limit is that much coarser.
    """

    idle: timedelta
    absolute: timedelta
    touch_every: timedelta = timedelta(minutes=5)


def login_key_hash(key: str) -> str:
    """What is stored of a login session's key: its SHA-256."""
    return hashlib.sha256(key.encode()).hexdigest()


def start_login_session(
    session: Session, user: User, rules: SessionRules, now: datetime | None = None
) -> str:
    """Open a login session of `user`; return its key, for the cookie (only a hash is kept)."""
    now = now or utcnow()
    # This account's ended sessions are of no more use (every account has only a few).
    session.execute(
        delete(LoginSession).where(
            LoginSession.user_id == user.id,
            (LoginSession.revoked_at.is_not(None))
            | (LoginSession.expires_at <= now)
            | (LoginSession.last_seen_at <= now - rules.idle),
        )
    )
    key = secrets.token_urlsafe(32)
    session.add(
        LoginSession(
            user_id=user.id,
            key_hash=login_key_hash(key),
            created_at=now,
            last_seen_at=now,
            expires_at=now + rules.absolute,
        )
    )
    session.flush()
    return key


def end_login_session(session: Session, key: str | None, now: datetime | None = None) -> None:
    """Revoke the login session of this cookie key (logging out): the cookie no longer works,
    wherever it was copied to."""
    if not key:
        return
    session.execute(
        update(LoginSession)
        .where(LoginSession.key_hash == login_key_hash(key), LoginSession.revoked_at.is_(None))
        .values(revoked_at=now or utcnow())
    )
    session.flush()


def end_login_sessions(session: Session, user: User, keep_key: str | None = None) -> None:
    """Revoke every login session of `user`, except the one of `keep_key`."""
    query = update(LoginSession).where(
        LoginSession.user_id == user.id, LoginSession.revoked_at.is_(None)
    )
    if keep_key:
        query = query.where(LoginSession.key_hash != login_key_hash(keep_key))
    session.execute(query.values(revoked_at=utcnow()))
    session.flush()


def live_login_session(rules: SessionRules, now: datetime):
    """The conditions under which a login session still logs its cookie in."""
    return _live(now, now - rules.idle)


def _live(now, idle_since):
    return (
        LoginSession.revoked_at.is_(None)
        & (LoginSession.expires_at > now)
        & (LoginSession.last_seen_at > idle_since)
    )


# The user, their roles and the login of a cookie, in one query that every request of a
# logged-in user makes. Built once: building the statement cost as much as running it. It
# selects plain columns (one row per role, or one without): the ORM's loading of the same
# row with its joined roles cost twice the query itself (issue 24), so the objects are made
# from the row below. It runs on the driver's cursor (lms.app.driver): Connection.execute
# cost as much again as the driver.
_USER_COLUMNS = tuple((p.key, p.columns[0]) for p in User.__mapper__.column_attrs)
_ROLE_COLUMNS = tuple((p.key, p.columns[0]) for p in RoleAssignment.__mapper__.column_attrs)
_SESSION_USER = Prepared(
    select(
        *(c for _, c in _USER_COLUMNS),
        LoginSession.id,
        LoginSession.last_seen_at,
        *(c for _, c in _ROLE_COLUMNS),
    )
    .select_from(User)
    .join(LoginSession, LoginSession.user_id == User.id)
    .outerjoin(RoleAssignment, RoleAssignment.user_id == User.id)
    .where(
        User.id == bindparam("user_id"),
        LoginSession.key_hash == bindparam("key_hash"),
        _live(bindparam("now"), bindparam("idle_since")),
    )
    .order_by(RoleAssignment.id)
)
_USER_KEYS = tuple(key for key, _ in _USER_COLUMNS)
_ROLE_KEYS = tuple(key for key, _ in _ROLE_COLUMNS)
_LOGIN_AT = len(_USER_KEYS)  # the login session's id, then its last_seen_at
_ROLES_AT = _LOGIN_AT + 2


def _loaded(session: Session, cls, values: dict):
    """The persistent object of `cls` with these column values, in `session`, as a query
    would have loaded it (the one already there, if the session holds it): its relationships
    load when used, a change is written by the next flush."""
    mapper = inspect(cls)
    found = session.identity_map.get(mapper.identity_key_from_primary_key((values["id"],)))
    if found is not None:
        return found
    obj = mapper.class_manager.new_instance()
    instance_state(obj).dict.update(values)
    make_transient_to_detached(obj)
    session.add(obj)
    return obj


@dataclass(frozen=True)
class SessionUser:
    """A logged-in request's account, its login session, and whether that needs a touch."""

    user: User
    login_session_id: int
    stale: bool


def load_session_user(
    session: Session,
    cookie_id: str,
    key: str | None,
    rules: SessionRules,
    now: datetime | None = None,
) -> SessionUser | None:
    """The user named by a session cookie's id ("<id>:<auth_epoch>") and its login session
    key, if the account is active and the login session is live."""
    if not key:
        return None
    try:
        raw_id, raw_epoch = cookie_id.split(":", 1)
        user_id, epoch = int(raw_id), int(raw_epoch)
    except ValueError:
        return None
    now = now or utcnow()
    rows = _SESSION_USER.all(
        session.connection(),
        {
            "user_id": user_id,
            "key_hash": login_key_hash(key),
            "now": now,
            "idle_since": now - rules.idle,
        },
    )
    if not rows:
        return None
    first = rows[0]
    values = dict(zip(_USER_KEYS, first, strict=False))
    if values["auth_epoch"] != epoch or not values["is_active_account"]:
        return None
    login_id, last_seen = first[_LOGIN_AT], first[_LOGIN_AT + 1]
    user = _loaded(session, User, values)
    if "roles" not in instance_state(user).dict:
        roles = [
            _loaded(session, RoleAssignment, dict(zip(_ROLE_KEYS, row[_ROLES_AT:], strict=True)))
            for row in rows
            if row[_ROLES_AT] is not None
        ]
        set_committed_value(user, "roles", roles)
    return SessionUser(user, login_id, last_seen <= now - rules.touch_every)


def touch_login_session(connection, login_session_id: int, now: datetime | None = None) -> None:
    """Note that a login session was used now (on a connection of its own, committed by the
    caller, so that a read-only request need not commit)."""
    connection.execute(
        update(LoginSession)
        .where(LoginSession.id == login_session_id)
        .values(last_seen_at=now or utcnow())
    )


def purge_ended(session: Session, window_minutes: int, now: datetime | None = None) -> dict:
    """Delete the login sessions that ended over a day ago (revoked or expired) and failed
    login attempts no longer counted; return how many of each."""
    now = now or utcnow()
    day_ago = now - timedelta(days=1)
    sessions = session.execute(
        delete(LoginSession).where(
            (LoginSession.revoked_at < day_ago) | (LoginSession.expires_at < day_ago)
        )
    ).rowcount
    failures = session.execute(
        delete(LoginFailure).where(LoginFailure.at < now - timedelta(minutes=int(window_minutes)))
    ).rowcount
    session.flush()
    return {"sessions": sessions, "failures": failures}
