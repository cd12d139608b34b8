"""The tracking model (SN book 4.2) of one learner in one activity tree, and the global
objectives (SN book 4.2.1.3 and the 4th Edition's adlseq:objectives) shared across the tree.

Everything is kept in one plain dict (`Tracking.state`) that survives a JSON round trip, so
the LMS can store a registration's whole sequencing state in one column. Per activity:

    attempts      Activity Attempt Count (Activity Progress Status = attempts > 0)
    completed     Attempt Progress Status + Attempt Completion Status: None (unknown) or bool
    amount        Attempt Completion Amount (progress measure) or None (status false)
    active, suspended   Activity is Active / Activity is Suspended
    children      Available Children (after selection and randomization), ids
    duration, total     attempt / activity experienced duration in seconds
    objectives    objective id -> {satisfied, measure, completed, progress, raw, min, max}
                  (None = the matching status is false; the primary objective's completion
                  and progress are the activity's `completed` and `amount`)
    pending       what the content reported during the current attempt, not yet in the model
    exit, entry   the last cmi.exit, and the cmi.entry the next launch gets

and at the top: current, suspended (activity ids or None), globals (target id -> the same
fields as an objective), seed, ended."""

from __future__ import annotations

import copy
import random
from datetime import datetime
from typing import Any

from scorm.sequencing.tree import Activity, ActivityTree, MapInfo, ObjectiveDef

__all__ = ["OBJECTIVE_FIELDS", "Tracking"]

STATE_VERSION = 1
OBJECTIVE_FIELDS = ("satisfied", "measure", "completed", "progress", "raw", "min", "max")
# Objective field -> the MapInfo flag that shares it (SN 4th ed. 4.2.1.3, CAM adlseq:mapInfo).
_MAP_FLAG = {
    "satisfied": "satisfied",
    "measure": "measure",
    "completed": "completion",
    "progress": "progress",
    "raw": "raw",
    "min": "min",
    "max": "max",
}


def _blank_objective() -> dict[str, Any]:
    return dict.fromkeys(OBJECTIVE_FIELDS)


class Tracking:
    """The tree plus the learner's state, and the accessors every process uses."""

    def __init__(
        self, tree: ActivityTree, state: dict[str, Any] | None, seed: int, own: bool = False
    ) -> None:
        """`state` is copied unless `own` says the caller hands it over."""
        self.tree = tree
        self.now: datetime | None = None  # the clock for time limits; None = the real one
        if state is None:
            state = self._new_state(seed)
        elif not own:
            state = copy.deepcopy(state)
        self.state: dict[str, Any] = state
        records, shared = self.state["activities"], self.state["globals"]
        for activity in tree.activities.values():  # activities added to a re-read package
            if activity.id not in records:
                records[activity.id] = self._new_activity(activity)
        for target in tree.global_targets():
            if target not in shared:
                shared[target] = _blank_objective()

    def _new_state(self, seed: int) -> dict[str, Any]:
        return {
            "version": STATE_VERSION,
            "seed": seed,
            "current": None,
            "suspended": None,
            "ended": False,
            "activities": {},
            "globals": {},
        }

    @staticmethod
    def _new_activity(activity: Activity) -> dict[str, Any]:
        return {
            "attempts": 0,
            "completed": None,
            "amount": None,
            "active": False,
            "suspended": False,
            "children": [c.id for c in activity.children],
            "selected": False,
            "duration": 0.0,
            "total": 0.0,
            "objectives": {o.id: _blank_objective() for o in activity.objectives},
            "pending": None,
            "exit": None,
            "entry": "ab-initio",
        }

    # --- the tree as this learner sees it ---------------------------------------------------

    def t(self, activity: Activity) -> dict[str, Any]:
        """The tracking record of an activity."""
        return self.state["activities"][activity.id]

    def __getitem__(self, activity_id: str) -> Activity:
        return self.tree[activity_id]

    @property
    def root(self) -> Activity:
        """The root of the activity tree."""
        return self.tree.root

    def get_current(self) -> Activity | None:
        """The Current Activity (SN 4.2.2)."""
        current = self.state["current"]
        return self.tree.activities.get(current)

    def set_current(self, activity: Activity | None) -> None:
        """Set the Current Activity."""
        self.state["current"] = activity.id if activity is not None else None

    def get_suspended(self) -> Activity | None:
        """The Suspended Activity (SN 4.2.2)."""
        suspended = self.state["suspended"]
        return self.tree.activities.get(suspended)

    def set_suspended(self, activity: Activity | None) -> None:
        """Set the Suspended Activity."""
        self.state["suspended"] = activity.id if activity is not None else None

    def children(self, activity: Activity) -> list[Activity]:
        """Available Children: the children an attempt offers (SN 4.2.1.4)."""
        return [self.tree[i] for i in self.t(activity)["children"] if i in self.tree]

    def is_available(self, activity: Activity) -> bool:
        """Whether the activity is among its parent's available children (the root always)."""
        parent = activity.parent
        return parent is None or (activity in self.children(parent) and self.is_available(parent))

    def active(self, activity: Activity) -> bool:
        """Activity is Active."""
        return bool(self.t(activity)["active"])

    def suspended(self, activity: Activity) -> bool:
        """Activity is Suspended."""
        return bool(self.t(activity)["suspended"])

    def attempts(self, activity: Activity) -> int:
        """Activity Attempt Count."""
        return int(self.t(activity)["attempts"])

    def preorder(self, activity: Activity | None = None) -> list[Activity]:
        """The available activities under `activity` (the root by default), in preorder."""
        node = activity or self.root
        found = [node]
        for child in self.children(node):
            found.extend(self.preorder(child))
        return found

    def rng(self, activity: Activity, purpose: str) -> random.Random:
        """A generator reproducible from the registration's seed, per activity and attempt,
        so a reload with the stored seed draws the same children (SR.1, SR.2)."""
        return random.Random(
            f"{self.state['seed']}:{activity.id}:{self.attempts(activity)}:{purpose}"
        )

    # --- objectives, local and global (SN 4.2.1.1, 4.2.1.3) ---------------------------------

    def _local(self, activity: Activity, objective: ObjectiveDef) -> dict[str, Any]:
        return self.t(activity)["objectives"].setdefault(objective.id, _blank_objective())

    def reads(self, objective: ObjectiveDef, field: str) -> list[MapInfo]:
        """The maps through which the objective reads `field` from a global objective."""
        return [m for m in objective.maps if _MAP_FLAG[field] in m.read]

    def read(self, activity: Activity, objective: ObjectiveDef, field: str) -> Any:
        """A field of an objective as sequencing sees it: a mapped global objective's value
        when it is known, else the local one (SN 4.2.1.3: a read map makes the global the
        objective's status; an unknown global leaves the local status in force)."""
        for m in self.reads(objective, field):
            value = self.state["globals"].get(m.target, {}).get(field)
            if value is not None:
                return value
        if objective.primary and field == "completed":
            return self.t(activity)["completed"]
        if objective.primary and field == "progress":
            return self.t(activity)["amount"]
        return self._local(activity, objective)[field]

    def write(self, activity: Activity, objective: ObjectiveDef, field: str, value: Any) -> None:
        """Set a field locally and in every global objective mapped to write it. An unknown
        value is not written: a global keeps what some activity has established."""
        if objective.primary and field == "completed":
            self.t(activity)["completed"] = value
        elif objective.primary and field == "progress":
            self.t(activity)["amount"] = value
        else:
            self._local(activity, objective)[field] = value
        if value is None:
            return
        for m in objective.maps:
            if _MAP_FLAG[field] in m.write:
                self.state["globals"].setdefault(m.target, _blank_objective())[field] = value

    def satisfied(self, activity: Activity, objective: ObjectiveDef | None = None) -> bool | None:
        """Objective Satisfied Status, None when the Objective Progress Status is false: a
        mapped global objective's status first (SN 4.2.1.3), else the local one."""
        objective = objective or activity.primary
        for m in self.reads(objective, "satisfied"):
            value = self.state["globals"].get(m.target, {}).get("satisfied")
            if value is not None:
                return value
        return self.local_satisfied(activity, objective, self.read(activity, objective, "measure"))

    def local_satisfied(
        self, activity: Activity, objective: ObjectiveDef, measure: float | None = None
    ) -> bool | None:
        """The objective's own satisfied status; for an objective satisfied by measure, its
        measure (by default the local one) against minNormalizedMeasure (SN 3.9.1, RB.1.2.a),
        unknown while the activity is active if measureSatisfactionIfActive is false."""
        if not objective.satisfied_by_measure:
            return self._local(activity, objective)["satisfied"]
        if measure is None:
            measure = self._local(activity, objective)["measure"]
        if measure is None:
            return None
        if self.active(activity) and not activity.measure_satisfaction_if_active:
            return None
        return measure >= objective.min_measure

    def measure(self, activity: Activity, objective: ObjectiveDef | None = None) -> float | None:
        """Objective Normalized Measure, None when the Objective Measure Status is false."""
        return self.read(activity, objective or activity.primary, "measure")

    def completed(self, activity: Activity, objective: ObjectiveDef | None = None) -> bool | None:
        """Attempt Completion Status, None when the Attempt Progress Status is false."""
        return self.read(activity, objective or activity.primary, "completed")

    def progress(self, activity: Activity, objective: ObjectiveDef | None = None) -> float | None:
        """Attempt Completion Amount (progress measure), None when unknown."""
        return self.read(activity, objective or activity.primary, "progress")

    # --- attempts (DB.2's "initialize ... for the new attempt") -----------------------------

    def reset_attempt(self, activity: Activity) -> None:
        """Objective and attempt progress information start unknown for a new attempt; so do
        the descendants' when the activity only uses current-attempt information.

        LMS choice: the book (SN 3.2.1) says a cluster with useCurrentAttempt*Info ignores
        what its children recorded in an earlier attempt of it, without naming a process;
        Hocvu forgets those local values when the cluster's new attempt begins (global
        objectives keep theirs), which gives the same rollup."""
        record = self.t(activity)
        record["completed"] = None
        record["amount"] = None
        record["duration"] = 0.0
        record["pending"] = None  # a report of an earlier attempt never reaches this one
        record["objectives"] = {o.id: _blank_objective() for o in activity.objectives}
        for child in activity.children:
            self._forget(child, activity.use_current_objective, activity.use_current_progress)

    def new_experience(self) -> None:
        """A new attempt on the root: with objectivesGlobalToSystem false the global
        objectives belong to one experience of the package and start unknown again.

        LMS choice: the CAM defines the scope ("one experience of the content package")
        without naming the moment; Hocvu takes a new attempt on the root (start after an
        ended or abandoned one, retry of the root), as the public Golf samples expect. With
        the default (true) the globals are kept in this registration's state; sharing them
        with the learner's other packages is the LMS's part."""
        if not self.tree.objectives_global_to_system:
            self.state["globals"] = {t: _blank_objective() for t in self.tree.global_targets()}

    def _forget(self, activity: Activity, objective: bool, progress: bool) -> None:
        record = self.t(activity)
        if progress:
            record["completed"] = None
            record["amount"] = None
        if objective:
            for values in record["objectives"].values():
                for field in ("satisfied", "measure"):
                    values[field] = None
        for child in activity.children:
            self._forget(child, objective, progress)
