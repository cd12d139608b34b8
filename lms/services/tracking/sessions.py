"""Launching a SCO: the learner's state of it, the values a new session starts with, and the
session key its commits must carry; for SCORM 2004, what the SN engine gives the launch
(`launch_of`, `launch_pairs`)."""

from __future__ import annotations

import dataclasses
import re
import secrets
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from lms.models import (
    Activity,
    Enrolment,
    User,
    utcnow,
)
from lms.models.scorm import ScoState
from lms.services.errors import N_, NotFound
from lms.services.tracking import sequencing, shared_data
from lms.services.tracking.packages import MODELS, package_of, sco_of
from lms.services.tracking.rollup import roll_up_if_changed
from scorm.datamodel import Launch
from scorm.sequencing.sequencer import Sequencer


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


def hold(session: Session, state: ScoState) -> None:
    """Take the state's row for a launch (a row lock on PostgreSQL, the write lock on SQLite)
    and read it again: a commit that landed since `state` was read (the old page's last one,
    on a reload) is then in it, and one still on its way finds the new session and is refused
    as superseded, instead of either overwriting the other."""
    session.execute(
        update(ScoState)
        .where(ScoState.id == state.id)
        .values(launched_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    session.refresh(state)


def launched_asset(session: Session, state: ScoState, now: datetime | None = None) -> None:
    """An asset (a page without the SCORM API) counts as completed once it is opened."""
    now = now or utcnow()
    if state.completion != "completed":
        state.completion = state.best_completion = "completed"
        state.updated_at = now
        roll_up_if_changed(session, state, now)
        session.flush()


def stored_values(state: ScoState, data: list[Any] | None = None) -> list[list[str]]:
    """The values a new session starts with: the SCO's persistent data (`data` when given
    instead of the stored data), and (SCORM 2004) the objectives its manifest declares, which
    the SCO expects to find in cmi.objectives."""
    drop = MODELS[state.package.standard].session_only
    kept = state.data if data is None else data
    values = [pair for pair in shared_data.without_data(kept) if pair[0] not in drop]
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
    resume after a suspend (cmi.exit = suspend, or adl.nav.request = suspendAll, which
    commits store as the exit "suspend"), or neither."""
    if state.sessions == 0 and not state.data:
        return "ab-initio"
    if state.exit == "suspend":
        return "resume"
    if state.package.standard == "2004" and state.terminated and state.exit in _ATTEMPT_OVER:
        return "ab-initio"
    return ""


def session_entry(state: ScoState, sequenced_entry: str | None = None) -> str:
    """cmi.entry of the state's next session. `sequenced_entry` is the SN engine's cmi.entry
    for a SCORM 2004 delivery (resume after a suspend, the SCO's or the learner's suspend
    all; ab-initio for a new attempt): it wins, except over a relaunch of a session that never
    terminated (entry "")."""
    entry = entry_of(state)
    if sequenced_entry in ("resume", "ab-initio") and entry != "" and state.sessions:
        entry = sequenced_entry
    return entry


def start_session(
    session: Session,
    state: ScoState,
    user: User,
    sequenced_entry: str | None = None,
    key: str | None = None,
) -> tuple[Launch, list[list[str]], str]:
    """Open a new session of a SCO: its launch values, the stored values it starts with and
    the session key its commits must carry (an older session may only report its time).
    `key` is a key chosen before (a session played offline, started when its first commit
    arrives: lms.services.tracking.offline); otherwise a new one is made."""
    entry = session_entry(state, sequenced_entry)
    if entry == "ab-initio":
        if state.sessions:
            # A new SCORM 2004 attempt starts from nothing, cmi.total_time from zero (RTE
            # 4.2.25); the earlier attempts' time still counts as the learner's.
            state.data = []
            state.earlier_seconds = state.total_seconds
            state.session_times = {}
        state.attempts += 1
    state.sessions += 1
    state.session_key = key or new_session_key()
    # Known from the start, so that this session may report its time even once superseded.
    state.session_times = {**(state.session_times or {}), state.session_key: 0.0}
    state.terminated = False
    state.launched_at = utcnow()
    # The buckets hold adl.data: a session's commits save what it writes anew.
    state.data = shared_data.without_data(state.data or [])
    launch = _launch(
        session, state, user, entry, state.total_seconds - (state.earlier_seconds or 0.0)
    )
    values = stored_values(state)
    session.flush()
    return launch, values, state.session_key


def new_session_key() -> str:
    """A run-time session key (what a commit's "session" must be)."""
    return secrets.token_hex(12)


def _launch(session: Session, state: ScoState, user: User, entry: str, seconds: float) -> Launch:
    item = sco_of(state.package, state.sco)
    launch = launch_values(
        item, entry, max(0.0, seconds), user.username, user.full_name, user.locale
    )
    if item.get("data"):
        launch = dataclasses.replace(
            launch,
            shared_data=shared_data.with_stores(
                session,
                state.enrolment.user_id,
                shared_data.scope_of(item, state.package_id),
                launch.shared_data,
            ),
        )
    return launch


def planned_session(
    session: Session, state: ScoState, user: User, sequenced_entry: str | None = None
) -> tuple[Launch, list[list[str]]]:
    """What start_session() would give a session started now (its launch values and the
    stored values it starts with), changing nothing: a SCO kept for offline play starts
    from it, and its session is opened only when its first commit arrives."""
    entry = session_entry(state, sequenced_entry)
    if entry == "ab-initio" and state.sessions:
        return _launch(session, state, user, entry, 0.0), stored_values(state, [])
    seconds = state.total_seconds - (state.earlier_seconds or 0.0)
    return _launch(session, state, user, entry, seconds), stored_values(state)


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
        shared_data=shared_data.records(item),
    )


# --- SCORM 2004: what the SN engine gives a launch ------------------------------------


def launch_of(
    session: Session,
    enrolment: Enrolment,
    activity: Activity,
    sco: str,
    files_root: Path | None,
) -> tuple[sequencing.Navigation | None, dict[str, Any] | None]:
    """Before a SCO's session starts: deliver it when the engine has not (a choice; its
    refusal is returned) and what the engine gives it: adl.nav.request_valid.* and its launch
    values (RTE 4.2: cmi.objectives from global objectives, completion and success)."""
    package = package_of(session, activity)
    tree = sequencing.tree_of(session, package, files_root)
    reg = sequencing.registration_of(session, enrolment, activity)
    if reg.delivered != sco:
        navigation = sequencing.navigate(session, enrolment, activity, "choice", sco, files_root)
        if navigation.deliver != sco:
            return navigation, None
        session.refresh(reg)
    seq = Sequencer(tree, reg.state, reg.seed)
    return None, {"nav_valid": sequencing.nav_valid(seq), "values": seq.launch_values(sco)}


_KNOWN = {"unknown", None}


def launch_pairs(stored: list[list[str]], values: Mapping[str, Any], entry: str) -> list[list[str]]:
    """The stored values a SCO starts with, with what the tracking model knows that the SCO
    did not write: cmi.objectives read from global objectives (by id) and, for a new attempt,
    completion and success read through the primary objective's map."""
    pairs = [list(p) for p in stored]
    have = dict((k, v) for k, v in pairs)
    ids = {v: k.split(".")[2] for k, v in pairs if re.fullmatch(r"cmi\.objectives\.\d+\.id", k)}
    count = len(ids)

    def put(element: str, value: Any) -> None:
        if value in _KNOWN or (entry == "resume" and element in have):
            return
        text = value if isinstance(value, str) else format(float(value), "g")
        for pair in pairs:
            if pair[0] == element:
                pair[1] = text
                return
        pairs.append([element, text])

    for objective in values.get("cmi.objectives", []):
        index = ids.get(objective["id"])
        if index is None:
            index = ids[objective["id"]] = str(count)
            count += 1
            pairs.append([f"cmi.objectives.{index}.id", objective["id"]])
        base = f"cmi.objectives.{index}"
        put(f"{base}.success_status", objective["success_status"])
        put(f"{base}.completion_status", objective["completion_status"])
        put(f"{base}.progress_measure", objective["progress_measure"])
        for key, value in objective["score"].items():
            put(f"{base}.score.{key}", value)
    if entry != "resume":
        put("cmi.success_status", values.get("cmi.success_status"))
        put("cmi.completion_status", values.get("cmi.completion_status"))
        put("cmi.score.scaled", values.get("cmi.score.scaled"))
    return pairs
