"""Setting a site up and keeping it: the database and bundled courses (`init`), the first
administrator, importing a course, backup and restore, and the housekeeping cron."""

from __future__ import annotations

import os
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext
from flask_babel import force_locale, gettext
from flask_migrate import upgrade

from lms import jobs
from lms.app.extensions import db
from lms.cli.common import fail
from lms.models import Role
from lms.services.errors import DomainError


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
        if not issuing.profile(app, db.session).organisation:
            click.echo(
                "Warning: no organisation is named as the issuer of certificates; they wait "
                "until a site admin fills in the organisation profile (Quản trị > Tổ chức cấp) "
                "or HOCVU_CERT_ORGANISATION is set, then issues the missing ones.",
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
        fail(error)
    # The operator chose this password on the command line; no change is forced.
    user.must_change_password = False
    db.session.commit()
    click.echo(f"Site administrator {user.username} created.")


@click.command("import-course")
@click.argument("path", type=click.Path(exists=True, dir_okay=True, path_type=Path))
@click.option("--draft", is_flag=True, help="Store the version without publishing it.")
@click.option(
    "--new-version",
    is_flag=True,
    help="A SCORM package titled like an existing course: make it a new version of that course.",
)
@click.option(
    "--new-course",
    "new_title",
    metavar="TITLE",
    help="A SCORM package titled like an existing course: make it another course, so titled.",
)
@with_appcontext
def import_course_command(path: Path, draft: bool, new_version: bool, new_title: str | None):
    """Check a course bundle (folder or zip) or a SCORM package (zip) and add it as a new
    version of its course, as the authors' upload page does."""
    from courses.errors import BundleError
    from lms.app.i18n import message_text
    from lms.app.storage import LocalStorage
    from lms.services import catalog

    if new_version and new_title:
        raise click.UsageError("Give --new-version or --new-course, not both.")
    source = path.read_bytes() if path.is_file() else path
    storage = LocalStorage(current_app.config["HOCVU_FILES_DIR"])
    version_of = None
    try:
        if new_version:
            version_of, _ = catalog.title_taken(db.session, source)
        version = catalog.import_bundle(
            db.session,
            None,
            source,
            storage,
            publish_now=not draft,
            version_of=version_of,
            title=new_title.strip() if new_title else None,
        )
    except catalog.TitleTaken as taken:
        db.session.rollback()
        with force_locale(current_app.config["HOCVU_DEFAULT_LOCALE"]):
            message = gettext(
                "A course titled %(title)s already exists: add --new-version to make the "
                "package a new version of it, or --new-course with another title.",
                title=taken.course.title,
            )
        raise click.ClickException(message) from None
    except BundleError as error:
        db.session.rollback()
        with force_locale(current_app.config["HOCVU_DEFAULT_LOCALE"]):
            for problem in error.problems:
                where = f"{problem.path}:{problem.line}" if problem.line else problem.path
                click.echo(f"{where}: {message_text(problem.message, problem.params)}", err=True)
        raise click.ClickException(
            f"{len(error.problems)} problem(s); nothing was imported."
        ) from None
    except DomainError as error:
        db.session.rollback()
        fail(error)
    db.session.commit()
    state = "draft" if draft else "published"
    lessons = sum(1 for a in version.activities if a.kind == "page")
    packages = sum(1 for a in version.activities if a.kind == "scorm")
    bank = len(version.final_test["questions"]) if version.final_test else 0
    click.echo(
        f"{version.title}: version {version.number} {state}, {lessons} lessons"
        + (f", {packages} SCORM packages" if packages else "")
        + (f", final test bank of {bank} questions." if bank else ".")
    )
    with force_locale(current_app.config["HOCVU_DEFAULT_LOCALE"]):
        allowed = current_app.config["HOCVU_CONTENT_ALLOWED_ORIGINS"]
        for problem in catalog.blocked_urls(db.session, version, allowed):
            where = f"{problem.path}:{problem.line}" if problem.line else problem.path
            click.echo(f"{where}: {message_text(problem.message, problem.params)}", err=True)


@click.command("housekeeping")
@with_appcontext
def housekeeping_command() -> None:
    """Delete what is no longer needed and holds personal data: uploaded account lists older
    than 24 hours that were never imported, ended logins, old failed login attempts (cron)."""
    from lms.app.storage import for_app
    from lms.jobs import imports
    from lms.services import logins

    uploads = imports.discard_stale_uploads(for_app(current_app))
    ended = logins.purge_ended(db.session, current_app.config["HOCVU_LOGIN_WINDOW_MINUTES"])
    db.session.commit()
    click.echo(
        f"Deleted {uploads} uploaded lists, {ended['sessions']} ended logins and "
        f"{ended['failures']} old failed login attempts."
    )


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
