"""Issued certificates in the admin's scope: the list, revoking, reissuing, issuing the
missing ones, and a ZIP of a unit's or a batch's certificates."""

from __future__ import annotations

from flask import (
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext
from sqlalchemy import select

from lms import jobs
from lms.app.extensions import db
from lms.app.storage import for_app as site_files
from lms.jobs import certificates as issuing
from lms.models import (
    Certificate,
    Job,
    JobStatus,
    OrgUnit,
    User,
)
from lms.services import (
    certification,
)
from lms.services.errors import DomainError
from lms.web.admin.base import (
    admin_required,
    bp,
    cohort_choices,
    cohort_or_404,
    me,
    page_args,
    scope,
    site_admin_only,
    unit_field,
    unit_options,
    unit_or_404,
)
from lms.web.common import message_of
from lms.web.forms import (
    ActionForm,
    ExportForm,
    RevokeForm,
    choices,
)


def _certificate_or_404(certificate_id: int) -> Certificate:
    certificate = db.session.get(Certificate, certificate_id)
    if certificate is None or not scope().can_manage_user(certificate.user):
        abort(404)
    return certificate


@bp.route("/certificates")
@admin_required
def certificates_index():
    """Certificates issued to the learners of the scope, newest first."""
    sc = scope()
    stmt = select(Certificate)
    # The learners of the scope's (and the chosen unit's) units: a site admin's list joins
    # nothing, and the newest come from the index on issued_at (migration 0022).
    in_units = [] if sc.everything else [sc.unit_filter()]
    if unit_id := request.args.get("unit", type=int):
        in_units.append(OrgUnit.path.startswith(unit_or_404(unit_id).path, autoescape=True))
    if in_units:
        units_ids = select(OrgUnit.id).where(*in_units)
        stmt = stmt.where(
            Certificate.user_id.in_(select(User.id).where(User.org_unit_id.in_(units_ids)))
        )
    page, per_page = page_args()
    pagination = db.paginate(
        stmt.order_by(Certificate.issued_at.desc(), Certificate.id.desc()),
        page=page,
        per_page=per_page,
        error_out=False,
    )
    export = ExportForm()
    unit_field(export.unit_id, blank=gettext("(all my units)"))
    export.cohort_id.choices = choices(cohort_choices())
    return render_template(
        "hocvu/admin/certificates.html",
        export=export,
        pagination=pagination,
        unit_options=unit_options(unit_id),
        unit=unit_id,
        missing=issuing.missing_count(db.session) if sc.everything else 0,
        issuing=_issuing_job() if sc.everything else None,
        signing_problem=issuing.signing_problem(current_app) if sc.everything else None,
        profile=issuing.profile(current_app, db.session) if sc.everything else None,
        action_form=ActionForm(),
    )


def _issuing_job() -> Job | None:
    """The run of "issue the missing certificates" that is waiting or working, if any."""
    return db.session.scalars(
        select(Job)
        .where(
            Job.task == "certificates.issue",
            Job.status.in_([JobStatus.QUEUED, JobStatus.RUNNING]),
        )
        .order_by(Job.id.desc())
        .limit(1)
    ).first()


@bp.route("/certificates/issue-missing", methods=["POST"])
@admin_required
def certificates_issue_missing():
    """Issue, in the background, the certificates that completed courses are missing (after
    the signing key was missing or broken). A second click follows the run already started."""
    site_admin_only()
    if not ActionForm().validate_on_submit():
        abort(400)
    if not issuing.profile(current_app, db.session).organisation:
        flash(message_of(certification.NoIssuer()), "error")
        return redirect(url_for("admin.organisation_edit"))
    job = _issuing_job() or jobs.enqueue("certificates.issue", created_by=me())
    return redirect(url_for("admin.job_view", job_id=job.id))


@bp.route("/certificates/<int:certificate_id>/revoke", methods=["GET", "POST"])
@admin_required
def certificate_revoke(certificate_id: int):
    """Revoke a certificate with a reason."""
    certificate = _certificate_or_404(certificate_id)
    form = RevokeForm()
    if form.validate_on_submit():
        try:
            certification.revoke(db.session, me(), certificate, form.reason.data)
        except DomainError as error:
            db.session.rollback()
            form.add_error(error.field, message_of(error))
        else:
            db.session.commit()
            flash(gettext("Certificate %(serial)s revoked.", serial=certificate.serial), "success")
            return redirect(url_for("admin.user_view", user_id=certificate.user_id))
    return render_template(
        "hocvu/admin/certificate_revoke.html", form=form, certificate=certificate
    )


@bp.route("/certificates/<int:certificate_id>/reissue", methods=["POST"])
@admin_required
def certificate_reissue(certificate_id: int):
    """Issue a new certificate with the account's current details (after a correction)."""
    certificate = _certificate_or_404(certificate_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    app = current_app._get_current_object()
    try:
        settings = issuing.settings(app, db.session)
    except OSError:  # the seal image's file is gone
        flash(
            gettext(
                "The certificates could not be issued: the seal image of the organisation "
                "profile cannot be read. Upload it again on the organisation page."
            ),
            "error",
        )
        return redirect(url_for("admin.user_view", user_id=certificate.user_id))
    signer = issuing.signer_if_ready(app, settings.place)
    if signer is None:
        flash(
            gettext(
                "The certificates could not be issued: ask the site administrator to check "
                "the signing key, then try again."
            ),
            "error",
        )
        return redirect(url_for("admin.user_view", user_id=certificate.user_id))
    try:
        new = certification.reissue(
            db.session, me(), certificate, signer, site_files(app), settings
        )
    except DomainError as error:
        db.session.rollback()
        flash(message_of(error), "error")
    else:
        db.session.commit()
        flash(
            gettext(
                "New certificate %(serial)s issued; the old one is marked replaced.",
                serial=new.serial,
            ),
            "success",
        )
    return redirect(url_for("admin.user_view", user_id=certificate.user_id))


@bp.route("/certificates/export", methods=["POST"])
@admin_required
def certificates_export():
    """Start a ZIP of the certificates of a unit (with its sub-units) or of a batch."""
    form = ExportForm()
    unit_field(form.unit_id, blank=gettext("(all my units)"))
    form.cohort_id.choices = choices(cohort_choices())
    if not form.validate_on_submit():
        abort(400)
    unit_id = form.unit_id.data or None
    if unit_id:
        unit_or_404(unit_id)
    cohort_id = form.cohort_id.data or None
    if cohort_id:
        cohort_or_404(cohort_id)
    job = jobs.enqueue(
        "certificates.zip",
        created_by=me(),
        actor_id=me().id,
        unit_id=unit_id,
        cohort_id=cohort_id,
    )
    return redirect(url_for("admin.job_view", job_id=job.id))
