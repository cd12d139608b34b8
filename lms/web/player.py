"""The SCORM player's endpoints: a SCO's run-time data, its commits, and the package files.

The player page itself is the lesson page of a SCORM activity (lms/web/learn.py with the
kind's template); the browser side is lms/static/js/scorm-player.js, which drives the data
model engine of lms/static/js/scorm-api.js with the rules served here.
"""

from __future__ import annotations

import dataclasses
import logging
import mimetypes
import time
from urllib.parse import quote

from flask import (
    Blueprint,
    abort,
    current_app,
    jsonify,
    request,
    send_file,
    session,
    url_for,
)
from flask_babel import gettext
from flask_login import current_user, login_required
from flask_wtf.csrf import validate_csrf
from sqlalchemy import exists, select
from wtforms.validators import ValidationError

from lms import metrics
from lms.extensions import csrf, db
from lms.models import Activity, Enrolment
from lms.models.scorm import ScormPackage, ScoState
from lms.services import accounts, tracking
from lms.services.errors import DomainError
from lms.storage import LocalStorage, StorageError
from lms.web import LOGIN_KEY, message_of, session_rules

log = logging.getLogger(__name__)

bp = Blueprint("player", __name__, url_prefix="/player")

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

# Packages run their own scripts in a frame of the player (they must reach window.parent.API),
# so they are served from this site, framed by this site only.
PACKAGE_CSP = (
    "default-src 'self' 'unsafe-inline' 'unsafe-eval' data: blob:; "
    "frame-ancestors 'self'; form-action 'self'; base-uri 'self'; object-src 'none'"
)

MAX_COMMIT_BYTES = 2 * 1024 * 1024


def _storage() -> LocalStorage:
    return LocalStorage(current_app.config["HOCVU_FILES_DIR"])


def _json_error(status: int, message: str):
    return jsonify(error=status, message=message), status


@bp.route("/rules/<standard>.json")
def rules(standard: str):
    """The data model rules of one standard, the same table the server checks with."""
    model = tracking.MODELS.get(standard)
    if model is None:
        abort(404)
    response = jsonify(model.table())
    response.headers["Cache-Control"] = "public, max-age=3600"
    return response


@bp.route("/activities/<int:activity_id>/scos/<int:index>/runtime")
@login_required
def runtime(activity_id: int, index: int):
    """Everything the browser needs to run one SCO: rules, launch values, stored state."""
    activity = db.session.get(Activity, activity_id)
    if activity is None or activity.kind != "scorm":
        abort(404)
    enrolment = db.session.scalar(
        select(Enrolment).where(
            Enrolment.user_id == current_user.id, Enrolment.version_id == activity.version_id
        )
    )
    if enrolment is None:
        abort(404)
    package = tracking.package_of(db.session, activity)
    scos = package.manifest["scos"]
    if not 0 <= index < len(scos):
        abort(404)
    item = scos[index]
    state = tracking.state_for(db.session, enrolment, activity, item["identifier"])
    from lms.services import learning

    learning.open_activity(db.session, enrolment, activity)
    if item.get("asset"):
        tracking.launched_asset(db.session, state)
    launch, stored, key = tracking.start_session(db.session, state, current_user)
    body = {
        "standard": package.standard,
        "rules_url": url_for("player.rules", standard=package.standard),
        "user": current_user.id,
        "state_id": state.id,
        "commit_url": url_for("player.commit", state_id=state.id),
        "session": key,
        "seq": state.seq,
        "launch": dataclasses.asdict(launch),
        "stored": stored,
        "launch_url": url_for("player.files", package_id=package.id, path=item["href"])
        + item.get("parameters", ""),
        "sco": item["identifier"],
        "session_only": sorted(tracking.MODELS[package.standard].session_only),
    }
    db.session.commit()
    return jsonify(body)


def _session_user() -> tuple[int, int, str] | None:
    """(user id, auth epoch, login session key) from the login cookie, without loading the
    user (the commit's query checks them)."""
    raw = session.get("_user_id")
    key = session.get(LOGIN_KEY)
    if not raw or not key:
        return None
    try:
        user_id, epoch = raw.split(":", 1)
        return int(user_id), int(epoch), key
    except ValueError:
        return None


@bp.route("/state/<int:state_id>/commit", methods=["POST"])
@csrf.exempt  # checked below, after the login: a stale page must learn it is logged out
def commit(state_id: int):
    """Take a commit of a SCO's state (JSON); idempotent and ordered by its sequence number.

    This is the hottest endpoint of a batch in progress (every learner, every 30 s): one
    query finds the state with its owner checked, one update stores it.
    """
    started = time.perf_counter()
    outcome = "error"  # unless _take_commit returns
    try:
        response, outcome = _take_commit(state_id)
        return response
    finally:
        metrics.record_commit(outcome, time.perf_counter() - started)


def _take_commit(state_id: int):
    """The commit's response and its outcome for the metrics."""
    who = _session_user()
    if who is None:
        return _json_error(401, gettext("Your session has ended. Log in again to save.")), "refused"
    try:
        validate_csrf(request.headers.get("X-CSRFToken"))
    except ValidationError:
        return _json_error(
            403, gettext("The page has expired. Reload it to save again.")
        ), "refused"
    if (request.content_length or 0) > MAX_COMMIT_BYTES:
        return _json_error(413, gettext("The progress data is too large to be saved.")), "refused"
    body = request.get_json(silent=True, force=True)
    if body is None:
        return _json_error(400, gettext("The progress data could not be read.")), "refused"
    rules = session_rules(current_app.config)
    row = tracking.find_for_commit(db.session, state_id, *who, rules=rules)
    if row is None:
        if accounts.load_session_user(db.session, f"{who[0]}:{who[1]}", who[2], rules) is None:
            return _json_error(
                401, gettext("Your session has ended. Log in again to save.")
            ), "refused"
        # Another learner's state, or none: the same answer, so ids cannot be probed.
        return _json_error(404, gettext("This progress record is not yours.")), "refused"
    try:
        result = tracking.commit(db.session, row, body)
    except DomainError as error:
        db.session.rollback()
        return _json_error(400, message_of(error)), "refused"
    db.session.commit()
    if result.superseded:
        return _json_error(
            409,
            gettext(
                "This lesson was opened again in another tab or on another device; only the "
                "newest one is saved. Close this one."
            ),
        ), "superseded"
    if result.refused:
        metrics.scorm_values_refused.inc(len(result.refused))
    response = jsonify(
        seq=result.seq,
        taken=result.taken,
        refused=[list(r) for r in result.refused[:20]],
        satisfied=result.satisfied,
    )
    return response, "taken" if result.taken else "replay"


@bp.route("/packages/<int:package_id>/<path:path>")
@login_required
def files(package_id: int, path: str):
    """A file of a package, for learners who launched it and for authors and admins."""
    package = db.session.get(ScormPackage, package_id)
    if package is None:
        abort(404)
    if not (current_user.is_author or current_user.is_admin):
        allowed = db.session.scalar(
            select(
                exists().where(
                    ScoState.package_id == package_id,
                    ScoState.enrolment_id == Enrolment.id,
                    Enrolment.user_id == current_user.id,
                )
            )
        )
        if not allowed:
            abort(404)
    storage = _storage()
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
        # nginx sends the file from its internal location (ranges, sendfile, no worker
        # held); it keeps this Content-Type and Cache-Control, and adds the CSP and
        # X-Frame-Options itself (docs/deployment.md), which are set here too.
        key = local.relative_to(storage.root).as_posix()
        response = current_app.response_class(mimetype=mimetype)
        response.headers["X-Accel-Redirect"] = accel.rstrip("/") + "/" + quote(key)
    else:
        response = send_file(local, mimetype=mimetype, conditional=True, max_age=86400)
    # Package files never change (they are stored by content hash).
    response.headers["Cache-Control"] = "private, max-age=86400, immutable"
    response.headers["Content-Security-Policy"] = PACKAGE_CSP
    response.headers["X-Frame-Options"] = "SAMEORIGIN"
    return response
