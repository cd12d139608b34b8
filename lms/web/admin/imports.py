"""The bulk import of accounts from a CSV or XLSX list: upload, check, the error file, the
template, and the commit that runs as a job."""

from __future__ import annotations

import io
import secrets

from flask import (
    abort,
    current_app,
    redirect,
    render_template,
    session,
    url_for,
)
from flask_babel import gettext
from flask_login import current_user

from lms import jobs
from lms.app.extensions import db
from lms.app.storage import StorageError
from lms.app.storage import for_app as site_files
from lms.documents.spreadsheets import Column, table_bytes
from lms.jobs import imports
from lms.services import (
    rosters,
)
from lms.services.errors import DomainError
from lms.web.admin.base import (
    admin_required,
    bp,
    me,
    tz,
)
from lms.web.common import message_of
from lms.web.forms import (
    ImportCommitForm,
    ImportForm,
)
from lms.web.limits import UPLOADS, body_limit


@bp.route("/import", methods=["GET", "POST"])
@body_limit(UPLOADS)
@admin_required
def import_users():
    """Upload an account list; every row is checked and shown before anything is written."""
    form = ImportForm()
    if form.validate_on_submit():
        upload = form.file.data
        data = upload.read(20 * 1024 * 1024 + 1)
        filename = upload.filename or "danh-sach.csv"
        if len(data) > 20 * 1024 * 1024:
            form.add_error("file", gettext("The file is larger than this site accepts."))
        else:
            try:
                table = rosters.read_file(filename, data)
            except DomainError as error:
                form.add_error("file", message_of(error))
            else:
                options = {
                    "username_from": form.username_from.data,
                    "update_existing": bool(form.update_existing.data),
                }
                plan = rosters.plan_import(db.session, me(), table, **options)
                token = f"{me().id}-{secrets.token_urlsafe(12)}"
                site_files(current_app).write_file(imports.upload_key(token), data)
                session["import"] = {"token": token, "filename": filename[:200], **options}
                return render_template(
                    "hocvu/admin/import_preview.html",
                    plan=plan,
                    table=table,
                    commit_form=ImportCommitForm(
                        batch_name=form.batch_name.data, strict="y" if form.strict.data else ""
                    ),
                    token=token,
                    field_names=rosters.TEMPLATE_HEADERS,
                )
    return render_template("hocvu/admin/import.html", form=form), 422 if form.errors else 200


def _import_upload(token: str) -> tuple[str, str, dict]:
    pending = session.get("import") or {}
    if pending.get("token") != token or not token.startswith(f"{current_user.id}-"):
        abort(404)
    options = {
        "username_from": pending.get("username_from", "name"),
        "update_existing": pending.get("update_existing", True),
    }
    return token, pending["filename"], options


@bp.route("/import/<token>/errors.csv")
@admin_required
def import_errors(token: str):
    """The uploaded rows with an error column, to correct in Excel and upload again."""
    token, filename, options = _import_upload(token)
    try:
        data = site_files(current_app).local_path(imports.upload_key(token)).read_bytes()
    except StorageError:
        abort(404)
    table = rosters.read_file(filename, data)
    plan = rosters.plan_import(db.session, me(), table, **options)
    width = len(table.header)
    rows = []
    for row in plan.rows:
        reasons = " ".join(gettext(m, **p) for m, p in row.errors)
        rows.append([*(table.raw.get(row.line, []) + [""] * width)[:width], reasons])
    columns = [*(Column(h) for h in table.header), Column(gettext("Errors"))]
    data, mimetype = table_bytes("csv", gettext("Errors"), columns, rows, tz())
    response = current_app.response_class(data, mimetype=mimetype)
    response.headers["Content-Disposition"] = "attachment; filename=danh-sach-kiem-tra.csv"
    return response


@bp.route("/import/<token>/commit", methods=["POST"])
@admin_required
def import_commit(token: str):
    """Start the import job (all rows, or in non-strict mode the good ones)."""
    token, filename, options = _import_upload(token)
    form = ImportCommitForm()
    if not form.validate_on_submit():
        abort(400)
    session.pop("import", None)
    job = jobs.enqueue(
        "users.import",
        created_by=me(),
        token=token,
        filename=filename,
        actor_id=me().id,
        batch_name=(form.batch_name.data or None),
        strict=bool(form.strict.data),
    )
    return redirect(url_for("admin.job_view", job_id=job.id))


@bp.route("/import/template.xlsx")
@admin_required
def import_template():
    """The list template with its Vietnamese headers and one example row."""
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Danh sách"
    sheet.append(rosters.TEMPLATE_HEADERS)
    sheet.append(
        [
            "Nguyễn Văn An",
            "17/05/1990",
            "0912 345 678",
            "an@example.vn",
            "LĐLĐ tỉnh Quảng Ninh / Công đoàn ngành Than / CĐCS Công ty Than Hà Lầm",
            "",
            "Đợt 1",
            "23/11/2026",
        ]
    )
    sheet.freeze_panes = "A2"
    buffer = io.BytesIO()
    book.save(buffer)
    return current_app.response_class(
        buffer.getvalue(),
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": "attachment; filename=mau-danh-sach-hoc-vien.xlsx"},
    )
