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


_CONDITIONS = (
    "satisfied",
    "objectiveStatusKnown",
    "objectiveMeasureKnown",
    "objectiveMeasureGreaterThan",
    "completed",
    "activityProgressKnown",
    "attempted",
    "attemptLimitExceeded",
    "always",
)


def _random_rules(r, actions):
    return [
        rule(
            r.choice(actions),
            *(cond(r.choice(_CONDITIONS), r.random() < 0.3, threshold=0.5) for _ in range(2)),
            combination=r.choice(["all", "any"]),
        )
        for _ in range(r.randint(0, 2))
    ]


def random_tree(r, name: str = "root", depth: int = 0) -> dict:
    """A random activity tree using every kind of sequencing definition, for the tests that
    check what must hold whatever the package says."""
    seq: dict[str, Any] = {}
    if r.random() < 0.3:
        seq["pre"] = _random_rules(
            r, ["skip", "disabled", "hiddenFromChoice", "stopForwardTraversal"]
        )
    if r.random() < 0.3:
        seq["post"] = _random_rules(
            r, ["exitParent", "exitAll", "retry", "retryAll", "continue", "previous"]
        )
    if r.random() < 0.2:
        seq["exit"] = _random_rules(r, ["exit"])
    if r.random() < 0.2:
        seq["limits"] = {"attempt_limit": r.randint(1, 3)}
    if r.random() < 0.3:
        shared = mapinfo(
            r.choice(["g1", "g2"]),
            read=r.sample(["satisfied", "measure", "completion"], 1),
            write=r.sample(["satisfied", "measure", "completion", "progress"], 2),
        )
        seq["objectives"] = [objective(f"{name}-p", True, r.random() < 0.3, 0.5, [shared])]
    if depth == 0 or (depth < 3 and r.random() < 0.5):
        children = [random_tree(r, f"{name}.{i}", depth + 1) for i in range(r.randint(1, 3))]
        seq.update(
            flow=depth == 0 or r.random() < 0.85,
            choice=depth == 0 or r.random() < 0.8,
            forward_only=r.random() < 0.2,
            choice_exit=r.random() < 0.8,
            constrain_choice=r.random() < 0.1,
            prevent_activation=r.random() < 0.1,
        )
        timing = r.choice(["once", "onEachNewAttempt"])
        if r.random() < 0.2:
            seq["selection"] = {"timing": timing, "count": r.randint(1, 3)}
        if r.random() < 0.2:
            seq["randomization"] = {"timing": timing, "reorder": True}
        if r.random() < 0.2:
            seq["rollup"] = {
                "rules": [
                    rollup_rule(
                        r.choice(["satisfied", "notSatisfied", "completed", "incomplete"]),
                        cond(r.choice(["satisfied", "completed", "attempted"])),
                        child_set=r.choice(
                            ["all", "any", "none", "atLeastCount", "atLeastPercent"]
                        ),
                        count=1,
                        percent=0.5,
                    )
                ]
            }
        return node(name, *children, **seq)
    return node(name, **seq)
