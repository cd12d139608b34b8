"""Writing the audit log."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from lms.models import (
    AuditEvent,
    Course,
    OrganisationProfile,
    OrgUnit,
    SupportTeam,
    TrainingClass,
    User,
)


def record(
    session: Session,
    actor: User | None,
    action: str,
    target: OrgUnit | User | Course | OrganisationProfile | TrainingClass | SupportTeam,
    **details: Any,
) -> AuditEvent:
    """Add an audit event for `action` on `target`, scoped to the target's unit."""
    if isinstance(target, OrgUnit):
        target_type, unit_path, label = "unit", target.path, target.name
    elif isinstance(target, Course):
        # Courses are site-wide: their events are for site administrators.
        target_type, unit_path, label = "course", None, target.title
    elif isinstance(target, OrganisationProfile):
        # What certificates print is the whole site's: for site administrators.
        target_type, unit_path, label = "organisation", None, target.organisation
    elif isinstance(target, TrainingClass):
        target_type, unit_path, label = "class", target.org_unit.path, target.name
    elif isinstance(target, SupportTeam):
        target_type, unit_path, label = "team", target.org_unit.path, target.name
    else:
        target_type = "user"
        unit_path = target.org_unit.path if target.org_unit else None
        label = f"{target.full_name} ({target.username})"
    session.flush()  # the target needs its id
    event = AuditEvent(
        actor_id=actor.id if actor else None,
        action=action,
        target_type=target_type,
        target_id=target.id,
        unit_path=unit_path,
        details={"label": label, **{k: v for k, v in details.items() if v is not None}},
    )
    session.add(event)
    return event
