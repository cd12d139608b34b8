"""Sequencing requests (SN book Appendix C SB.2.1-SB.2.13) and selection/randomization
(SR.1, SR.2): which activity start, continue, previous, choice and jump deliver."""

from __future__ import annotations

from tests.scorm.seqtrees import PASSED, cond, node, rule, sequencer, walk

SKIP = [rule("skip", cond("always"))]


def test_start_passes_over_skipped_activities_and_enters_clusters():
    """SB.2.5 -> SB.2.3 -> SB.2.2: from the root, flow enters the first cluster and passes
    over activities whose skip rule fires."""
    tree = node("root", node("intro", pre=SKIP), node("m", node("x", pre=SKIP), node("y")))
    assert sequencer(tree).navigate("start").deliver == "y"


def test_a_cluster_without_flow_cannot_be_entered_by_flow():
    """SB.2.2-1: flow stops at an activity whose parent has flow false (the IMS SS default
    of a SCORM 2004 cluster without controlMode)."""
    out = sequencer(node("root", node("a"), node("b"), flow=False)).navigate("start")
    assert (out.deliver, out.exception) == (None, "SB.2.2-1")


def test_previous_goes_back_and_stops_at_the_beginning():
    """SB.2.8 -> SB.2.1 backward: previous delivers the activity before, passing over a
    skipped one; before the first activity it fails with SB.2.1-3."""
    seq = sequencer(node("root", node("a"), node("b", pre=SKIP), node("c")))
    assert seq.navigate("start").deliver == "a"
    assert seq.navigate("continue").deliver == "c"
    assert seq.navigate("previous").deliver == "a"
    assert seq.navigate("previous").exception == "SB.2.1-3"


def test_previous_into_a_forward_only_cluster_lands_on_its_first_activity():
    """SB.2.1 step 4.3 / SB.2.2 step 5: entering a forward-only cluster backward turns the
    traversal forward, so previous delivers the cluster's first activity, not its last."""
    tree = node("root", node("m", node("x"), node("y"), forward_only=True), node("z"))
    seq = sequencer(tree)
    assert seq.navigate("choice", "z").deliver == "z"
    assert seq.navigate("previous").deliver == "x"


def test_choice_checks_traversal_between_siblings():
    """SB.2.9 case 2 with SB.2.4: choosing forward past a sibling whose stopForwardTraversal
    rule fires ("until attempted") is refused (SB.2.4-1); choosing backward in a forward-only
    cluster too (SB.2.4-2)."""
    stop = [rule("stopForwardTraversal", cond("attempted", negated=True))]
    seq = sequencer(node("root", node("a"), node("b", pre=stop), node("c")))
    seq.navigate("start")
    seq.report("a", PASSED)
    assert seq.navigate("choice", "c").exception == "SB.2.4-1"
    assert seq.navigate("choice", "b").deliver == "b"
    assert seq.navigate("choice", "a").deliver == "a"
    assert seq.navigate("choice", "c").deliver == "c"  # b has been attempted now
    seq = sequencer(node("root", node("a"), node("b"), forward_only=True))
    seq.navigate("start")
    seq.navigate("continue")
    assert seq.navigate("choice", "a").exception == "SB.2.4-2"


def test_choice_of_a_hidden_activity_is_refused():
    """SB.2.9 step 3: an activity (or an ancestor) whose hiddenFromChoice rule fires may
    not be chosen (SB.2.9-3), and the table of contents says so."""
    tree = node(
        "root", node("a"), node("m", node("b"), pre=[rule("hiddenFromChoice", cond("always"))])
    )
    seq = sequencer(tree)
    assert seq.navigate("choice", "b").exception == "SB.2.9-3"
    toc = {e["id"]: e for e in seq.toc()}
    assert toc["m"]["hidden_from_choice"] is True and toc["b"]["valid_choice"] is False
    assert toc["b"]["hidden_from_choice"] is True  # inside a hidden cluster
    assert toc["a"]["valid_choice"] is True


def test_choice_of_a_cluster_delivers_its_first_leaf_by_flow():
    """SB.2.9 step 12: a chosen cluster is not delivered itself; flow from it delivers its
    first available leaf (here after a skipped one). Choosing the root starts the course."""
    tree = node("root", node("a"), node("m", node("x", pre=SKIP), node("y"), node("z")))
    seq = sequencer(tree)
    assert seq.navigate("choice", "m").deliver == "y"
    assert seq.navigate("choice", "root").deliver == "a"


def test_choice_of_a_cluster_without_flow_has_nothing_to_deliver():
    """SB.2.9 step 12.2: when flow finds nothing in the chosen cluster, the choice fails with
    SB.2.9-9 and nothing is launched."""
    tree = node("root", node("a"), node("m", node("x"), flow=False))
    seq = sequencer(tree)
    out = seq.navigate("choice", "m")
    assert (out.deliver, out.exception) == (None, "SB.2.9-9")
    assert seq.navigate("choice", "x").deliver == "x"


def test_constrain_choice_allows_only_the_next_or_previous_activity():
    """SB.2.9 with SB.2.9.1 (adlseq:constrainChoice): leaving a constrained module, only the
    activity flow would reach next (or previous), and what is inside it, may be chosen."""
    tree = node(
        "root",
        node("m1", node("a"), constrain_choice=True),
        node("m2", node("b")),
        node("m3", node("c")),
    )
    seq = sequencer(tree)
    seq.navigate("start")
    assert seq.navigate("choice", "c").exception == "SB.2.9-8"
    assert seq.navigate("choice", "b").deliver == "b"


def test_prevent_activation_forbids_starting_a_module_by_choice():
    """SB.2.9 (adlseq:preventActivation): a choice may not begin an attempt on an inactive
    module that prevents activation (SB.2.9-6); once flow has entered it, choice inside it is
    allowed."""
    tree = node("root", node("z"), node("m", node("a"), node("b"), prevent_activation=True))
    seq = sequencer(tree)
    seq.navigate("start")
    assert seq.navigate("choice", "b").exception == "SB.2.9-6"
    assert seq.navigate("continue").deliver == "a"
    assert seq.navigate("choice", "b").deliver == "b"


def test_jump_delivers_the_target_without_the_choice_checks():
    """SB.2.13 (4th Edition): {target=...}jump from the content goes to the target even
    where choice is off; a disabled target is still refused by delivery (DB.1.1-3)."""
    tree = node(
        "root",
        node("a"),
        node("b"),
        node("c", pre=[rule("disabled", cond("always"))]),
        choice=False,
    )
    seq = sequencer(tree)
    seq.navigate("start")
    assert seq.navigate("choice", "b").exception == "NB.2.1-10"
    assert seq.valid_requests()["jump"] == {"a": True, "b": True, "c": False}
    assert seq.navigate("jump", "b").deliver == "b"
    assert seq.navigate("jump", "c").exception == "DB.1.1-3"


def _random_tree(timing="once"):
    return node(
        "root",
        *(node(f"q{i}") for i in range(1, 7)),
        selection={"timing": timing, "count": 3},
        randomization={"timing": timing, "reorder": True},
    )


def test_selection_count_and_randomization_are_reproducible_from_the_seed():
    """SR.1 + SR.2: selectCount 3 of 6 children, reordered; the course still delivers (the
    three drawn, in the drawn order, then ends), the same seed draws the same, and a reload
    of the stored state keeps the draw."""
    first = sequencer(_random_tree(), seed=11)
    drawn = first.state["activities"]["root"]["children"]
    assert len(drawn) == 3 and set(drawn) <= {f"q{i}" for i in range(1, 7)}
    assert walk(first, "start", {}) == [*drawn, "END"]
    assert sequencer(_random_tree(), seed=11).state["activities"]["root"]["children"] == drawn
    draws = {
        tuple(sequencer(_random_tree(), seed=s).state["activities"]["root"]["children"])
        for s in range(12)
    }
    assert len(draws) > 1
    reloaded = sequencer(_random_tree(), state=first.state, seed=99)
    assert [e["id"] for e in reloaded.toc()] == ["root", *drawn]
    assert (
        reloaded.navigate(
            "choice", next(q for q in ("q1", "q2", "q3", "q4") if q not in drawn)
        ).exception
        == "NB.2.1-11"
    )


def test_selection_on_each_new_attempt_draws_again_for_the_new_attempt():
    """SR.1 onEachNewAttempt (run when the next attempt begins, an LMS choice the module
    documents): after exit all, the next attempt on the course draws again, from the
    seed, and the draw of each attempt is kept."""
    seq = sequencer(_random_tree("onEachNewAttempt"), seed=3)
    draws = []
    for _ in range(6):
        out = seq.navigate("start")
        draws.append(tuple(seq.state["activities"]["root"]["children"]))
        assert out.deliver == draws[-1][0]
        seq.navigate("exitAll")
    assert len(set(draws)) > 1
    again = sequencer(_random_tree("onEachNewAttempt"), seed=3)
    replay = []
    for _ in range(6):
        again.navigate("start")
        replay.append(tuple(again.state["activities"]["root"]["children"]))
        again.navigate("exitAll")
    assert replay == draws


def test_stop_forward_traversal_blocks_going_past_an_activity_not_reaching_it():
    """SB.2.9 case 2 with SB.2.4: the traversal is checked on the current activity and those
    passed, not on the target: a stopForwardTraversal rule on the current activity blocks
    choosing anything after it, one on the target does not block choosing the target."""
    stop = [rule("stopForwardTraversal", cond("always"))]
    seq = sequencer(node("root", node("a"), node("b", pre=stop), node("c")))
    seq.navigate("start")
    assert seq.navigate("choice", "c").exception == "SB.2.4-1"  # passes b
    assert seq.navigate("choice", "b").deliver == "b"  # reaches b
    assert seq.navigate("choice", "c").exception == "SB.2.4-1"  # leaves b forward
    assert seq.navigate("choice", "a").deliver == "a"  # backward is not forward traversal


def test_choice_down_from_the_root_checks_the_clusters_on_the_way():
    """SB.2.9 case 3: with no current activity, a stopForwardTraversal rule on a cluster
    between the root and the target blocks the choice (SB.2.4-1)."""
    stop = [rule("stopForwardTraversal", cond("always"))]
    tree = node("root", node("m", node("a"), node("b"), pre=stop), node("z"))
    assert sequencer(tree).navigate("choice", "b").exception == "SB.2.4-1"
    assert sequencer(tree).navigate("choice", "z").deliver == "z"


def test_previous_cannot_walk_backward_through_a_forward_only_cluster():
    """SB.2.1 step 4.2: walking backward out of a module into a forward-only parent is
    refused (SB.2.1-4), although the module itself allows previous (NB.2.1 passes)."""
    tree = node("root", node("m1", node("a")), node("m2", node("x"), node("y")), forward_only=True)
    seq = sequencer(tree)
    seq.navigate("choice", "x")
    assert seq.navigate("previous").exception == "SB.2.1-4"


def test_previous_passes_backward_over_a_forward_only_cluster_whose_activities_are_skipped():
    """SB.2.1 step 2 (reversal) with SB.2.2: entering a forward-only cluster backward turns
    forward; when every activity in it is skipped, the traversal turns round at its end and
    leaves it backward, reaching the activity before it."""
    tree = node(
        "root",
        node("a"),
        node("m", node("x", pre=SKIP), node("y", pre=SKIP), forward_only=True),
        node("z"),
    )
    seq = sequencer(tree)
    assert seq.navigate("choice", "z").deliver == "z"
    assert seq.navigate("previous").deliver == "a"
