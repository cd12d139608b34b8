"""Rollup: the LMS-facing status of a SCO (completion, success, normalized score) from its
written values."""

from __future__ import annotations

from collections.abc import Mapping

from scorm.datamodel.engine import Model
from scorm.datamodel.tables import Launch, Outcome

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


def outcome(
    model: Model, launch: Launch, written: Mapping[str, str], *, terminated: bool = False
) -> Outcome:
    """Completion, success and a 0..1 score from the SCO's values, as the LMS rolls them up.

    SCORM 1.2 (Moodle's LMSFinish rules): a status left at 'not attempted' counts as completed
    once the SCO terminated; in normal mode with credit, a mastery score and a raw score decide
    passed/failed (and, once terminated, completion). 'failed' implies completed; 'browsed'
    counts as incomplete. SCORM 2004 (4th ed. RTE 4.2.4.1, 4.2.22.1): once the manifest gives
    a completion_threshold (a scaled_passing_score), progress_measure (score.scaled) decides
    the status, and without one the status is unknown, whatever the SCO set.
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
