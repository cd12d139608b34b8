"""The bulk import of accounts from a CSV or XLSX list, as one journey: upload with its
settings, the check page (every row checked, the units to add as a tree, the batches and their
courses, the due dates per issue date, the warnings to accept), the error file, the template,
and the import itself, which runs as a job."""

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
from sqlalchemy import select

from lms import jobs
from lms.app.extensions import db
from lms.app.storage import StorageError
from lms.app.storage import for_app as site_files
from lms.documents.spreadsheets import Column, table_bytes
from lms.jobs import imports
from lms.models import Course
from lms.services import clock, rosters
from lms.services.errors import DomainError
from lms.web.admin.base import admin_required, bp, me, tz
from lms.web.common import message_of
from lms.web.forms import ImportCommitForm, ImportForm, choices
from lms.web.limits import UPLOADS, body_limit

MAX_UPLOAD = 20 * 1024 * 1024


def _published_courses() -> list[tuple[int, str]]:
    courses = db.session.scalars(
        select(Course).where(Course.current_version_id.is_not(None)).order_by(Course.title)
    )
    return [(c.id, c.title) for c in courses]


def _check(filename: str, data: bytes, options: dict) -> tuple[rosters.Table, rosters.Preview]:
    """The whole dry run of an uploaded list with its settings (DomainError: unreadable)."""
    table = rosters.read_file(filename, data)
    plan = rosters.plan_import(
        db.session,
        me(),
        table,
        username_from=options["username_from"],
        update_existing=options["update_existing"],
        create_units=options["create_units"],
    )
    shown = rosters.preview(
        db.session,
        me(),
        plan,
        default_batch=options["batch_name"],
        course_ids=options["course_ids"],
        days=options["days"],
        today=clock.today(tz()),
    )
    return table, shown


def _render_check(token, table, shown: rosters.Preview, options: dict, problem=None):
    return render_template(
        "hocvu/admin/import_preview.html",
        shown=shown,
        plan=shown.plan,
        table=table,
        options=options,
        commit_form=ImportCommitForm(formdata=None),
        token=token,
        problem=problem,
        today=clock.today(tz()),
    )


@bp.route("/import", methods=["GET", "POST"])
@body_limit(UPLOADS)
@admin_required
def import_users():
    """Upload an account list; every row is checked and shown before anything is written."""
    form = ImportForm()
    form.course_ids.choices = choices(_published_courses())
    if form.validate_on_submit():
        upload = form.file.data
        data = upload.read(MAX_UPLOAD + 1)
        filename = upload.filename or "danh-sach.csv"
        if len(data) > MAX_UPLOAD:
            form.add_error("file", gettext("The file is larger than this site accepts."))
        else:
            options = {
                "batch_name": (form.batch_name.data or "").strip() or None,
                "username_from": form.username_from.data,
                "update_existing": bool(form.update_existing.data),
                "create_units": bool(form.create_units.data),
                "strict": bool(form.strict.data),
                "course_ids": list(form.course_ids.data or []),
                "days": form.deadline_days.data,
            }
            token = f"{me().id}-{secrets.token_urlsafe(12)}"
            try:
                table, shown = _check(filename, data, options)
            except DomainError as error:
                where = error.field if error.field == "course_ids" else "file"
                form.add_error(where, message_of(error))
            else:
                storage = site_files(current_app)
                imports.discard_stale_uploads(storage)
                storage.write_file(imports.upload_key(token), data)
                codes = [warning.code for warning in shown.warnings]
                session["import"] = {
                    "token": token,
                    "filename": filename[:200],
                    **options,
                    # What the check page asked, so that the import button need not check the
                    # whole file a third time (the job checks it again); a long list is not
                    # kept in the cookie, the file is checked again instead.
                    "checked": {"warnings": codes, "errors": len(shown.plan.errors)}
                    if sum(len(code) for code in codes) < 600
                    else None,
                }
                return _render_check(token, table, shown, options)
    return render_template("hocvu/admin/import.html", form=form), 422 if form.errors else 200


def _import_upload(token: str) -> tuple[str, str, dict, bytes]:
    """The list uploaded by this admin under `token`, with its settings (404 when it is not
    theirs or is gone: uploads are kept 24 hours); `options["checked"]` is what its check page
    asked (warnings to accept, rows in error), when kept."""
    pending = session.get("import") or {}
    if pending.get("token") != token or not token.startswith(f"{current_user.id}-"):
        abort(404)
    try:
        data = site_files(current_app).local_path(imports.upload_key(token)).read_bytes()
    except StorageError:
        abort(404)
    options = {key: pending.get(key) for key in imports.OPTIONS}
    options["checked"] = pending.get("checked")
    return token, pending["filename"], options, data


@bp.route("/import/<token>/errors.csv")
@admin_required
def import_errors(token: str):
    """The uploaded rows with an error column, to correct in Excel and upload again."""
    token, filename, options, data = _import_upload(token)
    table, shown = _check(filename, data, options)
    width = len(table.header)
    rows = []
    for row in shown.plan.rows:
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
    """Start the import job once every warning of the check page is accepted."""
    token, filename, options, data = _import_upload(token)
    form = ImportCommitForm()
    if not form.validate_on_submit():
        abort(400)
    accepted = [code for code in form.accept.data or [] if isinstance(code, str)]
    checked = options.pop("checked")
    if (
        checked is None
        or set(checked["warnings"]) - set(accepted)
        or (options["strict"] and checked["errors"])
    ):
        # Show the check page again, as the file and the site are now (the job checks them
        # once more, and refuses a warning that appeared since without its tick).
        table, shown = _check(filename, data, options)
        if shown.unaccepted(accepted):
            problem = gettext("Tick each warning you accept, or change the file or the settings.")
            return _render_check(token, table, shown, options, problem), 422
        if options["strict"] and shown.plan.errors:
            return _render_check(token, table, shown, options), 422
    session.pop("import", None)
    job = jobs.enqueue(
        "users.import",
        created_by=me(),
        token=token,
        filename=filename,
        actor_id=me().id,
        accepted=accepted,
        **options,
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
            clock.today(tz()).strftime("%d/%m/%Y"),
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
