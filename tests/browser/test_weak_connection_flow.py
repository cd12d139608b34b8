"""In Chromium, on a weak connection (issue 23): a learner with Data Saver sees a placeholder
where a lesson's video was and loads the video by tapping it; the final test cannot be started
offline and says why, and an attempt in progress keeps its answers through a connection drop."""

from __future__ import annotations

import os
from pathlib import Path

from playwright.sync_api import expect
from sqlalchemy import select

from lms.models import TestAttempt
from tests.factories import mini_course_files
from tests.lms.test_weak_connection import EMBED, lessons_done

SHOTS = Path(__file__).resolve().parents[2] / "screenshots"
SHOTS.mkdir(exist_ok=True)


def _log_in(page, username, password="mat-khau-1"):  # noqa: S107
    page.goto("/login")
    page.get_by_label("Tên đăng nhập").fill(username)
    page.get_by_label("Mật khẩu", exact=True).fill(password)
    page.get_by_role("button", name="Đăng nhập").click()


def test_data_saver_skips_the_video_until_the_learner_taps_it(page, make, app, session):
    module = mini_course_files()["modules/01-mat-khau.md"].decode()
    module = module.replace("## Tự kiểm tra", f"{EMBED}\n\n## Tự kiểm tra")
    version = make.course(
        app.config["HOCVU_FILES_DIR"], mini_course_files(**{"modules__01-mat-khau.md": module})
    )
    make.enrol(make.learner(make.unit(), username="hv.video"), version)
    make.commit()
    # The player's page, as YouTube would send it (no Internet here); counted when asked for.
    asked: list[str] = []

    def player(route):
        asked.append(route.request.url)
        route.fulfill(body="<p>Trình phát video</p>", content_type="text/html; charset=utf-8")

    page.route("https://www.youtube.com/**", player)

    _log_in(page, "hv.video")
    page.get_by_label("Bật: chỉ tải video trong bài học khi tôi bấm xem").check()
    page.get_by_role("button", name="Lưu").click()
    expect(page.get_by_text("Đã lưu lựa chọn tiết kiệm dữ liệu.")).to_be_visible()

    page.goto("/courses/an-toan-tren-mang/01-mat-khau")
    placeholder = page.locator(".video-skipped")
    expect(placeholder.get_by_text("Cách đặt mật khẩu mạnh")).to_be_visible()
    expect(placeholder.get_by_text("video này (trên YouTube) chưa được tải")).to_be_visible()
    expect(page.locator("iframe")).to_have_count(0)
    placeholder.scroll_into_view_if_needed()
    page.screenshot(path=str(SHOTS / "lesson-video-skipped-360.png"))
    assert asked == []  # nothing of the video was fetched

    page.get_by_role("link", name="Xem video").click()
    expect(page.locator(".video-skipped")).to_have_count(0)
    frame = page.frame_locator('iframe[src="https://www.youtube.com/embed/abc123"]')
    expect(frame.get_by_text("Trình phát video")).to_be_visible()  # loaded, on the same page
    assert page.url.endswith("/courses/an-toan-tren-mang/01-mat-khau")
    assert asked == ["https://www.youtube.com/embed/abc123"]
    page.screenshot(path=str(SHOTS / "lesson-video-loaded-360.png"))
    assert page.console_errors == []


def test_the_browsers_save_data_skips_the_courses_own_video_until_asked(page, make, app):
    """No choice made: the browser's data-saving mode (Save-Data: on) decides; the button
    names the file's size, and the file is fetched only after the tap."""
    module = mini_course_files()["modules/01-mat-khau.md"].decode()
    module = module.replace(
        "## Tự kiểm tra", "![Cách đặt mật khẩu](media/huong-dan.mp4)\n\n## Tự kiểm tra"
    )
    files = mini_course_files(
        **{"modules__01-mat-khau.md": module, "media__huong-dan.mp4": os.urandom(2_500_000)}
    )
    version = make.course(app.config["HOCVU_FILES_DIR"], files)
    make.enrol(make.learner(make.unit(), username="hv.phim"), version)
    make.commit()
    fetched: list[str] = []
    page.on("request", lambda r: fetched.append(r.url) if ".mp4" in r.url else None)
    page.context.set_extra_http_headers({"Save-Data": "on"})
    _log_in(page, "hv.phim")
    page.goto("/courses/an-toan-tren-mang/01-mat-khau")
    button = page.get_by_role("link", name="Xem video (khoảng 2,5 MB)")
    expect(button).to_be_visible()
    expect(page.locator("video")).to_have_count(0)
    button.scroll_into_view_if_needed()
    page.screenshot(path=str(SHOTS / "lesson-own-video-skipped-360.png"))
    assert fetched == []
    with page.expect_request(f"**/media/{version.id}/media/huong-dan.mp4"):
        button.click()
    expect(page.locator("video")).to_have_attribute("title", "Cách đặt mật khẩu")


def test_the_final_test_waits_for_a_connection_and_keeps_answers_through_a_drop(
    page, make, app, session
):
    version = make.course(app.config["HOCVU_FILES_DIR"], mini_course_files())
    lessons_done(session, make.enrol(make.learner(make.unit(), username="hv.mang"), version))
    make.commit()
    _log_in(page, "hv.mang")
    page.goto("/courses/an-toan-tren-mang/final-test")
    note = page.locator("#connection-note")
    start = page.get_by_role("button", name="Bắt đầu làm bài")
    expect(note).to_have_text(
        "Bài kiểm tra cuối khóa cần có kết nối mạng: hãy bắt đầu làm bài ở nơi có sóng tốt."
    )
    expect(start).to_be_enabled()

    page.context.set_offline(True)
    expect(start).to_be_disabled()
    expect(note).to_have_text(
        "Bạn đang mất kết nối mạng. Bài kiểm tra cuối khóa cần có mạng: hãy bật dữ liệu di "
        "động hoặc Wi-Fi để bắt đầu làm bài."
    )
    page.screenshot(path=str(SHOTS / "test-start-offline-360.png"), full_page=True)
    page.context.set_offline(False)
    expect(start).to_be_enabled()
    expect(note).to_contain_text("cần có kết nối mạng: hãy bắt đầu")

    start.click()
    expect(page.locator("[data-question]").first).to_be_visible()
    state = page.locator("#save-state")
    page.context.set_offline(True)
    expect(state).to_have_text("Mất kết nối — câu trả lời sẽ được lưu khi có mạng.")
    first = page.locator("[data-question]").first.locator("input[type=radio]").first
    first.check()
    page.wait_for_timeout(1000)  # the autosave's delay: nothing can be sent
    expect(state).to_have_text("Mất kết nối — câu trả lời sẽ được lưu khi có mạng.")
    page.screenshot(path=str(SHOTS / "test-attempt-offline-360.png"))
    page.get_by_role("button", name="Nộp bài").click()  # refused in the page, not lost
    expect(state).to_contain_text("Mất kết nối: hãy nộp bài khi có mạng trở lại.")
    expect(first).to_be_checked()

    page.context.set_offline(False)
    expect(state).to_have_text("Đã lưu")
    session.rollback()
    attempt = session.scalars(select(TestAttempt)).one()
    assert attempt.status.value == "open"
    assert len(attempt.answers) == 1  # the answer given offline reached the server
    assert page.console_errors == []
