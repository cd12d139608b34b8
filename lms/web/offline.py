"""Learning on a weak connection (issue 23): the service worker, the web app manifest, the
offline page, what a course needs for reading offline, and the door the browser's outbox
sends its queued actions through.

The service worker (lms/static/js/sw.js) is served from the root of Hocvu's pages, so that
its scope covers them; the server writes its settings in front of it (the app shell's URLs
with their versions, so a new release is a new worker). Who is logged in reaches the browser
as a key (`outbox.user_key`) in the `X-Hocvu-User` header of every page and in a meta tag:
caches and outbox are kept per key, and a new key (another learner, a password change) makes
the browser drop the previous learner's.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    g,
    jsonify,
    render_template,
    request,
    url_for,
)
from flask_babel import get_locale, gettext
from flask_login import current_user, login_required
from sqlalchemy import select

from lms.app.extensions import db
from lms.app.i18n import format_sizes, message_text
from lms.app.kept import remembered
from lms.app.storage import LocalStorage, StorageError
from lms.models import Activity, Enrolment
from lms.services import outbox, tracking
from lms.services.activities import MEDIA_PLACEHOLDER
from lms.services.errors import DomainError
from lms.web.common import enrolment_or_404, message_of, static_version

bp = Blueprint("offline", __name__)

HEADER = "X-Hocvu-User"
# A lesson page fetched to be kept for offline reading: not an opening (the minimum reading
# time starts when the learner opens the lesson, online or from the cache).
DOWNLOAD_HEADER = "X-Hocvu-Download"
THEME = "#0b5d3b"
# The app shell: what every page needs, kept by the service worker when it is installed.
SHELL = (
    "css/hocvu.css",
    "js/hocvu.js",
    "js/outbox-store.js",
    "js/offline.js",
    "js/scorm-player.js",
    "favicon.svg",
    "icons/hocvu.svg",
    "icons/hocvu-192.png",
)
# What the layout around a lesson's own HTML weighs (header, navigation, forms), measured on
# the bundled course's pages: the download's announced size adds it to each page.
PAGE_LAYOUT_BYTES = 5500
_MEDIA = re.compile(re.escape(MEDIA_PLACEHOLDER) + r'(media/[^"\'\s)<>]+)')
_SW_FILE = Path(__file__).resolve().parent.parent / "static" / "js" / "sw.js"


def user_key() -> str | None:
    """The logged-in account's key for the browser's caches and outbox (None when nobody)."""
    # Kept for the request: the layout asks while the page is made, and the response's header
    # after the view's commit has expired the loaded account (asking it again reloads it).
    if "offline_user_key" not in g:
        user = current_user._get_current_object()
        g.offline_user_key = (
            _user_key(user.get_id(), current_app.config["SECRET_KEY"])
            if user.is_authenticated
            else None
        )
    return g.offline_user_key


@remembered()  # every learner of a batch online fits
def _user_key(user_id: str, secret: str) -> str:
    # An HMAC on every page otherwise; kept for the accounts seen by this process.
    return outbox.user_key(user_id, secret)


def download_size(size: int) -> str:
    """A download's size as the learner reads it ("1,2 MB", "840 KB")."""
    return _size_text(size, str(get_locale()))


@lru_cache(maxsize=1024)
def _size_text(size: int, _locale: str) -> str:
    # Kept per size and language: Babel's number formatting cost more than the rest of the
    # course page's offline section, which shows the same size on every visit.
    return format_sizes({"size": size})["size"]


@bp.app_context_processor
def offline_context():
    """The layout's values: the account key for offline.js, a download's size in words."""
    return {"offline_user_key": user_key, "download_size": download_size}


@bp.after_app_request
def tell_who(response: Response) -> Response:
    """Pages say who they were made for, so the service worker keeps them apart."""
    if response.mimetype != "text/html":  # most answers (files, JSON): nothing else to look at
        return response
    ours = current_app.extensions.get("hocvu_blueprints", frozenset())
    if request.blueprint in ours:
        key = user_key()
        if key:
            response.headers[HEADER] = key
    return response


@lru_cache(maxsize=8)
def _worker_source(_mtime_ns: int) -> str:
    return _SW_FILE.read_text(encoding="utf-8")


@bp.route("/sw.js")
def service_worker():
    """The service worker, with this site's settings in front of it."""
    root = url_for("learn.index")
    settings = {
        "scope": root,
        "shell": [url_for("core.static", filename=name) for name in SHELL],
        "offline": url_for("offline.page"),
        "sync": url_for("offline.sync"),
        "logout": url_for("auth.logout"),
        "store": url_for("core.static", filename="js/outbox-store.js"),
        "courses": root + "courses/",
        "media": url_for("learn.media", version_id=0, path="").rsplit("0/", 1)[0],
        "download_header": DOWNLOAD_HEADER,
        "user_header": HEADER,
    }
    source = _worker_source(_SW_FILE.stat().st_mtime_ns)
    versions = "".join(static_version(name) or "" for name in SHELL)
    digest = hashlib.sha256((versions + source + json.dumps(settings)).encode()).hexdigest()
    settings["version"] = digest[:12]
    body = f"self.HOCVU = {json.dumps(settings)};\n{source}"
    response = Response(body, mimetype="text/javascript")
    response.headers["Service-Worker-Allowed"] = root
    # Browsers look for a new worker at most daily anyway; never keep an old one longer.
    response.headers["Cache-Control"] = "no-cache"
    return response


@bp.route("/manifest.webmanifest")
def manifest():
    """The web app manifest: installable, Vietnamese name, icons, opens the learner home."""
    name = current_app.config["HOCVU_SITE_NAME"]
    body = {
        "name": name if name != "Hocvu" else "Hocvu — Học vụ số",
        "short_name": name[:12],
        "description": gettext("Learning management system"),
        "lang": "vi",
        "start_url": url_for("learn.index"),
        "scope": url_for("learn.index"),
        "display": "standalone",
        "background_color": "#f5f7f6",
        "theme_color": THEME,
        "icons": [
            {
                "src": url_for("core.static", filename="icons/hocvu-192.png"),
                "sizes": "192x192",
                "type": "image/png",
                "purpose": "any maskable",
            },
            {
                "src": url_for("core.static", filename="icons/hocvu-512.png"),
                "sizes": "512x512",
                "type": "image/png",
                "purpose": "any maskable",
            },
            {
                "src": url_for("core.static", filename="icons/hocvu.svg"),
                "sizes": "any",
                "type": "image/svg+xml",
            },
        ],
    }
    response = Response(json.dumps(body, ensure_ascii=False), mimetype="application/manifest+json")
    response.headers["Cache-Control"] = "public, max-age=86400"
    return response


@bp.route("/offline")
def page():
    """What a page that is not kept on the phone shows while the connection is down: the
    service worker keeps this page with the app shell; offline.js lists what is kept."""
    return render_template("hocvu/offline.html")


@dataclass(frozen=True)
class Download:
    """What reading a course offline needs: its pages and files, with their sizes, and the
    SCOs to launch once so that their packages are kept (runtime URL, package size: a
    package's files are kept once for all its SCOs); for SCORM 2004 lessons, the activity
    and its package size (which SCO is kept depends on the learner: `sequenced_scos`)."""

    urls: list[tuple[str, int]]
    scos: list[tuple[str, int]]
    sequenced: list[tuple[int, int]] = field(default_factory=list)

    @property
    def bytes(self) -> int:
        return (
            sum(size for _, size in self.urls)
            + sum(size for _, size in self.scos)
            + sum(size for _, size in self.sequenced)
        )


@lru_cache(maxsize=256)
def _package_bytes(root: str) -> int:
    # Packages are stored by content hash: their files never change.
    return sum(p.stat().st_size for p in Path(root).rglob("*") if p.is_file())


def _scorm_launches(
    storage: LocalStorage, activity: Activity, seen: set[int], sequenced: list[tuple[int, int]]
):
    """The SCOs of a SCORM 1.2 lesson to launch for offline play; a SCORM 2004 lesson goes
    to `sequenced` (its SCO is the one the SN engine would deliver to the learner)."""
    package = tracking.package_of(db.session, activity)
    size = 0 if package.id in seen else _package_bytes(str(storage.root / package.files_path))
    seen.add(package.id)
    if tracking.is_sequenced(package):
        sequenced.append((activity.id, size))
        return []
    return [
        (url_for("player.runtime", activity_id=activity.id, index=index), size if index == 0 else 0)
        for index in range(len(package.manifest["scos"]))
    ]


# A version's lessons and files never change once imported (a new upload is a new version),
# so what its download holds is worked out once per app and process for each version (and its
# files), course address and site root: the course page shows its size on every visit (issue
# 24: no page reloads every lesson's content to say the same thing).


def course_download(enrolment: Enrolment) -> Download:
    """The course page, every lesson page (final test included: it says a connection is
    needed), the lessons' media and the SCORM packages, with sizes from the stored HTML and
    files."""
    kept = current_app.extensions.setdefault("hocvu_course_downloads", {})
    version = enrolment.version
    key = (version.id, version.files_path, enrolment.course.slug, request.script_root)
    download = kept.get(key)
    if download is None:
        if len(kept) >= 512:
            kept.clear()
        download = kept[key] = _course_download(enrolment)
    return download


def _course_download(enrolment: Enrolment) -> Download:
    slug = enrolment.course.slug
    storage = LocalStorage(current_app.config["HOCVU_FILES_DIR"])
    activities = db.session.scalars(
        select(Activity)
        .where(Activity.version_id == enrolment.version_id)
        .order_by(Activity.position)
    ).all()
    urls = [(url_for("learn.course", slug=slug), PAGE_LAYOUT_BYTES + 400 * len(activities))]
    media: dict[str, int] = {}
    scos: list[tuple[str, int]] = []
    sequenced: list[tuple[int, int]] = []
    packages: set[int] = set()
    for activity in activities:
        if activity.kind == "scorm":
            scos.extend(_scorm_launches(storage, activity, packages, sequenced))
        html = activity.content.get("html", "") if activity.kind == "page" else ""
        questions = json.dumps(activity.content.get("self_check", []), ensure_ascii=False)
        size = PAGE_LAYOUT_BYTES + len(html.encode()) + len(questions.encode())
        urls.append((url_for("learn.activity", slug=slug, key=activity.key), size))
        for path in _MEDIA.findall(html):
            if path in media:
                continue
            try:
                local = storage.local_path(f"{enrolment.version.files_path}/{path}")
            except StorageError:
                continue
            media[path] = local.stat().st_size
    for path, size in media.items():
        urls.append((url_for("learn.media", version_id=enrolment.version_id, path=path), size))
    return Download(urls, scos, sequenced)


def sequenced_scos(enrolment: Enrolment, download: Download) -> list[dict]:
    """The SCORM 2004 SCOs of the course to keep for the learner now: in each lesson, the one
    opening the lesson page would deliver (what the kept page launches). Keeping one changes
    nothing on the server, so the course page keeps it again on each visit online ("again"):
    the kept launch then starts from the learner's newest state."""
    files_root = Path(current_app.config["HOCVU_FILES_DIR"])
    out = []
    for activity_id, size in download.sequenced:
        activity = db.session.get(Activity, activity_id)
        if activity is None:
            continue
        sco, _ = tracking.planned_delivery(db.session, enrolment, activity, files_root)
        scos = tracking.package_of(db.session, activity).manifest["scos"]
        index = next((i for i, s in enumerate(scos) if s["identifier"] == sco), None)
        if index is None:
            continue  # nothing to deliver (the lesson is over): nothing to play offline
        url = url_for("player.runtime", activity_id=activity.id, index=index)
        out.append({"runtime": url, "bytes": size, "again": True})
    return out


@bp.route("/offline/courses/<slug>")
@login_required
def course(slug: str):
    """The URLs and sizes of what the learner's course needs offline (their own enrolment
    only: another course answers 404)."""
    enrolment = enrolment_or_404(slug)
    download = course_download(enrolment)
    scos = [{"runtime": url, "bytes": size} for url, size in download.scos]
    scos += sequenced_scos(enrolment, download)
    # A registration made on first use (its seed decides a randomized package's order).
    db.session.commit()
    return jsonify(
        course=slug,
        title=enrolment.version.title,
        user=user_key(),
        bytes=download.bytes,
        urls=[{"url": url, "bytes": size} for url, size in download.urls],
        scos=scos,
    )


def _refusal(message: str | None, params: dict) -> str | None:
    return message_text(message, params) if message else None


@bp.route("/offline/sync", methods=["POST"])
def sync():
    """Take the actions the learner's browser queued offline, in order, each once; answer
    each one's outcome (a refusal with its reason in the learner's language)."""
    if not current_user.is_authenticated:
        return jsonify(error="login", message=gettext("Please log in to see this page.")), 401
    try:
        body = request.get_json(silent=True)
    except RecursionError:  # nested past Python's stack: not a queue the page sends
        body = None
    actions = body.get("actions") if isinstance(body, dict) else None
    if not isinstance(actions, list):
        abort(400)
    try:
        outcomes = outbox.handle(db.session, current_user, user_key() or "", actions)
    except DomainError as error:
        db.session.rollback()
        return jsonify(error="refused", message=message_of(error)), 400
    db.session.commit()
    return jsonify(
        results=[
            {
                "id": o.id,
                "status": o.status,
                "first": o.first,
                "message": _refusal(o.message, o.params),
            }
            for o in outcomes
        ]
    )
