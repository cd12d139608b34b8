"""SCORM 2004 sequencing in the LMS: each learner's registration in a package's activity tree,
run by the SN engine (scorm.sequencing.Sequencer), and what it decides for the player.

The engine is pure; this module keeps its state per (enrolment, activity) in a Registration,
stored only over the version it was read at (two tabs of one learner must not overwrite each
other's navigation: the loser runs again on the newer state). The lesson page asks for start,
resume all, a choice, previous or continue; a SCO's commits report its values (`report`) and
its Terminate's adl.nav.request is run (`navigate`). The activity is done when the engine's
root is completed (complete_on "completed") or satisfied ("passed").

SCORM 1.2 packages keep the older path (lms.services.tracking.rollup's Navigator)."""

from __future__ import annotations

import json
import random
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import bindparam, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from lms.app.driver import Prepared
from lms.models import Activity, Enrolment, ProgressStatus, utcnow
from lms.models.scorm import Registration, ScormPackage
from lms.services.errors import N_
from lms.services.tracking.packages import package_of
from lms.services.tracking.registration_facts import reports_the_same, state_facts
from lms.services.tracking.shared_data import describe_data
from lms.services.tracking.work import CommitWork
from scorm.manifest import parse_manifest
from scorm.sequencing.navigation import describe
from scorm.sequencing.report import normalise_runtime, runtime_report
from scorm.sequencing.sequencer import Outcome, Sequencer
from scorm.sequencing.tree import ActivityTree

__all__ = [
    "Navigation",
    "after_commit",
    "quiet_commit",
    "is_sequenced",
    "navigate",
    "page_request",
    "registration_of",
    "report",
    "runtime_report",
    "sequenced_player",
    "sequenced_view",
    "tree_of",
]

T = TypeVar("T")

# The book's exception codes (SN Appendix C) by what the learner is told.
_DISABLED = N_("This part is not open yet: finish the parts before it.")
_NO_CHOICE = N_("This lesson does not let you pick its parts: use the Next part button.")
_HIDDEN = N_("This part cannot be chosen.")
_FORWARD = N_("This lesson only goes forward: a part already passed cannot be opened again.")
_CONSTRAINED = N_("Finish the part you are in before you open another one.")
_MISSING = N_("This part of the package does not exist.")
_REFUSED = N_("This part cannot be opened now.")
MESSAGES = {
    "DB.1.1-3": _DISABLED,  # Check Activity: disabled, or over a limit
    "SB.2.2-2": _DISABLED,
    "SB.2.9-9": _DISABLED,  # a chosen cluster with nothing deliverable inside
    "SB.2.4-1": _DISABLED,  # stop forward traversal
    "NB.2.1-10": _NO_CHOICE,
    "SB.2.9-4": _NO_CHOICE,
    "SB.2.9-2": _HIDDEN,
    "SB.2.9-3": _HIDDEN,
    "NB.2.1-5": _FORWARD,
    "SB.2.4-2": _FORWARD,
    "SB.2.1-4": _FORWARD,
    "NB.2.1-8": _CONSTRAINED,
    "SB.2.9-6": _CONSTRAINED,
    "SB.2.9-7": _CONSTRAINED,
    "SB.2.9-8": _CONSTRAINED,
    "NB.2.1-11": _MISSING,
    "SB.2.9-1": _MISSING,
    "SB.2.13-2": _MISSING,
}

# What a SCO's adl.nav.request may ask (RTE 4.4.1), as (request, target).
_TARGETED = re.compile(r"^\{target=([^{}]+)\}(choice|jump)$")
_PLAIN = {
    "continue",
    "previous",
    "exit",
    "exitAll",
    "suspendAll",
    "abandon",
    "abandonAll",
}


def parse_request(value: str) -> tuple[str, str | None] | None:
    """adl.nav.request's value as (navigation request, target); None for _none_ or ""."""
    match = _TARGETED.match(value or "")
    if match is not None:
        return match.group(2), match.group(1)
    return (value, None) if value in _PLAIN else None


def is_sequenced(package: ScormPackage) -> bool:
    """Whether the package plays through the SN engine (every SCORM 2004 package)."""
    return package.standard == "2004"


# --- the activity tree of a package ---------------------------------------------------------

_TREES: dict[str, ActivityTree] = {}


def _described(description: Mapping[str, Any]) -> bool:
    """Whether a stored description has what the engine reads (node_extras and the
    sequencing definition: packages stored before the engine lack both)."""
    return "hide_lms_ui" in description.get("tree", {})


def describe_again(session: Session, package: ScormPackage, files_root: Path) -> None:
    """Describe a package stored before the engine again from its stored files, and keep the
    new description (its SCOs and data buckets are read the same way)."""
    base = files_root / package.files_path
    names = {p.relative_to(base).as_posix() for p in base.rglob("*") if p.is_file()}
    manifest = parse_manifest((base / "imsmanifest.xml").read_bytes(), names)
    description = describe(manifest)
    describe_data(manifest, description)
    package.manifest = description
    session.flush()


def tree_of(session: Session, package: ScormPackage, files_root: Path | None) -> ActivityTree:
    """The package's activity tree (kept per process by the package's content hash)."""
    tree = _TREES.get(package.sha256)
    if tree is None:
        if not _described(package.manifest):
            if files_root is None:
                raise RuntimeError("a package stored before the engine needs its files")
            describe_again(session, package, files_root)
        tree = _TREES[package.sha256] = ActivityTree.from_description(package.manifest)
    return tree


def _tree(session: Session, package_id: int, sha256: str) -> ActivityTree:
    """tree_of() by the package's id and hash (a commit has both): the package, with its
    manifest, is read only when this process has not built its tree yet."""
    tree = _TREES.get(sha256)
    if tree is None:
        package = session.get(ScormPackage, package_id)
        assert package is not None
        tree = tree_of(session, package, None)
    return tree


# --- registrations ------------------------------------------------------------------------


class Conflict(Exception):
    """The registration changed since it was read (another tab)."""


def registration_of(session: Session, enrolment: Enrolment, activity: Activity) -> Registration:
    """The learner's registration in the activity, created (with a new seed) when missing."""
    query = select(Registration).where(
        Registration.enrolment_id == enrolment.id, Registration.activity_id == activity.id
    )
    found = session.scalar(query)
    if found is not None:
        return found
    package = package_of(session, activity)
    fresh = Registration(
        enrolment_id=enrolment.id,
        activity_id=activity.id,
        package_id=package.id,
        state=None,
        seed=random.SystemRandom().randrange(2**31),
        version=0,
    )
    try:
        with session.begin_nested():
            session.add(fresh)
            session.flush()
    except IntegrityError:  # another request made it first
        return session.scalars(query.execution_options(populate_existing=True)).one()
    return fresh


def _store(
    session: Session,
    reg: Registration,
    seq: Sequencer,
    delivered: str | None,
    valid: dict[str, str] | None = None,
) -> None:
    """Store the engine's state over the version it was read at (Conflict otherwise), with
    its adl.nav.request_valid.* values when known (`valid`, from nav_valid(seq))."""
    now = utcnow()
    done = session.execute(
        update(Registration)
        .where(Registration.id == reg.id, Registration.version == reg.version)
        .values(
            state=seq.state,
            version=reg.version + 1,
            delivered=delivered,
            nav_valid=valid,
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    ).rowcount
    if not done:
        raise Conflict
    session.expire(reg)


def _retrying(session: Session, reg: Registration, work: Callable[[], T]) -> T:
    """Run `work` (which reads `reg` and stores it) again on the newer state after a
    conflict; three conflicts in a row mean something is wrong."""
    for _ in range(3):
        try:
            with session.begin_nested():
                return work()
        except Conflict:
            session.refresh(reg)
    raise RuntimeError(f"registration {reg.id} changed three times while in use")


def _engine(tree: ActivityTree, reg: Registration, now: datetime | None = None) -> Sequencer:
    return Sequencer(tree, reg.state, reg.seed, now=now)


@dataclass(frozen=True)
class Navigation:
    """What a navigation request led to, for the player: the SCO to launch (its index in the
    package's SCOs), the end of the session, or nothing; `message` says why a request was
    refused (an English msgid)."""

    deliver: str | None = None
    index: int | None = None
    end_session: bool = False
    exception: str | None = None
    message: str | None = None
    hide_lms_ui: tuple[str, ...] = field(default=())


def _index(package: ScormPackage, sco: str | None) -> int | None:
    ids = [s["identifier"] for s in package.manifest["scos"]]
    return ids.index(sco) if sco in ids else None


def _navigation(package: ScormPackage, out: Outcome) -> Navigation:
    if out.exception is not None:
        return Navigation(exception=out.exception, message=MESSAGES.get(out.exception, _REFUSED))
    return Navigation(
        deliver=out.deliver,
        index=_index(package, out.deliver),
        end_session=out.end_session,
        hide_lms_ui=out.hide_lms_ui,
    )


def navigate(
    session: Session,
    enrolment: Enrolment,
    activity: Activity,
    request: str,
    target: str | None = None,
    files_root: Path | None = None,
    runtime: Mapping[str, Any] | None = None,
) -> Navigation:
    """Run a navigation request (OP.1) in the learner's registration and store the result:
    the activity delivered is the one the player launches next. `runtime`, when given, is the
    current SCO's last report, recorded first (a Terminate carrying adl.nav.request). A
    refused request changes nothing."""
    package = package_of(session, activity)
    tree = tree_of(session, package, files_root)
    reg = registration_of(session, enrolment, activity)

    def work() -> Navigation:
        seq = _engine(tree, reg)
        reported = runtime is not None and seq.current is not None
        if reported:
            seq.report(seq.current, runtime)
            _store(session, reg, seq, None)  # the SCO terminated
            seq = _engine(tree, reg)
        out = seq.navigate(request, target)
        if out.exception is None:
            _store(session, reg, seq, out.deliver)
            _roll_up(session, enrolment, activity, seq)
        elif reported:
            # The report is stored: the progress follows it, as after any change of the
            # state (a commit's roll-up runs only when the root's status changes).
            _roll_up(session, enrolment, activity, _engine(tree, reg))
        return _navigation(package, out)

    return _retrying(session, reg, work)


def report(
    session: Session,
    enrolment: Enrolment,
    activity: Activity,
    sco: str,
    runtime: Mapping[str, Any],
    terminated: bool,
    tree: ActivityTree | None = None,
) -> dict[str, str] | None:
    """A SCO's commit: its values reported to the engine when it is the current activity (a
    stale tab's SCO is not), and the activity's progress rolled up. A Terminate ends the
    delivery: the player launches nothing more until a navigation request. The
    adl.nav.request_valid.* values of the state stored (None when nothing was stored)."""
    tree = tree or tree_of(session, package_of(session, activity), None)
    reg = registration_of(session, enrolment, activity)

    def work() -> dict[str, str] | None:
        seq = _engine(tree, reg)
        if seq.current != sco:
            return None
        seq.report(sco, runtime)
        delivered = None if terminated and reg.delivered == sco else reg.delivered
        valid = nav_valid(seq)
        _store(session, reg, seq, delivered, valid)
        _roll_up(session, enrolment, activity, seq)
        return valid

    return _retrying(session, reg, work)


def _roll_up(session: Session, enrolment: Enrolment, activity: Activity, seq: Sequencer) -> None:
    """The activity is done when the engine's root is completed (or satisfied, for
    complete_on "passed"), the current SCO's report included; never taken back."""
    from lms.services import learning

    completion, success = seq.root_status()
    progress = learning.open_activity(session, enrolment, activity)
    complete_on = activity.content.get("complete_on", "completed")
    summary = {"completion": completion, "success": success}
    if complete_on == "passed":
        done = success == "passed"
    else:
        done = completion == "completed" or success == "passed"
    earlier = (progress.data.get("sequencing") or {}).get("done", False)
    sequencing = {**summary, "done": done or earlier}
    if progress.data.get("sequencing") != sequencing:
        progress.data = {**progress.data, "sequencing": sequencing}
    if done and progress.status != ProgressStatus.DONE:
        learning.complete_activity(session, enrolment, activity, utcnow())
    session.flush()


# --- the SCO's report ---------------------------------------------------------------------

# --- what the player shows ----------------------------------------------------------------


# What adl.nav.request_valid.* tells the SCO (RTE 4.4.2): the other requests are not tried.
_NAV_VALID = ("continue", "previous", "choice", "jump")


def nav_valid(seq: Sequencer, valid: Mapping[str, Any] | None = None) -> dict[str, str]:
    """adl.nav.request_valid.* for the SCO: continue, previous and each choice and jump
    (from `valid`, seq.valid_requests()'s answer, when the caller has it)."""
    if valid is None:
        valid = seq.valid_requests(_NAV_VALID)
    out = {
        f"adl.nav.request_valid.{name}": "true" if valid[name] else "false"
        for name in ("continue", "previous")
    }
    for kind in ("choice", "jump"):
        for target, ok in valid[kind].items():
            out[f"adl.nav.request_valid.{kind}.{{target={target}}}"] = "true" if ok else "false"
    return out


def sequenced_view(
    session: Session, enrolment: Enrolment, activity: Activity, files_root: Path | None
) -> dict[str, Any]:
    """The table of contents and the controls the engine allows now, and the registration's
    delivered activity (the one to launch)."""
    package = package_of(session, activity)
    tree = tree_of(session, package, files_root)
    reg = registration_of(session, enrolment, activity)
    seq = _engine(tree, reg)
    valid = seq.valid_requests(_NAV_VALID)
    toc = [e for e in seq.toc() if e["depth"] > 0]
    return {
        "package": package,
        "registration": reg,
        "toc": toc,
        "continue": valid["continue"],
        "previous": valid["previous"],
        "current": seq.current,
        "suspended": seq.suspended,
        "delivered": reg.delivered,
        "index": _index(package, reg.delivered),
        "nav_valid": nav_valid(seq, valid),
        "hide_lms_ui": list(tree[reg.delivered].hide_lms_ui) if reg.delivered else [],
        "sequenced": True,
        "refusal": None,
    }


def page_request(reg: Registration) -> tuple[str, str | None] | None:
    """The navigation request that opening the lesson page (no part chosen) runs: start a
    first session, resume all after a suspend all, and otherwise, when nothing is delivered,
    LMS choice of the part the learner was in. Opening the page anew (a reload, a visit after
    the tab was closed) asks for it when it may be chosen (a SCO that ended with cmi.exit =
    suspend resumes); otherwise the page waits for the learner. Within one page, a SCO that
    terminated without a request is followed by nothing. None: a part is delivered."""
    if reg.delivered is not None:
        return None
    current = (reg.state or {}).get("current")
    if current is None:
        return ("resumeAll" if (reg.state or {}).get("suspended") else "start"), None
    return "choice", current


def sequenced_player(
    session: Session,
    enrolment: Enrolment,
    activity: Activity,
    chosen: str | None,
    files_root: Path | None,
) -> dict[str, Any]:
    """The lesson page of a SCORM 2004 activity: a first visit starts the sequencing session
    (start), a visit after a suspend resumes it (resume all), `chosen` (?sco=) is a choice,
    and otherwise the page shows the delivered activity, or chooses the current one again
    when its SCO terminated without asking for anything (nothing when it may not be chosen:
    the learner asks next). A refused choice launches nothing and says why."""
    reg = registration_of(session, enrolment, activity)
    refusal = None
    opening = page_request(reg)
    if chosen and chosen != reg.delivered:
        refusal = navigate(session, enrolment, activity, "choice", chosen, files_root).message
    elif not chosen and opening is not None:
        navigate(session, enrolment, activity, *opening, files_root)
    session.refresh(reg)
    if not chosen and opening is None and (late := page_request(reg)) is not None:
        # The part's Terminate landed between the two looks (a reload: the SCO's last commit
        # goes out as its page goes, and races the new page): open on what is stored now,
        # instead of showing nothing delivered.
        navigate(session, enrolment, activity, *late, files_root)
        session.refresh(reg)
    view = sequenced_view(session, enrolment, activity, files_root)
    if refusal is not None:
        view.update(refusal=refusal, index=None, delivered=None)
    return view


_registration = Registration.__table__
# A commit's report stored over the version its SELECT read (built once: building an UPDATE
# costs about as much as running it).
_REPORT = Prepared(  # on the driver's cursor (lms.app.driver): a 2004 commit's second statement
    update(_registration)
    .where(
        _registration.c.id == bindparam("reg_id"),
        _registration.c.version == bindparam("read_version"),
    )
    .values(
        state=bindparam("new_state"),
        version=bindparam("new_version"),
        delivered=bindparam("new_delivered"),
        nav_valid=bindparam("new_nav_valid"),
        updated_at=bindparam("now"),
    )
)


def quiet_commit(
    work: CommitWork,
    row: Any,
    written: Mapping[str, str],
    completion: str,
    success: str,
    terminated: bool,
    digest: str | None = None,
) -> dict[str, str] | None:
    """The adl.nav.request_valid.* values kept beside the registration when this commit
    (taken, or about to be) changes nothing the SN engine reads: the SCO is not the current
    activity (a stale tab's), or it reports what it reported last (a new bookmark or suspend
    data, the same statuses, score and time) and asks for nothing. None when the engine must
    hear it (`after_commit`). Runs no statement (but the package's tree read the first time
    in this process). `digest`: the digest of the commit's values when they were taken whole
    (lms.services.tracking.commits), which then stand for `written`."""
    tree = _TREES.get(row.sha256) or _tree(work.session, row.package_id, row.sha256)
    kept = row.reg_nav_valid if not tree.uses_clock else None
    if kept is None:
        return None
    facts = state_facts(row)
    if facts.current != row.sco:
        return kept  # a stale tab's SCO: the engine does not hear it
    if terminated:
        return None
    return kept if reports_the_same(facts, written, completion, success, digest) else None


def after_commit(
    work: CommitWork,
    row: Any,
    written: Mapping[str, str],
    completion: str,
    success: str,
    terminated: bool,
) -> tuple[Navigation | None, dict[str, str] | None]:
    """A SCORM 2004 SCO's commit taken (`row`: what lms.services.tracking.commits found, the
    learner's registration with it): report it to the engine; a Terminate's adl.nav.request
    is run (the SCO's values recorded first). The navigation (None when the SCO asked for
    nothing: the player then delivers nothing until asked) and the refreshed
    adl.nav.request_valid.* values.

    The hot path of a 2004 lesson. A commit that changes nothing the engine reads (the SCO
    is not the current activity, or it reports what it reported last: a new bookmark or
    suspend data, the same statuses, score and time) runs no engine and no statement and
    answers with the values kept beside the state. Otherwise the report is stored over the
    registration as it was found, with its new values, in one statement (on a conflict with
    another tab, the general path below runs it again on the newer state)."""
    quiet = quiet_commit(work, row, written, completion, success, terminated)
    if quiet is not None:
        return None, quiet
    runtime = runtime_report(written, completion, success)
    asked = parse_request(written.get("adl.nav.request", "")) if terminated else None
    tree = _TREES.get(row.sha256) or _tree(work.session, row.package_id, row.sha256)
    facts = state_facts(row)
    current, pending = facts.current, facts.pending
    kept = row.reg_nav_valid if not tree.uses_clock else None
    only_time = False
    if kept is not None:
        reported = normalise_runtime(runtime)
        # Only the session time is new (a SCO that reports it at each commit): the report
        # is stored, but with no duration limit in the package nothing the engine decides
        # (the valid requests, the root's status) depends on it (SN UP.1).
        only_time = (
            not terminated
            and not tree.uses_durations
            and pending is not None
            and {**pending, "session_time": None} == {**reported, "session_time": None}
        )
    if asked is None and current == row.sco:
        state = json.loads(row.reg_state_text) if row.reg_state_text else None
        seq = Sequencer(tree, state, row.reg_seed, own=True)
        before = None if only_time else seq.root_status()
        seq.report(row.sco, runtime)
        delivered = None if terminated and row.reg_delivered == row.sco else row.reg_delivered
        valid = kept if only_time and kept is not None else nav_valid(seq)
        stored = _REPORT.rowcount(
            work.connection,
            {
                "reg_id": row.reg_id,
                "read_version": row.reg_version,
                "new_state": seq.state,
                "new_version": row.reg_version + 1,
                "new_delivered": delivered,
                "new_nav_valid": valid,
                "now": utcnow(),
            },
        )
        if stored:
            # The activity's progress follows the root's status, rolled up with each change
            # of it (and of the state by a navigation): unchanged, it needs no roll-up.
            if not only_time and seq.root_status() != before:
                session = work.session
                enrolment = session.get(Enrolment, row.enrolment_id)
                activity = session.get(Activity, row.activity_id)
                assert enrolment is not None and activity is not None
                _roll_up(session, enrolment, activity, seq)
            return None, valid
    session = work.session
    enrolment = session.get(Enrolment, row.enrolment_id)
    activity = session.get(Activity, row.activity_id)
    assert enrolment is not None and activity is not None
    reg = registration_of(session, enrolment, activity)
    if asked is not None and (reg.state or {}).get("current") == row.sco:
        navigation = navigate(session, enrolment, activity, asked[0], asked[1], runtime=runtime)
    else:
        navigation = None
        valid = report(session, enrolment, activity, row.sco, runtime, terminated, tree)
        if valid is not None:
            return None, valid
    session.refresh(reg)
    valid = nav_valid(_engine(tree, reg))
    if not tree.uses_clock:
        # Kept for the next commits; only over the version it was found from.
        session.execute(
            update(Registration)
            .where(Registration.id == reg.id, Registration.version == reg.version)
            .values(nav_valid=valid)
            .execution_options(synchronize_session=False)
        )
    return navigation, valid
