"""A campaign from one spreadsheet, as an administrator starts it: the check page (units to add
as a tree, batches and courses, due dates, warnings to accept), the import with its settings,
and the same journey in the CLI. Each test is one way the journey used to leave learners
without a course or with a wrong deadline (issue 19)."""

from __future__ import annotations

import csv
import io
import os
import re
import time
import zipfile
from datetime import date, timedelta

import pytest
from pypdf import PdfReader
from sqlalchemy import func, select

from lms.models import Cohort, Enrolment, OrgUnit, Role, UnitKind, User
from lms.services import clock, deadlines
from tests.conftest import csrf_token

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
PROVINCE = "LĐLĐ tỉnh Quảng Ninh"


def _rows(count: int, issued: date | None, batch: str = "", districts: int = 3) -> list[list]:
    rows = []
    for n in range(count):
        district = f"LĐLĐ huyện Số {n % districts}"
        unit = f"{PROVINCE} / {district} / CĐCS Công ty Số {n % (districts * 2)}"
        rows.append(
            [
                f"Nguyễn Văn Học {n}",
                "",
                f"09{n:08d}",
                "",
                unit,
                "",
                batch,
                issued.strftime("%d/%m/%Y") if issued else "",
            ]
        )
    return rows


def _csv(rows: list[list]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer).writerows([HEADER, *rows])
    return buffer.getvalue().encode("utf-8")


@pytest.fixture
def site(make, app):
    """A fresh site: a site admin, a published course, and no unit at all."""
    admin = make.site_admin(username="qt.tinh", full_name="Quản Trị Tỉnh")
    version = make.course(app.config["HOCVU_FILES_DIR"])
    make.commit()
    app.config["HOCVU_JOBS_INLINE"] = True
    return {"admin": admin, "course": version.course}


def _today(app) -> date:
    return clock.today(app.config["HOCVU_TIMEZONE"])


def _upload(client, data: bytes, **fields) -> tuple[int, str]:
    token = csrf_token(client, "/admin/import")
    form = {
        "csrf_token": token,
        "file": (io.BytesIO(data), "danh-sach.csv"),
        "strict": "y",
        "update_existing": "y",
        "username_from": "name",
        **fields,
    }
    response = client.post("/admin/import", content_type="multipart/form-data", data=form)
    return response.status_code, response.get_data(as_text=True)


def _commit(client, page: str, accept=()):
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)[1]
    upload = re.search(r"/admin/import/([\w-]+)/commit", page)[1]
    return client.post(
        f"/admin/import/{upload}/commit", data={"csrf_token": token, "accept": list(accept)}
    )


def _codes(page: str) -> list[str]:
    return re.findall(r'name="accept" value="([^"]+)"', page)


def test_a_fresh_site_gets_one_message_for_a_missing_top_unit_not_one_per_row(
    client, login, site, app
):
    login("qt.tinh")
    status, page = _upload(client, _csv(_rows(300, _today(app))))
    assert status == 200
    assert f"300 dòng ghi đơn vị thuộc “{PROVINCE}”, đơn vị này chưa có trên trang." in page
    assert "chọn “Thêm các đơn vị chưa có trong đường dẫn”" in page
    # The errors table: one line per different problem, with how many rows have it.
    errors = page[page.index('id="errors"') : page.index("</section>", page.index('id="errors"'))]
    assert errors.count("<tr>") <= 1 + 6  # the header, and one row per unit path
    assert "Import nothing" not in page


def test_a_site_admin_adds_the_top_unit_and_the_whole_tree_from_the_file(
    client, login, site, app, session
):
    login("qt.tinh")
    today = _today(app)
    data = _csv(_rows(60, today, batch="Đợt 1"))
    status, page = _upload(
        client, data, create_units="y", course_ids=str(site["course"].id), batch_name=""
    )
    assert status == 200, page[:3000]
    # The tree of units to add, with how many accounts each one takes.
    tree = page[page.index('id="new-units"') :]
    assert PROVINCE in tree and "đơn vị cấp trên cùng" in tree
    assert "60 tài khoản" in tree  # the province holds them all
    assert "LĐLĐ huyện Số 0" in tree and "20 tài khoản" in tree
    assert "Đợt 1" in page and "đợt học mới" in page
    due = today + timedelta(days=10)
    assert f"24:00 ngày {due.day} tháng {due.month} năm {due.year}" in page
    assert _codes(page) == []  # nothing to accept
    done = _commit(client, page)
    assert done.status_code == 302
    session.rollback()
    province = session.scalar(select(OrgUnit).where(OrgUnit.parent_id.is_(None)))
    assert province.name == PROVINCE and province.kind == UnitKind.FEDERATION
    assert session.scalar(select(func.count()).select_from(OrgUnit)) == 1 + 3 + 6
    districts = session.scalars(select(OrgUnit).where(OrgUnit.parent_id == province.id)).all()
    assert {d.kind for d in districts} == {UnitKind.DISTRICT}
    batch = session.scalars(select(Cohort)).one()
    assert batch.name == "Đợt 1" and [c.id for c in batch.courses] == [site["course"].id]
    assert batch.org_unit_id == province.id
    enrolments = session.scalars(select(Enrolment)).all()
    assert len(enrolments) == 60
    assert {e.due_at for e in enrolments} == {
        deadlines.end_of_day(due, app.config["HOCVU_TIMEZONE"])
    }


def test_a_unit_admin_cannot_add_a_top_unit(client, login, make, app, session):
    home = make.unit(code="CDN-THAN", name="Công đoàn ngành Than")
    make.user(home, username="qt.than", roles=[(Role.UNIT_ADMIN, home)])
    make.commit()
    login("qt.than")
    status, page = _upload(client, _csv(_rows(5, _today(app))), create_units="y")
    assert status == 200
    assert "Không có đơn vị nào bạn quản lý có đường dẫn" in page
    assert "Hãy đề nghị quản trị viên hệ thống thêm đơn vị này" in page
    session.rollback()
    assert session.scalar(select(func.count()).select_from(OrgUnit)) == 1


def test_the_import_keeps_the_settings_of_the_upload_page(client, login, site, app, session):
    """Usernames from phone numbers, and adding units, reach the import itself (the job read
    the file again with its own defaults: name-based usernames, no units added)."""
    login("qt.tinh")
    status, page = _upload(
        client,
        _csv(_rows(4, _today(app), batch="Đợt 1")),
        create_units="y",
        username_from="phone",
        course_ids=str(site["course"].id),
    )
    assert status == 200 and _codes(page) == []
    assert _commit(client, page).status_code == 302
    session.rollback()
    names = set(session.scalars(select(User.username).where(User.username != "qt.tinh")))
    assert names == {f"09{n:08d}" for n in range(4)}


def test_a_new_batch_without_a_course_must_be_accepted_and_with_one_gets_due_dates(
    client, login, site, app, session
):
    login("qt.tinh")
    today = _today(app)
    data = _csv(_rows(6, today, batch="Đợt 2"))
    status, page = _upload(client, data, create_units="y")
    assert "Đợt học mới Đợt 2 chưa có khóa học: 6 tài khoản của đợt sẽ không có khóa học" in page
    assert _codes(page) == ["batch-without-course:Đợt 2"]
    refused = _commit(client, page)
    assert refused.status_code == 422
    assert "Hãy đánh dấu từng cảnh báo bạn chấp nhận" in refused.get_data(as_text=True)
    session.rollback()
    assert session.scalar(select(func.count()).select_from(User)) == 1  # nothing imported

    # The same file with the batch's course chosen: enrolled, and the slips say when.
    status, page = _upload(client, data, create_units="y", course_ids=str(site["course"].id))
    started = _commit(client, page)
    assert started.status_code == 302
    session.rollback()
    assert session.scalar(select(func.count()).select_from(Enrolment)) == 6
    package = client.get(started.location + "/credentials")
    slips = zipfile.ZipFile(io.BytesIO(package.data)).read("phieu-dang-nhap.pdf")
    text = PdfReader(io.BytesIO(slips)).pages[0].extract_text()
    due = today + timedelta(days=10)
    assert f"Hạn hoàn thành khóa học: 24:00 ngày {due:%d/%m/%Y}" in text


def test_a_warning_that_appears_after_the_check_page_stops_the_import(
    client, login, site, app, session, make
):
    """The import button trusts what the check page asked, and the job checks again: a batch
    deleted meanwhile makes "Đợt 2" a new batch without a course, which nobody accepted."""
    login("qt.tinh")
    province = make.unit(code="QN", name=PROVINCE)
    batch = Cohort(name="Đợt 2", org_unit=province, courses=[site["course"]])
    session.add(batch)
    make.commit()
    status, page = _upload(client, _csv(_rows(5, _today(app), batch="Đợt 2")), create_units="y")
    assert status == 200 and _codes(page) == []
    session.delete(session.get(Cohort, batch.id))
    session.commit()
    started = _commit(client, page)
    assert started.status_code == 302
    job = client.get(started.location).get_data(as_text=True)
    assert "Đợt học mới Đợt 2 chưa có khóa học" in job
    session.rollback()
    assert session.scalar(select(func.count()).select_from(User)) == 1  # nothing imported


def test_issue_dates_in_the_past_or_close_to_the_deadline_must_be_accepted(
    client, login, site, app, session
):
    login("qt.tinh")
    today = _today(app)
    rows = (
        _rows(3, today - timedelta(days=11), batch="Đợt 1")
        + _rows(2, today - timedelta(days=9), batch="Đợt 1")[0:2]
    )
    rows[3][0], rows[4][0] = "Trần Thị Muộn 1", "Trần Thị Muộn 2"
    rows[3][2], rows[4][2] = "0987000001", "0987000002"
    status, page = _upload(client, _csv(rows), create_units="y", course_ids=str(site["course"].id))
    assert sorted(_codes(page)) == ["due-past", "due-soon"]
    past = today - timedelta(days=1)
    assert "3 lượt ghi danh sẽ quá hạn ngay khi nhập" in page
    assert f"ngày {past.day} tháng {past.month} năm {past.year}" in page
    assert "2 lượt ghi danh sẽ đến hạn trong vòng 2 ngày kể từ hôm nay" in page
    assert _commit(client, page, accept=["due-past"]).status_code == 422
    assert _commit(client, page, accept=["due-past", "due-soon"]).status_code == 302
    session.rollback()
    assert session.scalar(select(func.count()).select_from(Enrolment)) == 5


def test_a_username_twice_in_the_file_is_an_error_on_both_rows_and_a_shared_phone_a_warning(
    client, login, site, app
):
    login("qt.tinh")
    rows = _rows(4, _today(app), batch="Đợt 1")
    rows[0][5] = rows[2][5] = "hv.trung"
    rows[3][2] = rows[1][2]  # two people, one phone
    status, page = _upload(client, _csv(rows), create_units="y", course_ids=str(site["course"].id))
    assert "Tên đăng nhập hv.trung cũng có ở dòng 4." in page  # on line 2, the first one
    assert "Tên đăng nhập hv.trung cũng có ở dòng 2." in page  # on line 4
    assert ">2</span> dòng bị lỗi" in page
    assert "1 số điện thoại có ở dòng của những người khác nhau" in page
    assert f"ví dụ {rows[1][2]} ở các dòng 3, 5" in page


def test_a_phone_two_people_share_does_not_match_one_to_the_others_account(
    client, login, site, app, session
):
    """Imported again, the row of a second person with the same phone found the first one's
    account by the phone, and "updated" it: the first person was renamed."""
    login("qt.tinh")
    rows = _rows(3, _today(app), batch="Đợt 1")
    rows.append(["Trần Thị Mai", "", rows[1][2], "", rows[1][4], "", "Đợt 1", rows[1][7]])
    data = _csv(rows)
    course = str(site["course"].id)
    status, page = _upload(client, data, create_units="y", course_ids=course)
    assert _commit(client, page, accept=["shared-phones"]).status_code == 302
    status, again = _upload(client, data, create_units="y", course_ids=course)
    assert re.search(r">0</span>\s*cần cập nhật", again), again
    assert re.search(r">4</span>\s*giữ nguyên", again)
    assert _commit(client, again, accept=["shared-phones"]).status_code == 302
    session.rollback()
    names = set(session.scalars(select(User.full_name).where(User.phone == rows[1][2])))
    assert names == {"Nguyễn Văn Học 1", "Trần Thị Mai"}

    # A phone that only one person has still finds the account whose name was corrected.
    rows = _rows(3, _today(app), batch="Đợt 1")
    rows[0][0] = "Nguyễn Văn Học Không"
    status, page = _upload(client, _csv(rows), create_units="y", course_ids=course)
    assert re.search(r">1</span>\s*cần cập nhật", page)
    assert _commit(client, page).status_code == 302
    session.rollback()
    renamed = session.scalar(select(User).where(User.phone == rows[0][2]))
    assert renamed.full_name == "Nguyễn Văn Học Không"


def test_imported_again_into_another_batch_says_so_and_counts_only_new_enrolments(
    client, login, site, app, session
):
    login("qt.tinh")
    late = _today(app) - timedelta(days=11)
    course = str(site["course"].id)
    first = _csv(_rows(4, late, batch="Đợt 1"))
    status, page = _upload(client, first, create_units="y", course_ids=course)
    assert _codes(page) == ["due-past"]
    assert _commit(client, page, accept=["due-past"]).status_code == 302
    # The same file again: they are enrolled already, nothing new is overdue.
    status, page = _upload(client, first, create_units="y", course_ids=course)
    assert _codes(page) == []
    # Another batch named for them: they would leave theirs, which needs a tick.
    moved = _csv(_rows(4, late, batch="Đợt 2"))
    status, page = _upload(client, moved, create_units="y", course_ids=course)
    assert "batch-move" in _codes(page)
    assert (
        "4 tài khoản đã có sẽ rời đợt học của mình để vào đợt của lần nhập này (ví dụ dòng 2, "
        "từ Đợt 1 sang Đợt 2)" in page
    )


def test_uploaded_lists_are_deleted_once_imported_or_after_24_hours(
    client, login, site, app, runner
):
    login("qt.tinh")
    files = app.config["HOCVU_FILES_DIR"]
    uploads = os.path.join(files, "uploads")
    status, page = _upload(
        client,
        _csv(_rows(2, _today(app), batch="Đợt 1")),
        create_units="y",
        course_ids=str(site["course"].id),
    )
    assert len(os.listdir(uploads)) == 1
    _commit(client, page)
    assert os.listdir(uploads) == []  # imported: gone

    _upload(client, _csv(_rows(2, _today(app))))  # checked, never imported
    (name,) = os.listdir(uploads)
    old = time.time() - 25 * 3600
    os.utime(os.path.join(uploads, name), (old, old))
    result = runner.invoke(args=["housekeeping"])
    assert result.exit_code == 0, result.output
    assert "Deleted 1 uploaded lists" in result.output
    assert os.listdir(uploads) == []


# --- the CLI -----------------------------------------------------------------------------


def test_the_cli_dry_run_speaks_vietnamese_reports_units_and_fails_on_errors(
    runner, site, app, tmp_path
):
    path = tmp_path / "ds.csv"
    path.write_bytes(_csv(_rows(6, _today(app), batch="Đợt 1")))
    plain = runner.invoke(args=["import-users", str(path), "--admin", "qt.tinh", "--dry-run"])
    assert plain.exit_code != 0  # errors: the units are not there
    assert f"6 dòng ghi đơn vị thuộc “{PROVINCE}”, đơn vị này chưa có trên trang." in plain.output
    assert "Thêm --create-units để tạo các đơn vị này" in plain.output
    assert "Chưa nhập gì: hãy sửa các dòng bị lỗi trước." in plain.output

    checked = runner.invoke(
        args=["import-users", str(path), "--admin", "qt.tinh", "--dry-run", "--create-units"]
    )
    assert checked.exit_code == 0, checked.output
    assert "6 dòng: 6 tài khoản mới" in checked.output
    assert "Đơn vị sẽ thêm: 10" in checked.output
    assert f"{PROVINCE} (đơn vị cấp trên cùng): 6 tài khoản" in checked.output
    assert "Cảnh báo [batch-without-course:Đợt 1]" in checked.output
    assert "Chạy thử: chưa ghi gì vào hệ thống." in checked.output

    english = runner.invoke(
        args=[
            *["import-users", str(path), "--admin", "qt.tinh", "--dry-run", "--create-units"],
            *["--lang", "en"],
        ]
    )
    assert "6 rows: 6 new" in english.output


def test_the_cli_imports_a_campaign_with_its_course_and_refuses_warnings_not_accepted(
    runner, site, app, tmp_path, session
):
    path = tmp_path / "ds.csv"
    path.write_bytes(_csv(_rows(6, _today(app) - timedelta(days=9), batch="Đợt 1")))
    args = ["import-users", str(path), "--admin", "qt.tinh", "--create-units"]
    args += ["--course", site["course"].slug]
    refused = runner.invoke(args=args)
    assert refused.exit_code != 0
    assert "Cảnh báo [due-soon]" in refused.output
    assert "Chưa nhập gì: hãy chấp nhận các cảnh báo ở trên" in refused.output
    session.rollback()
    assert session.scalar(select(func.count()).select_from(User)) == 1
    credentials = tmp_path / "logins.csv"
    done = runner.invoke(args=[*args, "--accept", "due-soon", "--credentials", str(credentials)])
    assert done.exit_code == 0, done.output
    assert (
        "Đã nhập: 6 tài khoản mới" in done.output
        and "đã thêm 10 đơn vị và 1 đợt học" in done.output
    )
    session.rollback()
    assert session.scalar(select(func.count()).select_from(Enrolment)) == 6
    due = _today(app) + timedelta(days=1)
    assert f"{due:%d/%m/%Y}" in credentials.read_text("utf-8-sig")
