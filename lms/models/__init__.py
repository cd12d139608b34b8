"""SQLAlchemy models by area; importing this package registers every table."""

from lms.database import utcnow
from lms.models.accounts import LoginFailure, OrgUnit, Role, RoleAssignment, UnitKind, User
from lms.models.audit import AuditEvent
from lms.models.catalog import Activity, Course, CourseVersion, VersionStatus
from lms.models.jobs import Job, JobStatus
from lms.models.learning import ActivityProgress, Enrolment, ProgressStatus

__all__ = [
    "Activity",
    "ActivityProgress",
    "AuditEvent",
    "Course",
    "CourseVersion",
    "Enrolment",
    "ProgressStatus",
    "VersionStatus",
    "Job",
    "JobStatus",
    "LoginFailure",
    "OrgUnit",
    "Role",
    "RoleAssignment",
    "UnitKind",
    "User",
    "utcnow",
]
