"""Accounts: creating and editing users, roles, passwords, activation and logging in."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session, joinedload
from werkzeug.security import check_password_hash, generate_password_hash

from lms.models import (
    AuditEvent,
    LoginFailure,
    LoginSession,
    OrgUnit,
    Role,
    RoleAssignment,
    User,
    utcnow,
)
from lms.services import audit, clock
from lms.services.errors import N_, DomainError, Forbidden
from lms.services.scope import Scope
from lms.services.text import (
    clean_email,
    clean_full_name,
    clean_phone,
    clean_username,
    fold,
    sort_key,
)

MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 128
# Initial passwords are typed by people from a printed sheet: no 0/O, 1/l/I.
_PASSWORD_ALPHABET = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # noqa: S105


# werkzeug's scrypt: N=2**15, r=8, p=1, i.e. 32 MiB of memory per hash. Tests lower it.
PASSWORD_METHOD = "scrypt"  # noqa: S105


def hash_password(password: str) -> str:
    """A memory-hard (scrypt) hash of a password."""
    return generate_password_hash(password, method=PASSWORD_METHOD)


_dummy_hashes: dict[str, str] = {}


def _dummy_hash() -> str:
    """A hash to check against when the username does not exist, made with the same method
    as real ones, so that a wrong username takes as long as a wrong password."""
    if PASSWORD_METHOD not in _dummy_hashes:
        _dummy_hashes[PASSWORD_METHOD] = hash_password(secrets.token_hex(8))
    return _dummy_hashes[PASSWORD_METHOD]


INITIAL_PREFIX = "hmac-sha256:"


def initial_password_key(secret_key: str) -> bytes:
    """The server-side key of initial passwords, derived from the site's secret key."""
    return hashlib.sha256(b"hocvu initial passwords\0" + secret_key.encode()).digest()


def hash_initial_password(password: str, key: bytes) -> str:
    """A keyed hash for a generated initial password (HMAC-SHA256).

    Initial passwords are random with at least 60 bits of entropy, so a fast keyed hash is as
    safe as a slow one, and it makes importing 36,000 accounts take seconds instead of
    half an hour. They work until the first login, when the learner chooses a password
    (stored with scrypt).
    """
    digest = hmac.new(key, password.encode(), hashlib.sha256).hexdigest()
    return f"{INITIAL_PREFIX}{digest}"


def password_matches(stored: str, password: str, initial_key: bytes | None) -> bool:
    """Check a password against its stored hash, whichever kind it is."""
    if stored.startswith(INITIAL_PREFIX):
        if initial_key is None:
            return False
        return hmac.compare_digest(stored, hash_initial_password(password, initial_key))
    try:
        return check_password_hash(stored, password)
    except ValueError:
        return False


def generate_initial_password(length: int = 12) -> str:
    """12 characters of 56 readable ones: about 70 bits, and nothing to misread aloud."""
    return "".join(secrets.choice(_PASSWORD_ALPHABET) for _ in range(length))


def generate_password(length: int = 10) -> str:
    """A random initial password that is easy to read and type."""
    return "".join(secrets.choice(_PASSWORD_ALPHABET) for _ in range(length))


def check_new_password(password: str, *, username: str = "") -> None:
    """Refuse passwords that are too short, too long or the same as the username."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise DomainError(
            N_("The password must have at least %(min)d characters."),
            field="new_password",
            min=MIN_PASSWORD_LENGTH,
        )
    if len(password) > MAX_PASSWORD_LENGTH:
        raise DomainError(
            N_("The password must have at most %(max)d characters."),
            field="new_password",
            max=MAX_PASSWORD_LENGTH,
        )
    if username and password.casefold() == username.casefold():
        raise DomainError(
            N_("The password must not be the same as the username."), field="new_password"
        )


@dataclass
class AccountData:
    """The editable fields of an account, as typed into a form or read from a file."""

    full_name: str
    org_unit: OrgUnit | None
    email: str | None = None
    phone: str | None = None
    birth_date: date | None = None
    issued_at: date | None = None


def _apply(user: User, data: AccountData) -> dict[str, list]:
    """Copy cleaned values onto the user; return what changed as {field: [old, new]}."""
    values = {
        "full_name": clean_full_name(data.full_name),
        "email": clean_email(data.email),
        "phone": clean_phone(data.phone),
        "birth_date": data.birth_date,
        "issued_at": data.issued_at,
        "org_unit_id": data.org_unit.id if data.org_unit else None,
    }
    if data.birth_date and data.birth_date >= clock.today():
        raise DomainError(N_("The birth date must be in the past."), field="birth_date")
    changes = {}
    for name, value in values.items():
        old = getattr(user, name)
        if old != value:
            changes[name] = [_jsonable(old), _jsonable(value)]
            setattr(user, name, value)
    user.org_unit = data.org_unit
    user.sort_name = sort_key(user.full_name)
    user.search_name = fold(user.full_name)
    return changes


def _jsonable(value):
    return value.isoformat() if isinstance(value, date | datetime) else value


def _check_roles(scope: Scope, roles: list[tuple[Role, OrgUnit | None]]) -> None:
    roles[:] = list(dict.fromkeys(roles))  # the same role twice is one role
    if not roles:
        raise DomainError(N_("Choose at least one role."), field="roles")
    for role, unit in roles:
        if role == Role.UNIT_ADMIN and unit is None:
            raise DomainError(
                N_("Choose the unit that the unit administrator will manage."),
                field="admin_unit_ids",
            )
        if not scope.can_grant(role, unit):
            raise Forbidden(N_("You cannot grant this role."))


def create_user(
    session: Session,
    actor: User | None,
    *,
    username: str,
    data: AccountData,
    roles: list[tuple[Role, OrgUnit | None]],
    password: str | None = None,
) -> tuple[User, str]:
    """Create an account; return it with its initial password (generated when not given).

    The password is returned once, to be shown or printed, and only its hash is stored. The
    account must change it at first login. `actor` None means the command line.
    """
    scope = Scope.of(actor) if actor else Scope(everything=True, paths=())
    username = clean_username(username)
    if not scope.everything and not scope.covers_unit(data.org_unit):
        raise DomainError(N_("Choose a unit that you manage."), field="org_unit_id")
    if any(r == Role.LEARNER for r, _ in roles) and data.org_unit is None:
        raise DomainError(N_("A learner must belong to a unit."), field="org_unit_id")
    _check_roles(scope, roles)
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise DomainError(
            N_("The username %(username)s is already taken."), field="username", username=username
        )
    initial = password if password else generate_password()
    check_new_password(initial, username=username)
    user = User(
        username=username,
        password_hash=hash_password(initial),
        must_change_password=True,
        auth_epoch=0,
        is_active_account=True,
    )
    _apply(user, data)
    user.roles = [RoleAssignment(role=r, scope_unit=u) for r, u in roles]
    session.add(user)
    session.flush()
    audit.record(
        session,
        actor,
        "user.create",
        user,
        username=username,
        roles=[str(r) for r, _ in roles],
    )
    return user, initial


def update_user(
    session: Session,
    actor: User,
    user: User,
    *,
    data: AccountData,
    roles: list[tuple[Role, OrgUnit | None]],
) -> User:
    """Change an account's details and roles."""
    scope = Scope.of(actor)
    if not scope.can_manage_user(user):
        raise Forbidden(N_("You cannot change this account."))
    if not scope.everything and not scope.covers_unit(data.org_unit):
        raise DomainError(N_("Choose a unit that you manage."), field="org_unit_id")
    if any(r == Role.LEARNER for r, _ in roles) and data.org_unit is None:
        raise DomainError(N_("A learner must belong to a unit."), field="org_unit_id")
    _check_roles(scope, roles)
    if user.id == actor.id and user.is_site_admin and (Role.SITE_ADMIN, None) not in roles:
        raise DomainError(N_("You cannot remove your own site administrator role."), field="roles")
    old_unit_path = user.org_unit.path if user.org_unit else None
    changes = _apply(user, data)
    if "issued_at" in changes:
        # Every due date counts from issued_at: recompute them (reminders follow).
        from lms.services import deadlines

        session.flush()
        deadlines.recompute_user(session, user)
    new_unit_path = data.org_unit.path if data.org_unit else None
    if old_unit_path != new_unit_path:
        # The account's history follows it, so that its new unit's admins see it.
        session.execute(
            update(AuditEvent)
            .where(AuditEvent.target_type == "user", AuditEvent.target_id == user.id)
            .values(unit_path=new_unit_path)
            .execution_options(synchronize_session=False)
        )
    old_roles = sorted(_role_key(r.role, r.scope_unit) for r in user.roles)
    new_roles = sorted(_role_key(r, u) for r, u in roles)
    if old_roles != new_roles:
        changes["roles"] = [old_roles, new_roles]
        keep = {(r.role, r.scope_unit_id): r for r in user.roles}
        user.roles = [
            keep.get((r, u.id if u else None)) or RoleAssignment(role=r, scope_unit=u)
            for r, u in roles
        ]
    session.flush()
    if changes:
        audit.record(session, actor, "user.update", user, **changes)
    return user


def _role_key(role: Role, unit: OrgUnit | None) -> str:
    return f"{role}:{unit.code}" if unit else str(role)


def reset_password(session: Session, actor: User, user: User) -> str:
    """Give the account a new initial password, log it out everywhere; return the password."""
    if not Scope.of(actor).can_manage_user(user):
        raise Forbidden(N_("You cannot change this account."))
    password = generate_password()
    user.password_hash = hash_password(password)
    user.must_change_password = True
    user.auth_epoch += 1
    end_login_sessions(session, user)
    session.execute(
        delete(LoginFailure).where(
            (LoginFailure.key == _account_key(user.username))
            | LoginFailure.key.endswith(f":{user.username}", autoescape=True)
        )
    )
    audit.record(session, actor, "user.reset_password", user)
    session.flush()
    return password


def set_active(session: Session, actor: User, user: User, active: bool) -> None:
    """Deactivate (logging the account out everywhere) or reactivate an account."""
    if not Scope.of(actor).can_manage_user(user):
        raise Forbidden(N_("You cannot change this account."))
    if user.id == actor.id and not active:
        raise DomainError(N_("You cannot deactivate your own account."))
    if user.is_active_account == active:
        return
    user.is_active_account = active
    user.deactivated_at = None if active else utcnow()
    if not active:
        user.auth_epoch += 1
        end_login_sessions(session, user)
    audit.record(session, actor, "user.activate" if active else "user.deactivate", user)
    session.flush()


def change_own_password(
    session: Session,
    user: User,
    current: str,
    new: str,
    initial_key: bytes | None = None,
    keep_login_key: str | None = None,
) -> None:
    """The account holder sets a new password after giving the current one; their other
    login sessions end (the one of `keep_login_key`, the caller's, goes on)."""
    if not password_matches(user.password_hash, current, initial_key):
        raise DomainError(N_("The current password is wrong."), field="current_password")
    check_new_password(new, username=user.username)
    if password_matches(user.password_hash, new, initial_key):
        raise DomainError(
            N_("Choose a password different from the current one."), field="new_password"
        )
    user.password_hash = hash_password(new)
    user.must_change_password = False
    user.password_changed_at = utcnow()
    # Other sessions of this account end; the caller logs the current one in again.
    user.auth_epoch += 1
    end_login_sessions(session, user, keep_key=keep_login_key)
    session.flush()


# --- logging in --------------------------------------------------------------------------


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


def _account_key(username: str) -> str:
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
    keys = (_pair_key(name, ip), _account_key(name), _ip_key(ip))
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
    checks a password costs one scrypt computation, so the time taken does not tell an
    imported account that has not logged in yet (a fast keyed hash) from an unknown name.
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
        check_password_hash(_dummy_hash(), password)
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
    session.flush()
    return user


def clean_username_lenient(raw: str) -> str:
    """The username as typed at login: trimmed and lower-cased, never an error."""
    return " ".join((raw or "").split()).lower()[:64]


# --- login sessions ----------------------------------------------------------------------


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
    return (
        LoginSession.revoked_at.is_(None)
        & (LoginSession.expires_at > now)
        & (LoginSession.last_seen_at > now - rules.idle)
    )


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
    # One query for the user, their roles and the login (every request of a logged-in user
    # makes it).
    row = session.execute(
        select(User, LoginSession.id, LoginSession.last_seen_at)
        .join(LoginSession, LoginSession.user_id == User.id)
        .where(
            User.id == user_id,
            LoginSession.key_hash == login_key_hash(key),
            live_login_session(rules, now),
        )
        .options(joinedload(User.roles))
    ).unique().one_or_none()
    if row is None:
        return None
    user, login_id, last_seen = row
    if user.auth_epoch != epoch or not user.is_active_account:
        return None
    return SessionUser(user, login_id, last_seen <= now - rules.touch_every)


def touch_login_session(connection, login_session_id: int, now: datetime | None = None) -> None:
    """Note that a login session was used now (on a connection of its own, committed by the
    caller, so that a read-only request need not commit)."""
    connection.execute(
        update(LoginSession)
        .where(LoginSession.id == login_session_id)
        .values(last_seen_at=now or utcnow())
    )
