"""Writing a checked account list: all rows or none, the units it names, the batch, the
enrolments and due dates, and the new initial logins (returned once, stored only as hashes)."""

from __future__ import annotations

import datetime as _dt
import re
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


def _unit_code(name: str, parent: OrgUnit, session: Session) -> str:
    base = re.sub(r"[^A-Z0-9]+", "-", fold(name).upper()).strip("-")[:34] or "DV"
    taken = set(session.scalars(select(OrgUnit.code).where(OrgUnit.parent_id == parent.id)))
    code, number = base, 1
    while code in taken:
        number += 1
        code = f"{base}-{number}"
    return code


def _create_missing_units(session: Session, actor: User, rows: list[RowPlan]) -> None:
    """Add the units named by paths in the file (under units the actor manages)."""
    from lms.services.units import create_unit

    made: dict[tuple[int, tuple[str, ...]], OrgUnit] = {}
    for row in rows:
        if not row.new_units:
            continue
        parent, names = row.new_units
        for depth in range(len(names)):
            key = (row.new_units[0].id, names[: depth + 1])
            if key not in made:
                made[key] = create_unit(
                    session,
                    actor,
                    parent=parent,
                    code=_unit_code(names[depth], parent, session),
                    name=names[depth],
                )
            parent = made[key]
        row.unit = parent


def commit_import(
    session: Session,
    actor: User,
    plan: Plan,
    *,
    batch_name: str | None = None,
    initial_key: bytes,
    today: _dt.date,
    strict: bool = True,
    timezone: str = "Asia/Ho_Chi_Minh",
    progress=lambda done, total: None,
) -> ImportResult:
    """Write a checked plan in one transaction (the caller commits): all rows or none.

    New accounts get a random initial password (HMAC-hashed); rows whose account exists are
    updated; every account is put in the batch and enrolled in its courses. With `strict`,
    a plan with any bad row writes nothing.
    """
    from sqlalchemy import insert

    from lms.models import Cohort, Enrolment, Role, RoleAssignment
    from lms.services import audit, deadlines
    from lms.services.passwords import generate_initial_password, hash_initial_password
    from lms.services.text import sort_key

    if strict and plan.errors:
        raise DomainError(
            N_("%(n)s rows have errors: correct them, or import without them."),
            n=len(plan.errors),
        )
    good = [r for r in plan.rows if r.action != "error"]
    result = ImportResult(skipped=len(plan.rows) - len(good))
    if not good:
        return result
    _create_missing_units(session, actor, good)
    scope = Scope.of(actor)
    by_id = {u.id: u for u in session.scalars(select(OrgUnit).where(scope.unit_filter()))}
    home = common_unit([r.unit for r in good], by_id)
    cohorts: dict[str, Cohort] = {}

    def cohort_for(name: str | None) -> Cohort | None:
        name = " ".join((name or "").split())[:120]
        if not name:
            return None
        if name not in cohorts:
            # An existing batch of that name above the rows' units (the closest), else a new
            # one at their common unit.
            candidates = [
                c
                for c in session.scalars(select(Cohort).where(Cohort.name == name))
                if c.org_unit.contains(home) and scope.covers_unit(c.org_unit)
            ]
            found = max(candidates, key=lambda c: c.org_unit.depth, default=None)
            if found is None:
                found = Cohort(name=name, org_unit_id=home.id)
                session.add(found)
                session.flush()
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
    # Existing accounts: changed details are updated, the others left alone.
    for row in good:
        if row.action == "new":
            continue
        user = session.scalar(select(User).where(User.username == row.username))
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
    for row in good:
        cohort = cohort_for(row.values.get("batch") or batch_name)
        if cohort is not None:
            members.setdefault(cohort.id, []).append(ids[row.username])
    for cohort_id, user_ids in members.items():
        cohort = session.get(Cohort, cohort_id)
        session.execute(
            User.__table__.update().where(User.id.in_(user_ids)).values(cohort_id=cohort_id)
        )
        enrolled = (
            set(session.scalars(select(Enrolment.user_id).where(Enrolment.user_id.in_(user_ids))))
            if result.updated or result.unchanged
            else set()
        )
        issued = dict(
            session.execute(select(User.id, User.issued_at).where(User.id.in_(user_ids))).all()
        )
        for course in cohort.courses:
            if course.current_version_id is None:
                continue
            days = cohort.deadline_days or course.current_version.deadline_days
            rows = [
                {
                    "user_id": uid,
                    "course_id": course.id,
                    "version_id": course.current_version_id,
                    "enrolled_at": now,
                    "completed_late": False,
                    "due_at": deadlines.end_of_day(issued[uid] + _dt.timedelta(days=days), timezone)
                    if issued.get(uid)
                    else None,
                }
                for uid in user_ids
                if uid not in enrolled
            ]
            for start in range(0, len(rows), 5000):
                session.execute(insert(Enrolment), rows[start : start + 5000])
    progress(total, total)
    units_by_id = {u.id: u for u in (r.unit for r in good)}
    for row in new_rows:
        issued = row.issued_at or today
        first = next(iter(cohorts.values()), None)
        days = None
        if first is not None and first.courses and first.courses[0].current_version:
            days = first.deadline_days or first.courses[0].current_version.deadline_days
        result.credentials.append(
            Credential(
                row.username,
                row.full_name,
                units_by_id[row.unit.id].name,
                passwords[row.username],
                issued + _dt.timedelta(days=days) if days else None,
            )
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
        batch=batch_name,
    )
    return result
