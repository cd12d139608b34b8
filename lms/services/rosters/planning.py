"""Checking an account list before anything is written (the dry run): each row's unit, name,
username, dates and contact details, and what the import would create, update or leave."""

from __future__ import annotations

import datetime as _dt
import re
from contextlib import suppress
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from lms.models import OrgUnit, User
from lms.services.errors import N_, DomainError
from lms.services.rosters.reading import Table
from lms.services.scope import Scope
from lms.services.text import clean_email, clean_full_name, clean_phone, clean_username, fold

_DATE_FORMATS = ("%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y", "%Y-%m-%d", "%d/%m/%y")


def parse_date(text: str, field_name: str) -> _dt.date | None:
    """A date as Vietnamese spreadsheets write it (23/11/2026), or ISO (2026-11-23)."""
    text = (text or "").strip()
    if not text:
        return None
    for pattern in _DATE_FORMATS:
        try:
            return _dt.datetime.strptime(text, pattern).date()
        except ValueError:
            continue
    raise DomainError(
        N_("%(value)s is not a date (write it as 23/11/2026)."), field=field_name, value=text
    )


@dataclass
class RowPlan:
    """What importing one row would do."""

    line: int
    values: dict[str, str]
    action: str = "new"  # new | update | unchanged | error
    errors: list[tuple[str, dict]] = field(default_factory=list)
    username: str = ""
    unit: OrgUnit | None = None
    # With create_units: the existing parent (None: a new top unit, for a site admin) and the
    # names of the units to add under it.
    new_units: tuple[OrgUnit | None, tuple[str, ...]] | None = None
    # The first name of a unit path that names no unit at all (a fresh site, a typo).
    missing_root: str | None = None
    full_name: str = ""
    phone: str | None = None
    email: str | None = None
    birth_date: _dt.date | None = None
    issued_at: _dt.date | None = None


@dataclass(frozen=True)
class NewUnit:
    """A unit the import would add: its path of names, how deep it is below the deepest
    existing unit, and how many accounts of the file it (or a unit below it) would hold."""

    parent: OrgUnit | None  # the existing unit it goes under (None: a new top unit)
    names: tuple[str, ...]  # from below `parent` down to this unit
    accounts: int

    @property
    def name(self) -> str:
        return self.names[-1]

    @property
    def depth(self) -> int:
        return len(self.names) - 1


@dataclass
class Plan:
    """The dry run of a whole file."""

    rows: list[RowPlan]
    # Phones written on rows of different people: {phone: [lines]} (a warning, not an error:
    # a family may share a phone).
    shared_phones: dict[str, list[int]] = field(default_factory=dict)

    def count(self, action: str) -> int:
        return sum(1 for r in self.rows if r.action == action)

    @property
    def errors(self) -> list[RowPlan]:
        return [r for r in self.rows if r.action == "error"]

    @property
    def units_to_create(self) -> set[tuple[int, tuple[str, ...]]]:
        """(existing parent id, 0 for none; names) of every unit chain the import would add."""
        return {
            (r.new_units[0].id if r.new_units[0] else 0, r.new_units[1][: depth + 1])
            for r in self.rows
            if r.new_units and r.action != "error"
            for depth in range(len(r.new_units[1]))
        }

    def new_units(self) -> list[NewUnit]:
        """The units to add, in tree order (each after its parent), with their accounts."""
        counts: dict[tuple[int, tuple[str, ...]], int] = {}
        parents: dict[int, OrgUnit | None] = {}
        for row in self.rows:
            if not row.new_units or row.action == "error":
                continue
            parent, names = row.new_units
            key = parent.id if parent else 0
            parents[key] = parent
            for depth in range(len(names)):
                chain = (key, names[: depth + 1])
                counts[chain] = counts.get(chain, 0) + 1
        ordered = sorted(
            counts,
            key=lambda chain: (
                (parents[chain[0]].path if parents[chain[0]] else "", *map(fold, chain[1]))
            ),
        )
        return [NewUnit(parents[k], names, counts[(k, names)]) for k, names in ordered]

    @property
    def missing_roots(self) -> dict[str, int]:
        """{first name of a unit path that names nothing on the site: rows}, biggest first."""
        found: dict[str, int] = {}
        for row in self.rows:
            if row.missing_root:
                found[row.missing_root] = found.get(row.missing_root, 0) + 1
        return dict(sorted(found.items(), key=lambda item: -item[1]))

    def error_groups(self) -> list[tuple[str, dict, list[int]]]:
        """The errors of the file, each message once with the lines it is on (a file with the
        same problem on 36,000 rows reads as one problem)."""
        groups: dict[tuple, tuple[str, dict, list[int]]] = {}
        for row in self.rows:
            for message, params in row.errors:
                key = (message, tuple(sorted((k, str(v)) for k, v in params.items())))
                groups.setdefault(key, (message, params, []))[2].append(row.line)
        return sorted(groups.values(), key=lambda group: (-len(group[2]), group[2][0]))


class UnitFinder:
    """Resolves a unit written as a code (unique in the scope) or as a path of names."""

    def __init__(self, session: Session, scope: Scope) -> None:
        units = session.scalars(select(OrgUnit).where(scope.unit_filter())).all()
        self.by_id = {u.id: u for u in units}
        self.by_code: dict[str, list[OrgUnit]] = {}
        self.by_path: dict[str, OrgUnit] = {}
        for unit in units:
            self.by_code.setdefault(unit.code.upper(), []).append(unit)
        for unit in units:
            names = [
                self.by_id[int(i)].name
                for i in unit.path.strip("/").split("/")
                if int(i) in self.by_id
            ]
            self.by_path[self._key(names)] = unit
            # A path may also start below the admin's own root: every suffix is accepted.
            for start in range(1, len(names)):
                self.by_path.setdefault(self._key(names[start:]), unit)

    @staticmethod
    def _key(names: list[str]) -> str:
        return " / ".join(fold(n) for n in names)

    @staticmethod
    def names_of(text: str) -> list[str]:
        """The unit names of a path 'A / B / C', spaces collapsed."""
        return [" ".join(part.split()) for part in text.split("/") if part.strip()]

    def knows(self, name: str) -> bool:
        """Whether some unit in the scope has this name (at any depth)."""
        return any(key.split(" / ")[-1] == fold(name) for key in self.by_path)

    def plan_missing(
        self, text: str, allow_root: bool = False
    ) -> tuple[OrgUnit | None, tuple[str, ...]]:
        """For a path with missing units: the deepest existing unit and the names to add (with
        `allow_root`, a path that names no existing unit at all adds a new top unit)."""
        names = self.names_of(text)
        for cut in range(len(names) - 1, 0, -1):
            parent = self.by_path.get(self._key(names[:cut]))
            if parent is not None:
                return parent, tuple(names[cut:])
        if allow_root and names:
            return None, tuple(names)
        raise DomainError(
            N_("No unit you manage has the path %(value)s."), field="unit", value=text
        )

    def find(self, text: str) -> OrgUnit:
        text = (text or "").strip()
        if "/" in text:
            key = self._key([part for part in text.split("/") if part.strip()])
            if key in self.by_path:
                return self.by_path[key]
            raise DomainError(
                N_("No unit you manage has the path %(value)s."), field="unit", value=text
            )
        found = self.by_code.get(text.upper(), [])
        if len(found) == 1:
            return found[0]
        if len(found) > 1:
            raise DomainError(
                N_("Several units have the code %(value)s: write the unit's path instead."),
                field="unit",
                value=text,
            )
        key = self._key([text])
        if key in self.by_path:
            return self.by_path[key]
        raise DomainError(
            N_("No unit you manage has the code or name %(value)s."), field="unit", value=text
        )


def suggest_username(full_name: str, taken: set[str]) -> str:
    """'Nguyễn Văn An' -> 'annv', then 'annv2', 'annv3'...: given name + initials, ASCII."""
    words = fold(full_name).replace("-", " ").split()
    words = [re.sub(r"[^a-z0-9]", "", w) for w in words]
    words = [w for w in words if w]
    base = (words[-1] + "".join(w[0] for w in words[:-1])) if words else "hocvien"
    base = (base if len(base) >= 3 else f"{base}hv")[:56]
    candidate, number = base, 1
    while candidate in taken:
        number += 1
        candidate = f"{base}{number}"
    taken.add(candidate)
    return candidate


def plan_import(
    session: Session,
    actor: User,
    table: Table,
    *,
    username_from: str = "name",
    update_existing: bool = True,
    create_units: bool = False,
) -> Plan:
    """Validate every row against the file itself and the database; nothing is written.

    Rows without a username get one from the name ('annv') or, with username_from="phone",
    from the phone number. Rows whose username exists are updated, or with
    update_existing=False left as they are.
    """
    scope = Scope.of(actor)
    units = UnitFinder(session, scope)
    written = sorted(
        {clean_username_or_blank(r.get("username")) for _, r in table.rows if r.get("username")}
        - {""}
    )
    existing: dict[str, User] = {}
    for start in range(0, len(written), 5000):  # SQLite takes at most 32,766 parameters
        existing.update(
            session.execute(
                select(User.username, User).where(User.username.in_(written[start : start + 5000]))
            ).all()
        )
    taken = set(session.scalars(select(User.username)).all())
    # Rows without a username find their account again by name, birth date and unit, or by
    # phone (a name corrected since): importing the same file twice must not create anyone
    # twice. A phone identifies no one when several accounts, or the rows of several people,
    # have it (a family shares one phone): matching it would rename another person's account.
    by_phone: dict[str, User | None] = {}
    by_person: dict[tuple, User] = {}
    for user in session.scalars(
        select(User).join(OrgUnit, User.org_unit_id == OrgUnit.id).where(scope.user_filter())
    ):
        if user.phone:
            by_phone[user.phone] = None if user.phone in by_phone else user
        by_person.setdefault((user.search_name, user.birth_date, user.org_unit_id), user)
    names_of_phone: dict[str, set[str]] = {}
    for _, values in table.rows:
        with suppress(DomainError):
            phone = clean_phone(values.get("phone"))
            if phone:
                name = fold(clean_full_name(values.get("full_name")))
                names_of_phone.setdefault(phone, set()).add(name)
    claimed: set[str] = set()
    lines_of_username: dict[str, list[int]] = {}
    seen_people: dict[tuple, int] = {}
    people_of_phone: dict[str, dict[tuple, int]] = {}
    plans: list[RowPlan] = []
    for line, values in table.rows:
        plan = RowPlan(line=line, values=values)

        def check(function, *args, plan=plan):
            try:
                return function(*args)
            except DomainError as error:
                plan.errors.append((error.message, error.params))
                return None

        plan.full_name = check(clean_full_name, values.get("full_name")) or ""
        plan.phone = check(clean_phone, values.get("phone"))
        plan.email = check(clean_email, values.get("email"))
        plan.birth_date = check(parse_date, values.get("birth_date"), "birth_date")
        plan.issued_at = check(parse_date, values.get("issued_at"), "issued_at")
        if not (values.get("unit") or "").strip():
            plan.errors.append((N_("Enter the unit."), {}))
        elif create_units and "/" in values["unit"]:
            try:
                plan.unit = units.find(values["unit"])
            except DomainError:
                plan.new_units = check(units.plan_missing, values["unit"], scope.everything)
        else:
            plan.unit = check(units.find, values.get("unit"))
        if plan.unit is None and plan.new_units is None and "/" in (values.get("unit") or ""):
            first = UnitFinder.names_of(values["unit"])[0]
            if not units.knows(first):
                plan.missing_root = first
        if values.get("username"):
            plan.username = check(clean_username, values.get("username")) or ""
        person = (
            fold(plan.full_name),
            plan.birth_date,
            plan.unit.id if plan.unit else None,
            plan.phone,
        )
        if plan.username:
            lines_of_username.setdefault(plan.username, []).append(line)
        if plan.full_name and person in seen_people:
            plan.errors.append(
                (N_("The same person is also on line %(line)s."), {"line": seen_people[person]})
            )
        if plan.full_name:
            seen_people.setdefault(person, line)
            if plan.phone:
                people_of_phone.setdefault(plan.phone, {}).setdefault(person[:3], line)
        if not plan.errors and not plan.username:
            match = by_person.get(
                (fold(plan.full_name), plan.birth_date, plan.unit.id if plan.unit else None)
            )
            if match is None and plan.phone and len(names_of_phone[plan.phone]) == 1:
                match = by_phone.get(plan.phone)
            if match is not None and match.username not in claimed:
                # (an account another row already found is not this row's: same name, unit
                # and birth date, another person)
                claimed.add(match.username)
                plan.username = match.username
                existing[match.username] = match
        if plan.errors:
            plan.action = "error"
        elif plan.username in existing:
            user = existing[plan.username]
            if not scope.can_manage_user(user):
                plan.errors.append(
                    (N_("The username %(username)s is already taken."), {"username": plan.username})
                )
                plan.action = "error"
            else:
                same = (
                    user.full_name,
                    user.org_unit_id,
                    user.phone,
                    user.email,
                    user.birth_date,
                ) == (plan.full_name, plan.unit.id, plan.phone, plan.email, plan.birth_date)
                plan.action = "unchanged" if same or not update_existing else "update"
        else:
            if not plan.username and username_from == "phone" and plan.phone:
                if plan.phone in lines_of_username:  # another row of the file has it
                    plan.username = plan.phone
                    lines_of_username[plan.phone].append(line)
                else:
                    plan.username = plan.phone if plan.phone not in taken else ""
                    if plan.username:
                        lines_of_username.setdefault(plan.username, []).append(line)
                if not plan.username:
                    plan.errors.append(
                        (
                            N_("The username %(username)s is already taken."),
                            {"username": plan.phone},
                        )
                    )
                    plan.action = "error"
            if not plan.username and plan.action != "error":
                plan.username = suggest_username(plan.full_name, taken)
            elif plan.username in taken and len(lines_of_username.get(plan.username, [])) < 2:
                plan.errors.append(
                    (N_("The username %(username)s is already taken."), {"username": plan.username})
                )
                plan.action = "error"
            taken.add(plan.username)
        plans.append(plan)
    # A username written on several rows: every one of them is wrong, the first one too.
    by_line = {p.line: p for p in plans}
    for username, lines in lines_of_username.items():
        if len(lines) < 2:
            continue
        for line in lines:
            others = ", ".join(str(n) for n in lines if n != line)
            row = by_line[line]
            row.errors.append(
                (
                    N_("The username %(username)s is also on line %(line)s."),
                    {"username": username, "line": others},
                )
            )
            row.action = "error"
    shared = {
        phone: sorted(lines.values()) for phone, lines in people_of_phone.items() if len(lines) > 1
    }
    return Plan(plans, shared_phones=shared)


def clean_username_or_blank(raw: str | None) -> str:
    try:
        return clean_username(raw)
    except DomainError:
        return ""
