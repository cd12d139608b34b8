"""What an admin and a learner click, in a real headless Chromium at phone width."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from lms.models import OrgUnit, Role


def _log_in(page, username, password):
    page.goto("/login")
    page.get_by_label("Tên đăng nhập").fill(username)
    page.get_by_label("Mật khẩu", exact=True).fill(password)
    page.get_by_role("button", name="Đăng nhập").click()


def test_admin_builds_units_creates_learner_who_must_change_password(
    page, make, browser, live_server
):
    make.site_admin(username="admin", full_name="Quản Trị Viên")
    make.commit()

    _log_in(page, "admin", "mat-khau-1")
    expect(page.get_by_role("heading", name="Khóa học của tôi")).to_be_visible()
    page.get_by_role("link", name="Quản trị").click()
    page.get_by_role("navigation", name="Quản trị").get_by_role("link", name="Đơn vị").click()
    expect(page.get_by_text("Chưa có đơn vị nào.")).to_be_visible()

    page.get_by_role("link", name="Thêm đơn vị cấp cao nhất").click()
    page.get_by_label("Tên đơn vị").fill("Liên đoàn Lao động tỉnh Quảng Ninh")
    page.get_by_label("Mã đơn vị").fill("LDLD-QN")
    page.get_by_label("Loại đơn vị").select_option("federation")
    page.get_by_role("button", name="Lưu").click()
    expect(page.get_by_text("Đã thêm đơn vị Liên đoàn Lao động tỉnh Quảng Ninh.")).to_be_visible()

    page.get_by_role(
        "link", name="Thêm đơn vị trực thuộc (Liên đoàn Lao động tỉnh Quảng Ninh)"
    ).click()
    page.get_by_label("Tên đơn vị").fill("CĐCS Công ty Than Hà Lầm")
    page.get_by_label("Mã đơn vị").fill("CDCS-HALAM")
    page.get_by_role("button", name="Lưu").click()
    expect(page.get_by_text("CĐCS Công ty Than Hà Lầm").first).to_be_visible()

    page.get_by_role("navigation", name="Quản trị").get_by_role("link", name="Tài khoản").click()
    page.get_by_role("link", name="Tạo tài khoản").click()
    page.get_by_label("Họ và tên").fill("Nguyễn Văn An")
    page.get_by_label("Tên đăng nhập").fill("hv.an")
    unit_select = page.get_by_label("Đơn vị", exact=True)
    unit_select.select_option(label=unit_select.locator("option", has_text="Hà Lầm").inner_text())
    page.get_by_label("Ngày cấp tài khoản").fill("2026-11-23")
    page.get_by_role("button", name="Lưu").click()
    expect(page.get_by_text("Đã tạo tài khoản hv.an.")).to_be_visible()
    password = page.locator("dd.mono.big").inner_text().strip()
    assert re.fullmatch(r"[A-Za-z0-9]{10}", password)

    learner = browser.new_context(base_url=live_server, viewport={"width": 360, "height": 740})
    lpage = learner.new_page()
    _log_in(lpage, "hv.an", password)
    expect(lpage).to_have_url(re.compile("/password$"))
    expect(lpage.get_by_text("hãy đặt mật khẩu của riêng bạn")).to_be_visible()
    lpage.get_by_label("Mật khẩu hiện tại").fill(password)
    lpage.get_by_label("Mật khẩu mới", exact=True).fill("ngắn")
    lpage.get_by_label("Nhập lại mật khẩu mới").fill("ngắn")
    lpage.get_by_role("button", name="Đổi mật khẩu").click()
    expect(lpage.get_by_text("Mật khẩu phải có ít nhất 8 ký tự.")).to_be_visible()
    lpage.get_by_label("Mật khẩu hiện tại").fill(password)
    lpage.get_by_label("Mật khẩu mới", exact=True).fill("Hạ Long mùa thu 2026")
    lpage.get_by_label("Nhập lại mật khẩu mới").fill("Hạ Long mùa thu 2026")
    lpage.get_by_role("button", name="Đổi mật khẩu").click()
    expect(lpage.get_by_text("Mật khẩu của bạn đã được đổi.")).to_be_visible()
    expect(lpage.get_by_text("Xin chào, Nguyễn Văn An")).to_be_visible()
    expect(lpage.get_by_text("ngày 23 tháng 11 năm 2026")).to_be_visible()

    # Language switch by keyboard, then log out.
    lpage.get_by_role("button", name="EN").focus()
    lpage.keyboard.press("Enter")
    expect(lpage.get_by_role("heading", name="My courses")).to_be_visible()
    lpage.get_by_role("button", name="Log out").click()
    expect(lpage.get_by_text("You have logged out.")).to_be_visible()
    learner.close()
    assert page.console_errors == []


def test_unit_admin_sees_only_their_subtree(page, make):
    root = make.unit(code="QN", name="LĐLĐ tỉnh Quảng Ninh")
    mine = make.unit(root, code="HL", name="LĐLĐ thành phố Hạ Long")
    other = make.unit(root, code="CP", name="LĐLĐ thành phố Cẩm Phả")
    make.learner(mine, full_name="Học Viên Hạ Long")
    make.learner(other, full_name="Học Viên Cẩm Phả")
    make.user(mine, username="qt.hl", roles=[(Role.UNIT_ADMIN, mine)])
    make.commit()

    _log_in(page, "qt.hl", "mat-khau-1")
    page.goto("/admin/users")
    expect(page.get_by_text("Học Viên Hạ Long")).to_be_visible()
    expect(page.get_by_text("Học Viên Cẩm Phả")).to_have_count(0)
    page.goto("/admin/units")
    expect(page.get_by_text("LĐLĐ thành phố Cẩm Phả")).to_have_count(0)
    response = page.goto(f"/admin/units/{other.id}/edit")
    assert response.status == 404
    expect(page.get_by_role("heading", name="Không tìm thấy")).to_be_visible()


def test_destructive_actions_ask_first(page, make, session):
    make.site_admin(username="admin")
    unit_id = make.unit(code="EMPTY", name="Đơn vị trống").id
    make.commit()
    _log_in(page, "admin", "mat-khau-1")
    page.goto("/admin/units")
    page.once("dialog", lambda dialog: dialog.dismiss())
    page.get_by_role("button", name="Xóa (Đơn vị trống)").click()
    expect(page.get_by_text("Đơn vị trống", exact=True)).to_be_visible()
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Xóa (Đơn vị trống)").click()
    expect(page.get_by_text("Đã xóa đơn vị Đơn vị trống.")).to_be_visible()
    session.rollback()
    assert session.get(OrgUnit, unit_id) is None
