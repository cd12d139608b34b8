"""The SCORM player's endpoints on the site: a SCO's run-time data and its commits.

The player page itself is the lesson page of a SCORM activity (lms/web/learn.py with the
kind's template); the browser side is lms/static/js/scorm-player.js, which runs the package in
a frame of the content origin (lms/web/content.py, which also serves the package files) and
takes the commits that frame passes on.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import time
from pathlib import Path

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    jsonify,
    redirect,
    request,
    session,
    url_for,
)
from flask_babel import gettext
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from werkzeug.exceptions import RequestEntityTooLarge
from wtforms.validators import ValidationError

from lms.app import metrics
from lms.app.csrf import check_token
from lms.app.extensions import csrf, db
from lms.models import Activity, Enrolment
from lms.models.scorm import ScormPackage
from lms.services import content_links, logins, tracking
from lms.services.errors import DomainError
from lms.services.tracking import offline
from lms.web import content
from lms.web.common import LOGIN_KEY, message_of, session_rules
from lms.web.limits import body_limit, read_body

log = logging.getLogger(__name__)

bp = Blueprint("player", __name__, url_prefix="/player")

MAX_COMMIT_BYTES = 2 * 1024 * 1024


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


@bp.route("/activities/<int:activity_id>/scos/<int:index>/runtime", methods=["POST"])
@login_required
def runtime(activity_id: int, index: int):
    """Start a session of one SCO: its rules, launch values, stored state, and the links to
    its frame and files on the content origin. A POST with the CSRF token (it supersedes the
    SCO's open sessions: a link from another site must not make a learner's tab lose its
    next commit)."""
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

    keeping = request.headers.get("X-Hocvu-Download") == "1"
    if keeping and tracking.is_sequenced(package):
        return _kept_launch(enrolment, activity, package, item, state)
    tracking.hold(db.session, state)  # a kept launch writes nothing: it needs no hold
    if not keeping:
        # A launch to keep the package for offline play (lms/web/offline.py) is no opening.
        learning.open_activity(db.session, enrolment, activity)
    engine = None
    if tracking.is_sequenced(package):
        refused, engine = tracking.launch_of(
            db.session, enrolment, activity, item["identifier"], _files_root()
        )
        if refused is not None:
            db.session.commit()
            return _json_error(403, gettext(refused.message or "")), 403
    if item.get("asset"):
        tracking.launched_asset(db.session, state)
    entry = engine["values"]["cmi.entry"] if engine is not None else None
    launch, stored, key = tracking.start_session(db.session, state, current_user, entry)
    if engine is not None:
        launch = dataclasses.replace(launch, nav_valid=engine["nav_valid"])
        stored = tracking.launch_pairs(stored, engine["values"], launch.entry)
    grant = content_links.Grant(
        kind=content_links.LAUNCH,
        user_id=current_user.id,
        login_session_id=g.login_session_id,
        package_id=package.id,
        lms_origin=content.site_origin(),
        state_id=state.id,
        session_tag=content_links.session_tag(key),
    )
    body = _launch_body(grant, package, item, state, key, launch, stored)
    db.session.commit()
    return jsonify(body)


def _launch_body(grant, package, item, state, key: str, launch, stored) -> dict:
    """What the player is given to start a SCO: its frame's links, the commit URL, the
    session key and sequence number its commits go on from, the launch and stored values."""
    return {
        **frame_links(grant, package, item),
        "user": current_user.id,
        "state_id": state.id,
        "commit_url": url_for("player.commit", state_id=state.id),
        "session": key,
        "seq": state.seq,
        "launch": dataclasses.asdict(launch),
        "stored": stored,
        "sco": item["identifier"],
    }


def _kept_launch(enrolment, activity, package, item, state):
    """A SCORM 2004 SCO kept for offline play (the course page's download): what a launch
    would give now, changing nothing (lms.services.tracking.offline); its session opens when
    what was played offline arrives. Only the SCO that opening the lesson page would deliver
    can be kept (409 otherwise)."""
    plan = offline.plan(db.session, enrolment, activity, state, current_user, _files_root())
    if plan.launch is None:
        db.session.commit()  # the state and the registration, made on first use
        return _json_error(
            409, gettext("This part of the lesson cannot be kept for offline learning now.")
        )
    grant = content_links.Grant(
        kind=content_links.KEEP,
        user_id=current_user.id,
        login_session_id=g.login_session_id,
        package_id=package.id,
        lms_origin=content.site_origin(),
        state_id=state.id,
    )
    ticket = offline.Ticket(state.id, plan.key, state.seq, plan.launch.entry)
    body = {
        **_launch_body(grant, package, item, state, plan.key, plan.launch, plan.stored),
        "offline": offline.issue(current_app.config["SECRET_KEY"], ticket),
    }
    db.session.commit()
    return jsonify(body)


def _files_root() -> Path:
    return Path(current_app.config["HOCVU_FILES_DIR"])


@bp.route("/activities/<int:activity_id>/navigate", methods=["POST"])
@login_required
def navigate(activity_id: int):
    """A navigation request from the lesson page's controls (SCORM 2004: previous, continue,
    suspend all, a choice): run by the SN engine; the lesson page then launches what it
    delivered, or the course page follows when the session ended."""
    activity = db.session.get(Activity, activity_id)
    if activity is None or activity.kind != "scorm":
        abort(404)
    enrolment = db.session.scalar(
        select(Enrolment).where(
            Enrolment.user_id == current_user.id, Enrolment.version_id == activity.version_id
        )
    )
    if enrolment is None or not tracking.is_sequenced(tracking.package_of(db.session, activity)):
        abort(404)
    nav_request = request.form.get("request", "")
    if nav_request not in NAV_CONTROLS:
        abort(400)
    target = request.form.get("target") or None
    outcome = tracking.navigate(db.session, enrolment, activity, nav_request, target, _files_root())
    db.session.commit()
    lesson = url_for("learn.activity", slug=enrolment.course.slug, key=activity.key)
    if outcome.end_session or (outcome.exception is None and outcome.deliver is None):
        return redirect(url_for("learn.course", slug=enrolment.course.slug))
    if outcome.message:
        flash(gettext(outcome.message), "error")
    return redirect(lesson)


# What the lesson page's controls may ask (the SCO asks through adl.nav.request).
NAV_CONTROLS = ("previous", "continue", "suspendAll", "exitAll", "choice")


def _navigation_json(result, row) -> dict | None:
    """Where the player goes after a SCO's Terminate asked for something: the lesson page
    (it launches what the engine delivered), the course page (the session ended), or
    nowhere (the request was refused: the player stays)."""
    navigation = result.navigation
    if navigation is None:
        return None
    activity = db.session.get(Activity, row.activity_id)
    enrolment = db.session.get(Enrolment, row.enrolment_id)
    if navigation.end_session:
        return {"url": url_for("learn.course", slug=enrolment.course.slug), "end": True}
    if navigation.deliver is not None:
        lesson = url_for("learn.activity", slug=enrolment.course.slug, key=activity.key)
        return {"url": lesson, "end": False}
    return {"url": None, "end": False, "refused": navigation.exception}


def frame_links(grant: content_links.Grant, package: ScormPackage, item: dict) -> dict:
    """What the player page needs to run a SCO in the content origin's frame, for `grant`."""
    token = content_links.issue(current_app.config["SECRET_KEY"], grant)
    origin = content.content_origin()
    # A kept launch's frame names its package (p), by which the content origin's worker finds
    # the kept files offline for a link made after they were kept (content-sw.js).
    named = {"p": package.sha256} if grant.kind == content_links.KEEP else {}
    return {
        "standard": package.standard,
        "rules_url": url_for("player.rules", standard=package.standard),
        "content_origin": origin,
        "frame_url": origin + url_for("content.frame", token=token, **named),
        "launch_url": origin
        + url_for("content.files", token=token, path=item["href"])
        + item.get("parameters", ""),
        "session_only": sorted(tracking.MODELS[package.standard].session_only),
    }


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


def _csrf_valid(token: str | None) -> bool:
    """Whether `token` is the session's CSRF token, signed (lms.app.csrf keeps each signed
    token's check: a learner's page sends the same token with each commit, and checking its
    signature again cost about as much as the commit's SELECT)."""
    try:
        check_token(token)
    except ValidationError:
        return False
    return True


@bp.route("/state/<int:state_id>/commit", methods=["POST"])
@csrf.exempt  # checked below, after the login: a stale page must learn it is logged out
@body_limit(MAX_COMMIT_BYTES, anonymous=True)  # read only after the login is checked
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


def _open_kept_session(state_id: int, who, rules, body: dict):
    """The first commit of a SCO played offline from a kept launch opens its session, in a
    transaction of its own before the commit is taken: (the outcome of
    lms.services.tracking.offline.start_kept or None, an error answer or None)."""
    secret = current_app.config["SECRET_KEY"]
    row = tracking.find_for_commit(db.session.connection(), state_id, *who, rules=rules)
    if row is None or body.get("session") == row.session_key:
        db.session.rollback()
        return None, None  # the commit's own path answers
    try:
        kept = offline.start_kept(db.session, row, body, secret, _files_root())
    except IntegrityError:
        # Opened at the same moment by the outbox's "open" of the same lesson (sent when the
        # connection returned, as this commit was): once more, on what it stored.
        db.session.rollback()
        row = tracking.find_for_commit(db.session.connection(), state_id, *who, rules=rules)
        if row is None:
            db.session.rollback()
            return None, None
        kept = offline.start_kept(db.session, row, body, secret, _files_root())
    if kept == offline.INVALID:
        db.session.rollback()
        return kept, _json_error(400, gettext("The progress data could not be read."))
    db.session.commit()
    return kept, None


def _take_commit(state_id: int):
    """The commit's response and its outcome for the metrics."""
    who = _session_user()
    if who is None:
        return _json_error(401, gettext("Your session has ended. Log in again to save.")), "refused"
    if not _csrf_valid(request.headers.get("X-CSRFToken")):
        return _json_error(
            403, gettext("The page has expired. Reload it to save again.")
        ), "refused"
    try:
        body = json.loads(read_body(request._get_current_object()))
    except RequestEntityTooLarge:  # over MAX_COMMIT_BYTES, declared or as read (lms.web.limits)
        return _json_error(413, gettext("The progress data is too large to be saved.")), "refused"
    except (ValueError, RecursionError):  # not JSON (or not UTF-8), or nested past Python's stack
        body = None
    if body is None:
        return _json_error(400, gettext("The progress data could not be read.")), "refused"
    rules = session_rules(current_app.config)
    kept = None
    if isinstance(body, dict) and "offline" in body:
        kept, refusal = _open_kept_session(state_id, who, rules, body)
        if refusal is not None:
            return refusal, "refused"
    # On a connection of its own, without the ORM session (lms.services.tracking.work).
    with tracking.commit_connection(db.engine) as connection:
        row = tracking.find_for_commit(connection, state_id, *who, rules=rules)
        if row is not None:
            work = tracking.CommitWork(connection)
            try:
                result = tracking.commit(work, row, body)
                work.flush()
            except DomainError as error:
                connection.rollback()
                return _json_error(400, message_of(error)), "refused"
            finally:
                work.close()
            connection.commit()
    if row is None:
        if logins.load_session_user(db.session, f"{who[0]}:{who[1]}", who[2], rules) is None:
            return _json_error(
                401, gettext("Your session has ended. Log in again to save.")
            ), "refused"
        # Another learner's state, or none: the same answer, so ids cannot be probed.
        return _json_error(404, gettext("This progress record is not yours.")), "refused"
    if result.superseded and kept == offline.STALE:
        message = gettext(
            "What you did offline in this part could not be saved: the part was continued on "
            "another device or in another tab after it was downloaded."
        )
        return (jsonify(error=409, stale=True, message=message), 409), "superseded"
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
    answer = dict(
        seq=result.seq,
        taken=result.taken,
        refused=[list(r) for r in result.refused[:20]],
        satisfied=result.satisfied,
    )
    if result.nav_valid is not None:
        answer["nav_valid"] = result.nav_valid
        answer["navigation"] = _navigation_json(result, row)
    # Written directly: jsonify's provider (sorted keys, its default hook) cost a fifth more.
    body = json.dumps(answer, separators=(",", ":"))
    response = current_app.response_class(body, mimetype="application/json")
    return response, "taken" if result.taken else "replay"
