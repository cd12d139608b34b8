"""Hocvu's commands (`hocvu init`, `import-users`, `worker`, ...), registered on the app's CLI;
the `hocvu` program itself is lms/__main__.py."""

from __future__ import annotations

import os
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import with_appcontext
from flask_babel import force_locale, gettext
from flask_migrate import upgrade

from lms import jobs
from lms.app.extensions import db
from lms.models import Role
from lms.services.errors import DomainError


def _fail(error: DomainError) -> None:
    with force_locale(current_app.config["HOCVU_DEFAULT_LOCALE"]):
        message = gettext(error.message, **error.params)
    raise click.ClickException(message)


@click.command("init")
@click.option("--demo", is_flag=True, help="Also load the demo organisation and accounts.")
@with_appcontext
def init_command(demo: bool) -> None:
    """Create or upgrade the database schema (and load demo data with --demo)."""
    if demo and current_app.config["HOCVU_ENV"] == "production":
        raise click.ClickException(
            "--demo creates accounts with a known password; it is refused in production "
            "(set HOCVU_ENV=development for a trial)."
        )
    files_dir = current_app.config["HOCVU_FILES_DIR"]
    os.makedirs(files_dir, exist_ok=True)
    upgrade()
    click.echo(f"Database ready: {db.engine.url.render_as_string(hide_password=True)}")
    if not current_app.config["HOCVU_REDIS_URL"]:
        # Embedded runner: jobs ran in the stopped web process. With Redis, workers outlive
        # the site and the queue owns retries.
        interrupted = jobs.fail_interrupted(db.session)
        db.session.commit()
        if interrupted:
            click.echo(f"Jobs: {interrupted} interrupted by the last stop marked as failed.")
    from lms.app.storage import LocalStorage
    from lms.jobs import certificates as issuing
    from lms.setup.library import install_library

    app = current_app._get_current_object()
    if app.config["HOCVU_ENV"] == "production":
        # No self-signed trial key on a real site: learners would get certificates that say
        # they have no legal value. Until the key is installed completions wait for it.
        problem = issuing.signing_problem(app)
        if problem and problem.trial:
            click.echo(
                f"Warning: {problem.detail}. Certificates signed with it say they have no legal "
                "value; reissue them from the learners' pages once the key is installed.",
                err=True,
            )
        elif problem:
            click.echo(
                f"Warning: no certificate can be signed ({problem.detail}). Set "
                "HOCVU_SIGNING_KEY to your organisation's key; the certificates of learners "
                "who complete a course before that are issued afterwards from the "
                "certificates page or with `hocvu issue-certificates`.",
                err=True,
            )
    elif issuing.ensure_development_key(app):
        click.echo(
            "Development signing certificate created (certificates will say they are trials): "
            f"{app.config['HOCVU_SIGNING_KEY']}"
        )
    storage = LocalStorage(files_dir)
    for title in install_library(db.session, storage):
        click.echo(f"Bundled course installed: {title}")
    db.session.commit()
    if demo:
        from lms.services import clock
        from lms.setup.demo import load_demo

        report = load_demo(
            db.session,
            current_app.instance_path,
            clock.today(current_app.config["HOCVU_TIMEZONE"]),
            storage,
        )
        db.session.commit()
        click.echo(report)


@click.command("create-admin")
@click.argument("username")
@click.option("--full-name", prompt="Full name", help="The administrator's full name.")
@click.option(
    "--password",
    prompt=True,
    hide_input=True,
    confirmation_prompt=True,
    help="The password (asked for when not given).",
)
@with_appcontext
def create_admin_command(username: str, full_name: str, password: str) -> None:
    """Create a site administrator account."""
    from lms.services.accounts import AccountData, create_user

    try:
        user, _ = create_user(
            db.session,
            None,
            username=username,
            data=AccountData(full_name=full_name, org_unit=None),
            roles=[(Role.SITE_ADMIN, None)],
            password=password,
        )
    except DomainError as error:
        db.session.rollback()
        _fail(error)
    # The operator chose this password on the command line; no change is forced.
    user.must_change_password = False
    db.session.commit()
    click.echo(f"Site administrator {user.username} created.")


@click.command("import-course")
@click.argument("path", type=click.Path(exists=True, dir_okay=True, path_type=Path))
@click.option("--draft", is_flag=True, help="Store the version without publishing it.")
@with_appcontext
def import_course_command(path: Path, draft: bool) -> None:
    """Check a course bundle (folder or zip) and add it as a new version of its course."""
    from courses.errors import BundleError
    from lms.app.storage import LocalStorage
    from lms.services import catalog

    source = path.read_bytes() if path.is_file() else path
    try:
        version = catalog.import_bundle(
            db.session,
            None,
            source,
            LocalStorage(current_app.config["HOCVU_FILES_DIR"]),
            publish_now=not draft,
        )
    except BundleError as error:
        db.session.rollback()
        with force_locale(current_app.config["HOCVU_DEFAULT_LOCALE"]):
            for problem in error.problems:
                where = f"{problem.path}:{problem.line}" if problem.line else problem.path
                click.echo(f"{where}: {gettext(problem.message, **problem.params)}", err=True)
        raise click.ClickException(
            f"{len(error.problems)} problem(s); nothing was imported."
        ) from None
    except DomainError as error:
        db.session.rollback()
        _fail(error)
    db.session.commit()
    state = "draft" if draft else "published"
    lessons = sum(1 for a in version.activities if a.kind == "page")
    bank = len(version.final_test["questions"]) if version.final_test else 0
    click.echo(
        f"{version.title}: version {version.number} {state}, {lessons} lessons"
        + (f", final test bank of {bank} questions." if bank else ".")
    )


@click.command("send-reminders")
@click.option(
    "--now",
    type=click.DateTime(formats=["%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M%z"]),
    help="Act as if it were this time (ISO 8601 with offset), to check a schedule.",
)
@with_appcontext
def send_reminders_command(now) -> None:
    """Send the deadline reminders due now (safe to run every 15 minutes, from any machine)."""
    from lms.jobs.reminders import send_reminders

    counts = send_reminders(current_app._get_current_object(), now)
    click.echo(
        f"Reminders: {counts['claimed']} sent in the app, {counts['emailed']} by email"
        + (f", {counts['email_failed']} emails failed" if counts["email_failed"] else "")
        + "."
    )


@click.command("issue-certificates")
@click.option(
    "--in-background", is_flag=True, help="Hand the work to the job runner and return at once."
)
@with_appcontext
def issue_certificates_command(in_background: bool) -> None:
    """Issue the certificates of completed courses that have none (after a key problem)."""
    from lms.jobs import certificates as issuing

    if in_background:
        job = jobs.enqueue("certificates.issue")
        click.echo(f"Job {job.id} queued.")
        return
    issued = issuing.issue_missing(current_app._get_current_object(), db.session)
    click.echo(f"Certificates issued: {issued}.")


@click.command("refresh-reports")
@with_appcontext
def refresh_reports_command() -> None:
    """Count the figures of the reports dashboard again, for every published course (cron)."""
    from lms.services import reports

    timezone = current_app.config["HOCVU_TIMEZONE"]
    courses = reports.courses_in_use(db.session)
    for course in courses:
        reports.refresh(db.session, course.id, timezone)
        db.session.commit()
    click.echo(f"Report figures counted for {len(courses)} courses.")


@click.command("import-users")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--batch", "batch_name", help="Put every account in this batch (đợt học).")
@click.option(
    "--admin",
    "admin_name",
    default="admin",
    show_default=True,
    help="The administrator the import is done as (their units are the scope).",
)
@click.option("--dry-run", is_flag=True, help="Check every row and report; write nothing.")
@click.option(
    "--usernames",
    type=click.Choice(["name", "phone"]),
    default="name",
    show_default=True,
    help="How to make usernames for rows without one.",
)
@click.option("--no-update", is_flag=True, help="Leave existing accounts as they are.")
@click.option(
    "--create-units",
    is_flag=True,
    help="Add the units of a path that do not exist (under the admin's units).",
)
@click.option(
    "--credentials",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the new accounts' initial logins to this CSV file (mode 0600).",
)
@with_appcontext
def import_users_command(
    path: Path,
    batch_name: str | None,
    admin_name: str,
    dry_run: bool,
    usernames: str,
    no_update: bool,
    create_units: bool,
    credentials: Path | None,
) -> None:
    """Create or update accounts from a CSV or XLSX file (all rows or none)."""
    from sqlalchemy import select

    from lms.models import User
    from lms.services import clock, passwords, rosters

    actor = db.session.scalar(select(User).where(User.username == admin_name))
    if actor is None or not actor.is_admin:
        raise click.ClickException(f"{admin_name} is not an administrator.")
    with force_locale(current_app.config["HOCVU_DEFAULT_LOCALE"]):
        try:
            table = rosters.read_file(path.name, path.read_bytes())
        except DomainError as error:
            _fail(error)
        plan = rosters.plan_import(
            db.session,
            actor,
            table,
            username_from=usernames,
            update_existing=not no_update,
            create_units=create_units,
        )
        for row in plan.errors:
            reasons = " ".join(gettext(m, **p) for m, p in row.errors)
            click.echo(f"line {row.line}: {reasons}", err=True)
    click.echo(
        f"{len(plan.rows)} rows: {plan.count('new')} new, {plan.count('update')} to update, "
        f"{plan.count('unchanged')} unchanged, {len(plan.errors)} with errors."
    )
    if dry_run:
        return
    if plan.errors:
        raise click.ClickException("nothing was imported: correct the rows above first.")
    with click.progressbar(length=len(plan.rows), label="Importing") as bar:
        done = [0]

        def progress(count: int, total: int) -> None:
            bar.update(count - done[0])
            done[0] = count

        result = rosters.commit_import(
            db.session,
            actor,
            plan,
            batch_name=batch_name,
            initial_key=passwords.initial_password_key(current_app.config["SECRET_KEY"]),
            today=clock.today(current_app.config["HOCVU_TIMEZONE"]),
            timezone=current_app.config["HOCVU_TIMEZONE"],
            progress=progress,
        )
    db.session.commit()
    click.echo(f"Created {result.created}, updated {result.updated}, unchanged {result.unchanged}.")
    if credentials and result.credentials:
        from lms.documents.spreadsheets import Column, write_csv

        headers = ["Họ và tên", "Đơn vị", "Tên đăng nhập", "Mật khẩu ban đầu"]
        zone = current_app.config["HOCVU_TIMEZONE"]
        rows = ([i.full_name, i.unit, i.username, i.password] for i in result.credentials)
        fd = os.open(credentials, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as handle:
            write_csv(handle, [Column(h) for h in headers], rows, zone)
        click.echo(f"Initial logins written to {credentials} (keep it safe; delete it after use).")


@click.command("worker")
@click.option("--burst", is_flag=True, help="Stop when the queue is empty.")
@click.option("--name", help="The worker's name in Redis (default: a random one).")
@with_appcontext
def worker_command(burst: bool, name: str | None) -> None:
    """Run background jobs from the Redis queue (needs HOCVU_REDIS_URL); run one per core."""
    app = current_app._get_current_object()
    if not app.config["HOCVU_REDIS_URL"]:
        raise click.ClickException(
            "HOCVU_REDIS_URL is not set: without Redis, jobs run inside the web process "
            "and no worker is needed."
        )
    from lms.jobs import queue

    click.echo(f"Worker on the job queue {app.config['HOCVU_JOB_QUEUE']!r}.")
    try:
        queue.work(app, burst=burst, name=name)
    except queue.WorkerNameTaken as error:
        raise click.ClickException(str(error)) from None


@click.command("backup")
@click.argument("dest", type=click.Path(dir_okay=False, path_type=Path))
@with_appcontext
def backup_command(dest: Path) -> None:
    """Back up the database and the files (HOCVU_FILES_DIR) into DEST (.tar or .tar.gz)."""
    from importlib.metadata import version

    from alembic.runtime.migration import MigrationContext

    from lms.setup.backup import BackupError, create_backup

    with db.engine.connect() as connection:
        revision = MigrationContext.configure(connection).get_current_revision()
    db.session.remove()
    try:
        manifest = create_backup(
            current_app.config["SQLALCHEMY_DATABASE_URI"],
            Path(current_app.config["HOCVU_FILES_DIR"]),
            dest,
            revision=revision,
            version=version("hocvu"),
        )
    except BackupError as error:
        raise click.ClickException(str(error)) from None
    files = manifest.data["files"]
    click.echo(
        f"Backup written to {dest}: {manifest.dialect} database at revision {revision}, "
        f"{files['count']} files ({files['bytes']} bytes)."
    )


@click.command("restore")
@click.argument("src", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Replace a database that already holds data.")
@with_appcontext
def restore_command(src: Path, force: bool) -> None:
    """Replace the database and the files with those of the backup SRC (stop the server first)."""
    from alembic.script import ScriptDirectory

    from lms.setup.backup import BackupError, database_has_data, restore_backup

    script = ScriptDirectory(current_app.extensions["migrate"].directory)
    known = {revision.revision for revision in script.walk_revisions()}
    engine = db.engine
    tables = [table.name for table in db.metadata.sorted_tables]

    def close_connections() -> None:
        db.session.remove()
        engine.dispose()

    try:
        manifest = restore_backup(
            current_app.config["SQLALCHEMY_DATABASE_URI"],
            Path(current_app.config["HOCVU_FILES_DIR"]),
            src,
            known_revision=lambda revision: revision is None or revision in known,
            has_data=lambda: database_has_data(engine, tables),
            force=force,
            before_database=close_connections,
        )
    except BackupError as error:
        raise click.ClickException(str(error)) from None
    click.echo(
        f"Restored {src} (made {manifest.data['created_at']} by Hocvu "
        f"{manifest.data['version']}): database at revision {manifest.revision}, "
        f"{manifest.data['files']['count']} files."
    )
    if manifest.revision != script.get_current_head():
        upgrade()
        click.echo(f"Database upgraded to revision {script.get_current_head()}.")


def register(app: Flask) -> None:
    """Add Hocvu's commands to the app's CLI."""
    app.cli.add_command(init_command)
    app.cli.add_command(create_admin_command)
    app.cli.add_command(import_course_command)
    app.cli.add_command(send_reminders_command)
    app.cli.add_command(issue_certificates_command)
    app.cli.add_command(import_users_command)
    app.cli.add_command(refresh_reports_command)
    app.cli.add_command(worker_command)
    app.cli.add_command(backup_command)
    app.cli.add_command(restore_command)
