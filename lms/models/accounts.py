"""Accounts: the union-unit tree, users, the batches they are issued in, their roles, their
logins and login throttling."""

from __future__ import annotations

import enum
from datetime import date, datetime

from flask_login import UserMixin
from sqlalchemy import (
    Boolean,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lms.app.database import UTCDateTime, str_enum, utcnow
from lms.app.extensions import db
from lms.models.catalog import Course


class UnitKind(enum.StrEnum):
    """The level of a unit in a federation's tree."""

    FEDERATION = "federation"  # LĐLĐ tỉnh/thành phố
    DISTRICT = "district"  # LĐLĐ quận/huyện/thị xã
    SECTOR = "sector"  # Công đoàn ngành
    GRASSROOTS = "grassroots"  # Công đoàn cơ sở
    AGENCY = "agency"  # cơ quan, doanh nghiệp
    OTHER = "other"


class Role(enum.StrEnum):
    """What an account may do. A unit admin's rights are limited to one subtree."""

    LEARNER = "learner"
    AUTHOR = "author"
    # Takes attendance in the in-person classes they are named trainer of, and nothing else.
    TRAINER = "trainer"
    # Helps the learners a community digital-technology team supports, and nothing else.
    TEAM_MEMBER = "team_member"
    UNIT_ADMIN = "unit_admin"
    SITE_ADMIN = "site_admin"


class OrgUnit(db.Model):
    """A union unit: provincial federation -> district/sector union -> grassroots union.

    `path` is the materialized path of ids ("/1/5/12/"), so a subtree is one indexed prefix
    query however deep the tree is.
    """

    __tablename__ = "org_unit"
    __table_args__ = (UniqueConstraint("parent_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("org_unit.id"), index=True)
    code: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[UnitKind] = mapped_column(
        str_enum(UnitKind),
        default=UnitKind.OTHER,
    )
    path: Mapped[str] = mapped_column(String(1000), index=True, default="")
    depth: Mapped[int] = mapped_column(Integer, default=0)
    # The issuing organisation printed on the certificates of the learners of this subtree
    # instead of the site's (a federation that issues its own); the nearest one above wins.
    certificate_issuer: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    parent: Mapped[OrgUnit | None] = relationship(
        back_populates="children", remote_side="OrgUnit.id"
    )
    children: Mapped[list[OrgUnit]] = relationship(back_populates="parent", order_by="OrgUnit.name")
    users: Mapped[list[User]] = relationship(back_populates="org_unit")

    def contains(self, other: OrgUnit) -> bool:
        """True when `other` is this unit or one of its descendants."""
        return other.path.startswith(self.path)

    def __repr__(self) -> str:
        return f"<OrgUnit {self.id} {self.code!r}>"


cohort_course = Table(
    "cohort_course",
    db.metadata,
    Column("cohort_id", ForeignKey("cohort.id", ondelete="CASCADE"), primary_key=True),
    Column("course_id", ForeignKey("course.id"), primary_key=True),
)


class Cohort(db.Model):
    """A batch of accounts issued together: they follow the same courses and deadline."""

    __tablename__ = "cohort"
    __table_args__ = (UniqueConstraint("org_unit_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    # The unit that owns the batch; its admins (and those above) manage it.
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)
    # Overrides the courses' own number of days when set.
    deadline_days: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    org_unit: Mapped[OrgUnit] = relationship()
    courses: Mapped[list[Course]] = relationship(secondary=cohort_course, order_by=Course.title)


class User(UserMixin, db.Model):
    """An account. Learners belong to a unit; `issued_at` is the day it was handed out."""

    __tablename__ = "user_account"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    full_name: Mapped[str] = mapped_column(String(120))
    # Derived from full_name by the services: Vietnamese list order, and accent-free search.
    sort_name: Mapped[str] = mapped_column(String(400), index=True, default="")
    search_name: Mapped[str] = mapped_column(String(120), index=True, default="")
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(20))
    birth_date: Mapped[date | None] = mapped_column(Date)
    org_unit_id: Mapped[int | None] = mapped_column(ForeignKey("org_unit.id"), index=True)
    issued_at: Mapped[date | None] = mapped_column(Date)
    cohort_id: Mapped[int | None] = mapped_column(ForeignKey("cohort.id"), index=True)
    locale: Mapped[str | None] = mapped_column(String(10))
    # Lessons skip embedded videos until asked (lms/web/data_saver.py); None: the browser's
    # Save-Data header decides.
    data_saver: Mapped[bool | None] = mapped_column(Boolean)

    password_hash: Mapped[str] = mapped_column(String(255))
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=True)
    password_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Part of the session cookie's user id: bumping it logs the account out everywhere
    # (password reset, deactivation), whatever LoginSession rows say.
    auth_epoch: Mapped[int] = mapped_column(Integer, default=0)
    is_active_account: Mapped[bool] = mapped_column("is_active", Boolean, default=True)
    deactivated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    org_unit: Mapped[OrgUnit | None] = relationship(back_populates="users")
    cohort: Mapped[Cohort | None] = relationship()
    roles: Mapped[list[RoleAssignment]] = relationship(
        back_populates="user", cascade="all, delete-orphan", lazy="selectin"
    )

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive accounts
        return self.is_active_account

    def get_id(self) -> str:
        return f"{self.id}:{self.auth_epoch}"

    def has_role(self, role: Role) -> bool:
        """True when the account holds `role` (with any scope)."""
        return any(r.role == role for r in self.roles)

    @property
    def is_site_admin(self) -> bool:
        return self.has_role(Role.SITE_ADMIN)

    @property
    def is_admin(self) -> bool:
        return self.has_role(Role.SITE_ADMIN) or self.has_role(Role.UNIT_ADMIN)

    @property
    def is_author(self) -> bool:
        return self.has_role(Role.AUTHOR) or self.is_site_admin

    def admin_scopes(self) -> list[OrgUnit]:
        """The roots of the subtrees this account administers (empty for a site admin)."""
        return [r.scope_unit for r in self.roles if r.role == Role.UNIT_ADMIN and r.scope_unit]

    def __repr__(self) -> str:
        return f"<User {self.id} {self.username!r}>"


class RoleAssignment(db.Model):
    """One role of one account; a unit admin's row names the root of their subtree."""

    __tablename__ = "role_assignment"
    __table_args__ = (
        UniqueConstraint("user_id", "role", "scope_unit_id"),
        # NULLs are distinct in a unique constraint: unscoped roles need their own index.
        Index(
            "uq_role_assignment_unscoped",
            "user_id",
            "role",
            unique=True,
            sqlite_where=text("scope_unit_id IS NULL"),
            postgresql_where=text("scope_unit_id IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    role: Mapped[Role] = mapped_column(str_enum(Role))
    scope_unit_id: Mapped[int | None] = mapped_column(ForeignKey("org_unit.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    user: Mapped[User] = relationship(back_populates="roles")
    scope_unit: Mapped[OrgUnit | None] = relationship(lazy="joined")


class LoginFailure(db.Model):
    """A failed login, counted per account and per IP to slow down password guessing."""

    __tablename__ = "login_failure"
    __table_args__ = (Index("ix_login_failure_key_at", "key", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(120))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class LoginSession(db.Model):
    """One login of one account, named by the session cookie: logging out revokes it.

    The cookie carries a random key; only its SHA-256 is stored, so the table does not hold
    anything that logs anyone in. A session ends when it is revoked (logout, password change,
    reset, deactivation), when it has been idle too long (`last_seen_at`, touched at most every
    few minutes) or at `expires_at`, however active it is (the absolute lifetime).
    """

    __tablename__ = "login_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
