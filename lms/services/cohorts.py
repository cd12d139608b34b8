"""Batches ("đợt học"): their courses and number of days, and enrolling their members."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from lms.models import Cohort, Course, OrgUnit, User
from lms.services import audit, deadlines
from lms.services.catalog import enrol
from lms.services.clock import DEFAULT_TIMEZONE
from lms.services.errors import N_, DomainError, Forbidden
from lms.services.scope import Scope
from lms.services.text import clean_text


def _clean(name: str, days: int | None) -> str:
    name = clean_text(name)
    if not name:
        raise DomainError(N_("Enter the name of the batch."), field="name")
    if len(name) > 120:
        raise DomainError(N_("At most %(max)d characters."), field="name", max=120)
    if days is not None and not 1 <= days <= 365:
        raise DomainError(
            N_("deadline_days must be a whole number from 1 to 365."), field="deadline_days"
        )
    return name


def save_cohort(
    session: Session,
    actor: User,
    cohort: Cohort | None,
    *,
    name: str,
    unit: OrgUnit,
    courses: list[Course],
    deadline_days: int | None,
    timezone: str = DEFAULT_TIMEZONE,
) -> Cohort:
    """Create or change a batch; members are enrolled in added courses, deadlines recomputed."""
    scope = Scope.of(actor)
    if not scope.covers_unit(unit) or (
        cohort is not None and not scope.covers_unit(cohort.org_unit)
    ):
        raise Forbidden(N_("You cannot manage this batch."))
    name = _clean(name, deadline_days)
    duplicate = session.scalar(
        select(Cohort.id).where(
            Cohort.org_unit_id == unit.id,
            Cohort.name == name,
            Cohort.id != (cohort.id if cohort else -1),
        )
    )
    if duplicate:
        raise DomainError(
            N_("This unit already has a batch named %(name)s."), field="name", name=name
        )
    if cohort is None:
        cohort = Cohort(name=name, org_unit=unit)
        session.add(cohort)
        action = "cohort.create"
    else:
        action = "cohort.update"
    cohort.name, cohort.org_unit, cohort.deadline_days = name, unit, deadline_days
    cohort.courses = list(dict.fromkeys(courses))
    session.flush()
    for member in session.scalars(select(User).where(User.cohort_id == cohort.id)):
        if member.org_unit is None or not cohort.org_unit.contains(member.org_unit):
            continue  # moved to another unit since: the batch no longer speaks for them
        for course in cohort.courses:
            if course.current_version_id is not None:
                enrol(session, member, course, timezone)
    deadlines.recompute_cohort(session, cohort, timezone)
    audit.record(
        session,
        actor,
        action,
        unit,
        cohort=name,
        days=deadline_days,
        courses=[c.title for c in cohort.courses],
    )
    return cohort


def assign(
    session: Session, user: User, cohort: Cohort | None, timezone: str = DEFAULT_TIMEZONE
) -> None:
    """Put an account in a batch and enrol it in the batch's courses."""
    if cohort is not None and (
        user.org_unit is None or not cohort.org_unit.contains(user.org_unit)
    ):
        raise DomainError(
            N_("The batch %(name)s belongs to another unit than this account."),
            field="cohort_id",
            name=cohort.name,
        )
    user.cohort = cohort
    session.flush()
    if cohort is not None:
        for course in cohort.courses:
            if course.current_version_id is not None:
                enrol(session, user, course, timezone)
    deadlines.recompute_user(session, user, timezone)
