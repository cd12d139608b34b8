"""In Chromium at phone width (issue 22): a trainer takes attendance while the connection is
down, closes the page, and the marks reach the server when the page is opened again online;
a learner checks in with the code the trainer's page shows, takes the test on paper, and
downloads a certificate that says he learned in person."""

from __future__ import annotations

import io
import re
from datetime import timedelta

from playwright.sync_api import expect
from pypdf import PdfReader
from sqlalchemy import select

from lms.models import Attendance, AttendanceStatus, utcnow
from lms.services import classes
from lms.services.scope import Scope


def _log_in(page, username, password="mat-khau-1"):  # noqa: S107
    page.goto("/login")
    page.get_by_label("Tên đăng nhập").fill(username)
    page.get_by_label("Mật khẩu", exact=True).fill(password)
    page.get_by_role("button", name="Đăng nhập").click()


def test_attendance_taken_offline_is_sent_later_and_a_learner_checks_in(
    page, browser, live_server, make, app, session
):
    district = make.unit(name="LĐLĐ huyện Đông Triều")
    admin = make.unit_admin(district, username="qt.dongtrieu")
    version = make.course(app.config["HOCVU_FILES_DIR"])
    an = make.learner(district, username="hv.an", full_name="Nguyễn Văn An")
    binh = make.learner(district, username="hv.binh", full_name="Trần Thị Bình")
    cuong = make.learner(district, username="hv.cuong", full_name="Lê Văn Cường")
    trainer = make.user(district, username="gv.lan", full_name="Trần Thị Lan")
    scope = Scope.of(admin)
    training_class = classes.save_class(
        session, scope, admin, name="Lớp kỹ năng số 1", course=version.course, unit=district
    )
    now = utcnow()
    classes.add_session(
        session, training_class, now - timedelta(minutes=5), now + timedelta(hours=3), "Hội trường"
    )
    classes.add_members(session, scope, admin, training_class, [an, binh, cuong])
    classes.set_trainers(session, scope, admin, training_class, [trainer])
    session.commit()
    meeting = training_class.sessions[0]

    _log_in(page, "gv.lan")
    page.get_by_role("link", name="Lớp của tôi").click()
    page.get_by_role("link", name=re.compile("^Điểm danh")).click()
    expect(page.get_by_role("heading", name="Điểm danh")).to_be_visible()
    page.context.set_offline(True)
    an_row = page.get_by_role("group", name=re.compile("Nguyễn Văn An"))
    binh_row = page.get_by_role("group", name=re.compile("Trần Thị Bình"))
    an_row.get_by_text("Có mặt").click()
    binh_row.get_by_text("Vắng").click()
    binh_row.get_by_text("Có phép").click()  # changed her mind: the last tick counts
    expect(page.locator("#attendance-state")).to_contain_text("Đang chờ gửi: 3 thay đổi")
    page.get_by_role("button", name="Lưu điểm danh").click()  # still offline: kept
    expect(page.locator("#attendance-state")).to_contain_text("Đang chờ gửi")
    session.rollback()
    assert session.scalars(select(Attendance)).all() == []
    url = page.url
    page.goto("about:blank")  # the page is closed while offline
    page.context.set_offline(False)

    page.goto(url)
    expect(page.locator("#attendance-state")).to_have_text("Đã lưu tất cả thay đổi.")
    session.rollback()
    stored = {a.user_id: a.status for a in session.scalars(select(Attendance))}
    assert stored == {an.id: AttendanceStatus.PRESENT, binh.id: AttendanceStatus.EXCUSED}
    expect(
        page.get_by_role("group", name=re.compile("Trần Thị Bình")).get_by_label("Có phép")
    ).to_be_checked()

    # The code page, then a learner on their own phone.
    page.get_by_role("link", name="Hiện mã điểm danh").click()
    digits = page.locator("#code-digits").inner_text().replace(" ", "")
    assert re.fullmatch(r"\d{6}", digits)
    expect(page.locator("#code-qr svg")).to_be_visible()
    learner_context = browser.new_context(
        base_url=live_server, viewport={"width": 360, "height": 740}, locale="vi-VN"
    )
    phone = learner_context.new_page()
    _log_in(phone, "hv.cuong")
    expect(phone.get_by_text("Lớp “Lớp kỹ năng số 1” của bạn đang có buổi học")).to_be_visible()
    phone.get_by_role("link", name="Điểm danh").click()
    phone.get_by_label("Mã điểm danh").fill(digits)
    phone.get_by_role("button", name="Điểm danh").click()
    expect(phone.get_by_text("Bạn đã điểm danh: lớp “Lớp kỹ năng số 1”")).to_be_visible()
    expect(phone.get_by_text("đang có buổi học")).to_have_count(0)  # done: no longer offered
    session.rollback()
    mark = session.get(Attendance, (meeting.id, cuong.id))
    assert (mark.status, mark.source) == (AttendanceStatus.PRESENT, "code")

    # The trainer enters the paper test Cường took in class; he completes the course and
    # downloads a certificate that says he learned in person.
    page.goto("/classes")
    page.get_by_role("link", name="Lớp kỹ năng số 1").click()
    page.get_by_label("Học viên", exact=True).select_option(label="Lê Văn Cường (hv.cuong)")
    page.get_by_label("Điểm (thang 10)").fill("8,5")
    page.get_by_label("Lý do").fill("Bài kiểm tra giấy cuối buổi 1")
    page.get_by_role("button", name="Ghi điểm").click()
    expect(page.get_by_text("Đã ghi điểm 8,5/10 cho Lê Văn Cường.")).to_be_visible()
    phone.goto("/")
    with phone.expect_download() as download_info:
        phone.get_by_role("link", name="Tải giấy chứng nhận").first.click()
    pdf = download_info.value.path().read_bytes()
    text = PdfReader(io.BytesIO(pdf)).pages[0].extract_text()
    assert "Lê Văn Cường" in text and "Hình thức: trực tiếp" in text
    assert "Kết quả: Đạt - 8,5/10" in text
    learner_context.close()
    # Requests the browser tried while the test had cut the connection are expected; any
    # other console error is not.
    assert [e for e in page.console_errors if "ERR_INTERNET_DISCONNECTED" not in e] == []
