"""In Chromium at phone width: an admin opens the reports dashboard, sees the SVG charts,
drills down to an overdue learner, exports a table as XLSX and issues the six-month report."""

from __future__ import annotations

import io
from datetime import date

import openpyxl
from playwright.sync_api import expect
from pypdf import PdfReader

from tests.lms.test_reports import org  # noqa: F401 - the fixture


def test_admin_follows_completion_and_issues_the_six_month_report(page, org):  # noqa: F811
    page.goto("/login")
    page.get_by_label("Tên đăng nhập").fill("admin")
    page.get_by_label("Mật khẩu", exact=True).fill("mat-khau-1")
    page.get_by_role("button", name="Đăng nhập").click()
    page.goto("/admin/")
    page.get_by_role("link", name="Báo cáo", exact=True).click()
    expect(page.get_by_role("heading", name="Báo cáo kết quả học tập")).to_be_visible()
    expect(page.locator("svg.chart").first).to_be_visible()
    expect(page.locator("svg.chart title").first).to_have_text("Tỷ lệ hoàn thành theo đơn vị")
    expect(page.locator(".report-stats")).to_contain_text("37,5 %")

    # Drill down: federation -> district -> the grassroots union's overdue learners.
    page.get_by_role("link", name="LĐLĐ tỉnh Quảng Ninh", exact=True).click()
    page.get_by_role("link", name="LĐLĐ thành phố Hạ Long", exact=True).click()
    expect(page.locator("#by-unit")).to_have_text("Các đơn vị trực thuộc LĐLĐ thành phố Hạ Long")
    page.locator("tr", has_text="CĐCS Trường THPT Hòn Gai").locator(
        "a[href*='progress=overdue']"
    ).click()
    expect(page.get_by_role("link", name="Trần Văn Bình")).to_be_visible()
    expect(page.get_by_text("Nguyễn Thị An")).to_have_count(0)
    page.get_by_role("link", name="Trần Văn Bình").click()
    expect(page.get_by_role("heading", name="Trần Văn Bình")).to_be_visible()
    expect(page.locator("main")).to_contain_text("quá hạn")

    # Export the units table of the district.
    page.go_back()
    page.go_back()
    with page.expect_download() as download_info:
        page.locator("#by-unit ~ .export-links").get_by_role("link", name="Excel (XLSX)").click()
    sheet = openpyxl.load_workbook(io.BytesIO(download_info.value.path().read_bytes())).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][1] == "Đơn vị" and sheet.freeze_panes == "A2"
    assert {r[1] for r in rows[1:]} >= {"CĐCS Trường THPT Hòn Gai", "CĐCS Bệnh viện Bãi Cháy"}
    assert all(isinstance(r[2], int) for r in rows[1:])

    # The six-month report of the federation, as a PDF.
    page.get_by_role("link", name="Báo cáo định kỳ (PDF)").click()
    today = date.today()
    page.get_by_label("Đơn vị (kèm các đơn vị trực thuộc)").select_option(
        label="LĐLĐ tỉnh Quảng Ninh"
    )
    page.get_by_label("Kỳ báo cáo").select_option("half_year")
    page.get_by_label("Năm", exact=True).fill(str(today.year))
    page.get_by_label("Nửa năm").select_option("1" if today.month <= 6 else "2")
    page.get_by_role("button", name="Lập báo cáo").click()
    download_link = page.get_by_role("link", name="Tải báo cáo (PDF)")
    expect(download_link).to_be_visible(timeout=30_000)
    with page.expect_download() as download_info:
        download_link.click()
    data = download_info.value.path().read_bytes()
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages)
    half = "6 tháng đầu năm" if today.month <= 6 else "6 tháng cuối năm"
    assert "BÁO CÁO KẾT QUẢ THỰC HIỆN" in text and f"{half} {today.year}" in text
    assert "LĐLĐ tỉnh Quảng Ninh" in text and "LĐLĐ thành phố Hạ Long" in text
    assert "37,5 %" in text
    assert page.console_errors == []
