"""Writing a checked account list: all rows or none, the units it names, the batch, the
enrolments and due dates, and the new initial logins (returned once, stored only as hashes)."""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from lms.documents.credentials import Credential
from lms.models import OrgUnit, User
from lms.services.errors import N_, DomainError
from lms.services.rosters.planning import Plan, RowPlan
from lms.services.scope import Scope
from lms.services.text import fold


@dataclass
class ImportResult:
    """What the import did."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0
    units_created: int = 0
    batches_created: int = 0
    enrolled: int = 0
    credentials: list[Credential] = field(default_factory=list)


def common_unit(units: list[OrgUnit], by_id: dict[int, OrgUnit]) -> OrgUnit:
    """The lowest unit containing all `units` (where a batch made for them belongs)."""
    paths = [u.path.strip("/").split("/") for u in units]
    prefix = []
    for parts in zip(*paths, strict=False):
        if len(set(parts)) != 1:
            break
        prefix.append(parts[0])
    return by_id[int(prefix[-1])] if prefix else units[0]


def _create_missing_units(session: Session, actor: User, rows: list[RowPlan]) -> int:
    """Add the units named by paths in the file (under units the actor manages, or, for a site
    admin, a new top unit), all at once; return how many were added."""
    from lms.services.units import add_tree

    chains = [row.new_units for row in rows if row.new_units]
    made = add_tree(session, actor, chains)
    for row in rows:
        if row.new_units:
            parent, names = row.new_units
            row.unit = made[(parent.id if parent else 0, names)]
    return len(made)


def commit_import(
    session: Session,
    actor: User,
    plan: Plan,
    *,
    batch_name: str | None = None,
    course_ids: list[int] | None = None,
    days: int | None = None,
    initial_key: bytes,
    today: _dt.date,
    strict: bool = True,
    accepted: tuple[str, ...] | None = None,
    timezone: str = "Asia/Ho_Chi_Minh",
    progress=lambda done, total: None,
) -> ImportResult:
    """Write a checked plan in one transaction (the caller commits): all rows or none.

    Units named by paths are added when the plan says so; new accounts get a random initial
    password (HMAC-hashed); rows whose account exists are updated; every account joins its
    batch (an existing one, or a new one made with `course_ids` and `days`) and is enrolled in
    the batch's courses with its due date. With `strict`, a plan with any bad row writes
    nothing. `accepted` names the warnings of the check page the admin accepted (None: the
    caller checked them); one not accepted writes nothing.
    """
    from sqlalchemy import insert

    from lms.models import Cohort, Enrolment, Role, RoleAssignment
    from lms.services import audit, deadlines
    from lms.services.passwords import generate_initial_password, hash_initial_password
    from lms.services.rosters.preview import batch_name as batch_of
    from lms.services.rosters.preview import existing_batch, new_batch_courses, preview
    from lms.services.text import sort_key

    if strict and plan.errors:
        raise DomainError(
            N_("%(n)s rows have errors: correct them, or import without them."),
            n=len(plan.errors),
        )
    course_ids = list(course_ids or [])
    if accepted is not None:
        shown = preview(
            session,
            actor,
            plan,
            default_batch=batch_name,
            course_ids=course_ids,
            days=days,
            today=today,
        )
        refused = shown.unaccepted(accepted)
        if refused:
            raise DomainError(refused[0].message, **refused[0].params)
    good = [r for r in plan.rows if r.action != "error"]
    result = ImportResult(skipped=len(plan.rows) - len(good))
    if not good:
        return result
    result.units_created = _create_missing_units(session, actor, good)
    scope = Scope.of(actor)
    by_id = {u.id: u for u in session.scalars(select(OrgUnit).where(scope.unit_filter()))}
    home = common_unit([r.unit for r in good], by_id)
    chosen = new_batch_courses(session, course_ids)
    cohorts: dict[str, Cohort] = {}

    def cohort_for(name: str) -> Cohort | None:
        if not name:
            return None
        if name not in cohorts:
            found = existing_batch(session, scope, name, home)
            if found is None:
                found = Cohort(name=name, org_unit_id=home.id, deadline_days=days)
                found.courses = list(chosen)
                session.add(found)
                session.flush()
                audit.record(
                    session,
                    actor,
                    "cohort.create",
                    home,
                    cohort=name,
                    days=days,
                    courses=[c.title for c in chosen],
                )
                result.batches_created += 1
            cohorts[name] = found
        return cohorts[name]

    new_rows = [r for r in good if r.action == "new"]
    total = len(good)
    now = _dt.datetime.now(_dt.UTC)
    passwords: dict[str, str] = {}
    values = []
    for row in new_rows:
        password = generate_initial_password()
        passwords[row.username] = password
        values.append(
            {
                "username": row.username,
                "full_name": row.full_name,
                "sort_name": sort_key(row.full_name),
                "search_name": fold(row.full_name),
                "email": row.email,
                "phone": row.phone,
                "birth_date": row.birth_date,
                "org_unit_id": row.unit.id,
                "issued_at": row.issued_at or today,
                "password_hash": hash_initial_password(password, initial_key),
                "must_change_password": True,
                "auth_epoch": 0,
                "is_active": True,
                "created_at": now,
                "cohort_id": None,
            }
        )
    ids: dict[str, int] = {}
    for start in range(0, len(values), 2000):
        chunk = values[start : start + 2000]
        rows = session.execute(insert(User).returning(User.id, User.username), chunk).all()
        ids.update({username: user_id for user_id, username in rows})
        progress(start + len(chunk), total)
    if ids:
        session.execute(
            insert(RoleAssignment),
            [
                {"user_id": i, "role": Role.LEARNER.value, "scope_unit_id": None, "created_at": now}
                for i in ids.values()
            ],
        )
    result.created = len(ids)
    # Existing accounts: changed details are updated, the others left alone (loaded in chunks,
    # not one query a row: a file imported again is mostly existing accounts).
    kept = [r for r in good if r.action != "new"]
    users: dict[str, User] = {}
    names = [r.username for r in kept]
    for start in range(0, len(names), 5000):
        users.update(
            (u.username, u)
            for u in session.scalars(
                select(User).where(User.username.in_(names[start : start + 5000]))
            )
        )
    for row in kept:
        user = users[row.username]
        ids[row.username] = user.id
        if row.action == "update":
            user.full_name, user.org_unit_id = row.full_name, row.unit.id
            user.phone, user.email, user.birth_date = row.phone, row.email, row.birth_date
            user.sort_name, user.search_name = sort_key(row.full_name), fold(row.full_name)
            if row.issued_at:
                user.issued_at = row.issued_at
            result.updated += 1
        else:
            result.unchanged += 1
    session.flush()
    # Batches and enrolments, with due dates from issued_at (the 10-day clock starts).
    members: dict[int, list[int]] = {}
    batch_of_row: dict[str, Cohort] = {}
    for row in good:
        cohort = cohort_for(batch_of(row, batch_name))
        if cohort is not None:
            members.setdefault(cohort.id, []).append(ids[row.username])
            batch_of_row[row.username] = cohort
    for cohort_id, user_ids in members.items():
        cohort = session.get(Cohort, cohort_id)
        for start in range(0, len(user_ids), 5000):
            session.execute(
                User.__table__.update()
                .where(User.id.in_(user_ids[start : start + 5000]))
                .values(cohort_id=cohort_id)
            )
        enrolled: set[tuple[int, int]] = set()
        issued: dict[int, _dt.date | None] = {}
        for start in range(0, len(user_ids), 5000):
            chunk = user_ids[start : start + 5000]
            if result.updated or result.unchanged:
                enrolled.update(
                    session.execute(
                        select(Enrolment.user_id, Enrolment.course_id).where(
                            Enrolment.user_id.in_(chunk)
                        )
                    ).all()
                )
            issued.update(
                session.execute(select(User.id, User.issued_at).where(User.id.in_(chunk))).all()
            )
        for course in cohort.courses:
            if course.current_version_id is None:
                continue
            days_of = cohort.deadline_days or course.current_version.deadline_days
            rows = [
                {
                    "user_id": uid,
                    "course_id": course.id,
                    "version_id": course.current_version_id,
                    "enrolled_at": now,
                    "completed_late": False,
                    "due_at": deadlines.due_after(issued[uid], days_of, timezone)
                    if issued.get(uid)
                    else None,
                }
                for uid in user_ids
                if (uid, course.id) not in enrolled
            ]
            for start in range(0, len(rows), 5000):
                session.execute(insert(Enrolment), rows[start : start + 5000])
            result.enrolled += len(rows)
    progress(total, total)
    for row in new_rows:
        issued_day = row.issued_at or today
        cohort = batch_of_row.get(row.username)
        due = None
        if cohort is not None and cohort.courses:
            first = next((c for c in cohort.courses if c.current_version_id), None)
            if first is not None:
                span = cohort.deadline_days or first.current_version.deadline_days
                due = deadlines.last_day(issued_day, span)
        result.credentials.append(
            Credential(row.username, row.full_name, row.unit.name, passwords[row.username], due)
        )
    audit.record(
        session,
        actor,
        "user.import",
        home,
        created=result.created,
        updated=result.updated,
        unchanged=result.unchanged,
        skipped=result.skipped,
        units=result.units_created,
        batch=batch_name,
    )
    return result
