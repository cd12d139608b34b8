"""Small factories with numbered defaults; they flush, never commit."""

from __future__ import annotations

import itertools
from datetime import date

from sqlalchemy.orm import Session

from lms.models import OrgUnit, Role, RoleAssignment, UnitKind, User
from lms.services.accounts import hash_password
from lms.services.text import fold, sort_key

PASSWORD = "mat-khau-1"
_numbers = itertools.count(1)


class Factories:
    """Create rows in the test's session."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def unit(
        self,
        parent: OrgUnit | None = None,
        *,
        name: str | None = None,
        code: str | None = None,
        kind: UnitKind = UnitKind.GRASSROOTS,
    ) -> OrgUnit:
        n = next(_numbers)
        unit = OrgUnit(
            parent=parent,
            code=code or f"U{n}",
            name=name or f"Công đoàn cơ sở số {n}",
            kind=kind,
            path="",
            depth=parent.depth + 1 if parent else 0,
        )
        self.session.add(unit)
        self.session.flush()
        unit.path = f"{parent.path if parent else '/'}{unit.id}/"
        self.session.flush()
        return unit

    def user(
        self,
        unit: OrgUnit | None = None,
        *,
        username: str | None = None,
        full_name: str | None = None,
        roles: list[tuple[Role, OrgUnit | None]] | None = None,
        password: str = PASSWORD,
        must_change_password: bool = False,
        active: bool = True,
        issued_at: date | None = None,
    ) -> User:
        n = next(_numbers)
        full_name = full_name or f"Nguyễn Văn Số {n}"
        user = User(
            username=username or f"user{n}",
            full_name=full_name,
            sort_name=sort_key(full_name),
            search_name=fold(full_name),
            org_unit=unit,
            password_hash=hash_password(password),
            must_change_password=must_change_password,
            is_active_account=active,
            auth_epoch=0,
            issued_at=issued_at,
        )
        user.roles = [
            RoleAssignment(role=role, scope_unit=scope)
            for role, scope in (roles if roles is not None else [(Role.LEARNER, None)])
        ]
        self.session.add(user)
        self.session.flush()
        return user

    def learner(self, unit: OrgUnit, **kwargs) -> User:
        return self.user(unit, roles=[(Role.LEARNER, None)], **kwargs)

    def site_admin(self, **kwargs) -> User:
        return self.user(None, roles=[(Role.SITE_ADMIN, None)], **kwargs)

    def unit_admin(self, scope: OrgUnit, **kwargs) -> User:
        return self.user(scope, roles=[(Role.UNIT_ADMIN, scope)], **kwargs)

    def commit(self) -> None:
        self.session.commit()
