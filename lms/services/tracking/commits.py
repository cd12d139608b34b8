"""Taking a SCO's commits: the hot path of a batch in progress (every learner, every 30 s),
two statements built once, idempotent and ordered by the commit's sequence number. The first
also reads a SCORM 2004 learner's registration, so that a commit that changes nothing the SN
engine reads needs no more (lms.services.tracking.sequencing.after_commit)."""

from __future__ import annotations

import hashlib
import json
import logging
import re
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from itertools import chain
from pathlib import Path
from typing import Any

from sqlalchemy import Text, and_, bindparam, cast, func, select, true, update
from sqlalchemy.engine import Connection

from lms.app.driver import Prepared
from lms.app.kept import remembered
from lms.models import (
    Activity,
    Enrolment,
    LoginSession,
    User,
    utcnow,
)
from lms.models.scorm import Registration, ScormPackage, ScoState
from lms.services.errors import N_, DomainError
from lms.services.logins import SessionRules, login_key_hash, touch_login_session
from lms.services.tracking import shared_data
from lms.services.tracking.packages import (
    EXIT,
    MODELS,
    SESSION_TIME,
    delivery_controls,
    graded,
)
from lms.services.tracking.rollup import best_result, roll_up, satisfies
from lms.services.tracking.sequencing import Navigation, after_commit, quiet_commit
from lms.services.tracking.sessions import launch_values
from lms.services.tracking.work import CommitWork
from scorm.datamodel import Launch, outcome
from scorm.manifest import DeliveryControls

log = logging.getLogger(__name__)


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
    # SCORM 2004: where the SCO's Terminate leads (None: it asked for nothing) and the
    # adl.nav.request_valid.* values after this commit (lms.services.tracking.sequencing).
    navigation: Navigation | None = None
    nav_valid: dict[str, str] | None = None


def _pairs(raw: Any) -> list[tuple[str, str]]:
    if not isinstance(raw, list) or len(raw) > MAX_ENTRIES:
        raise CommitError(N_("The progress data could not be read."))
    pairs = []
    for item in raw:
        if not isinstance(item, list) or len(item) != 2:
            raise CommitError(N_("The progress data could not be read."))
        key, value = item
        if not isinstance(key, str) or not isinstance(value, str) or len(key) > 255:
            raise CommitError(N_("The progress data could not be read."))
        pairs.append((key, value))
    text = "".join(chain.from_iterable(pairs))  # checked at once: a call per value cost more
    if not text.isascii():
        try:
            text.encode()
        except UnicodeEncodeError:  # a lone surrogate: not text any database can keep
            raise CommitError(N_("The progress data could not be read.")) from None
    return pairs


_sco = ScoState.__table__
_enrolment = Enrolment.__table__
_user = User.__table__
_package = ScormPackage.__table__
_activity = Activity.__table__
_login = LoginSession.__table__
_registration = Registration.__table__

# The two statements of the commit path, built once: building a statement costs about as
# much as running it. They run on the driver's cursor (lms.app.driver): through
# Connection.execute they cost about twice the driver's time (issue 24).
_FIND = Prepared(
    select(
        _sco.c.id,
        _sco.c.seq,
        _sco.c.session_key,
        _sco.c.session_times,
        _sco.c.earlier_seconds,
        _sco.c.total_seconds,
        _sco.c.terminated,
        _sco.c.completion,
        _sco.c.success,
        _sco.c.score_scaled,
        _sco.c.best_completion,
        _sco.c.best_success,
        _sco.c.best_score_scaled,
        _sco.c.satisfied_at,
        _sco.c.override_completion,
        _sco.c.override_success,
        _sco.c.data_digest,
        _sco.c.package_id,
        _sco.c.activity_id,
        _sco.c.enrolment_id,
        _sco.c.sco,
        _enrolment.c.user_id,
        _user.c.username,
        _user.c.full_name,
        _user.c.locale,
        _package.c.sha256,
        _package.c.standard,
        _activity.c.content,
        _login.c.id.label("login_session_id"),
        _login.c.last_seen_at.label("login_seen_at"),
        # SCORM 2004: the learner's registration (lms.services.tracking.sequencing), its
        # state as text: decoded only when the SN engine hears the commit.
        _registration.c.id.label("reg_id"),
        cast(_registration.c.state, Text).label("reg_state_text"),
        _registration.c.seed.label("reg_seed"),
        _registration.c.version.label("reg_version"),
        _registration.c.delivered.label("reg_delivered"),
        _registration.c.nav_valid.label("reg_nav_valid"),
    )
    .select_from(
        _sco.join(_enrolment, _enrolment.c.id == _sco.c.enrolment_id)
        .join(_user, _user.c.id == _enrolment.c.user_id)
        .join(_package, _package.c.id == _sco.c.package_id)
        .join(_activity, _activity.c.id == _sco.c.activity_id)
        .join(_login, _login.c.user_id == _user.c.id)
        .outerjoin(
            _registration,
            and_(
                _registration.c.enrolment_id == _sco.c.enrolment_id,
                _registration.c.activity_id == _sco.c.activity_id,
            ),
        )
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
    "best_completion",
    "best_success",
    "best_score_scaled",
    "data_digest",
    "updated_at",
)
_STORE = Prepared(
    update(_sco)
    .where(
        _sco.c.id == bindparam("state_id"),
        _sco.c.seq < bindparam("new_seq"),
        # A launch since the SELECT (a reload's new page) supersedes this session: its
        # Terminate must not end the new session or the engine's new delivery.
        _sco.c.session_key == bindparam("new_session_key"),
    )
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


def _items(connection: Connection, package_id: int, sha256: str) -> dict[str, dict[str, Any]]:
    items = _ITEMS.get(sha256)
    if items is None:
        manifest = connection.scalar(select(_package.c.manifest).where(_package.c.id == package_id))
        items = _ITEMS[sha256] = {item["identifier"]: item for item in manifest["scos"]}
    return items


def find_for_commit(
    connection: Connection,
    state_id: int,
    user_id: int,
    epoch: int,
    login_key: str,
    rules: SessionRules,
    now: datetime | None = None,
):
    """The state a commit is for, if it belongs to this active learner, logged in by the live
    login session of `login_key`; its login session is touched when due (lms.services.accounts
    load_session_user does the same for pages). On the connection of the commit's
    transaction (lms.services.tracking.work)."""
    now = now or utcnow()
    row = _FIND.one_or_none(
        connection,
        {
            "state_id": state_id,
            "user_id": user_id,
            "epoch": epoch,
            "login_key_hash": login_key_hash(login_key),
            "now": now,
            "idle_since": now - rules.idle,
        },
    )
    if row is not None and row.login_seen_at <= now - rules.touch_every:
        touch_login_session(connection, row.login_session_id, now)
    return row


def _stored_data(connection: Connection, state_id: int) -> dict[str, str]:
    """The values stored by the commit taken last."""
    return dict(connection.scalar(select(_sco.c.data).where(_sco.c.id == state_id)) or [])


def _rules_version(standard: str) -> bytes:
    """What the data model's rules are in this code: the standard's table and the engine's
    source (a deploy that changes any rule makes every kept digest stale)."""
    from scorm import cmi12, cmi2004, datamodel

    modules = {"1.2": cmi12, "2004": cmi2004}
    folder = Path(datamodel.__file__).parent
    digest = hashlib.blake2b(standard.encode(), digest_size=16)
    for source in [Path(modules[standard].__file__), *sorted(folder.glob("*.py"))]:
        digest.update(source.read_bytes())
    digest.update(json.dumps(MODELS[standard].table(), sort_keys=True).encode())
    return digest.digest()


_RULES = {standard: _rules_version(standard) for standard in MODELS}


def _digest(standard: str, launch_text: str, pairs: list[tuple[str, str]]) -> str | None:
    """The digest of a commit's values with everything their check depends on: the rules,
    and the launch values (`launch_text`: their repr; the package's SCO, the learner). None
    for values holding a NUL character, which the digest uses to keep the values apart."""
    joined = "\x00".join([launch_text, *chain.from_iterable(pairs)])
    if joined.count("\x00") != 2 * len(pairs):
        return None
    digest = hashlib.blake2b(_RULES[standard], digest_size=16)
    digest.update(joined.encode())
    return digest.hexdigest()


@remembered()  # per learner's SCO: every learner of a batch online fits
def _launch(sha256: str, sco: str, username: str, full_name: str, locale: str | None):
    """The launch values a commit's values are checked with, and their repr for the digest:
    the same at every commit of a learner's SCO (a package never changes), so kept."""
    launch = launch_values(_ITEMS[sha256][sco], "", 0.0, username, full_name, locale)
    return launch, repr(launch)


@lru_cache(maxsize=1024)
def _controls(sha256: str, sco: str) -> DeliveryControls:
    """A SCO's delivery controls, read from its manifest entry once (a package never changes)."""
    return delivery_controls(_ITEMS[sha256][sco])


def _replayed(model, launch: Launch, pairs: list[tuple[str, str]]):
    """The SCO's values after its writes, checked one by one, and the writes refused."""
    runtime, refused = model.replay(launch, {}, pairs)
    return runtime.written(), refused


def _exit(standard: str, written: dict[str, str]) -> str:
    """How the session ended: cmi.exit, except that a SCORM 2004 SCO asking for suspendAll
    suspends (the next launch resumes: SN book, suspendAll; RTE 4.2.7 cmi.entry)."""
    if standard == "2004" and written.get("adl.nav.request") == "suspendAll":
        return "suspend"
    return written.get(EXIT[standard], "")[:20]


_SESSION_KEY = re.compile(r"^[0-9a-f]{24}$")
_TIMES = (
    update(_sco)
    .where(_sco.c.id == bindparam("state_id"))
    .values(
        session_times=bindparam("new_session_times"), total_seconds=bindparam("new_total_seconds")
    )
)


def _session_seconds(standard: str, value: str | None) -> float | None:
    """A session time in seconds; None when there is none or the data model refuses it."""
    if not value:
        return None
    if len(value) > 40:  # longer than any valid one: not kept
        return _seconds.__wrapped__(standard, value)
    return _seconds(standard, value)


@lru_cache(maxsize=1024)
def _seconds(standard: str, value: str) -> float | None:
    # Kept: a SCO reports the same few values at each commit of a session.
    try:
        return max(0.0, MODELS[standard].seconds(value))
    except ValueError:
        return None


def commit(work: CommitWork, row, body: Any, now: datetime | None = None) -> CommitResult:
    """Take one commit from the browser: {"session", "seq", "data", "terminated"}, for the
    state `row` found by `find_for_commit`, in the commit's unit of work (its connection;
    the caller flushes and commits it).

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
        reported = next((v for k, v in pairs if k == SESSION_TIME[standard]), None)
        seconds = _session_seconds(standard, reported)
        if key in times and seconds is not None and seconds != times[key]:
            times[key] = seconds
            work.connection.execute(
                _TIMES,
                {
                    "state_id": row.id,
                    "new_session_times": times,
                    "new_total_seconds": (row.earlier_seconds or 0.0) + sum(times.values()),
                },
            )
        return CommitResult(seq=row.seq, taken=False, superseded=True)
    if seq <= row.seq:
        return CommitResult(seq=row.seq, taken=False)
    connection = work.connection
    items = _items(connection, row.package_id, row.sha256)
    launch, launch_text = _launch(row.sha256, row.sco, row.username, row.full_name, row.locale)
    digest = _digest(standard, launch_text, pairs)
    if digest is not None and digest == row.data_digest:
        # The same commit as one the rules took whole: the replay would take it whole again.
        written, refused = dict(pairs), []
    else:
        written, refused = _replayed(model, launch, pairs)
        if refused or list(written.items()) != list(dict(pairs).items()):
            digest = None
    if refused:
        # Keep what was stored for a refused element rather than losing it.
        bad = {element for element, _, _ in refused}
        before = _stored_data(connection, row.id)
        kept = [
            (k, before[k]) if k in bad else (k, v) for k, v in pairs if k not in bad or k in before
        ]
        written = model.replay(launch, {}, kept)[0].written()
        log.warning(
            "commit %s of SCO state %s: %d value(s) refused, first %r",
            seq,
            row.id,
            len(refused),
            refused[0],
        )
    seconds = _session_seconds(standard, written.get(SESSION_TIME[standard]))
    if seconds is not None or key not in times:
        times[key] = seconds or 0.0
    ended = row.terminated or terminated
    item = items[row.sco]
    result = outcome(
        model, launch, written, terminated=ended, controls=_controls(row.sha256, row.sco)
    )
    best = best_result(
        (row.best_completion, row.best_success, row.best_score_scaled),
        (result.completion, result.success, result.score_scaled),
    )
    # The UPDATE's parameters, named as _STORE names them (new_<column>).
    params: dict[str, Any] = {
        "state_id": row.id,
        "new_seq": seq,
        "new_session_key": key,
        "new_data": [[k, v] for k, v in written.items()],
        "new_session_times": times,
        "new_total_seconds": (row.earlier_seconds or 0.0) + sum(times.values()),
        "new_exit": _exit(standard, written),
        "new_terminated": ended,
        "new_completion": result.completion,
        "new_success": result.success,
        "new_score_scaled": result.score_scaled,
        "new_score_raw": result.score_raw,
        "new_best_completion": best[0],
        "new_best_success": best[1],
        "new_best_score_scaled": best[2],
        "new_data_digest": digest,
        "new_updated_at": now,
    }
    content = row.content or {}
    before_data: dict[str, str] | None = None
    if item.get("data") and any(k.startswith(shared_data.PREFIX) for k in written):
        before_data = _stored_data(connection, row.id)
    satisfied = satisfies(
        content.get("complete_on", "completed"),
        row.override_completion or result.completion,
        row.override_success or result.success,
        graded=graded(item),
    )
    newly = satisfied and row.satisfied_at is None
    changed = (row.completion, row.success, row.score_scaled) != (
        result.completion,
        result.success,
        result.score_scaled,
    )
    rolls_up = newly or (changed and row.satisfied_at is not None)
    quiet = None  # SCORM 2004: the engine hears nothing of this commit (sequencing)
    if standard == "2004":
        quiet = quiet_commit(
            work,
            row,
            written,
            result.completion,
            result.success,
            terminated and not row.terminated,
            digest=digest,
        )
    if before_data is not None or rolls_up or (standard == "2004" and quiet is None):
        work.begin()  # more than the state's row to write: one transaction
    params["new_satisfied_at"] = now if newly else None
    updated = _STORE.rowcount(connection, params)
    if not updated:
        now_key = connection.execute(select(_sco.c.session_key).where(_sco.c.id == row.id)).scalar()
        return CommitResult(seq=row.seq, taken=False, superseded=now_key != key)
    if before_data is not None:
        scope = shared_data.scope_of(item, row.package_id)
        shared_data.save(work.session, row.user_id, scope, item, written, before_data, now)
    if rolls_up:
        session = work.session
        enrolment = session.get(Enrolment, row.enrolment_id)
        activity = session.get(Activity, row.activity_id)
        roll_up(session, enrolment, activity, now)
    navigation, nav_valid = None, quiet
    if standard == "2004" and quiet is None:
        navigation, nav_valid = after_commit(
            work,
            row,
            written,
            result.completion,
            result.success,
            terminated=terminated and not row.terminated,
        )
    return CommitResult(
        seq=seq,
        taken=True,
        refused=tuple(refused),
        satisfied=satisfied or row.satisfied_at is not None,
        navigation=navigation,
        nav_valid=nav_valid,
    )
