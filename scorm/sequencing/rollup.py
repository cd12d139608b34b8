"""Rollup (SN book 4.6, Appendix C RB.1.x): from the children's tracking to a cluster's
measure, completion amount, satisfaction and completion, up the tree from an activity.

Only a cluster's values are rolled up; a leaf's come from its content (`report`) and from
End Attempt (UP.4). Only available, tracked children take part.

Where ADL's sample RTE (SeqRollupRuleset) differs from the book, the book is followed: ADL
sets a measure of 0 when weighted children have no measure (the book: unknown), and ignores
a "not satisfied" result for an activity whose SCO left its status unknown (the book has no
such exception)."""

from __future__ import annotations

from scorm.sequencing.rules import combine, evaluate_condition, sequencing_rules_check
from scorm.sequencing.tracking import Tracking
from scorm.sequencing.tree import Activity, Condition, RollupRuleDef

__all__ = [
    "activity_progress_rollup",
    "activity_progress_rollup_using_measure",
    "activity_progress_rollup_using_rules",
    "evaluate_rollup_conditions",
    "objective_rollup_using_default",
    "objective_rollup_using_measure",
    "objective_rollup_using_rules",
    "check_child_for_rollup",
    "completion_measure_rollup",
    "measure_rollup",
    "objective_rollup",
    "overall_rollup",
    "rollup_rule_check",
]

# IMS SS default rollup rules (SN 4.6.5), used when the activity defines no rule of the pair
# (satisfied / notSatisfied, completed / incomplete), as ADL's sample RTE does too.
_DEFAULTS = {
    "satisfied": RollupRuleDef("satisfied", (Condition("satisfied"),)),
    "notSatisfied": RollupRuleDef("notSatisfied", (Condition("objectiveStatusKnown"),)),
    "completed": RollupRuleDef("completed", (Condition("completed"),)),
    "incomplete": RollupRuleDef("incomplete", (Condition("activityProgressKnown"),)),
}


def _tracked_children(m: Tracking, activity: Activity) -> list[Activity]:
    return [c for c in m.children(activity) if c.tracked]


def measure_rollup(m: Tracking, activity: Activity) -> None:
    """RB.1.1 Measure Rollup Process: the weighted average of the children's primary
    measures (objectiveMeasureWeight); unknown when no child has a measure."""
    total, counted, valid = 0.0, 0.0, False
    for child in _tracked_children(m, activity):
        counted += child.measure_weight
        measure = m.measure(child)
        if measure is not None:
            total += measure * child.measure_weight
            valid = True
    value = total / counted if valid and counted > 0 else None
    m.write(activity, activity.primary, "measure", value)


def completion_measure_rollup(m: Tracking, activity: Activity) -> None:
    """RB.1.1.b Completion Measure Rollup Process (4th Edition): the children's attempt
    completion amounts averaged with their progressWeight."""
    total, counted, valid = 0.0, 0.0, False
    for child in _tracked_children(m, activity):
        counted += child.progress_weight
        amount = m.progress(child)
        if amount is not None:
            total += amount * child.progress_weight
            valid = True
    value = total / counted if valid and counted > 0 else None
    m.write(activity, activity.primary, "progress", value)


def check_child_for_rollup(m: Tracking, child: Activity, action: str) -> bool:
    """RB.1.4.2 Check Child for Rollup Subprocess: whether a child takes part in evaluating
    `action`, from its rollup controls and adlseq:rollupConsiderations."""
    if action in ("satisfied", "notSatisfied"):
        if not child.rollup_satisfied:
            return False
        consideration = child.considerations[
            "satisfied" if action == "satisfied" else "not_satisfied"
        ]
    else:
        if not child.rollup_completion:
            return False
        consideration = child.considerations["completed" if action == "completed" else "incomplete"]
    attempts = m.attempts(child)
    if consideration == "ifNotSuspended":
        return not (attempts == 0 or (attempts > 0 and m.suspended(child)))
    if consideration == "ifAttempted":
        return attempts > 0
    if consideration == "ifNotSkipped":
        return sequencing_rules_check(m, child, "pre", ("skip",)) is None
    return True


def evaluate_rollup_conditions(m: Tracking, child: Activity, rule: RollupRuleDef) -> bool | None:
    """RB.1.4.1 Evaluate Rollup Conditions Subprocess, on one child (three-valued)."""
    return combine((evaluate_condition(m, child, c) for c in rule.conditions), rule.combination)


def _rule_applies(m: Tracking, activity: Activity, rule: RollupRuleDef) -> bool:
    bag: list[bool | None] = []
    for child in _tracked_children(m, activity):
        if check_child_for_rollup(m, child, rule.action):
            bag.append(evaluate_rollup_conditions(m, child, rule))
    if not bag:
        return False  # no child to consider: the rule does not change the status
    trues = sum(1 for v in bag if v is True)
    if rule.child_activity_set == "all":
        return trues == len(bag)
    if rule.child_activity_set == "any":
        return trues > 0
    if rule.child_activity_set == "none":
        return all(v is False for v in bag)
    if rule.child_activity_set == "atLeastCount":
        return trues >= rule.minimum_count
    if rule.child_activity_set == "atLeastPercent":
        return trues / len(bag) >= rule.minimum_percent
    return False


def rollup_rule_check(
    m: Tracking, activity: Activity, action: str, rules: tuple[RollupRuleDef, ...] | None = None
) -> bool:
    """RB.1.4 Rollup Rule Check Subprocess: whether one of the rules (by default the
    activity's) with `action` applies to its children."""
    candidates = activity.rollup_rules if rules is None else rules
    return any(_rule_applies(m, activity, r) for r in candidates if r.action == action)


def _set_by_rules(
    m: Tracking, activity: Activity, field: str, no: str, yes: str, rules: tuple[RollupRuleDef, ...]
) -> None:
    # "Not" first, so that when both apply the positive status wins; when neither does, the
    # status stays as it was (the book sets it only when a rule applies).
    if rollup_rule_check(m, activity, no, rules):
        m.write(activity, activity.primary, field, False)
    if rollup_rule_check(m, activity, yes, rules):
        m.write(activity, activity.primary, field, True)


def objective_rollup_using_measure(m: Tracking, activity: Activity) -> None:
    """RB.1.2.a Objective Rollup Using Measure Subprocess: satisfied when the measure reaches
    minNormalizedMeasure; unknown without a measure, or while the activity is active when
    adlseq:measureSatisfactionIfActive is false."""
    primary = activity.primary
    measure = m.measure(activity)
    value = None if measure is None else measure >= primary.min_measure
    if m.active(activity) and not activity.measure_satisfaction_if_active:
        value = None
    m.write(activity, primary, "satisfied", value)


def objective_rollup_using_rules(m: Tracking, activity: Activity) -> None:
    """RB.1.2.b Objective Rollup Using Rules Subprocess: the activity's notSatisfied and
    satisfied rollup rules."""
    _set_by_rules(m, activity, "satisfied", "notSatisfied", "satisfied", activity.rollup_rules)


def objective_rollup_using_default(m: Tracking, activity: Activity) -> None:
    """RB.1.2.c Objective Rollup Using Default Subprocess: not satisfied when every child's
    status is known, satisfied when every child is satisfied (SN 4.6.5)."""
    rules = (_DEFAULTS["notSatisfied"], _DEFAULTS["satisfied"])
    _set_by_rules(m, activity, "satisfied", "notSatisfied", "satisfied", rules)


def objective_rollup(m: Tracking, activity: Activity) -> None:
    """RB.1.2 Objective Rollup Process: by measure when the primary objective is satisfied
    by measure, else by the activity's satisfaction rules, else by the default rules."""
    if activity.primary.satisfied_by_measure:
        objective_rollup_using_measure(m, activity)
    elif any(r.action in ("satisfied", "notSatisfied") for r in activity.rollup_rules):
        objective_rollup_using_rules(m, activity)
    else:
        objective_rollup_using_default(m, activity)


def activity_progress_rollup_using_measure(m: Tracking, activity: Activity) -> None:
    """RB.1.3.a Activity Progress Rollup Using Measure Subprocess (completedByMeasure):
    completed when the completion amount reaches minProgressMeasure, unknown without one."""
    amount = m.progress(activity)
    value = None if amount is None else amount >= activity.min_progress_measure
    m.write(activity, activity.primary, "completed", value)


def activity_progress_rollup_using_rules(m: Tracking, activity: Activity) -> None:
    """RB.1.3.b Activity Progress Rollup Using Rules Subprocess: the activity's incomplete
    and completed rollup rules, or the default ones (incomplete when every child's progress
    is known, completed when every child is completed) when it defines none."""
    rules = activity.rollup_rules
    if not any(r.action in ("completed", "incomplete") for r in rules):
        rules = (_DEFAULTS["incomplete"], _DEFAULTS["completed"])
    _set_by_rules(m, activity, "completed", "incomplete", "completed", rules)


def activity_progress_rollup(m: Tracking, activity: Activity) -> None:
    """RB.1.3 Activity Progress Rollup Process: by measure (completedByMeasure) or by
    rules."""
    if activity.completed_by_measure:
        activity_progress_rollup_using_measure(m, activity)
    else:
        activity_progress_rollup_using_rules(m, activity)


def overall_rollup(m: Tracking, activity: Activity) -> None:
    """RB.1.5 Overall Rollup Process: every cluster from `activity` up to the root, in turn:
    measure, completion measure, objective and activity progress rollup."""
    for node in [activity, *activity.ancestors()]:
        if node.is_leaf:
            continue
        measure_rollup(m, node)
        completion_measure_rollup(m, node)
        objective_rollup(m, node)
        activity_progress_rollup(m, node)
