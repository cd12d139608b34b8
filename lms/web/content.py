"""The content origin: SCORM package files and the frame that holds the SCORM API for them.

Packages are untrusted code (an author's upload, a vendor's course). They run on a host name of
their own (HOCVU_CONTENT_ORIGIN), which never receives the site's cookies, so their scripts
cannot read the learner's pages or act with an administrator's rights. That host serves only
what this blueprint routes (404 for everything else, and the site's routes answer 404 to it),
and every file is reached through a launch-scoped link (lms.services.content_links) instead of a
cookie.

The player page on the site frames /frame/<link> (sandboxed); that frame loads the data model
engine (scorm-api.js) and scorm-frame.js, which exposes window.API / API_1484_11 to the package,
frames the package's launch file from /pkg/<link>/..., and passes each commit to the player page
by postMessage; the page (scorm-player.js) keeps the journal and sends commits with its own
session and CSRF token.

For offline play (issue 23) the frame, asked with `#offline` by the course page's download,
keeps the package's files in the content origin's caches (`/pkg-files/<link>` lists them)
and registers the content origin's service worker (content-sw.js), which serves them when the
network fails. The files keep the headers they were sent with, their policy included.
"""

from __future__ import annotations

import copy
import mimetypes
import time
from functools import lru_cache
from pathlib import Path
from urllib.parse import quote, urlsplit

from flask import (
    Blueprint,
    Flask,
    abort,
    current_app,
    jsonify,
    redirect,
    request,
    send_file,
    url_for,
)
from flask.sessions import SecureCookieSessionInterface
from flask_babel import gettext
from itsdangerous import BadSignature
from markupsafe import escape

from lms.app.config import origin_of
from lms.app.extensions import db
from lms.app.kept import Kept
from lms.app.storage import LocalStorage, StorageError
from lms.models.scorm import ScormPackage
from lms.services import content_links
from lms.web.compression import add_vary

bp = Blueprint("content", __name__)

# Types the SCORM content of authoring tools uses, beyond what the platform may know.
CONTENT_TYPES = {
    ".js": "text/javascript",
    ".mjs": "text/javascript",
    ".css": "text/css",
    ".html": "text/html",
    ".htm": "text/html",
    ".json": "application/json",
    ".xml": "application/xml",
    ".xsd": "application/xml",
    ".svg": "image/svg+xml",
    ".woff": "font/woff",
    ".woff2": "font/woff2",
    ".ttf": "font/ttf",
    ".mp4": "video/mp4",
    ".m4v": "video/mp4",
    ".webm": "video/webm",
    ".mp3": "audio/mpeg",
    ".m4a": "audio/mp4",
    ".ogg": "audio/ogg",
    ".wav": "audio/wav",
    ".vtt": "text/vtt",
    ".swf": "application/x-shockwave-flash",
    ".pdf": "application/pdf",
}

# The flags of the player's frame (the templates use it): scripts, forms, pop-ups, downloads
# and modal dialogs (packages ask "resume where you left off?"), on the content origin's own
# origin; never top navigation, so a package cannot take the learner's page elsewhere.
FRAME_SANDBOX = (
    "allow-scripts allow-same-origin allow-forms allow-popups allow-downloads allow-modals"
)

# The frame's own scripts, served by the content origin (nothing else of lms/static is), and
# the content origin's service worker (offline play).
FRAME_ASSETS = ("scorm-api.js", "scorm-frame.js")
SERVICE_WORKER = "content-sw.js"
_STATIC_JS = Path(__file__).resolve().parent.parent / "static" / "js"


def content_origin() -> str:
    """The content origin of this site, e.g. "https://noidung.hoc.example.vn"."""
    return current_app.config["HOCVU_CONTENT_ORIGIN"]


def site_origin() -> str:
    """The origin of the site's page that this request serves: HOCVU_BASE_URL's when the
    request came to that host name (behind a proxy that ends TLS, the request's own scheme may
    say http), else the request's own (another name of the site, a test server)."""
    own = f"{request.scheme}://{request.host}".lower()
    base = current_app.config["HOCVU_BASE_URL"]
    host, port = _request_address()
    try:
        _, base_host, base_port = origin_of(base)
    except ValueError:
        return own
    if base_host == host and port in (None, base_port):
        parts = urlsplit(base)
        return f"{parts.scheme}://{parts.netloc}".lower()
    return own


def _request_address() -> tuple[str, int | None]:
    """The host name of this request and its port when the Host header names one."""
    return _address_of(request.host)


@lru_cache(maxsize=64)
def _address_of(host: str) -> tuple[str, int | None]:
    try:
        parts = urlsplit("//" + host)
        return (parts.hostname or "").lower(), parts.port
    except ValueError:
        return "", None


def is_content_request() -> bool:
    """Whether this request came to the content origin: its host name, and its port (a Host
    header without one names the origin's default port; behind a proxy that ends TLS the
    request's own scheme says nothing). Found once per request (the session, the origin
    check and the response headers each ask)."""
    environ = request.environ
    known = environ.get("hocvu.content_request")
    if known is None:
        known = environ["hocvu.content_request"] = _is_content_address(
            _request_address(), content_origin()
        )
    return known


@lru_cache(maxsize=8)
def _host_of(origin: str) -> str:
    return origin_of(origin)[1]


@lru_cache(maxsize=64)
def _is_content_address(address: tuple[str, int | None], origin: str) -> bool:
    host, port = address
    _, content_host, content_port = origin_of(origin)
    if port is None:
        return host == content_host and urlsplit(origin).port is None
    return host == content_host and port == content_port


def _grant(token: str) -> content_links.Grant | None:
    from lms.web.common import session_rules

    config = current_app.config
    grant = content_links.read(
        config["SECRET_KEY"], token, int(config["HOCVU_CONTENT_LINK_MINUTES"]) * 60
    )
    if grant is None or not content_links.still_valid(db.session, grant, session_rules(config)):
        return None
    return grant


def _refused():
    """The answer to a link that is forged, expired or revoked (shown inside the player)."""
    message = escape(
        gettext("This link to the lesson has expired. Reload the lesson page to go on.")
    )
    body = f'<!doctype html><html lang="vi"><meta charset="utf-8"><p>{message}</p></html>'
    response = current_app.response_class(body, status=404, mimetype="text/html")
    response.headers["Content-Security-Policy"] = "default-src 'none'"
    return response


@bp.route("/frame/<token>")
def frame(token: str):
    """The frame that holds the SCORM API for one launch (or one try-out)."""
    grant = _grant(token)
    if grant is None:
        return _refused()
    scripts = "".join(
        f'<script src="{escape(url_for("content.asset", name=name, v=_asset_version(name)))}"'
        f" defer></script>"
        for name in FRAME_ASSETS
    )
    body = (
        '<!doctype html><html lang="vi"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>SCORM</title>{scripts}</head>"
        f'<body data-lms-origin="{escape(grant.lms_origin)}"></body></html>'
    )
    response = current_app.response_class(body, mimetype="text/html")
    # connect-src and worker-src: the frame keeps the package for offline play.
    response.headers["Content-Security-Policy"] = (
        "default-src 'none'; script-src 'self'; frame-src 'self'; connect-src 'self'; "
        f"worker-src 'self'; frame-ancestors {grant.lms_origin}; base-uri 'none'; "
        "form-action 'none'"
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/frame-assets/<name>")
def asset(name: str):
    """The frame's scripts (versioned URLs: kept a year), and the service worker."""
    if name == SERVICE_WORKER:
        response = send_file(_STATIC_JS / name, mimetype="text/javascript", max_age=0)
        # Its scope is the content origin's root: the frames and the package files.
        response.headers["Service-Worker-Allowed"] = current_app.config["HOCVU_URL_PREFIX"] + "/"
        response.headers["Cache-Control"] = "no-cache"
        # A worker's own policy governs its fetches: the content origin's files only.
        response.headers["Content-Security-Policy"] = "default-src 'none'; connect-src 'self'"
        return response
    if name not in FRAME_ASSETS:
        abort(404)
    response = send_file(_STATIC_JS / name, mimetype="text/javascript", max_age=31536000)
    response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
    return response


def _asset_version(name: str) -> str | None:
    from lms.web.common import static_version

    return static_version(f"js/{name}")


@bp.route("/pkg/<token>/<path:path>")
def files(token: str, path: str):
    """A file of the package a link was made for."""
    grant = _grant(token)
    if grant is None:
        return _refused()
    package = db.session.get(ScormPackage, grant.package_id)
    if package is None:
        abort(404)
    storage = LocalStorage(current_app.config["HOCVU_FILES_DIR"])
    try:
        local = storage.local_path(f"{package.files_path}/{path}")
    except StorageError:
        abort(404)
    suffix = local.suffix.lower()
    mimetype = (
        CONTENT_TYPES.get(suffix)
        or mimetypes.guess_type(local.name)[0]
        or "application/octet-stream"
    )
    accel = current_app.config.get("HOCVU_ACCEL_REDIRECT_PREFIX")
    if accel:
        # nginx sends the file from its internal location (ranges, sendfile, no worker held);
        # it keeps this Content-Type and Cache-Control, and copies the headers below
        # (deploy/nginx-hocvu.conf, $upstream_http_...).
        key = local.relative_to(storage.root).as_posix()
        response = current_app.response_class(mimetype=mimetype)
        response.headers["X-Accel-Redirect"] = accel.rstrip("/") + "/" + quote(key)
    else:
        response = send_file(local, mimetype=mimetype, conditional=True, max_age=86400)
    # Package files never change (they are stored by content hash); the link is private.
    response.headers["Cache-Control"] = "private, max-age=86400, immutable"
    response.headers["Content-Security-Policy"] = package_csp(grant.lms_origin)
    return response


@bp.route("/pkg-files/<token>")
def file_list(token: str):
    """The files of the package a link was made for, for keeping it offline: their paths
    inside the package and their total size, and the package's content hash (its files are
    kept once, whichever link reaches them)."""
    grant = _grant(token)
    if grant is None:
        return _refused()
    package = db.session.get(ScormPackage, grant.package_id)
    if package is None:
        abort(404)
    root = LocalStorage(current_app.config["HOCVU_FILES_DIR"]).root / package.files_path
    paths = sorted(p for p in root.rglob("*") if p.is_file() and not p.is_symlink())
    response = jsonify(
        package=package.sha256,
        bytes=sum(p.stat().st_size for p in paths),
        files=[p.relative_to(root).as_posix() for p in paths],
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.app_template_global()
def frame_sandbox() -> str:
    """The sandbox flags of the player's frame."""
    return FRAME_SANDBOX


def package_csp(lms_origin: str) -> str:
    """The policy of package files: their own scripts, anything from their own origin and the
    origins of HOCVU_CONTENT_ALLOWED_ORIGINS (none by default: packages are self-contained),
    framed only by the API frame inside the site's player page, and nothing sent to the site.

    nginx sends package files with this very header (X-Accel-Redirect keeps it), so the
    setting applies the same way whoever sends the file."""
    allowed = "".join(f" {o}" for o in current_app.config["HOCVU_CONTENT_ALLOWED_ORIGINS"])
    return (
        f"default-src 'self' 'unsafe-inline' 'unsafe-eval' data: blob:{allowed}; "
        f"frame-ancestors {content_origin()} {lms_origin}; form-action 'self'; "
        "base-uri 'self'; object-src 'none'"
    )


# Cookies whose signature was checked, as (signed at, data), by (secret key, cookie): a
# learner's cookie stays the same between logins while a SCORM lesson commits every 30 s, and
# checking and decoding it again (HMAC, zlib, tagged JSON) was a tenth of a commit's time.
_OPENED: Kept[tuple[str, str], tuple[int, dict]] = Kept()

# An unchanged cookie is signed again (a new Expires and signing time, which slide the
# session's lifetime, PERMANENT_SESSION_LIFETIME) only when it was signed this long ago, not
# on every answer as Flask does (SESSION_REFRESH_EACH_REQUEST). Signing it (tagged JSON, zlib,
# HMAC, the Set-Cookie header) was a tenth of a learner page's time and of a SCORM commit's,
# which every learner sends every 30 s. The cookie of an active learner then ends at most
# this much before it would have, after its last use; the login session's own idle limit is
# the one that counts, and it is written at the same interval (the login session's
# last_seen_at, lms.services.logins.SessionRules.touch_every). A changed session (a login, a
# flashed message, a new CSRF token, a language) is written at once, as before.
REFRESH_EVERY_SECONDS = 300


def cookie_value(header: str | None, name: str) -> str | None:
    """The value of the first cookie named `name` in a Cookie header (RFC 6265 5.4: pairs of
    name=value separated by "; "), or None. Unlike Werkzeug's parse_cookie, which decodes every
    cookie of the header (ten times the time), a quoted value stays as sent: the session's
    cookie is never quoted (signed URL-safe base64), so such a value fails its signature."""
    if not header:
        return None
    for pair in header.split(";"):
        key, sign, value = pair.strip().partition("=")
        if sign and key == name:
            return value
    return None


class _SessionInterface(SecureCookieSessionInterface):
    """The site's cookie session, never opened or written on the content origin."""

    def open_session(self, app, request):
        if is_content_request():
            return self.make_null_session(app)
        # The one cookie read from the header, not every cookie through request.cookies (which
        # walks the whole environ for its Cookie headers): this runs on every request.
        value = cookie_value(request.environ.get("HTTP_COOKIE"), self.get_cookie_name(app))
        if not app.secret_key or not value:
            return super().open_session(app, request)
        max_age = int(app.permanent_session_lifetime.total_seconds())
        key = (str(app.secret_key), value)
        opened = _OPENED.get(key)
        if opened is None:
            serializer = self.get_signing_serializer(app)
            try:
                data, signed = serializer.loads(value, max_age=max_age, return_timestamp=True)
            except BadSignature:
                return self.session_class()
            opened = _OPENED.keep(key, (int(signed.timestamp()), data))
        signed_at, data = opened
        if not 0 <= time.time() - signed_at <= max_age:  # as itsdangerous: SignatureExpired
            return self.session_class()
        # The cached data stays as it was read: containers are copied (flashed messages).
        session = self.session_class(
            {k: copy.deepcopy(v) if isinstance(v, list | dict) else v for k, v in data.items()}
        )
        session.signed_at = signed_at
        return session

    def save_session(self, app, session, response) -> None:
        if is_content_request():
            return
        signed_at = getattr(session, "signed_at", None)
        if (
            signed_at is not None
            and not session.modified
            and time.time() - signed_at < REFRESH_EVERY_SECONDS
        ):
            if session.accessed:
                add_vary(response, "Cookie")
            return
        super().save_session(app, session, response)


def init_content(app: Flask, ours: set[str]) -> None:
    """Keep the two origins apart: the content origin serves this blueprint only (`ours`, the
    site's blueprints, and a host application's pages answer 404 there), the site never serves
    it, and the site's session cookie is neither read nor set on the content origin."""
    app.session_interface = _SessionInterface()

    def separate_origins():
        content = is_content_request()
        if content:
            if request.blueprint != bp.name:
                return current_app.response_class("Not found", 404, mimetype="text/plain")
            return None
        if request.blueprint == bp.name:
            return current_app.response_class("Not found", 404, mimetype="text/plain")
        if request.blueprint in ours and _request_address()[0] == _host_of(content_origin()):
            # The site reached under the content origin's host name on another port (a
            # developer typing localhost:5000): its cookies would reach the packages too.
            target = urlsplit(current_app.config["HOCVU_BASE_URL"])
            return redirect(f"{target.scheme}://{target.netloc}{request.full_path.rstrip('?')}")
        return None

    # Before every other hook (CSRF, login, the password-change redirect): nothing of the
    # site runs for the content origin. The request id and access log hooks stay first.
    funcs = app.before_request_funcs.setdefault(None, [])
    logs = [i for i, f in enumerate(funcs) if f.__module__ == "lms.app.logs"]
    funcs.insert(logs[-1] + 1 if logs else 0, separate_origins)
