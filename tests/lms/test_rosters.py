"""Reading account lists in every accepted encoding and delimiter, and the dry run."""

from __future__ import annotations

import csv
import io
import re

import pytest

from lms.models import Role
from lms.services import rosters
from lms.services.errors import DomainError

HEADER = [
    "Họ và tên",
    "Ngày sinh",
    "Số điện thoại",
    "Email",
    "Đơn vị",
    "Tên đăng nhập",
    "Đợt học",
    "Ngày cấp tài khoản",
]
ROWS = [
    ["Nguyễn Văn An", "17/05/1990", "0912 345 678", "", "CDCS-HALAM", "", "Đợt 1", "23/11/2026"],
    [
        "Trần Thị Bình",
        "",
        "",
        "binh@example.vn",
        "Công đoàn ngành Than / CĐCS Công ty Than Hà Lầm",
        "hv.binh",
        "Đợt 1",
        "",
    ],
]


def _csv(delimiter: str, rows=ROWS) -> str:
    return "\n".join(delimiter.join(r) for r in [HEADER, *rows]) + "\n"


@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
@pytest.mark.parametrize(
    "encode",
    [
        lambda t: t.encode("utf-8"),
        lambda t: b"\xef\xbb\xbf" + t.encode("utf-8"),
        lambda t: t.encode("utf-16"),  # Excel's "Unicode text"
        lambda t: (
            __import__("unicodedata").normalize("NFD", t).encode("cp1258", "strict")
            if False
            else _cp1258(t)
        ),
    ],
    ids=["utf8", "utf8-bom", "utf16", "cp1258"],
)
def test_every_accepted_encoding_and_delimiter(delimiter, encode):
    text = _csv(delimiter).replace(",Công đoàn", ",Công đoàn")
    if delimiter == ",":
        text = text.replace(
            "Công đoàn ngành Than / CĐCS Công ty Than Hà Lầm",
            '"Công đoàn ngành Than / CĐCS Công ty Than Hà Lầm"',
        )
    table = rosters.read_csv(encode(text))
    assert [r["full_name"] for _, r in table.rows] == ["Nguyễn Văn An", "Trần Thị Bình"]
    assert table.rows[1][1]["unit"] == "Công đoàn ngành Than / CĐCS Công ty Than Hà Lầm"
    assert table.rows[0][0] == 2


def _cp1258(text: str) -> bytes:
    """Windows-1258 as Excel writes it: base letters with combining tone marks."""
    import unicodedata

    tones = "\u0300\u0301\u0303\u0309\u0323"
    out = bytearray()
    for ch in unicodedata.normalize("NFC", text):
        try:
            out += ch.encode("cp1258")
        except UnicodeEncodeError:
            decomposed = unicodedata.normalize("NFD", ch)
            base = unicodedata.normalize("NFC", "".join(c for c in decomposed if c not in tones))
            out += base.encode("cp1258") + "".join(c for c in decomposed if c in tones).encode(
                "cp1258"
            )
    return bytes(out)


def test_an_unknown_encoding_is_refused_not_garbled():
    latin = "Họ và tên,Đơn vị\nJosé Müller – “€”,X\n".encode("cp1252", "replace")
    with pytest.raises(DomainError, match="encoding cannot be recognised"):
        rosters.read_csv(latin)
    with pytest.raises(DomainError):
        rosters.read_csv("Họ và tên,Đơn vị\nLê,X\n".encode("utf-32"))


def test_missing_required_columns_and_english_headers():
    with pytest.raises(DomainError, match="missing: Đơn vị"):
        rosters.read_csv("Họ và tên,Email\nA,b@c.vn\n".encode())
    table = rosters.read_csv("Full name;Unit;Phone;Team\nLê Văn C;X;0912345678;A\n".encode())
    assert table.rows[0][1] == {"full_name": "Lê Văn C", "unit": "X", "phone": "0912345678"}
    assert table.unknown_columns == ["Team"]


def test_xlsx_with_dates_and_numbers():
    import datetime as dt

    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(HEADER)
    sheet.append(
        [
            "Phạm Thị Dung",
            dt.date(1985, 3, 2),
            912345678,
            None,
            "CDCS-HALAM",
            None,
            None,
            dt.datetime(2026, 11, 23),
        ]
    )
    buffer = io.BytesIO()
    book.save(buffer)
    table = rosters.read_file("ds.xlsx", buffer.getvalue())
    row = table.rows[0][1]
    assert row["birth_date"] == "02/03/1985" and row["issued_at"] == "23/11/2026"
    assert row["phone"] == "912345678"
    with pytest.raises(DomainError, match="Excel workbook"):
        rosters.read_file("ds.xlsx", b"PK\x03\x04broken")


def test_usernames_are_readable_ascii_and_unique():
    taken = {"annv"}
    assert rosters.suggest_username("Nguyễn Văn An", taken) == "annv2"
    assert rosters.suggest_username("Đặng Thị Ánh Đào", taken) == "daodta"
    assert rosters.suggest_username("Lò Văn Hặc", taken) == "haclv"


@pytest.fixture
def world(make):
    root = make.unit(code="QN", name="LĐLĐ tỉnh Quảng Ninh")
    than = make.unit(root, code="CDN-THAN", name="Công đoàn ngành Than")
    halam = make.unit(than, code="CDCS-HALAM", name="CĐCS Công ty Than Hà Lầm")
    other = make.unit(root, code="CP", name="LĐLĐ thành phố Cẩm Phả")
    make.learner(halam, username="hv.binh", full_name="Trần Thị Bình")
    admin = make.user(than, username="qt.than", roles=[(Role.UNIT_ADMIN, than)])
    make.commit()
    return {"halam": halam, "other": other, "admin": admin}


def test_dry_run_counts_and_reports_every_bad_row(session, world):
    rows = [
        *ROWS,
        ["Lê Văn Cường", "31/02/1990", "12345", "x@", "CP", "", "", ""],  # 4 problems
        ["", "", "", "", "", "", "", ""][:0] + ["  ", "", "", "", "CDCS-HALAM", "", "", ""],
        ["Nguyễn Văn An", "17/05/1990", "0912 345 678", "", "CDCS-HALAM", "", "", ""],
    ]
    table = rosters.read_csv(_csv(";", rows).encode())
    plan = rosters.plan_import(session, world["admin"], table)
    assert [(r.line, r.action) for r in plan.rows] == [
        (2, "new"),
        (3, "update"),
        (4, "error"),
        (5, "error"),
        (6, "error"),
    ]
    assert plan.rows[0].username == "annv" and plan.rows[0].unit.code == "CDCS-HALAM"
    messages = [m for m, _ in plan.rows[2].errors]
    assert "%(value)s is not a date (write it as 23/11/2026)." in messages
    assert "No unit you manage has the code or name %(value)s." in messages  # outside scope
    assert len(messages) == 4
    assert plan.rows[3].errors == [("Enter the full name.", {})]
    assert plan.rows[4].errors == [("The same person is also on line %(line)s.", {"line": 2})]
    assert (plan.count("new"), plan.count("update"), len(plan.errors)) == (1, 1, 3)


def _commit(session, admin, text: str, create_units: bool = False, **kwargs):
    from datetime import date

    from lms.services import passwords

    plan = rosters.plan_import(
        session, admin, rosters.read_csv(text.encode()), create_units=create_units
    )
    return plan, rosters.commit_import(
        session,
        admin,
        plan,
        initial_key=passwords.initial_password_key("test-secret-key"),
        today=date(2026, 11, 23),
        **kwargs,
    )


def test_commit_creates_accounts_with_keyed_initial_passwords(session, world, make, app, client):
    from sqlalchemy import func, select

    from lms.models import AuditEvent, Cohort, Enrolment, User
    from tests.conftest import LoggedIn

    version = make.course(app.config["HOCVU_FILES_DIR"])
    batch = Cohort(name="Đợt 1", org_unit=world["halam"].parent, courses=[version.course])
    session.add(batch)
    session.commit()
    text = _csv(";", [ROWS[0], ["Lê Thị Hoa", "", "", "", "CDCS-HALAM", "", "", ""]])
    plan, result = _commit(session, world["admin"], text, batch_name="Đợt 1")
    session.commit()
    assert (result.created, result.updated) == (2, 0)
    users = {
        u.username: u
        for u in session.scalars(select(User).where(User.username.in_(["annv", "hoalt"])))
    }
    assert set(users) == {"annv", "hoalt"}
    assert users["annv"].issued_at.isoformat() == "2026-11-23"
    assert users["annv"].must_change_password and users["annv"].cohort_id == batch.id
    credential = next(c for c in result.credentials if c.username == "annv")
    assert len(credential.password) == 12
    # Only a keyed hash is stored; no initial password in the database or the audit log.
    assert users["annv"].password_hash.startswith("hmac-sha256:")
    dump = " ".join(str(e.details) for e in session.scalars(select(AuditEvent)))
    assert credential.password not in dump and credential.password not in str(
        [u.password_hash for u in users.values()]
    )
    enrolment = session.scalar(select(Enrolment).where(Enrolment.user_id == users["annv"].id))
    assert enrolment.due_at.isoformat().startswith("2026-12-03T17:00")  # 23/11 + 10 days
    # The initial password works once, then a new one must be chosen.
    LoggedIn(client)("annv", credential.password)
    assert client.get("/").location == "/password"
    token = client.get("/password").get_data(as_text=True)
    import re

    csrf = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', token).group(1)
    changed = client.post(
        "/password",
        data={
            "csrf_token": csrf,
            "current_password": credential.password,
            "new_password": "Hạ Long mùa thu 2026",
            "confirm": "Hạ Long mùa thu 2026",
        },
    )
    assert changed.location == "/"
    session.rollback()
    assert session.get(User, users["annv"].id).password_hash.startswith("$argon2id$")
    # The same file again: nothing is duplicated.
    plan, again = _commit(session, world["admin"], _csv(";", [ROWS[1]]), batch_name="Đợt 1")
    session.commit()
    assert again.created == 0 and session.scalar(select(func.count()).select_from(User)) == 4


def test_strict_import_writes_nothing_when_a_row_is_bad(session, world):
    from sqlalchemy import func, select

    from lms.models import User

    before = session.scalar(select(func.count()).select_from(User))
    text = _csv(";", [ROWS[0], ["Người Sai", "", "", "", "CP", "", "", ""]])
    with pytest.raises(DomainError, match="rows have errors"):
        _commit(session, world["admin"], text)
    session.rollback()
    assert session.scalar(select(func.count()).select_from(User)) == before


def test_import_users_command(runner, world, tmp_path, session):
    import stat

    path = tmp_path / "ds.csv"
    path.write_text(_csv(",", [ROWS[0]]), encoding="utf-8")
    dry = runner.invoke(
        args=["import-users", str(path), "--admin", "qt.than", "--dry-run", "--lang", "en"]
    )
    assert dry.exit_code == 0 and "1 rows: 1 new" in dry.output
    credentials = tmp_path / "logins.csv"
    done = runner.invoke(
        args=[
            "import-users",
            str(path),
            "--admin",
            "qt.than",
            "--batch",
            "Đợt 1",
            "--yes",  # the new batch has no course: accepted
            "--credentials",
            str(credentials),
            "--lang",
            "en",
        ]
    )
    assert done.exit_code == 0, done.output
    assert "Imported: 1 new accounts" in done.output
    assert stat.S_IMODE(credentials.stat().st_mode) == 0o600
    assert "annv" in credentials.read_text("utf-8-sig")


# Cells that Excel, LibreOffice and Google Sheets would run as formulas from a CSV file
# (OWASP "CSV Injection": cells starting with =, +, -, @, tab or carriage return).
FORMULA_NAMES = ['=HYPERLINK("http://evil","x")', "@SUM(1)", "+1", "-1", "\t=1+1", "\r=1+1"]


def _csv_rows(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def test_credentials_file_quotes_names_a_spreadsheet_would_run(runner, world, tmp_path):
    path = tmp_path / "ds.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        writer.writerow(['=HYPERLINK("http://evil","x")', "", "", "", "CDCS-HALAM", "hv.x1"])
        writer.writerow(["@SUM(1)", "", "", "", "CDCS-HALAM", "hv.x2"])
    credentials = tmp_path / "logins.csv"
    args = ["import-users", str(path), "--admin", "qt.than", "--credentials", str(credentials)]
    done = runner.invoke(args=[*args, "--accept", "no-batch"])
    assert done.exit_code == 0, done.output
    rows = _csv_rows(credentials.read_bytes())
    assert rows[0] == ["Họ và tên", "Đơn vị", "Tên đăng nhập", "Mật khẩu ban đầu", "Hạn hoàn thành"]
    assert [r[0] for r in rows[1:]] == ['\'=HYPERLINK("http://evil","x")', "'@SUM(1)"]
    assert [r[2] for r in rows[1:]] == ["hv.x1", "hv.x2"]


def test_import_error_file_quotes_formulas_and_imports_back_as_it_was(
    client, login, world, session
):
    from tests.conftest import csrf_token

    login("qt.than")
    rows = [[name, "", "", "", "CP", "", "", ""] for name in FORMULA_NAMES]
    rows.append(["Lê Văn Cường", "=1+1", "", "", "CDCS-HALAM", "", "", ""])
    buffer = io.StringIO()
    csv.writer(buffer).writerows([HEADER, *rows])
    token = csrf_token(client, "/admin/import")
    preview = client.post(
        "/admin/import",
        content_type="multipart/form-data",
        data={
            "csrf_token": token,
            "file": (io.BytesIO(buffer.getvalue().encode()), "ds.csv"),
            "strict": "y",
            "batch_name": "",
        },
    ).get_data(as_text=True)
    upload = re.search(r"/admin/import/([\w-]+)/errors.csv", preview).group(1)
    response = client.get(f"/admin/import/{upload}/errors.csv")
    assert response.status_code == 200
    errors = _csv_rows(response.data)
    assert errors[0] == [*HEADER, "Lỗi"]
    assert [r[0] for r in errors[1:-1]] == ["'" + name for name in FORMULA_NAMES]
    # The reason starts with the bad value: it is quoted as well.
    assert errors[-1][1] == "'=1+1"
    assert errors[-1][-1] == "'=1+1 không phải là ngày (hãy viết dạng 23/11/2026)."

    # Corrected and uploaded again, the file reads as first typed (a name's leading tab or
    # carriage return is then folded away like any white space).
    table = rosters.read_csv(response.data)
    assert [table.raw[line][0] for line, _ in table.rows[:-1]] == FORMULA_NAMES
    assert [r["full_name"] for _, r in table.rows[:4]] == FORMULA_NAMES[:4]
    assert table.rows[-1][1]["birth_date"] == "=1+1"


def test_exported_csv_and_xlsx_cells_import_back_as_they_were():
    import openpyxl

    from lms.documents.spreadsheets import Column, write_csv

    names = [*FORMULA_NAMES, "'x", "'", "Lê Thị 'Cúc'"]
    out = io.BytesIO()
    write_csv(out, [Column("Họ và tên"), Column("Đơn vị")], [[n, "X"] for n in names], "UTC")
    table = rosters.read_csv(out.getvalue())
    assert [table.raw[line][0] for line, _ in table.rows] == names

    book = openpyxl.Workbook()
    book.active.append(["Họ và tên", "Đơn vị"])
    for name in ["'=1+1", "'@SUM(1)", "'x"]:  # our quote, kept in a workbook
        book.active.append([name, "X"])
    saved = io.BytesIO()
    book.save(saved)
    table = rosters.read_file("ds.xlsx", saved.getvalue())
    assert [r["full_name"] for _, r in table.rows] == ["=1+1", "@SUM(1)", "'x"]


def test_admin_imports_in_the_browser_flow_over_http(
    client, login, post, world, make, app, session
):
    """Upload, dry run with errors, error file, commit as a job, credentials once."""
    import zipfile

    from sqlalchemy import select

    from lms.models import User
    from tests.conftest import LoggedIn, csrf_token

    app.config["HOCVU_JOBS_INLINE"] = True
    login("qt.than")
    bad = _csv(";", [ROWS[0], ["Người Sai", "", "", "", "CP", "", "", ""]])
    token = csrf_token(client, "/admin/import")
    preview = client.post(
        "/admin/import",
        content_type="multipart/form-data",
        data={
            "csrf_token": token,
            "file": (io.BytesIO(bad.encode()), "ds.csv"),
            "strict": "y",
            "batch_name": "",
        },
    ).get_data(as_text=True)
    assert "Kiểm tra trước khi nhập" in preview and "Không có đơn vị nào bạn quản lý" in preview
    assert "chưa nhập gì khi còn dòng bị lỗi" in preview
    upload = re.search(r"/admin/import/([\w-]+)/errors.csv", preview).group(1)
    response = client.get(f"/admin/import/{upload}/errors.csv")
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    errors = response.get_data(as_text=True)
    assert errors.startswith("\ufeffHọ và tên") and "Người Sai" in errors

    good = _csv(",", [ROWS[0]])
    preview = client.post(
        "/admin/import",
        content_type="multipart/form-data",
        data={
            "csrf_token": token,
            "file": (io.BytesIO(good.encode("utf-16")), "ds.csv"),
            "strict": "y",
            "batch_name": "Đợt 1",
        },
    ).get_data(as_text=True)
    upload = re.search(r"/admin/import/([\w-]+)/commit", preview).group(1)
    started = client.post(
        f"/admin/import/{upload}/commit",
        data={"csrf_token": token, "accept": "batch-without-course:Đợt 1"},
    )
    job_page = client.get(started.location).get_data(as_text=True)
    assert "Đã tạo 1, cập nhật 0, giữ nguyên 0, bỏ qua 0." in job_page
    download = client.get(started.location + "/credentials")
    names = zipfile.ZipFile(io.BytesIO(download.data)).namelist()
    assert "phieu-dang-nhap.pdf" in names and any(n.endswith(".xlsx") for n in names)
    slips = zipfile.ZipFile(io.BytesIO(download.data)).read("phieu-dang-nhap.pdf")
    from pypdf import PdfReader

    text = PdfReader(io.BytesIO(slips)).pages[0].extract_text()
    password = re.search(r"Mật khẩu ban đầu:\s*(\S{12})", text).group(1)
    assert "Nguyễn Văn An" in text and "annv" in text
    assert client.get(started.location + "/credentials").status_code == 410  # once only
    session.rollback()
    assert session.scalar(select(User).where(User.username == "annv")) is not None
    learner = app.test_client()
    LoggedIn(learner)("annv", password)
    assert learner.get("/").location == "/password"


def test_credentials_workbook_keeps_formula_like_names_as_text(client, login, world, app):
    import zipfile

    import openpyxl

    from tests.conftest import csrf_token

    app.config["HOCVU_JOBS_INLINE"] = True
    login("qt.than")
    names = ['=HYPERLINK("http://evil","x")', "=1+1"]
    rows = [[name, "", "", "", "CDCS-HALAM", f"hv.x{i}", "", ""] for i, name in enumerate(names)]
    buffer = io.StringIO()
    csv.writer(buffer).writerows([HEADER, *rows])
    token = csrf_token(client, "/admin/import")
    preview = client.post(
        "/admin/import",
        content_type="multipart/form-data",
        data={
            "csrf_token": token,
            "file": (io.BytesIO(buffer.getvalue().encode()), "ds.csv"),
            "strict": "y",
            "batch_name": "",
        },
    ).get_data(as_text=True)
    upload = re.search(r"/admin/import/([\w-]+)/commit", preview).group(1)
    started = client.post(
        f"/admin/import/{upload}/commit", data={"csrf_token": token, "accept": "no-batch"}
    )
    download = zipfile.ZipFile(io.BytesIO(client.get(started.location + "/credentials").data))
    (sheet_name,) = [n for n in download.namelist() if n.endswith(".xlsx")]
    sheet = openpyxl.load_workbook(io.BytesIO(download.read(sheet_name))).active
    assert [c.value for c in sheet[1]][:3] == ["Họ và tên", "Đơn vị", "Tên đăng nhập"]
    cells = {c.value: c for c in sheet["A"][1:]}
    for name in names:
        # A string cell ('s') is shown as typed; a formula cell ('f') would be run by Excel.
        assert cells[name].data_type == "s", name
    assert sheet.freeze_panes == "A2"


def test_the_template_has_the_vietnamese_headers(client, login, world):
    import openpyxl

    login("qt.than")
    data = client.get("/admin/import/template.xlsx").data
    sheet = openpyxl.load_workbook(io.BytesIO(data)).active
    assert [c.value for c in sheet[1]] == rosters.TEMPLATE_HEADERS


def test_usernames_from_phone_numbers_and_skip_mode(session, world):
    text = _csv(
        ";", [ROWS[0], ["Trần Thị Bình", "", "", "new@example.vn", "CDCS-HALAM", "hv.binh", "", ""]]
    )
    table = rosters.read_csv(text.encode())
    plan = rosters.plan_import(
        session, world["admin"], table, username_from="phone", update_existing=False
    )
    assert plan.rows[0].username == "0912345678"
    assert plan.rows[1].action == "unchanged"  # exists and differs, but updates are off


def test_five_percent_bad_rows_in_ten_thousand_are_all_reported(session, world):
    rows = []
    for n in range(10_000):
        unit = "CP" if n % 20 == 0 else "CDCS-HALAM"  # every 20th row: outside the scope
        rows.append([f"Học Viên Số {n}", "", f"09{n:08d}", "", unit, "", "", ""])
    table = rosters.read_csv(_csv(";", rows).encode())
    plan = rosters.plan_import(session, world["admin"], table)
    assert len(plan.errors) == 500 and plan.count("new") == 9500
    assert {row.line for row in plan.errors} == {n + 2 for n in range(0, 10_000, 20)}
    with pytest.raises(DomainError):
        _commit(session, world["admin"], _csv(";", rows))


def test_a_failure_half_way_leaves_nothing(session, world, make, app, monkeypatch):
    """All or nothing: the import is one transaction; a failure rolls everything back."""
    from sqlalchemy import func, select

    from lms.models import Cohort, Enrolment, User
    from lms.services import deadlines

    version = make.course(app.config["HOCVU_FILES_DIR"])
    session.add(Cohort(name="Đợt 1", org_unit=world["halam"], courses=[version.course]))
    session.commit()
    users_before = session.scalar(select(func.count()).select_from(User))

    def broken(*args, **kwargs):
        raise RuntimeError("disk full while enrolling")

    monkeypatch.setattr(deadlines, "end_of_day", broken)
    rows = [[f"Học Viên {n}", "", "", "", "CDCS-HALAM", "", "", ""] for n in range(50)]
    with pytest.raises(RuntimeError):
        _commit(session, world["admin"], _csv(";", rows), batch_name="Đợt 1")
    session.rollback()
    assert session.scalar(select(func.count()).select_from(User)) == users_before
    assert session.scalar(select(func.count()).select_from(Enrolment)) == 0


def test_missing_units_of_a_path_are_added_only_inside_the_admins_subtree(session, world):
    from sqlalchemy import select

    from lms.models import OrgUnit, User

    rows = [
        ["Lê Văn Mới", "", "", "", "Công đoàn ngành Than / CĐCS Mỏ Than Núi Béo", "", "", ""],
        [
            "Lê Thị Mới",
            "",
            "",
            "",
            "Công đoàn ngành Than / CĐCS Mỏ Than Núi Béo / Tổ 1",
            "",
            "",
            "",
        ],
        ["Người Ngoài", "", "", "", "LĐLĐ thành phố Cẩm Phả / CĐCS Mới", "", "", ""],
    ]
    table = rosters.read_csv(_csv(";", rows).encode())
    without = rosters.plan_import(session, world["admin"], table)
    assert len(without.errors) == 3
    plan = rosters.plan_import(session, world["admin"], table, create_units=True)
    assert [r.action for r in plan.rows] == ["new", "new", "error"]  # Cẩm Phả is not theirs
    assert len(plan.units_to_create) == 2
    _, result = _commit(session, world["admin"], _csv(";", rows[:2]), create_units=True)
    session.commit()
    nui_beo = session.scalar(select(OrgUnit).where(OrgUnit.name == "CĐCS Mỏ Than Núi Béo"))
    assert nui_beo.parent.code == "CDN-THAN" and nui_beo.code == "CDCS-MO-THAN-NUI-BEO"
    team = session.scalar(select(OrgUnit).where(OrgUnit.name == "Tổ 1"))
    assert team.parent_id == nui_beo.id
    assert session.scalar(select(User).where(User.full_name == "Lê Thị Mới")).org_unit_id == (
        team.id
    )


def test_the_same_file_twice_creates_nobody_twice(session, world):
    from sqlalchemy import func, select

    from lms.models import User

    text = _csv(";", [ROWS[0], ["Lê Thị Hoa", "01/02/1991", "", "", "CDCS-HALAM", "", "", ""]])
    _, first = _commit(session, world["admin"], text)
    session.commit()
    count = session.scalar(select(func.count()).select_from(User))
    plan, second = _commit(session, world["admin"], text)
    session.commit()
    assert first.created == 2 and second.created == 0 and second.unchanged == 2
    assert session.scalar(select(func.count()).select_from(User)) == count
    assert [r.action for r in plan.rows] == ["unchanged", "unchanged"]
