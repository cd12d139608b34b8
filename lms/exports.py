"""Background exports: certificates of a unit or a batch as one ZIP file."""

from __future__ import annotations

import io
import zipfile

from flask import current_app
from sqlalchemy import select

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


def upload_key(token: str) -> str:
    return f"uploads/{token}.bin"


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
    from lms import credentials
    from lms.services import accounts, clock, rosters

    app = current_app._get_current_object()
    session = ctx.session
    storage = certs.storage(app)
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
    session.commit()
    if result.credentials:
        site = app.config["HOCVU_BASE_URL"] + app.config.get("HOCVU_URL_PREFIX", "")
        blob = credentials.encrypt(
            credentials.package(result.credentials, site), app.config["SECRET_KEY"], ctx.job_id
        )
        storage.write_file(credentials_key(ctx.job_id), blob)
    storage.local_path(upload_key(token)).unlink(missing_ok=True)
    return {
        "created": result.created,
        "updated": result.updated,
        "unchanged": result.unchanged,
        "skipped": result.skipped,
    }
