"""Certificates on the web: the learner's download and the public verification page."""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    current_app,
    render_template,
    send_file,
)
from flask_login import current_user, login_required
from sqlalchemy import select

from lms.app.extensions import db
from lms.app.storage import StorageError
from lms.app.storage import for_app as site_files
from lms.jobs import certificates as issuing
from lms.models import Certificate
from lms.services import certification
from lms.services.scope import Scope
from lms.web.forms import VerifyForm
from lms.web.limits import body_limit

bp = Blueprint("certificates", __name__)

MAX_UPLOAD = 5 * 1024 * 1024


@bp.route("/certificates/<serial>.pdf")
@login_required
def download(serial: str):
    """A certificate's PDF, for its owner and the admins of their unit."""
    certificate = db.session.scalar(select(Certificate).where(Certificate.serial == serial))
    if certificate is None:
        abort(404)
    owner = certificate.user_id == current_user.id
    if not owner and not (
        current_user.is_admin and Scope.of(current_user).can_manage_user(certificate.user)
    ):
        abort(404)
    try:
        path = site_files(current_app).local_path(certificate.files_path)
    except StorageError:
        abort(404)
    return send_file(
        path,
        mimetype="application/pdf",
        as_attachment=True,
        download_name=f"giay-chung-nhan-{serial}.pdf",
        max_age=0,
    )


def _verify_page(verdict: certification.Verdict | None, serial: str | None, form, status=200):
    return render_template(
        "hocvu/verify.html",
        verdict=verdict,
        serial=serial,
        form=form,
        development=_development(),
    ), status


def _development() -> bool:
    try:
        return issuing.signer(current_app).development
    except Exception:  # noqa: BLE001 - the page still answers about serials
        return False


@bp.route("/verify/<serial>")
def verify(serial: str):
    """Public: is this serial a certificate we issued, and is it still valid?"""
    certificate = db.session.scalar(
        select(Certificate).where(Certificate.serial == serial.strip().upper()[:40])
    )
    verdict = certification.Verdict(certification.status_of(certificate), certificate)
    return _verify_page(verdict, serial, VerifyForm())


@bp.route("/verify", methods=["GET", "POST"])
@body_limit(MAX_UPLOAD + 64 * 1024, anonymous=True)  # a certificate, and the form around it
def verify_upload():
    """Public: upload a certificate PDF; its signature and its bytes are checked."""
    form = VerifyForm()
    if form.validate_on_submit():
        data = form.file.data.read(MAX_UPLOAD + 1)
        if len(data) > MAX_UPLOAD:
            form.add_error("file", str(form.too_large))
            return _verify_page(None, None, form, 413)
        verdict = certification.verify_file(db.session, data, issuing.signer_if_ready(current_app))
        return _verify_page(verdict, None, form)
    return _verify_page(None, None, form, 200 if not form.errors else 422)
