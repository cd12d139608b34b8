"""What an import would do beyond the accounts, shown before anything is written: the batches
the accounts join (found, or new with the courses chosen for them), the due dates that follow
from their issue dates, and the warnings an administrator must accept to go on (a new batch
without a course, accounts in no batch, due dates already past or within two days, one phone
on the rows of different people).

The import itself (`committing.commit_import`) finds and makes the batches with the same
functions, so the check page and the import cannot disagree.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from lms.models import Cohort, Course, Enrolment, OrgUnit, User
from lms.services import deadlines
from lms.services.errors import N_, DomainError
from lms.services.rosters.planning import Plan, RowPlan
from lms.services.scope import Scope

# Due dates this close are worth a word before the import: the learners would have almost no
# time (the rule gives 10 days from the issue day).
SOON_DAYS = 2


def batch_name(row: RowPlan, default: str | None) -> str:
    """The batch a row joins: its own "Đợt học" cell, else the one chosen for the file."""
    return " ".join((row.values.get("batch") or default or "").split())[:120]


def existing_batch(
    session: Session, scope: Scope, name: str, home: OrgUnit | None
) -> Cohort | None:
    """The batch of that name that the accounts join: the closest one above their common unit
    (`home`) that the admin manages; None when a new one is to be made."""
    if home is None:
        return None
    candidates = [
        cohort
        for cohort in session.scalars(select(Cohort).where(Cohort.name == name))
        if cohort.org_unit.contains(home) and scope.covers_unit(cohort.org_unit)
    ]
    return max(candidates, key=lambda c: c.org_unit.depth, default=None)


def home_unit(session: Session, scope: Scope, rows: list[RowPlan]) -> OrgUnit | None:
    """The lowest existing unit above every row's unit (a new unit counts by its existing
    parent); None when some rows go under a new top unit."""
    units: list[OrgUnit] = []
    for row in rows:
        if row.unit is not None:
            units.append(row.unit)
        elif row.new_units is not None:
            if row.new_units[0] is None:
                return None
            units.append(row.new_units[0])
    if not units:
        return None
    by_id = {u.id: u for u in session.scalars(select(OrgUnit).where(scope.unit_filter()))}
    paths = [u.path.strip("/").split("/") for u in units]
    prefix: list[str] = []
    for parts in zip(*paths, strict=False):
        if len(set(parts)) != 1:
            break
        prefix.append(parts[0])
    return by_id.get(int(prefix[-1])) if prefix else None


def new_batch_courses(session: Session, course_ids: list[int]) -> list[Course]:
    """The published courses chosen for a new batch (a course without a published version
    cannot be followed: refused)."""
    if not course_ids:
        return []
    courses = list(session.scalars(select(Course).where(Course.id.in_(course_ids))))
    if len(courses) != len(set(course_ids)) or any(c.current_version_id is None for c in courses):
        raise DomainError(N_("Choose published courses for the new batch."), field="course_ids")
    return sorted(courses, key=lambda c: c.title)


@dataclass(frozen=True)
class BatchPreview:
    """A batch the accounts join: an existing one, or a new one with the chosen courses."""

    name: str
    cohort: Cohort | None  # None: made by the import
    courses: tuple[Course, ...]
    days: int | None  # the batch's own number of days (None: each course's)
    accounts: int

    @property
    def new(self) -> bool:
        return self.cohort is None

    def days_for(self, course: Course) -> int:
        return self.days or course.current_version.deadline_days


@dataclass(frozen=True)
class DueDate:
    """Accounts issued on one day, in one course: the day they must finish by (24:00)."""

    issued: _dt.date
    course: Course
    due: _dt.date
    accounts: int


@dataclass(frozen=True)
class Warning:
    """Something the import would do that an administrator must accept first (`code` names
    the tick box; the message is an English msgid with its parameters)."""

    code: str
    message: str
    params: dict


@dataclass
class Preview:
    """The dry run of a whole file: the accounts (`plan`), the batches, due dates, warnings."""

    plan: Plan
    batches: list[BatchPreview] = field(default_factory=list)
    without_batch: int = 0
    new_without_batch: int = 0
    due_dates: list[DueDate] = field(default_factory=list)  # of the enrolments to be made
    moved: int = 0  # existing accounts that leave another batch for the file's
    moved_example: tuple[int, str, str] | None = None  # (line, from batch, to batch)
    warnings: list[Warning] = field(default_factory=list)

    def unaccepted(self, accepted) -> list[Warning]:
        """The warnings not among the codes `accepted`."""
        return [w for w in self.warnings if w.code not in set(accepted)]


def preview(
    session: Session,
    actor: User,
    plan: Plan,
    *,
    default_batch: str | None,
    course_ids: list[int],
    days: int | None,
    today: _dt.date,
) -> Preview:
    """The batches, due dates and warnings of importing `plan` on `today` (local date)."""
    scope = Scope.of(actor)
    good = [r for r in plan.rows if r.action != "error"]
    result = Preview(plan)
    chosen = new_batch_courses(session, course_ids)
    home = home_unit(session, scope, good)
    rows_of: dict[str, list[RowPlan]] = {}
    for row in good:
        rows_of.setdefault(batch_name(row, default_batch), []).append(row)
    unbatched = rows_of.pop("", [])
    result.without_batch = len(unbatched)
    result.new_without_batch = sum(1 for r in unbatched if r.action == "new")
    accounts = _accounts(session, good)
    # Each row's issue date as the import leaves it: a new account's or an updated one's from
    # the file, else the account's own (an unchanged account keeps it), else today.
    issued_of = {
        r.line: (r.issued_at if r.action != "unchanged" else None)
        or accounts.issued.get(r.username)
        or today
        for r in good
    }
    counts: dict[tuple[_dt.date, int, _dt.date], int] = {}
    courses_by_id: dict[int, Course] = {}
    for name, rows in sorted(rows_of.items()):
        cohort = existing_batch(session, scope, name, home)
        if cohort is not None:
            batch = BatchPreview(
                name, cohort, tuple(cohort.courses), cohort.deadline_days, len(rows)
            )
        else:
            batch = BatchPreview(name, None, tuple(chosen), days, len(rows))
        result.batches.append(batch)
        for row in rows:
            before = accounts.batch.get(row.username)
            if before is not None and before != (cohort.id if cohort else None):
                result.moved += 1
                if result.moved_example is None:
                    was = session.get(Cohort, before)
                    result.moved_example = (row.line, was.name if was else "", name)
        for course in batch.courses:
            if course.current_version_id is None:
                continue
            courses_by_id[course.id] = course
            span = batch.days_for(course)
            for row in rows:
                if (accounts.ids.get(row.username), course.id) in accounts.enrolled:
                    continue  # enrolled already: the import leaves that due date as it is
                issued = issued_of[row.line]
                key = (issued, course.id, deadlines.last_day(issued, span))
                counts[key] = counts.get(key, 0) + 1
    result.due_dates = sorted(
        (
            DueDate(issued, courses_by_id[course_id], due, n)
            for (issued, course_id, due), n in counts.items()
        ),
        key=lambda d: (d.issued, d.course.title, d.due),
    )
    result.warnings = _warnings(result, plan, today)
    return result


@dataclass
class _Accounts:
    """What the site has of the accounts a file names again."""

    ids: dict[str, int] = field(default_factory=dict)
    issued: dict[str, _dt.date | None] = field(default_factory=dict)
    batch: dict[str, int | None] = field(default_factory=dict)
    enrolled: set[tuple[int, int]] = field(default_factory=set)


def _accounts(session: Session, rows: list[RowPlan]) -> _Accounts:
    """The existing accounts of `rows`: ids, issue dates (a row without one keeps it), their
    batches, and the courses they are enrolled in (the import enrols no one twice)."""
    found = _Accounts()
    names = sorted({r.username for r in rows if r.action != "new"})
    for start in range(0, len(names), 5000):
        chunk = names[start : start + 5000]
        for username, user_id, issued, batch in session.execute(
            select(User.username, User.id, User.issued_at, User.cohort_id).where(
                User.username.in_(chunk)
            )
        ):
            found.ids[username], found.issued[username] = user_id, issued
            found.batch[username] = batch
    ids = sorted(found.ids.values())
    for start in range(0, len(ids), 5000):
        found.enrolled.update(
            session.execute(
                select(Enrolment.user_id, Enrolment.course_id).where(
                    Enrolment.user_id.in_(ids[start : start + 5000])
                )
            ).all()
        )
    return found


def _warnings(result: Preview, plan: Plan, today: _dt.date) -> list[Warning]:
    found: list[Warning] = []
    for batch in result.batches:
        if batch.new and not batch.courses:
            found.append(
                Warning(
                    f"batch-without-course:{batch.name}",
                    N_(
                        "The new batch %(name)s has no course: its %(n)s accounts will have "
                        "no course and no due date. Choose its course(s) on the upload page."
                    ),
                    {"name": batch.name, "n": batch.accounts},
                )
            )
    if result.new_without_batch:
        found.append(
            Warning(
                "no-batch",
                N_(
                    "%(n)s new accounts join no batch: they will have no course and no due "
                    "date. Name a batch on the upload page or in the file's batch column."
                ),
                {"n": result.new_without_batch},
            )
        )
    past = sum(d.accounts for d in result.due_dates if d.due < today)
    soon = sum(
        d.accounts
        for d in result.due_dates
        if today <= d.due <= today + _dt.timedelta(days=SOON_DAYS)
    )
    if past:
        latest = max(d.due for d in result.due_dates if d.due < today)
        found.append(
            Warning(
                "due-past",
                N_(
                    "%(n)s enrolments would be overdue as soon as they are imported (due on "
                    "%(date)s or earlier): check the issue dates in the file."
                ),
                {"n": past, "date": latest.isoformat()},
            )
        )
    if soon:
        found.append(
            Warning(
                "due-soon",
                N_("%(n)s enrolments would be due within %(days)d days of today."),
                {"n": soon, "days": SOON_DAYS},
            )
        )
    if result.moved:
        line, before, after = result.moved_example
        found.append(
            Warning(
                "batch-move",
                N_(
                    "%(n)s existing accounts would leave their batch for the one of this import "
                    "(for example line %(line)s, from %(before)s to %(after)s); they keep the "
                    "courses they are enrolled in."
                ),
                {"n": result.moved, "line": line, "before": before, "after": after},
            )
        )
    if plan.shared_phones:
        phone, lines = next(iter(sorted(plan.shared_phones.items(), key=lambda kv: kv[1])))
        found.append(
            Warning(
                "shared-phones",
                N_(
                    "%(n)s phone numbers are on the rows of different people (for example "
                    "%(phone)s on lines %(lines)s): check that each person has their own."
                ),
                {
                    "n": len(plan.shared_phones),
                    "phone": phone,
                    "lines": ", ".join(str(n) for n in lines[:5]),
                },
            )
        )
    return found
