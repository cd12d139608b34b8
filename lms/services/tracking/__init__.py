"""SCORM tracking: launching a SCO, taking its commits, and rolling them up into progress.

The rules of the data models live in `scorm` (one table per standard); this package applies
them to stored state. A commit carries the SCO's whole persistent state and a sequence
number, so taking it twice, or an older one after a newer one, changes nothing: the browser
may retry as often as it must.

By concern: `packages` (a stored package and its data model), `sessions` (launching a SCO),
`commits` (taking its commits, the hot path), `rollup` (progress, overrides, the table of
contents), `sequencing` (SCORM 2004 through the SN engine: the registration, navigation and the
lesson's progress), `offline` (a SCORM 2004 SCO kept for offline play, and the session it
opens when its commits arrive) and `reports` (the author's report). Callers use the names
re-exported here.
"""

from lms.services.tracking.commits import CommitError, CommitResult, commit, find_for_commit
from lms.services.tracking.offline import planned_delivery
from lms.services.tracking.packages import (
    MODELS,
    blocked_urls,
    package_of,
    sco_of,
    store_package,
)
from lms.services.tracking.reports import package_report
from lms.services.tracking.rollup import (
    activity_score,
    override,
    player_context,
    roll_up,
    satisfies,
    states_of,
)
from lms.services.tracking.sequencing import (
    Navigation,
    is_sequenced,
    navigate,
    registration_of,
    sequenced_player,
)
from lms.services.tracking.sessions import (
    hold,
    launch_of,
    launch_pairs,
    launch_values,
    launched_asset,
    start_session,
    state_for,
    stored_values,
)
from lms.services.tracking.work import CommitWork, commit_connection

__all__ = [
    "MODELS",
    "Navigation",
    "CommitError",
    "CommitResult",
    "CommitWork",
    "activity_score",
    "blocked_urls",
    "commit",
    "commit_connection",
    "find_for_commit",
    "is_sequenced",
    "launch_of",
    "launch_pairs",
    "navigate",
    "launch_values",
    "hold",
    "launched_asset",
    "override",
    "package_of",
    "package_report",
    "planned_delivery",
    "player_context",
    "registration_of",
    "roll_up",
    "satisfies",
    "sco_of",
    "sequenced_player",
    "start_session",
    "state_for",
    "states_of",
    "store_package",
    "stored_values",
]
