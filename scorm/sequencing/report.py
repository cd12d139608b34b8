"""Between the content and the tracking model: what a SCO reported (its cmi.* values at
Commit or Terminate) into the tracking model, and what the LMS puts in cmi.* before a launch
(SN book 4.2 and RTE book 4.2's mapping of the run-time data model to tracking).

A report waits in the activity's `pending` record until the attempt's fate is known: exit,
exit all and suspend all apply it (before End Attempt), abandon and abandon all discard it
(SN 4.3: an abandoned attempt leaves no trace in the tracking model)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from scorm.sequencing.definition import duration_seconds
from scorm.sequencing.tracking import Tracking
from scorm.sequencing.tree import Activity, ObjectiveDef

__all__ = [
    "apply_pending",
    "discard_pending",
    "launch_values",
    "normalise_runtime",
    "runtime_report",
]

_SUCCESS = {"passed": True, "failed": False}
_COMPLETION = {"completed": True, "incomplete": False, "not attempted": False}


def _number(value: Any) -> float | None:
    if value is None or value == "":
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _seconds(value: Any) -> float:
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        return duration_seconds(value) or 0.0
    return 0.0


def normalise_runtime(runtime: Mapping[str, Any]) -> dict[str, Any]:
    """The report as plain JSON: objectives by id, numbers as floats, session time in s."""
    objectives = runtime.get("objectives") or {}
    if isinstance(objectives, list):
        objectives = {o["id"]: o for o in objectives if o.get("id")}
    return {
        "completion_status": runtime.get("completion_status"),
        "success_status": runtime.get("success_status"),
        "score": {k: _number((runtime.get("score") or {}).get(k)) for k in _SCORE},
        "progress_measure": _number(runtime.get("progress_measure")),
        "objectives": {
            str(i): {
                "success_status": o.get("success_status"),
                "completion_status": o.get("completion_status"),
                "score": {k: _number((o.get("score") or {}).get(k)) for k in _SCORE},
                "progress_measure": _number(o.get("progress_measure")),
            }
            for i, o in objectives.items()
        },
        "exit": runtime.get("exit") or "",
        "session_time": _seconds(runtime.get("session_time")) or 0.0,
    }


_SCORE = ("scaled", "raw", "min", "max")


def _set_objective(
    m: Tracking, activity: Activity, objective: ObjectiveDef, values: Mapping[str, Any]
) -> None:
    score = values.get("score") or {}
    satisfied = _SUCCESS.get(values.get("success_status") or "")
    if objective.satisfied_by_measure:
        # cmi.scaled_passing_score decides success (RTE 4.2.22): the measure alone counts.
        scaled = score.get("scaled")
        satisfied = None if scaled is None else scaled >= objective.min_measure
    m.write(activity, objective, "satisfied", satisfied)
    m.write(activity, objective, "measure", score.get("scaled"))
    for field in ("raw", "min", "max"):
        m.write(activity, objective, field, score.get(field))


def _completion(activity: Activity, values: Mapping[str, Any]) -> bool | None:
    progress = values.get("progress_measure")
    if activity.completed_by_measure and progress is not None:
        # cmi.completion_threshold (RTE 4.2.4.1): the LMS decides from the progress measure.
        return progress >= activity.min_progress_measure
    return _COMPLETION.get(values.get("completion_status") or "")


def apply_pending(m: Tracking, activity: Activity) -> None:
    """Move the activity's waiting report into the tracking model (SN 4.2 mapping):
    completion_status / progress_measure -> attempt progress information, success_status /
    score -> the primary objective, cmi.objectives.n by id -> the activity's objectives,
    cmi.exit = suspend -> Activity is Suspended, session_time -> durations."""
    record = m.t(activity)
    runtime = record.get("pending")
    record["pending"] = None
    if not runtime:
        return
    record["exit"] = runtime["exit"]
    record["suspended"] = runtime["exit"] == "suspend"
    record["duration"] += runtime["session_time"]
    record["total"] += runtime["session_time"]
    if not activity.tracked:
        return
    primary = activity.primary
    entries = runtime["objectives"]
    values = dict(runtime)
    if _SUCCESS.get(values.get("success_status") or "") is None and primary.id in entries:
        # LMS choice: a cmi.objectives entry with the primary objective's id stands in for
        # cmi.success_status / cmi.score when the SCO left those unknown.
        values = {**entries[primary.id], "progress_measure": runtime["progress_measure"]}
        values["completion_status"] = runtime["completion_status"]
    _set_objective(m, activity, primary, values)
    m.write(activity, primary, "completed", _completion(activity, values))
    m.write(activity, primary, "progress", values.get("progress_measure"))
    for objective in activity.objectives:
        if objective.primary or objective.id not in entries:
            continue
        entry = entries[objective.id]
        _set_objective(m, activity, objective, entry)
        m.write(
            activity, objective, "completed", _COMPLETION.get(entry.get("completion_status") or "")
        )
        m.write(activity, objective, "progress", entry.get("progress_measure"))


def discard_pending(m: Tracking, activity: Activity) -> None:
    """Forget what the content reported during an abandoned attempt."""
    m.t(activity)["pending"] = None


def _success(value: bool | None) -> str:
    return "unknown" if value is None else ("passed" if value else "failed")


def _completion_status(value: bool | None) -> str:
    return "unknown" if value is None else ("completed" if value else "incomplete")


def _objective_values(m: Tracking, activity: Activity, objective: ObjectiveDef) -> dict[str, Any]:
    return {
        "id": objective.id,
        "success_status": _success(m.satisfied(activity, objective)),
        "completion_status": _completion_status(m.completed(activity, objective)),
        "progress_measure": m.progress(activity, objective),
        "score": {
            "scaled": m.measure(activity, objective),
            "raw": m.read(activity, objective, "raw"),
            "min": m.read(activity, objective, "min"),
            "max": m.read(activity, objective, "max"),
        },
    }


def launch_values(m: Tracking, activity: Activity) -> dict[str, Any]:
    """What the LMS puts in the SCO's cmi.* before launching it (RTE 4.2): cmi.entry, the
    thresholds, and cmi.objectives initialised from the tracking model, global objectives
    read through the objective maps. Success and completion of a new attempt start unknown
    unless a global objective the primary objective reads already knows them."""
    primary = activity.primary
    new = m.t(activity)["entry"] != "resume"
    values: dict[str, Any] = {
        "cmi.entry": m.t(activity)["entry"],
        "cmi.completion_threshold": activity.min_progress_measure
        if activity.completed_by_measure
        else None,
        "cmi.scaled_passing_score": primary.min_measure if primary.satisfied_by_measure else None,
        "cmi.objectives": [
            _objective_values(m, activity, o)
            for o in activity.objectives
            if not o.id.endswith("#primary")
        ],
        "hide_lms_ui": list(activity.hide_lms_ui),
    }
    if new:
        read_status = bool(m.reads(primary, "satisfied"))
        read_completion = bool(m.reads(primary, "completed"))
        values["cmi.success_status"] = _success(
            m.satisfied(activity, primary) if read_status else None
        )
        values["cmi.completion_status"] = _completion_status(
            m.completed(activity, primary) if read_completion else None
        )
        if m.reads(primary, "measure"):
            values["cmi.score.scaled"] = m.measure(activity, primary)
    return values


_OBJECTIVE = re.compile(r"^cmi\.objectives\.(\d+)\.(.+)$")


def runtime_report(written: Mapping[str, str], completion: str, success: str) -> dict[str, Any]:
    """What a SCORM 2004 SCO wrote (its cmi values), as the engine's report: `completion`
    and `success` are the statuses the LMS evaluated (thresholds, the End Attempt defaults)."""
    objectives: dict[str, dict[str, Any]] = {}
    for element, value in written.items():
        # Most elements are not objectives: the prefix is looked at before the pattern.
        match = _OBJECTIVE.match(element) if element.startswith("cmi.objectives.") else None
        if match is None:
            continue
        index, rest = match.groups()
        record = objectives.setdefault(index, {"score": {}})
        if rest.startswith("score."):
            record["score"][rest[6:]] = value
        else:
            record[rest] = value
    return {
        "completion_status": completion,
        "success_status": success,
        "score": {k: written.get(f"cmi.score.{k}") for k in ("scaled", "raw", "min", "max")},
        "progress_measure": written.get("cmi.progress_measure"),
        "objectives": [o for o in objectives.values() if o.get("id")],
        "exit": written.get("cmi.exit", ""),
        "session_time": written.get("cmi.session_time"),
    }
