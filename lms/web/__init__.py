"""The web layer: one blueprint per audience, error pages, security headers."""

from __future__ import annotations

import logging
from functools import lru_cache

from flask import (
    Blueprint,
    Flask,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import IntegrityError
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from courses.markdown import VIDEO_HOSTS
from lms.app.extensions import db, login_manager
from lms.app.i18n import message_text
from lms.services.errors import DomainError, Forbidden, NotFound
from lms.services.logins import load_session_user, touch_login_session
from lms.web.common import LOGIN_KEY, message_of, session_rules, static_version
from lms.web.compression import init_compression
from lms.web.layout import init_layout
from lms.web.limits import too_large_message
from lms.web.templating import init_templating
from lms.web.urls import init_page_tokens, init_template_urls

log = logging.getLogger(__name__)

# Hocvu's templates and static files belong to this blueprint, so that they are found when
# Hocvu is mounted into a host application too.
core = Blueprint(
    "core",
    __name__,
    static_folder="../static",
    static_url_path="/static",
    template_folder="../templates",
)

# Content Security Policy of Hocvu's own pages: nothing inline, nothing from elsewhere but
# the content origin's frames (SCORM packages).
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; "
    "frame-ancestors 'none'; frame-src {content}"
)

# HTTP Strict Transport Security (RFC 6797): browsers go to this host name, and the names under
# it, only over HTTPS for a year, even when a learner types the address or follows an old
# http:// link on a café's Wi-Fi. includeSubDomains reaches only names below the site's own
# (hoc.example.vn -> noidung.hoc.example.vn), never its siblings (www.example.vn); a content
# origin there is HTTPS anyway, because an https page cannot frame an http one.
HSTS = "max-age=31536000; includeSubDomains"


def site_csp(config) -> str:
    """The policy of the site's pages, with this site's content origin and the video players
    a lesson may embed (courses.markdown.VIDEO_HOSTS, the only frames its sanitizer keeps)."""
    return _site_csp(config["HOCVU_CONTENT_ORIGIN"])


@lru_cache(maxsize=8)
def _site_csp(content_origin: str) -> str:
    players = " ".join(f"https://{host}" for host in sorted(VIDEO_HOSTS))
    return CSP.format(content=f"{content_origin} {players}")


def _add_missing(headers, wanted: tuple[tuple[str, str], ...]) -> None:
    """Add each of `wanted` the response does not set itself (as headers.setdefault, with one
    look at the response's headers instead of one per header)."""
    present = {name.lower() for name, _value in headers}
    for name, value in wanted:
        if name.lower() not in present:
            headers.add(name, value)


# Endpoints a user who must change their password may still reach.
_OPEN_WHILE_PASSWORD_EXPIRED = {"auth.change_password", "auth.logout", "auth.set_language"}


def register_web(app: Flask, url_prefix: str) -> None:
    """Register Hocvu's blueprints, login handling, error pages and response headers."""
    from lms.web import (
        admin,
        auth,
        author,
        certificates,
        classes,
        content,
        learn,
        offline,
        ops,
        player,
        reports,
        teams,
        testing,
    )

    blueprints = (
        core,
        auth.bp,
        learn.bp,
        offline.bp,
        player.bp,
        testing.bp,
        classes.bp,
        teams.bp,
        certificates.bp,
        author.bp,
        admin.bp,
        reports.bp,
    )
    for blueprint in blueprints:
        prefix = url_prefix + (blueprint.url_prefix or "")
        app.register_blueprint(blueprint, url_prefix=prefix or None)
    ours = {b.name for b in blueprints}
    app.extensions["hocvu_blueprints"] = frozenset(ours)  # whose bodies lms.web.limits limits
    standalone = not url_prefix
    # Only a standalone site served over HTTPS (production with secure cookies: nginx in front
    # terminates TLS, so the request itself may look like http here) sends HSTS. A development
    # site seen once through https on localhost would otherwise bind every local app on that
    # name to https for a year; a host application that mounts Hocvu owns its host name and
    # decides for it.
    send_hsts = (
        standalone
        and app.config["HOCVU_ENV"] == "production"
        and bool(app.config["HOCVU_SESSION_COOKIE_SECURE"])
    )
    # Health, readiness and metrics: outside `ours`, so that no login rule or redirect (and
    # no database access) runs before them.
    app.register_blueprint(ops.bp, url_prefix=url_prefix or None)
    # The content origin's pages: outside `ours` too; they answer on the content origin only.
    app.register_blueprint(content.bp, url_prefix=url_prefix or None)
    content.init_content(app, ours)

    login_manager.login_view = "auth.login"
    login_manager.login_message = _l("Please log in to see this page.")
    login_manager.login_message_category = "info"
    login_manager.session_protection = "basic"
    login_manager.background_refusal = lambda: (
        jsonify(error="login", message=gettext("Please log in to see this page.")),
        401,
    )

    @login_manager.user_loader
    def load_user(cookie_id: str):
        found = load_session_user(
            db.session, cookie_id, session.get(LOGIN_KEY), session_rules(app.config)
        )
        if found is None:
            return None
        g.login_session_id = found.login_session_id
        if found.stale:
            # On a connection of its own: a read-only page need not commit for it.
            with db.engine.begin() as connection:
                touch_login_session(connection, found.login_session_id)
        return found.user

    @app.before_request
    def force_password_change():
        if request.blueprint not in ours or request.endpoint in _OPEN_WHILE_PASSWORD_EXPIRED:
            return None
        if request.endpoint in ("core.static", "player.commit"):
            # The commit endpoint checks the account itself, in the query that finds the
            # state, so that the busiest request loads no more than it needs.
            return None
        if current_user.is_authenticated and current_user.must_change_password:
            return redirect(url_for("auth.change_password"))
        return None

    @app.url_defaults
    def version_static_urls(endpoint: str | None, values: dict) -> None:
        # A version in every static URL lets nginx (or a browser) keep the files for a year:
        # a changed file gets a new URL.
        if endpoint == "core.static" and "filename" in values:
            values.setdefault("v", static_version(values["filename"]))

    if standalone:
        # A host application's templates share the Jinja environment: its url_for and
        # csrf_token are left as Flask's and Flask-WTF's.
        init_template_urls(app)
        init_page_tokens(app)

    init_compression(app, core.static_folder, None if standalone else frozenset(ours))

    hsts = (("Strict-Transport-Security", HSTS),) if send_hsts else ()
    # Package files and the API frame set their own policy (they must be framed).
    content_headers = (
        ("Content-Security-Policy", "default-src 'none'"),
        ("Referrer-Policy", "no-referrer"),
        ("X-Content-Type-Options", "nosniff"),
        *hsts,
    )
    site_headers = (
        ("X-Frame-Options", "DENY"),
        ("Referrer-Policy", "same-origin"),
        ("X-Content-Type-Options", "nosniff"),
        ("Permissions-Policy", "camera=(), microphone=()"),
        *hsts,
    )

    @app.after_request
    def security_headers(response):
        if content.is_content_request():
            _add_missing(response.headers, content_headers)
            return response
        served = request._get_current_object()  # once, not through the proxy each time
        if standalone or served.blueprint in ours:
            wanted = (("Content-Security-Policy", site_csp(app.config)), *site_headers)
            if served.endpoint != "core.static" and "_user_id" in session:
                wanted += (("Cache-Control", "no-store"),)
            _add_missing(response.headers, wanted)
        return response

    # A stored message (English msgid and parameters, ISO dates) in the user's language.
    app.jinja_env.globals["message"] = message_text

    # The layout's fixed parts, kept per process (lms/web/layout.py). Its two small forms
    # (language, log out) are written out in hocvu/_layout.html, which never reads the request
    # body (an error page, a 413 above all, renders without touching the body that caused it).
    init_layout(app, standalone)
    # Templates read their globals without a ChainMap (lms/web/templating.py).
    init_templating(app, standalone)

    @app.context_processor
    def layout_context():
        if request.blueprint not in ours and not standalone:
            return {}
        return {"site_name": app.config["HOCVU_SITE_NAME"]}

    def wants_json() -> bool:
        return request.accept_mimetypes.best == "application/json" or request.is_json

    def error_page(status: int, title, message):
        # Titles and messages may be lazy strings: they are rendered after the rollback.
        title, message = str(title), str(message)
        if content.is_content_request():
            # No page of the site there (it has no session to render one with).
            return app.response_class(f"{title}\n", status, mimetype="text/plain")
        if wants_json():
            return jsonify(error=title, message=message), status
        return render_template(
            "hocvu/error.html", status=status, title=title, message=message
        ), status

    @app.errorhandler(DomainError)
    def domain_error(error: DomainError):
        db.session.rollback()
        if isinstance(error, NotFound):
            return error_page(404, gettext("Not found"), message_of(error))
        if isinstance(error, Forbidden):
            return error_page(403, gettext("Not allowed"), message_of(error))
        return error_page(400, gettext("Cannot do that"), message_of(error))

    @app.errorhandler(CSRFError)
    def csrf_error(_error):
        db.session.rollback()
        return error_page(
            400,
            gettext("The form has expired"),
            gettext(
                "The form was sent without a valid security token, perhaps because it was "
                "open for a long time or sent from another site. Go back, reload the page "
                "and try again."
            ),
        )

    @app.errorhandler(IntegrityError)
    def integrity_error(_error):
        db.session.rollback()
        return error_page(
            409,
            gettext("Conflict"),
            gettext("Someone else changed the same data at the same moment. Please try again."),
        )

    if standalone:
        _register_http_errors(app, error_page)


def _register_http_errors(app: Flask, error_page) -> None:
    titles = {
        400: (_l("Bad request"), _l("The request could not be understood.")),
        403: (_l("Not allowed"), _l("You do not have the right to see this page.")),
        404: (_l("Not found"), _l("This page does not exist or has been moved.")),
        401: (_l("Please log in"), _l("Please log in to see this page.")),
        405: (_l("Not available"), _l("This action is not available here.")),
        409: (
            _l("Conflict"),
            _l("Someone else changed the same data at the same moment. Please try again."),
        ),
        413: (_l("Too much data"), None),  # the message names the page's limit
        429: (_l("Too many requests"), _l("Please wait a moment and try again.")),
    }

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        db.session.rollback()
        title, message = titles.get(error.code or 500, (error.name, error.description))
        if isinstance(error, RequestEntityTooLarge):
            message = too_large_message()
        return error_page(error.code or 500, str(title), str(message))

    @app.errorhandler(Exception)
    def server_error(error: Exception):
        log.exception("unhandled error on %s", request.path, exc_info=error)
        db.session.rollback()
        return error_page(
            500,
            gettext("Something went wrong"),
            gettext("The error has been recorded. Please try again in a moment."),
        )


def warm_up(app: Flask) -> int:
    """Compile Hocvu's templates and load the translations now, before the first request.

    gunicorn.conf.py calls it in each new worker: a worker replaced after its share of
    requests would otherwise make its first learners wait for the compilation (a quarter of
    a second for the home page on a small server). Returns how many templates it compiled.
    """
    from flask_babel import force_locale, get_translations

    names = [n for n in app.jinja_env.list_templates() if n.startswith("hocvu/")]
    for name in names:
        app.jinja_env.get_template(name)
    with app.test_request_context():
        for locale in app.config["HOCVU_LOCALES"]:
            with force_locale(locale):
                get_translations()
    return len(names)
