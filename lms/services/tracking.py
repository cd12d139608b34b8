"""SCORM tracking: launching a SCO, taking its commits, and rolling them up into progress.

The rules of the data models live in `scorm` (one table per standard); this module applies
them to stored state. A commit carries the SCO's whole persistent state and a sequence
number, so taking it twice, or an older one after a newer one, changes nothing: the browser
may retry as often as it must.
"""

from __future__ import annotations

import hashlib
import logging
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, select, true, update
from sqlalchemy.orm import Session

from courses.errors import BundleError
from courses.errors import Problem as CourseProblem
from lms.app.storage import LocalStorage
from lms.models import (
    Activity,
    ActivityProgress,
    Enrolment,
    LoginSession,
    ProgressStatus,
    User,
    utcnow,
)
from lms.models.scorm import ScormPackage, ScoState
from lms.services import audit
from lms.services.accounts import SessionRules, login_key_hash, touch_login_session
from lms.services.errors import N_, DomainError, NotFound
from scorm import cmi12, cmi2004
from scorm.datamodel import Launch, outcome
from scorm.errors import PackageError
from scorm.navigation import Navigator, ScoStatus, describe
from scorm.package import read_package

log = logging.getLogger(__name__)

MODELS = {"1.2": cmi12.MODEL, "2004": cmi2004.MODEL}

EXIT = {"1.2": "cmi.core.exit", "2004": "cmi.exit"}
SESSION_TIME = {"1.2": "cmi.core.session_time", "2004": "cmi.session_time"}

COMPLETIONS = ("completed", "incomplete", "not attempted", "unknown")
SUCCESSES = ("passed", "failed", "unknown")

MAX_ENTRIES = 20_000  # pairs in one commit; the data model refuses far fewer in practice


class CommitError(DomainError):
    """A commit that cannot be read at all (not the SCO's values: those are checked one by one)."""


@dataclass(frozen=True)
class CommitResult:
    """What happened to a commit: taken, or a replay of one already taken."""

    seq: int
    taken: bool
    refused: tuple[tuple[str, str, int], ...] = ()
    satisfied: bool = False
    superseded: bool = False  # the lesson was opened again elsewhere


def _as_bundle_error(error: PackageError, where: str) -> BundleError:
    return BundleError(
        [
            CourseProblem(f"{where}: {p.path}" if where else p.path, p.line, p.message, p.params)
            for p in error.problems
        ]
    )


def store_package(
    session: Session, data: bytes, storage: LocalStorage, where: str = ""
) -> ScormPackage:
    """Check an uploaded package and keep its files once (by content hash).

    Raises courses' BundleError, so that a package inside a course bundle and a package
    uploaded alone report their problems the same way, each with its file and line.
    """
    digest = hashlib.sha256(data).hexdigest()
    existing = session.scalar(select(ScormPackage).where(ScormPackage.sha256 == digest))
    if existing is not None:
        return existing
    try:
        package = read_package(data)
    except PackageError as error:
        raise _as_bundle_error(error, where) from None
    description = describe(package)
    if not description["scos"]:
        raise BundleError(
            [
                CourseProblem(
                    where or "imsmanifest.xml", None, N_("The package has no SCO to launch.")
                )
            ]
        )
    files_path = f"scorm/{digest}"
    storage.write_tree(files_path, dict(package.files.items()))
    record = ScormPackage(
        sha256=digest,
        standard=package.version,
        edition={2: "2nd", 3: "3rd", 4: "4th"}.get(package.edition or 0),
        title=(description["title"] or package.identifier)[:300],
        files_path=files_path,
        manifest=description,
        size=len(data),
    )
    session.add(record)
    session.flush()
    return record


def sco_of(package: ScormPackage, sco: str) -> dict[str, Any]:
    """The manifest entry of one SCO of a package; NotFound when there is none."""
    for entry in package.manifest["scos"]:
        if entry["identifier"] == sco:
            return entry
    raise NotFound(N_("This part of the package does not exist."))


def package_of(session: Session, activity: Activity) -> ScormPackage:
    """The package a SCORM activity plays."""
    package = session.get(ScormPackage, activity.content["package_id"])
    if package is None:
        raise NotFound(N_("This part of the package does not exist."))
    return package


def state_for(session: Session, enrolment: Enrolment, activity: Activity, sco: str) -> ScoState:
    """The learner's state of one SCO, created on first launch."""
    if activity.version_id != enrolment.version_id or activity.kind != "scorm":
        raise NotFound(N_("This lesson is not part of your version of the course."))
    package = package_of(session, activity)
    sco_of(package, sco)
    state = session.scalar(
        select(ScoState).where(
            ScoState.enrolment_id == enrolment.id,
            ScoState.activity_id == activity.id,
            ScoState.sco == sco,
        )
    )
    if state is None:
        state = ScoState(enrolment=enrolment, activity=activity, package=package, sco=sco)
        session.add(state)
        session.flush()
    return state


def launched_asset(session: Session, state: ScoState, now: datetime | None = None) -> None:
    """An asset (a page without the SCORM API) counts as completed once it is opened."""
    now = now or utcnow()
    if state.completion != "completed":
        state.completion = "completed"
        state.updated_at = now
        _roll_up_if_changed(session, state, now)
        session.flush()


def stored_values(state: ScoState) -> list[list[str]]:
    """The values a new session starts with: the SCO's persistent data, and (SCORM 2004)
    the objectives its manifest declares, which the SCO expects to find in cmi.objectives."""
    drop = MODELS[state.package.standard].session_only
    values = [pair for pair in state.data if pair[0] not in drop]
    if state.package.standard == "2004":
        item = sco_of(state.package, state.sco)
        known = {v for k, v in values if _OBJECTIVE_ID.match(k)}
        count = sum(1 for k, _ in values if _OBJECTIVE_ID.match(k))
        for identifier in item.get("objectives", []):
            if identifier not in known:
                values.append([f"cmi.objectives.{count}.id", identifier])
                count += 1
    return values


_OBJECTIVE_ID = re.compile(r"^cmi\.objectives\.\d+\.id$")


# A SCORM 2004 attempt that ended with one of these exits is over: the next launch is a new
# attempt with fresh data (RTE 4.2.8). A completion already earned stays (satisfied_at).
_ATTEMPT_OVER = {"", "normal", "logout", "time-out"}


def entry_of(state: ScoState) -> str:
    """cmi.entry for the next session: first launch (or, SCORM 2004, a new attempt),
    resume after a suspend, or neither."""
    if state.sessions == 0 and not state.data:
        return "ab-initio"
    if state.exit == "suspend":
        return "resume"
    if state.package.standard == "2004" and state.terminated and state.exit in _ATTEMPT_OVER:
        return "ab-initio"
    return ""


def start_session(
    session: Session, state: ScoState, user: User
) -> tuple[Launch, list[list[str]], str]:
    """Open a new session of a SCO: its launch values, the stored values it starts with and
    the session key its commits must carry (an older session may only report its time)."""
    entry = entry_of(state)
    if entry == "ab-initio":
        if state.sessions:
            state.data = []  # a new SCORM 2004 attempt starts from nothing
        state.attempts += 1
    state.sessions += 1
    state.session_key = secrets.token_hex(12)
    # Known from the start, so that this session may report its time even once superseded.
    state.session_times = {**(state.session_times or {}), state.session_key: 0.0}
    state.terminated = False
    state.launched_at = utcnow()
    item = sco_of(state.package, state.sco)
    launch = launch_values(
        item, entry, state.total_seconds, user.username, user.full_name, user.locale
    )
    values = stored_values(state)
    session.flush()
    return launch, values, state.session_key


def launch_values(
    item: dict[str, Any],
    entry: str,
    total_seconds: float,
    username: str,
    full_name: str,
    locale: str | None,
) -> Launch:
    """What the LMS tells a SCO (its manifest entry `item`) about the learner at Initialize."""
    # SCORM asks for "Last, First"; a Vietnamese full name is written family name first.
    parts = full_name.split()
    name = f"{parts[0]}, {' '.join(parts[1:])}" if len(parts) > 1 else full_name
    return Launch(
        learner_id=username,
        learner_name=name,
        entry=entry,
        total_seconds=total_seconds,
        credit="credit",
        mode="normal",
        launch_data=item.get("launch_data"),
        mastery_score=item.get("mastery_score"),
        max_time_allowed=item.get("max_time_allowed"),
        time_limit_action=item.get("time_limit_action"),
        completion_threshold=item.get("completion_threshold"),
        scaled_passing_score=item.get("scaled_passing_score"),
        language=locale or "vi",
    )


def _pairs(raw: Any) -> list[tuple[str, str]]:
    if not isinstance(raw, list) or len(raw) > MAX_ENTRIES:
        raise CommitError(N_("The progress data could not be read."))
    pairs = []
    for item in raw:
        if (
            not isinstance(item, list)
            or len(item) != 2
            or not isinstance(item[0], str)
            or not isinstance(item[1], str)
            or len(item[0]) > 255
        ):
            raise CommitError(N_("The progress data could not be read."))
        try:
            item[0].encode(), item[1].encode()
        except UnicodeEncodeError:  # a lone surrogate: not text any database can keep
            raise CommitError(N_("The progress data could not be read.")) from None
        pairs.append((item[0], item[1]))
    return pairs


_sco = ScoState.__table__
_enrolment = Enrolment.__table__
_user = User.__table__
_package = ScormPackage.__table__
_activity = Activity.__table__
_login = LoginSession.__table__

# The two statements of the commit path, built once: building a statement costs about as
# much as running it.
_FIND = (
    select(
        _sco.c.id,
        _sco.c.seq,
        _sco.c.session_key,
        _sco.c.session_times,
        _sco.c.total_seconds,
        _sco.c.terminated,
        _sco.c.completion,
        _sco.c.success,
        _sco.c.score_scaled,
        _sco.c.satisfied_at,
        _sco.c.override_completion,
        _sco.c.override_success,
        _sco.c.package_id,
        _sco.c.activity_id,
        _sco.c.enrolment_id,
        _sco.c.sco,
        _user.c.username,
        _user.c.full_name,
        _user.c.locale,
        _package.c.sha256,
        _package.c.standard,
        _activity.c.content,
        _login.c.id.label("login_session_id"),
        _login.c.last_seen_at.label("login_seen_at"),
    )
    .select_from(
        _sco.join(_enrolment, _enrolment.c.id == _sco.c.enrolment_id)
        .join(_user, _user.c.id == _enrolment.c.user_id)
        .join(_package, _package.c.id == _sco.c.package_id)
        .join(_activity, _activity.c.id == _sco.c.activity_id)
        .join(_login, _login.c.user_id == _user.c.id)
    )
    .where(
        _sco.c.id == bindparam("state_id"),
        _user.c.id == bindparam("user_id"),
        _user.c.auth_epoch == bindparam("epoch"),
        _user.c.is_active == true(),
        _login.c.key_hash == bindparam("login_key_hash"),
        _login.c.revoked_at.is_(None),
        _login.c.expires_at > bindparam("now"),
        _login.c.last_seen_at > bindparam("idle_since"),
    )
)
_STORED = (
    "seq",
    "session_key",
    "data",
    "session_times",
    "total_seconds",
    "exit",
    "terminated",
    "completion",
    "success",
    "score_scaled",
    "score_raw",
    "updated_at",
)
_STORE = (
    update(_sco)
    .where(_sco.c.id == bindparam("state_id"), _sco.c.seq < bindparam("new_seq"))
    .values(
        {
            **{name: bindparam(f"new_{name}") for name in _STORED},
            "satisfied_at": func.coalesce(_sco.c.satisfied_at, bindparam("new_satisfied_at")),
        }
    )
)

# A package never changes once stored (it is kept by the hash of its content), so what the
# commit path needs of its manifest is kept per process, by that hash.
_ITEMS: dict[str, dict[str, dict[str, Any]]] = {}


def _items(session: Session, package_id: int, sha256: str) -> dict[str, dict[str, Any]]:
    items = _ITEMS.get(sha256)
    if items is None:
        manifest = session.scalar(
            select(ScormPackage.manifest).where(ScormPackage.id == package_id)
        )
        items = _ITEMS[sha256] = {item["identifier"]: item for item in manifest["scos"]}
    return items


def find_for_commit(
    session: Session,
    state_id: int,
    user_id: int,
    epoch: int,
    login_key: str,
    rules: SessionRules,
    now: datetime | None = None,
):
    """The state a commit is for, if it belongs to this active learner, logged in by the live
    login session of `login_key`; its login session is touched when due (lms.services.accounts
    load_session_user does the same for pages)."""
    now = now or utcnow()
    row = (
        session.connection()
        .execute(
            _FIND,
            {
                "state_id": state_id,
                "user_id": user_id,
                "epoch": epoch,
                "login_key_hash": login_key_hash(login_key),
                "now": now,
                "idle_since": now - rules.idle,
            },
        )
        .one_or_none()
    )
    if row is not None and row.login_seen_at <= now - rules.touch_every:
        touch_login_session(session.connection(), row.login_session_id, now)
    return row


_SESSION_KEY = re.compile(r"^[0-9a-f]{24}$")
_TIMES = (
    update(_sco)
    .where(_sco.c.id == bindparam("state_id"))
    .values(
        session_times=bindparam("new_session_times"), total_seconds=bindparam("new_total_seconds")
    )
)


def _session_seconds(model, standard: str, pairs: list[tuple[str, str]]) -> float | None:
    value = next((v for k, v in pairs if k == SESSION_TIME[standard]), None)
    if not value:
        return None
    try:
        return max(0.0, model.seconds(value))
    except ValueError:
        return None


def commit(session: Session, row, body: Any, now: datetime | None = None) -> CommitResult:
    """Take one commit from the browser: {"session", "seq", "data", "terminated"}, for the
    state `row` found by `find_for_commit`.

    Only the newest session (the last launch) changes the data: a commit of an older one
    (another tab, another device) records that session's time and is refused as
    superseded. A commit whose number is not above the newest one taken is a replay or
    arrived late: it changes nothing (also when two arrive at once: the update only applies
    over an older number). Each value is checked with the data model's rules, in the order
    the SCO wrote them; a value the rules refuse is left out (and logged), its stored value
    kept.
    """
    now = now or utcnow()
    if not isinstance(body, dict):
        raise CommitError(N_("The progress data could not be read."))
    seq, key = body.get("seq"), body.get("session")
    if isinstance(seq, bool) or not isinstance(seq, int) or not 0 < seq < 2**31:
        raise CommitError(N_("The progress data could not be read."))
    if not isinstance(key, str) or not _SESSION_KEY.match(key):
        raise CommitError(N_("The progress data could not be read."))
    pairs = _pairs(body.get("data"))
    terminated = body.get("terminated") is True
    standard = row.standard
    model = MODELS[standard]
    times = dict(row.session_times or {})
    if key != row.session_key:
        seconds = _session_seconds(model, standard, pairs)
        if key in times and seconds is not None and seconds != times[key]:
            times[key] = seconds
            session.connection().execute(
                _TIMES,
                {
                    "state_id": row.id,
                    "new_session_times": times,
                    "new_total_seconds": sum(times.values()),
                },
            )
        return CommitResult(seq=row.seq, taken=False, superseded=True)
    if seq <= row.seq:
        return CommitResult(seq=row.seq, taken=False)
    items = _items(session, row.package_id, row.sha256)
    launch = launch_values(items[row.sco], "", 0.0, row.username, row.full_name, row.locale)
    runtime, refused = model.replay(launch, {}, pairs)
    if refused:
        # Keep what was stored for a refused element rather than losing it.
        bad = {element for element, _, _ in refused}
        before = dict(session.scalar(select(ScoState.data).where(ScoState.id == row.id)) or [])
        kept = [
            (k, before[k]) if k in bad else (k, v) for k, v in pairs if k not in bad or k in before
        ]
        runtime, _ = model.replay(launch, {}, kept)
        log.warning(
            "commit %s of SCO state %s: %d value(s) refused, first %r",
            seq,
            row.id,
            len(refused),
            refused[0],
        )
    written = runtime.written()
    seconds = _session_seconds(model, standard, list(written.items()))
    if seconds is not None or key not in times:
        times[key] = seconds or 0.0
    ended = row.terminated or terminated
    result = outcome(model, launch, written, terminated=ended)
    values: dict[str, Any] = dict(
        seq=seq,
        session_key=key,
        data=[[k, v] for k, v in written.items()],
        session_times=times,
        total_seconds=sum(times.values()),
        exit=written.get(EXIT[standard], "")[:20],
        terminated=ended,
        completion=result.completion,
        success=result.success,
        score_scaled=result.score_scaled,
        score_raw=result.score_raw,
        updated_at=now,
    )
    content = row.content or {}
    item = items[row.sco]
    satisfied = satisfies(
        content.get("complete_on", "completed"),
        row.override_completion or result.completion,
        row.override_success or result.success,
        graded=_graded(item),
    )
    newly = satisfied and row.satisfied_at is None
    params = {f"new_{name}": values[name] for name in _STORED}
    updated = (
        session.connection()
        .execute(
            _STORE,
            {**params, "state_id": row.id, "new_satisfied_at": now if newly else None},
        )
        .rowcount
    )
    if not updated:
        return CommitResult(seq=seq, taken=False)
    changed = (row.completion, row.success, row.score_scaled) != (
        result.completion,
        result.success,
        result.score_scaled,
    )
    if newly or (changed and row.satisfied_at is not None):
        enrolment = session.get(Enrolment, row.enrolment_id)
        activity = session.get(Activity, row.activity_id)
        roll_up(session, enrolment, activity, now)
    return CommitResult(
        seq=seq,
        taken=True,
        refused=tuple(refused),
        satisfied=satisfied or row.satisfied_at is not None,
    )


def _graded(item: dict[str, Any]) -> bool:
    """Whether the package gives this SCO a passing score (so only a pass is a pass)."""
    return item.get("mastery_score") is not None or item.get("scaled_passing_score") is not None


# --- rollup -----------------------------------------------------------------------------


def satisfies(complete_on: str, completion: str, success: str, graded: bool = False) -> bool:
    """Whether a SCO's statuses meet the activity's rule ("completed" or "passed").

    "completed" accepts a completion or a pass (SCORM 1.2 content often reports only
    "passed"); "passed" needs a pass, or, for a part the package gives no passing score (a
    reading page), a completion.
    """
    if complete_on == "passed":
        return success == "passed" or (
            not graded and success == "unknown" and completion == "completed"
        )
    return completion == "completed" or success == "passed"


def activity_score(states: Sequence[ScoState]) -> float | None:
    """The activity's normalized score (0..1): the mean of its SCOs' scaled scores."""
    scores = [s.score_scaled for s in states if s.score_scaled is not None]
    return sum(scores) / len(scores) if scores else None


def _state_satisfies(state: ScoState) -> bool:
    return satisfies(
        state.activity.content.get("complete_on", "completed"),
        state.effective_completion,
        state.effective_success,
        graded=_graded(sco_of(state.package, state.sco)),
    )


def _roll_up_if_changed(session: Session, state: ScoState, now: datetime) -> bool:
    ok = _state_satisfies(state)
    if ok and state.satisfied_at is None:
        state.satisfied_at = now
        roll_up(session, state.enrolment, state.activity, now)
    elif not ok and state.satisfied_at is None:
        return False
    else:
        _store_summary(session, state.enrolment, state.activity)
    return ok


def _store_summary(session: Session, enrolment: Enrolment, activity: Activity) -> ActivityProgress:
    from lms.services import learning

    progress = learning.open_activity(session, enrolment, activity)
    session.flush()
    # One rollup at a time per learner and activity: two SCOs satisfied by commits that
    # arrive together must not each miss the other's (PostgreSQL; SQLite writes one by one).
    session.execute(
        select(ActivityProgress.id).where(ActivityProgress.id == progress.id).with_for_update()
    )
    states = session.scalars(
        select(ScoState)
        .where(ScoState.enrolment_id == enrolment.id, ScoState.activity_id == activity.id)
        .execution_options(populate_existing=True)
    ).all()
    progress.data = {
        **progress.data,
        "scos": {
            s.sco: {
                "completion": s.effective_completion,
                "success": s.effective_success,
                "satisfied": s.satisfied_at is not None,
                "score": s.score_scaled,
            }
            for s in states
        },
        "score": activity_score(states),
    }
    return progress


def roll_up(
    session: Session, enrolment: Enrolment, activity: Activity, now: datetime | None = None
) -> ActivityProgress:
    """Bring the activity's progress in line with its SCOs: done when every SCO is satisfied.

    A SCO once satisfied stays satisfied: a later session that reports "incomplete" again
    does not take back a completion the learner earned.
    """
    from lms.services import learning

    now = now or utcnow()
    session.flush()
    progress = _store_summary(session, enrolment, activity)
    summaries = progress.data["scos"]
    done = {sco for sco, summary in summaries.items() if summary["satisfied"]}
    # Parts the package's own rules skip (a lesson whose quiz was passed) are not needed.
    package = package_of(session, activity)
    nav = Navigator(
        package.manifest,
        {
            sco: ScoStatus(
                completion=summary["completion"],
                success=summary["success"],
                done=summary["satisfied"],
            )
            for sco, summary in summaries.items()
        },
    )
    needed = {sco for sco in activity.content["scos"] if not nav.skipped(sco)}
    if needed <= done and progress.status != ProgressStatus.DONE:
        learning.complete_activity(session, enrolment, activity, now)
    session.flush()
    return progress


def override(
    session: Session,
    actor: User,
    state: ScoState,
    completion: str | None,
    success: str | None,
    reason: str,
    now: datetime | None = None,
) -> ScoState:
    """An admin's correction of a SCO's statuses, with a reason, logged; rolled up at once."""
    now = now or utcnow()
    reason = (reason or "").strip()
    if not reason:
        raise DomainError(N_("Give a reason for the change."), field="reason")
    if completion not in (None, *COMPLETIONS) or success not in (None, *SUCCESSES):
        raise DomainError(N_("Choose a status from the list."))
    old = (state.effective_completion, state.effective_success)
    state.override_completion = completion
    state.override_success = success
    state.override_reason = reason[:500]
    state.override_by_id = actor.id
    state.override_at = now
    if _state_satisfies(state):
        state.satisfied_at = state.satisfied_at or now
    elif completion is not None or success is not None:
        # A correction downwards is the admin's decision; the SCO's own report is kept.
        state.satisfied_at = None
    roll_up(session, state.enrolment, state.activity, now)
    audit.record(
        session,
        actor,
        "scorm.override",
        state.enrolment.user,
        activity=state.activity.title,
        sco=state.sco,
        old=f"{old[0]}/{old[1]}",
        new=f"{state.effective_completion}/{state.effective_success}",
        reason=reason[:500],
    )
    session.flush()
    return state


def states_of(session: Session, enrolment: Enrolment, activity: Activity) -> dict[str, ScoState]:
    """The learner's states in an activity, by SCO identifier."""
    return {
        s.sco: s
        for s in session.scalars(
            select(ScoState).where(
                ScoState.enrolment_id == enrolment.id, ScoState.activity_id == activity.id
            )
        )
    }


def player_context(
    session: Session, enrolment: Enrolment, activity: Activity, chosen: str | None = None
) -> dict[str, Any]:
    """What the player page shows: the package, its table of contents with a status per
    item, the SCO to launch (the chosen one, else the first not yet satisfied) and where
    previous and next lead."""
    package = package_of(session, activity)
    states = states_of(session, enrolment, activity)
    statuses = {
        sco: ScoStatus(
            completion=state.effective_completion,
            success=state.effective_success,
            attempts=state.attempts,
            done=state.satisfied_at is not None,
        )
        for sco, state in states.items()
    }
    nav = Navigator(package.manifest, statuses)
    ids = [s["identifier"] for s in package.manifest["scos"]]
    # The table of contents may open what the rules let the learner choose; previous and
    # next lead from the part launched last.
    last = max(
        (s for s in states.values() if s.launched_at),
        key=lambda s: s.launched_at,
        default=None,
    )
    neighbours = set()
    if last is not None:
        for step in (nav.next(last.sco), nav.previous(last.sco)):
            if step:
                neighbours.add(step["identifier"])
        neighbours.add(last.sco)
    allowed = chosen in ids and (
        nav.may_choose(chosen) or (chosen in neighbours and nav.may_deliver(chosen))
    )
    current = chosen if allowed else nav.start()
    return {
        "package": package,
        "toc": nav.toc(current),
        "current": current,
        "current_index": ids.index(current) if current in ids else None,
        "previous": nav.previous(current),
        "next": nav.next(current),
        "multi": len(ids) > 1,
        "states": states,
    }


# --- reports ------------------------------------------------------------------------------


@dataclass
class InteractionSummary:
    """How learners answered one question of a package (from cmi.interactions)."""

    identifier: str
    description: str = ""
    type: str = ""
    answers: int = 0
    correct: int = 0
    wrong: int = 0
    responses: dict[str, int] | None = None

    @property
    def correct_rate(self) -> float | None:
        judged = self.correct + self.wrong
        return self.correct / judged if judged else None

    def top_responses(self, n: int = 3) -> list[tuple[str, int]]:
        return sorted((self.responses or {}).items(), key=lambda kv: (-kv[1], kv[0]))[:n]


@dataclass
class ScoSummary:
    """The learners' figures in one SCO of a package."""

    identifier: str
    title: str
    launched: int = 0
    completed: int = 0
    passed: int = 0
    failed: int = 0
    sessions: int = 0
    scores: list[float] | None = None
    seconds: list[float] | None = None

    @property
    def average_score(self) -> float | None:
        return sum(self.scores) / len(self.scores) if self.scores else None

    @property
    def median_seconds(self) -> float | None:
        if not self.seconds:
            return None
        ordered = sorted(self.seconds)
        middle = len(ordered) // 2
        if len(ordered) % 2:
            return ordered[middle]
        return (ordered[middle - 1] + ordered[middle]) / 2


_INTERACTION = re.compile(
    r"^cmi\.interactions\.(\d+)\.(id|type|result|description|learner_response|student_response)$"
)


def interactions_of(data: Sequence[Sequence[str]]) -> list[dict[str, str]]:
    """The interactions recorded in a state's data, one dict per index."""
    found: dict[int, dict[str, str]] = {}
    for element, value in data:
        match = _INTERACTION.match(element)
        if match:
            found.setdefault(int(match.group(1)), {})[match.group(2)] = value
    return [found[i] for i in sorted(found)]


def package_report(
    session: Session, package: ScormPackage
) -> tuple[list[ScoSummary], list[InteractionSummary]]:
    """Per SCO: learners, statuses, scores, time; per question: answers and correct rate.

    A question is counted once per learner, with the last answer the SCO recorded for it.
    """
    summaries = {
        s["identifier"]: ScoSummary(s["identifier"], s["title"], scores=[], seconds=[])
        for s in package.manifest["scos"]
    }
    questions: dict[str, InteractionSummary] = {}
    rows = session.execute(
        select(
            ScoState.sco,
            ScoState.completion,
            ScoState.success,
            ScoState.override_completion,
            ScoState.override_success,
            ScoState.sessions,
            ScoState.score_scaled,
            ScoState.total_seconds,
            ScoState.data,
        ).where(ScoState.package_id == package.id)
    )
    for (
        sco,
        completion,
        success,
        o_completion,
        o_success,
        sessions,
        score,
        seconds,
        data,
    ) in rows:
        summary = summaries.get(sco)
        if summary is None:
            continue
        completion, success = o_completion or completion, o_success or success
        summary.launched += 1
        summary.completed += completion == "completed"
        summary.passed += success == "passed"
        summary.failed += success == "failed"
        summary.sessions += sessions
        if score is not None:
            summary.scores.append(score)
        summary.seconds.append(seconds)
        last: dict[str, dict[str, str]] = {}
        for interaction in interactions_of(data or []):
            if interaction.get("id"):
                last[interaction["id"]] = interaction
        for identifier, interaction in last.items():
            q = questions.setdefault(identifier, InteractionSummary(identifier, responses={}))
            q.description = q.description or interaction.get("description", "")
            q.type = q.type or interaction.get("type", "")
            q.answers += 1
            result = interaction.get("result", "")
            q.correct += result == "correct"
            q.wrong += result in ("incorrect", "wrong")
            response = interaction.get("learner_response", interaction.get("student_response"))
            if response is not None:
                q.responses[response[:200]] = q.responses.get(response[:200], 0) + 1
    return list(summaries.values()), sorted(questions.values(), key=lambda q: q.identifier)
