"""Conditions and the checks built on them (SN book Appendix C): Sequencing Rules Check
(UP.2), Sequencing Rule Check (UP.2.1), Limit Conditions Check (UP.1), Check Activity (UP.5),
and the condition evaluation the rollup rules share (RB.1.4.1).

Evaluation is three-valued (SN book 3.4.2, Table 3.4.2a): a condition on a status that is not
known is *unknown* (None), `not unknown` stays unknown, "all" is true only when every condition
is true and "any" when one is; a rule fires only when its conditions evaluate to true."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from scorm.sequencing.tracking import Tracking
from scorm.sequencing.tree import Activity, Condition, RuleDef

__all__ = [
    "check_activity",
    "combine",
    "evaluate_condition",
    "limit_conditions_check",
    "sequencing_rule_check",
    "sequencing_rules_check",
]

Truth = bool | None


def _time(value: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _outside_time_range(m: Tracking, activity: Activity) -> bool:
    now = m.now or datetime.now(UTC)
    begin = activity.limits.get("begin_time")
    end = activity.limits.get("end_time")
    begin_at = _time(begin) if begin else None
    end_at = _time(end) if end else None
    return bool((begin_at and now < begin_at) or (end_at and now > end_at))


def _attempt_limit(activity: Activity) -> int | None:
    # An attemptLimit of 0 sets no limit (the IMS SS binding's "no limit" value).
    limit = activity.limits.get("attempt_limit")
    return int(limit) if limit else None


def _time_limit_exceeded(m: Tracking, activity: Activity) -> bool:
    record = m.t(activity)
    # Hocvu measures an attempt by the session times the content reports, so the absolute
    # and experienced durations are the same number here (LMS choice, SN 4.2.1.2).
    for key, spent in (
        ("attempt_absolute_duration", record["duration"]),
        ("attempt_experienced_duration", record["duration"]),
        ("activity_absolute_duration", record["total"]),
        ("activity_experienced_duration", record["total"]),
    ):
        limit = activity.limits.get(key)
        if limit is not None and spent >= limit:
            return True
    return False


def evaluate_condition(m: Tracking, activity: Activity, condition: Condition) -> Truth:
    """One condition of a sequencing or rollup rule on an activity, three-valued, operator
    applied (UP.2.1 step 2, RB.1.4.1 step 2). A referencedObjective the activity does not
    have makes an objective condition unknown."""
    name = condition.condition
    objective = activity.objective(condition.objective)
    value: Truth
    if name == "always":
        value = True
    elif name == "attempted":
        value = m.attempts(activity) > 0
    elif name == "attemptLimitExceeded":
        limit = _attempt_limit(activity)
        value = limit is not None and m.attempts(activity) >= limit
    elif name == "timeLimitExceeded":
        value = _time_limit_exceeded(m, activity)
    elif name == "outsideAvailableTimeRange":
        value = _outside_time_range(m, activity)
    elif objective is None:
        value = None
    elif name == "satisfied":
        value = m.satisfied(activity, objective)
    elif name == "objectiveStatusKnown":
        value = m.satisfied(activity, objective) is not None
    elif name == "objectiveMeasureKnown":
        value = m.measure(activity, objective) is not None
    elif name in ("objectiveMeasureGreaterThan", "objectiveMeasureLessThan"):
        measure = m.measure(activity, objective)
        if measure is None:
            value = None
        elif name == "objectiveMeasureGreaterThan":
            value = measure > condition.threshold
        else:
            value = measure < condition.threshold
    elif name == "completed":
        value = m.completed(activity, objective)
    elif name == "activityProgressKnown":
        value = m.completed(activity, objective) is not None
    else:
        value = None  # a condition name this engine does not know is never true
    if condition.negated and value is not None:
        value = not value
    return value


def combine(values: Iterable[Truth], combination: str) -> Truth:
    """Combine condition values with "all" (and) or "any" (or), three-valued."""
    values = list(values)
    if combination == "any":
        if any(v is True for v in values):
            return True
        return None if any(v is None for v in values) else False
    if any(v is False for v in values):
        return False
    return None if any(v is None for v in values) else True


def sequencing_rule_check(m: Tracking, activity: Activity, rule: RuleDef) -> Truth:
    """UP.2.1 Sequencing Rule Check Subprocess: the value of one rule's conditions."""
    if not rule.conditions:
        return None
    return combine((evaluate_condition(m, activity, c) for c in rule.conditions), rule.combination)


def sequencing_rules_check(
    m: Tracking, activity: Activity, kind: str, actions: Iterable[str]
) -> str | None:
    """UP.2 Sequencing Rules Check Process: the action of the first rule of `kind` ("pre",
    "exit", "post") among `actions` whose conditions are true, or None."""
    wanted = set(actions)
    rules = {"pre": activity.pre_rules, "exit": activity.exit_rules, "post": activity.post_rules}
    for rule in rules[kind]:
        if rule.action in wanted and sequencing_rule_check(m, activity, rule) is True:
            return rule.action
    return None


def limit_conditions_check(m: Tracking, activity: Activity) -> bool:
    """UP.1 Limit Conditions Check Process: True when a limit is violated. Limits apply only
    to a tracked activity that is neither active nor suspended. Besides the attempt limit
    (required) Hocvu evaluates the duration limits and the begin/end time limits the book
    lets an LMS evaluate (SN 3.4.1)."""
    if not activity.tracked or m.active(activity) or m.suspended(activity):
        return False
    limit = _attempt_limit(activity)
    if limit is not None and m.attempts(activity) > 0 and m.attempts(activity) >= limit:
        return True
    return _time_limit_exceeded(m, activity) or _outside_time_range(m, activity)


def check_activity(m: Tracking, activity: Activity) -> bool:
    """UP.5 Check Activity Process: True when the activity may not be delivered (a disabled
    pre-condition rule fires or a limit condition is violated)."""
    if sequencing_rules_check(m, activity, "pre", ("disabled",)) is not None:
        return True
    return limit_conditions_check(m, activity)
