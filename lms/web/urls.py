"""The templates' url_for() and csrf_token(), with what they make kept for the process.

A page's layout alone builds about twenty URLs (its stylesheet, scripts, menu and forms), the
same on every page: Flask's url_for (the request's blueprint, the URL defaults, Werkzeug's rule
builder; with a static file's version, a stat() of the file) cost about a tenth of a learner
page (bench/learner_pages.py, issue 24). A URL depends only on the endpoint, its values and the
request's script root, so it is built once and then found in a dict.

Not kept, built by Flask every time: external URLs or ones naming a method or scheme, values
that cannot be a dict key, anything while the app runs in debug mode (a static file edited
then gets its new version at once), and everything once another URL-defaults function than
the site's own is registered (a host application's may depend on the request).
"""

from __future__ import annotations

from flask import Flask
from flask.globals import _cv_request

from lms.app.kept import Kept

# Enough for the layouts and the pages' links of a few hundred courses; cleared when full.
KEPT = 4096


def init_template_urls(app: Flask) -> None:
    """Give the app's templates a url_for that keeps what it built (call it after the site's
    own URL defaults are registered)."""
    build = app.url_for
    expected = {key: list(funcs) for key, funcs in app.url_default_functions.items()}
    kept: dict[tuple, str] = {}

    def url_for(endpoint: str, /, **values) -> str:
        context = _cv_request.get(None)
        if (
            context is None
            or app.debug
            or "_external" in values
            or "_scheme" in values
            or "_method" in values
            or app.url_default_functions != expected
        ):
            return build(endpoint, **values)
        request = context.request
        blueprint = request.blueprint if endpoint[:1] == "." else None
        try:
            # Each value with its type: 1, 1.0 and True are equal keys but not equal URLs.
            key = (
                request.root_path,
                blueprint,
                endpoint,
                *((name, value.__class__, value) for name, value in values.items()),
            )
            url = kept.get(key)
        except TypeError:  # a value that cannot be a key
            return build(endpoint, **values)
        if url is None:
            url = build(endpoint, **values)
            if len(kept) >= KEPT:
                kept.clear()
            kept[key] = url
        return url

    app.jinja_env.globals["url_for"] = url_for


# Signed CSRF tokens by (secret, the session's raw token): a page's token is signed once per
# process for each session instead of on every page (about 30 us: a serializer, its key
# derivation, JSON and an HMAC). Any signed copy of the session's token is accepted while
# WTF_CSRF_TIME_LIMIT is None (Hocvu's setting: the token lives as long as the session); with a
# time limit the token is signed on each page, as Flask-WTF does.
_SIGNED_TOKENS: Kept[tuple[str, str], str] = Kept()


def init_page_tokens(app: Flask) -> None:
    """Give the templates a csrf_token() that signs each session's token once per process."""
    from flask import g, session
    from flask_wtf.csrf import generate_csrf

    def csrf_token() -> str:
        config = app.config
        name = config.get("WTF_CSRF_FIELD_NAME", "csrf_token")
        signed = g.get(name)
        if signed is not None:
            return signed
        raw = session.get(name)
        if raw is None or config.get("WTF_CSRF_TIME_LIMIT", 3600) is not None:
            return generate_csrf()
        key = (str(config.get("WTF_CSRF_SECRET_KEY") or app.secret_key), raw)
        signed = _SIGNED_TOKENS.get(key)
        if signed is None:
            signed = _SIGNED_TOKENS.keep(key, generate_csrf())
        else:
            setattr(g, name, signed)  # what generate_csrf() keeps for the request
        return signed

    app.jinja_env.globals["csrf_token"] = csrf_token
    # Flask-WTF puts its own in every template's context too: this one replaces it.
    app.context_processor(lambda: {"csrf_token": csrf_token})
