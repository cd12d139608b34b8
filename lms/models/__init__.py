"""SQLAlchemy models by area; importing this package registers every table."""

from lms.app.database import utcnow
from lms.models.accounts import (
    Cohort,
    LoginFailure,
    LoginSession,
    OrgUnit,
    Role,
    RoleAssignment,
    UnitKind,
    User,
)
from lms.models.assessment import AttemptStatus, TestAttempt
from lms.models.audit import AuditEvent
from lms.models.awards import PROFILE_ID, Certificate, OrganisationProfile
from lms.models.catalog import Activity, Course, CourseVersion, OverduePolicy, VersionStatus
from lms.models.classes import (
    Attendance,
    AttendanceStatus,
    ClassMember,
    ClassSession,
    TrainingClass,
)
from lms.models.jobs import Job, JobStatus
from lms.models.learning import (
    ActivityProgress,
    DeadlineExtension,
    Enrolment,
    Notice,
    OfflineAction,
    ProgressStatus,
    Reminder,
    ReminderKind,
)
from lms.models.reporting import (
    ALL_BATCHES,
    NO_BATCH,
    Report,
    ReportDaily,
    ReportFigure,
    ReportSnapshot,
)
from lms.models.scorm import Registration, ScormPackage, ScoState, SharedData
from lms.models.teams import (
    ContactKind,
    ContactOutcome,
    ExtensionRequest,
    RequestStatus,
    SupportContact,
    SupportTeam,
)
from lms.models.versions import DataVersion

__all__ = [
    "DataVersion",
    "ALL_BATCHES",
    "NO_BATCH",
    "Report",
    "ReportDaily",
    "ReportFigure",
    "ReportSnapshot",
    "Activity",
    "Attendance",
    "AttendanceStatus",
    "ClassMember",
    "ClassSession",
    "TrainingClass",
    "ContactKind",
    "ContactOutcome",
    "ExtensionRequest",
    "RequestStatus",
    "SupportContact",
    "SupportTeam",
    "ActivityProgress",
    "AttemptStatus",
    "AuditEvent",
    "Certificate",
    "OrganisationProfile",
    "PROFILE_ID",
    "TestAttempt",
    "Cohort",
    "Course",
    "DeadlineExtension",
    "Notice",
    "OfflineAction",
    "OverduePolicy",
    "Reminder",
    "ReminderKind",
    "ScoState",
    "ScormPackage",
    "Registration",
    "SharedData",
    "CourseVersion",
    "Enrolment",
    "ProgressStatus",
    "VersionStatus",
    "Job",
    "JobStatus",
    "LoginFailure",
    "LoginSession",
    "OrgUnit",
    "Role",
    "RoleAssignment",
    "UnitKind",
    "User",
    "utcnow",
]
