"""Benchmark: Hocvu's pages on a weak mobile connection, in Chromium.

Targets (issue 23, "Learning on a weak connection"), with the network throttled by Chromium
(DevTools Network.emulateNetworkConditions) to 400 kbit/s down, 400 kbit/s up and 400 ms of
latency on every request:

- login: the login page, first visit (empty cache), usable within 3 s;
- home: the learner's home right after logging in, with an empty cache (the session cookie is
  set without the browser loading any page), usable within 3 s.

"Usable" is measured twice from the navigation's start (Navigation Timing): DOMContentLoaded
(the page is parsed and its deferred scripts have run: it can be read and tapped) and load (its
style sheet, images and scripts are all in); the target applies to load, the later of the two.
Each measurement runs in a new browser context (its own empty cache) `--runs` times (5 by
default); the median is printed beside the target, with the bytes transferred and requests.

    .venv/bin/python bench/weak_connection.py [--runs 5] [--only home,login]
        [--database postgresql+psycopg://postgres@127.0.0.1:5432/hocvu_bench]

Run from the repository root. It needs gunicorn (the `dev` extra) and Debian's chromium
(`apt-get install chromium`; HOCVU_CHROMIUM names another). Without --database a SQLite file
in a temporary folder is used; a PostgreSQL URL must name a throw-away database. The server is
gunicorn with 2 workers on loopback, the site as deployed (production settings, gzip on),
with the bundled course and one learner enrolled in it.

Adding a measurement: write `def measure_x(site: Site, browser) -> Sample` and add it to
MEASUREMENTS with its target; `site.context(browser, logged_in=True)` gives a throttled
context, already logged in as the learner, with an empty cache.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.scorm_commits import Server, _config  # noqa: E402

CHROMIUM = os.environ.get("HOCVU_CHROMIUM", "/usr/bin/chromium")
# The weak 3G profile. DevTools takes bytes per second.
DOWN_KBPS = 400
UP_KBPS = 400
LATENCY_MS = 400
USERNAME = "hv.yeu"
PASSWORD = "Hoc-vu-so-2026!"  # noqa: S105 - the benchmark learner's, in a throw-away database


@dataclass(frozen=True)
class Sample:
    """One page visit: milliseconds from the navigation's start, bytes and requests."""

    dom_content_loaded: float
    load: float
    bytes: int
    requests: int


@dataclass(frozen=True)
class Site:
    """The server under test."""

    url: str

    @contextmanager
    def context(self, browser, logged_in: bool = False) -> Iterator:
        """A new browser context at phone size (empty cache) with the network throttled; with
        `logged_in`, the learner's session cookie is set without loading any page."""
        context = browser.new_context(
            base_url=self.url, viewport={"width": 360, "height": 740}, locale="vi-VN"
        )
        try:
            if logged_in:
                _log_in(context)
            yield context
        finally:
            context.close()

    def visit(self, context, path: str) -> Sample:
        """Open `path` in a new throttled page and read its Navigation and Resource Timing."""
        page = context.new_page()
        cdp = context.new_cdp_session(page)
        cdp.send("Network.enable")
        cdp.send(
            "Network.emulateNetworkConditions",
            {
                "offline": False,
                "latency": LATENCY_MS,
                "downloadThroughput": DOWN_KBPS * 1000 / 8,
                "uploadThroughput": UP_KBPS * 1000 / 8,
            },
        )
        answer = page.goto(path, wait_until="load", timeout=60_000)
        # A page that is not the one asked for (an error, the login page) is not measured.
        if answer is None or answer.status != 200 or urlsplit(page.url).path != path:
            raise RuntimeError(f"{path}: got {answer and answer.status} at {page.url}")
        timing = page.evaluate(
            """() => {
              const nav = performance.getEntriesByType("navigation")[0];
              const resources = performance.getEntriesByType("resource");
              return {
                dcl: nav.domContentLoadedEventEnd,
                load: nav.loadEventEnd,
                bytes: nav.transferSize + resources.reduce((s, r) => s + r.transferSize, 0),
                requests: 1 + resources.length,
              };
            }"""
        )
        page.close()
        return Sample(timing["dcl"], timing["load"], timing["bytes"], timing["requests"])


def _log_in(context) -> None:
    """Log in through the login form's POST, outside any page (nothing is cached)."""
    form = context.request.get("/login").text()
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', form).group(1)
    answer = context.request.post(
        "/login",
        form={"username": USERNAME, "password": PASSWORD, "csrf_token": token},
        max_redirects=0,
    )
    if answer.status != 302:
        raise RuntimeError(f"login failed: {answer.status}")


# --- the measurements ----------------------------------------------------------------------


def measure_login(site: Site, browser) -> Sample:
    """The login page, first visit."""
    with site.context(browser) as context:
        return site.visit(context, "/login")


def measure_home(site: Site, browser) -> Sample:
    """The learner's home after logging in, empty cache."""
    with site.context(browser, logged_in=True) as context:
        return site.visit(context, "/")


# name: (function, target for load in ms, what it measures)
MEASUREMENTS: dict[str, tuple[Callable[[Site, object], Sample], float, str]] = {
    "login": (measure_login, 3000, "login page, first visit"),
    "home": (measure_home, 3000, "learner home after login, empty cache"),
}


# --- the server ----------------------------------------------------------------------------


def prepare(url: str, tmp: Path) -> None:
    """A migrated database with the bundled course and one learner enrolled in it."""
    from flask_migrate import upgrade

    from lms import create_app
    from lms.app.extensions import db
    from lms.app.storage import LocalStorage
    from lms.models import Course, OrgUnit, UnitKind, User
    from lms.services import catalog
    from lms.services.passwords import hash_password
    from lms.setup.library import install_library

    app = create_app(_config(url, tmp))
    with app.app_context():
        upgrade()
        install_library(db.session, LocalStorage(tmp / "files"))
        unit = OrgUnit(code="B", name="Công đoàn cơ sở", kind=UnitKind.GRASSROOTS, path="", depth=0)
        db.session.add(unit)
        db.session.flush()
        unit.path = f"/{unit.id}/"
        learner = User(
            username=USERNAME,
            full_name="Nguyễn Thị Yến",
            sort_name="yen",
            search_name="nguyen thi yen",
            password_hash=hash_password(PASSWORD),
            org_unit=unit,
            must_change_password=False,
            auth_epoch=0,
            is_active_account=True,
        )
        db.session.add(learner)
        db.session.flush()
        for course in db.session.scalars(db.select(Course)):
            catalog.enrol(db.session, learner, course)
        db.session.commit()


def main() -> None:
    """Serve the site, run the chosen measurements, print medians beside their targets."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--only", default=",".join(MEASUREMENTS), help="names, comma-separated")
    parser.add_argument("--database", help="a throw-away database URL (default: SQLite)")
    args = parser.parse_args()
    names = [n.strip() for n in args.only.split(",") if n.strip()]
    unknown = [n for n in names if n not in MEASUREMENTS]
    if unknown:
        sys.exit(f"unknown measurements: {', '.join(unknown)} (known: {', '.join(MEASUREMENTS)})")

    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        url = args.database or f"sqlite:///{tmp / 'bench.db'}"
        prepare(url, tmp)
        env = {**_config(url, tmp), "HOCVU_ACCESS_LOG": "false"}
        server = Server("lms:create_app()", env, 2)
        site = Site(f"http://127.0.0.1:{server.port}")
        print(
            f"Chromium throttled to {DOWN_KBPS} kbit/s down, {UP_KBPS} kbit/s up, "
            f"{LATENCY_MS} ms latency; median of {args.runs} runs, empty cache each run"
        )
        failed = []
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(
                    executable_path=CHROMIUM, headless=True, args=["--no-sandbox"]
                )
                measure_home(site, browser)  # warm the server (templates, first queries)
                for name in names:
                    measure, target, label = MEASUREMENTS[name]
                    samples = [measure(site, browser) for _ in range(args.runs)]
                    dcl = statistics.median(s.dom_content_loaded for s in samples)
                    load = statistics.median(s.load for s in samples)
                    ok = load <= target
                    failed += [] if ok else [name]
                    print(
                        f"{name:<8} {label}: DOMContentLoaded {dcl:,.0f} ms, "
                        f"load {load:,.0f} ms (target <= {target:,.0f} ms: "
                        f"{'met' if ok else 'NOT MET'}); "
                        f"{statistics.median(s.bytes for s in samples) / 1000:.1f} KB in "
                        f"{statistics.median(s.requests for s in samples):.0f} requests; "
                        f"runs (load): {', '.join(f'{s.load:,.0f}' for s in samples)}"
                    )
                browser.close()
        finally:
            server.stop()
        if failed:
            sys.exit(f"target not met: {', '.join(failed)}")


if __name__ == "__main__":
    main()
