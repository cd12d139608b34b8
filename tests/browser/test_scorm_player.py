"""SCORM packages played in Chromium: the shared real-world packages play, track and resume;
the sequencing package shows its table of contents and follows its rules; commits survive a
failing server, a dropped connection and a reload."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from lms.app.storage import LocalStorage
from lms.models import ActivityProgress, ProgressStatus, ScoState
from lms.services import catalog
from tests.factories import zip_bytes

SHARED = Path(__file__).resolve().parents[3] / "shared" / "scorm-packages"
FIXTURES = Path(__file__).resolve().parents[1] / "scorm" / "fixtures"
needs_shared = pytest.mark.skipif(
    not SHARED.is_dir(), reason=f"SHARED SCORM PACKAGES SKIPPED: {SHARED} is missing"
)


def _log_in(page, username, password="mat-khau-1"):  # noqa: S107
    page.goto("/login")
    page.get_by_label("Tên đăng nhập").fill(username)
    page.get_by_label("Mật khẩu", exact=True).fill(password)
    page.get_by_role("button", name="Đăng nhập").click()


def _fixture(name: str) -> bytes:
    root = FIXTURES / name
    return zip_bytes(
        {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}
    )


def _course(make, app, data: bytes, username: str = "hv.golf"):
    session = make.session
    version = catalog.scorm_course(session, None, data, LocalStorage(app.config["HOCVU_FILES_DIR"]))
    catalog.publish(session, None, version)
    make.enrol(make.learner(make.unit(), username=username), version)
    make.commit()
    activity = version.activities[0]
    return f"/courses/{version.course.slug}/{activity.key}"


def _wait_for(session, check, timeout: float = 10.0):
    """Poll the database until `check(states)` holds; return the states."""
    deadline = time.monotonic() + timeout
    while True:
        session.rollback()
        states = session.scalars(select(ScoState).order_by(ScoState.id)).all()
        if check(states):
            return states
        if time.monotonic() > deadline:
            raise AssertionError(f"not reached: {[(s.sco, s.seq, s.data) for s in states]}")
        time.sleep(0.1)


def _values(state) -> dict:
    return dict(state.data)


def _sco(page):
    """The package's frame: inside the player's frame (the API frame, on the content origin)."""
    return page.frame_locator("iframe.player-frame").frame_locator("iframe[name=sco]")


def _golf_frames(page):
    """The golf samples' launch page (the package's frame) and its content frame."""
    launch = _sco(page)
    return launch, launch.frame_locator("#contentFrame")


def _pass_assessment(page):
    deadline = time.monotonic() + 10
    while not any("assessmenttemplate" in f.url for f in page.frames):
        assert time.monotonic() < deadline, "the assessment page did not open"
        page.wait_for_timeout(100)
    frame = next(f for f in page.frames if "assessmenttemplate" in f.url)
    frame.wait_for_load_state()
    frame.wait_for_function(
        "() => typeof test !== 'undefined' && document.querySelector('input[type=button]')"
    )
    frame.evaluate(
        """() => {
          for (const q of test.Questions) {
            const text = document.getElementById('question_' + q.Id + '_Text');
            if (text) text.value = q.CorrectAnswer;
          }
          const right = document.querySelectorAll('.correctAnswer input[type=radio]');
          right.forEach(i => i.checked = true);
        }"""
    )
    frame.get_by_role("button", name="Submit Answers").click()
    expect(frame.get_by_text("Score: 100")).to_be_visible()


@needs_shared
@pytest.mark.parametrize(
    ("package", "location", "last_page"),
    [
        ("RuntimeBasicCalls_SCORM12.zip", "cmi.core.lesson_location", 14),
        ("RuntimeBasicCalls_SCORM20043rdEdition.zip", "cmi.location", 14),
        ("RunTimeAdvancedCalls_SCORM20043rdEdition.zip", "cmi.location", 14),
    ],
)
def test_golf_package_plays_tracks_and_resumes(
    page, make, app, session, package, location, last_page
):
    url = _course(make, app, (SHARED / package).read_bytes())
    page.on("dialog", lambda dialog: dialog.accept())  # "resume where you left off?" -> yes
    _log_in(page, "hv.golf")
    page.goto(url)
    launch, content = _golf_frames(page)
    expect(content.get_by_role("heading").first).to_be_visible()
    for _ in range(3):
        launch.locator("#butNext").click()
    expect(content.get_by_text(re.compile("Other Scoring|Scoring", re.I)).first).to_be_visible()

    # Leaving the page (a reload here) suspends the SCO; its state reaches the server.
    page.reload()
    states = _wait_for(session, lambda s: s and _values(s[0]).get(location) == "3")
    assert states[0].completion == "incomplete"

    # The relaunch resumes on the page where the learner stopped.
    launch, content = _golf_frames(page)
    expect(content.get_by_role("heading", name="Other Scoring Systems")).to_be_visible()
    expect(launch.locator("#butPrevious")).to_be_enabled()

    for _ in range(last_page - 3):
        launch.locator("#butNext").click()
    expect(launch.locator("#butNext")).to_be_disabled()
    _pass_assessment(page)
    launch.locator("#butExit").click()
    states = _wait_for(session, lambda s: s and s[0].success == "passed" and s[0].terminated)
    state = states[0]
    assert state.completion == "completed"
    assert state.score_raw == 100 and state.score_scaled == 1.0
    assert state.sessions == 2 and state.attempts == 1 and state.total_seconds > 0
    progress = session.scalars(select(ActivityProgress)).one()
    assert progress.status == ProgressStatus.DONE
    if "Advanced" in package:
        values = _values(state)
        assert values["cmi.interactions.0.result"] == "correct"
        objectives = {v for k, v in values.items() if re.match(r"cmi\.objectives\.\d+\.id$", k)}
        assert {"obj_playing", "obj_etiquette"} <= objectives
    page.wait_for_url(re.compile(r"/courses/[^/]+$"))  # the SCO ended itself: to the course
    assert not [e for e in page.console_errors if "favicon" not in e]


@needs_shared
def test_sequencing_package_shows_its_contents_and_follows_its_rules(page, make, app, session):
    url = _course(
        make, app, (SHARED / "SequencingSimpleRemediation_SCORM20043rdEdition.zip").read_bytes()
    )
    page.on("dialog", lambda dialog: dialog.accept())
    page.set_viewport_size({"width": 1280, "height": 900})
    _log_in(page, "hv.golf")
    page.goto(url)
    toc = page.get_by_role("navigation", name="Các phần của bài học")
    expect(toc).to_be_visible()
    expect(toc.get_by_text("Playing the Game")).to_be_visible()
    expect(toc.get_by_text("Having Fun Quiz")).to_be_visible()
    # Flow only: the parts are listed, but cannot be chosen; "Next" leads on.
    expect(toc.get_by_role("link")).to_have_count(0)
    expect(page.locator(".toc-current")).to_contain_text("Playing the Game")
    expect(page.get_by_role("button", name="Phần trước")).to_have_count(0)
    page.get_by_role("button", name="Phần tiếp theo").click()
    expect(page.locator(".toc-current")).to_contain_text("Etiquette")
    expect(page.get_by_role("button", name="‹ Phần trước")).to_be_visible()


class _ServerDown:
    """Make the live server answer 503 to every commit until stop()."""

    def __init__(self, app) -> None:
        self.app, self.inner, self.on = app, app.wsgi_app, True

        def wsgi(environ, start_response):
            if self.on and environ["PATH_INFO"].endswith("/commit"):
                start_response("503 Service Unavailable", [("Content-Type", "text/plain")])
                return [b"down"]
            return self.inner(environ, start_response)

        app.wsgi_app = wsgi

    def stop(self) -> None:
        self.on = False
        self.app.wsgi_app = self.inner


def _probe_frame(page):
    expect(_sco(page).locator("body[data-initialized=true]")).to_be_attached()
    return page.frame(name="sco")


def test_commits_survive_server_errors_a_dropped_connection_and_a_reload(page, make, app, session):
    url = _course(make, app, _fixture("probe12"), username="hv.mang")
    _log_in(page, "hv.mang")
    page.goto(url)
    frame = _probe_frame(page)
    api = "window.parent.API"
    frame.evaluate(f"{api}.LMSSetValue('cmi.core.lesson_location', 'p1')")
    frame.evaluate(f"{api}.LMSCommit('')")
    _wait_for(session, lambda s: s and _values(s[0]).get("cmi.core.lesson_location") == "p1")

    # The server fails, then the connection drops: the SCO goes on, the learner is told.
    failures = {"n": 0}

    def broken(route):
        failures["n"] += 1
        if failures["n"] <= 2:
            route.fulfill(status=500, body="boom")
        else:
            route.abort("connectionfailed")

    page.context.route("**/player/state/*/commit", broken)
    for n in range(2, 6):
        assert frame.evaluate(f"{api}.LMSSetValue('cmi.core.lesson_location', 'p{n}')") == "true"
        assert frame.evaluate(f"{api}.LMSSetValue('cmi.suspend_data', 'page={n}')") == "true"
        assert frame.evaluate(f"{api}.LMSCommit('')") == "true"
    status = page.locator(".player-status")
    expect(status).to_contain_text("chưa được lưu")
    assert failures["n"] >= 2
    assert _values(_wait_for(session, lambda s: True)[0])["cmi.core.lesson_location"] == "p1"

    # A reload while commits still fail: the page starts from this device's state. (The
    # server fails them too: a request sent by a page being left may escape the browser's
    # interception.)
    down = _ServerDown(app)
    page.reload()
    frame = _probe_frame(page)
    assert frame.locator("#location").inner_text() == "location=p5"
    frame.evaluate(f"{api}.LMSSetValue('cmi.core.lesson_location', 'p6')")
    frame.evaluate(f"{api}.LMSCommit('')")
    expect(status).to_contain_text("chưa được lưu")
    assert _values(_wait_for(session, lambda s: True)[0])["cmi.core.lesson_location"] == "p1"

    # The connection comes back: everything arrives, the newest state wins.
    page.context.unroute("**/player/state/*/commit")
    down.stop()
    page.evaluate("window.dispatchEvent(new Event('online'))")
    expect(status).to_contain_text("đã được lưu", timeout=20_000)
    states = _wait_for(session, lambda s: _values(s[0]).get("cmi.core.lesson_location") == "p6")
    assert _values(states[0])["cmi.suspend_data"] == "page=5"
    seq = states[0].seq
    # Nothing older can overwrite it afterwards.
    page.reload()
    _probe_frame(page)
    time.sleep(0.5)
    session.rollback()
    assert session.scalars(select(ScoState)).one().seq >= seq
    assert _values(session.scalars(select(ScoState)).one())["cmi.core.lesson_location"] == "p6"


def test_a_2004_package_with_two_parts_has_contents_and_next(page, make, app, session):
    url = _course(make, app, _fixture("probe2004"), username="hv.hai")
    page.set_viewport_size({"width": 1280, "height": 900})
    _log_in(page, "hv.hai")
    page.goto(url)
    frame = _probe_frame(page)
    toc = page.get_by_role("navigation", name="Các phần của bài học")
    expect(toc.get_by_role("link", name="Phần 2: Nộp hồ sơ")).to_be_visible()
    api = "window.parent.API_1484_11"
    frame.evaluate(f"{api}.SetValue('cmi.completion_status', 'completed')")
    frame.evaluate(f"{api}.SetValue('adl.nav.request', 'continue')")
    frame.evaluate(f"window.finished = true; {api}.Terminate('')")
    expect(page.locator(".toc-current")).to_contain_text("Phần 2")
    frame = _probe_frame(page)
    frame.evaluate(f"{api}.SetValue('cmi.score.scaled', '0.75')")
    frame.evaluate(f"{api}.SetValue('cmi.completion_status', 'completed')")
    frame.evaluate(f"window.finished = true; {api}.Terminate('')")
    states = _wait_for(session, lambda s: len(s) == 2 and all(x.terminated for x in s))
    # Part 1 reported no success: its attempt's end satisfies its objective (SN UP.4
    # 1.1.1.2, objectiveSetByContent false); part 2 passes by measure, 0.75 >= 0.7.
    assert [s.success for s in states] == ["passed", "passed"]
    progress = session.scalars(select(ActivityProgress)).one()
    assert progress.status == ProgressStatus.DONE


def test_values_set_before_leaving_are_kept_however_the_page_is_left(page, make, app, session):
    """The package runs on another origin: the browser may take the page down before the
    package's own last commit (sent from its unload handler) reaches it. Leaving by a link of
    the page takes the package down first, so its Finish arrives; leaving otherwise (a typed
    address, back, a closed tab) still keeps every value set so far (the page commits them)."""
    url = _course(make, app, _fixture("probe12"), username="hv.roi")
    _log_in(page, "hv.roi")
    page.goto(url)
    frame = _probe_frame(page)
    api = "window.parent.API"
    frame.evaluate(f"{api}.LMSSetValue('cmi.core.lesson_location', 'p7')")
    frame.evaluate(f"{api}.LMSSetValue('cmi.suspend_data', 'chua-luu')")
    page.goto("/")  # not a link of the page: nothing to wait for the package
    states = _wait_for(
        session, lambda s: s and _values(s[0]).get("cmi.core.lesson_location") == "p7"
    )
    assert _values(states[0])["cmi.suspend_data"] == "chua-luu"
    assert not states[0].terminated

    # "Exit the lesson", a link of the page: the package finishes on its way out.
    page.goto(url)
    frame = _probe_frame(page)
    assert frame.locator("#location").inner_text() == "location=p7"
    frame.evaluate(f"{api}.LMSSetValue('cmi.core.lesson_location', 'p8')")
    page.get_by_role("link", name="Thoát bài học").click()
    page.wait_for_url(re.compile(r"/courses/[^/]+$"))
    states = _wait_for(
        session,
        lambda s: _values(s[0]).get("cmi.core.lesson_location") == "p8" and s[0].terminated,
    )
    assert states[0].sessions == 2
