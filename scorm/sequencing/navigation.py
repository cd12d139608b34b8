"""Navigation through a package's activity tree: what the table of contents offers, where
"previous" and "next" lead, and what is skipped, from the sequencing rules Hocvu supports.

Supported (SCORM 2004 IMS Simple Sequencing, the subset that single-learner content packages
use): control modes choice, flow and forwardOnly of each cluster; pre-condition rules with
the actions skip, disabled and hiddenFromChoice; post-condition rules exitParent / exitAll
and retry / retryAll at the end of a cluster (remediation loops); attempt limits; primary
objectives shared through global objective maps (read and write satisfied status); rollup of
satisfaction to a cluster from the children that contribute to it. SCORM 1.2 packages and
2004 packages without sequencing get free choice and flow in tree order.

The tree is the plain description made by `describe()` (stored as JSON by the LMS), and the
learner's statuses come in as plain values, so this module is pure.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from scorm.manifest import Item, Manifest, Organization, Sequencing
from scorm.sequencing.definition import condition_dict, node_extras, sequencing_extras

__all__ = ["Navigator", "ScoStatus", "describe"]


def _rules(rules) -> list[dict[str, Any]]:
    return [
        {
            "action": rule.action,
            "combination": rule.combination,
            "conditions": [condition_dict(c) for c in rule.conditions],
        }
        for rule in rules
    ]


def _sequencing(seq: Sequencing | None) -> dict[str, Any]:
    if seq is None:
        return {}
    primary = seq.primary_objective
    objective: dict[str, Any] = {}
    if primary is not None:
        for mapping in primary.maps:
            if mapping.read_satisfied_status:
                objective["read"] = mapping.target_objective_id
            if mapping.write_satisfied_status:
                objective["write"] = mapping.target_objective_id
    return {
        "choice": seq.control_mode.choice,
        "flow": seq.control_mode.flow,
        "forward_only": seq.control_mode.forward_only,
        "pre": _rules(seq.pre_condition_rules),
        "post": _rules(seq.post_condition_rules),
        "exit": _rules(seq.exit_condition_rules),
        "attempt_limit": seq.limit_conditions.attempt_limit,
        "objective": objective,
        "rollup_satisfied": seq.rollup_rules.rollup_objective_satisfied,
        # The full definition the sequencing engine (scorm.sequencing.sequencer) reads.
        **sequencing_extras(seq),
    }


def _split_launch(launch: str) -> tuple[str, str]:
    """'a/b.html?x=1#p' -> ('a/b.html', '?x=1#p')."""
    cut = min((i for i in (launch.find("?"), launch.find("#")) if i >= 0), default=len(launch))
    return launch[:cut], launch[cut:]


def _threshold(item: Item, manifest: Manifest) -> float | None:
    threshold = item.completion_threshold
    if threshold is None:
        return None
    if threshold.completed_by_measure or (manifest.edition or 4) < 4:
        return threshold.min_progress_measure
    return None


def describe(manifest: Manifest, organization: Organization | None = None) -> dict[str, Any]:
    """The plain (JSON) description of a package the LMS stores: its SCOs in tree order
    with what each is launched with, and the activity tree with its sequencing."""
    if organization is None:
        organization = next(
            (o for o in manifest.organizations if o.identifier == manifest.default_organization),
            manifest.organizations[0],
        )
    scos: list[dict[str, Any]] = []

    def node(item: Item) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "identifier": item.identifier,
            "title": item.title or item.identifier,
            "visible": item.is_visible,
            "sco": bool(item.launch) and not item.children,
            "seq": _sequencing(item.sequencing),
            "children": [node(child) for child in item.children],
            **node_extras(item, manifest.edition),
        }
        if entry["sco"]:
            href, parameters = _split_launch(item.launch or "")
            scos.append(
                {
                    "identifier": item.identifier,
                    "title": entry["title"],
                    "href": href,
                    "parameters": parameters,
                    "mastery_score": item.mastery_score,
                    "max_time_allowed": item.max_time_allowed,
                    "time_limit_action": item.time_limit_action,
                    "launch_data": item.data_from_lms,
                    "completion_threshold": _threshold(item, manifest),
                    "scaled_passing_score": item.scaled_passing_score,
                    # An asset has no API: launching it is all there is to do.
                    "asset": not item.sco,
                    # 2004: the objectives the LMS puts in cmi.objectives before launch.
                    "objectives": [o.identifier for o in item.objectives if o.identifier],
                }
            )
        return entry

    tree = {
        "identifier": organization.identifier,
        "title": organization.title,
        "visible": True,
        "sco": False,
        "seq": _sequencing(organization.sequencing),
        "children": [node(item) for item in organization.items],
        **node_extras(None, manifest.edition),
        "objectives_global_to_system": organization.objectives_global_to_system,
    }
    return {
        "standard": manifest.version,
        "edition": manifest.edition,
        "title": organization.title or manifest.title,
        "scos": scos,
        "tree": tree,
    }


@dataclass(frozen=True)
class ScoStatus:
    """What the LMS knows of one SCO for one learner."""

    completion: str = "not attempted"  # completed, incomplete, not attempted, unknown
    success: str = "unknown"  # passed, failed, unknown
    attempts: int = 0
    done: bool = False  # satisfied by the activity's completion rule


def _walk(node: Mapping[str, Any], parent: Mapping[str, Any] | None, out: list) -> None:
    out.append((node, parent))
    for child in node.get("children", ()):
        _walk(child, node, out)


class Navigator:
    """Decisions for one learner in one package, from the description and their statuses."""

    def __init__(self, manifest: Mapping[str, Any], statuses: Mapping[str, ScoStatus]) -> None:
        self.root = manifest["tree"]
        self.statuses = statuses
        pairs: list = []
        _walk(self.root, None, pairs)
        self.parent = {n["identifier"]: p for n, p in pairs}
        self.nodes = {n["identifier"]: n for n, _ in pairs}
        self.leaves = [n for n, _ in pairs if n.get("sco")]
        self.order = [n["identifier"] for n in self.leaves]
        self.globals = self._global_objectives()

    # --- objectives and conditions ----------------------------------------------------------

    def _status(self, identifier: str) -> ScoStatus:
        return self.statuses.get(identifier, ScoStatus())

    def _global_objectives(self) -> dict[str, bool]:
        """Global objective id -> satisfied, written by the SCOs that write them."""
        values: dict[str, bool] = {}
        for leaf in self.leaves:
            objective = leaf.get("seq", {}).get("objective") or {}
            target = objective.get("write")
            status = self._status(leaf["identifier"])
            if target and status.success in ("passed", "failed"):
                values[target] = values.get(target, False) or status.success == "passed"
        return values

    def satisfied(self, identifier: str) -> bool | None:
        """Whether an activity's primary objective is satisfied (None when unknown)."""
        node = self.nodes[identifier]
        if not node.get("sco"):
            known = [self.satisfied(c["identifier"]) for c in self._contributors(node)]
            if not known:
                return None
            if all(k is True for k in known):
                return True
            return False if any(k is False for k in known) else None
        objective = node.get("seq", {}).get("objective") or {}
        target = objective.get("read")
        if target and target in self.globals:
            return self.globals[target]
        status = self._status(identifier)
        if status.success == "passed":
            return True
        if status.success == "failed":
            return False
        if status.done and not target:
            return True
        return None

    def _contributors(self, node: Mapping[str, Any]) -> list[Mapping[str, Any]]:
        return [
            c for c in node.get("children", ()) if c.get("seq", {}).get("rollup_satisfied", True)
        ]

    def _completed(self, identifier: str) -> bool:
        node = self.nodes[identifier]
        if not node.get("sco"):
            return all(self._completed(c["identifier"]) for c in node.get("children", ()))
        status = self._status(identifier)
        return status.completion == "completed" or status.done

    def _condition(self, identifier: str, condition: Mapping[str, Any]) -> bool:
        name = condition["condition"]
        if name == "always":
            value = True
        elif name == "satisfied":
            value = self.satisfied(identifier) is True
        elif name == "objectiveStatusKnown":
            value = self.satisfied(identifier) is not None
        elif name == "completed":
            value = self._completed(identifier)
        elif name == "activityProgressKnown":
            value = self._status(identifier).completion in ("completed", "incomplete")
        elif name == "attempted":
            value = self._status(identifier).attempts > 0 or any(
                self._status(leaf).attempts > 0 for leaf in self._leaf_ids(identifier)
            )
        elif name == "attemptLimitExceeded":
            limit = self.nodes[identifier].get("seq", {}).get("attempt_limit")
            value = bool(limit) and self._status(identifier).attempts >= limit
        else:
            value = False  # conditions Hocvu does not evaluate never fire
        return not value if condition.get("negated") else value

    def _rule_fires(self, identifier: str, rule: Mapping[str, Any]) -> bool:
        results = [self._condition(identifier, c) for c in rule.get("conditions", ())]
        if not results:
            return False
        return any(results) if rule.get("combination") == "any" else all(results)

    def _actions(self, identifier: str, kind: str) -> set[str]:
        rules = self.nodes[identifier].get("seq", {}).get(kind, ())
        return {r["action"] for r in rules if self._rule_fires(identifier, r)}

    def _leaf_ids(self, identifier: str) -> list[str]:
        node = self.nodes[identifier]
        if node.get("sco"):
            return [identifier]
        return [i for c in node.get("children", ()) for i in self._leaf_ids(c["identifier"])]

    def _ancestors(self, identifier: str) -> list[Mapping[str, Any]]:
        chain = []
        parent = self.parent.get(identifier)
        while parent is not None:
            chain.append(parent)
            parent = self.parent.get(parent["identifier"])
        return chain

    def _control(self, identifier: str, name: str, default: bool) -> bool:
        parent = self.parent.get(identifier)
        if parent is None:
            return default
        return parent.get("seq", {}).get(name, default)

    # --- what the learner may do ------------------------------------------------------------

    def skipped(self, identifier: str) -> bool:
        """Flow passes over this activity (a skip rule of it or of a cluster above fires)."""
        if "skip" in self._actions(identifier, "pre"):
            return True
        return any(
            "skip" in self._actions(a["identifier"], "pre") for a in self._ancestors(identifier)
        )

    def disabled(self, identifier: str) -> bool:
        """The activity cannot be delivered (a disabled rule, or its attempt limit reached)."""
        limit = self.nodes[identifier].get("seq", {}).get("attempt_limit")
        if limit and self._status(identifier).attempts >= limit:
            return True
        if "disabled" in self._actions(identifier, "pre"):
            return True
        return any(
            "disabled" in self._actions(a["identifier"], "pre") for a in self._ancestors(identifier)
        )

    def hidden(self, identifier: str) -> bool:
        """Not offered in the table of contents."""
        node = self.nodes[identifier]
        return not node.get("visible", True) or "hiddenFromChoice" in self._actions(
            identifier, "pre"
        )

    def may_choose(self, identifier: str) -> bool:
        """Whether the table of contents may launch this SCO directly."""
        if identifier not in self.nodes or not self.nodes[identifier].get("sco"):
            return False
        if self.disabled(identifier) or self.hidden(identifier):
            return False
        return all(a.get("seq", {}).get("choice", True) for a in self._ancestors(identifier))

    def may_deliver(self, identifier: str) -> bool:
        """Whether the SCO may be launched at all (by choice or by flow)."""
        return (
            identifier in self.nodes
            and bool(self.nodes[identifier].get("sco"))
            and not self.disabled(identifier)
        )

    def _flow(self, identifier: str) -> bool:
        return all(a.get("seq", {}).get("flow", True) for a in self._ancestors(identifier))

    def _deliverable_in_flow(self, identifier: str) -> bool:
        return not self.skipped(identifier) and not self.disabled(identifier)

    def start(self) -> str | None:
        """The SCO a launch without a choice opens: the first one flow reaches."""
        if not self.order:
            return None
        for identifier in self.order:
            if self._deliverable_in_flow(identifier) and not self._status(identifier).done:
                return identifier
        for identifier in self.order:
            if self._deliverable_in_flow(identifier):
                return identifier
        return next((i for i in self.order if not self.disabled(i)), None)

    def next(self, current: str | None) -> dict[str, Any] | None:
        """Where "next" leads from `current` (None at the end)."""
        if current not in self.order or not self._flow(current):
            return None
        index = self.order.index(current)
        post = self._actions(current, "post")
        if "exitAll" in post:
            return None
        for identifier in self.order[index + 1 :]:
            if self._deliverable_in_flow(identifier):
                return self.nodes[identifier]
        # The end of the tree: a cluster's retry rule starts its remediation loop again.
        for cluster in self._ancestors(current):
            actions = self._actions(cluster["identifier"], "post")
            if actions & {"retry", "retryAll"}:
                for identifier in self._leaf_ids(cluster["identifier"]):
                    if self._deliverable_in_flow(identifier) and identifier != current:
                        return self.nodes[identifier]
        return None

    def previous(self, current: str | None) -> dict[str, Any] | None:
        """Where "previous" leads from `current` (None at the start or when forward only)."""
        if current not in self.order or not self._flow(current):
            return None
        if any(a.get("seq", {}).get("forward_only") for a in self._ancestors(current)):
            return None
        index = self.order.index(current)
        for identifier in reversed(self.order[:index]):
            if self._deliverable_in_flow(identifier):
                return self.nodes[identifier]
        return None

    def toc(self, current: str | None) -> list[dict[str, Any]]:
        """The visible tree with a status per item, for the table of contents."""

        def entry(node: Mapping[str, Any]) -> list[dict[str, Any]]:
            children = [e for c in node.get("children", ()) for e in entry(c)]
            if not node.get("visible", True):
                return children  # an invisible cluster shows its children in its place
            identifier = node["identifier"]
            if node.get("sco"):
                status = self._status(identifier)
                label = (
                    "done"
                    if status.done
                    else (
                        "started"
                        if status.attempts or status.completion != "not attempted"
                        else "not_started"
                    )
                )
                if self.hidden(identifier):
                    return []
            else:
                label = "cluster"
            return [
                {
                    "identifier": identifier,
                    "title": node.get("title", identifier),
                    "sco": bool(node.get("sco")),
                    "status": label,
                    "current": identifier == current,
                    "enabled": self.may_choose(identifier) if node.get("sco") else False,
                    "children": children,
                }
            ]

        return [e for c in self.root.get("children", ()) for e in entry(c)]
