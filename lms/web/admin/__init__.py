"""Administration of units, accounts, batches, courses, certificates and imports, scoped to the
admin's subtree on every query (lms.services.scope). One blueprint ("admin"), one module per
area; importing them registers their pages on it."""

from lms.web.admin import (  # noqa: F401 - each module adds its pages to the blueprint
    audit,
    certificates,
    classes,
    cohorts,
    courses,
    home,
    imports,
    jobs,
    organisation,
    scorm,
    teams,
    units,
    users,
)
from lms.web.admin.base import bp

__all__ = ["bp"]
