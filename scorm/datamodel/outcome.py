"""Rollup: the LMS-facing status of a SCO (completion, success, normalized score) from its
written values."""

from __future__ import annotations

from collections.abc import Mapping

from scorm.datamodel.engine import Model
from scorm.datamodel.tables import Launch, Outcome
from scorm.manifest import DeliveryControls

# Rollup: the LMS-facing status of a SCO.


def _float(value: str | None) -> float | None:
    if value is None or value == "":
        return None
    try:
        return float(value)
    except ValueError:
        return None


def _scaled(raw: float | None, lo: float | None, hi: float | None) -> float | None:
    """(raw - min) / (max - min) with SCORM 1.2's implied 0..100, clamped to 0..1."""
    if raw is None:
        return None
    lo = 0.0 if lo is None else lo
    hi = 100.0 if hi is None else hi
    if hi <= lo:
        return None
    return min(1.0, max(0.0, (raw - lo) / (hi - lo)))


_COMPLETION_12 = {
    "passed": "completed",
    "failed": "completed",
    "completed": "completed",
    "incomplete": "incomplete",
    "browsed": "incomplete",
    "not attempted": "not attempted",
}


def end_attempt(
    completion: str,
    success: str,
    controls: DeliveryControls = DeliveryControls(),
    *,
    suspended: bool = False,
    completed_by_measure: bool = False,
    satisfied_by_measure: bool = False,
) -> tuple[str, str]:
    """A leaf activity's statuses once its attempt ends: SN book, End Attempt Process [UP.4].

    For a tracked activity that is not suspended (UP.4 1.1, 1.1.1): when completion is not
    set by content (deliveryControls completionSetByContent, false by default) and the content
    did not report attempt progress (cmi.completion_status "unknown"), the attempt is completed
    (1.1.1.1); when the objective is not set by content (objectiveSetByContent, false by
    default) and the content did not report the primary objective's progress
    (cmi.success_status "unknown"), it is satisfied: passed (1.1.1.2). A status decided by a
    measure the content did not report has no value in the rollup that follows (completion by
    progress measure: RB.1.3.a; a primary objective satisfied by measure: RB.1.2.a 2.1.1), so
    the default does not stand for it. A suspended or untracked activity keeps what it has.
    """
    if not controls.tracked or suspended:
        return completion, success
    if (
        not controls.completion_set_by_content
        and completion == "unknown"
        and not completed_by_measure
    ):
        completion = "completed"
    if not controls.objective_set_by_content and success == "unknown" and not satisfied_by_measure:
        success = "passed"
    return completion, success


def outcome(
    model: Model,
    launch: Launch,
    written: Mapping[str, str],
    *,
    terminated: bool = False,
    controls: DeliveryControls | None = None,
) -> Outcome:
    """Completion, success and a 0..1 score from the SCO's values, as the LMS rolls them up.

    SCORM 1.2 (Moodle's LMSFinish rules): a status left at 'not attempted' counts as completed
    once the SCO terminated; in normal mode with credit, a mastery score and a raw score decide
    passed/failed (and, once terminated, completion). 'failed' implies completed; 'browsed'
    counts as incomplete. SCORM 2004 (4th ed. RTE 4.2.4.1, 4.2.22.1): once the manifest gives
    a completion_threshold (a scaled_passing_score), progress_measure (score.scaled) decides
    the status, and without one the status is unknown, whatever the SCO set. Once the SCO
    terminated without suspending (cmi.exit "suspend" or adl.nav.request suspendAll), its
    attempt is over and `end_attempt` gives the statuses content did not report, by the item's
    delivery `controls` (the defaults when None).
    """
    seconds = 0.0
    if model.version == "1.2":
        status = written.get("cmi.core.lesson_status", "not attempted")
        completion = _COMPLETION_12.get(status, "unknown")
        if completion == "not attempted" and terminated:
            completion = "completed"
        success = status if status in ("passed", "failed") else "unknown"
        raw = _float(written.get("cmi.core.score.raw"))
        if (
            launch.mode == "normal"
            and launch.credit == "credit"
            and launch.mastery_score is not None
            and raw is not None
        ):
            success = "passed" if raw >= launch.mastery_score else "failed"
            if terminated:
                completion = "completed"
        scaled = _scaled(
            raw,
            _float(written.get("cmi.core.score.min")),
            _float(written.get("cmi.core.score.max")),
        )
        try:
            seconds = model.seconds(written.get("cmi.core.session_time", ""))
        except ValueError:
            seconds = 0.0
        return Outcome(
            completion=completion,
            success=success,
            score_scaled=scaled,
            score_raw=raw,
            session_seconds=seconds,
            exit=written.get("cmi.core.exit", ""),
            location=written.get("cmi.core.lesson_location", ""),
            suspend_data=written.get("cmi.suspend_data", ""),
        )
    completion = written.get("cmi.completion_status", "unknown")
    progress = _float(written.get("cmi.progress_measure"))
    if launch.completion_threshold is not None:
        if progress is None:
            completion = "unknown"
        else:
            completion = "completed" if progress >= launch.completion_threshold else "incomplete"
    success = written.get("cmi.success_status", "unknown")
    scaled = _float(written.get("cmi.score.scaled"))
    if launch.scaled_passing_score is not None:
        if scaled is None:
            success = "unknown"
        else:
            success = "passed" if scaled >= launch.scaled_passing_score else "failed"
    if terminated:
        completion, success = end_attempt(
            completion,
            success,
            controls or DeliveryControls(),
            suspended=written.get("cmi.exit") == "suspend"
            or written.get("adl.nav.request") == "suspendAll",
            completed_by_measure=launch.completion_threshold is not None,
            satisfied_by_measure=launch.scaled_passing_score is not None,
        )
    raw = _float(written.get("cmi.score.raw"))
    if scaled is not None:
        normal: float | None = min(1.0, max(0.0, scaled))
    elif raw is not None and "cmi.score.max" in written:
        normal = _scaled(
            raw, _float(written.get("cmi.score.min")), _float(written.get("cmi.score.max"))
        )
    else:
        normal = None
    try:
        seconds = model.seconds(written.get("cmi.session_time", ""))
    except ValueError:
        seconds = 0.0
    return Outcome(
        completion=completion,
        success=success,
        score_scaled=normal,
        score_raw=raw,
        session_seconds=seconds,
        exit=written.get("cmi.exit", ""),
        location=written.get("cmi.location", ""),
        suspend_data=written.get("cmi.suspend_data", ""),
    )
