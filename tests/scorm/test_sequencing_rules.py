"""Sequencing rule conditions and the checks built on them (SN book 3.4, Appendix C UP.1,
UP.2, UP.2.1, UP.5), evaluated against the tracking model."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from scorm.sequencing.rules import (
    check_activity,
    combine,
    evaluate_condition,
    limit_conditions_check,
    sequencing_rule_check,
    sequencing_rules_check,
)
from scorm.sequencing.tree import DURATION_LIMITS, Condition, RuleDef
from tests.scorm.seqtrees import (
    FAILED,
    PASSED,
    cond,
    mapinfo,
    node,
    objective,
    rule,
    sequencer,
    tracking,
    walk,
)


@pytest.mark.parametrize(
    ("values", "combination", "expected"),
    [
        ([True, None], "all", None),
        ([False, None], "all", False),
        ([True, True], "all", True),
        ([None, False], "any", None),
        ([None, True], "any", True),
        ([False, False], "any", False),
    ],
)
def test_conditions_combine_three_valued(values, combination, expected):
    """UP.2.1 step 3 (SN Table 3.4.2a): "all" is true only when every condition is true and
    false as soon as one is false; "any" true as soon as one is true; else unknown."""
    assert combine(values, combination) is expected


def test_a_negated_condition_on_an_unknown_status_stays_unknown():
    """UP.2.1 step 2.2: `not` applied to unknown gives unknown, so "skip if not satisfied"
    does not fire before the status is known; it fires once the objective is failed."""
    m = tracking(node("root", node("a", pre=[rule("skip", cond("satisfied", negated=True))])))
    a = m["a"]
    assert evaluate_condition(m, a, Condition("satisfied", negated=True)) is None
    assert sequencing_rules_check(m, a, "pre", ("skip",)) is None
    m.write(a, a.primary, "satisfied", False)
    assert sequencing_rules_check(m, a, "pre", ("skip",)) == "skip"


def test_status_known_conditions_are_never_unknown():
    """SN 3.4.2: objectiveStatusKnown, objectiveMeasureKnown, activityProgressKnown and
    attempted are themselves known: false (so `not` true) before any data."""
    m = tracking(node("root", node("a")))
    a = m["a"]
    for name in ("objectiveStatusKnown", "objectiveMeasureKnown", "activityProgressKnown"):
        assert evaluate_condition(m, a, Condition(name)) is False
        assert evaluate_condition(m, a, Condition(name, negated=True)) is True
    assert evaluate_condition(m, a, Condition("attempted")) is False
    assert evaluate_condition(m, a, Condition("completed")) is None


def test_remediation_retry_rule_fires_on_unknown_status_through_status_known():
    """UP.2.1 with "any": `not satisfied` is unknown but `not objectiveStatusKnown` is true,
    so the remediation pattern's retry rule fires; with a satisfied status neither does."""
    retry = rule(
        "retry",
        cond("satisfied", negated=True),
        cond("objectiveStatusKnown", negated=True),
        combination="any",
    )
    m = tracking(node("root", node("a"), post=[retry]))
    root = m.root
    assert sequencing_rule_check(m, root, root.post_rules[0]) is True
    m.write(root, root.primary, "satisfied", True)
    assert sequencing_rule_check(m, root, root.post_rules[0]) is False


def test_measure_conditions_compare_with_the_threshold_and_are_unknown_without_measure():
    """SN 3.4.2: objectiveMeasureGreaterThan / LessThan compare the normalized measure with
    measureThreshold (strictly); without a measure they are unknown, so they do not fire."""
    m = tracking(node("root", node("a")))
    a = m["a"]
    greater = Condition("objectiveMeasureGreaterThan", threshold=0.5)
    less = Condition("objectiveMeasureLessThan", threshold=0.5)
    assert evaluate_condition(m, a, greater) is None
    assert evaluate_condition(m, a, Condition(greater.condition, True, None, 0.5)) is None
    m.write(a, a.primary, "measure", 0.7)
    assert evaluate_condition(m, a, greater) is True
    assert evaluate_condition(m, a, less) is False
    m.write(a, a.primary, "measure", 0.5)
    assert evaluate_condition(m, a, greater) is False
    assert evaluate_condition(m, a, less) is False


def test_a_measure_rule_decides_flow():
    """SN 3.4.2 + SB.2.2: a post-test "skip if measure > 0.8" passes over the remedial lesson
    for a learner who scored 0.9 on the pretest, and delivers it to one who scored 0.4."""
    skip = rule("skip", cond("objectiveMeasureGreaterThan", objective="pretest", threshold=0.8))
    tree = node(
        "root",
        node(
            "pretest",
            objectives=[objective("p", primary=True, maps=[mapinfo("g_pre", write=("measure",))])],
        ),
        node(
            "lesson",
            pre=[skip],
            objectives=[
                objective("l", primary=True),
                objective("pretest", maps=[mapinfo("g_pre", read=("measure",))]),
            ],
        ),
        node("quiz"),
    )
    high = {"completion_status": "completed", "score": {"scaled": 0.9}}
    low = {"completion_status": "completed", "score": {"scaled": 0.4}}
    assert walk(sequencer(tree), "start", {"pretest": [high]}) == ["pretest", "quiz", "END"]
    assert walk(sequencer(tree), "start", {"pretest": [low]}) == [
        "pretest",
        "lesson",
        "quiz",
        "END",
    ]


def test_a_rule_on_a_named_objective_reads_that_objective_not_the_primary():
    """SN 3.4.2 referencedObjective: "skip if satisfied" naming a non-primary objective is
    evaluated on it; the primary's status does not matter. An objective the activity does not
    have makes the condition unknown (the rule does not fire)."""
    named = rule("skip", cond("satisfied", objective="extra"))
    m = tracking(
        node(
            "root",
            node("a", pre=[named], objectives=[objective("main", True), objective("extra")]),
        )
    )
    a = m["a"]
    m.write(a, a.primary, "satisfied", False)
    assert sequencing_rules_check(m, a, "pre", ("skip",)) is None
    m.write(a, a.objective("extra"), "satisfied", True)
    assert sequencing_rules_check(m, a, "pre", ("skip",)) == "skip"
    m.write(a, a.primary, "satisfied", True)
    m.write(a, a.objective("extra"), "satisfied", False)
    assert sequencing_rules_check(m, a, "pre", ("skip",)) is None
    missing = RuleDef("skip", (Condition("satisfied", objective="nope"),))
    assert sequencing_rule_check(m, a, missing) is None


def test_a_named_objective_is_set_from_cmi_objectives_by_id():
    """SN 4.2 / RTE 4.2.17: cmi.objectives.n with the objective's id feeds that objective;
    the next activity's rule on it then fires (skip the review when "safety" is passed)."""
    review = node(
        "review",
        pre=[rule("skip", cond("satisfied", objective="safety"))],
        objectives=[
            objective("r", True),
            objective("safety", maps=[mapinfo("g_s", read=("satisfied",))]),
        ],
    )
    quiz = node(
        "quiz",
        objectives=[
            objective("q", True),
            objective("safety", maps=[mapinfo("g_s", write=("satisfied",))]),
        ],
    )
    tree = node("root", quiz, review, node("end"))
    passed = {**FAILED, "objectives": {"safety": {"success_status": "passed"}}}
    assert walk(sequencer(tree), "start", {"quiz": [passed]}) == ["quiz", "end", "END"]
    assert walk(sequencer(tree), "start", {"quiz": [FAILED]}) == ["quiz", "review", "end", "END"]


def test_attempt_limit_is_checked_only_when_not_active():
    """UP.1: attemptLimit is exceeded when the attempt count reached it, for an activity
    that is neither active nor suspended; 0 means no limit (IMS SS binding)."""
    m = tracking(node("root", node("a", limits={"attempt_limit": 2}), node("b", attempt_limit=0)))
    a, b = m["a"], m["b"]
    m.t(a)["attempts"] = 2
    assert limit_conditions_check(m, a) is True
    assert evaluate_condition(m, a, Condition("attemptLimitExceeded")) is True
    m.t(a)["active"] = True
    assert limit_conditions_check(m, a) is False
    m.t(b)["attempts"] = 5
    assert limit_conditions_check(m, b) is False


def test_an_activity_over_its_attempt_limit_is_not_delivered_again():
    """UP.1 via UP.5 in DB.1.1: after its one allowed attempt, choosing the quiz again is
    refused (DB.1.1-3) and the table of contents shows it disabled."""
    seq = sequencer(node("root", node("quiz", limits={"attempt_limit": 1}), node("other")))
    assert seq.navigate("choice", "quiz").deliver == "quiz"
    seq.report("quiz", PASSED)
    assert seq.navigate("choice", "other").deliver == "other"
    assert seq.navigate("choice", "quiz").exception == "DB.1.1-3"
    assert {e["id"]: e["disabled"] for e in seq.toc()}["quiz"] is True


def test_time_limits_use_the_reported_session_time_and_the_clock():
    """UP.1 (the limits an LMS may evaluate, SN 3.4.1): attemptAbsoluteDurationLimit against
    the session times reported in the attempt; beginTimeLimit against the clock."""
    limited = node("a", limits={"attempt_absolute_duration": 60.0})
    m = tracking(node("root", limited, node("b", limits={"begin_time": "2030-01-01T00:00:00"})))
    m.t(m["a"])["duration"] = 59.0
    assert limit_conditions_check(m, m["a"]) is False
    m.t(m["a"])["duration"] = 61.0
    assert limit_conditions_check(m, m["a"]) is True
    assert evaluate_condition(m, m["a"], Condition("timeLimitExceeded")) is True
    m.now = datetime(2029, 12, 31, tzinfo=UTC)
    assert limit_conditions_check(m, m["b"]) is True
    m.now = datetime(2030, 1, 2, tzinfo=UTC)
    assert limit_conditions_check(m, m["b"]) is False


def test_check_activity_is_true_for_a_disabled_rule():
    """UP.5: a disabled pre-condition rule that fires makes the activity undeliverable; flow
    then stops with SB.2.2-2 rather than passing over it (only skip passes over)."""
    m = tracking(node("root", node("a", pre=[rule("disabled", cond("always"))])))
    assert check_activity(m, m["a"]) is True
    assert (
        sequencer(node("root", node("a", pre=[rule("disabled", cond("always"))]), node("b")))
        .navigate("start")
        .exception
        == "SB.2.2-2"
    )


@pytest.mark.parametrize("limit", DURATION_LIMITS)
def test_a_tree_uses_durations_when_a_limit_is_measured_by_the_session_times(limit):
    """Each duration limit the Limit Conditions Check measures marks the tree as one whose
    decisions depend on the session times reported; without one, no reported time can make
    a limit check true (the LMS may then leave the valid requests as they were)."""
    limited = node("a", limits={limit: 60.0})
    m = tracking(node("root", limited, node("b")))
    assert m.tree.uses_durations is True
    m.t(m["a"])["duration"] = m.t(m["a"])["total"] = 61.0
    assert limit_conditions_check(m, m["a"]) is True

    free = tracking(
        node("root", node("a", limits={"attempt_limit": 2, "begin_time": None}), node("b"))
    )
    assert free.tree.uses_durations is False
    free.t(free["a"])["duration"] = free.t(free["a"])["total"] = 10**9
    assert limit_conditions_check(free, free["a"]) is False
