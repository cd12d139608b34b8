"""SCORM 2004 lessons kept for offline play, in Chromium at 360 px (issue 23): the real
single-SCO golf package is kept by the course's download (which counts no opening and opens
no session), played offline to its end, and when the connection returns its journal reaches
the server, which takes it once: the lesson completed and passed with its score, the session
ended by the SCO's exit all. A package of several parts says, offline, that moving to another
part needs a connection; its controls are disabled, not broken.

The site and its content origin are two names of one site, as in production
(tests/browser/test_offline_flow.py's `same_site`).
"""

from __future__ import annotations

import re

from playwright.sync_api import expect
from sqlalchemy import func, select

from lms.models import ActivityProgress, ProgressStatus, Registration, ScoState
from lms.services import tracking
from lms.services.tracking import offline as kept_sessions
from tests.browser import test_offline_flow as offline_flow
from tests.browser.test_offline_flow import SHOTS, _log_in
from tests.browser.test_scorm_player import (
    SHARED,
    _course,
    _golf_frames,
    _pass_assessment,
    needs_shared,
)

same_site = offline_flow.same_site

NOTE = "Bạn đang mất mạng. Phần đang mở vẫn học tiếp được"
DOWNLOAD = re.compile("^Tải về để học khi mất mạng")


def _keep_course(page, course_url: str):
    page.goto(course_url)
    download = page.locator("[data-offline-download]")
    download.get_by_role("button", name=DOWNLOAD).click()
    expect(download).to_have_attribute("data-downloaded", "true", timeout=60_000)


@needs_shared
def test_a_single_sco_2004_package_plays_offline_to_its_end_and_completes_once_online(
    same_site, make, app, session
):
    context = same_site
    lesson = _course(make, app, (SHARED / "RuntimeBasicCalls_SCORM20043rdEdition.zip").read_bytes())
    course_url = lesson.rsplit("/", 1)[0]
    page = context.new_page()
    page.on("dialog", lambda dialog: dialog.accept())
    _log_in(page, "hv.golf")
    _keep_course(page, course_url)
    # A later visit of the course page keeps the launch again (its package is kept already):
    # offline play starts from the newest state, through a new link to the kept files.
    with page.expect_response(
        lambda r: r.url.endswith("/runtime") and r.request.method == "POST"
    ) as again:
        page.reload()
    ticket = again.value.json()["offline"]
    page.wait_for_function(
        """async ([url, ticket]) => {
          const kept = await caches.match(url, { ignoreVary: true });
          return Boolean(kept) && (await kept.json()).offline === ticket;
        }""",
        arg=[again.value.url, ticket],
    )
    # Kept: no opening of the lesson, no session of its SCO, no delivery by the engine.
    session.rollback()
    assert session.scalar(select(func.count()).select_from(ActivityProgress)) == 0
    assert [(s.sessions, s.session_key) for s in session.scalars(select(ScoState))] == [(0, None)]
    assert session.scalars(select(Registration)).one().state is None

    context.set_offline(True)
    page.goto(lesson)
    launch, content = _golf_frames(page)
    expect(content.get_by_role("heading").first).to_be_visible()
    note = page.locator("[data-offline-note]")
    expect(note).to_be_visible()
    expect(note).to_contain_text(NOTE)
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "offline-2004-single-360.png"), full_page=True)

    for _ in range(14):
        launch.locator("#butNext").click()
    expect(launch.locator("#butNext")).to_be_disabled()
    _pass_assessment(page)
    launch.locator("#butExit").click()  # exit all, at the end: a normal exit
    status = page.locator(".player-status")
    expect(status).to_contain_text("Phần này đã kết thúc")
    page.screenshot(path=str(SHOTS / "offline-2004-over-360.png"))
    session.rollback()
    assert session.scalar(select(func.count()).select_from(ActivityProgress)) == 0
    assert session.scalars(select(ScoState)).one().seq == 0

    # Back online: the journal is sent, the engine ends the session, the page follows.
    context.set_offline(False)
    page.wait_for_url(re.compile(r"/courses/[^/]+$"), timeout=60_000)
    session.rollback()
    state = session.scalars(select(ScoState)).one()
    assert (state.success, state.completion, state.score_raw) == ("passed", "completed", 100)
    assert state.score_scaled == 1.0 and state.terminated
    assert (state.sessions, state.attempts) == (1, 1)  # the offline session, counted once
    progress = session.scalars(select(ActivityProgress)).one()
    assert progress.status == ProgressStatus.DONE
    assert session.scalars(select(Registration)).one().state["current"] is None
    expect(page.locator(".lesson-list, main")).to_contain_text("Golf Explained")


@needs_shared
def test_offline_a_lesson_of_several_parts_says_another_part_needs_a_connection(
    same_site, make, app, session, monkeypatch
):
    context = same_site
    lesson = _course(
        make,
        app,
        (SHARED / "SequencingSimpleRemediation_SCORM20043rdEdition.zip").read_bytes(),
    )
    page = context.new_page()
    page.on("dialog", lambda dialog: dialog.accept())
    _log_in(page, "hv.golf")
    _keep_course(page, lesson.rsplit("/", 1)[0])

    context.set_offline(True)
    page.goto(lesson)
    _golf_frames(page)[1].get_by_role("heading").first.wait_for()
    toc = page.get_by_role("navigation", name="Các phần của bài học")
    expect(toc).to_contain_text("Cần có kết nối mạng để mở phần khác.")
    expect(page.locator(".toc-current")).to_contain_text("Playing the Game")
    following = page.get_by_role("button", name="Phần tiếp theo")
    expect(following).to_be_disabled()
    expect(following).to_have_accessible_description(re.compile("cần có kết nối mạng"))
    expect(page.locator("[data-offline-note]")).to_contain_text(NOTE)
    page.screenshot(path=str(SHOTS / "offline-2004-parts-360.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})
    page.screenshot(path=str(SHOTS / "offline-2004-parts-desktop.png"))
    page.set_viewport_size({"width": 360, "height": 740})

    # The server fails the journal's record until the lesson is launched online again (a
    # request of a page being left may escape the browser's offline emulation): it stays on
    # the device.
    holding = {"on": True}
    real_start_kept, real_start_session = kept_sessions.start_kept, tracking.start_session

    def failing(*args, **kwargs):
        if holding["on"]:
            raise RuntimeError("the server fails the kept session's first commit")
        return real_start_kept(*args, **kwargs)

    def launching(*args, **kwargs):
        holding["on"] = False
        return real_start_session(*args, **kwargs)

    monkeypatch.setattr(kept_sessions, "start_kept", failing)
    monkeypatch.setattr(tracking, "start_session", launching)
    # Exit the lesson still leaves, to the kept course page.
    page.get_by_role("button", name="Thoát bài học").click()
    page.wait_for_url(re.compile(r"/courses/[^/]+$"))

    # Back online, the lesson opened again at once (a new tab) before the journal's record got
    # through: what was played offline goes on in this launch, whose page keeps saving (the
    # kept session is not opened over it).
    page.close()
    context.set_offline(False)
    page = context.new_page()
    with page.expect_response(lambda r: r.url.endswith("/runtime")) as launched:
        page.goto(lesson)
    online = launched.value.json()
    assert "offline" not in online and online["seq"] == 0
    expect(page.locator("[data-offline-note]")).to_be_hidden()
    expect(page.get_by_role("button", name="Phần tiếp theo")).to_be_enabled()
    player = page.locator("#scorm-player")
    expect(player).to_have_attribute("data-save-state", "saved")
    session.rollback()
    state = session.scalars(select(ScoState).where(ScoState.sessions > 0)).one()
    assert (state.session_key, state.sessions, state.seq) == (online["session"], 1, 3)
    assert ["cmi.location", "0"] in state.data
    page.wait_for_timeout(500)
    assert player.get_attribute("data-save-state") == "saved"
