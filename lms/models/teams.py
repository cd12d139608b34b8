"""Community digital-technology teams ("Tổ công nghệ số cộng đồng"): a team of a unit, its
members, the batches it is narrowed to, the support contacts its members record with
learners, and the deadline extensions they ask the unit's admins for."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Column, ForeignKey, Integer, String, Table, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lms.app.database import UTCDateTime, str_enum, utcnow
from lms.app.extensions import db
from lms.models.accounts import Cohort, OrgUnit, User
from lms.models.learning import Enrolment


class ContactKind(enum.StrEnum):
    """How a team member reached a learner."""

    CALL = "call"
    VISIT = "visit"
    MESSAGE = "message"
    IN_PERSON = "in_person"


class ContactOutcome(enum.StrEnum):
    """What came of a support contact."""

    SOLVED = "solved"
    FOLLOW_UP = "follow_up"
    UNREACHABLE = "unreachable"


class RequestStatus(enum.StrEnum):
    """Where a team's extension request stands."""

    PENDING = "pending"
    APPROVED = "approved"
    REFUSED = "refused"


team_member = Table(
    "team_member",
    db.metadata,
    Column("team_id", ForeignKey("support_team.id", ondelete="CASCADE"), primary_key=True),
    Column(
        "user_id", ForeignKey("user_account.id", ondelete="CASCADE"), primary_key=True, index=True
    ),
)

# The batches a team is narrowed to; none: every learner of the team's unit subtree.
team_cohort = Table(
    "team_cohort",
    db.metadata,
    Column("team_id", ForeignKey("support_team.id", ondelete="CASCADE"), primary_key=True),
    Column("cohort_id", ForeignKey("cohort.id", ondelete="CASCADE"), primary_key=True),
)


class SupportTeam(db.Model):
    """A team of 3 to 5 members of a unit who help its learners (the unit's subtree, or the
    batches chosen) to log in and finish."""

    __tablename__ = "support_team"
    __table_args__ = (UniqueConstraint("org_unit_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    org_unit: Mapped[OrgUnit] = relationship()
    members: Mapped[list[User]] = relationship(secondary=team_member, order_by=User.sort_name)
    cohorts: Mapped[list[Cohort]] = relationship(secondary=team_cohort, order_by=Cohort.name)


class SupportContact(db.Model):
    """One contact a team member had with a learner: how, what was said, what came of it."""

    __tablename__ = "support_contact"

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[int] = mapped_column(
        ForeignKey("support_team.id", ondelete="CASCADE"), index=True
    )
    learner_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    member_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    kind: Mapped[ContactKind] = mapped_column(str_enum(ContactKind))
    outcome: Mapped[ContactOutcome] = mapped_column(str_enum(ContactOutcome))
    note: Mapped[str] = mapped_column(String(1000), default="")
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    member: Mapped[User | None] = relationship(foreign_keys=[member_id])


class ExtensionRequest(db.Model):
    """A team member asks the unit's admins to extend a learner's deadline by some days; an
    admin approves it (the extension is made by the deadline service) or refuses it."""

    __tablename__ = "extension_request"

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[int] = mapped_column(
        ForeignKey("support_team.id", ondelete="CASCADE"), index=True
    )
    enrolment_id: Mapped[int] = mapped_column(
        ForeignKey("enrolment.id", ondelete="CASCADE"), index=True
    )
    requested_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    days: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(String(500))
    status: Mapped[RequestStatus] = mapped_column(
        str_enum(RequestStatus), default=RequestStatus.PENDING, index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    team: Mapped[SupportTeam] = relationship()
    enrolment: Mapped[Enrolment] = relationship()
    requested_by: Mapped[User | None] = relationship(foreign_keys=[requested_by_id])
