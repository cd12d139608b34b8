"""The activity tree with each activity's sequencing definition (SN book 3), rebuilt from the
plain description `describe()` stores. Definitions only: what the learner did lives in the
tracking model (`scorm.sequencing.tracking`).

A description written before the engine existed (without the extra keys) still loads: every
missing part takes the IMS SS default, as if the manifest had not declared it."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

__all__ = [
    "Activity",
    "ActivityTree",
    "Condition",
    "MapInfo",
    "ObjectiveDef",
    "RollupRuleDef",
    "RuleDef",
]


@dataclass(frozen=True)
class Condition:
    """A rule or rollup condition; `objective` is referencedObjective (None: the primary)."""

    condition: str
    negated: bool = False
    objective: str | None = None
    threshold: float = 0.0


@dataclass(frozen=True)
class RuleDef:
    """A pre-, exit- or post-condition sequencing rule."""

    action: str
    conditions: tuple[Condition, ...]
    combination: str = "all"


@dataclass(frozen=True)
class RollupRuleDef:
    """A rollup rule (SN book 3.7)."""

    action: str
    conditions: tuple[Condition, ...]
    combination: str = "any"
    child_activity_set: str = "all"
    minimum_count: int = 0
    minimum_percent: float = 0.0


@dataclass(frozen=True)
class MapInfo:
    """An objective map: which global objective fields the local objective reads and writes."""

    target: str
    read: frozenset[str] = frozenset()  # of FIELDS
    write: frozenset[str] = frozenset()


MAP_FIELDS = ("satisfied", "measure", "completion", "progress", "raw", "min", "max")
# The limits measured by the session times reported (rules.py, the Limit Conditions Check).
DURATION_LIMITS = (
    "attempt_absolute_duration",
    "attempt_experienced_duration",
    "activity_absolute_duration",
    "activity_experienced_duration",
)


@dataclass(frozen=True)
class ObjectiveDef:
    """An objective of an activity (SN book 3.9)."""

    id: str
    primary: bool = False
    satisfied_by_measure: bool = False
    min_measure: float = 1.0
    maps: tuple[MapInfo, ...] = ()


@dataclass(eq=False)  # activities are compared by identity: one object per tree node
class Activity:
    """One activity of the tree and its sequencing definition (defaults are IMS SS's)."""

    id: str
    title: str
    parent: Activity | None = None
    children: list[Activity] = field(default_factory=list)
    visible: bool = True
    depth: int = 0
    # control modes (SN book 3.2) and adlseq constrained choice
    choice: bool = True
    choice_exit: bool = True
    flow: bool = False
    forward_only: bool = False
    use_current_objective: bool = True
    use_current_progress: bool = True
    constrain_choice: bool = False
    prevent_activation: bool = False
    pre_rules: tuple[RuleDef, ...] = ()
    exit_rules: tuple[RuleDef, ...] = ()
    post_rules: tuple[RuleDef, ...] = ()
    limits: Mapping[str, Any] = field(default_factory=dict)
    objectives: tuple[ObjectiveDef, ...] = ()
    # rollup controls, rules and considerations (SN book 3.7, adlseq)
    rollup_satisfied: bool = True
    rollup_completion: bool = True
    measure_weight: float = 1.0
    rollup_rules: tuple[RollupRuleDef, ...] = ()
    considerations: Mapping[str, Any] = field(default_factory=dict)
    measure_satisfaction_if_active: bool = True
    # delivery controls (SN book 3.13)
    tracked: bool = True
    completion_set_by_content: bool = False
    objective_set_by_content: bool = False
    # selection and randomization (SN book 3.10)
    selection_timing: str = "never"
    selection_count: int | None = None
    randomization_timing: str = "never"
    reorder_children: bool = False
    # completion threshold (CAM adlcp:completionThreshold) and adlnav:presentation
    completed_by_measure: bool = False
    min_progress_measure: float = 1.0
    progress_weight: float = 1.0
    hide_lms_ui: tuple[str, ...] = ()

    @property
    def is_leaf(self) -> bool:
        """True for an activity without children (the ones content is launched for)."""
        return not self.children

    @cached_property
    def primary(self) -> ObjectiveDef:
        """The primary objective; an activity without one gets an implicit one (SN 3.9:
        every activity has a rolled-up objective, which tracks its own status)."""
        return next(o for o in self.objectives if o.primary)

    def objective(self, objective_id: str | None) -> ObjectiveDef | None:
        """The objective of this id; None (no id) means the primary objective."""
        if objective_id is None:
            return self.primary
        return next((o for o in self.objectives if o.id == objective_id), None)

    def ancestors(self) -> list[Activity]:
        """Parent, grandparent, ... up to the root."""
        chain, node = [], self.parent
        while node is not None:
            chain.append(node)
            node = node.parent
        return chain

    def path_from_root(self) -> list[Activity]:
        """The root, ..., this activity."""
        return [*reversed(self.ancestors()), self]

    def is_descendant_of(self, other: Activity) -> bool:
        """True when `other` is a strict ancestor of this activity."""
        return other in self.ancestors()


def _conditions(items: Any) -> tuple[Condition, ...]:
    return tuple(
        Condition(
            condition=c["condition"],
            negated=bool(c.get("negated")),
            objective=c.get("referenced_objective") or None,
            threshold=float(c.get("measure_threshold") or 0.0),
        )
        for c in items or ()
    )


def _rules(items: Any) -> tuple[RuleDef, ...]:
    return tuple(
        RuleDef(r["action"], _conditions(r.get("conditions")), r.get("combination") or "all")
        for r in items or ()
    )


def _map(m: Mapping[str, Any]) -> MapInfo:
    read = {f for f in MAP_FIELDS if m.get(f"read_{f}")}
    write = {f for f in MAP_FIELDS if m.get(f"write_{f}")}
    return MapInfo(m["target"], frozenset(read), frozenset(write))


def _objectives(seq: Mapping[str, Any], activity_id: str) -> tuple[ObjectiveDef, ...]:
    found = [
        ObjectiveDef(
            id=o.get("id") or f"{activity_id}#primary",
            primary=bool(o.get("primary")),
            satisfied_by_measure=bool(o.get("satisfied_by_measure")),
            min_measure=float(o.get("min_measure", 1.0)),
            maps=tuple(_map(m) for m in o.get("maps", ()) if m.get("target")),
        )
        for o in seq.get("objectives") or ()
    ]
    if "objectives" not in seq and seq.get("objective"):
        # A description from before the engine: only the primary objective's shared status.
        old = seq["objective"]
        maps = {}
        for key, flag in (("read", "read"), ("write", "write")):
            if old.get(key):
                maps.setdefault(old[key], {"target": old[key]})[f"{flag}_satisfied"] = True
        found.append(
            ObjectiveDef(f"{activity_id}#primary", True, maps=tuple(_map(m) for m in maps.values()))
        )
    if not any(o.primary for o in found):
        found.insert(0, ObjectiveDef(f"{activity_id}#primary", primary=True))
    return tuple(found)


def _activity(node: Mapping[str, Any], parent: Activity | None) -> Activity:
    seq = node.get("seq") or {}
    limits = dict(seq.get("limits") or {})
    limits.setdefault("attempt_limit", seq.get("attempt_limit"))
    rollup = seq.get("rollup") or {}
    considerations = seq.get("considerations") or {}
    delivery = seq.get("delivery") or {}
    selection = seq.get("selection") or {}
    randomization = seq.get("randomization") or {}
    completion = node.get("completion") or {}
    activity = Activity(
        id=node["identifier"],
        title=node.get("title") or node["identifier"],
        parent=parent,
        visible=node.get("visible", True),
        depth=0 if parent is None else parent.depth + 1,
        choice=seq.get("choice", True),
        choice_exit=seq.get("choice_exit", True),
        # LMS choice: SCORM 1.2 (no sequencing at all, `seq` empty) flows in tree order.
        flow=seq.get("flow", not seq),
        forward_only=seq.get("forward_only", False),
        use_current_objective=seq.get("use_current_attempt_objective_info", True),
        use_current_progress=seq.get("use_current_attempt_progress_info", True),
        constrain_choice=seq.get("constrain_choice", False),
        prevent_activation=seq.get("prevent_activation", False),
        pre_rules=_rules(seq.get("pre")),
        exit_rules=_rules(seq.get("exit")),
        post_rules=_rules(seq.get("post")),
        limits=limits,
        objectives=_objectives(seq, node["identifier"]),
        rollup_satisfied=rollup.get("objective_satisfied", seq.get("rollup_satisfied", True)),
        rollup_completion=rollup.get("progress_completion", True),
        measure_weight=float(rollup.get("measure_weight", 1.0)),
        rollup_rules=tuple(
            RollupRuleDef(
                action=r["action"],
                conditions=_conditions(r.get("conditions")),
                combination=r.get("combination") or "any",
                child_activity_set=r.get("child_activity_set") or "all",
                minimum_count=int(r.get("minimum_count") or 0),
                minimum_percent=float(r.get("minimum_percent") or 0.0),
            )
            for r in rollup.get("rules") or ()
        ),
        considerations={
            k: considerations.get(k, "always")
            for k in ("satisfied", "not_satisfied", "completed", "incomplete")
        },
        measure_satisfaction_if_active=considerations.get("measure_satisfaction_if_active", True),
        tracked=delivery.get("tracked", True),
        completion_set_by_content=delivery.get("completion_set_by_content", False),
        objective_set_by_content=delivery.get("objective_set_by_content", False),
        selection_timing=selection.get("timing") or "never",
        selection_count=selection.get("count"),
        randomization_timing=randomization.get("timing") or "never",
        reorder_children=bool(randomization.get("reorder")),
        completed_by_measure=bool(completion.get("completed_by_measure")),
        min_progress_measure=float(completion.get("min_progress_measure", 1.0)),
        progress_weight=float(completion.get("progress_weight", 1.0)),
        hide_lms_ui=tuple(node.get("hide_lms_ui") or ()),
    )
    activity.children = [_activity(child, activity) for child in node.get("children") or ()]
    return activity


class ActivityTree:
    """The activity tree of one organization (SN book 2.1), indexed by identifier."""

    def __init__(self, root: Activity, objectives_global_to_system: bool = True) -> None:
        self.root = root
        # adlseq:objectivesGlobalToSystem (CAM): false keeps global objectives to one
        # experience of the package, i.e. one attempt on the root.
        self.objectives_global_to_system = objectives_global_to_system
        self.activities: dict[str, Activity] = {a.id: a for a in self._walk(root)}
        self.order = list(self.activities)  # preorder

    @classmethod
    def from_description(cls, description: Mapping[str, Any]) -> ActivityTree:
        """From `describe()`'s output (or its "tree" alone)."""
        root = description.get("tree", description)
        return cls(_activity(root, None), root.get("objectives_global_to_system", True))

    def _walk(self, activity: Activity) -> Iterator[Activity]:
        yield activity
        for child in activity.children:
            yield from self._walk(child)

    def __getitem__(self, activity_id: str) -> Activity:
        return self.activities[activity_id]

    def __contains__(self, activity_id: object) -> bool:
        return activity_id in self.activities

    def global_targets(self) -> list[str]:
        """Every global objective id any objective map names, in tree order."""
        return self._targets

    @cached_property
    def uses_clock(self) -> bool:
        """Whether an activity has a begin or end time limit: only then does what the engine
        decides depend on the time of day, not on the tracking state alone."""
        return any(
            a.limits.get("begin_time") or a.limits.get("end_time") for a in self.activities.values()
        )

    @cached_property
    def uses_durations(self) -> bool:
        """Whether an activity has a duration limit: only then does what the engine decides
        depend on the session times reported (SN UP.1 Limit Conditions Check)."""
        return any(
            a.limits.get(key) is not None
            for a in self.activities.values()
            for key in DURATION_LIMITS
        )

    @cached_property
    def _targets(self) -> list[str]:
        seen: dict[str, None] = {}
        for activity in self.activities.values():
            for objective in activity.objectives:
                for m in objective.maps:
                    seen.setdefault(m.target, None)
        return list(seen)
