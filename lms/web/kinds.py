"""The learner's page of each activity kind: its template and the values it needs.

The rules of a kind (lms.services.activities) know nothing of pages; adding a kind adds its
rules there and its page here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from flask import current_app, request

from lms.models import Activity
from lms.services import assessment, tracking
from lms.services.scope import administering_unit


class Context(Protocol):
    def __call__(self, session, enrolment, activity: Activity, now: datetime) -> dict[str, Any]:
        """Extra values for the kind's template."""


@dataclass(frozen=True)
class KindPage:
    """How an activity of one kind is shown to a learner."""

    template: str
    context: Context


def _no_context(session, enrolment, activity: Activity, now: datetime) -> dict[str, Any]:
    return {}


def _test_context(session, enrolment, activity: Activity, now: datetime) -> dict[str, Any]:
    attempts = assessment.attempts_of(session, enrolment, activity)
    for attempt in attempts:
        assessment.finish_if_expired(session, attempt, now)
    settings = assessment.settings_of(activity)
    out_of_attempts = assessment.all_attempts_failed(settings, attempts)
    return {
        "settings": settings,
        "attempts": attempts,
        "open_attempt": next((a for a in attempts if a.status == "open"), None),
        "start_blocker": assessment.blocker(session, enrolment, activity, now),
        "out_of_attempts": out_of_attempts,
        "contact_unit": administering_unit(session, enrolment.user.org_unit)
        if out_of_attempts
        else None,
    }


def _scorm_context(session, enrolment, activity: Activity, now: datetime) -> dict[str, Any]:
    chosen = request.args.get("sco")
    if tracking.is_sequenced(tracking.package_of(session, activity)):
        files_root = Path(current_app.config["HOCVU_FILES_DIR"])
        player = tracking.sequenced_player(session, enrolment, activity, chosen, files_root)
        return {"player": player}
    return {"player": tracking.player_context(session, enrolment, activity, chosen)}


PAGES: dict[str, KindPage] = {
    "page": KindPage("hocvu/learn/kinds/page.html", _no_context),
    "test": KindPage("hocvu/learn/kinds/test.html", _test_context),
    "scorm": KindPage("hocvu/learn/kinds/scorm.html", _scorm_context),
}


def page_of(activity: Activity) -> KindPage:
    """The page of an activity's kind."""
    return PAGES[activity.kind]
