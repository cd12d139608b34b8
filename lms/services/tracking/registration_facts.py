"""What a SCORM 2004 commit needs of its learner's registration to know whether the SN engine
must hear it (lms.services.tracking.sequencing.quiet_commit): the activity current in the
state its SELECT read, the report of its SCO that the engine holds, and whether the commit's
values report the same.

A registration's state holds every activity of the package (1 KB for two parts, tens of KB
for a vendor's course of dozens), which would otherwise be decoded at every commit (every
learner, every 30 s). What the state says is kept per process by the state's digest and the
SCO, and whether a commit reports the same by the state's and the values' digests:
content-addressed, so never stale; the learners of a batch fit (lms.app.kept).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any, NamedTuple

from lms.app.kept import Kept
from scorm.sequencing.report import normalise_runtime, runtime_report


class StateFacts(NamedTuple):
    """What the state the commit's SELECT read says to the commit (all None without one)."""

    key: tuple[bytes, str] | None  # the state's digest and the commit's SCO
    current: str | None  # the activity current in it
    pending: dict[str, Any] | None  # the report of the commit's SCO the engine holds


_NONE = StateFacts(None, None, None)

_FACTS: Kept[tuple[bytes, str], StateFacts] = Kept()
_SAME: Kept[tuple[tuple[bytes, str] | None, str, str, str], bool] = Kept()


def state_facts(row: Any) -> StateFacts:
    """What the registration's state found with the commit (`row.reg_state_text`, its JSON
    as stored) says to the commit's SCO (`row.sco`). Read-only."""
    text = row.reg_state_text
    if row.reg_id is None or not text:
        return _NONE
    key = (hashlib.blake2b(text.encode(), digest_size=16).digest(), row.sco)
    facts = _FACTS.get(key)
    if facts is None:
        state = json.loads(text) or {}
        pending = (state.get("activities", {}).get(row.sco) or {}).get("pending")
        facts = _FACTS.keep(key, StateFacts(key, state.get("current"), pending))
    return facts


def reports_the_same(
    facts: StateFacts,
    written: Mapping[str, str],
    completion: str,
    success: str,
    digest: str | None,
) -> bool:
    """Whether the commit's values (`written`, with the statuses evaluated from them) report
    what the engine holds for the SCO. `digest`: the digest of the values when they were taken
    whole (lms.services.tracking.commits), which then stands for them: a SCO that commits the
    same values again (a timer's commits, a replay) is answered from memory."""
    if digest is None:
        return facts.pending == normalise_runtime(runtime_report(written, completion, success))
    key = (facts.key, digest, completion, success)
    same = _SAME.get(key)
    if same is None:
        report = normalise_runtime(runtime_report(written, completion, success))
        same = _SAME.keep(key, facts.pending == report)
    return same
