"""A background job's progress page and its results: downloads and the new logins of an
import, served once."""

from __future__ import annotations

from datetime import timedelta

from flask import (
    abort,
    current_app,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import gettext
from flask_login import current_user

from lms import jobs
from lms.app.extensions import db
from lms.app.storage import StorageError
from lms.app.storage import for_app as site_files
from lms.documents.spreadsheets import CSV_MIMETYPE, XLSX_MIMETYPE
from lms.jobs import certificates as issuing
from lms.jobs import exports, imports
from lms.models import (
    Job,
    JobStatus,
    utcnow,
)
from lms.services import (
    audit,
)
from lms.web.admin.base import (
    admin_required,
    bp,
    me,
    scope,
)
from lms.web.forms import ActionForm

# The new logins of an import can be downloaded once, for this long after it finished.
CREDENTIALS_HOURS = 24


def _job_or_404(job_id: int) -> Job:
    job = db.session.get(Job, job_id)
    if job is None or (job.created_by_id != current_user.id and not scope().everything):
        abort(404)
    return job


@bp.route("/jobs/<int:job_id>")
@admin_required
def job_view(job_id: int):
    """A background job's progress (the page refreshes it) and its result."""
    job = _job_or_404(job_id)
    if request.accept_mimetypes.best == "application/json":
        return {
            "status": str(job.status),
            "done": job.done,
            "total": job.total,
            "percent": job.percent,
            "download": url_for("admin.job_download", job_id=job.id)
            if job.status == JobStatus.DONE
            else None,
        }
    return render_template(
        "hocvu/admin/job.html",
        job=job,
        resumable=jobs.can_resume(job),
        action_form=ActionForm(),
    )


@bp.route("/jobs/<int:job_id>/resume", methods=["POST"])
@admin_required
def job_resume(job_id: int):
    """Queue a failed job again, to go on where it stopped (for tasks that can)."""
    job = _job_or_404(job_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    jobs.resume(job)
    return redirect(url_for("admin.job_view", job_id=job.id))


@bp.route("/jobs/<int:job_id>/download")
@admin_required
def job_download(job_id: int):
    """The file a finished export job made."""
    job = _job_or_404(job_id)
    if job.status != JobStatus.DONE:
        abort(404)
    if job.task == "certificates.zip":
        key, mimetype = issuing.export_key(job.id), "application/zip"
        name = f"giay-chung-nhan-{job.id}.zip"
    elif job.task == "reports.learners":
        fmt = job.result.get("format", "xlsx")
        key, name = exports.learners_key(job.id, fmt), f"danh-sach-hoc-vien-{job.id}.{fmt}"
        mimetype = XLSX_MIMETYPE if fmt == "xlsx" else CSV_MIMETYPE
    elif job.task == "reports.periodic":
        return redirect(url_for("reports.periodic_pdf", report_id=job.result["report_id"]))
    else:
        abort(404)
    try:
        path = site_files(current_app).local_path(key)
    except StorageError:
        abort(404)
    return send_file(path, mimetype=mimetype, as_attachment=True, download_name=name, max_age=0)


@bp.route("/jobs/<int:job_id>/credentials")
@admin_required
def job_credentials(job_id: int):
    """The new accounts' logins, once, within a day; then the file is gone."""
    from lms.documents import credentials

    job = _job_or_404(job_id)
    if job.task != "users.import" or job.created_by_id != current_user.id:
        abort(404)
    storage = site_files(current_app)
    key = imports.credentials_key(job.id)
    try:
        path = storage.local_path(key)
    except StorageError:
        return render_template(
            "hocvu/error.html",
            status=410,
            title=gettext("Not available"),
            message=gettext(
                "The logins can be downloaded only once, within %(hours)s hours of the import.",
                hours=CREDENTIALS_HOURS,
            ),
        ), 410
    if job.finished_at and utcnow() - job.finished_at > timedelta(hours=CREDENTIALS_HOURS):
        path.unlink(missing_ok=True)
        abort(410)
    data = credentials.decrypt(path.read_bytes(), current_app.config["SECRET_KEY"], job.id)
    path.unlink(missing_ok=True)
    audit.record(db.session, me(), "user.credentials", me(), job=job.id)
    db.session.commit()
    return current_app.response_class(
        data,
        mimetype="application/zip",
        headers={
            "Content-Disposition": f"attachment; filename=dang-nhap-{job.id}.zip",
            "Cache-Control": "no-store",
        },
    )
