"""Community digital-technology teams ("Tổ công nghệ số cộng đồng"): a unit's admins set a
team up (3 to 5 members, the learners it supports); its members see who needs help, record
their contacts, hand a learner who never logged in a new login slip, and ask the unit's admins
to extend a deadline, which an admin approves (through the deadline service) or refuses.

A team member reaches the learners of their own teams only: every function that serves a
member takes the member and answers NotFound for a team they are not in, or for a learner
their team does not support (`member_team`, `team_learner`: the one door). What a member sees
of a learner is whether they passed, never a score.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import Select, exists, func, select
from sqlalchemy.orm import Session

from lms.models import (
    AttemptStatus,
    Cohort,
    ContactKind,
    ContactOutcome,
    Enrolment,
    ExtensionRequest,
    OrgUnit,
    RequestStatus,
    Role,
    RoleAssignment,
    SupportContact,
    SupportTeam,
    TestAttempt,
    User,
)
from lms.models.teams import team_member
from lms.services import accounts, assessment, audit, deadlines, learning
from lms.services.clock import DEFAULT_TIMEZONE
from lms.services.errors import N_, DomainError, Forbidden, NotFound
from lms.services.reports.figures import passed_expr
from lms.services.reports.learners import LearnerFilter, learner_query
from lms.services.scope import Scope

MIN_MEMBERS = 3
MAX_MEMBERS = 5
# "Not started 2 days after the account was handed out", "no progress for 3 days",
# "the deadline is within 2 days" (issue 22).
NOT_STARTED_AFTER_DAYS = 2
STUCK_AFTER_DAYS = 3
DUE_WITHIN_DAYS = 2
# What a team may ask for one learner: more is the admins' own decision.
MAX_REQUEST_DAYS = 30


class Need(enum.StrEnum):
    """Why a supported learner may need help; a learner may be in several lists."""

    NOT_LOGGED_IN = "not_logged_in"
    NOT_STARTED = "not_started"
    STUCK = "stuck"
    DUE_SOON = "due_soon"
    FAILED_TEST = "failed_test"


def _clean_name(name: str) -> str:
    name = " ".join((name or "").split())
    if not name:
        raise DomainError(N_("Give the team a name."), field="name")
    if len(name) > 200:
        raise DomainError(N_("A team name has at most 200 characters."), field="name")
    return name


def save_team(
    session: Session,
    scope: Scope,
    actor: User,
    *,
    name: str,
    unit: OrgUnit,
    members: Sequence[User],
    cohorts: Sequence[Cohort] = (),
    team: SupportTeam | None = None,
) -> SupportTeam:
    """Create a team of `unit` (or change one) with 3 to 5 members the admin manages, each
    given the team-member role; `cohorts` narrows the learners it supports to those batches
    (none: every learner of the unit's subtree)."""
    name = _clean_name(name)
    if team is not None and not scope.covers_unit(team.org_unit):
        raise NotFound(N_("This team does not exist."))
    if not scope.covers_unit(unit):
        raise Forbidden(N_("You do not manage this unit."), field="unit")
    members = list(dict.fromkeys(members))
    if not MIN_MEMBERS <= len(members) <= MAX_MEMBERS:
        raise DomainError(
            N_("A team has 3 to 5 members; %(count)s were named."),
            field="members",
            count=len(members),
        )
    for user in members:
        if not scope.can_manage_user(user):
            raise Forbidden(
                N_("You do not manage the account %(username)s."),
                field="members",
                username=user.username,
            )
        if not user.is_active_account:
            raise DomainError(
                N_("The account %(username)s is deactivated."),
                field="members",
                username=user.username,
            )
    for cohort in cohorts:
        if not scope.covers_unit(cohort.org_unit):
            raise NotFound(N_("This batch does not exist."), field="cohorts")
    clash = session.scalar(
        select(SupportTeam.id).where(
            SupportTeam.org_unit_id == unit.id,
            func.lower(SupportTeam.name) == name.lower(),
            SupportTeam.id != (team.id if team else -1),
        )
    )
    if clash is not None:
        raise DomainError(
            N_("%(unit)s already has a team named %(name)s."),
            field="name",
            unit=unit.name,
            name=name,
        )
    action = "team.update" if team is not None else "team.create"
    if team is None:
        team = SupportTeam(name=name, org_unit=unit)
        session.add(team)
    for user in members:
        if not user.has_role(Role.TEAM_MEMBER):
            session.add(RoleAssignment(user=user, role=Role.TEAM_MEMBER))
    team.name = name
    team.org_unit = unit
    team.members = members
    team.cohorts = list(dict.fromkeys(cohorts))
    session.flush()
    audit.record(
        session,
        actor,
        action,
        team,
        members=[u.username for u in members],
        batches=[c.name for c in team.cohorts] or None,
    )
    return team


def admin_team(session: Session, scope: Scope, team_id: int) -> SupportTeam:
    """A team of the admin's scope; NotFound for any other."""
    team = session.get(SupportTeam, team_id)
    if team is None or not scope.covers_unit(team.org_unit):
        raise NotFound(N_("This team does not exist."))
    return team


# -- the member's door ------------------------------------------------------------------


def member_teams(session: Session, member: User) -> list[SupportTeam]:
    """The teams `member` belongs to."""
    return list(
        session.scalars(
            select(SupportTeam)
            .join(team_member, team_member.c.team_id == SupportTeam.id)
            .where(team_member.c.user_id == member.id)
            .order_by(SupportTeam.name)
        )
    )


def member_team(session: Session, member: User, team_id: int) -> SupportTeam:
    """One of the member's teams; NotFound for any other (nothing leaks)."""
    team = session.scalar(
        select(SupportTeam)
        .join(team_member, team_member.c.team_id == SupportTeam.id)
        .where(SupportTeam.id == team_id, team_member.c.user_id == member.id)
    )
    if team is None:
        raise NotFound(N_("This team does not exist."))
    return team


def supported(
    session: Session,
    team: SupportTeam,
    f: LearnerFilter | None = None,
    now: datetime | None = None,
) -> Select:
    """The active learners the team supports (its unit's subtree, or its batches), filtered
    and sorted like an admin's learner list (a SELECT of User)."""
    stmt = learner_query(
        session,
        Scope(everything=False, paths=(team.org_unit.path,)),
        f or LearnerFilter(role=Role.LEARNER.value),
        now,
    ).where(User.is_active_account.is_(True))
    if team.cohorts:
        stmt = stmt.where(User.cohort_id.in_([c.id for c in team.cohorts]))
    return stmt


def team_learner(session: Session, member: User, team_id: int, learner_id: int):
    """(team, learner) when `member` is in the team and the team supports the learner;
    NotFound otherwise, whichever part is wrong."""
    team = member_team(session, member, team_id)
    learner = session.scalar(supported(session, team).where(User.id == learner_id))
    if learner is None:
        raise NotFound(N_("This learner is not one your team supports."))
    return team, learner


# -- who needs help ---------------------------------------------------------------------


def _enrolled(*conditions):
    return exists().where(Enrolment.user_id == User.id, *conditions)


def needing(
    session: Session,
    team: SupportTeam,
    need: Need,
    now: datetime,
    timezone: str = DEFAULT_TIMEZONE,
) -> Select:
    """The learners of the team in one list of "who needs help" at `now` (SELECT of User)."""
    today = deadlines.local_today(now, timezone)
    base = LearnerFilter(role=Role.LEARNER.value)
    open_ = Enrolment.completed_at.is_(None)
    match need:
        case Need.NOT_LOGGED_IN:
            return supported(
                session, team, LearnerFilter(role="learner", status="never_logged_in"), now
            )
        case Need.NOT_STARTED:
            issued_by = today - timedelta(days=NOT_STARTED_AFTER_DAYS)
            return supported(
                session, team, LearnerFilter(role="learner", progress="not_started"), now
            ).where(User.issued_at <= issued_by)
        case Need.STUCK:
            since = now - timedelta(days=STUCK_AFTER_DAYS)
            return supported(session, team, base, now).where(
                _enrolled(open_, Enrolment.started_at.is_not(None), ~learning.moved_since(since))
            )
        case Need.DUE_SOON:
            horizon = deadlines.end_of_day(today + timedelta(days=DUE_WITHIN_DAYS), timezone)
            return supported(session, team, base, now).where(
                _enrolled(open_, Enrolment.due_at > now, Enrolment.due_at <= horizon)
            )
        case Need.FAILED_TEST:
            # Not passed, and at least one attempt graded: the last one failed (and maybe no
            # attempt is left, which the learner's card says).
            graded = exists().where(
                TestAttempt.enrolment_id == Enrolment.id,
                TestAttempt.status == AttemptStatus.GRADED,
            )
            return supported(session, team, base, now).where(
                _enrolled(open_, graded, ~passed_expr())
            )
    raise ValueError(need)


def counts(
    session: Session, team: SupportTeam, now: datetime, timezone: str = DEFAULT_TIMEZONE
) -> dict[Need, int]:
    """How many learners are in each list, and the team's learners in all."""
    result = {}
    for need in Need:
        stmt = needing(session, team, need, now, timezone).order_by(None)
        result[need] = session.scalar(select(func.count()).select_from(stmt.subquery()))
    return result


def supported_count(session: Session, team: SupportTeam) -> int:
    """How many learners the team supports."""
    stmt = supported(session, team).order_by(None)
    return session.scalar(select(func.count()).select_from(stmt.subquery()))


@dataclass(frozen=True)
class CourseLine:
    """A learner's course as a team member sees it: no score, only passed or not yet."""

    enrolment: Enrolment
    title: str
    done: int
    required: int
    countdown: deadlines.Countdown
    passed: bool
    out_of_attempts: bool
    pending_request: ExtensionRequest | None


def course_lines(
    session: Session, learner: User, now: datetime, timezone: str = DEFAULT_TIMEZONE
) -> list[CourseLine]:
    """The learner's courses for their card."""
    lines = []
    for enrolment in session.scalars(
        select(Enrolment).where(Enrolment.user_id == learner.id).order_by(Enrolment.enrolled_at)
    ):
        progress = learning.progress_of(session, enrolment)
        passed = session.scalar(
            select(exists().where(TestAttempt.enrolment_id == enrolment.id, TestAttempt.passed))
        )
        pending = session.scalar(
            select(ExtensionRequest).where(
                ExtensionRequest.enrolment_id == enrolment.id,
                ExtensionRequest.status == RequestStatus.PENDING,
            )
        )
        lines.append(
            CourseLine(
                enrolment=enrolment,
                title=enrolment.version.title,
                done=progress.done,
                required=progress.required,
                countdown=deadlines.countdown(enrolment, now, timezone),
                passed=bool(passed),
                out_of_attempts=assessment.out_of_attempts(session, enrolment) is not None,
                pending_request=pending,
            )
        )
    return lines


def contacts_of(session: Session, team: SupportTeam, learner: User) -> list[SupportContact]:
    """The team's contacts with the learner, newest first."""
    return list(
        session.scalars(
            select(SupportContact)
            .where(SupportContact.team_id == team.id, SupportContact.learner_id == learner.id)
            .order_by(SupportContact.at.desc(), SupportContact.id.desc())
        )
    )


# -- the members' actions ---------------------------------------------------------------


def record_contact(
    session: Session,
    member: User,
    team: SupportTeam,
    learner: User,
    *,
    kind: ContactKind,
    outcome: ContactOutcome,
    note: str,
    now: datetime,
) -> SupportContact:
    """Keep a contact a member had with a learner of the team (found through team_learner)."""
    note = " ".join((note or "").split())
    if len(note) > 1000:
        raise DomainError(N_("The note has at most 1,000 characters."), field="note")
    contact = SupportContact(
        team_id=team.id,
        learner_id=learner.id,
        member_id=member.id,
        kind=ContactKind(kind),
        outcome=ContactOutcome(outcome),
        note=note,
        at=now,
    )
    session.add(contact)
    session.flush()
    return contact


def new_login(
    session: Session,
    member: User,
    team: SupportTeam,
    learner: User,
    timezone: str = DEFAULT_TIMEZONE,
) -> tuple[str, date | None]:
    """A new initial password for a learner of the team who never logged in (reset by the
    account service, audited as the member's); returns it with the learner's nearest due
    day, for the slip. Refused once the learner has logged in: then it is their password."""
    if learner.last_login_at is not None:
        raise DomainError(
            N_(
                "%(name)s has already logged in: only the unit's administrators can reset "
                "the password now."
            ),
            name=learner.full_name,
        )
    password = accounts.new_initial_password(
        session, member, learner, "team.new_slip", team=team.name
    )
    due = session.scalar(
        select(func.min(Enrolment.due_at)).where(
            Enrolment.user_id == learner.id, Enrolment.completed_at.is_(None)
        )
    )
    return password, deadlines.due_day(due, timezone) if due else None


def request_extension(
    session: Session,
    member: User,
    team: SupportTeam,
    learner: User,
    *,
    enrolment_id: int,
    days: int | None,
    reason: str,
) -> ExtensionRequest:
    """Ask the unit's admins to extend the learner's deadline in one course by `days`."""
    enrolment = session.scalar(
        select(Enrolment).where(Enrolment.id == enrolment_id, Enrolment.user_id == learner.id)
    )
    if enrolment is None:
        raise NotFound(N_("This learner is not enrolled in that course."))
    if enrolment.completed_at is not None:
        raise DomainError(N_("This learner has completed the course: there is nothing to extend."))
    if days is None or not 1 <= days <= MAX_REQUEST_DAYS:
        raise DomainError(N_("Ask for 1 to %(max)d days."), field="days", max=MAX_REQUEST_DAYS)
    reason = " ".join((reason or "").split())
    if not reason:
        raise DomainError(N_("Give the reason for the extension."), field="reason")
    if len(reason) > 500:
        raise DomainError(N_("The reason is too long (at most 500 characters)."), field="reason")
    pending = session.scalar(
        select(ExtensionRequest.id).where(
            ExtensionRequest.enrolment_id == enrolment.id,
            ExtensionRequest.status == RequestStatus.PENDING,
        )
    )
    if pending is not None:
        raise DomainError(N_("An extension for this course is already waiting for an answer."))
    request = ExtensionRequest(
        team_id=team.id,
        enrolment_id=enrolment.id,
        requested_by_id=member.id,
        days=days,
        reason=reason,
    )
    session.add(request)
    session.flush()
    audit.record(
        session,
        member,
        "team.extension_request",
        learner,
        course=enrolment.version.title,
        days=days,
        team=team.name,
    )
    return request


# -- the admins' answer -----------------------------------------------------------------


def pending_requests(scope: Scope) -> Select:
    """The extension requests waiting for an answer from the admin's scope, oldest first."""
    return (
        select(ExtensionRequest)
        .join(SupportTeam, ExtensionRequest.team_id == SupportTeam.id)
        .join(OrgUnit, SupportTeam.org_unit_id == OrgUnit.id)
        .where(ExtensionRequest.status == RequestStatus.PENDING, scope.unit_filter())
        .order_by(ExtensionRequest.created_at, ExtensionRequest.id)
    )


def decide(
    session: Session,
    actor: User,
    request_id: int,
    *,
    approve: bool,
    now: datetime,
    timezone: str = DEFAULT_TIMEZONE,
) -> ExtensionRequest:
    """An admin approves a request (the deadline is extended by deadlines.extend, with the
    team's reason) or refuses it. NotFound outside the admin's scope or once answered."""
    scope = Scope.of(actor)
    request = session.scalar(pending_requests(scope).where(ExtensionRequest.id == request_id))
    if request is None or not scope.can_manage_user(request.enrolment.user):
        raise NotFound(N_("This request does not exist or has been answered."))
    if approve:
        if request.enrolment.completed_at is None:
            deadlines.extend(
                session,
                actor,
                [request.enrolment],
                reason=request.reason,
                days=request.days,
                timezone=timezone,
                now=now,
            )
    else:
        audit.record(
            session,
            actor,
            "team.extension_refused",
            request.enrolment.user,
            course=request.enrolment.version.title,
            days=request.days,
            team=request.team.name,
        )
    request.status = RequestStatus.APPROVED if approve else RequestStatus.REFUSED
    request.decided_by_id = actor.id
    request.decided_at = now
    session.flush()
    return request


# -- figures for the reports --------------------------------------------------------------


@dataclass
class TeamFigures:
    """What the teams of a unit's subtree did, for one course: teams, members, learners
    supported, contacts, and the learners they contacted who completed the course after
    the first contact (the teams' effect)."""

    teams: int = 0
    members: int = 0
    supported: int = 0
    contacts: int = 0
    completed_after: int = 0


def figures(
    session: Session, scope: Scope, paths: dict[int | None, str | None], course_id: int
) -> dict[int | None, TeamFigures]:
    """TeamFigures for each unit subtree in `paths` ({key: materialized path}; a None path is
    the whole scope), counting the teams of the scope located in that subtree."""
    found = session.scalars(
        select(SupportTeam)
        .join(OrgUnit, SupportTeam.org_unit_id == OrgUnit.id)
        .where(scope.unit_filter())
    ).all()
    supported_ids = {}
    for team in found:
        ids = supported(session, team).order_by(None).subquery()
        supported_ids[team.id] = set(session.scalars(select(ids.c.id)))
    first_contacts: dict[int, dict[int, datetime]] = {t.id: {} for t in found}
    contact_counts = {t.id: 0 for t in found}
    for team_id, learner_id, first, count in session.execute(
        select(
            SupportContact.team_id,
            SupportContact.learner_id,
            func.min(SupportContact.at),
            func.count(),
        )
        .where(SupportContact.team_id.in_(list(first_contacts)))
        .group_by(SupportContact.team_id, SupportContact.learner_id)
    ):
        first_contacts[team_id][learner_id] = _aware(first)
        contact_counts[team_id] += count
    contacted = {lid for by_learner in first_contacts.values() for lid in by_learner}
    completed = {
        user_id: _aware(at)
        for user_id, at in session.execute(
            select(Enrolment.user_id, Enrolment.completed_at).where(
                Enrolment.course_id == course_id,
                Enrolment.completed_at.is_not(None),
                Enrolment.user_id.in_(list(contacted)),
            )
        )
    }
    result = {}
    for key, path in paths.items():
        inside = [t for t in found if path is None or t.org_unit.path.startswith(path)]
        first: dict[int, datetime] = {}
        for team in inside:
            for learner_id, at in first_contacts[team.id].items():
                first[learner_id] = min(at, first.get(learner_id, at))
        result[key] = TeamFigures(
            teams=len(inside),
            members=len({m.id for t in inside for m in t.members}),
            supported=len(set().union(*(supported_ids[t.id] for t in inside))),
            contacts=sum(contact_counts[t.id] for t in inside),
            completed_after=sum(
                1 for lid, at in first.items() if lid in completed and completed[lid] >= at
            ),
        )
    return result


def _aware(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value
