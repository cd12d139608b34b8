"""A learner works through a course and an author publishes a new version, in Chromium."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from lms.models import Role
from tests.factories import mini_course_files, zip_bytes


def _log_in(page, username, password="mat-khau-1"):  # noqa: S107
    page.goto("/login")
    page.get_by_label("Tên đăng nhập").fill(username)
    page.get_by_label("Mật khẩu", exact=True).fill(password)
    page.get_by_role("button", name="Đăng nhập").click()


def test_learner_reads_lessons_completes_them_and_sees_progress(page, make, app):
    version = make.course(app.config["HOCVU_FILES_DIR"])
    make.enrol(make.learner(make.unit(), username="hv.an"), version)
    make.commit()

    _log_in(page, "hv.an")
    expect(page.get_by_text("Đã học xong 0/3 bài")).to_be_visible()
    page.get_by_role("link", name=re.compile("^Bắt đầu học")).click()
    expect(page.get_by_role("heading", name="Mật khẩu mạnh")).to_be_visible()
    expect(page.get_by_role("img", name="Biểu tượng ổ khóa")).to_be_visible()
    # Answer the self-check with the keyboard-friendly labels, then complete.
    page.get_by_label("Hạ Long mùa thu 2026").check()
    page.get_by_label("Không", exact=True).check()
    page.get_by_role("button", name="Kiểm tra câu trả lời").click()
    expect(page.get_by_text("Đúng rồi.").first).to_be_visible()
    page.get_by_role("button", name="Hoàn thành bài học").click()
    expect(page.get_by_text("Đã hoàn thành bài: Mật khẩu mạnh.")).to_be_visible()
    expect(page.get_by_role("heading", name="Mã OTP")).to_be_visible()

    page.get_by_role("link", name="Khóa học thử: An toàn trên mạng").click()
    expect(page.get_by_text("Đã học xong 1/3 bài")).to_be_visible()
    expect(page.locator(".lesson.done")).to_have_count(1)
    page.get_by_role("button", name="Đăng xuất").click()
    _log_in(page, "hv.an")
    expect(page.get_by_text("Đã học xong 1/3 bài")).to_be_visible()
    page.get_by_role("link", name=re.compile("^Học tiếp")).click()
    expect(page.get_by_role("heading", name="Mã OTP")).to_be_visible()
    assert page.console_errors == []


def test_author_fixes_errors_previews_and_publishes(page, make, tmp_path):
    make.user(make.unit(), username="tacgia", roles=[(Role.AUTHOR, None)])
    make.commit()
    broken = tmp_path / "khoa-loi.zip"
    broken.write_bytes(
        zip_bytes(mini_course_files(**{"modules/02-ma-otp.md": "Không có phần đầu bài.\n"}))
    )
    fixed = tmp_path / "khoa.zip"
    fixed.write_bytes(zip_bytes(mini_course_files()))

    _log_in(page, "tacgia")
    page.get_by_role("link", name="Soạn bài").click()
    expect(page.get_by_text("Chưa có khóa học nào.")).to_be_visible()
    page.get_by_label("Tệp").set_input_files(broken)
    page.get_by_role("button", name="Tải lên và kiểm tra").click()
    expect(page.get_by_text("Tệp có 1 lỗi; chưa có gì được lưu:")).to_be_visible()
    expect(page.get_by_text("modules/02-ma-otp.md:1")).to_be_visible()

    page.get_by_label("Tệp").set_input_files(fixed)
    page.get_by_role("button", name="Tải lên và kiểm tra").click()
    expect(page.get_by_text("bản nháp, học viên chưa nhìn thấy")).to_be_visible()
    page.get_by_role("link", name="Mật khẩu mạnh").click()
    expect(page.get_by_text("Xem trước phiên bản 1")).to_be_visible()
    expect(page.get_by_role("table")).to_be_visible()
    page.get_by_role("link", name="Quay lại phiên bản").click()
    page.get_by_role("button", name="Xuất bản").click()
    expect(page.get_by_text("Đã xuất bản phiên bản 1.")).to_be_visible()
