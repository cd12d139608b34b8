"""Sending mail through the SMTP server named by HOCVU_SMTP_* settings."""

from __future__ import annotations

import logging
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formataddr, make_msgid

from flask import Flask

log = logging.getLogger(__name__)


class MailError(Exception):
    """The message could not be handed to the SMTP server."""


def configured(app: Flask) -> bool:
    """True when an SMTP server is configured."""
    return bool(app.config.get("HOCVU_SMTP_HOST"))


def send(app: Flask, to: str, subject: str, body: str) -> None:
    """Send one plain-text message (UTF-8); raise MailError when the server refuses it."""
    config = app.config
    message = EmailMessage()
    message["From"] = formataddr((config["HOCVU_SITE_NAME"], config["HOCVU_MAIL_FROM"]))
    message["To"] = to
    message["Subject"] = subject
    message["Message-ID"] = make_msgid(domain=config["HOCVU_MAIL_FROM"].rsplit("@", 1)[-1])
    message.set_content(body)
    host, port = config["HOCVU_SMTP_HOST"], int(config["HOCVU_SMTP_PORT"])
    timeout = 30
    try:
        if config["HOCVU_SMTP_SSL"]:
            client = smtplib.SMTP_SSL(
                host, port, timeout=timeout, context=ssl.create_default_context()
            )
        else:
            client = smtplib.SMTP(host, port, timeout=timeout)
        with client:
            if config["HOCVU_SMTP_STARTTLS"]:
                client.starttls(context=ssl.create_default_context())
            if config.get("HOCVU_SMTP_USERNAME"):
                client.login(config["HOCVU_SMTP_USERNAME"], config.get("HOCVU_SMTP_PASSWORD") or "")
            client.send_message(message)
    except (OSError, smtplib.SMTPException) as error:
        raise MailError(str(error)) from error
