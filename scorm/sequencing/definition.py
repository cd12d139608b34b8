"""The sequencing definition of one activity as plain JSON, for `describe()`'s tree: every
part of an imsss:sequencing (with the adlseq and adlnav extensions) the engine needs, so the
LMS can rebuild the activity tree from the stored description without the manifest.

Durations are kept as seconds, so the engine needs no ISO 8601 parser at run time."""

from __future__ import annotations

import re
from typing import Any

from scorm.manifest import Item, Sequencing
from scorm.manifest.sequencing import RuleCondition

__all__ = ["condition_dict", "duration_seconds", "node_extras", "sequencing_extras"]

_DURATION = re.compile(
    r"^P(?:(?P<y>\d+(?:\.\d+)?)Y)?(?:(?P<mo>\d+(?:\.\d+)?)M)?(?:(?P<d>\d+(?:\.\d+)?)D)?"
    r"(?:T(?:(?P<h>\d+(?:\.\d+)?)H)?(?:(?P<mi>\d+(?:\.\d+)?)M)?(?:(?P<s>\d+(?:\.\d+)?)S)?)?$"
)
# Years and months have no fixed length; the engine counts them as 365 and 30 days.
_UNITS = {"y": 31_536_000, "mo": 2_592_000, "d": 86_400, "h": 3_600, "mi": 60, "s": 1}


def duration_seconds(value: str | None) -> float | None:
    """An ISO 8601 duration ("PT1H30M") in seconds; None when absent or not a duration."""
    if not value:
        return None
    match = _DURATION.match(value.strip())
    if match is None or value.strip() in ("P", "PT"):
        return None
    return sum(float(v) * _UNITS[k] for k, v in match.groupdict().items() if v)


def condition_dict(condition: RuleCondition) -> dict[str, Any]:
    """One rule or rollup condition."""
    return {
        "condition": condition.condition,
        "negated": condition.negated,
        "referenced_objective": condition.referenced_objective,
        "measure_threshold": condition.measure_threshold,
    }


def sequencing_extras(seq: Sequencing) -> dict[str, Any]:
    """The keys the engine reads besides the ones `describe()` has always emitted."""
    mode, limits = seq.control_mode, seq.limit_conditions
    return {
        "choice_exit": mode.choice_exit,
        "use_current_attempt_objective_info": mode.use_current_attempt_objective_info,
        "use_current_attempt_progress_info": mode.use_current_attempt_progress_info,
        "constrain_choice": seq.constrained_choice.choose_only_next_or_previous,
        "prevent_activation": seq.constrained_choice.prevent_activation,
        "limits": {
            "attempt_limit": limits.attempt_limit,
            "attempt_absolute_duration": duration_seconds(limits.attempt_absolute_duration_limit),
            "attempt_experienced_duration": duration_seconds(
                limits.attempt_experienced_duration_limit
            ),
            "activity_absolute_duration": duration_seconds(limits.activity_absolute_duration_limit),
            "activity_experienced_duration": duration_seconds(
                limits.activity_experienced_duration_limit
            ),
            "begin_time": limits.begin_time_limit,
            "end_time": limits.end_time_limit,
        },
        "objectives": [
            {
                "id": o.identifier,
                "primary": o.primary,
                "satisfied_by_measure": o.satisfied_by_measure,
                "min_measure": o.min_normalized_measure,
                "maps": [
                    {
                        "target": m.target_objective_id,
                        "read_satisfied": m.read_satisfied_status,
                        "write_satisfied": m.write_satisfied_status,
                        "read_measure": m.read_normalized_measure,
                        "write_measure": m.write_normalized_measure,
                        "read_completion": m.read_completion_status,
                        "write_completion": m.write_completion_status,
                        "read_progress": m.read_progress_measure,
                        "write_progress": m.write_progress_measure,
                        "read_raw": m.read_raw_score,
                        "write_raw": m.write_raw_score,
                        "read_min": m.read_min_score,
                        "write_min": m.write_min_score,
                        "read_max": m.read_max_score,
                        "write_max": m.write_max_score,
                    }
                    for m in o.maps
                ],
            }
            for o in seq.objectives
        ],
        "rollup": {
            "objective_satisfied": seq.rollup_rules.rollup_objective_satisfied,
            "progress_completion": seq.rollup_rules.rollup_progress_completion,
            "measure_weight": seq.rollup_rules.objective_measure_weight,
            "rules": [
                {
                    "action": r.action,
                    "combination": r.combination,
                    "child_activity_set": r.child_activity_set,
                    "minimum_count": r.minimum_count,
                    "minimum_percent": r.minimum_percent,
                    "conditions": [condition_dict(c) for c in r.conditions],
                }
                for r in seq.rollup_rules.rules
            ],
        },
        "considerations": {
            "satisfied": seq.rollup_considerations.required_for_satisfied,
            "not_satisfied": seq.rollup_considerations.required_for_not_satisfied,
            "completed": seq.rollup_considerations.required_for_completed,
            "incomplete": seq.rollup_considerations.required_for_incomplete,
            "measure_satisfaction_if_active": (
                seq.rollup_considerations.measure_satisfaction_if_active
            ),
        },
        "delivery": {
            "tracked": seq.delivery_controls.tracked,
            "completion_set_by_content": seq.delivery_controls.completion_set_by_content,
            "objective_set_by_content": seq.delivery_controls.objective_set_by_content,
        },
        "selection": {
            "timing": seq.randomization.selection_timing,
            "count": seq.randomization.select_count,
        },
        "randomization": {
            "timing": seq.randomization.randomization_timing,
            "reorder": seq.randomization.reorder_children,
        },
    }


def node_extras(item: Item | None, edition: int | None) -> dict[str, Any]:
    """Item-level parts of the definition: completion threshold and the adlnav:presentation
    controls the player hides. Before the 4th Edition the threshold is a bare minimum that
    always decides completion from the progress measure (RTE 3rd ed. 4.2.4)."""
    threshold = item.completion_threshold if item is not None else None
    return {
        "completion": None
        if threshold is None
        else {
            "completed_by_measure": threshold.completed_by_measure or (edition or 4) < 4,
            "min_progress_measure": threshold.min_progress_measure,
            "progress_weight": threshold.progress_weight,
        },
        "hide_lms_ui": list(item.hide_lms_ui) if item is not None else [],
    }
