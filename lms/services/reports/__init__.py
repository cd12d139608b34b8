"""Completion figures and learner lists for the dashboard, the exports and the periodic
report; every query is limited to an admin's scope.

By concern: `figures` (what is counted, by unit, batch and period), `snapshots` (the
dashboard's figures counted in the background, completions per day), `learners` (the filtered
learner list and each learner's state), `classes` (the in-person classes' figures) and
`periodic` (the six-month and yearly report).
Callers use the names re-exported here.
"""

from lms.services.reports.classes import ClassCounts, ClassRow, class_figures
from lms.services.reports.figures import (
    FIGURES,
    Counts,
    Filters,
    Overview,
    Period,
    check_period,
    grouped_counts,
    half_year,
    overview,
    previous_half_year,
    year,
)
from lms.services.reports.learners import (
    ACCOUNT_STATUSES,
    PROGRESS_STATUSES,
    SORTS,
    LearnerFilter,
    LearnerState,
    learner_query,
    states_of,
)
from lms.services.reports.periodic import report_data, reports_of
from lms.services.reports.snapshots import (
    completions_per_day,
    courses_in_use,
    daily_from_snapshot,
    dashboard,
    latest_snapshot,
    refresh,
)

__all__ = [
    "ClassCounts",
    "ClassRow",
    "class_figures",
    "ACCOUNT_STATUSES",
    "FIGURES",
    "PROGRESS_STATUSES",
    "SORTS",
    "Counts",
    "Filters",
    "LearnerFilter",
    "LearnerState",
    "Overview",
    "Period",
    "check_period",
    "completions_per_day",
    "courses_in_use",
    "daily_from_snapshot",
    "dashboard",
    "grouped_counts",
    "half_year",
    "latest_snapshot",
    "learner_query",
    "overview",
    "previous_half_year",
    "refresh",
    "report_data",
    "reports_of",
    "states_of",
    "year",
]
