"""In Chromium, a campaign from one spreadsheet on a new site: a site administrator uploads
5,000 learners whose units start with the province federation (none exists yet), sees the
check page (the units to add as a tree, the new batch with its course, the due date), ticks the
warning, follows the import's progress, downloads the slips with their due date; a learner logs
in with one of them and sees ten days left."""

from __future__ import annotations

import io
import re
import zipfile
from datetime import timedelta

import openpyxl
from playwright.sync_api import expect
from pypdf import PdfReader

from lms.services import clock, rosters

PROVINCE = "LĐLĐ tỉnh Quảng Ninh"


def test_a_new_site_starts_a_campaign_of_five_thousand_learners(
    page, browser, live_server, make, app, tmp_path
):
    make.site_admin(username="qt.tinh", full_name="Quản Trị Tỉnh")
    course = make.course(app.config["HOCVU_FILES_DIR"]).course
    make.commit()
    today = clock.today(app.config["HOCVU_TIMEZONE"])
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(rosters.TEMPLATE_HEADERS)
    for n in range(5000):
        unit = f"{PROVINCE} / LĐLĐ huyện Số {n % 10} / CĐCS Công ty Số {n % 50}"
        phone = "0912000000" if n in (10, 11) else f"09{n:08d}"  # two people, one phone
        sheet.append(
            [f"Nguyễn Văn Học {n}", "", phone, "", unit, "", "", today.strftime("%d/%m/%Y")]
        )
    path = tmp_path / "danh-sach.xlsx"
    book.save(path)

    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto("/login")
    page.get_by_label("Tên đăng nhập").fill("qt.tinh")
    page.get_by_label("Mật khẩu", exact=True).fill("mat-khau-1")
    page.get_by_role("button", name="Đăng nhập").click()
    page.goto("/admin/import")
    page.get_by_label("Danh sách tài khoản (Excel .xlsx hoặc CSV)").set_input_files(path)
    page.get_by_label("Đợt học", exact=True).fill("Đợt 1")
    page.get_by_label(course.title).check()
    page.get_by_label("Thêm các đơn vị chưa có trong đường dẫn").check()
    page.get_by_role("button", name="Kiểm tra tệp").click()

    expect(page.get_by_text("Kiểm tra trước khi nhập")).to_be_visible(timeout=60_000)
    expect(page.locator(".stats li").first).to_contain_text("5.000")
    units = page.locator("#new-units")
    expect(units.get_by_text(PROVINCE)).to_be_visible()
    expect(units.locator(".tree-row").first).to_contain_text("5.000 tài khoản")
    expect(page.locator("#batches")).to_contain_text("đợt học mới")
    expect(page.locator("#batches")).to_contain_text(course.title)
    due = today + timedelta(days=10)
    expect(page.locator("#due-dates")).to_contain_text(
        f"24:00 ngày {due.day} tháng {due.month} năm {due.year}"
    )
    # Nothing is imported while a warning is not ticked.
    page.get_by_role("button", name="Nhập danh sách").click()
    expect(page.get_by_text("Hãy đánh dấu từng cảnh báo bạn chấp nhận")).to_be_visible()
    page.get_by_label(re.compile("số điện thoại có ở dòng của những người khác nhau")).check()
    page.get_by_role("button", name="Nhập danh sách").click()

    expect(page.get_by_role("progressbar")).to_be_visible()
    expect(page.get_by_text("Đã tạo 5.000, cập nhật 0, giữ nguyên 0, bỏ qua 0.")).to_be_visible(
        timeout=120_000
    )
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Tải thông tin đăng nhập ban đầu (một lần)").click()
    archive = zipfile.ZipFile(download_info.value.path())
    text = PdfReader(io.BytesIO(archive.read("phieu-dang-nhap.pdf"))).pages[0].extract_text()
    assert f"Hạn hoàn thành khóa học: 24:00 ngày {due:%d/%m/%Y}" in text
    username = re.search(r"Tên đăng nhập:\s*(\S+)", text).group(1)
    password = re.search(r"Mật khẩu ban đầu:\s*(\S{12})", text).group(1)

    learner = browser.new_context(base_url=live_server, viewport={"width": 360, "height": 740})
    lpage = learner.new_page()
    lpage.goto("/login")
    lpage.get_by_label("Tên đăng nhập").fill(username)
    lpage.get_by_label("Mật khẩu", exact=True).fill(password)
    lpage.get_by_role("button", name="Đăng nhập").click()
    expect(lpage.get_by_text("hãy đặt mật khẩu của riêng bạn")).to_be_visible()
    lpage.get_by_label("Mật khẩu hiện tại").fill(password)
    lpage.get_by_label("Mật khẩu mới", exact=True).fill("mat-khau-rieng-1")
    lpage.get_by_label("Nhập lại mật khẩu mới").fill("mat-khau-rieng-1")
    lpage.get_by_role("button", name="Đổi mật khẩu").click()
    expect(lpage.get_by_text("Còn 10 ngày").first).to_be_visible()
    learner.close()
