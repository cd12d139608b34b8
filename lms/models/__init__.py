"""SQLAlchemy models by area; importing this package registers every table."""

from lms.database import utcnow
from lms.models.accounts import LoginFailure, OrgUnit, Role, RoleAssignment, UnitKind, User
from lms.models.audit import AuditEvent
from lms.models.jobs import Job, JobStatus

__all__ = [
    "AuditEvent",
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
