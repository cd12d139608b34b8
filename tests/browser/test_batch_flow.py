"""In Chromium: an admin links a second course to a batch of learners; the page saves the batch,
shows the job's progress, then comes back to the batch, and a learner finds the course."""

from __future__ import annotations

from datetime import timedelta

from playwright.sync_api import expect

from lms.models import Cohort
from lms.services import clock
from tests.factories import mini_course_files


def _log_in(page, username, password="mat-khau-1"):  # noqa: S107
    page.goto("/login")
    page.get_by_label("Tên đăng nhập").fill(username)
    page.get_by_label("Mật khẩu", exact=True).fill(password)
    page.get_by_role("button", name="Đăng nhập").click()


def test_linking_a_course_to_a_batch_shows_the_progress_then_the_batch(
    page, browser, live_server, make, app, session
):
    files = app.config["HOCVU_FILES_DIR"]
    first = make.course(files)
    toml = mini_course_files()["course.toml"].decode()
    toml = toml.replace('slug = "', 'slug = "hai-', 1)
    toml = toml.replace('title = "', 'title = "Khóa hai: ', 1)
    make.course(files, mini_course_files(**{"course.toml": toml}))
    unit = make.unit(name="CĐCS Công ty Than Hà Lầm")
    make.unit_admin(unit, username="qt.halam")
    cohort = Cohort(name="Đợt 1 – tháng 12/2026", org_unit=unit, courses=[first.course])
    session.add(cohort)
    session.flush()
    issued = clock.today() - timedelta(days=1)
    for n in range(150):
        learner = make.learner(unit, username=f"hv{n:03d}", issued_at=issued)
        learner.cohort = cohort
        make.enrol(learner, first)
    make.commit()

    _log_in(page, "qt.halam")
    page.goto("/admin/cohorts")
    page.get_by_role("link", name="Đợt 1 – tháng 12/2026", exact=True).click()
    expect(page.get_by_text("150 học viên", exact=True)).to_be_visible()
    expect(page.get_by_label("Tên đợt học")).to_have_value("Đợt 1 – tháng 12/2026")
    page.get_by_label("Khóa hai: Khóa học thử: An toàn trên mạng").check()
    page.get_by_role("button", name="Lưu").first.click()
    # The progress page, then the batch again once the job is done.
    expect(page.get_by_text("Đã lưu đợt học Đợt 1 – tháng 12/2026.")).to_be_visible()
    expect(page.get_by_text("thêm 150 lượt ghi danh")).to_be_visible(timeout=30_000)
    assert page.url.endswith(f"/admin/cohorts/{cohort.id}/edit")
    assert page.console_errors == []

    learner = browser.new_context(base_url=live_server, viewport={"width": 360, "height": 740})
    lpage = learner.new_page()
    _log_in(lpage, "hv007")
    expect(lpage.get_by_text("Khóa hai: Khóa học thử: An toàn trên mạng").first).to_be_visible()
    expect(lpage.get_by_text("Còn 9 ngày").first).to_be_visible()
    learner.close()
