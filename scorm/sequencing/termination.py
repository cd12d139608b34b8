"""Navigation and termination (SN book Appendix C): Navigation Request Process (NB.2.1),
Termination Request Process (TB.2.3) with the Sequencing Exit Action Rules (TB.2.1) and
Sequencing Post Condition Rules (TB.2.2) subprocesses, End Attempt (UP.4) and Terminate
Descendent Attempts (UP.3)."""

from __future__ import annotations

from scorm.sequencing.errors import SequencingError
from scorm.sequencing.report import apply_pending, discard_pending
from scorm.sequencing.rollup import overall_rollup
from scorm.sequencing.rules import sequencing_rules_check
from scorm.sequencing.tracking import Tracking
from scorm.sequencing.tree import Activity

__all__ = [
    "common_ancestor",
    "end_attempt",
    "navigation_request",
    "sequencing_exit_action_rules",
    "sequencing_post_condition_rules",
    "terminate_descendent_attempts",
    "termination_request",
]


def common_ancestor(a: Activity, b: Activity) -> Activity:
    """The deepest activity that is `a` or an ancestor of it and `b` or an ancestor of b."""
    chain = set(map(id, b.path_from_root()))
    return next(x for x in [a, *a.ancestors()] if id(x) in chain)


def navigation_request(
    m: Tracking, request: str, target: Activity | None
) -> tuple[str | None, str | None]:
    """NB.2.1 Navigation Request Process: whether the request may be carried out now, and
    the termination and sequencing requests it becomes (raises the NB.2.1 exception)."""
    current = m.get_current()
    if request == "start":
        if current is not None:
            raise SequencingError("NB.2.1-1")
        return None, "start"
    if request == "resumeAll":
        if current is not None:
            raise SequencingError("NB.2.1-1")
        if m.get_suspended() is None:
            raise SequencingError("NB.2.1-3")
        return None, "resumeAll"
    if request in ("continue", "previous"):
        if current is None:
            raise SequencingError("NB.2.1-2")
        parent = current.parent
        if request == "continue" and (parent is None or not parent.flow):
            raise SequencingError("NB.2.1-4")
        if request == "previous":
            if parent is None:
                raise SequencingError("NB.2.1-6")
            if not parent.flow or parent.forward_only:
                raise SequencingError("NB.2.1-5")
        return ("exit" if m.active(current) else None), request
    if request == "choice":
        if target is None or not m.is_available(target):
            raise SequencingError("NB.2.1-11")
        if target.parent is not None and not target.parent.choice:
            raise SequencingError("NB.2.1-10")
        if current is not None:
            if current is not target and not target.is_descendant_of(current):
                # Leaving activities: each active one must allow it (choiceExit).
                top = common_ancestor(current, target)
                for activity in [current, *current.ancestors()]:
                    if activity is top:
                        break
                    if m.active(activity) and not activity.choice_exit:
                        raise SequencingError("NB.2.1-8")
            return ("exit" if m.active(current) else None), "choice"
        return None, "choice"
    if request == "jump":
        if target is None or not m.is_available(target):
            raise SequencingError("NB.2.1-11")
        if current is None:
            raise SequencingError("NB.2.1-2")
        return ("exit" if m.active(current) else None), "jump"
    if request in ("exit", "abandon"):
        if current is None:
            raise SequencingError("NB.2.1-2")
        if not m.active(current):
            raise SequencingError("NB.2.1-12")
        return request, "exit"
    if request in ("exitAll", "abandonAll", "suspendAll"):
        if current is None:
            raise SequencingError("NB.2.1-2")
        return request, "exit"
    raise SequencingError("NB.2.1-13")


def end_attempt(m: Tracking, activity: Activity) -> None:
    """UP.4 End Attempt Process: a tracked leaf whose content did not set completion
    (completionSetByContent false) is completed, and one that did not set its primary
    objective (objectiveSetByContent false) is satisfied; a cluster is suspended when a
    child is; the activity stops being active; then Overall Rollup (RB.1.5)."""
    record = m.t(activity)
    if activity.is_leaf:
        if activity.tracked and not record["suspended"]:
            if not activity.completion_set_by_content and record["completed"] is None:
                m.write(activity, activity.primary, "completed", True)
            primary = activity.primary
            # The activity's own (local) Objective Progress Status, not a global's it reads.
            if (
                not activity.objective_set_by_content
                and m.local_satisfied(activity, primary) is None
            ):
                m.write(activity, primary, "satisfied", True)
    else:
        record["suspended"] = any(m.suspended(c) for c in m.children(activity))
    record["active"] = False
    overall_rollup(m, activity)


def terminate_descendent_attempts(m: Tracking, activity: Activity) -> None:
    """UP.3 Terminate Descendent Attempts Process: end the attempts of the activities from
    the current one up to (excluding both) its common ancestor with `activity`."""
    current = m.get_current()
    if current is None:
        return
    top = common_ancestor(current, activity)
    if top is current:
        return  # the identified activity is the current one or below it: nothing is left
    for node in current.ancestors():
        if node is top:
            break
        if m.active(node):
            end_attempt(m, node)


def sequencing_exit_action_rules(m: Tracking) -> None:
    """TB.2.1 Sequencing Exit Action Rules Subprocess: from the root down to the current
    activity's parent, the first activity whose exit rule fires ends its attempt (and its
    descendants') and becomes the current activity."""
    current = m.get_current()
    if current is None:
        return
    for activity in current.path_from_root()[:-1]:
        if sequencing_rules_check(m, activity, "exit", ("exit",)) is not None:
            terminate_descendent_attempts(m, activity)
            end_attempt(m, activity)
            m.set_current(activity)
            return


def sequencing_post_condition_rules(m: Tracking) -> tuple[str | None, str | None]:
    """TB.2.2 Sequencing Post Condition Rules Subprocess: (termination request, sequencing
    request) from the current activity's post-condition rules; none for a suspended one."""
    current = m.get_current()
    if current is None or m.suspended(current):
        return None, None
    action = sequencing_rules_check(
        m, current, "post", ("exitParent", "exitAll", "retry", "retryAll", "continue", "previous")
    )
    if action in ("retry", "continue", "previous"):
        return None, action
    if action in ("exitParent", "exitAll"):
        return action, None
    if action == "retryAll":
        return "exitAll", "retry"
    return None, None


def _exit_all(m: Tracking) -> str:
    current = m.get_current()
    if current is not None and m.active(current):
        apply_pending(m, current)
        end_attempt(m, current)
    terminate_descendent_attempts(m, m.root)
    end_attempt(m, m.root)
    m.set_current(m.root)
    return "exit"


def termination_request(m: Tracking, request: str) -> str | None:
    """TB.2.3 Termination Request Process: end the current attempt(s) as `request` (exit,
    exitAll, suspendAll, abandon, abandonAll) says; returns the sequencing request that
    replaces the pending one (from post-condition rules), or None."""
    current = m.get_current()
    if current is None:
        raise SequencingError("TB.2.3-1")
    if request in ("exit", "abandon") and not m.active(current):
        raise SequencingError("TB.2.3-2")
    if request == "exit":
        apply_pending(m, current)
        end_attempt(m, current)
        sequencing_exit_action_rules(m)
        while True:
            processed_exit = False
            termination, sequencing = sequencing_post_condition_rules(m)
            if termination == "exitAll":
                _exit_all(m)
                # TB.2.3 step 3.3.3: exit all; a retryAll keeps its retry of the root.
                return sequencing or "exit"
            current = m.get_current()
            assert current is not None
            if termination == "exitParent":
                if current.parent is None:
                    raise SequencingError("TB.2.3-4")
                m.set_current(current.parent)
                end_attempt(m, current.parent)
                processed_exit = True
            elif current.parent is None and sequencing != "retry":
                return "exit"
            if not processed_exit:
                return sequencing
    if request == "exitAll":
        return _exit_all(m)
    if request == "suspendAll":
        if m.active(current) or m.suspended(current):
            apply_pending(m, current)
            overall_rollup(m, current)
            m.set_suspended(current)
        elif current.parent is not None:
            m.set_suspended(current.parent)
        else:
            raise SequencingError("TB.2.3-3")
        suspended = m.get_suspended()
        assert suspended is not None
        for activity in suspended.path_from_root():
            m.t(activity)["active"] = False
            m.t(activity)["suspended"] = True
        m.set_current(m.root)
        return "exit"
    if request == "abandon":
        discard_pending(m, current)
        m.t(current)["active"] = False
        return None
    if request == "abandonAll":
        for activity in [current, *current.ancestors()]:
            discard_pending(m, activity)
            m.t(activity)["active"] = False
        m.set_current(m.root)
        return "exit"
    raise SequencingError("TB.2.3-7")
