"""Completion reports: figures equal what the database holds, admins see only their subtree
(pages and exports), XLSX/CSV exports are typed, periodic reports stay frozen."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import openpyxl
import pytest
from pypdf import PdfReader
from sqlalchemy import select

from lms.models import (
    Certificate,
    Cohort,
    Enrolment,
    Job,
    Report,
    TestAttempt,
    User,
    utcnow,
)
from lms.services import reports
from lms.services.scope import Scope


@dataclass
class Org:
    root: object
    d1: object
    d2: object
    g1: object
    g2: object
    g3: object
    empty: object
    version: object
    site_admin: object
    admin_d1: object
    admin_d2: object
    b1: object
    b2: object


def _learner(make, session, unit, cohort, org_version, *, state: str, name: str, logged=True):
    """A learner in one of: none (not enrolled), new, started, overdue, done, done_cert,
    done_revoked."""
    now = utcnow()
    user = make.learner(unit, full_name=name, issued_at=date.today() - timedelta(days=20))
    user.cohort_id = cohort.id if cohort else None
    user.last_login_at = now - timedelta(days=3) if logged else None
    if state == "none":
        session.flush()
        return user
    enrolment = make.enrol(user, org_version)
    enrolment.due_at = now + timedelta(days=5)
    if state in ("started", "overdue") or state.startswith("done"):
        enrolment.started_at = now - timedelta(days=10)
    if state == "overdue":
        enrolment.due_at = now - timedelta(days=1)
    if state.startswith("done"):
        enrolment.completed_at = now - timedelta(days=2)
        test = next(a for a in org_version.activities if a.kind == "test")
        session.add(
            TestAttempt(
                enrolment=enrolment,
                activity=test,
                number=1,
                draw=[],
                answers={},
                score=9.0,
                passed=True,
            )
        )
        if state in ("done_cert", "done_revoked"):
            session.flush()
            session.add(
                Certificate(
                    serial=f"S{user.id:05d}",
                    enrolment_id=enrolment.id,
                    user_id=user.id,
                    course_id=enrolment.course_id,
                    learner_name=name,
                    course_title="x",
                    sha256=f"{user.id:064d}",
                    files_path="x.pdf",
                    revoked_at=now if state == "done_revoked" else None,
                )
            )
    session.flush()
    return user


@pytest.fixture
def org(make, session, app) -> Org:
    from lms.models import UnitKind

    version = make.course(app.config["HOCVU_FILES_DIR"])
    root = make.unit(name="LĐLĐ tỉnh Quảng Ninh", code="QN", kind=UnitKind.FEDERATION)
    d1 = make.unit(root, name="LĐLĐ thành phố Hạ Long", code="HL", kind=UnitKind.DISTRICT)
    d2 = make.unit(root, name="Công đoàn ngành Than", code="THAN", kind=UnitKind.SECTOR)
    g1 = make.unit(d1, name="CĐCS Trường THPT Hòn Gai", code="HG")
    g2 = make.unit(d1, name="CĐCS Bệnh viện Bãi Cháy", code="BC")
    empty = make.unit(d1, name="CĐCS Chưa có học viên", code="TRONG")
    g3 = make.unit(d2, name="CĐCS Công ty Than Hà Lầm", code="HLAM")
    b1 = Cohort(name="Đợt 1", org_unit=d1, courses=[version.course])
    b2 = Cohort(name="Đợt Than", org_unit=d2, courses=[version.course])
    session.add_all([b1, b2])
    session.flush()
    v = version
    _learner(make, session, g1, b1, v, state="done_cert", name="Nguyễn Thị An")
    _learner(make, session, g1, b1, v, state="overdue", name="Trần Văn Bình")
    _learner(make, session, g1, b1, v, state="new", name="Lê Thị Cúc", logged=False)
    _learner(make, session, g2, b1, v, state="done_revoked", name="Phạm Văn Dũng")
    _learner(make, session, g2, None, v, state="none", name="Hoàng Thị Em", logged=False)
    _learner(make, session, g3, b2, v, state="done_cert", name="Vũ Văn Giang")
    _learner(make, session, g3, b2, v, state="overdue", name="Đặng Thị Hoa")
    _learner(make, session, g3, b2, v, state="started", name="Bùi Văn Khánh")
    site_admin = make.site_admin(username="admin")
    admin_d1 = make.unit_admin(d1, username="qt.halong")
    admin_d2 = make.unit_admin(d2, username="qt.than")
    make.commit()
    return Org(root, d1, d2, g1, g2, g3, empty, version, site_admin, admin_d1, admin_d2, b1, b2)


def expected(session, course_id: int, unit_path: str, cohort_id=None) -> dict[str, int]:
    """The figures computed independently, learner by learner, in Python."""
    now = utcnow()
    totals = dict.fromkeys(reports.FIGURES, 0)
    for user in session.scalars(select(User)):
        if user.org_unit is None or not user.org_unit.path.startswith(unit_path):
            continue
        if not any(r.role == "learner" for r in user.roles):
            continue
        if cohort_id is not None and user.cohort_id != cohort_id:
            continue
        totals["issued"] += 1
        totals["never_logged_in"] += user.last_login_at is None
        enrolment = session.scalar(
            select(Enrolment).where(Enrolment.user_id == user.id, Enrolment.course_id == course_id)
        )
        if enrolment is None:
            continue
        attempts = session.scalars(
            select(TestAttempt).where(TestAttempt.enrolment_id == enrolment.id)
        ).all()
        certificates = session.scalars(
            select(Certificate).where(Certificate.enrolment_id == enrolment.id)
        ).all()
        totals["started"] += enrolment.started_at is not None
        totals["completed"] += enrolment.completed_at is not None
        totals["passed"] += any(a.passed for a in attempts)
        totals["certified"] += any(
            c.revoked_at is None and c.replaced_by_id is None for c in certificates
        )
        totals["overdue"] += (
            enrolment.completed_at is None
            and enrolment.due_at is not None
            and enrolment.due_at <= now
        )
    return totals


def test_totals_equal_what_the_database_holds(org, session):
    course_id = org.version.course_id
    everything = Scope(everything=True, paths=())
    live = reports.overview(session, everything, reports.Filters(course_id))
    assert live.total.as_dict() == expected(session, course_id, org.root.path)
    assert live.total.as_dict() == {
        "issued": 8,
        "started": 6,
        "completed": 3,
        "passed": 3,
        "certified": 2,
        "overdue": 2,
        "never_logged_in": 2,
    }
    snapshot = reports.refresh(session, course_id)
    for unit in (org.root, org.d1, org.d2, org.g1, org.g2, org.g3, org.empty):
        shown = reports.dashboard(session, everything, snapshot, unit)
        assert shown.total.as_dict() == expected(session, course_id, unit.path), unit.name
        for row in shown.rows:
            assert row.total.as_dict() == expected(session, course_id, row.path), row.name
    by_batch = {
        b.name: b.counts.as_dict()
        for b in reports.dashboard(session, everything, snapshot, org.root).batches
    }
    assert by_batch["Đợt 1"] == expected(session, course_id, org.root.path, org.b1.id)
    assert by_batch["Đợt Than"] == expected(session, course_id, org.root.path, org.b2.id)
    assert by_batch[""]["issued"] == 1  # the learner without a batch
    empty = reports.dashboard(session, everything, snapshot, org.empty)
    assert empty.total.issued == 0 and empty.total.rate is None and empty.rows == []


def test_dashboard_from_the_snapshot_shows_what_a_live_count_shows(org, session):
    """The dashboard reads only the viewed unit and its rows since issue 24 (not the whole
    subtree): its rows, their sub-unit counts and figures stay those of a count made now, for
    a site admin and for an admin of a district, one of its units (inside it) and a sector."""
    course_id = org.version.course_id
    snapshot = reports.refresh(session, course_id)
    scopes = (
        Scope(everything=True, paths=()),
        Scope(everything=False, paths=tuple(sorted((org.d1.path, org.g1.path, org.d2.path)))),
    )
    for scope in scopes:
        for unit in (None, org.d1, org.d2, org.g1, org.empty):
            if unit is None or scope.covers_unit(unit):
                shown = reports.dashboard(session, scope, snapshot, unit)
                live = reports.overview(session, scope, reports.Filters(course_id), unit)

                def rows(view):
                    return [(r.id, r.child_count, r.total.as_dict()) for r in view.rows]

                assert rows(shown) == rows(live), (scope, unit)
                assert shown.total == live.total
    roots = reports.dashboard(session, scopes[1], snapshot, None).rows
    assert [(r.name, r.child_count) for r in roots] == [
        ("Công đoàn ngành Than", 1),
        ("LĐLĐ thành phố Hạ Long", 3),
    ]


def test_completions_per_day_count_local_days(org, session):
    course_id = org.version.course_id
    everything = Scope(everything=True, paths=())
    # 23:30 on 1 March in Vietnam is 16:30 UTC on 1 March; 00:30 on 2 March is 17:30 UTC.
    done = session.scalars(select(Enrolment).where(Enrolment.completed_at.is_not(None))).all()
    done[0].completed_at = datetime(2026, 3, 1, 16, 30, tzinfo=UTC)
    done[1].completed_at = datetime(2026, 3, 1, 17, 30, tzinfo=UTC)
    session.flush()
    period = reports.Period(date(2026, 3, 1), date(2026, 3, 2))
    live = reports.completions_per_day(session, everything, reports.Filters(course_id), period)
    assert live == [(date(2026, 3, 1), 1), (date(2026, 3, 2), 1)]
    snapshot = reports.refresh(session, course_id)
    assert reports.daily_from_snapshot(session, everything, snapshot, period) == live


def test_dashboard_page_shows_figures_charts_and_drills_down(org, login, client):
    login("admin")
    page = client.get("/admin/reports/")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert '<svg class="chart"' in html and "<title" in html
    assert "LĐLĐ tỉnh Quảng Ninh" in html and "37,5 %" in html  # 3 of 8
    page = client.get(f"/admin/reports/?unit={org.d1.id}")
    html = page.get_data(as_text=True)
    assert (
        "CĐCS Trường THPT Hòn Gai" in html
        and "Công đoàn ngành Than" not in html.split('id="by-unit"')[1]
    )
    overdue_link = re.search(
        rf'href="(/admin/users\?[^"]*unit={org.g1.id}[^"]*progress=overdue[^"]*)"', html
    )
    assert overdue_link, "the overdue figure links to the learner list"
    learners = client.get(overdue_link.group(1).replace("&amp;", "&")).get_data(as_text=True)
    assert "Trần Văn Bình" in learners and "Nguyễn Thị An" not in learners
    assert "Đã quá hạn" in learners


def test_unit_admin_sees_only_their_subtree(org, login, client):
    login("qt.halong")
    html = client.get("/admin/reports/").get_data(as_text=True)
    assert "LĐLĐ thành phố Hạ Long" in html
    assert "Công đoàn ngành Than" not in html and "Đợt Than" not in html
    assert client.get(f"/admin/reports/?unit={org.d2.id}").status_code == 404
    assert client.get(f"/admin/reports/?unit={org.root.id}").status_code == 404
    assert client.get(f"/admin/reports/?batch={org.b2.id}").status_code == 404
    units = client.get("/admin/reports/export/units.csv").get_data(as_text=True)
    assert "LĐLĐ thành phố Hạ Long,5," in units and "Than" not in units
    batches = client.get("/admin/reports/export/batches.csv").get_data(as_text=True)
    assert "Đợt 1" in batches and "Đợt Than" not in batches
    listing = client.get("/admin/users?progress=overdue").get_data(as_text=True)
    assert "Trần Văn Bình" in listing and "Đặng Thị Hoa" not in listing
    assert client.get(f"/admin/users?unit={org.g3.id}").status_code == 404


def test_learner_export_is_scoped_and_typed(org, login, client, post, app, session):
    app.config["HOCVU_JOBS_INLINE"] = True
    login("qt.than")
    course = org.version.course_id
    response = post(
        f"/admin/users/export?format=xlsx&course={course}&role=learner", form_page="/admin/users"
    )
    assert response.status_code == 302
    job = session.scalars(select(Job).order_by(Job.id.desc())).first()
    assert job.status == "done", job.error
    download = client.get(f"/admin/jobs/{job.id}/download")
    assert download.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(download.data))
    sheet = book.active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][0] == "Họ và tên" and sheet.freeze_panes == "A2"
    names = {r[0] for r in rows[1:]}
    assert names == {"Vũ Văn Giang", "Đặng Thị Hoa", "Bùi Văn Khánh"}
    done = next(r for r in rows[1:] if r[0] == "Vũ Văn Giang")
    header = list(rows[0])
    assert isinstance(done[header.index("Ngày cấp tài khoản")], datetime)
    assert isinstance(done[header.index("Thời điểm hoàn thành")], datetime)
    assert done[header.index("Điểm cao nhất")] == 9.0
    assert done[header.index("Trạng thái")] == "Đã hoàn thành"
    assert sheet.cell(2, header.index("Ngày cấp tài khoản") + 1).number_format == "dd/mm/yyyy"
    # Another admin cannot fetch the file.
    post("/logout", form_page="/admin/")
    login("qt.halong")
    assert client.get(f"/admin/jobs/{job.id}/download").status_code == 404


def test_learner_export_as_csv_has_one_charset(org, login, client, post, app, session):
    app.config["HOCVU_JOBS_INLINE"] = True
    login("qt.than")
    course = org.version.course_id
    post(f"/admin/users/export?format=csv&course={course}&role=learner", form_page="/admin/users")
    job = session.scalars(select(Job).order_by(Job.id.desc())).first()
    assert job.status == "done", job.error
    download = client.get(f"/admin/jobs/{job.id}/download")
    assert download.headers["Content-Type"] == "text/csv; charset=utf-8"
    rows = list(csv.reader(io.StringIO(download.data.decode("utf-8-sig"))))
    assert rows[0][0] == "Họ và tên"
    assert {r[0] for r in rows[1:]} == {"Vũ Văn Giang", "Đặng Thị Hoa", "Bùi Văn Khánh"}


# Names that Excel, LibreOffice and Google Sheets would run as formulas from a CSV cell
# (OWASP "CSV Injection": cells starting with =, +, -, @, tab or carriage return).
FORMULA_NAMES = ['=HYPERLINK("http://evil","x")', "@SUM(1)", "+1", "-1", "\t=1+1", "\r=1+1"]


def _export_learners(post, client, session, course: int, fmt: str) -> bytes:
    post(f"/admin/users/export?format={fmt}&course={course}&role=learner", form_page="/admin/users")
    job = session.scalars(select(Job).order_by(Job.id.desc())).first()
    assert job.status == "done", job.error
    return client.get(f"/admin/jobs/{job.id}/download").data


def test_learner_export_csv_quotes_names_a_spreadsheet_would_run(
    org, login, client, post, app, session, make
):
    app.config["HOCVU_JOBS_INLINE"] = True
    for name in FORMULA_NAMES:
        _learner(make, session, org.g3, org.b2, org.version, state="new", name=name)
    make.commit()
    login("qt.than")
    data = _export_learners(post, client, session, org.version.course_id, "csv")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    names = {r[0] for r in rows[1:]}
    assert {"'" + name for name in FORMULA_NAMES} <= names
    assert not names & set(FORMULA_NAMES)
    assert "Vũ Văn Giang" in names  # ordinary text is left as it was
    score = rows[0].index("Điểm cao nhất")
    assert next(r for r in rows[1:] if r[0] == "Vũ Văn Giang")[score] == "9"


def test_learner_export_xlsx_keeps_formula_like_names_as_text_cells(
    org, login, client, post, app, session, make
):
    app.config["HOCVU_JOBS_INLINE"] = True
    for name in ['=HYPERLINK("http://evil","x")', "=1+1"]:
        _learner(make, session, org.g3, org.b2, org.version, state="new", name=name)
    make.commit()
    login("qt.than")
    data = _export_learners(post, client, session, org.version.course_id, "xlsx")
    sheet = openpyxl.load_workbook(io.BytesIO(data)).active
    cells = {c.value: c for c in sheet["A"][1:]}
    for name in ['=HYPERLINK("http://evil","x")', "=1+1"]:
        # A string cell ('s') is shown as typed; a formula cell would be 'f'.
        assert cells[name].data_type == "s", name


def test_report_tables_quote_unit_and_batch_names_a_spreadsheet_would_run(
    org, login, client, session, make
):
    link = '=HYPERLINK("http://evil","x")'
    unit = make.unit(org.d1, name=link, code="EVIL")
    batch = Cohort(name="@SUM(1)", org_unit=org.d1, courses=[org.version.course])
    session.add(batch)
    session.flush()
    _learner(make, session, unit, batch, org.version, state="done", name="-1")
    make.commit()
    login("qt.halong")
    query = f"?unit={org.d1.id}"
    units = list(
        csv.reader(io.StringIO(client.get(f"/admin/reports/export/units.csv{query}").text))
    )
    row = next(r for r in units if r[0] == "EVIL")
    assert row[1] == "'" + link
    assert row[2] == "1" and row[-1] == "100,0 %"  # numbers stay numbers
    batches = list(csv.reader(io.StringIO(client.get("/admin/reports/export/batches.csv").text)))
    assert "'@SUM(1)" in {r[0] for r in batches}


def test_csv_quotes_text_but_not_numbers():
    from lms.documents.spreadsheets import Column, write_csv

    columns = [Column("-Tên"), Column("n", "int"), Column("x", "number"), Column("p", "percent")]
    rows = [["-1,5", -3, -1.5, -0.25], ["+84 912", 2, "-2", None], ["'=1", 0, 0.5, 1]]
    out = io.BytesIO()
    write_csv(out, columns, rows, "Asia/Ho_Chi_Minh")
    assert list(csv.reader(io.StringIO(out.getvalue().decode("utf-8-sig"), newline=""))) == [
        ["'-Tên", "n", "x", "p"],
        ["'-1,5", "-3", "-1,5", "-25,0 %"],  # a score -1.5 written from a float is a number
        ["'+84 912", "2", "'-2", ""],  # text in a number column is still text
        ["'=1", "0", "0,5", "100,0 %"],
    ]


def test_csv_export_has_bom_and_vietnamese_headers(org, login, client):
    login("admin")
    response = client.get(f"/admin/reports/export/units.csv?unit={org.root.id}")
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    data = response.data
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[0][:3] == ["Mã đơn vị", "Đơn vị", "Tài khoản đã cấp"]
    assert rows[1][1] == "Công đoàn ngành Than" and rows[1][-1] == "33,3 %"


def test_units_table_as_xlsx_has_numbers(org, login, client):
    login("admin")
    response = client.get(f"/admin/reports/export/units.xlsx?unit={org.d1.id}")
    sheet = openpyxl.load_workbook(io.BytesIO(response.data)).active
    rows = list(sheet.iter_rows(values_only=True))
    by_name = {r[1]: r for r in rows[1:]}
    assert set(by_name) == {
        "CĐCS Trường THPT Hòn Gai",
        "CĐCS Bệnh viện Bãi Cháy",
        "CĐCS Chưa có học viên",
    }
    assert by_name["CĐCS Trường THPT Hòn Gai"][2] == 3
    assert by_name["CĐCS Chưa có học viên"][2] == 0 and by_name["CĐCS Chưa có học viên"][-1] is None
    assert abs(by_name["CĐCS Bệnh viện Bãi Cháy"][-1] - 0.5) < 1e-9


def test_bad_input_gets_a_vietnamese_message(org, login, client, post):
    login("admin")
    page = client.get("/admin/reports/?start=2026-13-01&end=2026-01-01")
    assert page.status_code == 400 and "không phải là ngày hợp lệ" in page.get_data(as_text=True)
    page = client.get("/admin/reports/?start=2026-03-01&end=2026-02-01")
    assert page.status_code == 400
    assert "Ngày kết thúc của kỳ không thể trước ngày bắt đầu" in page.get_data(as_text=True)
    assert client.get("/admin/reports/?unit=999999").status_code == 404
    assert client.get("/admin/reports/?course=999999").status_code == 404
    response = post(
        "/admin/reports/periodic",
        {
            "unit_id": org.d1.id,
            "course_id": org.version.course_id,
            "kind": "custom",
            "start": "2026-06-30",
            "end": "2026-01-01",
            "half": "1",
        },
    )
    assert response.status_code == 422
    assert "Ngày kết thúc của kỳ không thể trước ngày bắt đầu" in response.get_data(as_text=True)
    response = post(
        "/admin/reports/periodic",
        {
            "unit_id": 999999,
            "course_id": org.version.course_id,
            "kind": "year",
            "year": 2026,
            "half": "1",
        },
    )
    assert response.status_code == 422  # not one of the admin's units: an invalid choice


def test_periodic_report_is_frozen(org, login, client, post, app, session):
    app.config["HOCVU_JOBS_INLINE"] = True
    login("qt.halong")
    year = date.today().year
    issued_on = date.today()
    response = post(
        "/admin/reports/periodic",
        {
            "unit_id": org.d1.id,
            "course_id": org.version.course_id,
            "kind": "custom",
            "start": (issued_on - timedelta(days=60)).isoformat(),
            "end": issued_on.isoformat(),
            "year": year,
            "half": "1",
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:3000]
    report = session.scalars(select(Report)).one()
    assert report.data["total"]["issued"] == 5 and report.data["total"]["completed"] == 2
    first = client.get(f"/admin/reports/periodic/{report.id}.pdf")
    assert first.status_code == 200
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(first.data)).pages)
    assert "BÁO CÁO KẾT QUẢ THỰC HIỆN" in text and "LĐLĐ thành phố Hạ Long" in text
    assert "CĐCS Trường THPT Hòn Gai" in text and "Tài khoản đã cấp" in text
    # A new completion after the report was issued.
    late = session.scalars(
        select(Enrolment).join(User).where(User.full_name == "Trần Văn Bình")
    ).one()
    late.completed_at = utcnow()
    session.commit()
    again = client.get(f"/admin/reports/periodic/{report.id}.pdf")
    assert again.data == first.data
    session.expire_all()
    assert session.get(Report, report.id).data["total"]["completed"] == 2
    # The live figures did change, and another admin cannot read the report.
    live = reports.overview(
        session, Scope(True, ()), reports.Filters(org.version.course_id), org.d1
    )
    assert live.total.completed == 3
    post("/logout", form_page="/admin/")
    login("qt.than")
    assert client.get(f"/admin/reports/periodic/{report.id}.pdf").status_code == 404
    assert report.title not in client.get("/admin/reports/periodic").get_data(as_text=True)


def test_periodic_report_is_headed_like_the_certificates(org, login, client, post, app, session):
    """The organisation and place of the profile head the report; a unit that issues in its
    own name heads its own reports."""
    from lms.models import OrganisationProfile

    app.config["HOCVU_JOBS_INLINE"] = True
    session.add(
        OrganisationProfile(
            id=1, organisation="Công đoàn Viên chức tỉnh", place="Hạ Long", signer_title="Chủ tịch"
        )
    )
    session.get(type(org.d2), org.d2.id).certificate_issuer = "Công đoàn Than - Khoáng sản"
    session.commit()
    login("admin")
    texts = []
    for unit in (org.d1, org.d2):
        response = post(
            "/admin/reports/periodic",
            {
                "unit_id": unit.id,
                "course_id": org.version.course_id,
                "kind": "year",
                "year": date.today().year,
                "half": "1",
            },
        )
        assert response.status_code == 302, response.get_data(as_text=True)[:3000]
        report = session.scalars(select(Report).order_by(Report.id.desc())).first()
        pdf = client.get(f"/admin/reports/periodic/{report.id}.pdf")
        texts.append("\n".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.data)).pages))
    district, sector = texts
    assert "CÔNG ĐOÀN VIÊN CHỨC TỈNH" in district and "Hạ Long, ngày" in district
    assert "CÔNG ĐOÀN THAN - KHOÁNG SẢN" in sector and "VIÊN CHỨC" not in sector


def test_no_learners_at_all(make, session, login, client, app):
    make.course(app.config["HOCVU_FILES_DIR"])
    unit = make.unit(name="CĐCS Mới thành lập")
    make.unit_admin(unit, username="qt.moi")
    make.commit()
    login("qt.moi")
    page = client.get("/admin/reports/")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "CĐCS Mới thành lập" in html
    assert "Chưa có học viên nào ở đây." in html
    # No empty chart: the period says in words that nobody completed.
    assert "Không có học viên nào hoàn thành khóa học trong khoảng thời gian này." in html


def test_stale_figures_are_counted_again_in_the_background(org, session, login, client, app):
    app.config["HOCVU_JOBS_INLINE"] = True
    login("admin")
    client.get("/admin/reports/")
    snapshot = reports.latest_snapshot(session, org.version.course_id)
    snapshot.completed_at = utcnow() - timedelta(hours=1)
    session.commit()
    html = client.get("/admin/reports/").get_data(as_text=True)
    assert "đang được đếm lại" in html
    session.expire_all()
    assert reports.latest_snapshot(session, org.version.course_id).id != snapshot.id


def test_refresh_reports_command(org, runner, session):
    result = runner.invoke(args=["refresh-reports"])
    assert result.exit_code == 0 and "1 courses" in result.output
    snapshot = reports.latest_snapshot(session, org.version.course_id)
    shown = reports.dashboard(session, Scope(True, ()), snapshot, org.root)
    assert shown.total.as_dict() == expected(session, org.version.course_id, org.root.path)
