"""Rolling SCO states up into an activity's progress: what satisfies the activity's rule, the
summary per SCO, an admin's override, and what the player's table of contents shows."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from lms.models import (
    Activity,
    ActivityProgress,
    Enrolment,
    ProgressStatus,
    User,
    utcnow,
)
from lms.models.scorm import ScoState
from lms.services import audit
from lms.services.errors import N_, DomainError
from lms.services.tracking.packages import (
    COMPLETIONS,
    SUCCESSES,
    delivery_controls,
    graded,
    package_of,
    sco_of,
)
from scorm.sequencing.navigation import Navigator, ScoStatus


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


_COMPLETION_RANK = {"unknown": 0, "not attempted": 1, "incomplete": 2, "completed": 3}
_SUCCESS_RANK = {"unknown": 0, "failed": 1, "passed": 2}


def best_result(
    best: tuple[str, str, float | None], new: tuple[str, str, float | None]
) -> tuple[str, str, float | None]:
    """The best of two results (completion, success, scaled score), each part on its own:
    completed over incomplete over not attempted over unknown, passed over failed over
    unknown, the higher score. The learner's result (ScoState.result_*), which every page and
    report shows, is the best of the attempts: opening a finished lesson again never takes
    its completion, pass or score back (nor does the learner's page, which keeps it done)."""
    completion = max(best[0], new[0], key=lambda c: _COMPLETION_RANK.get(c, 0))
    success = max(best[1], new[1], key=lambda s: _SUCCESS_RANK.get(s, 0))
    scores = [score for score in (best[2], new[2]) if score is not None]
    return completion, success, max(scores) if scores else None


def activity_score(states: Sequence[ScoState]) -> float | None:
    """The activity's normalized score (0..1): the mean of its SCOs' best scaled scores."""
    scores = [s.result_score for s in states if s.result_score is not None]
    return sum(scores) / len(scores) if scores else None


def state_satisfies(state: ScoState) -> bool:
    return satisfies(
        state.activity.content.get("complete_on", "completed"),
        state.effective_completion,
        state.effective_success,
        graded=graded(sco_of(state.package, state.sco)),
    )


def roll_up_if_changed(session: Session, state: ScoState, now: datetime) -> bool:
    ok = state_satisfies(state)
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
                "score": s.result_score,
            }
            for s in states
        },
        "score": activity_score(states),
    }
    return progress


def roll_up(
    session: Session,
    enrolment: Enrolment,
    activity: Activity,
    now: datetime | None = None,
    by_admin: bool = False,
) -> ActivityProgress:
    """Bring the activity's progress in line with its SCOs: done when every SCO is satisfied.

    A SCO once satisfied stays satisfied: a later session that reports "incomplete" again
    does not take back a completion the learner earned. A SCORM 2004 activity is done when
    the SN engine's root is (lms.services.tracking.sequencing); only an admin's correction of
    a SCO's status (`by_admin`) applies this per-SCO rule to it too.
    """
    from lms.services import learning

    now = now or utcnow()
    session.flush()
    progress = _store_summary(session, enrolment, activity)
    package = package_of(session, activity)
    if package.standard == "2004" and not by_admin:
        # The SN engine decides (lms.services.tracking.sequencing), not this per-SCO rule.
        return progress
    summaries = progress.data["scos"]
    done = {sco for sco, summary in summaries.items() if summary["satisfied"]}
    # Parts the package's own rules skip (a lesson whose quiz was passed) are not needed.
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
    # An untracked part records nothing and counts for nothing (SN RB.1.4: only tracked
    # children contribute to rollup).
    untracked = {
        item["identifier"]
        for item in package.manifest["scos"]
        if not delivery_controls(item).tracked
    }
    needed = {
        sco for sco in activity.content["scos"] if not nav.skipped(sco) and sco not in untracked
    }
    # What the activity's kind checks before it is marked done (ScormKind.blocker).
    progress.data = {**progress.data, "needed": sorted(needed)}
    if needed <= done and progress.status != ProgressStatus.DONE:
        if "sequencing" in progress.data:  # SCORM 2004, corrected by an admin
            progress.data = {
                **progress.data,
                "sequencing": {**progress.data["sequencing"], "done": True},
            }
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
    if state_satisfies(state):
        state.satisfied_at = state.satisfied_at or now
    elif completion is not None or success is not None:
        # A correction downwards is the admin's decision; the SCO's own report is kept.
        state.satisfied_at = None
    roll_up(session, state.enrolment, state.activity, now, by_admin=True)
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
