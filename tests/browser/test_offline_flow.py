"""Learning on a weak connection in Chromium at 360 px (issue 23, "Done when").

The learner opens the course online (it is kept for offline reading), the connection drops,
they read three lessons, answer their self-checks and complete them, and close the tab; back
online later in a new tab, the server has the three lessons completed, each once. Another
learner logging in on the same browser finds nothing of the first learner's: no kept pages
(caches.keys()), no queued actions (IndexedDB).

Service workers need a secure context: the live server is on 127.0.0.1.
"""

from __future__ import annotations

import os
import re
import threading
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select
from werkzeug.serving import make_server

from lms.models import ActivityProgress, Enrolment, OfflineAction, ProgressStatus, User, utcnow
from lms.services import learning
from tests.browser.conftest import CHROMIUM
from tests.factories import mini_course_files

COURSE = "an-toan-tren-mang"
THIRD = """---
title: Sao lưu dữ liệu
minutes: 3
---

Hãy **sao lưu** ảnh và danh bạ lên tài khoản của bạn mỗi tuần.
"""
SHOTS = Path(os.environ.get("HOCVU_SCREENSHOTS", "/tmp/hocvu-screens"))

# What offline.js and sw.js keep: the caches' names and the queued actions.
KEPT = """async () => {
  const names = await caches.keys();
  const actions = await new Promise((resolve, reject) => {
    const open = indexedDB.open("hocvu-offline");
    open.onerror = () => reject(open.error);
    open.onsuccess = () => {
      const db = open.result;
      if (!db.objectStoreNames.contains("outbox")) { resolve([]); return; }
      const all = db.transaction("outbox").objectStore("outbox").getAll();
      all.onsuccess = () => { resolve(all.result); db.close(); };
    };
  });
  return {names, actions};
}"""


@pytest.fixture
def context(browser, live_server):
    context = browser.new_context(
        base_url=live_server,
        viewport={"width": 360, "height": 740},
        locale="vi-VN",
        service_workers="allow",
    )
    context.set_default_timeout(15_000)
    yield context
    context.close()


def _log_in(page, username, password="mat-khau-1"):  # noqa: S107
    page.goto("/login")
    page.get_by_label("Tên đăng nhập").fill(username)
    page.get_by_label("Mật khẩu", exact=True).fill(password)
    page.get_by_role("button", name="Đăng nhập").click()


def _completed(session, username: str) -> list[str]:
    session.rollback()
    return sorted(
        session.scalars(
            select(ActivityProgress.activity_id)
            .join(Enrolment)
            .join(User, Enrolment.user_id == User.id)
            .where(User.username == username, ActivityProgress.status == ProgressStatus.DONE)
        )
    )


def test_three_lessons_read_and_completed_offline_reach_the_server_once(
    context, make, app, session
):
    version = make.course(
        app.config["HOCVU_FILES_DIR"], mini_course_files(**{"modules/03-sao-luu.md": THIRD})
    )
    enrolment = make.enrol(make.learner(make.unit(), username="hv.an"), version)
    make.learner(make.unit(), username="hv.binh")
    enrolment.enrolled_at = utcnow() - timedelta(days=1)
    session.flush()
    # The lessons were opened an hour ago (lesson 2 asks for 2 minutes of reading).
    for step in learning.progress_of(session, enrolment).steps:
        if step.activity.kind == "page":
            learning.open_activity(session, enrolment, step.activity, utcnow() - timedelta(hours=1))
    make.commit()
    SHOTS.mkdir(parents=True, exist_ok=True)

    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    _log_in(page, "hv.an")
    page.get_by_role("link", name="Khóa học thử: An toàn trên mạng").first.click()
    download = page.locator("[data-offline-download]")
    expect(
        download.get_by_role(
            "button", name=re.compile(r"^Tải về để học khi mất mạng \(\d+(,\d)? KB\)$")
        )
    ).to_be_visible()
    expect(download.get_by_text(re.compile(r"^Khoảng \d+(,\d)? KB\."))).to_be_visible()
    # A small course is kept as soon as its page is opened.
    expect(download).to_have_attribute("data-downloaded", "true")
    expect(
        download.get_by_text("Đã tải về: các bài của khóa học này đọc được khi không có mạng.")
    ).to_be_visible()
    assert page.evaluate("navigator.serviceWorker.ready.then(r => Boolean(r.active))")
    page.screenshot(path=str(SHOTS / "offline-course-download-360.png"), full_page=True)

    context.set_offline(True)
    page.get_by_role("link", name="Mật khẩu mạnh", exact=True).click()
    expect(page.get_by_role("heading", name="Mật khẩu mạnh")).to_be_visible()
    expect(page.get_by_role("img", name="Biểu tượng ổ khóa")).to_be_visible()
    page.get_by_label("Hạ Long mùa thu 2026").check()
    page.get_by_label("Không", exact=True).check()
    page.get_by_role("button", name="Kiểm tra câu trả lời").click()
    expect(page.get_by_text("Câu trả lời đã được lưu trên điện thoại")).to_be_visible()
    expect(page.get_by_label("Hạ Long mùa thu 2026")).to_be_checked()
    page.get_by_role("button", name="Hoàn thành bài học").click()

    expect(page.get_by_role("heading", name="Mã OTP")).to_be_visible()
    page.get_by_label("Chỉ mình bạn").check()
    page.get_by_role("button", name="Kiểm tra câu trả lời").click()
    expect(page.get_by_text("Câu trả lời đã được lưu trên điện thoại")).to_be_visible()
    page.get_by_role("button", name="Hoàn thành bài học").click()

    expect(page.get_by_role("heading", name="Sao lưu dữ liệu")).to_be_visible()
    page.get_by_role("button", name="Hoàn thành bài học").click()
    # The last lesson leads to the final test's page, kept too.
    expect(page.get_by_role("heading", name="Bài kiểm tra cuối khóa")).to_be_visible()
    # 4 openings (the test's page too), 2 self-checks, 3 completions wait, shown in the
    # header at 360 px.
    waiting = page.locator("[data-outbox]")
    expect(waiting).to_have_text("9 đang chờ gửi")
    assert waiting.bounding_box()["x"] + waiting.bounding_box()["width"] <= 360
    page.screenshot(path=str(SHOTS / "offline-outbox-indicator-360.png"))
    page.goto("/change-password")
    expect(page.get_by_role("heading", name="Không có kết nối mạng")).to_be_visible()
    kept = page.locator("[data-offline-kept]")
    expect(kept.get_by_role("link", name="Sao lưu dữ liệu")).to_be_visible()
    expect(kept.get_by_role("link", name="Mật khẩu mạnh")).to_be_visible()
    page.screenshot(path=str(SHOTS / "offline-page-360.png"), full_page=True)
    assert _completed(session, "hv.an") == []
    page.close()

    # Later, online again, in a new tab.
    context.set_offline(False)
    again = context.new_page()
    again.goto("/")
    for _ in range(100):  # offline.js sends the outbox once the page has loaded
        if len(_completed(session, "hv.an")) == 3:
            break
        again.wait_for_timeout(100)
    assert len(_completed(session, "hv.an")) == 3
    expect(again.locator("[data-outbox]")).to_be_hidden()
    again.reload()
    expect(again.get_by_text("Đã học xong 3/4 bài")).to_be_visible()
    session.rollback()
    rows = session.execute(
        select(OfflineAction.kind, func.count(), func.count(func.distinct(OfflineAction.client_id)))
        .where(OfflineAction.outcome == "done")
        .group_by(OfflineAction.kind)
    ).all()
    assert sorted(rows) == [("complete", 3, 3), ("open", 4, 4), ("self_check", 2, 2)]
    assert (
        session.scalar(
            select(func.count()).select_from(OfflineAction).where(OfflineAction.outcome != "done")
        )
        == 0
    )
    assert again.evaluate(KEPT)["actions"] == []

    # Offline once more: the first lesson opened from the phone is queued...
    context.set_offline(True)
    again.goto(f"/courses/{COURSE}/01-mat-khau")
    expect(again.locator("[data-outbox]")).to_have_text("1 đang chờ gửi")
    first = again.evaluate(KEPT)
    key = again.locator('meta[name="hocvu-user-key"]').get_attribute("content")
    assert f"hocvu-user-{key}" in first["names"] and len(first["actions"]) == 1
    # ...the first learner's login ends before the connection returns (nobody may send it
    # now), and another learner logs in on the same phone.
    context.clear_cookies()
    context.set_offline(False)
    _log_in(again, "hv.binh")
    expect(again.get_by_role("heading", name=re.compile("^Xin chào"))).to_be_visible()
    other = again.locator('meta[name="hocvu-user-key"]').get_attribute("content")
    assert other != key
    expect(again.locator("[data-outbox]")).to_be_hidden()
    kept_now = again.evaluate(KEPT)
    assert not any(name.startswith(f"hocvu-user-{key}") for name in kept_now["names"])
    assert kept_now["actions"] == []
    session.rollback()
    assert (
        session.scalar(
            select(func.count())
            .select_from(OfflineAction)
            .join(User, OfflineAction.user_id == User.id)
            .where(User.username == "hv.binh")
        )
        == 0
    )
    assert session.scalar(select(func.count()).select_from(OfflineAction)) == 9
    assert errors == []


def test_a_refused_completion_is_shown_and_logging_out_forgets_the_learner(
    context, make, app, session
):
    """Completed offline one minute after opening, a lesson asking for two minutes is refused
    when the connection returns, and the learner reads why; logging out leaves nothing of
    theirs in the browser. The site is installable (Chromium's own check)."""
    version = make.course(app.config["HOCVU_FILES_DIR"])
    enrolment = make.enrol(make.learner(make.unit(), username="hv.cuong"), version)
    enrolment.enrolled_at = utcnow() - timedelta(days=1)
    make.commit()

    page = context.new_page()
    _log_in(page, "hv.cuong")
    page.goto(f"/courses/{COURSE}")
    expect(page.locator("[data-offline-download]")).to_have_attribute("data-downloaded", "true")
    cdp = context.new_cdp_session(page)
    # Playwright's contexts are incognito ("in-incognito"); nothing else may stand in the way.
    installability = cdp.send("Page.getInstallabilityErrors")["installabilityErrors"]
    assert [e["errorId"] for e in installability if e["errorId"] != "in-incognito"] == []
    manifest = cdp.send("Page.getAppManifest")
    assert manifest["errors"] == [] and "Học vụ số" in manifest["data"]

    context.set_offline(True)
    page.get_by_role("link", name="Mã OTP", exact=True).click()
    page.get_by_label("Chỉ mình bạn").check()
    page.get_by_role("button", name="Kiểm tra câu trả lời").click()
    expect(page.get_by_text("Câu trả lời đã được lưu trên điện thoại")).to_be_visible()
    page.get_by_role("button", name="Hoàn thành bài học").click()
    expect(page.get_by_role("heading", name="Bài kiểm tra cuối khóa")).to_be_visible()
    # Opening lesson 2 and the test page, the answers, the completion.
    expect(page.locator("[data-outbox]")).to_have_text("4 đang chờ gửi")

    context.set_offline(False)  # the page sends when the browser is online again
    refusal = page.locator("[data-refusals]")
    expect(refusal).to_contain_text(
        "Chưa hoàn thành: Mã OTP: Bạn cần học bài này thêm ít nhất 2 phút nữa."
    )
    expect(page.locator("[data-outbox]")).to_be_hidden()
    page.screenshot(path=str(SHOTS / "offline-refused-360.png"))
    session.rollback()
    progress = session.scalar(
        select(ActivityProgress).where(ActivityProgress.status == ProgressStatus.DONE)
    )
    assert progress is None
    refusal.get_by_role("button", name="Tôi đã hiểu").click()
    expect(refusal).to_be_hidden()

    before = page.evaluate(KEPT)
    assert any(name.startswith("hocvu-user-") for name in before["names"])
    page.get_by_role("button", name="Đăng xuất").click()
    expect(page.get_by_label("Tên đăng nhập")).to_be_visible()
    after = page.evaluate(KEPT)
    assert not any(name.startswith("hocvu-user-") for name in after["names"])
    assert any(name.startswith("hocvu-shell-") for name in after["names"])
    assert after["actions"] == []
    context.set_offline(True)
    page.goto(f"/courses/{COURSE}/01-mat-khau")
    expect(page.get_by_role("heading", name="Không có kết nối mạng")).to_be_visible()
    expect(page.locator("[data-offline-kept] li")).to_have_count(0)


@pytest.fixture
def same_site(browser, app):
    """The site and its content origin as in production: two names of one site
    (hoc.hocvu.vn, noidung.hoc.hocvu.vn), so that the content origin's frame is not a
    third party, whose service worker Chromium refuses when third-party cookies are blocked
    (as in Playwright's contexts). Chromium resolves the names to this machine and takes the
    two http origins as secure (a service worker needs a secure context)."""
    servers = [make_server("127.0.0.1", 0, app, threaded=True) for _ in range(2)]
    site_port, content_port = (s.server_port for s in servers)
    site = f"http://hoc.hocvu.vn:{site_port}"
    content = f"http://noidung.hoc.hocvu.vn:{content_port}"
    app.config["HOCVU_BASE_URL"] = site
    app.config["HOCVU_CONTENT_ORIGIN"] = content
    threads = [threading.Thread(target=s.serve_forever, daemon=True) for s in servers]
    for thread in threads:
        thread.start()
    # Another Chromium of the same Playwright, with the switches these names need.
    chromium = browser.browser_type.launch(
        executable_path=str(CHROMIUM),
        headless=True,
        args=[
            "--no-sandbox",
            "--disable-gpu",
            "--host-resolver-rules=MAP *.hocvu.vn 127.0.0.1",
            f"--unsafely-treat-insecure-origin-as-secure={site},{content}",
        ],
    )
    context = chromium.new_context(
        base_url=site,
        viewport={"width": 360, "height": 740},
        locale="vi-VN",
        service_workers="allow",
    )
    context.set_default_timeout(15_000)
    yield context
    context.close()
    chromium.close()
    for server, thread in zip(servers, threads, strict=True):
        server.shutdown()
        thread.join(5)


def test_a_scorm_lesson_plays_offline_and_its_commits_arrive_later(same_site, make, app, session):
    """The course's download launches the SCO once (no opening of the lesson) and keeps its
    package on the content origin; offline, the lesson plays from there, its commits wait in
    the player's journal, and they reach the server from a new tab once online. The kept
    package files keep their content security policy."""
    context = same_site
    from lms.app.storage import LocalStorage
    from lms.models import ScoState
    from lms.services import catalog
    from tests.browser.test_scorm_player import _fixture, _probe_frame

    version = catalog.scorm_course(
        session, None, _fixture("probe12"), LocalStorage(app.config["HOCVU_FILES_DIR"])
    )
    catalog.publish(session, None, version)
    make.enrol(make.learner(make.unit(), username="hv.dung"), version)
    make.commit()
    slug = version.course.slug
    lesson = f"/courses/{slug}/{version.activities[0].key}"

    page = context.new_page()
    _log_in(page, "hv.dung")
    page.goto(f"/courses/{slug}")
    download = page.locator("[data-offline-download]")
    # Opening the course page keeps its pages; an interactive lesson waits for the tap.
    expect(download).to_have_attribute("data-downloaded", "pages")
    expect(download).to_contain_text("trừ các bài tương tác")
    session.rollback()
    assert session.scalars(select(ScoState)).all() == []
    download.get_by_role("button", name=re.compile("^Tải về để học khi mất mạng")).click()
    expect(download).to_have_attribute("data-downloaded", "true", timeout=30_000)
    session.rollback()
    # Kept by one launch of the SCO, which is no opening of the lesson.
    assert [s.sessions for s in session.scalars(select(ScoState))] == [1]
    assert session.scalar(select(func.count()).select_from(ActivityProgress)) == 0
    page.reload()
    expect(download).to_have_attribute("data-downloaded", "true")
    session.rollback()
    assert [s.sessions for s in session.scalars(select(ScoState))] == [1]

    context.set_offline(True)
    page.goto(lesson)
    frame = _probe_frame(page)
    api = "window.parent.API"
    assert frame.evaluate(f"{api}.LMSSetValue('cmi.core.lesson_location', 'ngoai-tuyen')") == "true"
    assert frame.evaluate(f"{api}.LMSCommit('')") == "true"
    expect(page.locator(".player-status")).to_contain_text("chưa được lưu")
    policy = frame.evaluate(
        """async () => {
          for (const name of await caches.keys()) {
            if (!name.startsWith('hocvu-pkg-') || name === 'hocvu-pkg-links') continue;
            const cache = await caches.open(name);
            const kept = await cache.match(location.origin + '/pkg/_/index.html');
            if (kept) return kept.headers.get('Content-Security-Policy');
          }
          return null;
        }"""
    )
    site = page.url.split("/courses/")[0]
    assert f"frame-ancestors {app.config['HOCVU_CONTENT_ORIGIN']} {site};" in policy
    page.close()

    context.set_offline(False)
    again = context.new_page()
    again.goto("/")  # any page of the learner sends what the player's journal kept
    for _ in range(100):
        session.rollback()
        state = session.scalars(select(ScoState)).one_or_none()
        if state and dict(state.data).get("cmi.core.lesson_location") == "ngoai-tuyen":
            break
        again.wait_for_timeout(100)
    assert dict(state.data)["cmi.core.lesson_location"] == "ngoai-tuyen"
