"""Small activity trees for the sequencing engine's tests, written as `describe()` writes
them (the engine reads nothing else), and a helper to drive a learner through one."""

from __future__ import annotations

from typing import Any

from scorm.sequencing.sequencer import Outcome, Sequencer
from scorm.sequencing.tracking import Tracking
from scorm.sequencing.tree import ActivityTree

PASSED = {"completion_status": "completed", "success_status": "passed"}
FAILED = {"completion_status": "completed", "success_status": "failed"}


def cond(name: str, negated: bool = False, objective: str | None = None, threshold=None):
    """A rule condition."""
    return {
        "condition": name,
        "negated": negated,
        "referenced_objective": objective,
        "measure_threshold": threshold,
    }


def rule(action: str, *conditions: dict, combination: str = "all") -> dict:
    """A sequencing rule (pre, exit or post by where it is put)."""
    return {"action": action, "combination": combination, "conditions": list(conditions)}


def rollup_rule(action: str, *conditions: dict, child_set="all", count=0, percent=0.0):
    """A rollup rule."""
    return {
        "action": action,
        "combination": "any",
        "child_activity_set": child_set,
        "minimum_count": count,
        "minimum_percent": percent,
        "conditions": list(conditions),
    }


def mapinfo(target: str, read=("satisfied", "measure"), write=()) -> dict:
    """An objective map; `read` and `write` name the shared fields."""
    fields = ("satisfied", "measure", "completion", "progress", "raw", "min", "max")
    return {
        "target": target,
        **{f"read_{f}": f in read for f in fields},
        **{f"write_{f}": f in write for f in fields},
    }


def objective(oid: str | None, primary=False, by_measure=False, min_measure=1.0, maps=()):
    """An objective of an activity."""
    return {
        "id": oid,
        "primary": primary,
        "satisfied_by_measure": by_measure,
        "min_measure": min_measure,
        "maps": list(maps),
    }


def node(identifier: str, *children: dict, completion=None, hide=(), **seq: Any) -> dict:
    """An activity; clusters flow and allow choice unless told otherwise."""
    defaults = {"flow": bool(children), "choice": True}
    return {
        "identifier": identifier,
        "title": identifier.title(),
        "visible": True,
        "sco": not children,
        "seq": {**defaults, **seq},
        "children": list(children),
        "completion": completion,
        "hide_lms_ui": list(hide),
    }


def sequencer(root: dict, state=None, seed: int = 7) -> Sequencer:
    """A new registration in the tree."""
    return Sequencer(ActivityTree.from_description({"tree": root}), state, seed)


def tracking(root: dict) -> Tracking:
    """The bare tracking model of a tree, for the process-level tests."""
    return Tracking(ActivityTree.from_description({"tree": root}), None, 7)


def walk(seq: Sequencer, first: str, reports: dict[str, list[dict]], limit: int = 30):
    """Start (or `first` request) then continue, each delivered leaf reporting the next of its
    reports (the last one again when they run out); the delivered ids, then the final
    outcome as "END" or the exception code."""
    delivered: list[str] = []
    out: Outcome = seq.navigate(first)
    for _ in range(limit):
        if out.deliver is None:
            break
        delivered.append(out.deliver)
        queue = reports.get(out.deliver) or [{}]
        seq.report(out.deliver, queue.pop(0) if len(queue) > 1 else queue[0])
        out = seq.navigate("continue")
    return [*delivered, "END" if out.end_session else out.exception]
