"""What an author's page of a course version shows besides its lessons: the report of the
question bank's import, the addresses its packages may not load, how many questions the final
test draws from each category, and what a GIFT export of the bank would leave out. The views
that change them are in lms.web.author."""

from __future__ import annotations

from flask import current_app, render_template
from sqlalchemy import func, select

from courses.gift_export import left_out
from lms.app.extensions import db
from lms.app.i18n import message_text
from lms.models import Activity, CourseVersion, Enrolment, VersionStatus
from lms.services import assessment, catalog, drawing
from lms.web.forms import ActionForm, PublishForm


def import_report(version: CourseVersion) -> tuple[str, list[tuple[str, str]]] | None:
    """(file, [(where, what)]) of the question bank imported into this version, if any."""
    report = (version.final_test or {}).get("report")
    if not report:
        return None
    rows = []
    for item in report["problems"]:
        where = f"{report['file']}:{item['line']}" if item.get("line") else report["file"]
        if item.get("question"):
            where += f" ({item['question']})"
        rows.append((where, message_text(item["message"], item.get("params", {}))))
    return report["file"], rows


def test_activity(version: CourseVersion) -> Activity | None:
    """The version's final test, if it has one."""
    return next((a for a in version.activities if a.kind == "test"), None)


def draw_form(version: CourseVersion, entered=None, errors=None) -> dict | None:
    """What the page shows of the draw per category (drawing.view), or None without a test."""
    test = test_activity(version)
    if test is None:
        return None
    return drawing.view(assessment.settings_of(test), assessment.bank_of(test), entered, errors)


def gift_loses(version: CourseVersion) -> dict | None:
    """What a GIFT export of the version's bank would leave out (said next to its button)."""
    test = test_activity(version)
    return left_out(assessment.bank_of(test).questions) if test is not None else None


def render(current: CourseVersion, form: PublishForm, draw: dict | None) -> str:
    """The version's page."""
    enrolled = db.session.scalar(
        select(func.count(Enrolment.id)).where(
            Enrolment.course_id == current.course_id, Enrolment.version_id != current.id
        )
    )
    blocked = catalog.blocked_urls(
        db.session, current, current_app.config["HOCVU_CONTENT_ALLOWED_ORIGINS"]
    )
    return render_template(
        "hocvu/author/version.html",
        version=current,
        import_report=import_report(current),
        form=form,
        enrolled=enrolled,
        published=current.status == VersionStatus.PUBLISHED,
        blocked=[(p.where, message_text(p.message, p.params)) for p in blocked],
        draw=draw,
        draw_form=ActionForm(),
        gift_loses=gift_loses(current),
    )
