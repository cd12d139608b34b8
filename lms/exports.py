"""Background work behind the admin pages: certificates of a unit or a batch as one ZIP, bulk
imports, the dashboard's figures, learner lists as XLSX or CSV, and periodic reports."""

from __future__ import annotations

import io
import zipfile
from contextlib import contextmanager, suppress

from flask import current_app
from sqlalchemy import func, select

from lms import certs, jobs
from lms.models import Certificate, OrgUnit, User
from lms.services.scope import Scope


def export_key(job_id: int) -> str:
    return f"exports/job-{job_id}.zip"


@jobs.task("certificates.zip")
def certificates_zip(
    ctx: jobs.JobContext,
    *,
    actor_id: int,
    unit_id: int | None = None,
    cohort_id: int | None = None,
) -> dict:
    """ZIP the current certificates of a unit's subtree or of a batch, within the actor's
    scope (checked again here: the job may run long after the request)."""
    session = ctx.session
    actor = session.get(User, actor_id)
    scope = Scope.of(actor)
    stmt = (
        select(Certificate)
        .join(User, Certificate.user_id == User.id)
        .outerjoin(OrgUnit, User.org_unit_id == OrgUnit.id)
        .where(Certificate.replaced_by_id.is_(None), Certificate.revoked_at.is_(None))
    )
    if not scope.everything:
        stmt = stmt.where(scope.user_filter())
    if unit_id:
        unit = session.get(OrgUnit, unit_id)
        stmt = stmt.where(OrgUnit.path.startswith(unit.path))
    if cohort_id:
        stmt = stmt.where(User.cohort_id == cohort_id)
    found = session.scalars(stmt.order_by(User.sort_name, Certificate.id)).all()
    storage = certs.storage(current_app)
    buffer = io.BytesIO()
    total = len(found)
    ctx.progress(0, total)
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:  # PDFs are compressed
        for done, certificate in enumerate(found, start=1):
            data = storage.local_path(certificate.files_path).read_bytes()
            unit = certificate.user.org_unit.code if certificate.user.org_unit else "khac"
            archive.writestr(f"{unit}/{certificate.serial}.pdf", data)
            if done % 50 == 0 or done == total:
                ctx.progress(done, total)
    storage.write_file(export_key(ctx.job_id), buffer.getvalue())
    return {"count": total}


@jobs.task("certificates.issue")
def issue_certificates(ctx: jobs.JobContext) -> dict:
    """Issue the certificates that completed courses are missing (the job form of
    `hocvu issue-certificates`). Each certificate is committed with the job's count, so a run
    stopped half-way is continued by the next one without issuing any twice."""
    session = ctx.session
    job = session.get(jobs.Job, ctx.job_id)
    before = (job.result or {}).get("count", 0)  # issued by earlier, interrupted runs

    def record(done: int, total: int, issued: int) -> None:
        job = session.get(jobs.Job, ctx.job_id)
        job.done, job.total = done, total
        job.result = {"count": before + issued}

    issued = certs.issue_missing(current_app._get_current_object(), session, record)
    return {"count": before + issued}


def upload_key(token: str) -> str:
    return f"uploads/{token}.bin"


def _discard(storage, key: str) -> None:
    """Delete a stored file that may already be gone."""
    from lms.app.storage import StorageError

    with suppress(StorageError):
        storage.local_path(key).unlink(missing_ok=True)


def credentials_key(job_id: int) -> str:
    return f"exports/credentials-{job_id}.zip.enc"


@jobs.task("users.import")
def import_users(
    ctx: jobs.JobContext,
    *,
    token: str,
    filename: str,
    actor_id: int,
    batch_name: str | None = None,
    strict: bool = True,
    username_from: str = "name",
    update_existing: bool = True,
    create_units: bool = False,
) -> dict:
    """Commit an account list checked by the admin: read again, check again, write all rows
    (or none), and keep the new logins encrypted for one download."""
    from lms.documents import credentials
    from lms.services import accounts, clock, rosters

    app = current_app._get_current_object()
    session = ctx.session
    storage = certs.storage(app)
    done_before = session.get(jobs.Job, ctx.job_id).result
    if done_before:
        # An earlier run committed the import (its result is committed with the accounts)
        # and was stopped before it could finish: planning again would see the new accounts
        # as existing, or give rows without a username new ones. Nothing is left to do.
        _discard(storage, upload_key(token))
        return done_before
    data = storage.local_path(upload_key(token)).read_bytes()
    actor = session.get(User, actor_id)
    table = rosters.read_file(filename, data)
    plan = rosters.plan_import(
        session,
        actor,
        table,
        username_from=username_from,
        update_existing=update_existing,
        create_units=create_units,
    )
    ctx.progress(0, len(plan.rows), "checked")
    done = [0]

    def progress(count: int, total: int) -> None:
        if count - done[0] >= 1000 or count == total:
            done[0] = count
            job = session.get(jobs.Job, ctx.job_id)
            job.done, job.total = count, total  # committed with the import, at the end

    result = rosters.commit_import(
        session,
        actor,
        plan,
        batch_name=batch_name,
        strict=strict,
        initial_key=accounts.initial_password_key(app.config["SECRET_KEY"]),
        today=clock.today(app.config["HOCVU_TIMEZONE"]),
        timezone=app.config["HOCVU_TIMEZONE"],
        progress=progress,
    )
    # The initial logins exist only here: write them before the accounts are committed (a run
    # that fails after this leaves a file the next run replaces; only a done job serves it).
    if result.credentials:
        site = app.config["HOCVU_BASE_URL"] + app.config.get("HOCVU_URL_PREFIX", "")
        blob = credentials.encrypt(
            credentials.package(result.credentials, site), app.config["SECRET_KEY"], ctx.job_id
        )
        storage.write_file(credentials_key(ctx.job_id), blob)
    summary = {
        "created": result.created,
        "updated": result.updated,
        "unchanged": result.unchanged,
        "skipped": result.skipped,
    }
    session.get(jobs.Job, ctx.job_id).result = summary  # committed with the accounts
    session.commit()
    _discard(storage, upload_key(token))
    return summary


# --- completion reports ------------------------------------------------------------------------


@contextmanager
def _site_language(app):
    """Jobs run outside a request: texts in the site's default language."""
    from flask_babel import force_locale

    with app.test_request_context(), force_locale(app.config["HOCVU_DEFAULT_LOCALE"]):
        yield


@jobs.task("reports.refresh")
def refresh_reports(ctx: jobs.JobContext, *, course_id: int) -> dict:
    """Count the learners of a course again for the dashboard."""
    from lms.services import reports

    app = current_app._get_current_object()
    snapshot = reports.refresh(ctx.session, course_id, app.config["HOCVU_TIMEZONE"])
    ctx.session.commit()
    return {"snapshot": snapshot.id}


def learners_key(job_id: int, fmt: str) -> str:
    return f"exports/learners-{job_id}.{fmt}"


def report_key(report_id: int) -> str:
    return f"reports/report-{report_id}.pdf"


def learner_columns() -> list:
    """The learner list's columns, headers in the current language."""
    from flask_babel import gettext

    from lms.documents.spreadsheets import Column

    return [
        Column(gettext("Full name"), width=28),
        Column(gettext("Username"), width=16),
        Column(gettext("Unit"), width=32),
        Column(gettext("Unit code"), width=10),
        Column(gettext("Batch"), width=14),
        Column(gettext("Account issued on"), "date", 13),
        Column(gettext("Last login"), "datetime", 17),
        Column(gettext("Course"), width=30),
        Column(gettext("Status"), width=16),
        Column(gettext("Started at"), "datetime", 17),
        Column(gettext("Due"), "date", 13),
        Column(gettext("Completed at"), "datetime", 17),
        Column(gettext("Best score"), "number", 10),
        Column(gettext("Passed the final test"), width=12),
        Column(gettext("Certificate"), width=12),
        Column(gettext("Overdue"), width=10),
    ]


def learner_rows(session, scope, filters, timezone: str, progress=None):
    """The rows of a learner list export, streamed in chunks (one row per course)."""
    from flask_babel import gettext

    from lms.models import Cohort
    from lms.services import reports

    yes, no = gettext("Yes"), gettext("No")
    status_labels = reports_status_labels()
    units = {
        u.id: (u.name, u.code)
        for u in session.execute(select(OrgUnit.id, OrgUnit.name, OrgUnit.code))
    }
    batches = dict(session.execute(select(Cohort.id, Cohort.name)).all())
    # The ids in list order first, then the rows chunk by chunk: no cursor stays open, so the
    # job may commit its progress in between (a commit closes PostgreSQL's server cursors).
    ids = list(
        session.scalars(reports.learner_query(session, scope, filters).with_only_columns(User.id))
    )
    done = 0
    for start in range(0, len(ids), 2000):
        chunk_ids = ids[start : start + 2000]
        found = {
            row.id: row
            for row in session.execute(
                select(
                    User.id,
                    User.full_name,
                    User.username,
                    User.org_unit_id,
                    User.cohort_id,
                    User.issued_at,
                    User.last_login_at,
                ).where(User.id.in_(chunk_ids))
            )
        }
        chunk = [found[i] for i in chunk_ids if i in found]
        states = reports.states_of(session, [r.id for r in chunk], filters.course_id, timezone)
        for user in chunk:
            unit_name, unit_code = units.get(user.org_unit_id, ("", ""))
            head = [
                user.full_name,
                user.username,
                unit_name,
                unit_code,
                batches.get(user.cohort_id, ""),
                user.issued_at,
                user.last_login_at,
            ]
            for state in states[user.id] or [None]:
                if state is None:
                    yield [
                        *head,
                        "",
                        status_labels["not_enrolled"],
                        None,
                        None,
                        None,
                        None,
                        "",
                        "",
                        "",
                    ]
                    continue
                yield [
                    *head,
                    state.course_title,
                    status_labels[state.status],
                    state.started_at,
                    state.due_day,
                    state.completed_at,
                    state.best_score,
                    yes if state.passed else no,
                    yes if state.certified else no,
                    yes if state.overdue else no,
                ]
        done += len(chunk)
        if progress is not None:
            progress(done)


def reports_status_labels() -> dict[str, str]:
    from flask_babel import gettext

    return {
        "not_enrolled": gettext("Not enrolled"),
        "not_started": gettext("Not started"),
        "in_progress": gettext("In progress"),
        "completed": gettext("Completed"),
        "overdue": gettext("Overdue"),
    }


@jobs.task("reports.learners")
def export_learners(ctx: jobs.JobContext, *, actor_id: int, filters: dict, fmt: str) -> dict:
    """The learner list with the admin's filters as XLSX or CSV (scope checked again here)."""
    from lms.documents.spreadsheets import write_csv, write_xlsx
    from lms.services import reports

    app = current_app._get_current_object()
    session = ctx.session
    scope = Scope.of(session.get(User, actor_id))
    chosen = reports.LearnerFilter(**filters)
    total = session.scalar(
        select(func.count()).select_from(reports.learner_query(session, scope, chosen).subquery())
    )
    ctx.progress(0, total)
    zone = app.config["HOCVU_TIMEZONE"]
    path = certs.storage(app).path_for_writing(learners_key(ctx.job_id, fmt))
    partial = path.with_name(f".incoming-{path.name}")

    def progress(done: int) -> None:
        if done % 10000 < 2000 or done == total:
            ctx.progress(min(done, total), total)

    with _site_language(app), partial.open("wb") as out:
        rows = learner_rows(session, scope, chosen, zone, progress)
        if fmt == "xlsx":
            count = write_xlsx(out, "Học viên", learner_columns(), rows, zone)
        else:
            count = write_csv(out, learner_columns(), rows, zone)
    partial.replace(path)
    return {"count": total, "rows": count, "format": fmt}


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
    from lms.models import Course, Report
    from lms.services import reports

    app = current_app._get_current_object()
    session = ctx.session
    actor = session.get(User, actor_id)
    unit = session.get(OrgUnit, unit_id) if unit_id else None
    if unit is not None and not Scope.of(actor).covers_unit(unit):
        raise PermissionError("the unit is outside the actor's scope")
    course = session.get(Course, course_id)
    ctx.progress(0, 2)
    with _site_language(app):
        title = gettext("Report on the results achieved")
        data = reports.report_data(
            session,
            actor,
            course=course,
            unit=unit,
            kind=kind,
            period=reports.Period(date.fromisoformat(start), date.fromisoformat(end)),
            site_name=app.config["HOCVU_CERT_ORGANISATION"] or app.config["HOCVU_SITE_NAME"],
            timezone=app.config["HOCVU_TIMEZONE"],
        )
        data["title"] = title
        data["organisation"] = app.config["HOCVU_CERT_ORGANISATION"]
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
        pdf = report_pdf.render(data, app.config["HOCVU_CERT_PLACE"])
    report.files_path = report_key(report.id)
    report.sha256 = hashlib.sha256(pdf).hexdigest()
    certs.storage(app).write_file(report.files_path, pdf)
    session.commit()
    return {"report_id": report.id}
