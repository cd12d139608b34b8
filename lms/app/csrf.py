"""CSRF protection: Flask-WTF's, with each signed token's check kept for the process.

Every form post, autosave and SCORM commit sends the session's CSRF token signed; Flask-WTF
checks it by deriving the key, verifying the HMAC and decoding the token's JSON (a serializer
made per request), about a tenth of an autosave (bench/learner_pages.py, issue 24). While
WTF_CSRF_TIME_LIMIT is None (Hocvu's setting: a token lives as long as its session) a signed
token that was good once stays good for the same secret, so the raw token it carries is kept
by (secret, signed token) and then compared with the session's own as Flask-WTF does. With a
time limit every token is checked by Flask-WTF itself.
"""

from __future__ import annotations

import hmac
import logging

from flask import current_app, g, request, session
from flask_wtf.csrf import CSRFProtect, ValidationError, same_origin, validate_csrf

from lms.app.kept import Kept

log = logging.getLogger("flask_wtf.csrf")

# Signed token -> the raw token it carries, by secret.
_CHECKED: Kept[tuple[str, str], str] = Kept()


def check_token(data: str | None) -> None:
    """Raise ValidationError unless `data` is the session's CSRF token, signed."""
    config = current_app.config
    if config.get("WTF_CSRF_TIME_LIMIT", 3600) is not None:
        validate_csrf(data)
        return
    name = config.get("WTF_CSRF_FIELD_NAME", "csrf_token")
    if not data:
        raise ValidationError("The CSRF token is missing.")
    if name not in session:
        raise ValidationError("The CSRF session token is missing.")
    key = (str(config.get("WTF_CSRF_SECRET_KEY") or current_app.secret_key), data)
    raw = _CHECKED.get(key)
    if raw is None:
        validate_csrf(data)  # signature and the session's token: raises when wrong
        _CHECKED.keep(key, session[name])
    elif not hmac.compare_digest(session[name], raw):
        raise ValidationError("The CSRF tokens do not match.")


class KeptCSRFProtect(CSRFProtect):
    """CSRFProtect whose check of the request's token is check_token()."""

    def protect(self, apply_exemptions=False):
        # CSRFProtect.protect with validate_csrf replaced: exemptions, methods, the token, and
        # over HTTPS the referrer (WTF_CSRF_SSL_STRICT).
        if apply_exemptions and (not request.endpoint or self._is_exempt()):
            return
        if request.method not in current_app.config["WTF_CSRF_METHODS"]:
            return
        try:
            check_token(self._get_csrf_token())
        except ValidationError as error:
            log.info(error.args[0])
            self._error_response(error.args[0])
        if request.is_secure and current_app.config["WTF_CSRF_SSL_STRICT"]:
            if not request.referrer:
                self._error_response("The referrer header is missing.")
            if not same_origin(request.referrer, f"https://{request.host}/"):
                self._error_response("The referrer does not match the host.")
        g.csrf_valid = True
