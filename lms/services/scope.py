"""What an admin may see and change: everything for a site admin, one or more subtrees for a
unit admin. Every admin query goes through a Scope, so no page can forget the filter."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, false, or_, select, true
from sqlalchemy.orm import Session

from lms.models import OrgUnit, Role, RoleAssignment, User


@dataclass(frozen=True)
class Scope:
    """The subtrees (materialized paths) an admin manages; `everything` for a site admin."""

    everything: bool
    paths: tuple[str, ...]

    @classmethod
    def of(cls, user: User) -> Scope:
        """The scope of `user`'s admin roles (empty when they have none)."""
        if user.is_site_admin:
            return cls(everything=True, paths=())
        paths = tuple(sorted({u.path for u in user.admin_scopes()}))
        return cls(everything=False, paths=paths)

    @property
    def is_empty(self) -> bool:
        return not self.everything and not self.paths

    def _under(self, column) -> ColumnElement[bool]:
        if self.everything:
            return true()
        if not self.paths:
            return false()
        return or_(*(column.startswith(p, autoescape=True) for p in self.paths))

    def unit_filter(self) -> ColumnElement[bool]:
        """A WHERE clause keeping the units inside the scope."""
        return self._under(OrgUnit.path)

    def user_filter(self) -> ColumnElement[bool]:
        """A WHERE clause keeping users whose unit is inside the scope (join OrgUnit first)."""
        return self._under(OrgUnit.path)

    def path_filter(self, column) -> ColumnElement[bool]:
        """A WHERE clause keeping rows whose path column is inside the scope."""
        return self._under(column)

    def covers_path(self, path: str | None) -> bool:
        if self.everything:
            return True
        return path is not None and any(path.startswith(p) for p in self.paths)

    def covers_unit(self, unit: OrgUnit | None) -> bool:
        """True when the unit is inside the scope."""
        return unit is not None and self.covers_path(unit.path)

    def is_scope_root(self, unit: OrgUnit) -> bool:
        """True for the root of one of a unit admin's subtrees (which only a site admin edits)."""
        return not self.everything and unit.path in self.paths

    def can_edit_unit(self, unit: OrgUnit) -> bool:
        """Renaming, moving and deleting: inside the scope, and not the scope's own root."""
        return self.covers_unit(unit) and not self.is_scope_root(unit)

    def can_grant(self, role: Role, scope_unit: OrgUnit | None = None) -> bool:
        """Site admins grant anything; unit admins grant learner, trainer and team member (a
        trainer sees only the classes they are named to, a team member only the learners of
        their teams), and unit admin inside scope."""
        if self.everything:
            return True
        if role in (Role.LEARNER, Role.TRAINER, Role.TEAM_MEMBER):
            return True
        if role == Role.UNIT_ADMIN:
            return self.covers_unit(scope_unit)
        return False

    def can_manage_user(self, user: User) -> bool:
        """Inside the scope, and holding no right the admin could not grant themselves.

        Without the second condition a unit admin could reset the password of a site admin
        who happens to belong to a unit of their subtree, and take over the site.
        """
        if self.everything:
            return True
        if not self.covers_unit(user.org_unit):
            return False
        return all(self.can_grant(r.role, r.scope_unit) for r in user.roles)


def get_unit(session: Session, scope: Scope, unit_id: int) -> OrgUnit | None:
    """The unit with this id when it is inside the scope, else None."""
    unit = session.get(OrgUnit, unit_id)
    return unit if scope.covers_unit(unit) else None


def get_user(session: Session, scope: Scope, user_id: int) -> User | None:
    """The user with this id when the scope may manage them, else None."""
    user = session.get(User, user_id)
    return user if user is not None and scope.can_manage_user(user) else None


def administering_unit(session: Session, unit: OrgUnit | None) -> OrgUnit | None:
    """The nearest unit at or above `unit` that an active unit admin manages: the one its
    learners turn to. None when no unit admin's scope covers it (site admins only)."""
    if unit is None:
        return None
    ids = [int(part) for part in unit.path.strip("/").split("/") if part.isdigit()]
    return session.scalar(
        select(OrgUnit)
        .join(RoleAssignment, RoleAssignment.scope_unit_id == OrgUnit.id)
        .join(User, User.id == RoleAssignment.user_id)
        .where(
            RoleAssignment.role == Role.UNIT_ADMIN,
            OrgUnit.id.in_(ids),
            User.is_active_account.is_(True),
        )
        .order_by(OrgUnit.depth.desc())
        .limit(1)
    )


__all__ = ["Scope", "administering_unit", "get_unit", "get_user", "Role"]
