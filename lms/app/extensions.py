"""The Flask extensions Hocvu uses, created unbound and initialised by init_app()."""

from __future__ import annotations

from flask import request
from flask_babel import Babel
from flask_login import LoginManager as _LoginManager
from flask_login.utils import _create_identifier
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy

from lms.app.csrf import KeptCSRFProtect
from lms.app.database import Base
from lms.app.kept import Kept


class LoginManager(_LoginManager):
    """Flask-Login's manager, with `background_refusal`: when set, what a request refused for
    want of a login answers when nobody navigated to it (a page's or the service worker's own
    fetch, told by the browser's Sec-Fetch-Mode), instead of the redirect to the login page.

    Such a request must not write the session: its cookie (an anonymous one, with the flashed
    "please log in", or the login page's CSRF token after the redirect) would replace the
    cookie of a login made meanwhile in the same browser, and the learner find themselves
    logged out on the next page.
    """

    background_refusal = None

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._session_identifier_generator = _kept_identifier

    def unauthorized(self):
        mode = request.headers.get("Sec-Fetch-Mode", "navigate")
        if self.background_refusal is not None and mode != "navigate":
            return self.background_refusal()
        return super().unauthorized()


# Flask-Login's session identifier (session protection: a SHA-512 of the client's address and
# User-Agent, compared on every logged-in request), made by Flask-Login once per such pair.
_IDENTIFIERS: Kept[tuple[str | None, str | None, str | None], str] = Kept()


def _kept_identifier() -> str:
    environ = request.environ
    key = (
        environ.get("HTTP_X_FORWARDED_FOR"),
        environ.get("REMOTE_ADDR"),
        environ.get("HTTP_USER_AGENT"),
    )
    found = _IDENTIFIERS.get(key)
    if found is None:
        found = _IDENTIFIERS.keep(key, _create_identifier())
    return found


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
babel = Babel()
login_manager = LoginManager()
csrf = KeptCSRFProtect()
