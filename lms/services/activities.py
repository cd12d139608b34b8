"""Activity kinds: one class per kind (page, SCORM package, final test), found by name.

The progress rules ask the registry, never an if-chain, so adding a kind touches one place: a
class registered here (and its page in lms/web/kinds.py). A kind holds the rules only (what an
activity stores, what keeps it from being done); the services consult it and it imports no
service back.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, ClassVar

from courses.bundle import Module
from lms.models import Activity, ActivityProgress
from lms.services.errors import N_

# Rendered HTML keeps media links relative to this placeholder; the page replaces it with the
# version's media URL, so stored HTML does not depend on where Hocvu is mounted.
MEDIA_PLACEHOLDER = "__hocvu_media__/"


@dataclass(frozen=True)
class Blocker:
    """Why an activity cannot be marked done yet (an English msgid and its parameters)."""

    message: str
    params: dict[str, Any]


class ActivityKind:
    """The rules of one kind of activity."""

    name: ClassVar[str]

    def blocker(
        self, activity: Activity, progress: ActivityProgress, now: datetime
    ) -> Blocker | None:
        """None when the learner may mark the activity done now."""
        raise NotImplementedError


class PageKind(ActivityKind):
    """A Markdown module: read it, answer its self-check, stay the minimum time."""

    name = "page"

    @staticmethod
    def content(
        module: Module, language: str, media: Mapping[str, bytes] | None = None
    ) -> dict[str, Any]:
        """What a page activity stores: sanitized HTML (its images sized from `media`, the
        bundle's files) and its self-check."""
        return {
            "html": module.html(lambda path: MEDIA_PLACEHOLDER + path, language, media),
            "self_check": [
                {
                    "text": q.text,
                    "options": list(q.options),
                    "correct": sorted(q.correct),
                    "explanation": q.explanation,
                }
                for q in module.self_check
            ],
        }

    def blocker(
        self, activity: Activity, progress: ActivityProgress, now: datetime
    ) -> Blocker | None:
        if activity.min_minutes and progress.first_opened_at:
            ready_at = progress.first_opened_at + timedelta(minutes=activity.min_minutes)
            if now < ready_at:
                minutes = max(1, int((ready_at - now).total_seconds() + 59) // 60)
                return Blocker(
                    N_("Spend at least %(minutes)d more minutes on this lesson first."),
                    {"minutes": minutes},
                )
        questions = activity.content.get("self_check", [])
        answered = progress.data.get("self_check", {})
        if len(answered) < len(questions):
            return Blocker(N_("Answer the self-check questions first."), {})
        return None


class TestKind(ActivityKind):
    """The final test: done only by passing it (lms.services.assessment)."""

    __test__ = False  # not a pytest test class
    name = "test"
    key = "final-test"

    @staticmethod
    def content(settings) -> dict[str, Any]:
        """What a test activity stores: its settings (the bank is on the version)."""
        return {"settings": dataclasses.asdict(settings)}

    def blocker(
        self, activity: Activity, progress: ActivityProgress, now: datetime
    ) -> Blocker | None:
        return Blocker(N_("Pass the final test to complete it."), {})


class ScormKind(ActivityKind):
    """A SCORM package: done when its SCOs report completion (or a pass), see
    lms.services.tracking, which keeps a summary per SCO in the progress data."""

    name = "scorm"

    @staticmethod
    def content(package_id: int, scos: list[str], complete_on: str) -> dict[str, Any]:
        """What a SCORM activity stores: its package, its SCOs and the completion rule."""
        return {"package_id": package_id, "scos": scos, "complete_on": complete_on}

    def blocker(
        self, activity: Activity, progress: ActivityProgress, now: datetime
    ) -> Blocker | None:
        summaries = progress.data.get("scos", {})
        sequencing = progress.data.get("sequencing")
        # The parts the rollup needs (skipped and untracked ones are not), else all of them.
        needed = progress.data.get("needed", activity.content["scos"])
        if sequencing is not None:
            # SCORM 2004: the SN engine's root decides (lms.services.tracking.sequencing).
            if sequencing.get("done"):
                return None
        elif all(summaries.get(sco, {}).get("satisfied") for sco in needed):
            return None
        if activity.content.get("complete_on") == "passed":
            return Blocker(N_("Pass the lesson in the player; it is marked done by itself."), {})
        return Blocker(N_("Finish the lesson in the player; it is marked done by itself."), {})


KINDS: dict[str, ActivityKind] = {}


def register(kind: ActivityKind) -> ActivityKind:
    """Make a kind available by its name."""
    KINDS[kind.name] = kind
    return kind


def kind_of(activity: Activity) -> ActivityKind:
    """The kind of an activity."""
    return KINDS[activity.kind]


register(PageKind())
register(TestKind())
register(ScormKind())
