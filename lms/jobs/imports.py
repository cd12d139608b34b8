"""The bulk import of accounts as a background job: the uploaded list is read and checked
again, written all rows or none, and the new initial logins kept encrypted for one download."""

from __future__ import annotations

from contextlib import suppress

from flask import current_app

from lms.app import storage as files
from lms.jobs import core as jobs
from lms.models import User

# The settings of the upload page that the import carries (kept with the upload, then in the
# job's arguments).
OPTIONS = (
    "batch_name",
    "username_from",
    "update_existing",
    "create_units",
    "strict",
    "course_ids",
    "days",
)
# An uploaded list names people: it is deleted once imported, or after this long if it never
# is (by every new upload and by `hocvu housekeeping`).
UPLOAD_HOURS = 24


def upload_key(token: str) -> str:
    return f"uploads/{token}.bin"


def discard_stale_uploads(storage: files.LocalStorage, now: float | None = None) -> int:
    """Delete the uploaded lists older than UPLOAD_HOURS; return how many."""
    import time

    folder = storage.root / "uploads"
    if not folder.is_dir():
        return 0
    cutoff = (now if now is not None else time.time()) - UPLOAD_HOURS * 3600
    removed = 0
    for path in folder.iterdir():
        try:
            if path.is_file() and path.stat().st_mtime < cutoff:
                path.unlink()
                removed += 1
        except OSError:  # taken by a concurrent sweep
            continue
    return removed


def _discard(storage, key: str) -> None:
    """Delete a stored file that may already be gone."""
    with suppress(files.StorageError):
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
    course_ids: list[int] | None = None,
    days: int | None = None,
    accepted: list[str] | None = None,
) -> dict:
    """Commit an account list checked by the admin: read again, check again, write all rows
    (or none), and keep the new logins encrypted for one download."""
    from lms.documents import credentials
    from lms.services import clock, passwords, rosters

    app = current_app._get_current_object()
    session = ctx.session
    storage = files.for_app(app)
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

    # The file and the site may have changed since the check page: the warnings are counted
    # again, and one the admin did not accept stops the import (a DomainError: not retried).
    result = rosters.commit_import(
        session,
        actor,
        plan,
        batch_name=batch_name,
        course_ids=course_ids,
        days=days,
        accepted=tuple(accepted) if accepted is not None else None,
        strict=strict,
        initial_key=passwords.initial_password_key(app.config["SECRET_KEY"]),
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
        "units": result.units_created,
        "batches": result.batches_created,
        "enrolled": result.enrolled,
    }
    session.get(jobs.Job, ctx.job_id).result = summary  # committed with the accounts
    session.commit()
    _discard(storage, upload_key(token))
    return summary
