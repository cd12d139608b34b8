"""Reading account lists ("danh sách học viên") from CSV and XLSX files, as people make them.

Every byte is decoded knowingly or refused: UTF-8 (with or without BOM), UTF-16 (Excel's
"Unicode text") and Windows-1258 are accepted; a file that is none of them is refused with a
clear message instead of being shown with garbled letters. Delimiters: comma, semicolon, tab.
Headers may be Vietnamese or English, with or without diacritics, in any order.
"""

from __future__ import annotations

import csv
import datetime as _dt
import io
import re
import unicodedata
import zipfile
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from lms.documents.credentials import Credential
from lms.documents.spreadsheets import unquote_formula
from lms.models import OrgUnit, User
from lms.services.errors import N_, DomainError
from lms.services.scope import Scope
from lms.services.text import clean_email, clean_full_name, clean_phone, clean_username, fold

MAX_ROWS = 100_000

# Canonical field -> accepted headers (compared without diacritics, case or spaces).
HEADERS = {
    "full_name": ("Họ và tên", "Họ tên", "Full name", "Name"),
    "birth_date": ("Ngày sinh", "Birth date", "Date of birth"),
    "phone": ("Số điện thoại", "Điện thoại", "Phone", "Phone number"),
    "email": ("Email", "Thư điện tử", "E-mail"),
    "unit": ("Đơn vị", "Unit"),
    "username": ("Tên đăng nhập", "Username", "Login"),
    "batch": ("Đợt học", "Batch", "Cohort"),
    "issued_at": ("Ngày cấp tài khoản", "Ngày cấp", "Issued on", "Issue date"),
}
TEMPLATE_HEADERS = [names[0] for names in HEADERS.values()]
REQUIRED = ("full_name", "unit")
_KEYS = {
    re.sub(r"[^a-z0-9]", "", fold(name)): key for key, names in HEADERS.items() for name in names
}

# Characters Windows-1258 can hold that no Vietnamese name, unit or address would use: their
# presence means the file was in another code page, and guessing would garble it.
_FOREIGN = set("€‚ƒ„…†‡ˆ‰‹Œ‘’“”•–—˜™›œŸ¡¢£¤¥¦§¨©ª«¬®¯°±²³´µ¶·¸¹º»¼½¾¿×÷")
_VIETNAMESE_MARKS = set("ăâđêôơưĂÂĐÊÔƠƯ\u0300\u0301\u0303\u0309\u0323")


@dataclass
class Table:
    """The rows of a file: (line number, {field: text}); unknown columns are kept aside."""

    rows: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    columns: list[str] = field(default_factory=list)
    unknown_columns: list[str] = field(default_factory=list)
    encoding: str = ""
    delimiter: str = ""
    # The file as it was, to give it back with an error column.
    header: list[str] = field(default_factory=list)
    raw: dict[int, list[str]] = field(default_factory=dict)


def _nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def _text(cell) -> str:
    """A cell's text, without the quote our CSV files put before a formula-like text: a
    file exported from Hocvu (or its error file) is imported as it was."""
    return unquote_formula(_nfc(str(cell or "")))


def decode(data: bytes) -> tuple[str, str]:
    """The text of a CSV file and the name of its encoding; DomainError when unknowable."""
    if (
        data.startswith((b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff"))
        or b"\x00" in data[:4000:2]
        and (not data.startswith((b"\xff\xfe", b"\xfe\xff")))
    ):
        raise DomainError(
            N_(
                "The file's encoding cannot be recognised. Save it from Excel as "
                '"CSV UTF-8" or as an Excel workbook (.xlsx) and upload it again.'
            )
        )
    if data.startswith(b"\xef\xbb\xbf"):
        try:
            return _nfc(data[3:].decode("utf-8")), "UTF-8"
        except UnicodeDecodeError:
            raise DomainError(N_("The file says it is UTF-8 but is damaged.")) from None
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return _nfc(data.decode("utf-16")), "UTF-16"
        except UnicodeDecodeError:
            raise DomainError(N_("The file says it is UTF-16 but is damaged.")) from None
    try:
        return _nfc(data.decode("utf-8")), "UTF-8"
    except UnicodeDecodeError:
        pass
    text = data.decode("cp1258", errors="strict") if _cp1258_ok(data) else None
    if text is None:
        raise DomainError(
            N_(
                "The file's encoding cannot be recognised. Save it from Excel as "
                '"CSV UTF-8" or as an Excel workbook (.xlsx) and upload it again.'
            )
        )
    return _nfc(text), "Windows-1258"


def _cp1258_ok(data: bytes) -> bool:
    try:
        text = data.decode("cp1258")
    except UnicodeDecodeError:
        return False
    high = [ch for ch in text if ord(ch) > 127]
    if not high or any(ch in _FOREIGN for ch in high):
        return False
    return any(ch in _VIETNAMESE_MARKS for ch in high)


def _sniff_delimiter(first_line: str) -> str:
    counts = {d: first_line.count(d) for d in (",", ";", "\t")}
    delimiter = max(counts, key=counts.get)
    if counts[delimiter] == 0:
        raise DomainError(N_("The first line has no column separator (comma, semicolon or tab)."))
    return delimiter


def _header_key(name: str) -> str | None:
    return _KEYS.get(re.sub(r"[^a-z0-9]", "", fold(name or "")))


def _table(lines: list[list[str]], first_line_number: int, encoding: str) -> Table:
    if not lines or not any(cell.strip() for cell in lines[0]):
        raise DomainError(N_("The file is empty."))
    header = [_text(cell).strip() for cell in lines[0]]
    keys = [_header_key(cell) for cell in header]
    missing = [k for k in REQUIRED if k not in keys]
    if missing:
        names = ", ".join(HEADERS[k][0] for k in missing)
        raise DomainError(
            N_("The first line must name the columns; missing: %(names)s."), names=names
        )
    table = Table(
        header=header,
        columns=[k for k in keys if k],
        encoding=encoding,
        unknown_columns=[h for h, k in zip(header, keys, strict=True) if not k and h],
    )
    for offset, cells in enumerate(lines[1:], start=1):
        if not any((cell or "").strip() for cell in cells):
            continue
        row = {}
        for key, cell in zip(keys, cells, strict=False):
            if key:
                row[key] = " ".join(_text(cell).split())
        table.rows.append((first_line_number + offset, row))
        table.raw[first_line_number + offset] = [_text(cell) for cell in cells]
        if len(table.rows) > MAX_ROWS:
            raise DomainError(
                N_("The file has more than %(max)d rows; split it into batches."), max=MAX_ROWS
            )
    return table


def read_csv(data: bytes) -> Table:
    """A CSV file in any accepted encoding and delimiter."""
    text, encoding = decode(data)
    text = text.lstrip("\ufeff")
    first_line = text.split("\n", 1)[0]
    delimiter = _sniff_delimiter(first_line)
    lines = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    table = _table(lines, 1, encoding)
    table.delimiter = delimiter
    return table


def read_xlsx(data: bytes) -> Table:
    """The first sheet of an Excel workbook; dates become dd/mm/yyyy text."""
    import openpyxl

    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError):
        raise DomainError(
            N_("The file is not an Excel workbook (.xlsx), or it is damaged.")
        ) from None
    sheet = book.worksheets[0]
    lines = []
    for values in sheet.iter_rows(values_only=True):
        lines.append([_cell(value) for value in values])
        if len(lines) > MAX_ROWS + 1:
            break
    book.close()
    return _table(lines, 1, "XLSX")


def _cell(value) -> str:
    import datetime as dt

    if value is None:
        return ""
    if isinstance(value, dt.datetime | dt.date):
        return value.strftime("%d/%m/%Y")
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def read_file(filename: str, data: bytes) -> Table:
    """A CSV or XLSX file, chosen by its content (not only its name)."""
    if data[:2] == b"PK" or filename.lower().endswith(".xlsx"):
        return read_xlsx(data)
    if filename.lower().endswith(".xls"):
        raise DomainError(
            N_("Old Excel files (.xls) cannot be read: save the file as .xlsx or CSV UTF-8.")
        )
    return read_csv(data)


# --- validating rows (the dry run) -----------------------------------------------------------

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
    # With create_units: the existing parent and the names of the units to add under it.
    new_units: tuple[OrgUnit, tuple[str, ...]] | None = None
    full_name: str = ""
    phone: str | None = None
    email: str | None = None
    birth_date: _dt.date | None = None
    issued_at: _dt.date | None = None


@dataclass
class Plan:
    """The dry run of a whole file."""

    rows: list[RowPlan]

    def count(self, action: str) -> int:
        return sum(1 for r in self.rows if r.action == action)

    @property
    def errors(self) -> list[RowPlan]:
        return [r for r in self.rows if r.action == "error"]

    @property
    def units_to_create(self) -> set[tuple[int, tuple[str, ...]]]:
        """(existing parent id, names) of every unit chain the import would add."""
        return {
            (r.new_units[0].id, r.new_units[1][: depth + 1])
            for r in self.rows
            if r.new_units and r.action != "error"
            for depth in range(len(r.new_units[1]))
        }


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

    def plan_missing(self, text: str) -> tuple[OrgUnit, tuple[str, ...]]:
        """For a path with missing units: the deepest existing unit and the names to add."""
        names = [" ".join(part.split()) for part in text.split("/") if part.strip()]
        for cut in range(len(names) - 1, 0, -1):
            parent = self.by_path.get(self._key(names[:cut]))
            if parent is not None:
                return parent, tuple(names[cut:])
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
    existing = {
        name: user
        for name, user in session.execute(
            select(User.username, User).where(
                User.username.in_(
                    [
                        clean_username_or_blank(r.get("username"))
                        for _, r in table.rows
                        if r.get("username")
                    ]
                    or ["-"]
                )
            )
        ).all()
    }
    taken = set(session.scalars(select(User.username)).all())
    # Rows without a username find their account again by phone, or by name, birth date and
    # unit: importing the same file twice must not create anyone twice.
    by_phone: dict[str, User] = {}
    by_person: dict[tuple, User] = {}
    for user in session.scalars(
        select(User).join(OrgUnit, User.org_unit_id == OrgUnit.id).where(scope.user_filter())
    ):
        if user.phone:
            by_phone.setdefault(user.phone, user)
        by_person.setdefault((user.search_name, user.birth_date, user.org_unit_id), user)
    seen_usernames: dict[str, int] = {}
    seen_people: dict[tuple, int] = {}
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
                plan.new_units = check(units.plan_missing, values["unit"])
        else:
            plan.unit = check(units.find, values.get("unit"))
        if values.get("username"):
            plan.username = check(clean_username, values.get("username")) or ""
        person = (
            fold(plan.full_name),
            plan.birth_date,
            plan.unit.id if plan.unit else None,
            plan.phone,
        )
        if plan.username and plan.username in seen_usernames:
            plan.errors.append(
                (
                    N_("The username %(username)s is also on line %(line)s."),
                    {"username": plan.username, "line": seen_usernames[plan.username]},
                )
            )
        if plan.full_name and person in seen_people:
            plan.errors.append(
                (N_("The same person is also on line %(line)s."), {"line": seen_people[person]})
            )
        if plan.username:
            seen_usernames.setdefault(plan.username, line)
        if plan.full_name:
            seen_people.setdefault(person, line)
        if not plan.errors and not plan.username:
            match = (by_phone.get(plan.phone) if plan.phone else None) or by_person.get(
                (fold(plan.full_name), plan.birth_date, plan.unit.id if plan.unit else None)
            )
            if match is not None:
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
                plan.username = plan.phone if plan.phone not in taken else ""
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
            elif plan.username in taken:
                plan.errors.append(
                    (N_("The username %(username)s is already taken."), {"username": plan.username})
                )
                plan.action = "error"
            taken.add(plan.username)
        plans.append(plan)
    return Plan(plans)


def clean_username_or_blank(raw: str | None) -> str:
    try:
        return clean_username(raw)
    except DomainError:
        return ""


# --- committing the import -------------------------------------------------------------------


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
    from lms.services.accounts import generate_initial_password, hash_initial_password
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
