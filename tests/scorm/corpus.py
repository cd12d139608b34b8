"""The shared corpus of SCORM API call sequences (`cases/*.json`), run by the Python engine here
and by the browser engine in tests/browser/test_scorm_engine.py.

A file holds `version` ("1.2" or "2004") and `cases`; a case has a `name`, optional `launch`
fields (over DEFAULT_LAUNCH), `stored` values, `commit` (what the LMS's onCommit answers,
default true), `steps` and an optional `written` (the SCO's data expected at the end). A step is
`[call, args, return, error]` plus an optional citation of docs/scorm-conformance.md: after the
call, its return value and GetLastError() must match. An argument or return value may be
`{"repeat": "x", "times": 4001}` for long strings, or `{"items": 36, "item": "{i}{q*247}",
"sep": "[,]"}` for long lists: `items` copies of `item` joined by `sep`, where `{i}` in the item
is its number on three digits and `{q*247}` is "q" 247 times (any one character).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from scorm import cmi12, cmi2004
from scorm.datamodel import Api, Launch

CASES = Path(__file__).parent / "cases"
DEFAULT_LAUNCH = {"learner_id": "hv-000123", "learner_name": "Nguyễn Văn An", "entry": "ab-initio"}
MODELS = {"1.2": cmi12.MODEL, "2004": cmi2004.MODEL}


_RUN = re.compile(r"\{(.)\*([0-9]+)\}")


def expand(value: Any) -> Any:
    """Turn a {"repeat": s, "times": n} or {"items": n, "item": s, "sep": s} placeholder into
    the long string it stands for."""
    if isinstance(value, dict) and "items" in value:
        item = _RUN.sub(lambda m: m[1] * int(m[2]), value["item"])
        return value["sep"].join(item.replace("{i}", f"{i:03d}") for i in range(value["items"]))
    if isinstance(value, dict):
        return value["repeat"] * value["times"]
    return value


def files() -> list[Path]:
    """Every corpus file."""
    return sorted(CASES.glob("*.json"))


def cases(version: str) -> list[tuple[str, dict]]:
    """(id, case) for every case of one standard, the case expanded and given its launch."""
    out = []
    for path in files():
        data = json.loads(path.read_text(encoding="utf-8"))
        if data["version"] != version:
            continue
        for case in data["cases"]:
            out.append((f"{path.stem}: {case['name']}", prepared(case)))
    return out


def prepared(case: dict) -> dict:
    """The case with its launch filled in and every long-string placeholder expanded."""
    return {
        "name": case["name"],
        "launch": {**DEFAULT_LAUNCH, **case.get("launch", {})},
        "stored": case.get("stored", {}),
        "commit": case.get("commit", True),
        "steps": [
            [step[0], [expand(a) for a in step[1]], expand(step[2]), step[3]]
            for step in case["steps"]
        ],
        "written": case.get("written"),
    }


def run(version: str, case: dict) -> dict:
    """Run a prepared case through the Python engine: [return, last error] per step, written."""
    api = Api(
        MODELS[version],
        Launch(**case["launch"]),
        case["stored"],
        on_commit=lambda written, terminated: case["commit"],
    )
    results = []
    for call, args, _ret, _err in case["steps"]:
        results.append([api.call(call, *args), int(api.get_last_error())])
    return {"results": results, "written": api.runtime.written()}


def mismatches(case: dict, outcome: dict) -> list[str]:
    """Human-readable differences between a case's expectations and what an engine did."""
    problems = []
    for n, (step, got) in enumerate(zip(case["steps"], outcome["results"], strict=True)):
        want = [step[2], step[3]]
        if got != want:
            args = ", ".join(repr(a if len(a) < 60 else a[:20] + "...") for a in step[1])
            problems.append(f"step {n}: {step[0]}({args}) -> {short(got)}, expected {short(want)}")
    # Order matters too: written() is in first-write order.
    if case["written"] is not None and list(outcome["written"].items()) != list(
        case["written"].items()
    ):
        problems.append(f"written {outcome['written']!r}, expected {case['written']!r}")
    return problems


def short(pair: list) -> list:
    value, code = pair
    return [value if len(value) < 60 else value[:20] + f"...({len(value)})", code]
