"""In Chromium at phone width (issue 22, "Done when"): a member of a community
digital-technology team opens "Tổ hỗ trợ", sees their stuck learners, records a contact and
prints a new login slip for a learner who never logged in (a PDF whose password logs in)."""

from __future__ import annotations

import os
import re
from datetime import timedelta
from pathlib import Path

from playwright.sync_api import expect
from pypdf import PdfReader
from sqlalchemy import select

from lms.models import ContactKind, ContactOutcome, SupportContact, User, utcnow
from lms.services import catalog, teams
from lms.services.deadlines import local_today
from lms.services.passwords import password_matches
from lms.services.scope import Scope


def _log_in(page, username, password="mat-khau-1"):  # noqa: S107
    page.goto("/login")
    page.get_by_label("Tên đăng nhập").fill(username)
    page.get_by_label("Mật khẩu", exact=True).fill(password)
    page.get_by_role("button", name="Đăng nhập").click()


def test_a_team_member_helps_a_stuck_learner_and_prints_a_new_slip(
    page, browser, live_server, make, app, session, tmp_path
):
    maokhe = make.unit(name="CĐCS Than Mạo Khê")
    admin = make.unit_admin(maokhe, username="qt.maokhe")
    version = make.course(app.config["HOCVU_FILES_DIR"])
    now = utcnow()
    issued = local_today(now) - timedelta(days=4)
    members = [
        make.user(maokhe, username=f"to.{i}", full_name=f"Thành viên {i}", roles=[])
        for i in range(3)
    ]
    stuck = make.learner(maokhe, username="hv.ket", full_name="Lê Văn Kẹt", issued_at=issued)
    stuck.phone = "0912345678"
    stuck.last_login_at = now - timedelta(days=4)
    catalog.enrol(session, stuck, version.course).started_at = now - timedelta(days=4)
    never = make.learner(maokhe, username="hv.chua", full_name="Phạm Thị Chưa", issued_at=issued)
    catalog.enrol(session, never, version.course)
    busy = make.learner(maokhe, username="hv.cham", full_name="Ngô Văn Chăm", issued_at=issued)
    busy.last_login_at = now
    catalog.enrol(session, busy, version.course).started_at = now - timedelta(hours=1)
    teams.save_team(
        session,
        Scope.of(admin),
        admin,
        name="Tổ công nghệ số Mạo Khê",
        unit=maokhe,
        members=members,
    )
    session.commit()

    _log_in(page, "to.1")
    page.get_by_role("link", name="Tổ hỗ trợ").click()
    expect(page.get_by_role("heading", name="Tổ công nghệ số Mạo Khê")).to_be_visible()
    stuck_tab = page.get_by_role("link", name=re.compile("3 ngày không tiến triển"))
    expect(stuck_tab).to_contain_text("1")
    stuck_tab.click()
    listing = page.locator(".help-list")
    expect(listing).to_contain_text("Lê Văn Kẹt")
    expect(listing).not_to_contain_text("Ngô Văn Chăm")
    expect(listing.get_by_role("link", name=re.compile("Gọi điện"))).to_have_attribute(
        "href", "tel:0912345678"
    )
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 360, f"the page is {width} px wide on a 360 px phone"
    # Screenshots to look at: HOCVU_SCREENSHOTS=/some/folder keeps them.
    shots = Path(os.environ.get("HOCVU_SCREENSHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(shots / "team-360.png"), full_page=True)

    listing.get_by_role("link", name="Lê Văn Kẹt", exact=True).click()
    expect(page.get_by_role("heading", name="Lê Văn Kẹt")).to_be_visible()
    page.get_by_text("Đến nhà hoặc nơi làm việc").click()
    page.get_by_text("Cần theo dõi tiếp").click()
    page.get_by_label("Ghi chú").fill("Điện thoại hỏng, hẹn thứ Bảy học cùng")
    page.get_by_role("button", name="Lưu lần hỗ trợ").click()
    expect(page.get_by_text("Đã ghi lại lần hỗ trợ.")).to_be_visible()
    expect(page.locator(".contact-list")).to_contain_text("Điện thoại hỏng, hẹn thứ Bảy học cùng")
    page.screenshot(path=str(shots / "team-card-360.png"), full_page=True)
    session.rollback()
    contact = session.scalars(select(SupportContact)).one()
    assert (contact.learner_id, contact.kind, contact.outcome) == (
        stuck.id,
        ContactKind.VISIT,
        ContactOutcome.FOLLOW_UP,
    )

    page.get_by_role("link", name="Tổ công nghệ số Mạo Khê").click()
    page.get_by_role("link", name=re.compile("Chưa đăng nhập")).click()
    page.locator(".help-list").get_by_role("link", name="Phạm Thị Chưa", exact=True).click()
    with page.expect_download() as download_info:
        page.get_by_role("button", name="In phiếu mới (PDF)").click()
    download = download_info.value
    assert download.suggested_filename == "phieu-dang-nhap-hv.chua.pdf"
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    text = PdfReader(saved).pages[0].extract_text()
    assert "Phạm Thị Chưa" in text and "CĐCS Than Mạo Khê" in text and "hv.chua" in text
    password = re.search(r"Mật khẩu ban đầu:\s*(\S+)", text).group(1)
    session.rollback()
    assert password_matches(session.get(User, never.id).password_hash, password, None)

    page.set_viewport_size({"width": 1280, "height": 900})
    page.get_by_role("link", name="Tổ công nghệ số Mạo Khê").click()
    page.screenshot(path=str(shots / "team-1280.png"), full_page=True)
    assert page.console_errors == []

    # The unit admin answers a request of the team on the teams page.
    page.set_viewport_size({"width": 360, "height": 740})
    page.get_by_role("link", name="Phạm Thị Chưa", exact=True).click()
    page.get_by_label("Số ngày đề nghị").fill("3")
    page.get_by_label("Lý do").fill("Chưa có điện thoại thông minh, đang mượn máy")
    page.get_by_role("button", name="Gửi đề nghị").click()
    expect(page.get_by_text("Đã gửi đề nghị đến quản trị viên của đơn vị.")).to_be_visible()
    admin_page = browser.new_page(base_url=live_server, viewport={"width": 1280, "height": 900})
    _log_in(admin_page, "qt.maokhe")
    admin_page.goto("/admin/teams")
    expect(admin_page.locator("#requests")).to_contain_text("đang mượn máy")
    admin_page.screenshot(path=str(shots / "admin-teams-1280.png"), full_page=True)
    admin_page.get_by_role("button", name="Gia hạn Phạm Thị Chưa").click()
    expect(admin_page.get_by_text("Đã gia hạn cho Phạm Thị Chưa.")).to_be_visible()
    admin_page.close()
