"""Hocvu's commands (`hocvu init`, `import-users`, `worker`, ...), registered on the app's CLI;
the `hocvu` program itself is lms/__main__.py. By concern: `site` (setting up and keeping a
site), `campaign` (accounts, reminders, certificates, figures) and `worker`."""

from __future__ import annotations

from flask import Flask

from lms.cli import campaign, site, worker


def register(app: Flask) -> None:
    """Add Hocvu's commands to the app's CLI."""
    for command in (
        site.init_command,
        site.create_admin_command,
        site.import_course_command,
        campaign.send_reminders_command,
        campaign.issue_certificates_command,
        campaign.import_users_command,
        campaign.refresh_reports_command,
        site.housekeeping_command,
        worker.worker_command,
        site.backup_command,
        site.restore_command,
    ):
        app.cli.add_command(command)
