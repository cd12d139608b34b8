"""Running a campaign from the command line: importing accounts (with the same check as the
browser), reminders, the missing certificates, the dashboard's figures."""

from __future__ import annotations

import os
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext
from flask_babel import force_locale, gettext, ngettext

from lms import jobs
from lms.app.extensions import db
from lms.cli.common import fail
from lms.services.errors import DomainError


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
    try:
        issued = issuing.issue_missing(current_app._get_current_object(), db.session)
    except DomainError as error:  # no issuing organisation named yet
        db.session.rollback()
        fail(error)
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
    "--course",
    "courses",
    multiple=True,
    help="A course (its id or its address name) of a new batch; repeat for several.",
)
@click.option(
    "--days",
    type=click.IntRange(1, 365),
    help="Days to finish of a new batch (default: each course's).",
)
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
    help="Add the units of a path that do not exist (under the admin's units; a site admin may "
    "add the top unit).",
)
@click.option(
    "--accept",
    "accepted",
    multiple=True,
    help="Accept one warning by its code (printed by the check); repeat for several.",
)
@click.option("--yes", "accept_all", is_flag=True, help="Accept every warning the check prints.")
@click.option(
    "--credentials",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the new accounts' initial logins to this CSV file (mode 0600).",
)
@click.option(
    "--lang",
    type=click.Choice(["vi", "en"]),
    default=None,
    help="Language of the report (default: the site's, Vietnamese).",
)
@with_appcontext
def import_users_command(
    path: Path,
    batch_name: str | None,
    courses: tuple[str, ...],
    days: int | None,
    admin_name: str,
    dry_run: bool,
    usernames: str,
    no_update: bool,
    create_units: bool,
    accepted: tuple[str, ...],
    accept_all: bool,
    credentials: Path | None,
    lang: str | None,
) -> None:
    """Create or update accounts from a CSV or XLSX file (all rows or none), with the same
    check as the browser: units to add, batches, due dates, warnings to accept."""
    from sqlalchemy import select

    from lms.models import Course, User
    from lms.services import clock, passwords, rosters

    config = current_app.config
    with force_locale(lang or config["HOCVU_DEFAULT_LOCALE"]):
        actor = db.session.scalar(select(User).where(User.username == admin_name))
        if actor is None or not actor.is_admin:
            raise click.ClickException(
                gettext("%(name)s is not an administrator.", name=admin_name)
            )
        course_ids = []
        for wanted in courses:
            number = int(wanted) if wanted.isdigit() else -1
            found = db.session.scalar(
                select(Course.id).where((Course.slug == wanted) | (Course.id == number))
            )
            if found is None:
                raise click.ClickException(gettext("No course %(name)s.", name=wanted))
            course_ids.append(found)
        try:
            table = rosters.read_file(path.name, path.read_bytes())
            plan = rosters.plan_import(
                db.session,
                actor,
                table,
                username_from=usernames,
                update_existing=not no_update,
                create_units=create_units,
            )
            shown = rosters.preview(
                db.session,
                actor,
                plan,
                default_batch=batch_name,
                course_ids=course_ids,
                days=days,
                today=clock.today(config["HOCVU_TIMEZONE"]),
            )
        except DomainError as error:
            fail(error)
        _report_check(shown, create_units)
        if plan.errors:
            raise click.ClickException(
                gettext("Nothing was imported: correct the rows with errors first.")
            )
        accept = [w.code for w in shown.warnings] if accept_all else list(accepted)
        refused = shown.unaccepted(accept)
        if refused and not dry_run:
            raise click.ClickException(
                gettext(
                    "Nothing was imported: accept the warnings above with --accept CODE "
                    "(or --yes for all), or change the file or the options."
                )
            )
        if dry_run:
            click.echo(gettext("Dry run: nothing was written."))
            return
        with click.progressbar(length=len(plan.rows), label=gettext("Importing")) as bar:
            done = [0]

            def progress(count: int, total: int) -> None:
                bar.update(count - done[0])
                done[0] = count

            try:
                result = rosters.commit_import(
                    db.session,
                    actor,
                    plan,
                    batch_name=batch_name,
                    course_ids=course_ids,
                    days=days,
                    accepted=tuple(accept),
                    initial_key=passwords.initial_password_key(config["SECRET_KEY"]),
                    today=clock.today(config["HOCVU_TIMEZONE"]),
                    timezone=config["HOCVU_TIMEZONE"],
                    progress=progress,
                )
            except DomainError as error:
                db.session.rollback()
                fail(error)
        db.session.commit()
        click.echo(
            gettext(
                "Imported: %(created)s new accounts, %(updated)s updated, %(unchanged)s "
                "unchanged; %(units)s units and %(batches)s batches added; %(enrolled)s "
                "enrolments.",
                created=result.created,
                updated=result.updated,
                unchanged=result.unchanged,
                units=result.units_created,
                batches=result.batches_created,
                enrolled=result.enrolled,
            )
        )
        if credentials and result.credentials:
            from lms.documents.spreadsheets import Column, write_csv

            headers = ["Họ và tên", "Đơn vị", "Tên đăng nhập", "Mật khẩu ban đầu", "Hạn hoàn thành"]
            zone = config["HOCVU_TIMEZONE"]
            rows = (
                [i.full_name, i.unit, i.username, i.password, i.due_day] for i in result.credentials
            )
            fd = os.open(credentials, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            columns = [Column(h, "date" if h == headers[-1] else "text") for h in headers]
            with os.fdopen(fd, "wb") as handle:
                write_csv(handle, columns, rows, zone)
            click.echo(
                gettext(
                    "Initial logins written to %(path)s: keep it safe and delete it after use.",
                    path=credentials,
                )
            )


def _report_check(shown, create_units: bool) -> None:
    """The check page of the browser, as text."""
    from lms.app.i18n import format_date, format_number, message_text

    plan = shown.plan
    click.echo(
        gettext(
            "%(rows)s rows: %(new)s new, %(update)s to update, %(unchanged)s unchanged, "
            "%(errors)s with errors.",
            rows=format_number(len(plan.rows)),
            new=format_number(plan.count("new")),
            update=format_number(plan.count("update")),
            unchanged=format_number(plan.count("unchanged")),
            errors=format_number(len(plan.errors)),
        )
    )
    for message, params, lines in plan.error_groups():
        shown_lines = ", ".join(str(n) for n in lines[:10]) + (" …" if len(lines) > 10 else "")
        click.echo(
            gettext(
                "%(n)s rows (lines %(lines)s): %(message)s",
                n=format_number(len(lines)),
                lines=shown_lines,
                message=gettext(message, **params),
            ),
            err=True,
        )
    for name, rows in plan.missing_roots.items():
        click.echo(
            gettext(
                "%(rows)s rows name units under “%(name)s”, which is not on this site.",
                rows=format_number(rows),
                name=name,
            ),
            err=True,
        )
        if not create_units:
            click.echo(
                gettext("Add --create-units to add them (the top unit too, for a site admin).")
            )
    new_units = plan.new_units()
    if new_units:
        click.echo(gettext("Units to add: %(n)s", n=format_number(len(new_units))))
        for unit in new_units:
            where = ""
            if unit.depth == 0:
                where = (
                    " ("
                    + (
                        gettext("under %(name)s", name=unit.parent.name)
                        if unit.parent
                        else gettext("top unit")
                    )
                    + ")"
                )
            click.echo(
                "  " * (unit.depth + 1)
                + f"{unit.name}{where}: "
                + ngettext("%(num)s account", "%(num)s accounts", unit.accounts)
            )
    for batch in shown.batches:
        courses = ", ".join(c.title for c in batch.courses) or gettext("no course")
        label = gettext("new batch") if batch.new else gettext("batch")
        click.echo(
            f"{label} {batch.name}: "
            + ngettext("%(num)s account", "%(num)s accounts", batch.accounts)
            + f" · {courses}"
        )
    if shown.without_batch:
        click.echo(
            ngettext(
                "%(num)s account joins no batch.",
                "%(num)s accounts join no batch.",
                shown.without_batch,
            )
        )
    for due in shown.due_dates[:30]:
        click.echo(
            gettext(
                "Issued %(issued)s, %(course)s: due at 24:00 on %(due)s (%(n)s accounts).",
                issued=format_date(due.issued),
                course=due.course.title,
                due=format_date(due.due),
                n=format_number(due.accounts),
            )
        )
    for warning in shown.warnings:
        click.echo(
            gettext(
                "Warning [%(code)s]: %(message)s",
                code=warning.code,
                message=message_text(warning.message, warning.params),
            ),
            err=True,
        )
