"""Sending the reminders that are due: claimed once, written in the learner's language and
mailed (the in-app notices are the claimed rows themselves)."""

from __future__ import annotations

import logging
from datetime import datetime

from flask import Flask
from flask_babel import force_locale, gettext

from lms.app import mail
from lms.app.extensions import db
from lms.app.i18n import message_text
from lms.jobs import core as jobs
from lms.models import Reminder, User, utcnow
from lms.services import reminders

log = logging.getLogger(__name__)


def send_reminders(app: Flask, now: datetime | None = None) -> dict[str, int]:
    """Claim the reminders due now and email those whose learner has an address."""
    now = now or utcnow()
    counts = {"claimed": 0, "emailed": 0, "email_failed": 0}
    with app.app_context():
        claimed = reminders.claim_due(db.session, now, app.config["HOCVU_TIMEZONE"])
        counts["claimed"] = len(claimed)
        if not mail.configured(app):
            return counts
        for item in claimed:
            user = db.session.get(User, item.user_id)
            if not user.email:
                continue
            locale = user.locale or app.config["HOCVU_DEFAULT_LOCALE"]
            with (
                app.test_request_context(base_url=app.config["HOCVU_BASE_URL"]),
                force_locale(locale),
            ):
                from flask import url_for

                subject = gettext("Reminder: %(course)s", course=item.params["course"])
                body = "\n\n".join(
                    [
                        gettext("Hello %(name)s,", name=user.full_name),
                        message_text(item.message, item.params),
                        gettext(
                            "Continue learning: %(url)s", url=url_for("learn.index", _external=True)
                        ),
                        app.config["HOCVU_SITE_NAME"],
                    ]
                )
            reminder = db.session.get(Reminder, item.reminder_id)
            try:
                mail.send(app, user.email, subject, body)
            except mail.MailError as error:
                log.warning("reminder %s to %s not sent: %s", item.reminder_id, user.email, error)
                reminder.email_error = str(error)[:500]
                counts["email_failed"] += 1
            else:
                reminder.emailed_at = utcnow()
                counts["emailed"] += 1
            db.session.commit()
    return counts


@jobs.task("reminders.send")
def send_reminders_task(ctx: jobs.JobContext) -> dict:
    """The job form of `hocvu send-reminders`, for a scheduler that uses the job runner."""
    from flask import current_app

    return send_reminders(current_app._get_current_object())
