"""Flow (SN book Appendix C): Flow Tree Traversal (SB.2.1), Flow Activity Traversal
(SB.2.2) and the Flow Subprocess (SB.2.3): from an activity, forward or backward through the
available children, to the next leaf that may be delivered."""

from __future__ import annotations

from scorm.sequencing.errors import EndSession, SequencingError
from scorm.sequencing.rules import check_activity, sequencing_rules_check
from scorm.sequencing.selection import prepare_children
from scorm.sequencing.termination import terminate_descendent_attempts
from scorm.sequencing.tracking import Tracking
from scorm.sequencing.tree import Activity

__all__ = ["flow", "flow_activity_traversal", "flow_tree_traversal"]


def _siblings(m: Tracking, activity: Activity) -> list[Activity]:
    assert activity.parent is not None
    return m.children(activity.parent)


def flow_tree_traversal(
    m: Tracking,
    activity: Activity,
    direction: str,
    consider_children: bool,
    previous_direction: str | None = None,
) -> tuple[Activity, str]:
    """SB.2.1 Flow Tree Traversal Subprocess: the next activity in preorder (forward) or
    reverse preorder (backward) and the direction taken. Past the last activity it ends the
    descendants' attempts and the session (EndSession); before the first it raises SB.2.1-3,
    and backward inside a forward-only cluster SB.2.1-4 (unless turning round out of one)."""
    parent = activity.parent
    turned = False
    if previous_direction == "backward" and parent is not None:
        siblings = _siblings(m, activity)
        if siblings and siblings[-1] is activity:
            # Leaving a forward-only cluster entered backward: turn round at its first child.
            direction, activity, turned = "backward", siblings[0], True
    if direction == "forward":
        last = m.preorder()[-1]
        if activity is last or (parent is None and not consider_children):
            terminate_descendent_attempts(m, m.root)
            raise EndSession
        if activity.is_leaf or not consider_children:
            assert parent is not None
            siblings = _siblings(m, activity)
            if activity not in siblings or siblings[-1] is activity:
                return flow_tree_traversal(m, parent, "forward", False)
            return siblings[siblings.index(activity) + 1], "forward"
        prepare_children(m, activity)
        children = m.children(activity)
        if not children:
            raise SequencingError("SB.2.1-2")
        return children[0], "forward"
    if parent is None:
        raise SequencingError("SB.2.1-3")
    if activity.is_leaf or not consider_children:
        if parent.forward_only and not turned:
            raise SequencingError("SB.2.1-4")  # no walking backward in a forward-only cluster
        siblings = _siblings(m, activity)
        if activity not in siblings or siblings[0] is activity:
            return flow_tree_traversal(m, parent, "backward", False)
        return siblings[siblings.index(activity) - 1], "backward"
    prepare_children(m, activity)
    children = m.children(activity)
    if not children:
        raise SequencingError("SB.2.1-2")
    if activity.forward_only:
        return children[0], "forward"
    return children[-1], "backward"


def flow_activity_traversal(
    m: Tracking, activity: Activity, direction: str, previous_direction: str | None = None
) -> Activity:
    """SB.2.2 Flow Activity Traversal Subprocess: the leaf flow delivers from `activity`,
    passing over skipped activities and into clusters; SB.2.2-1 when the parent does not
    allow flow, SB.2.2-2 when the activity is disabled or over a limit."""
    parent = activity.parent
    if parent is not None and not parent.flow:
        raise SequencingError("SB.2.2-1")
    if sequencing_rules_check(m, activity, "pre", ("skip",)) is not None:
        following, taken = flow_tree_traversal(m, activity, direction, False, previous_direction)
        if previous_direction == "backward" and taken == "backward":
            return flow_activity_traversal(m, following, taken, None)
        return flow_activity_traversal(m, following, direction, previous_direction)
    if check_activity(m, activity):
        raise SequencingError("SB.2.2-2")
    if not activity.is_leaf:
        following, taken = flow_tree_traversal(m, activity, direction, True, None)
        if direction == "backward" and taken == "forward":
            return flow_activity_traversal(m, following, "forward", "backward")
        return flow_activity_traversal(m, following, direction, None)
    return activity


def flow(m: Tracking, activity: Activity, direction: str, consider_children: bool) -> Activity:
    """SB.2.3 Flow Subprocess: the deliverable leaf that flow reaches from `activity`."""
    following, _ = flow_tree_traversal(m, activity, direction, consider_children, None)
    return flow_activity_traversal(m, following, direction, None)
