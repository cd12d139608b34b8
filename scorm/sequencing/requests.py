"""The Sequencing Request Process (SN book SB.2.12) and the requests that flow: start
(SB.2.5), resume all (SB.2.6), continue (SB.2.7), previous (SB.2.8), retry (SB.2.10) and
exit (SB.2.11); choice and jump are in `choice`.

ADL's sample RTE evaluates the rules met during a retry's flow as if the new attempt had
already begun (its "retry" flag); the book's SB.2.10 does not, and neither does Hocvu: the
new attempt's information is reset when it begins (DB.2)."""

from __future__ import annotations

from scorm.sequencing.choice import choice_sequencing_request, jump_sequencing_request
from scorm.sequencing.errors import EndSession, SequencingError
from scorm.sequencing.flow import flow
from scorm.sequencing.tracking import Tracking
from scorm.sequencing.tree import Activity

__all__ = [
    "continue_sequencing_request",
    "exit_sequencing_request",
    "previous_sequencing_request",
    "resume_all_sequencing_request",
    "retry_sequencing_request",
    "sequencing_request",
    "start_sequencing_request",
]


def start_sequencing_request(m: Tracking) -> Activity:
    """SB.2.5 Start Sequencing Request Process: the first leaf flow reaches from the root."""
    if m.get_current() is not None:
        raise SequencingError("SB.2.5-1")
    if m.attempts(m.root) > 0:
        m.new_experience()  # the flow below already belongs to a new attempt on the root
    if m.root.is_leaf:
        return m.root
    return flow(m, m.root, "forward", True)


def resume_all_sequencing_request(m: Tracking) -> Activity:
    """SB.2.6 Resume All Sequencing Request Process: the suspended activity."""
    if m.get_current() is not None:
        raise SequencingError("SB.2.6-1")
    suspended = m.get_suspended()
    if suspended is None:
        raise SequencingError("SB.2.6-2")
    return suspended


def _flow_from_current(m: Tracking, direction: str, prefix: str) -> Activity:
    current = m.get_current()
    if current is None:
        raise SequencingError(f"{prefix}-1")
    if current.parent is not None and not current.parent.flow:
        raise SequencingError(f"{prefix}-2")
    return flow(m, current, direction, False)


def continue_sequencing_request(m: Tracking) -> Activity:
    """SB.2.7 Continue Sequencing Request Process: flow forward from the current activity;
    past the last activity the session ends."""
    return _flow_from_current(m, "forward", "SB.2.7")


def previous_sequencing_request(m: Tracking) -> Activity:
    """SB.2.8 Previous Sequencing Request Process: flow backward from the current one."""
    return _flow_from_current(m, "backward", "SB.2.8")


def retry_sequencing_request(m: Tracking) -> Activity:
    """SB.2.10 Retry Sequencing Request Process: a new attempt on the current activity; a
    cluster delivers the leaf flow reaches inside it (SB.2.10-3 when none)."""
    current = m.get_current()
    if current is None:
        raise SequencingError("SB.2.10-1")
    if m.active(current) or m.suspended(current):
        raise SequencingError("SB.2.10-2")
    if current.is_leaf:
        return current
    if current.parent is None:
        m.new_experience()
    try:
        return flow(m, current, "forward", True)
    except (SequencingError, EndSession):
        raise SequencingError("SB.2.10-3") from None


def exit_sequencing_request(m: Tracking) -> None:
    """SB.2.11 Exit Sequencing Request Process: exiting the root ends the session."""
    current = m.get_current()
    if current is None:
        raise SequencingError("SB.2.11-1")
    if m.active(current):
        raise SequencingError("SB.2.11-2")
    if current.parent is None:
        raise EndSession


def sequencing_request(m: Tracking, request: str, target: Activity | None) -> Activity | None:
    """SB.2.12 Sequencing Request Process: the activity to deliver for `request`, None when
    there is none (raises EndSession or the request's SequencingError)."""
    if request == "start":
        return start_sequencing_request(m)
    if request == "resumeAll":
        return resume_all_sequencing_request(m)
    if request == "exit":
        exit_sequencing_request(m)
        return None
    if request == "retry":
        return retry_sequencing_request(m)
    if request == "continue":
        return continue_sequencing_request(m)
    if request == "previous":
        return previous_sequencing_request(m)
    if request == "choice":
        return choice_sequencing_request(m, target)
    if request == "jump":
        return jump_sequencing_request(m, target)
    raise SequencingError("SB.2.12-1")
