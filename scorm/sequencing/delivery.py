"""Delivery (SN book Appendix C): the Delivery Request Process (DB.1.1), the Content
Delivery Environment Process (DB.2) and Clear Suspended Activity (DB.2.1)."""

from __future__ import annotations

from scorm.sequencing.errors import SequencingError
from scorm.sequencing.rules import check_activity
from scorm.sequencing.termination import common_ancestor, terminate_descendent_attempts
from scorm.sequencing.tracking import Tracking
from scorm.sequencing.tree import Activity

__all__ = ["clear_suspended_activity", "content_delivery_environment", "delivery_request"]


def delivery_request(m: Tracking, activity: Activity) -> None:
    """DB.1.1 Delivery Request Process: only a leaf is delivered (DB.1.1-1), and only when
    no activity from the root down to it fails Check Activity (DB.1.1-3)."""
    if not activity.is_leaf:
        raise SequencingError("DB.1.1-1")
    for node in activity.path_from_root():
        if check_activity(m, node):
            raise SequencingError("DB.1.1-3")


def clear_suspended_activity(m: Tracking, activity: Activity) -> None:
    """DB.2.1 Clear Suspended Activity Subprocess: un-suspend the suspended activity and
    its ancestors up to the common ancestor with `activity` (a cluster only when none of its
    children stays suspended); there is no suspended activity afterwards."""
    suspended = m.get_suspended()
    if suspended is not None:
        top = common_ancestor(activity, suspended)
        for node in [suspended, *suspended.ancestors()]:
            if node.is_leaf or not any(m.suspended(c) for c in m.children(node)):
                m.t(node)["suspended"] = False
            if node is top:
                break
    m.set_suspended(None)


def content_delivery_environment(m: Tracking, activity: Activity) -> None:
    """DB.2 Content Delivery Environment Process: end the attempts being left, begin (or
    resume) an attempt on every activity from the root to `activity`, and make it current.
    A new attempt counts, starts with unknown objective and attempt information, and gets
    cmi.entry ab-initio; a suspended one resumes (cmi.entry resume)."""
    current = m.get_current()
    if current is not None and m.active(current):
        raise SequencingError("DB.2-1")
    if activity is not m.get_suspended():
        clear_suspended_activity(m, activity)
    terminate_descendent_attempts(m, activity)
    for node in activity.path_from_root():
        record = m.t(node)
        if record["active"]:
            continue
        if node.tracked and record["suspended"]:
            record["suspended"] = False
            record["entry"] = "resume"
        else:
            if node.tracked:
                record["attempts"] += 1
            m.reset_attempt(node)
            record["entry"] = "ab-initio"
        record["active"] = True
    m.set_current(activity)
    m.set_suspended(None)
