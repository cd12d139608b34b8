"""What the commands share."""

from __future__ import annotations

import click
from flask import current_app
from flask_babel import force_locale, gettext

from lms.services.errors import DomainError


def fail(error: DomainError) -> None:
    with force_locale(current_app.config["HOCVU_DEFAULT_LOCALE"]):
        message = gettext(error.message, **error.params)
    raise click.ClickException(message)
