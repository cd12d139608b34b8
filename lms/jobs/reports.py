"""The completion figures of the dashboard, counted again, and the periodic reports (counted,
frozen and printed as PDF), as background jobs."""

from __future__ import annotations

import dataclasses

from flask import current_app

from lms.app import storage as files
from lms.jobs import core as jobs
from lms.jobs.core import site_language
from lms.models import OrgUnit, User
from lms.services.scope import Scope


@jobs.task("reports.refresh")
def refresh_reports(ctx: jobs.JobContext, *, course_id: int) -> dict:
    """Count the learners of a course again for the dashboard."""
    from lms.services import reports

    app = current_app._get_current_object()
    snapshot = reports.refresh(ctx.session, course_id, app.config["HOCVU_TIMEZONE"])
    ctx.session.commit()
    return {"snapshot": snapshot.id}


def report_key(report_id: int) -> str:
    return f"reports/report-{report_id}.pdf"


@jobs.task("reports.periodic")
def periodic_report(
    ctx: jobs.JobContext,
    *,
    actor_id: int,
    course_id: int,
    unit_id: int | None,
    kind: str,
    start: str,
    end: str,
) -> dict:
    """Count, freeze and print the periodic report; the row and the PDF are kept as issued."""
    import hashlib
    from datetime import date

    from flask_babel import gettext

    from lms.documents import report_pdf
    from lms.jobs import certificates as issuing
    from lms.models import Course, Report
    from lms.services import organisation, reports, teams

    app = current_app._get_current_object()
    session = ctx.session
    actor = session.get(User, actor_id)
    unit = session.get(OrgUnit, unit_id) if unit_id else None
    if unit is not None and not Scope.of(actor).covers_unit(unit):
        raise PermissionError("the unit is outside the actor's scope")
    course = session.get(Course, course_id)
    # The report is headed like the certificates: the unit's own issuing organisation, or
    # the site's (nothing when neither is named: no organisation is made up).
    profile = issuing.profile(app, session)
    issuer = organisation.issuer_for(session, unit) or profile.organisation
    ctx.progress(0, 2)
    with site_language(app):
        title = gettext("Report on the results achieved")
        data = reports.report_data(
            session,
            actor,
            course=course,
            unit=unit,
            kind=kind,
            period=reports.Period(date.fromisoformat(start), date.fromisoformat(end)),
            site_name=issuer or app.config["HOCVU_SITE_NAME"],
            timezone=app.config["HOCVU_TIMEZONE"],
        )
        data["title"] = title
        data["organisation"] = issuer
        # The support teams of the report's units, as they stand at the report's date.
        found = teams.figures(
            session,
            Scope.of(actor),
            {
                **{row["path"]: row["path"] for row in data["rows"]},
                None: data["unit_path"],
            },
            course.id,
        )
        data["teams"] = {
            "total": dataclasses.asdict(found[None]),
            "rows": [
                {"name": row["name"], **dataclasses.asdict(found[row["path"]])}
                for row in data["rows"]
            ],
        }
        report = Report(
            org_unit_id=unit.id if unit else None,
            course_id=course.id,
            period_kind=kind,
            period_start=date.fromisoformat(start),
            period_end=date.fromisoformat(end),
            title=f"{title} – {data['unit']} – "
            f"{report_pdf.period_title(kind, date.fromisoformat(start), date.fromisoformat(end))}",
            data=data,
            files_path="",
            sha256="",
            created_by_id=actor.id,
        )
        session.add(report)
        session.flush()
        data["reference"] = gettext("Report no. %(number)s", number=report.id)
        report.data = dict(data)
        ctx.progress(1, 2)
        pdf = report_pdf.render(data, profile.place)
    report.files_path = report_key(report.id)
    report.sha256 = hashlib.sha256(pdf).hexdigest()
    files.for_app(app).write_file(report.files_path, pdf)
    session.commit()
    return {"report_id": report.id}
