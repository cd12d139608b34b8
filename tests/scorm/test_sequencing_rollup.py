"""Rollup (SN book 4.6, Appendix C RB.1.1-RB.1.5) and global objectives (SN 4.2.1.3, the
4th Edition's adlseq:objectives maps): what a cluster's status becomes from its children's,
and what one activity's status does to another's through a shared objective."""

from __future__ import annotations

import pytest

from scorm.sequencing.rollup import (
    activity_progress_rollup,
    check_child_for_rollup,
    completion_measure_rollup,
    measure_rollup,
    objective_rollup,
    overall_rollup,
)
from tests.scorm.seqtrees import (
    FAILED,
    PASSED,
    cond,
    mapinfo,
    node,
    objective,
    rollup_rule,
    rule,
    sequencer,
    tracking,
    walk,
)


def _set(m, activity_id, satisfied=None, measure=None, completed=None, attempts=1):
    a = m[activity_id]
    m.t(a)["attempts"] = attempts
    m.write(a, a.primary, "satisfied", satisfied)
    m.write(a, a.primary, "measure", measure)
    m.write(a, a.primary, "completed", completed)


def test_measure_rollup_is_the_weighted_average_over_tracked_children():
    """RB.1.1: the cluster's measure is sum(measure x objectiveMeasureWeight) over the sum of
    the weights of all tracked children (a child without a measure still counts in the
    weights); an untracked child does not count at all."""
    m = tracking(
        node(
            "root",
            node("a", rollup={"measure_weight": 1.0}),
            node("b", rollup={"measure_weight": 3.0}),
            node("c", delivery={"tracked": False}),
        )
    )
    _set(m, "a", measure=1.0)
    _set(m, "b", measure=0.0)
    _set(m, "c", measure=1.0)
    measure_rollup(m, m.root)
    assert m.measure(m.root) == pytest.approx(0.25)
    _set(m, "b")
    measure_rollup(m, m.root)
    assert m.measure(m.root) == pytest.approx(0.25)  # 1.0 x 1 / (1 + 3)
    _set(m, "a")
    measure_rollup(m, m.root)
    assert m.measure(m.root) is None


def test_objective_rollup_by_measure_and_measure_satisfaction_if_active():
    """RB.1.2.a: a primary objective satisfied by measure is satisfied when the rolled-up
    measure reaches minNormalizedMeasure; while the cluster is active and
    adlseq:measureSatisfactionIfActive is false, its status stays unknown."""
    by_measure = [objective("o", primary=True, by_measure=True, min_measure=0.6)]
    m = tracking(
        node(
            "root",
            node("a"),
            node("b"),
            objectives=by_measure,
            considerations={"measure_satisfaction_if_active": False},
        )
    )
    _set(m, "a", measure=0.9)
    _set(m, "b", measure=0.5)
    overall_rollup(m, m["a"])
    assert m.satisfied(m.root) is True  # 0.7 >= 0.6
    _set(m, "b", measure=0.1)
    m.t(m.root)["active"] = True
    overall_rollup(m, m["b"])
    assert m.measure(m.root) == pytest.approx(0.5)
    assert m.satisfied(m.root) is None
    m.t(m.root)["active"] = False
    assert m.satisfied(m.root) is False


def test_default_objective_rollup():
    """RB.1.2.c (default rules, SN 4.6.5): satisfied when every child is; not satisfied when
    every child's status is known and one is not satisfied; unknown otherwise."""
    m = tracking(node("root", node("a"), node("b")))
    _set(m, "a", satisfied=True)
    objective_rollup(m, m.root)
    assert m.satisfied(m.root) is None
    _set(m, "b", satisfied=False)
    objective_rollup(m, m.root)
    assert m.satisfied(m.root) is False
    _set(m, "b", satisfied=True)
    objective_rollup(m, m.root)
    assert m.satisfied(m.root) is True


def test_rollup_rules_child_activity_sets():
    """RB.1.2.b with RB.1.4: atLeastCount and atLeastPercent count the children whose
    conditions are true; a notSatisfied rule is applied first and a satisfied rule wins."""
    rules = [
        rollup_rule("satisfied", cond("satisfied"), child_set="atLeastCount", count=2),
        rollup_rule("notSatisfied", cond("satisfied", negated=True), child_set="any"),
    ]
    m = tracking(node("root", node("a"), node("b"), node("c"), rollup={"rules": rules}))
    _set(m, "a", satisfied=True)
    _set(m, "b", satisfied=False)
    objective_rollup(m, m.root)
    assert m.satisfied(m.root) is False
    _set(m, "c", satisfied=True)
    objective_rollup(m, m.root)
    assert m.satisfied(m.root) is True
    percent = [rollup_rule("completed", cond("completed"), child_set="atLeastPercent", percent=0.5)]
    m = tracking(node("root", node("a"), node("b"), node("c"), rollup={"rules": percent}))
    _set(m, "a", completed=True)
    activity_progress_rollup(m, m.root)
    assert m.completed(m.root) is None  # 1/3 < 0.5, and no incomplete rule fires
    _set(m, "b", completed=True)
    activity_progress_rollup(m, m.root)
    assert m.completed(m.root) is True


def _both(value):
    return {"satisfied": value, "not_satisfied": value}


def test_rollup_considerations_leave_out_children_not_attempted_skipped_or_suspended():
    """RB.1.4.2 (adlseq:rollupConsiderations): requiredForSatisfied="ifAttempted" leaves an
    unattempted child out, "ifNotSkipped" one a skip rule passes over, "ifNotSuspended" a
    suspended one; rollupObjectiveSatisfied="false" leaves a child out of satisfaction."""
    m = tracking(
        node(
            "root",
            node("done"),
            node("optional", considerations=_both("ifAttempted")),
            node(
                "skipped",
                considerations=_both("ifNotSkipped"),
                pre=[rule("skip", cond("always"))],
            ),
            node("paused", considerations=_both("ifNotSuspended")),
            node("extra", rollup={"objective_satisfied": False}),
        )
    )
    _set(m, "done", satisfied=True)
    _set(m, "optional", attempts=0)
    _set(m, "paused", satisfied=False)
    m.t(m["paused"])["suspended"] = True
    _set(m, "extra", satisfied=False)
    assert not check_child_for_rollup(m, m["optional"], "satisfied")
    assert not check_child_for_rollup(m, m["skipped"], "satisfied")
    assert not check_child_for_rollup(m, m["paused"], "satisfied")
    assert not check_child_for_rollup(m, m["extra"], "notSatisfied")
    objective_rollup(m, m.root)
    assert m.satisfied(m.root) is True
    m.t(m["paused"])["suspended"] = False
    objective_rollup(m, m.root)
    assert m.satisfied(m.root) is False


def test_completion_measure_rollup_with_progress_weights_and_completed_by_measure():
    """RB.1.1.b and RB.1.3.a (4th Edition): the cluster's completion amount is the
    progressWeight-weighted average of its children's; with completedByMeasure it is
    completed once the amount reaches minProgressMeasure."""
    threshold = {"completed_by_measure": True, "min_progress_measure": 0.6, "progress_weight": 1}
    m = tracking(
        node(
            "root",
            node("a", completion={"progress_weight": 3.0}),
            node("b", completion={"progress_weight": 1.0}),
            completion=threshold,
        )
    )
    m.write(m["a"], m["a"].primary, "progress", 0.5)
    m.write(m["b"], m["b"].primary, "progress", 1.0)
    completion_measure_rollup(m, m.root)
    activity_progress_rollup(m, m.root)
    assert m.progress(m.root) == pytest.approx(0.625)
    assert m.completed(m.root) is True
    m.write(m["b"], m["b"].primary, "progress", 0.6)
    overall_rollup(m, m["b"])
    assert m.completed(m.root) is False


def test_a_leaf_completed_by_measure_takes_completion_from_its_progress_measure():
    """RTE 4.2.4.1 / SN 4.2: with completedByMeasure the LMS decides completion from
    cmi.progress_measure against minProgressMeasure, whatever the SCO says."""
    threshold = {"completed_by_measure": True, "min_progress_measure": 0.8}
    seq = sequencer(node("root", node("a", completion=threshold), node("b")))
    seq.navigate("start")
    seq.report("a", {"completion_status": "completed", "progress_measure": 0.5})
    seq.navigate("continue")
    assert {e["id"]: e["completion_status"] for e in seq.toc()}["a"] == "incomplete"
    assert seq.launch_values("a")["cmi.completion_threshold"] == 0.8


def test_global_objective_satisfied_and_measure_are_shared_across_the_tree():
    """SN 4.2.1.3: an objective mapped with writeSatisfiedStatus / writeNormalizedMeasure
    sets the global objective; another activity reading it sees that status and measure
    (here its skip rule fires), and the LMS initialises cmi.objectives from it."""
    shared = mapinfo("g1", read=(), write=("satisfied", "measure"))
    reader = mapinfo("g1", read=("satisfied", "measure"))
    tree = node(
        "root",
        node("test", objectives=[objective("t", primary=True, maps=[shared])]),
        node(
            "lesson",
            pre=[rule("skip", cond("satisfied"))],
            objectives=[objective("l", primary=True, maps=[reader])],
        ),
        node("survey", objectives=[objective("s", True), objective("g1obj", maps=[reader])]),
    )
    seq = sequencer(tree)
    scored = {**PASSED, "score": {"scaled": 0.75, "raw": 15, "min": 0, "max": 20}}
    assert walk(seq, "start", {"test": [scored]}) == ["test", "survey", "END"]
    values = seq.launch_values("survey")["cmi.objectives"]
    assert [o["id"] for o in values] == ["s", "g1obj"]
    entry = values[1]
    assert entry["success_status"] == "passed"
    assert entry["score"]["scaled"] == 0.75
    assert seq.state["globals"]["g1"]["satisfied"] is True


def test_global_objective_completion_progress_and_scores_are_shared():
    """SN 4th ed. 4.2.1.3 / CAM adlseq:mapInfo: writeCompletionStatus, writeProgressMeasure
    and writeRawScore/MinScore/MaxScore share those values; a reader's "completed" condition
    and its cmi.objectives see them; without a read map nothing is read."""
    everything = ("completion", "progress", "raw", "min", "max")
    tree = node(
        "root",
        node(
            "a", objectives=[objective("oa", True, maps=[mapinfo("g", read=(), write=everything)])]
        ),
        node(
            "b",
            pre=[rule("skip", cond("completed", objective="shared"))],
            objectives=[
                objective("ob", True),
                objective("shared", maps=[mapinfo("g", read=everything)]),
            ],
        ),
        node(
            "c",
            objectives=[objective("oc", True), objective("blind", maps=[mapinfo("g", read=())])],
        ),
    )
    seq = sequencer(tree)
    report = {
        "completion_status": "completed",
        "progress_measure": 0.9,
        "score": {"raw": 8, "min": 0, "max": 10},
    }
    assert walk(seq, "start", {"a": [report]}) == ["a", "c", "END"]
    assert seq.state["globals"]["g"] == {
        "satisfied": None,  # not mapped for writing
        "measure": None,
        "completed": True,
        "progress": 0.9,
        "raw": 8.0,
        "min": 0.0,
        "max": 10.0,
    }
    shared = next(
        o
        for o in sequencer(tree, seq.state).launch_values("b")["cmi.objectives"]
        if o["id"] == "shared"
    )
    assert (shared["completion_status"], shared["progress_measure"]) == ("completed", 0.9)
    assert shared["score"]["raw"] == 8.0 and shared["score"]["max"] == 10.0
    blind = sequencer(tree, seq.state).launch_values("c")["cmi.objectives"][1]
    assert blind["id"] == "blind"
    assert blind["completion_status"] == "unknown" and blind["progress_measure"] is None


def test_an_unknown_global_leaves_the_local_status_in_force():
    """SN 4.2.1.3: a read map gives the global's status only when the global has one; the
    global is never cleared by an activity whose own status is unknown."""
    m = tracking(
        node(
            "root",
            node("a", objectives=[objective("o", True, maps=[mapinfo("g", write=("satisfied",))])]),
        )
    )
    a = m["a"]
    m.write(a, a.primary, "satisfied", False)
    assert m.state["globals"]["g"]["satisfied"] is False
    m.state["globals"]["g"]["satisfied"] = None
    assert m.satisfied(a) is False
    m.write(a, a.primary, "satisfied", None)
    m.state["globals"]["g"]["satisfied"] = True
    m.write(a, a.primary, "satisfied", None)
    assert m.state["globals"]["g"]["satisfied"] is True


def test_pretest_post_test_rollup_is_the_course_status():
    """RB.1.5 through the sequencer: a course of a pretest and a module whose rollup takes
    only the post-test (rollupObjectiveSatisfied false on the lesson) passes when the
    post-test is passed although the lesson reported failed."""
    tree = node(
        "course",
        node("lesson", rollup={"objective_satisfied": False, "progress_completion": False}),
        node("posttest"),
    )
    seq = sequencer(tree)
    assert walk(seq, "start", {"lesson": [FAILED], "posttest": [PASSED]}) == [
        "lesson",
        "posttest",
        "END",
    ]
    status = {e["id"]: e["success_status"] for e in seq.toc()}
    assert status == {"course": "passed", "lesson": "failed", "posttest": "passed"}


def test_a_rollup_with_no_rule_firing_leaves_the_status_as_it_was():
    """RB.1.2.b / RB.1.3.b set a status only when a rule applies: once a module is satisfied,
    a child whose status becomes unknown (a new attempt of it) does not make it unknown."""
    m = tracking(node("root", node("a"), node("b")))
    _set(m, "a", satisfied=True, completed=True)
    _set(m, "b", satisfied=True, completed=True)
    overall_rollup(m, m["a"])
    assert (m.satisfied(m.root), m.completed(m.root)) == (True, True)
    _set(m, "b")
    overall_rollup(m, m["b"])
    assert (m.satisfied(m.root), m.completed(m.root)) == (True, True)
    _set(m, "b", satisfied=False, completed=False)
    overall_rollup(m, m["b"])
    assert (m.satisfied(m.root), m.completed(m.root)) == (False, False)


def test_default_rules_apply_only_when_the_activity_has_none_of_the_pair():
    """RB.1.2 / RB.1.3: the default rules stand in only for an activity without any rule of
    the pair; an activity with just a satisfied rule never rolls up "not satisfied"."""
    only_satisfied = [rollup_rule("satisfied", cond("satisfied"), child_set="all")]
    m = tracking(node("root", node("a"), node("b"), rollup={"rules": only_satisfied}))
    _set(m, "a", satisfied=False, completed=False)
    _set(m, "b", satisfied=False, completed=False)
    overall_rollup(m, m["a"])
    assert m.satisfied(m.root) is None
    assert m.completed(m.root) is False  # no completion rule: the defaults apply
