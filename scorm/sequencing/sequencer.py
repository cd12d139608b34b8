"""The sequencing engine's public face: one learner's registration in one activity tree.

    tree = ActivityTree.from_description(describe(manifest))
    seq = Sequencer(tree, stored_state_or_None, rng_seed)
    out = seq.navigate("start")          # Overall Sequencing Process (OP.1)
    seq.report(out.deliver, runtime)     # the SCO's cmi values at Commit / Terminate
    seq.launch_values(out.deliver)       # cmi.* to set before the launch
    seq.valid_requests(), seq.toc()      # adl.nav.request_valid.*, the table of contents
    store(seq.state)                     # a JSON-serialisable dict; round trips

JSON in and out, so the LMS keeps the whole sequencing state of a registration in one column
and the engine stays pure (no database, no clock unless time limits are used)."""

from __future__ import annotations

import json
import re
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from scorm.sequencing.delivery import content_delivery_environment, delivery_request
from scorm.sequencing.errors import EndSession, SequencingError
from scorm.sequencing.report import apply_pending, launch_values, normalise_runtime
from scorm.sequencing.requests import sequencing_request
from scorm.sequencing.rollup import overall_rollup
from scorm.sequencing.rules import check_activity, sequencing_rules_check
from scorm.sequencing.selection import prepare_children
from scorm.sequencing.termination import navigation_request, termination_request
from scorm.sequencing.tracking import Tracking
from scorm.sequencing.tree import ActivityTree

__all__ = ["NAVIGATION_REQUESTS", "Outcome", "Sequencer"]

NAVIGATION_REQUESTS = (
    "start",
    "resumeAll",
    "continue",
    "previous",
    "choice",
    "jump",
    "exit",
    "exitAll",
    "suspendAll",
    "abandon",
    "abandonAll",
)


@dataclass(frozen=True)
class Outcome:
    """What a navigation request led to: the leaf to launch (or None), whether the
    sequencing session ended, and the book's exception code when the request failed."""

    deliver: str | None = None
    end_session: bool = False
    exception: str | None = None
    hide_lms_ui: tuple[str, ...] = ()


def _status(value: bool | None, yes: str, no: str) -> str:
    return "unknown" if value is None else (yes if value else no)


def _completion(m: Tracking, activity: Any) -> str:
    completion = _status(m.completed(activity), "completed", "incomplete")
    if completion == "unknown" and m.t(activity)["attempts"] == 0:
        return "not attempted"
    return completion


class Sequencer:
    """The SN engine for one registration; `state` is the tracking model as plain JSON."""

    def __init__(
        self,
        tree: ActivityTree,
        state: dict[str, Any] | None = None,
        rng_seed: int = 0,
        now: datetime | None = None,
        own: bool = False,
    ) -> None:
        """`state` is copied unless `own` says the caller hands it over (one just read from
        JSON and used for nothing else)."""
        self.tree = tree
        self.m = Tracking(tree, state, rng_seed, own=own)
        self.m.now = now
        if state is None:
            for activity in tree.activities.values():
                if not activity.is_leaf:
                    prepare_children(self.m, activity)

    @property
    def state(self) -> dict[str, Any]:
        """The registration's sequencing state, JSON-serialisable."""
        return self.m.state

    @property
    def current(self) -> str | None:
        """The Current Activity's id (SN 4.2.2), None between sessions."""
        return self.m.state["current"]

    @property
    def suspended(self) -> str | None:
        """The Suspended Activity's id, which resume all delivers."""
        return self.m.state["suspended"]

    def navigate(self, request: str, target: str | None = None) -> Outcome:
        """OP.1 Overall Sequencing Process: navigation request -> termination ->
        sequencing -> delivery, stopping at the first exception."""
        m = self.m
        activity = self.tree.activities.get(target) if target is not None else None
        deliver = None
        try:
            termination, sequencing = navigation_request(m, request, activity)
            if termination is not None:
                replaced = termination_request(m, termination)
                if replaced is not None:
                    sequencing = replaced
            if sequencing is not None:
                deliver = sequencing_request(m, sequencing, activity)
            if deliver is not None:
                delivery_request(m, deliver)
                content_delivery_environment(m, deliver)
        except SequencingError as error:
            return Outcome(exception=error.code)
        except EndSession:
            # LMS choice: the session over, nothing is current, so the next session opens
            # with start or resume all (NB.2.1 needs the current activity undefined).
            m.set_current(None)
            m.state["ended"] = True
            return Outcome(end_session=True)
        m.state["ended"] = False
        if deliver is None:
            return Outcome()
        return Outcome(deliver=deliver.id, hide_lms_ui=deliver.hide_lms_ui)

    def report(self, activity_id: str, runtime: dict[str, Any]) -> None:
        """Record what the SCO of `activity_id` reported (its cmi values at Commit or
        Terminate; each report replaces the previous one of the attempt). It enters the
        tracking model when the attempt ends by exit, exit all or suspend all, and is dropped
        by abandon (see `scorm.sequencing.report`), so report before the navigation request
        that ends the attempt."""
        self.m.t(self.tree[activity_id])["pending"] = normalise_runtime(runtime)

    def launch_values(self, activity_id: str) -> dict[str, Any]:
        """The cmi.* values the LMS sets before launching the activity (RTE 4.2)."""
        return launch_values(self.m, self.tree[activity_id])

    # --- what is possible now, without side effects -----------------------------------------

    def _copy(self, frozen: str | None = None) -> Sequencer:
        """A twin on a copy of the state (`frozen`: the state already as JSON)."""
        twin = Sequencer.__new__(Sequencer)
        twin.tree = self.tree
        state = json.loads(frozen or json.dumps(self.m.state))
        twin.m = Tracking(self.tree, state, 0, own=True)
        twin.m.now = self.m.now
        return twin

    def _try(self, request: str, target: str | None = None, frozen: str | None = None) -> Outcome:
        return self._copy(frozen).navigate(request, target)

    def _choices(self, frozen: str) -> dict[str, bool]:
        return {
            a.id: self._try("choice", a.id, frozen).deliver is not None for a in self.m.preorder()
        }

    def valid_requests(self, only: Collection[str] | None = None) -> dict[str, Any]:
        """Which navigation requests would succeed now (adl.nav.request_valid.*), found by
        running the processes on a copy of the state: continue and previous, each choice and
        jump target, and the requests that only need a current (or suspended) activity.
        `only` names the requests wanted (each one tried is a whole navigation)."""
        frozen = json.dumps(self.m.state)
        wanted = set(NAVIGATION_REQUESTS if only is None else only)
        result: dict[str, Any] = {}
        for request in ("start", "resumeAll", "continue", "previous"):
            if request not in wanted:
                continue
            outcome = self._try(request, None, frozen)
            result[request] = outcome.exception is None and (
                outcome.deliver is not None or outcome.end_session
            )
        for request in ("exit", "exitAll", "suspendAll", "abandon", "abandonAll"):
            if request in wanted:
                result[request] = self._try(request, None, frozen).exception is None
        if "choice" in wanted:
            result["choice"] = self._choices(frozen)
        if "jump" in wanted:
            result["jump"] = {
                a.id: self._try("jump", a.id, frozen).deliver is not None
                for a in self.m.preorder()
                if a.is_leaf
            }
        return result

    def request_valid(self, element: str) -> str:
        """The value of adl.nav.request_valid.<element> (RTE 4.4.2): "true" or "false" for
        continue, previous, choice.{target=ID} and jump.{target=ID}; "unknown" for a target
        the tree does not have or an element the data model does not define."""
        match = re.fullmatch(r"(choice|jump)\.\{target=([^}]*)\}", element)
        if match is not None:
            request, target = match.groups()
            if target not in self.tree:
                return "unknown"
            outcome = self._try(request, target)
            return "true" if outcome.deliver is not None else "false"
        if element not in ("continue", "previous"):
            return "unknown"
        outcome = self._try(element)
        valid = outcome.exception is None and (outcome.deliver is not None or outcome.end_session)
        return "true" if valid else "false"

    def _reported(self) -> tuple[Sequencer, Any]:
        """A twin with the current activity's waiting report applied and rolled up (what
        the learner sees), and its current activity."""
        view = self._copy()
        current = view.m.get_current()
        if current is not None and view.m.active(current):
            apply_pending(view.m, current)
            overall_rollup(view.m, current)
        return view, current

    def root_status(self) -> tuple[str, str]:
        """The root's completion and success status as toc() gives them (the current
        activity's report included), without finding which choices are valid."""
        view, _ = self._reported()
        root = self.tree.root
        return _completion(view.m, root), _status(view.m.satisfied(root), "passed", "failed")

    def toc(self) -> list[dict[str, Any]]:
        """The table of contents: every available activity in tree order with its title,
        depth, whether choosing it is valid now, hidden from choice, disabled, and its
        completion and success status (the current activity's report included)."""
        view, current = self._reported()
        valid = self._choices(json.dumps(self.m.state))
        entries = []
        for activity in view.m.preorder():
            m = view.m
            record = m.t(activity)
            completion = _completion(m, activity)
            entries.append(
                {
                    "id": activity.id,
                    "title": activity.title,
                    "depth": activity.depth,
                    "leaf": activity.is_leaf,
                    "visible": activity.visible,
                    "hide_lms_ui": list(activity.hide_lms_ui),
                    "valid_choice": valid.get(activity.id, False),
                    # SB.2.9 step 3: a hidden cluster hides what is inside it too
                    "hidden_from_choice": any(
                        sequencing_rules_check(m, a, "pre", ("hiddenFromChoice",)) is not None
                        for a in activity.path_from_root()
                    ),
                    "disabled": check_activity(m, activity),
                    "completion_status": completion,
                    "success_status": _status(m.satisfied(activity), "passed", "failed"),
                    "current": current is activity,
                    "suspended": bool(record["suspended"]),
                    "attempts": record["attempts"],
                }
            )
        return entries
