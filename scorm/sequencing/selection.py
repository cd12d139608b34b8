"""Selection and randomization (SN book 3.10, Appendix C SR.1 and SR.2): which children an
attempt of a cluster offers (Available Children) and in which order. The draws come from the
registration's seed, per activity and attempt, and their result is kept in the state, so a
reload offers the same children."""

from __future__ import annotations

from scorm.sequencing.tracking import Tracking
from scorm.sequencing.tree import Activity

__all__ = ["prepare_children", "randomize_children", "select_children"]


def _may_change(m: Tracking, activity: Activity, timing: str) -> bool:
    if activity.is_leaf or m.active(activity) or m.suspended(activity):
        return False
    if timing == "once":
        return m.attempts(activity) == 0  # Activity Progress Status false
    return timing == "onEachNewAttempt"


def select_children(m: Tracking, activity: Activity) -> None:
    """SR.1 Select Children Process: `selectCount` of the children, chosen at random and
    kept in tree order, become the available children."""
    if not _may_change(m, activity, activity.selection_timing):
        return
    count = activity.selection_count
    children = list(activity.children)
    if count is not None and count < len(children):
        picked = sorted(m.rng(activity, "select").sample(range(len(children)), count))
        children = [children[i] for i in picked]
    m.t(activity)["children"] = [c.id for c in children]


def randomize_children(m: Tracking, activity: Activity) -> None:
    """SR.2 Randomize Children Process: shuffle the available children when
    reorderChildren is set."""
    if not activity.reorder_children or not _may_change(m, activity, activity.randomization_timing):
        return
    children = list(m.t(activity)["children"])
    m.rng(activity, "order").shuffle(children)
    m.t(activity)["children"] = children


def prepare_children(m: Tracking, activity: Activity) -> None:
    """Apply SR.1 then SR.2 before an attempt of `activity` begins, once per attempt.

    LMS choice: the book leaves when these processes run to the LMS. Hocvu runs them for
    "once" when the registration is created, and for "onEachNewAttempt" also when flow or a
    retry enters the cluster while it is not active (its next attempt is a new one)."""
    record = m.t(activity)
    upcoming = m.attempts(activity) + (0 if m.active(activity) else 1)
    if record.get("selected") == upcoming or m.active(activity) or m.suspended(activity):
        return
    record["selected"] = upcoming
    select_children(m, activity)
    randomize_children(m, activity)
