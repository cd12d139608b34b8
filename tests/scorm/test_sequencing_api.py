"""The engine's public API (scorm.sequencing.sequencer): state that round-trips through JSON,
what the LMS sets before a launch (RTE 4.2), which requests are valid now
(adl.nav.request_valid, computed without side effects) and the table of contents."""

from __future__ import annotations

import json

from scorm.sequencing.sequencer import Sequencer
from tests.scorm.seqtrees import (
    FAILED,
    PASSED,
    cond,
    mapinfo,
    node,
    objective,
    rule,
    sequencer,
)

COURSE = node(
    "course",
    node("m1", node("a"), node("b", limits={"attempt_limit": 1})),
    node("m2", node("c", pre=[rule("hiddenFromChoice", cond("always"))]), node("d")),
)


def test_state_round_trips_through_json_and_the_reload_goes_on_identically():
    """The LMS stores `state` in one column: after json.dumps/loads a new Sequencer continues
    exactly as the first would."""
    first = sequencer(COURSE)
    first.navigate("start")
    first.report("a", PASSED)
    stored = json.loads(json.dumps(first.state))
    second = Sequencer(first.tree, stored, 0)
    assert second.state == first.state
    assert second.navigate("continue").deliver == first.navigate("continue").deliver == "b"
    assert json.loads(json.dumps(second.state)) == second.state


def test_valid_requests_before_and_during_a_session():
    """adl.nav.request_valid (RTE 4.4): before the session only start is valid; inside, the
    answers come from running each request on a copy: previous is not valid on the first
    activity, choice is not valid for a hidden activity, jump to any deliverable leaf."""
    seq = sequencer(COURSE)
    before = seq.valid_requests()
    assert (before["start"], before["resumeAll"], before["continue"]) == (True, False, False)
    seq.navigate("start")
    snapshot = json.dumps(seq.state, sort_keys=True)
    valid = seq.valid_requests()
    assert (valid["continue"], valid["previous"], valid["start"]) == (True, False, False)
    assert valid["choice"] == {
        "course": True,
        "m1": True,
        "a": True,
        "b": True,
        "m2": True,
        "c": False,
        "d": True,
    }
    assert valid["jump"] == {"a": True, "b": True, "c": True, "d": True}
    assert (valid["suspendAll"], valid["exitAll"], valid["abandonAll"]) == (True, True, True)
    assert json.dumps(seq.state, sort_keys=True) == snapshot  # nothing changed


def test_valid_continue_sees_what_the_sco_reported():
    """adl.nav.request_valid.continue is evaluated with the current SCO's data: a post
    condition that exits all when the quiz is passed makes continue end the session (still
    valid), and a retry limit reached makes it fail."""
    quiz = node("quiz", post=[rule("exitAll", cond("satisfied"))])
    seq = sequencer(node("root", quiz, node("after", limits={"attempt_limit": 1})))
    seq.navigate("start")
    seq.report("quiz", PASSED)
    assert seq.valid_requests()["continue"] is True
    assert seq._try("continue").end_session is True


def test_toc_lists_every_available_activity_with_its_state():
    """The table of contents: title, depth, whether choice is valid, hidden from choice,
    disabled (attempt limit), completion and success (the current SCO's report included)."""
    seq = sequencer(COURSE)
    seq.navigate("choice", "b")
    seq.report("b", FAILED)
    seq.navigate("choice", "a")
    seq.report("a", {"completion_status": "incomplete"})
    toc = {e["id"]: e for e in seq.toc()}
    assert [e["id"] for e in seq.toc()] == ["course", "m1", "a", "b", "m2", "c", "d"]
    assert (toc["course"]["depth"], toc["m1"]["depth"], toc["a"]["depth"]) == (0, 1, 2)
    assert toc["a"]["title"] == "A" and toc["a"]["current"] is True
    assert (toc["b"]["completion_status"], toc["b"]["success_status"]) == ("completed", "failed")
    assert toc["b"]["disabled"] is True and toc["b"]["valid_choice"] is False
    assert toc["a"]["completion_status"] == "incomplete"
    assert toc["c"]["hidden_from_choice"] is True
    assert toc["d"]["completion_status"] == "not attempted"
    # RB.1.2.c: not satisfied needs every child's status known; a's is not yet
    assert toc["m1"]["success_status"] == "unknown"


def test_launch_values_entry_thresholds_and_objectives():
    """RTE 4.2: cmi.entry is ab-initio for a new attempt and resume after the SCO left with
    cmi.exit = suspend (SN 4.2: Activity is Suspended); cmi.scaled_passing_score comes from
    a primary objective satisfied by measure; cmi.objectives lists the named objectives."""
    tree = node(
        "root",
        node(
            "a",
            objectives=[objective("main", True, by_measure=True, min_measure=0.7), objective("x")],
        ),
        node("b"),
    )
    seq = sequencer(tree)
    seq.navigate("start")
    values = seq.launch_values("a")
    assert values["cmi.entry"] == "ab-initio"
    assert values["cmi.scaled_passing_score"] == 0.7
    assert [o["id"] for o in values["cmi.objectives"]] == ["main", "x"]
    seq.report("a", {"completion_status": "incomplete", "exit": "suspend"})
    seq.navigate("choice", "b")
    assert seq.navigate("choice", "a").deliver == "a"
    assert seq.launch_values("a")["cmi.entry"] == "resume"
    assert seq.state["activities"]["a"]["attempts"] == 1


def test_scaled_score_decides_success_when_satisfied_by_measure():
    """RTE 4.2.22 / SN 4.2: with a scaled passing score the measure decides success,
    whatever success_status the SCO set."""
    tree = node(
        "root", node("a", objectives=[objective("m", True, by_measure=True, min_measure=0.7)])
    )
    seq = sequencer(tree)
    seq.navigate("start")
    seq.report(
        "a",
        {"completion_status": "completed", "success_status": "passed", "score": {"scaled": 0.5}},
    )
    seq.navigate("exitAll")
    assert {e["id"]: e["success_status"] for e in seq.toc()}["a"] == "failed"


def test_an_ended_session_can_be_started_again_as_a_new_attempt():
    """After exit all the sequencing session is over (OP.1): nothing is current, and start
    begins a new attempt on the course whose activities start unknown again
    (useCurrentAttemptObjectiveInfo, DB.2's new-attempt initialisation)."""
    seq = sequencer(node("root", node("a"), node("b")))
    seq.navigate("start")
    seq.report("a", FAILED)
    assert seq.navigate("exitAll").end_session is True
    assert seq.state["current"] is None and seq.state["ended"] is True
    assert seq.navigate("start").deliver == "a"
    assert seq.state["activities"]["root"]["attempts"] == 2
    assert {e["id"]: e["success_status"] for e in seq.toc()}["a"] == "unknown"


def test_cmi_objectives_entries_feed_the_named_objectives():
    """SN 4.2 / RTE 4.2.17: cmi.objectives.n (by id) sets that objective's success, measure,
    completion and progress; through its map they reach the global objective."""
    shared = mapinfo("g", read=(), write=("satisfied", "measure", "completion", "progress"))
    tree = node("root", node("a", objectives=[objective("p", True), objective("x", maps=[shared])]))
    seq = sequencer(tree)
    seq.navigate("start")
    entry = {
        "success_status": "failed",
        "completion_status": "incomplete",
        "progress_measure": 0.4,
        "score": {"scaled": 0.3},
    }
    seq.report("a", {**PASSED, "objectives": [{"id": "x", **entry}]})
    seq.navigate("exitAll")
    assert seq.state["globals"]["g"] == {
        "satisfied": False,
        "measure": 0.3,
        "completed": False,
        "progress": 0.4,
        "raw": None,
        "min": None,
        "max": None,
    }


def test_session_times_add_up_to_the_attempt_duration_that_limits_use():
    """SN 4.2.1.2 / UP.1: cmi.session_time (ISO 8601 or seconds) of each session of an attempt
    adds to its duration; past attemptAbsoluteDurationLimit the activity is not delivered."""
    seq = sequencer(node("root", node("a", limits={"attempt_absolute_duration": 100.0}), node("b")))
    assert seq.navigate("start").deliver == "a" and seq.current == "a"
    seq.report("a", {"session_time": "PT1M30S", "exit": "suspend"})
    seq.navigate("suspendAll")
    assert seq.suspended == "a"
    seq.navigate("resumeAll")
    seq.report("a", {"session_time": 20})
    seq.navigate("continue")
    assert seq.state["activities"]["a"]["duration"] == 110.0
    assert seq.navigate("previous").exception == "SB.2.2-2"


def test_any_request_sequence_leaves_a_launchable_leaf_or_a_book_exception():
    """OP.1 whatever the package and the learner do: every request ends in a leaf to launch
    (then current and active), the end of the session (nothing current), or one of the
    book's exception codes; never a crash; and the state always survives a JSON reload."""
    import random
    import re

    from scorm.sequencing.sequencer import NAVIGATION_REQUESTS
    from tests.scorm.seqtrees import random_tree

    code = re.compile(r"^(NB\.2\.1|TB\.2\.3|SB\.2\.\d+|DB\.1\.1|DB\.2)-\d+$")
    for seed in range(30):
        r = random.Random(seed)
        seq = sequencer(random_tree(r), seed=seed)
        ids = list(seq.tree.activities)
        for step in range(20):
            request = r.choice(NAVIGATION_REQUESTS)
            out = seq.navigate(request, r.choice(ids) if request in ("choice", "jump") else None)
            if out.deliver is not None:
                activity = seq.tree[out.deliver]
                assert activity.is_leaf and seq.current == out.deliver
                assert seq.state["activities"][out.deliver]["active"] is True
                seq.report(
                    out.deliver,
                    {
                        "completion_status": r.choice(["completed", "incomplete", "unknown"]),
                        "success_status": r.choice(["passed", "failed", "unknown"]),
                        "score": {"scaled": r.choice([None, 0.2, 0.9])},
                        "exit": r.choice(["", "suspend"]),
                    },
                )
            elif out.end_session:
                assert seq.current is None
            elif out.exception is not None:
                assert code.match(out.exception), out.exception
            if step % 7 == 0:
                seq.valid_requests()
            seq = Sequencer(seq.tree, json.loads(json.dumps(seq.state)), seed)


def test_request_valid_answers_the_run_time_data_model_elements():
    """RTE 4.4.2 adl.nav.request_valid.continue / previous / choice.{target=} /
    jump.{target=}: "true" or "false" from the processes, "unknown" for a target that is not
    in the tree."""
    seq = sequencer(COURSE)
    seq.navigate("start")
    assert seq.request_valid("continue") == "true"
    assert seq.request_valid("previous") == "false"
    assert seq.request_valid("choice.{target=d}") == "true"
    assert seq.request_valid("choice.{target=c}") == "false"  # hidden from choice
    assert seq.request_valid("jump.{target=c}") == "true"
    assert seq.request_valid("choice.{target=nowhere}") == "unknown"
    assert seq.request_valid("sideways") == "unknown"
