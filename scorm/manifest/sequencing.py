"""Sequencing definitions (IMS Simple Sequencing as profiled by SCORM 2004 SN): control modes,
rules, limit conditions, objectives and rollup, as the manifest declares them for an item."""

from __future__ import annotations

from dataclasses import dataclass

TIME_LIMIT_ACTIONS = ("exit,message", "exit,no message", "continue,message", "continue,no message")
RULE_CONDITIONS = (
    "satisfied",
    "objectiveStatusKnown",
    "objectiveMeasureKnown",
    "objectiveMeasureGreaterThan",
    "objectiveMeasureLessThan",
    "completed",
    "activityProgressKnown",
    "attempted",
    "attemptLimitExceeded",
    "timeLimitExceeded",
    "outsideAvailableTimeRange",
    "always",
)
ROLLUP_CONDITIONS = tuple(
    c
    for c in RULE_CONDITIONS
    if c not in ("always", "objectiveMeasureGreaterThan", "objectiveMeasureLessThan")
)
RULE_ACTIONS = {
    "pre": ("skip", "disabled", "hiddenFromChoice", "stopForwardTraversal"),
    "exit": ("exit",),
    "post": ("exitParent", "exitAll", "retry", "retryAll", "continue", "previous"),
}
ROLLUP_ACTIONS = ("satisfied", "notSatisfied", "completed", "incomplete")
CHILD_ACTIVITY_SETS = ("all", "any", "none", "atLeastCount", "atLeastPercent")
ROLLUP_CONSIDERATIONS = ("always", "ifAttempted", "ifNotSkipped", "ifNotSuspended")
TIMINGS = ("never", "once", "onEachNewAttempt")
# adlseq:mapInfo attribute -> ObjectiveMap field (4th Edition extension of imsss:mapInfo).
ADLSEQ_MAP_FIELDS = {
    "readCompletionStatus": "read_completion_status",
    "writeCompletionStatus": "write_completion_status",
    "readProgressMeasure": "read_progress_measure",
    "writeProgressMeasure": "write_progress_measure",
    "readRawScore": "read_raw_score",
    "writeRawScore": "write_raw_score",
    "readMinScore": "read_min_score",
    "writeMinScore": "write_min_score",
    "readMaxScore": "read_max_score",
    "writeMaxScore": "write_max_score",
}


@dataclass(frozen=True)
class ControlMode:
    """imsss:controlMode: which navigation requests the learner may make inside a cluster."""

    choice: bool = True
    choice_exit: bool = True
    flow: bool = False
    forward_only: bool = False
    use_current_attempt_objective_info: bool = True
    use_current_attempt_progress_info: bool = True


@dataclass(frozen=True)
class RuleCondition:
    """One imsss:ruleCondition (or rollupCondition); `negated` is operator="not"."""

    condition: str
    negated: bool = False
    referenced_objective: str | None = None
    measure_threshold: float | None = None


@dataclass(frozen=True)
class SequencingRule:
    """A pre-, exit- or post-condition rule: if the conditions hold, do `action`."""

    kind: str  # "pre", "exit" or "post"
    conditions: tuple[RuleCondition, ...]
    combination: str = "all"  # "all" or "any"
    action: str = ""
    line: int | None = None


@dataclass(frozen=True)
class LimitConditions:
    """imsss:limitConditions: the attempt limit, and the duration and time limits an LMS may
    evaluate (SN book 3.4.1; ISO 8601 durations such as "PT1H", date-times as written)."""

    attempt_limit: int | None = None
    attempt_absolute_duration_limit: str | None = None
    attempt_experienced_duration_limit: str | None = None
    activity_absolute_duration_limit: str | None = None
    activity_experienced_duration_limit: str | None = None
    begin_time_limit: str | None = None
    end_time_limit: str | None = None


@dataclass(frozen=True)
class ObjectiveMap:
    """imsss:mapInfo: how a local objective reads and writes a global (shared) objective."""

    target_objective_id: str
    read_satisfied_status: bool = True
    read_normalized_measure: bool = True
    write_satisfied_status: bool = False
    write_normalized_measure: bool = False
    # adlseq:objectives/adlseq:objective/adlseq:mapInfo (4th Edition), merged in by target id.
    read_completion_status: bool = False
    write_completion_status: bool = False
    read_progress_measure: bool = False
    write_progress_measure: bool = False
    read_raw_score: bool = False
    write_raw_score: bool = False
    read_min_score: bool = False
    write_min_score: bool = False
    read_max_score: bool = False
    write_max_score: bool = False


@dataclass(frozen=True)
class Objective:
    """imsss:primaryObjective or imsss:objective of an activity."""

    identifier: str | None
    primary: bool = False
    satisfied_by_measure: bool = False
    min_normalized_measure: float = 1.0
    maps: tuple[ObjectiveMap, ...] = ()
    line: int | None = None


@dataclass(frozen=True)
class RollupRule:
    """imsss:rollupRule: when the children in `child_activity_set` meet the conditions."""

    action: str
    conditions: tuple[RuleCondition, ...]
    combination: str = "any"
    child_activity_set: str = "all"
    minimum_count: int = 0
    minimum_percent: float = 0.0


@dataclass(frozen=True)
class RollupRules:
    """imsss:rollupRules: whether and how this activity counts in its parent's rollup."""

    rollup_objective_satisfied: bool = True
    rollup_progress_completion: bool = True
    objective_measure_weight: float = 1.0
    rules: tuple[RollupRule, ...] = ()


@dataclass(frozen=True)
class DeliveryControls:
    """imsss:deliveryControls."""

    tracked: bool = True
    completion_set_by_content: bool = False
    objective_set_by_content: bool = False


@dataclass(frozen=True)
class RollupConsiderations:
    """adlseq:rollupConsiderations: when a child is required for each rollup result."""

    required_for_satisfied: str = "always"
    required_for_not_satisfied: str = "always"
    required_for_completed: str = "always"
    required_for_incomplete: str = "always"
    measure_satisfaction_if_active: bool = True


@dataclass(frozen=True)
class ConstrainedChoice:
    """adlseq:constrainedChoiceConsiderations."""

    choose_only_next_or_previous: bool = False  # constrainChoice
    prevent_activation: bool = False


@dataclass(frozen=True)
class Randomization:
    """imsss:randomizationControls: which children an attempt offers, and in what order."""

    randomization_timing: str = "never"  # never, once, onEachNewAttempt
    select_count: int | None = None
    reorder_children: bool = False
    selection_timing: str = "never"


@dataclass(frozen=True)
class Sequencing:
    """The sequencing of one activity (item or organization); the defaults are IMS SS's."""

    control_mode: ControlMode = ControlMode()
    pre_condition_rules: tuple[SequencingRule, ...] = ()
    exit_condition_rules: tuple[SequencingRule, ...] = ()
    post_condition_rules: tuple[SequencingRule, ...] = ()
    limit_conditions: LimitConditions = LimitConditions()
    objectives: tuple[Objective, ...] = ()  # the primary objective first, when there is one
    rollup_rules: RollupRules = RollupRules()
    delivery_controls: DeliveryControls = DeliveryControls()
    rollup_considerations: RollupConsiderations = RollupConsiderations()
    constrained_choice: ConstrainedChoice = ConstrainedChoice()
    randomization: Randomization = Randomization()
    idref: str | None = None  # the imsss:sequencingCollection entry it was combined with

    @property
    def primary_objective(self) -> Objective | None:
        """The primary objective, if the manifest declares one."""
        return next((o for o in self.objectives if o.primary), None)
