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


def _nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


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
    header = [_nfc(cell).strip() for cell in lines[0]]
    keys = [_header_key(cell) for cell in header]
    missing = [k for k in REQUIRED if k not in keys]
    if missing:
        names = ", ".join(HEADERS[k][0] for k in missing)
        raise DomainError(
            N_("The first line must name the columns; missing: %(names)s."), names=names
        )
    table = Table(
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
                row[key] = " ".join(_nfc(str(cell or "")).split())
        table.rows.append((first_line_number + offset, row))
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
    return _table(lines, 1, f"{encoding}, {'tab' if delimiter == chr(9) else delimiter}")


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


def plan_import(session: Session, actor: User, table: Table) -> Plan:
    """Validate every row against the file itself and the database; nothing is written."""
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
                plan.action = "unchanged" if same else "update"
        else:
            if not plan.username:
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
