"""The organisation profile that certificates print, for site admins: the issuing
organisation, the place of the date line, the signatory, a seal or signature image and the
number prefix; with the image as stored and a sample certificate to check them by."""

from __future__ import annotations

from flask import (
    abort,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext
from sqlalchemy import select

from lms.app.extensions import db
from lms.app.storage import for_app as site_files
from lms.jobs import certificates as issuing
from lms.models import Course
from lms.services import certification, clock, organisation
from lms.services.errors import DomainError
from lms.web.admin.base import (
    admin_required,
    bp,
    me,
    site_admin_only,
    unit_or_404,
)
from lms.web.common import message_of
from lms.web.forms import OrganisationForm
from lms.web.limits import body_limit

# The largest image is refused with a message on the form, so the body may be a little larger.
BODY_LIMIT = organisation.SEAL_MAX_BYTES * 2 + 64 * 1024

_PNG = b"\x89PNG\r\n\x1a\n"
_JPEG = b"\xff\xd8\xff"


def _read_upload(form: OrganisationForm) -> bytes | None:
    """The uploaded image's bytes (one more than allowed at most), or None without one."""
    upload = form.seal.data
    if upload is None or not getattr(upload, "filename", ""):
        return None
    return upload.read(organisation.SEAL_MAX_BYTES + 1)


@bp.route("/organisation", methods=["GET", "POST"])
@body_limit(BODY_LIMIT)
@admin_required
def organisation_edit():
    """What certificates print about their issuer: shown, checked and saved."""
    site_admin_only()
    app = current_app._get_current_object()
    current = issuing.profile(app, db.session)
    form = OrganisationForm(
        data=None
        if request.method == "POST"
        else {
            "organisation": current.organisation,
            "place": current.place,
            "signer_title": current.signer_title,
            "signer_name": current.signer_name,
            "serial_prefix": current.serial_prefix,
        }
    )
    if form.validate_on_submit():
        storage = site_files(app)
        row = organisation.stored(db.session)
        old_seal = row.seal_path if row else None
        try:
            row = organisation.save(
                db.session,
                me(),
                storage,
                issuing.defaults(app),
                organisation=form.organisation.data,
                place=form.place.data,
                signer_title=form.signer_title.data,
                signer_name=form.signer_name.data,
                serial_prefix=form.serial_prefix.data,
                seal=_read_upload(form),
                remove_seal=form.remove_seal.data,
            )
        except DomainError as error:
            db.session.rollback()
            form.add_error(error.field, message_of(error))
        else:
            new_seal = row.seal_path
            db.session.commit()
            if old_seal != new_seal:
                organisation.forget_seal(storage, old_seal)
            flash(gettext("The organisation profile is saved."), "success")
            return redirect(url_for("admin.organisation_edit"))
    return render_template(
        "hocvu/admin/organisation.html",
        form=form,
        profile=current,
        seal_missing=current.seal is not None and not current.seal.is_file(),
        missing=issuing.missing_count(db.session),
        signing_problem=issuing.signing_problem(app),
    ), 200 if not form.errors and not form.form_errors else 422


@bp.route("/organisation/seal")
@admin_required
def organisation_seal():
    """The seal or signature image certificates print now."""
    site_admin_only()
    current = issuing.profile(current_app, db.session)
    try:
        data = current.seal.read_bytes() if current.seal else b""
    except OSError:
        data = b""
    if data.startswith(_PNG):
        mimetype = "image/png"
    elif data.startswith(_JPEG):  # an image of the settings (HOCVU_CERT_SEAL_IMAGE)
        mimetype = "image/jpeg"
    else:
        abort(404)
    response = make_response(data)
    response.mimetype = mimetype
    return response


@bp.route("/organisation/sample.pdf")
@admin_required
def organisation_sample():
    """A sample certificate printed with the profile (for ?unit=<id>: as that unit's learners
    get it), marked as a sample and not signed."""
    site_admin_only()
    app = current_app._get_current_object()
    unit_id = request.args.get("unit", type=int)
    unit = unit_or_404(unit_id) if unit_id else None
    try:
        settings = issuing.settings(app, db.session)
    except OSError:
        flash(gettext("The seal image cannot be read: upload it again."), "error")
        return redirect(url_for("admin.organisation_edit"))
    name = organisation.issuer_for(db.session, unit) or settings.organisation
    if not name:
        flash(message_of(certification.NoIssuer()), "error")
        return redirect(url_for("admin.organisation_edit"))
    course = db.session.scalar(
        select(Course).where(Course.current_version_id.is_not(None)).order_by(Course.id).limit(1)
    )
    pdf = certification.sample_pdf(
        settings,
        organisation=name,
        course_title=course.current_version.title if course else "Khóa học mẫu",
        unit=unit.name if unit else "",
        day=clock.today(app.config["HOCVU_TIMEZONE"]),
    )
    response = make_response(pdf)
    response.mimetype = "application/pdf"
    response.headers["Content-Disposition"] = 'inline; filename="giay-chung-nhan-mau.pdf"'
    return response
