"""Navigation requests and termination (SN book Appendix C NB.2.1, TB.2.1, TB.2.2, TB.2.3,
UP.3, UP.4): which requests are refused, how an attempt ends, and what post-condition and exit
rules do when it has."""

from __future__ import annotations

import pytest

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
    walk,
)

NOT_SATISFIED = cond("satisfied", negated=True)


def _linear(**root_seq):
    return node("root", node("a"), node("b"), node("c"), **root_seq)


@pytest.mark.parametrize(
    ("tree", "steps", "code"),
    [
        (_linear(), ["start", "start"], "NB.2.1-1"),
        (_linear(), ["continue"], "NB.2.1-2"),
        (_linear(), ["resumeAll"], "NB.2.1-3"),
        (_linear(flow=False), [("choice", "a"), "continue"], "NB.2.1-4"),
        (_linear(forward_only=True), ["start", "previous"], "NB.2.1-5"),
        (_linear(flow=False), [("choice", "b"), "previous"], "NB.2.1-5"),
        (node("root"), ["start", "previous"], "NB.2.1-6"),
        (_linear(choice=False), ["start", ("choice", "c")], "NB.2.1-10"),
        (_linear(), ["start", ("choice", "nowhere")], "NB.2.1-11"),
        (_linear(), ["start", "abandon", "exit"], "NB.2.1-12"),
        (_linear(), ["start", "forward"], "NB.2.1-13"),
        (_linear(), [("jump", "b")], "NB.2.1-2"),
    ],
)
def test_navigation_requests_refused(tree, steps, code):
    """NB.2.1: a request that does not fit the current state is refused with its exception
    code and changes nothing."""
    seq = sequencer(tree)
    for step in steps[:-1]:
        request, target = step if isinstance(step, tuple) else (step, None)
        assert seq.navigate(request, target).exception is None
    before = repr(seq.state)
    request, target = steps[-1] if isinstance(steps[-1], tuple) else (steps[-1], None)
    assert seq.navigate(request, target).exception == code
    assert repr(seq.state) == before


def test_choice_exit_false_keeps_the_learner_inside_an_active_cluster():
    """NB.2.1 choice: leaving an active activity whose choiceExit is false is refused
    (NB.2.1-8); choosing inside it is allowed."""
    seq = sequencer(node("root", node("m", node("a"), node("b"), choice_exit=False), node("z")))
    assert seq.navigate("start").deliver == "a"
    assert seq.navigate("choice", "z").exception == "NB.2.1-8"
    assert seq.navigate("choice", "b").deliver == "b"


def test_post_condition_retry_repeats_the_activity_until_passed():
    """TB.2.2 retry: "retry if not satisfied" on a quiz delivers it again after a failed
    attempt (a new attempt), and flow goes on once it is passed."""
    seq = sequencer(node("root", node("quiz", post=[rule("retry", NOT_SATISFIED)]), node("end")))
    assert walk(seq, "start", {"quiz": [FAILED, FAILED, PASSED]}) == [
        "quiz",
        "quiz",
        "quiz",
        "end",
        "END",
    ]
    assert seq.state["activities"]["quiz"]["attempts"] == 3
    assert seq.state["activities"]["root"]["attempts"] == 1  # UP.3: the course goes on


def test_post_condition_continue_and_previous_follow_an_exit():
    """TB.2.2 continue / previous: after an "exit" request (which alone delivers nothing) a
    post-condition continue moves on and a post-condition previous goes back."""
    tree = node(
        "root",
        node("a"),
        node("b", post=[rule("previous", cond("satisfied", negated=True))]),
        node("c", post=[rule("continue", cond("always"))]),
        node("d"),
    )
    seq = sequencer(tree)
    assert seq.navigate("choice", "c").deliver == "c"
    assert seq.navigate("exit").deliver == "d"
    plain = sequencer(node("root", node("a"), node("b")))
    plain.navigate("start")
    assert plain.navigate("exit").deliver is None
    seq.navigate("choice", "b")
    seq.report("b", FAILED)
    assert seq.navigate("exit").deliver == "a"


def test_exit_parent_then_the_cluster_post_condition_retries_the_module():
    """TB.2.3 step 3.3.4 with TB.2.2: the last lesson's exitParent ends the module's attempt
    and evaluates the module's own post-conditions; its retry starts the module over."""
    module = node(
        "module",
        node("lesson"),
        node("quiz", post=[rule("exitParent", cond("always"))]),
        # RB.1.2.b: with only a satisfied rule the module's status stays unknown until it
        # fires, so the retry rule also asks "not objectiveStatusKnown".
        post=[
            rule(
                "retry",
                NOT_SATISFIED,
                cond("objectiveStatusKnown", negated=True),
                combination="any",
            )
        ],
        rollup={"rules": [rollup_rule("satisfied", cond("satisfied"), child_set="any")]},
    )
    seq = sequencer(node("root", module, node("next")))
    delivered = walk(
        seq,
        "start",
        {
            "quiz": [FAILED, PASSED],
            "lesson": [{"completion_status": "completed", "success_status": "failed"}],
        },
    )
    assert delivered == ["lesson", "quiz", "lesson", "quiz", "next", "END"]


def test_post_condition_exit_all_ends_the_session():
    """TB.2.2 exitAll -> TB.2.3 exit all: the attempt on the whole tree ends and so does
    the session, whatever comes next in flow."""
    seq = sequencer(
        node("root", node("quiz", post=[rule("exitAll", cond("satisfied"))]), node("more"))
    )
    assert walk(seq, "start", {"quiz": [PASSED]}) == ["quiz", "END"]
    assert seq.state["activities"]["root"]["active"] is False


def test_post_condition_retry_all_starts_the_course_over():
    """TB.2.2 retryAll = exit all + retry of the root: flow starts from the first activity."""
    tree = node("root", node("a"), node("quiz", post=[rule("retryAll", NOT_SATISFIED)]))
    seq = sequencer(tree)
    assert walk(seq, "start", {"quiz": [FAILED, PASSED]}) == ["a", "quiz", "a", "quiz", "END"]
    assert seq.state["activities"]["root"]["attempts"] == 2


def test_exit_action_rule_leaves_a_cluster_early():
    """TB.2.1: after the first lesson is passed, the module's "exit if satisfied" rule ends
    the module's attempt; continue then leaves it, passing over its remaining lessons."""
    module = node(
        "module",
        node("a"),
        node("b"),
        exit=[rule("exit", cond("satisfied"))],
        rollup={"rules": [rollup_rule("satisfied", cond("satisfied"), child_set="any")]},
    )
    seq = sequencer(node("root", module, node("z")))
    assert walk(seq, "start", {"a": [PASSED]}) == ["a", "z", "END"]
    assert walk(sequencer(node("root", module, node("z"))), "start", {"a": [FAILED]}) == [
        "a",
        "b",
        "z",
        "END",
    ]


def test_continue_past_the_last_activity_ends_the_session():
    """SB.2.1 step 3.1 via SB.2.7: continue from the last activity ends the attempts and the
    sequencing session; nothing is current afterwards and start may begin a new one."""
    seq = sequencer(node("root", node("a"), node("b")))
    seq.navigate("start")
    seq.navigate("continue")
    out = seq.navigate("continue")
    assert (out.deliver, out.end_session, out.exception) == (None, True, None)
    assert seq.state["current"] is None
    assert seq.navigate("start").deliver == "a"


def test_suspend_all_then_resume_all_resumes_the_suspended_activity():
    """TB.2.3 suspend all + SB.2.6: the session ends with the current activity suspended; a
    later session's resume all delivers that activity (not the first one) with cmi.entry
    resume, and its attempt is the same one."""
    seq = sequencer(node("root", node("a"), node("b"), node("c")))
    seq.navigate("start")
    seq.navigate("continue")
    seq.report("b", {"completion_status": "incomplete", "exit": "suspend"})
    assert seq.navigate("suspendAll").end_session is True
    later = sequencer(node("root", node("a"), node("b"), node("c")), state=seq.state)
    assert later.valid_requests()["resumeAll"] is True
    out = later.navigate("resumeAll")
    assert out.deliver == "b"
    assert later.launch_values("b")["cmi.entry"] == "resume"
    assert later.state["activities"]["b"]["attempts"] == 1
    assert later.state["suspended"] is None


def test_abandon_all_discards_the_abandoned_attempt():
    """TB.2.3 abandon all: the attempt is abandoned, not ended; what the SCO reported during
    it does not reach the tracking model (unlike exit all, which keeps it)."""
    tree = node("root", node("a"), node("b"))
    abandoned = sequencer(tree)
    abandoned.navigate("start")
    abandoned.report("a", PASSED)
    assert abandoned.navigate("abandonAll").end_session is True
    toc = {e["id"]: e for e in abandoned.toc()}
    assert (toc["a"]["success_status"], toc["a"]["completion_status"]) == ("unknown", "unknown")
    kept = sequencer(tree)
    kept.navigate("start")
    kept.report("a", PASSED)
    kept.navigate("exitAll")
    toc = {e["id"]: e for e in kept.toc()}
    assert (toc["a"]["success_status"], toc["a"]["completion_status"]) == ("passed", "completed")


def test_abandon_ends_the_current_attempt_without_its_data():
    """TB.2.3 abandon: the current activity stops being active, its report is dropped, and
    no sequencing request follows (nothing delivered)."""
    seq = sequencer(node("root", node("a"), node("b")))
    seq.navigate("start")
    seq.report("a", FAILED)
    out = seq.navigate("abandon")
    assert (out.deliver, out.end_session, out.exception) == (None, False, None)
    assert seq.state["activities"]["a"]["active"] is False
    assert seq.state["activities"]["a"]["objectives"]["a#primary"]["satisfied"] is None
    assert seq.state["activities"]["a"]["pending"] is None
    # A new attempt without a report of its own ends as UP.4 says (passed), not failed.
    assert seq.navigate("choice", "a").deliver == "a"
    seq.navigate("exitAll")
    assert {e["id"]: e["success_status"] for e in seq.toc()}["a"] == "passed"


def test_end_attempt_completes_and_satisfies_unless_set_by_content():
    """UP.4: a tracked leaf the content left unknown is completed and satisfied when its
    attempt ends, unless completionSetByContent / objectiveSetByContent say the content
    decides."""
    tree = node(
        "root",
        node("free"),
        node(
            "strict", delivery={"completion_set_by_content": True, "objective_set_by_content": True}
        ),
    )
    seq = sequencer(tree)
    assert walk(seq, "start", {}) == ["free", "strict", "END"]
    toc = {e["id"]: e for e in seq.toc()}
    assert (toc["free"]["completion_status"], toc["free"]["success_status"]) == (
        "completed",
        "passed",
    )
    assert (toc["strict"]["completion_status"], toc["strict"]["success_status"]) == (
        "unknown",
        "unknown",
    )


def test_leaving_a_cluster_by_flow_ends_its_attempt_and_rolls_it_up():
    """DB.2 step 3 -> UP.3: delivering into the next module ends the attempts between the
    previous activity and the common ancestor, so the first module is rolled up and inactive."""
    seq = sequencer(node("root", node("m1", node("a")), node("m2", node("b"))))
    seq.navigate("start")
    seq.report("a", PASSED)
    assert seq.navigate("continue").deliver == "b"
    record = seq.state["activities"]["m1"]
    assert record["active"] is False
    assert {e["id"]: e["success_status"] for e in seq.toc()}["m1"] == "passed"


def test_end_attempt_sets_the_local_status_and_writes_it_but_not_by_measure():
    """UP.4 works on the activity's own Objective Progress Status: a lesson that reads a
    failed global still gets its local status set at the end, and writes it; an objective
    satisfied by measure without a measure stays unknown (RTE scaled_passing_score)."""
    shared = [mapinfo("g", read=("satisfied",), write=("satisfied",))]
    tree = node(
        "root",
        node(
            "quiz",
            objectives=[objective("q", True, maps=[mapinfo("g", read=(), write=("satisfied",))])],
        ),
        node("lesson", objectives=[objective("l", True, maps=shared)]),
        node("exam", objectives=[objective("e", True, by_measure=True, min_measure=0.5)]),
    )
    seq = sequencer(tree)
    assert walk(seq, "start", {"quiz": [FAILED]}) == ["quiz", "lesson", "exam", "END"]
    assert seq.state["globals"]["g"]["satisfied"] is True
    assert {e["id"]: e["success_status"] for e in seq.toc()}["exam"] == "unknown"


def test_start_instead_of_resume_all_clears_the_suspended_activity():
    """DB.2 step 2 with DB.2.1: a new session that starts rather than resumes clears the
    suspended activity and the suspension of it and its ancestors; resume all is no longer
    valid."""
    seq = sequencer(node("root", node("m", node("a"), node("b")), node("c")))
    seq.navigate("start")
    seq.navigate("continue")
    seq.navigate("suspendAll")
    assert seq.state["activities"]["m"]["suspended"] is True
    assert seq.navigate("choice", "c").deliver == "c"
    assert seq.suspended is None
    assert seq.state["activities"]["b"]["suspended"] is False
    assert seq.state["activities"]["m"]["suspended"] is False


def test_retry_of_a_module_with_nothing_left_to_deliver_fails():
    """SB.2.10-3: a module's retry rule fires but flow finds no deliverable activity in it
    (all over their attempt limit), so nothing is delivered."""
    module = node(
        "m",
        node("a", limits={"attempt_limit": 1}),
        node("b", limits={"attempt_limit": 1}, post=[rule("exitParent", cond("always"))]),
        post=[rule("retry", cond("always"))],
    )
    seq = sequencer(node("root", module, node("z")))
    assert walk(seq, "start", {}) == ["a", "b", "SB.2.10-3"]


@pytest.mark.parametrize(("current_only", "expected"), [(True, "unknown"), (False, "passed")])
def test_use_current_attempt_objective_info_on_a_new_attempt_of_a_module(current_only, expected):
    """SN 3.2.1 useCurrentAttemptObjectiveInfo (DB.2, new attempt): with true a module's new
    attempt ignores what its children recorded in the previous one; with false it keeps it."""
    module = node(
        "m",
        node("a"),
        node("b", post=[rule("exitParent", cond("always"))]),
        post=[rule("retry", cond("attempted"), cond("attemptLimitExceeded", negated=True))],
        limits={"attempt_limit": 2},
        use_current_attempt_objective_info=current_only,
    )
    seq = sequencer(node("root", module, node("z")))
    seq.navigate("start")
    seq.report("a", FAILED)
    seq.navigate("continue")
    assert seq.navigate("continue").deliver == "a"  # b's exitParent, then m's retry
    assert seq.state["activities"]["m"]["attempts"] == 2
    # b (passed at the end of its attempt, UP.4) has not started its new attempt yet
    assert {e["id"]: e["success_status"] for e in seq.toc()}["b"] == expected
