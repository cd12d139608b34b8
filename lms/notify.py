"""Turning claimed reminders and notices into text in the learner's language, and mailing."""

from __future__ import annotations

import logging
from datetime import date, datetime

from flask import Flask
from flask_babel import force_locale, gettext

from lms import jobs
from lms.app import mail
from lms.app.extensions import db
from lms.app.i18n import format_date
from lms.models import Reminder, User, utcnow
from lms.services import reminders

log = logging.getLogger(__name__)


def message_text(message: str, params: dict) -> str:
    """A stored message (English msgid + params) in the current language."""
    shown = dict(params)
    if isinstance(shown.get("date"), str):
        shown["date"] = format_date(date.fromisoformat(shown["date"]))
    return gettext(message, **shown)


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
