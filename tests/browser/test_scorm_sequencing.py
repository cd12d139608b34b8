"""SCORM 2004 packages with sequencing rules played in Chromium at a phone's width: a learner
who does the right thing completes each package, and is blocked where the rules block (the
packages: tests/scorm/fixtures/sequencing/, with the test SCO of fixtures/seqsco/)."""

from __future__ import annotations

import os
import re
import time

from playwright.sync_api import expect
from sqlalchemy import select

from lms.models import ActivityProgress, ProgressStatus, ScoState
from tests.browser.test_scorm_player import _course, _log_in, _sco
from tests.lms.test_scorm_sequencing import sequencing_package

PHONE = {"width": 360, "height": 740}
SHOTS = os.environ.get("HOCVU_SCREENSHOTS")  # a folder: keep the pages seen, to look at


def _shot(page, name: str) -> None:
    if SHOTS:
        # A full-page shot at a phone's width lays the package's frame out again, too narrow.
        page.screenshot(path=os.path.join(SHOTS, f"{name}.png"), full_page="1280" in name)


def _part(page, title: str):
    """The delivered SCO, once it shows `title` and has initialized."""
    sco = _sco(page)
    expect(sco.locator("#part")).to_have_text(title, timeout=15_000)
    expect(sco.locator("#valid-continue")).not_to_be_empty()  # it has initialized
    return sco


def _done(session, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        session.rollback()
        progress = session.scalars(select(ActivityProgress)).one_or_none()
        if progress is not None and progress.status == ProgressStatus.DONE:
            return True
        time.sleep(0.1)
    return False


def test_forced_order_is_completed_in_order_and_blocked_out_of_order(page, make, app, session):
    """The SN book's "disabled unless the previous part is satisfied" (pre-condition rule on
    an objective read from the global objective the previous part writes): part 2 is no link
    while part 1 is not passed, ?sco=<part 2> says why and launches nothing, a Terminate
    without a navigation request delivers nothing (the page stays, says so and relaunches
    nothing), and continue delivers the next part; the lesson is done when the organization
    is satisfied."""
    url = _course(make, app, sequencing_package("ordered"), username="hv.thutu")
    page.set_viewport_size(PHONE)
    _log_in(page, "hv.thutu")
    page.goto(url)
    toc = page.get_by_role("navigation", name="Các phần của bài học")
    sco = _part(page, "Phần 1")
    expect(toc.get_by_role("link")).to_have_count(0)
    expect(toc.locator('[data-toc="part_2"] [aria-disabled="true"]')).to_be_visible()
    expect(page.get_by_role("button", name="Phần tiếp theo")).to_have_count(0)
    expect(sco.locator("#valid-continue")).to_have_text("false")
    _shot(page, "sequenced-360-part1")

    # Out of order: refused in words, nothing launched.
    page.goto(url + "?sco=part_2")
    expect(page.get_by_role("alert")).to_have_text("Phần này chưa mở: hãy học xong phần trước.")
    expect(page.locator("iframe.player-frame")).to_have_count(0)

    # Part 1 passed, then ended without a request: nothing is launched; continue is offered.
    page.goto(url)
    sco = _part(page, "Phần 1")
    sco.get_by_role("button", name="Đạt", exact=True).click()
    # The commit's answer refreshes adl.nav.request_valid in the SCO's API (RTE 4.4.2).
    api = "window.parent.API_1484_11"
    deadline = time.monotonic() + 10
    while (
        page.frame(name="sco").evaluate(f"{api}.GetValue('adl.nav.request_valid.continue')")
        != "true"
    ):
        assert time.monotonic() < deadline, "request_valid.continue never became true"
        time.sleep(0.1)
    assert (
        page.frame(name="sco").evaluate(
            f"{api}.GetValue('adl.nav.request_valid.choice.{{target=part_3}}')"
        )
        == "false"
    )
    sco.get_by_role("button", name="Xong, không yêu cầu gì").click()
    expect(page.locator(".player-status")).to_contain_text("Phần này đã kết thúc")
    time.sleep(1)
    expect(page).to_have_url(re.compile(r"/courses/[^/?]+/[^/?]+$"))
    expect(sco.locator("#part")).to_have_text("Phần 1")  # still the ended part, not relaunched
    # The page shows what the engine allows now that part 1 is passed: Next, and part 2.
    expect(page.get_by_role("button", name="Phần tiếp theo")).to_be_visible()
    expect(toc.get_by_role("link", name="Phần 2")).to_be_visible()
    expect(toc.get_by_role("link", name="Phần 3")).to_have_count(0)
    _shot(page, "sequenced-360-waiting")
    toc.scroll_into_view_if_needed()
    _shot(page, "sequenced-360-waiting-toc")
    page.get_by_role("button", name="Phần tiếp theo").click()
    sco = _part(page, "Phần 2")
    expect(toc.locator('[data-toc="part_1"] .toc-status')).to_have_text("xong")
    expect(toc.get_by_role("link", name="Phần 1")).to_be_visible()
    expect(toc.get_by_role("link", name="Phần 3")).to_have_count(0)

    # Part 2 passed, the SCO asks for continue: part 3 follows by itself.
    sco.get_by_role("button", name="Đạt", exact=True).click()
    sco.get_by_role("button", name="Tiếp (continue)").click()
    sco = _part(page, "Phần 3")
    page.set_viewport_size({"width": 1280, "height": 900})
    _shot(page, "sequenced-1280-part3")
    sco.get_by_role("button", name="Đạt", exact=True).click()
    sco.get_by_role("button", name="Tiếp (continue)").click()
    page.wait_for_url(re.compile(r"/courses/[^/]+$"))  # past the last part: session over
    assert _done(session)
    assert not [e for e in page.console_errors if "favicon" not in e]


def test_exit_the_lesson_suspends_and_the_next_visit_resumes_the_part(page, make, app, session):
    """ "Thoát bài học" is suspendAll: the course page follows; the next visit resumes all,
    launching the suspended part with cmi.entry = resume."""
    url = _course(make, app, sequencing_package("ordered"), username="hv.tamdung")
    page.set_viewport_size(PHONE)
    _log_in(page, "hv.tamdung")
    page.goto(url)
    sco = _part(page, "Phần 1")
    sco.get_by_role("button", name="Học xong").click()
    page.get_by_role("button", name="Thoát bài học").click()
    page.wait_for_url(re.compile(r"/courses/[^/]+$"))
    page.goto(url)
    sco = _part(page, "Phần 1")
    expect(sco.locator("#entry")).to_have_text("resume")
    session.rollback()
    state = session.scalars(select(ScoState)).one()
    assert (state.sessions, state.attempts) == (2, 1)  # resumed: the same attempt


def test_pretest_failed_then_content_and_post_test_complete_the_lesson(page, make, app, session):
    """Pre-test / post-test: a failed pre-test leads through the content to the post-test,
    which the learner passes; the organization is satisfied by its rollup rule."""
    url = _course(make, app, sequencing_package("pretest-posttest"), username="hv.kiemtra")
    page.set_viewport_size(PHONE)
    _log_in(page, "hv.kiemtra")
    page.goto(url)
    sco = _part(page, "Phần pre")
    sco.get_by_role("button", name="Không đạt").click()
    sco.get_by_role("button", name="Tiếp (continue)").click()
    for title in ("Phần 1", "Phần 2"):
        sco = _part(page, title)
        sco.get_by_role("button", name="Học xong").click()
        sco.get_by_role("button", name="Tiếp (continue)").click()
    sco = _part(page, "Phần post")
    sco.get_by_role("button", name="Đạt", exact=True).click()
    sco.get_by_role("button", name="Tiếp (continue)").click()
    page.wait_for_url(re.compile(r"/courses/[^/]+$"))
    assert _done(session)


def test_random_test_offers_its_selected_questions(page, make, app, session):
    """randomizationControls: the test shows two of its four questions; flow delivers them
    and then the summary; choosing the test (a cluster) from the contents is not offered
    (its choice control is off) but continue leads through it."""
    url = _course(make, app, sequencing_package("random-test"), username="hv.ngaunhien")
    page.set_viewport_size(PHONE)
    _log_in(page, "hv.ngaunhien")
    page.goto(url)
    toc = page.get_by_role("navigation", name="Các phần của bài học")
    expect(toc.locator("[data-toc^=q]")).to_have_count(2)
    sco = _part(page, "Phần intro")
    sco.get_by_role("button", name="Học xong").click()
    sco.get_by_role("button", name="Tiếp (continue)").click()
    for _ in range(2):
        sco = _sco(page)
        expect(sco.locator("#part")).to_have_text(re.compile(r"Phần [1-4]$"), timeout=15_000)
        expect(sco.locator("#valid-continue")).not_to_be_empty()
        sco.get_by_role("button", name="Đạt", exact=True).click()
        sco.get_by_role("button", name="Tiếp (continue)").click()
        page.wait_for_load_state()
        time.sleep(0.5)
    sco = _part(page, "Phần end")
    sco.get_by_role("button", name="Học xong").click()
    sco.get_by_role("button", name="Tiếp (continue)").click()
    page.wait_for_url(re.compile(r"/courses/[^/]+$"))
    assert _done(session)
