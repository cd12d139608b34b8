"""SCORM 2004 SCOs played offline (issue 23): the launch a course's download keeps, and the
session that launch opens when what was played offline reaches the server.

Keeping a SCO for offline play counts nothing: no opening of the lesson, no delivery by the
SN engine, no new session of the SCO (a tab where the learner plays it goes on saving). The
download gets what a launch would give now (`plan`): the SCO that opening the lesson page
would deliver, its launch and stored values, and a session key of its own with a signed
ticket naming the state, the key and the commit number the launch starts from.

Offline, the player starts from that launch and keeps its commits in its journal, each with
the ticket. When the first one arrives (`start_kept`), the launch happens as it would have
online: the lesson is opened, the engine delivers the SCO (the request opening the page would
run, then a choice of it), and its session starts under the ticket's key, superseding any
other; the commits are then taken as any others (completion, success, roll-up, the
Terminate's navigation request). A ticket whose state has taken newer commits since it was
issued (the SCO played elsewhere meanwhile) opens nothing: the offline play would undo them,
so it is refused as superseded, and the player says why.
"""

from __future__ import annotations

import dataclasses
import logging
from datetime import datetime
from pathlib import Path
from typing import Any

from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy.orm import Session

from lms.models import Activity, Enrolment, User
from lms.models.scorm import ScoState
from lms.services.tracking.packages import package_of
from lms.services.tracking.sequencing import (
    nav_valid,
    navigate,
    page_request,
    registration_of,
    tree_of,
)
from lms.services.tracking.sessions import (
    launch_pairs,
    new_session_key,
    planned_session,
    start_session,
)
from scorm.sequencing.sequencer import Sequencer

log = logging.getLogger(__name__)

_SALT = "hocvu.offline-launch.v1"
# A kept launch serves for as long as a course may last; a new download (each visit of the
# course page online) replaces it.
MAX_AGE_SECONDS = 120 * 24 * 3600


def planned_delivery(
    session: Session, enrolment: Enrolment, activity: Activity, files_root: Path | None
) -> tuple[str | None, dict[str, Any] | None]:
    """The SCO that opening the lesson page would deliver now and what the engine would give
    its launch (as launch_of: adl.nav.request_valid.* and its launch values), worked out on a
    copy of the registration's state: nothing is stored, no attempt is counted (its delivery
    happens when what was played offline arrives: deliver_kept). (None, None) when the page
    would deliver nothing."""
    package = package_of(session, activity)
    tree = tree_of(session, package, files_root)
    reg = registration_of(session, enrolment, activity)
    seq = Sequencer(tree, reg.state, reg.seed)  # on a copy of the stored state
    opening = page_request(reg)
    sco = seq.navigate(*opening).deliver if opening is not None else reg.delivered
    if sco is None or sco not in {item["identifier"] for item in package.manifest["scos"]}:
        return None, None
    return sco, {"nav_valid": nav_valid(seq), "values": seq.launch_values(sco)}


def deliver_kept(
    session: Session, enrolment: Enrolment, activity: Activity, sco: str, files_root: Path | None
) -> bool:
    """Deliver `sco`, played offline from a kept lesson page, before its first commit is
    taken: the request opening the page would have run, then a choice of the SCO when that
    delivered another one (as a launch does). Whether the engine delivered it (when not, its
    commits are kept in its state but the engine does not hear them, as a stale tab's)."""
    reg = registration_of(session, enrolment, activity)
    opening = page_request(reg)
    if opening is not None:
        navigate(session, enrolment, activity, *opening, files_root)
        session.refresh(reg)
    if reg.delivered != sco:
        navigate(session, enrolment, activity, "choice", sco, files_root)
        session.refresh(reg)
    return reg.delivered == sco


@dataclasses.dataclass(frozen=True)
class Ticket:
    """A launch kept for offline play: the SCO state, the session key its commits carry, the
    commit number it starts from, and the cmi.entry it was given."""

    state_id: int
    key: str
    base: int
    entry: str


def _serializer(secret: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret, salt=_SALT)


def issue(secret: str, ticket: Ticket) -> str:
    """The signed ticket a kept launch's commits carry (their "offline" field)."""
    return _serializer(secret).dumps([ticket.state_id, ticket.key, ticket.base, ticket.entry])


def read(secret: str, token: Any, max_age: int = MAX_AGE_SECONDS) -> Ticket | None:
    """The ticket signed by this site, or None (forged, too old, not a ticket)."""
    if not isinstance(token, str) or len(token) > 500:
        return None
    try:
        state_id, key, base, entry = _serializer(secret).loads(token, max_age=max_age)
    except (BadSignature, ValueError, TypeError):
        return None
    if not (isinstance(state_id, int) and isinstance(key, str) and isinstance(base, int)):
        return None
    return Ticket(state_id, key, base, str(entry))


@dataclasses.dataclass(frozen=True)
class Plan:
    """What a kept launch starts from (None fields when the page would deliver nothing)."""

    sco: str | None
    launch: Any = None
    stored: list[list[str]] | None = None
    key: str = ""


def plan(
    session: Session,
    enrolment: Enrolment,
    activity: Activity,
    state: ScoState | None,
    user: User,
    files_root: Path | None,
) -> Plan:
    """The launch of the SCO that opening the lesson page would deliver now, for keeping:
    nothing changes (Plan.sco is None when the page would deliver nothing). With `state`
    (the SCO's state, which must be of that SCO), the launch and stored values too."""
    sco, engine = planned_delivery(session, enrolment, activity, files_root)
    if sco is None or engine is None or state is None:
        return Plan(sco)
    if state.sco != sco:
        return Plan(sco)
    launch, stored = planned_session(session, state, user, engine["values"]["cmi.entry"])
    launch = dataclasses.replace(launch, nav_valid=engine["nav_valid"])
    stored = launch_pairs(stored, engine["values"], launch.entry)
    return Plan(sco, launch, stored, new_session_key())


# What start_kept found: the session is open (the commit goes on), the ticket is not this
# state's or not readable, or the state took newer commits since it was kept.
STARTED, INVALID, STALE = "started", "invalid", "stale"


def start_kept(
    session: Session,
    row: Any,
    body: dict[str, Any],
    secret: str,
    files_root: Path | None,
    now: datetime | None = None,
) -> str:
    """Open the session of a SCO played offline from a kept launch, when its first commit
    (`body`, carrying the ticket) arrives for the state `row` (found by find_for_commit).
    The caller has checked that the commit's session is not the state's current one.
    `body["base"]`, when given, is the commit the play started from when it was newer than the
    ticket's (the device's own record, taken since)."""
    ticket = read(secret, body.get("offline"))
    if ticket is None or ticket.state_id != row.id or ticket.key != body.get("session"):
        return INVALID
    state = session.get(ScoState, row.id, with_for_update=True, populate_existing=True)
    if state is None:
        return INVALID
    if state.session_key == ticket.key:
        return STARTED  # a resend racing with the first
    base = ticket.base
    played_from = body.get("base")
    if isinstance(played_from, int) and not isinstance(played_from, bool) and played_from > base:
        # Played from this device's own newer record, which the server took after the launch
        # was kept (the journal keeps it, marked sent).
        base = played_from
    if ticket.key in (state.session_times or {}) or state.seq > base:
        log.info(
            "SCO state %s: played offline from commit %s, arrived after commit %s; not applied",
            state.id,
            base,
            state.seq,
        )
        return STALE
    from lms.services import learning

    enrolment, activity = state.enrolment, state.activity
    user = enrolment.user
    learning.open_activity(session, enrolment, activity, now)
    deliver_kept(session, enrolment, activity, state.sco, files_root)
    start_session(session, state, user, ticket.entry, key=ticket.key)
    session.flush()
    return STARTED
