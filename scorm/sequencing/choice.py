"""Choice and jump (SN book Appendix C): Choice Activity Traversal (SB.2.4), the Choice
Sequencing Request Process (SB.2.9) with Choice Flow (SB.2.9.1) and Choice Flow Tree
Traversal (SB.2.9.2) for adlseq:constrainChoice, and the Jump Sequencing Request (SB.2.13)."""

from __future__ import annotations

from scorm.sequencing.errors import EndSession, SequencingError
from scorm.sequencing.flow import flow
from scorm.sequencing.rules import sequencing_rules_check
from scorm.sequencing.termination import (
    common_ancestor,
    end_attempt,
    terminate_descendent_attempts,
)
from scorm.sequencing.tracking import Tracking
from scorm.sequencing.tree import Activity

__all__ = [
    "choice_activity_traversal",
    "choice_flow",
    "choice_flow_tree_traversal",
    "choice_sequencing_request",
    "jump_sequencing_request",
]


def choice_activity_traversal(m: Tracking, activity: Activity, direction: str) -> None:
    """SB.2.4 Choice Activity Traversal Subprocess: forward, a stopForwardTraversal rule
    blocks (SB.2.4-1); backward, a forward-only parent blocks (SB.2.4-2)."""
    if direction == "forward":
        if sequencing_rules_check(m, activity, "pre", ("stopForwardTraversal",)) is not None:
            raise SequencingError("SB.2.4-1")
        return
    if activity.parent is None:
        raise SequencingError("SB.2.4-3")
    if activity.parent.forward_only:
        raise SequencingError("SB.2.4-2")


def choice_flow_tree_traversal(m: Tracking, activity: Activity, direction: str) -> Activity | None:
    """SB.2.9.2 Choice Flow Tree Traversal Subprocess: the next (or previous) sibling, going
    up through the parents; None past either end of the tree."""
    parent = activity.parent
    if parent is None:
        return None
    siblings = m.children(parent)
    if activity not in siblings:
        return None
    index = siblings.index(activity)
    if direction == "forward":
        if index == len(siblings) - 1:
            return choice_flow_tree_traversal(m, parent, direction)
        return siblings[index + 1]
    if index == 0:
        return choice_flow_tree_traversal(m, parent, direction)
    return siblings[index - 1]


def choice_flow(m: Tracking, activity: Activity, direction: str) -> Activity:
    """SB.2.9.1 Choice Flow Subprocess: the activity next to `activity` in `direction`, or
    the activity itself at the end of the tree."""
    return choice_flow_tree_traversal(m, activity, direction) or activity


def _forward_of(m: Tracking, target: Activity, origin: Activity) -> bool:
    order = m.preorder()
    return target in order and origin in order and order.index(target) > order.index(origin)


def _check_path_down(m: Tracking, path: list[Activity], forward: bool) -> None:
    """The activities between the common ancestor and the target: forward traversal allowed
    (SB.2.4), and none inactive with adlseq:preventActivation (SB.2.9-6)."""
    for activity in path:
        if forward:
            choice_activity_traversal(m, activity, "forward")
        if not m.active(activity) and activity.prevent_activation:
            raise SequencingError("SB.2.9-6")


def _check_constrained(m: Tracking, constrained: Activity, target: Activity) -> None:
    direction = "forward" if _forward_of(m, target, constrained) else "backward"
    neighbour = choice_flow(m, constrained, direction)
    near = target is neighbour or target.is_descendant_of(neighbour)
    inside = target is constrained or target.is_descendant_of(constrained)
    if not near and not inside:
        raise SequencingError("SB.2.9-8")


def choice_sequencing_request(m: Tracking, target: Activity | None) -> Activity:
    """SB.2.9 Choice Sequencing Request Process: the leaf to deliver for a choice of
    `target`; a cluster delivers the leaf flow reaches inside it (SB.2.9-9 when none)."""
    if target is None:
        raise SequencingError("SB.2.9-1")
    for activity in target.path_from_root():
        if activity.parent is not None and activity not in m.children(activity.parent):
            raise SequencingError("SB.2.9-2")
        if sequencing_rules_check(m, activity, "pre", ("hiddenFromChoice",)) is not None:
            raise SequencingError("SB.2.9-3")
    if target.parent is not None and not target.parent.choice:
        raise SequencingError("SB.2.9-4")
    current = m.get_current()
    top = common_ancestor(current, target) if current is not None else m.root
    path = target.path_from_root()
    between = path[path.index(top) + 1 : -1]  # strictly between the common ancestor and target
    if current is target:
        pass  # case 1: the current activity again
    elif (
        current is not None
        and current.parent is target.parent
        and current in m.children(current.parent)
    ):
        # case 2: a sibling; the current activity and those passed on the way must allow
        # the traversal (stopForwardTraversal blocks going past an activity)
        siblings = m.children(target.parent) if target.parent else [target]
        here, there = siblings.index(current), siblings.index(target)
        if there > here:
            passed, direction = siblings[here:there], "forward"
        else:
            passed, direction = list(reversed(siblings[there + 1 : here + 1])), "backward"
        if not passed:
            raise SequencingError("SB.2.9-5")
        for activity in passed:
            choice_activity_traversal(m, activity, direction)
    elif current is None or top is current:
        # case 3: down from the current activity (or the root) to the target
        choice_activity_traversal(m, top, "forward")
        _check_path_down(m, between, forward=True)
    elif target is top:
        # case 4: up to an ancestor of the current activity; each activity left must allow
        # it (the current one was checked by the navigation request)
        for activity in current.ancestors():
            if activity is target:
                break
            if not activity.choice_exit:
                raise SequencingError("SB.2.9-7")
    else:
        # case 5: elsewhere in the tree; leave up to the common ancestor, then go down
        constrained = current if current.constrain_choice else None
        for activity in current.ancestors():
            if activity is top:
                break
            if not activity.choice_exit:
                raise SequencingError("SB.2.9-7")
            if constrained is None and activity.constrain_choice:
                constrained = activity
        if constrained is not None:
            _check_constrained(m, constrained, target)
        _check_path_down(m, between, forward=_forward_of(m, target, current))
    if target.is_leaf:
        return target
    try:
        return flow(m, target, "forward", True)
    except (SequencingError, EndSession):
        if current is not None:
            terminate_descendent_attempts(m, top)
            end_attempt(m, top)
            m.set_current(target)
        raise SequencingError("SB.2.9-9") from None


def jump_sequencing_request(m: Tracking, target: Activity | None) -> Activity:
    """SB.2.13 Jump Sequencing Request Process (4th Edition): deliver the target named by
    the content's {target=...}jump, without the choice checks."""
    if m.get_current() is None:
        raise SequencingError("SB.2.13-1")
    if target is None:
        raise SequencingError("SB.2.13-2")
    return target
