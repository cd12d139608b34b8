"""Today's date where the learners are, not where the server is."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

DEFAULT_TIMEZONE = "Asia/Ho_Chi_Minh"


def today(timezone: str = DEFAULT_TIMEZONE) -> date:
    """The current date in `timezone` (a server on UTC is 7 hours behind Vietnam)."""
    return datetime.now(ZoneInfo(timezone)).date()
