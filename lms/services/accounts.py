"""Accounts: creating and editing users and their roles, resetting a password, activation,
and changing one's own password."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from lms.models import (
    AuditEvent,
    LoginFailure,
    OrgUnit,
    Role,
    RoleAssignment,
    User,
    utcnow,
)
from lms.services import audit, clock
from lms.services.errors import N_, DomainError, Forbidden
from lms.services.logins import account_key, end_login_sessions
from lms.services.passwords import (
    check_new_password,
    generate_password,
    hash_password,
    password_matches,
)
from lms.services.scope import Scope
from lms.services.text import (
    clean_email,
    clean_full_name,
    clean_phone,
    clean_username,
    fold,
    sort_key,
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
    return new_initial_password(session, actor, user, "user.reset_password")


def new_initial_password(
    session: Session, actor: User, user: User, action: str, **details: object
) -> str:
    """reset_password() once the caller has decided that `actor` may (an admin's scope, or
    a support team's own rule), audited as `action`; returns the new password."""
    password = generate_password()
    user.password_hash = hash_password(password)
    user.must_change_password = True
    user.auth_epoch += 1
    end_login_sessions(session, user)
    session.execute(
        delete(LoginFailure).where(
            (LoginFailure.key == account_key(user.username))
            | LoginFailure.key.endswith(f":{user.username}", autoescape=True)
        )
    )
    audit.record(session, actor, action, user, **details)
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
    # The current password matched the stored hash: the new one is the same password when it
    # is the same text (no second memory-hard check).
    if new == current:
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
