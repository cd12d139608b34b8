"""The periodic report (every six months, every year): its figures and the reports issued."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Select,
    select,
)
from sqlalchemy.orm import Session

from lms.models import (
    Course,
    OrgUnit,
    Report,
    User,
    utcnow,
)
from lms.services.clock import DEFAULT_TIMEZONE
from lms.services.errors import N_, NotFound
from lms.services.reports.classes import class_figures
from lms.services.reports.figures import Filters, Period, overview
from lms.services.reports.snapshots import completions_per_day
from lms.services.scope import Scope


def report_data(
    session: Session,
    actor: User,
    *,
    course: Course,
    unit: OrgUnit | None,
    kind: str,
    period: Period,
    site_name: str,
    timezone: str = DEFAULT_TIMEZONE,
    now: datetime | None = None,
) -> dict:
    """The figures of a periodic report, counted now, as plain JSON-able values: the
    accounts issued in the period in the unit's subtree, by child unit, batch and day."""
    scope = Scope.of(actor)
    if unit is None and not scope.everything:
        raise NotFound(N_("This unit does not exist or is outside the units you manage."))
    now = now or utcnow()
    filters = Filters(course.id, issued_from=period.start, issued_to=period.end)
    view = overview(session, scope, filters, unit, now)
    days = completions_per_day(session, scope, filters, period, unit, timezone)
    class_total, class_rows = class_figures(session, scope, course.id, unit, now, period, timezone)
    return {
        "unit": unit.name if unit else site_name,
        "unit_id": unit.id if unit else None,
        "course": course.title,
        "kind": kind,
        "start": period.start.isoformat(),
        "end": period.end.isoformat(),
        "as_of": now.isoformat(),
        "issued_by": actor.full_name,
        "total": view.total.as_dict(),
        "unit_path": unit.path if unit else None,
        "rows": [
            {"name": r.name, "code": r.code, "path": r.path, "counts": r.total.as_dict()}
            for r in view.rows
        ],
        "batches": [{"name": b.name, "counts": b.counts.as_dict()} for b in view.batches],
        "days": [[d.isoformat(), n] for d, n in days],
        "classes": {
            "total": class_total.as_dict(),
            "rows": [
                {"name": r.name, "code": r.code, "counts": r.counts.as_dict()} for r in class_rows
            ],
        },
    }


def reports_of(session: Session, scope: Scope) -> Select:
    """Issued reports the scope may see: those on its units (site-wide ones: site admins)."""
    stmt = select(Report).outerjoin(OrgUnit, Report.org_unit_id == OrgUnit.id)
    if not scope.everything:
        stmt = stmt.where(Report.org_unit_id.is_not(None), scope.unit_filter())
    return stmt.order_by(Report.created_at.desc(), Report.id.desc())
