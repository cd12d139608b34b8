"""An author uploads SCORM packages in Chromium: told what the content policy will block, and
asked what to make of a package titled like an existing course."""

from __future__ import annotations

import os

from playwright.sync_api import expect

from lms.models import Role
from tests.browser.test_course_flow import _log_in
from tests.lms.test_scorm_tracking import FIXTURES, package_bytes

CDN = "https://cdn.jsdelivr.net/npm/jquery@3.7.1/dist/jquery.min.js"
SHOTS = os.environ.get("HOCVU_SCREENSHOTS")  # a folder: pages at 360 px and 1280 px


def _shot(page, name: str) -> None:
    if not SHOTS:
        return
    for width in (360, 1280):
        page.set_viewport_size({"width": width, "height": 800})
        page.screenshot(path=f"{SHOTS}/{name}-{width}.png", full_page=True)
    page.set_viewport_size({"width": 360, "height": 740})


def test_author_sees_blocked_addresses_and_answers_the_title_question(page, make, tmp_path):
    make.user(make.unit(), username="tacgia", roles=[(Role.AUTHOR, None)])
    make.commit()
    html = (FIXTURES / "probe2004" / "part.html").read_text(encoding="utf-8")
    with_cdn = html.replace("<body>", f'<body>\n<script src="{CDN}"></script>', 1)
    first, second = tmp_path / "dich-vu-cong.zip", tmp_path / "dich-vu-cong-2027.zip"
    first.write_bytes(package_bytes("probe2004", **{"part.html": with_cdn.encode()}))
    second.write_bytes(package_bytes("probe2004"))

    _log_in(page, "tacgia")
    page.get_by_role("link", name="Soạn bài").click()
    page.get_by_label("Tệp").set_input_files(first)
    page.get_by_role("button", name="Tải lên và kiểm tra").click()
    notice = page.get_by_role("status").filter(has_text="sẽ bị chặn")
    expect(notice).to_contain_text("1 địa chỉ bên ngoài gói sẽ bị chặn")
    expect(notice).to_contain_text("part.html:5")
    expect(notice).to_contain_text(CDN)
    _shot(page, "blocked")

    page.get_by_role("link", name="Khóa học", exact=True).click()
    page.get_by_label("Tệp").set_input_files(second)
    page.get_by_role("button", name="Tải lên và kiểm tra").click()
    expect(page.get_by_role("heading", name="Đã có khóa học cùng tên")).to_be_visible()
    _shot(page, "title-question")
    page.get_by_label("Một khóa học mới, với tên khác").check()
    page.get_by_role("button", name="Xác nhận lựa chọn").click()
    expect(page.get_by_text("Đã có khóa học tên Dịch vụ công trực tuyến.")).to_be_visible()
    _shot(page, "title-question-error")
    page.get_by_label("Tên khóa học mới").fill("Dịch vụ công trực tuyến 2027")
    page.get_by_role("button", name="Xác nhận lựa chọn").click()
    expect(page.get_by_role("heading", name="Dịch vụ công trực tuyến 2027")).to_be_visible()
    expect(page.get_by_text("sẽ bị chặn")).to_have_count(0)
    # The refused choice answered 422 (a form with an error), which Chromium logs.
    assert [e for e in page.console_errors if "422" not in e] == []
