"""In Chromium: an admin imports thousands of accounts from the template, sees the dry run,
commits with a progress page, downloads the slips; a learner logs in with one of them."""

from __future__ import annotations

import io
import re
import zipfile

import openpyxl
from playwright.sync_api import expect
from pypdf import PdfReader

from lms.models import Role
from lms.services import rosters


def test_admin_imports_two_thousand_accounts(page, browser, live_server, make, tmp_path):
    root = make.unit(code="QN", name="LĐLĐ tỉnh Quảng Ninh")
    make.unit(root, code="CDCS-HALAM", name="CĐCS Công ty Than Hà Lầm")
    make.user(root, username="qt.qn", roles=[(Role.UNIT_ADMIN, root)])
    make.commit()
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(rosters.TEMPLATE_HEADERS)
    for n in range(2000):
        sheet.append([f"Nguyễn Văn Học {n}", "", f"09{n:08d}", "", "CDCS-HALAM", "", "", ""])
    path = tmp_path / "danh-sach.xlsx"
    book.save(path)

    page.goto("/login")
    page.get_by_label("Tên đăng nhập").fill("qt.qn")
    page.get_by_label("Mật khẩu", exact=True).fill("mat-khau-1")
    page.get_by_role("button", name="Đăng nhập").click()
    page.goto("/admin/import")
    page.get_by_label("Danh sách tài khoản (Excel .xlsx hoặc CSV)").set_input_files(path)
    page.get_by_label("Đợt học").fill("Đợt 1")
    page.get_by_role("button", name="Kiểm tra tệp").click()
    expect(page.get_by_text("Kiểm tra trước khi nhập")).to_be_visible()
    expect(page.locator(".stats li").first).to_contain_text("2.000")
    page.get_by_role("button", name="Nhập danh sách").click()
    expect(page.get_by_text("Đã tạo 2.000, cập nhật 0, giữ nguyên 0, bỏ qua 0.")).to_be_visible(
        timeout=60_000
    )
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Tải thông tin đăng nhập ban đầu (một lần)").click()
    archive = zipfile.ZipFile(download_info.value.path())
    text = PdfReader(io.BytesIO(archive.read("phieu-dang-nhap.pdf"))).pages[0].extract_text()
    username = re.search(r"Tên đăng nhập:\s*(\S+)", text).group(1)
    password = re.search(r"Mật khẩu ban đầu:\s*(\S{12})", text).group(1)

    learner = browser.new_context(base_url=live_server, viewport={"width": 360, "height": 740})
    lpage = learner.new_page()
    lpage.goto("/login")
    lpage.get_by_label("Tên đăng nhập").fill(username)
    lpage.get_by_label("Mật khẩu", exact=True).fill(password)
    lpage.get_by_role("button", name="Đăng nhập").click()
    expect(lpage.get_by_text("hãy đặt mật khẩu của riêng bạn")).to_be_visible()
    learner.close()
