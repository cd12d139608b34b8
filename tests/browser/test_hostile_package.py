"""A hostile SCORM package (tests/browser/fixtures/hostile12) played in Chromium: opened by a
site administrator on the author's try page and in the player, and by a learner, its script
tries to read the site's pages and cookies, post forms with a token it fetched, send messages
in the API frame's name and navigate the top window. Nothing leaks and nothing changes.

Before the content origin (issue 17), the same script created a site administrator while a
site administrator opened the try page: package files were served from the site's own origin,
in a frame without sandbox.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from playwright.sync_api import expect
from sqlalchemy import func, select

from lms.app.storage import LocalStorage
from lms.models import Role, ScormPackage, ScoState, User
from lms.services import catalog
from tests.factories import PASSWORD, zip_bytes

HOSTILE = Path(__file__).resolve().parent / "fixtures" / "hostile12"


def _log_in(page, username):
    page.goto("/login")
    page.get_by_label("Tên đăng nhập").fill(username)
    page.get_by_label("Mật khẩu", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()
    expect(page.get_by_role("button", name="Đăng xuất")).to_be_visible()


def _course(make, app):
    data = zip_bytes({p.name: p.read_bytes() for p in HOSTILE.iterdir()})
    session = make.session
    version = catalog.scorm_course(session, None, data, LocalStorage(app.config["HOCVU_FILES_DIR"]))
    catalog.publish(session, None, version)
    admin = make.site_admin(username="qt.tinh", full_name="Quản Trị Tỉnh")
    learner = make.learner(make.unit(), username="hv.nan.nhan", full_name="Học Viên Nạn Nhân")
    make.enrol(admin, version)
    make.enrol(learner, version)
    make.commit()
    activity = version.activities[0]
    package = session.scalars(select(ScormPackage)).one()
    return f"/courses/{version.course.slug}/{activity.key}", f"/author/packages/{package.id}/try/0"


class _FromElsewhere:
    """Record the requests the site gets from another origin (the package's): only a GET that
    opens a window (a navigation, which the package cannot read) may come."""

    def __init__(self, app) -> None:
        self.seen: list[tuple[str, str, str, str]] = []
        inner = app.wsgi_app

        def wsgi(environ, start_response):
            site = environ.get("HTTP_SEC_FETCH_SITE", "")
            if site not in ("", "same-origin", "none") and "content." not in environ["HTTP_HOST"]:
                self.seen.append(
                    (
                        environ["REQUEST_METHOD"],
                        environ["PATH_INFO"],
                        environ.get("HTTP_SEC_FETCH_MODE", ""),
                        environ.get("HTTP_SEC_FETCH_DEST", ""),
                    )
                )
            return inner(environ, start_response)

        app.wsgi_app = wsgi

    def check(self) -> None:
        for method, path, mode, dest in self.seen:
            assert (method, mode, dest) == ("GET", "navigate", "document"), (path, self.seen)


def _attack_results(page) -> dict:
    """Wait for the package to finish its attacks; what each one got."""
    sco = page.frame_locator("iframe.player-frame").frame_locator("iframe[name=sco]")
    expect(sco.locator("body[data-done=true]")).to_be_attached(timeout=20_000)
    return page.frame(name="sco").evaluate("() => window.hostile")


def _snapshot(session) -> dict:
    session.rollback()
    users = session.scalars(select(User).order_by(User.id)).all()
    return {
        "users": [(u.username, u.password_hash, u.auth_epoch, u.is_active_account) for u in users],
        "roles": sorted((u.username, str(r.role)) for u in users for r in u.roles),
    }


def _check(page, results: dict, url_before: str, secrets: list[str], seen: _FromElsewhere) -> None:
    seen.check()  # no fetch, beacon or form reached the site (the beacon is only queued)
    assert results["api"] == "found", results  # the package still runs as a SCO
    assert results["site"] == "/".join(page.url.split("/")[:3])  # it knew whom to attack
    assert results["cookie"] == "ok: []", results  # the site's cookie is not the package's
    for attack in (
        "top document",
        "top csrf meta",
        "top localStorage",
        "read /admin/users",
        "read /admin/users/new",
        "read / (learner's home)",
        "post /admin/users/new",
        "navigate the top window",
    ):
        assert results[attack].startswith("blocked"), (attack, results[attack])
    # The content origin answers nothing of the site.
    assert results["relative /admin/users"] == "ok: 404"
    popup = results["popup of /admin/users"]
    assert popup.startswith("blocked") or popup == "ok: no window", popup
    text = json.dumps(results)
    for secret in secrets:
        assert secret not in text
    assert page.url == url_before  # the top window stayed where it was
    expect(page.get_by_role("button", name="Đăng xuất")).to_be_visible()  # still logged in


def test_a_hostile_package_gets_nothing_from_a_site_admin_on_the_try_page(page, make, app, session):
    _, try_page = _course(make, app)
    before = _snapshot(session)
    seen = _FromElsewhere(app)
    _log_in(page, "qt.tinh")
    page.goto(try_page)
    results = _attack_results(page)
    token = page.locator('meta[name="csrf-token"]').get_attribute("content")
    cookie = next(c["value"] for c in page.context.cookies() if c["name"] == "session")
    time.sleep(0.5)  # a late request of the package would have landed by now
    _check(page, results, page.url, [token, cookie], seen)
    assert page.url.endswith(try_page)
    assert _snapshot(session) == before
    assert session.scalar(select(func.count()).select_from(ScoState)) == 0  # nothing recorded
    assert not session.scalar(select(User).where(User.username.like("ke.gian%")))


def test_a_hostile_package_gets_nothing_from_a_site_admin_in_the_player(page, make, app, session):
    lesson, _ = _course(make, app)
    before = _snapshot(session)
    seen = _FromElsewhere(app)
    _log_in(page, "qt.tinh")
    page.goto(lesson)
    results = _attack_results(page)
    token = page.locator('meta[name="csrf-token"]').get_attribute("content")
    cookie = next(c["value"] for c in page.context.cookies() if c["name"] == "session")
    time.sleep(0.5)
    _check(page, results, page.url, [token, cookie], seen)
    assert page.url.endswith(lesson)
    assert _snapshot(session) == before
    admin = session.scalar(select(User).where(User.username == "qt.tinh"))
    assert [r.role for r in admin.roles] == [Role.SITE_ADMIN]


def test_a_hostile_package_gets_nothing_from_a_learner_and_cannot_forge_progress(
    page, make, app, session
):
    lesson, _ = _course(make, app)
    before = _snapshot(session)
    seen = _FromElsewhere(app)
    _log_in(page, "hv.nan.nhan")
    page.goto(lesson)
    results = _attack_results(page)
    token = page.locator('meta[name="csrf-token"]').get_attribute("content")
    cookie = next(c["value"] for c in page.context.cookies() if c["name"] == "session")
    # Its own commit (through the API) arrives; its forged messages to the page do not count.
    deadline = time.monotonic() + 10
    while True:
        session.rollback()
        state = session.scalars(select(ScoState)).one_or_none()
        if state and dict(state.data).get("cmi.core.lesson_location") == "xong":
            break
        assert time.monotonic() < deadline, "the package's own commit did not arrive"
        time.sleep(0.1)
    _check(page, results, page.url, [token, cookie], seen)
    assert page.url.endswith(lesson)
    assert state.success != "passed" and state.completion != "completed"
    assert not state.terminated
    assert _snapshot(session) == before
