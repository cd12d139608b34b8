"""The audit log of the admin's scope, and the names of its actions."""

from __future__ import annotations

from flask import (
    render_template,
)
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from lms.app.extensions import db
from lms.models import (
    AuditEvent,
)
from lms.web.admin.base import (
    admin_required,
    bp,
    page_args,
    scope,
)


@bp.route("/audit")
@admin_required
def audit_index():
    """The audit log of the scope, newest first."""
    sc = scope()
    stmt = select(AuditEvent)
    if not sc.everything:
        stmt = stmt.where(sc.path_filter(AuditEvent.unit_path))
    page, per_page = page_args()
    pagination = db.paginate(
        stmt.order_by(AuditEvent.at.desc(), AuditEvent.id.desc()),
        page=page,
        per_page=per_page,
        error_out=False,
    )
    return render_template("hocvu/admin/audit.html", pagination=pagination)


AUDIT_LABELS = {
    "unit.create": _l("Unit added"),
    "unit.update": _l("Unit renamed or changed"),
    "unit.move": _l("Unit moved"),
    "unit.delete": _l("Unit deleted"),
    "user.create": _l("Account created"),
    "user.update": _l("Account changed"),
    "user.reset_password": _l("Password reset"),
    "user.deactivate": _l("Account deactivated"),
    "user.activate": _l("Account reactivated"),
    "enrolment.create": _l("Enrolled in a course"),
    "enrolment.extend": _l("Deadline extended"),
    "cohort.create": _l("Batch created"),
    "cohort.update": _l("Batch changed"),
    "course.upload": _l("Course version uploaded"),
    "course.publish": _l("Course version published"),
    "course.settings": _l("Course settings changed"),
    "course.draw": _l("Final-test questions per category changed"),
    "certificate.revoke": _l("Certificate revoked"),
    "user.import": _l("Accounts imported"),
    "user.credentials": _l("Initial logins downloaded"),
    "certificate.reissue": _l("Certificate reissued"),
    "organisation.update": _l("Organisation profile changed"),
    "unit.issuer": _l("Issuing organisation of a unit changed"),
    "team.create": _l("Support team created"),
    "team.update": _l("Support team changed"),
    "team.new_slip": _l("New login slip from a support team"),
    "team.extension_request": _l("Extension asked for by a support team"),
    "team.extension_refused": _l("Extension request refused"),
}


@bp.app_template_global()
def audit_label(action: str) -> str:
    """The audit action in the user's language."""
    label = AUDIT_LABELS.get(action)
    return str(label) if label else action
