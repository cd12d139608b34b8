"""Benchmark: learning on a weak 3G connection from the service worker's cache (issue 23).

Targets (issue 23, "Speed and weight"), in Chromium with the network throttled by the
DevTools protocol (Network.emulateNetworkConditions: 400 kbit/s down, 400 kbit/s up, 400 ms
latency), applied to the page and to the service worker (which makes the page's requests):

- the next lesson shown from the cache in at most 1 s (measured with the connection cut, so
  that every lesson comes from the kept copy; also measured: network first on 3G, where the
  copy is shown if the network has not answered in 800 ms);
- the whole bundled course (9 lessons) downloaded for offline reading in at most 1.5 MB
  (bytes transferred, headers included).

    .venv/bin/python bench/offline_cache.py [--runs 5]

Each run: a fresh browser profile logs in as a learner of the bundled course "Chuyển đổi số
cơ bản" on a local server (the site and its content origin, as `hocvu run`), opens the course
page (which keeps the course for offline reading) and waits until it is kept: the bytes of
that download are counted from the protocol's loadingFinished events (encodedDataLength) of
the page and the service worker. Then it reads the lessons in order by their "next" link and
times each navigation (click to the next lesson's heading on screen), twice: on 3G (network
first; pages come by navigation preload, so the page's own throttling applies to them), and
with the connection cut (context.set_offline: the kept copy). A page answered by the kept
copy carries X-Hocvu-Kept (sw.js), which is counted. Medians over the runs are printed.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CHROMIUM = "/usr/bin/chromium"
# 400 kbit/s down and up, 400 ms latency (the weak 3G profile).
THROTTLE = {
    "offline": False,
    "latency": 400,
    "downloadThroughput": 400_000 / 8,
    "uploadThroughput": 400_000 / 8,
}
SLUG = "chuyen-doi-so-co-ban"


def prepare(tmp: Path):
    """An app on a fresh SQLite database with the bundled course and one enrolled learner."""
    from flask_migrate import upgrade

    from lms import create_app
    from lms.app.extensions import db
    from lms.app.storage import LocalStorage
    from lms.models import Course, utcnow
    from lms.services import catalog
    from lms.setup.library import install_library
    from tests.factories import Factories

    app = create_app(
        {
            "HOCVU_ENV": "development",
            "HOCVU_SECRET_KEY": "bench-offline-cache",
            "HOCVU_DATABASE_URL": f"sqlite:///{tmp / 'hocvu.db'}",
            "HOCVU_INSTANCE_PATH": str(tmp / "instance"),
            "HOCVU_FILES_DIR": str(tmp / "files"),
            "HOCVU_SESSION_COOKIE_SECURE": False,
            "HOCVU_LOG_LEVEL": "WARNING",
        }
    )
    with app.app_context():
        upgrade()
        install_library(db.session, LocalStorage(tmp / "files"))
        make = Factories(db.session)
        course = db.session.query(Course).filter_by(slug=SLUG).one()
        learner = make.learner(make.unit(), username="hv.bench")
        enrolment = catalog.enrol(db.session, learner, course)
        enrolment.enrolled_at = utcnow() - timedelta(days=1)
        db.session.commit()
    return app


def serve(app):
    from werkzeug.serving import make_server

    servers = [make_server("127.0.0.1", 0, app, threaded=True) for _ in range(2)]
    site, content = (s.server_port for s in servers)
    app.config["HOCVU_BASE_URL"] = f"http://127.0.0.1:{site}"
    app.config["HOCVU_CONTENT_ORIGIN"] = f"http://content.localhost:{content}"
    for server in servers:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    return servers, f"http://127.0.0.1:{site}"


class Throttled:
    """The weak-3G conditions on the page and on the service worker, and the bytes both
    receive (loadingFinished.encodedDataLength)."""

    def __init__(self, browser, context, page) -> None:
        self.bytes = 0
        self.page = context.new_cdp_session(page)
        self.page.send("Network.enable")
        self.page.send("Network.emulateNetworkConditions", THROTTLE)
        self.page.on("Network.loadingFinished", self._count)
        self.kept = 0  # navigations answered by the kept copy (X-Hocvu-Kept)
        self.page.on("Network.responseReceived", self._source)
        self.browser = browser.new_browser_cdp_session()
        self.worker: str | None = None
        self.ids = 100

    def _source(self, event) -> None:
        headers = {k.lower() for k in event["response"].get("headers", {})}
        if event.get("type") == "Document" and "x-hocvu-kept" in headers:
            self.kept += 1

    def _count(self, event) -> None:
        self.bytes += int(event.get("encodedDataLength", 0))

    def _on_message(self, event) -> None:
        message = json.loads(event["message"])
        if message.get("method") == "Network.loadingFinished":
            self._count(message["params"])

    def worker_too(self) -> None:
        """Attach to the site's service worker (once it runs) and throttle it too."""
        if self.worker:
            return
        targets = self.browser.send("Target.getTargets")["targetInfos"]
        worker = next(
            t for t in targets if t["type"] == "service_worker" and t["url"].endswith("/sw.js")
        )
        attached = self.browser.send(
            "Target.attachToTarget", {"targetId": worker["targetId"], "flatten": False}
        )
        self.worker = attached["sessionId"]
        self.browser.on("Target.receivedMessageFromTarget", self._on_message)
        self._to_worker("Network.enable", {})
        self._to_worker("Network.emulateNetworkConditions", THROTTLE)

    def cut(self) -> None:
        """No connection, for the page and the worker (these sessions' conditions would
        otherwise keep them on 3G beside Playwright's own offline switch)."""
        offline = {**THROTTLE, "offline": True}
        self.page.send("Network.emulateNetworkConditions", offline)
        self._to_worker("Network.emulateNetworkConditions", offline)

    def _to_worker(self, method: str, params: dict) -> None:
        self.ids += 1
        message = json.dumps({"id": self.ids, "method": method, "params": params})
        self.browser.send(
            "Target.sendMessageToTarget", {"sessionId": self.worker, "message": message}
        )


def one_run(browser, base: str) -> dict:
    from playwright.sync_api import expect

    context = browser.new_context(
        base_url=base, viewport={"width": 360, "height": 740}, service_workers="allow"
    )
    context.set_default_timeout(60_000)
    page = context.new_page()
    page.goto("/login")
    page.get_by_label("Tên đăng nhập").fill("hv.bench")
    page.get_by_label("Mật khẩu", exact=True).fill("mat-khau-1")
    page.get_by_role("button", name="Đăng nhập").click()
    page.wait_for_url(base + "/")
    page.evaluate("navigator.serviceWorker.ready.then(() => true)")
    throttled = Throttled(browser, context, page)
    throttled.worker_too()

    # The course page keeps the course: the bytes from its opening to "kept".
    throttled.bytes = 0
    started = time.perf_counter()
    page.goto(f"/courses/{SLUG}")
    box = page.locator("[data-offline-download]")
    expect(box).to_have_attribute("data-downloaded", "true", timeout=120_000)
    download_seconds = time.perf_counter() - started
    download_bytes = throttled.bytes
    announced = int(box.get_attribute("data-bytes"))

    def read_lessons() -> list[float]:
        times = []
        page.locator("ol.lessons a").first.click()
        page.locator("h1").wait_for()
        while True:
            following = page.locator("a[rel=next]")
            if not following.count():
                break
            title = following.inner_text().rstrip(" ›")
            if "kiểm tra" in title.lower():
                break
            started = time.perf_counter()
            following.click()
            expect(page.get_by_role("heading", name=title, exact=True)).to_be_visible()
            times.append(time.perf_counter() - started)
        return times

    page.goto(f"/courses/{SLUG}")
    throttled.kept = 0
    throttled_times = read_lessons()
    kept_copies = throttled.kept
    context.set_offline(True)
    throttled.cut()
    throttled.kept = 0
    page.goto(f"/courses/{SLUG}")
    cache_times = read_lessons()
    cache_copies = throttled.kept
    context.close()
    return {
        "download_bytes": download_bytes,
        "announced_bytes": announced,
        "download_seconds": download_seconds,
        "next_lesson_throttled": throttled_times,
        "kept_copies": kept_copies,
        "next_lesson_cache": cache_times,
        "cache_copies": cache_copies,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        app = prepare(Path(tmp))
        servers, base = serve(app)
        results = []
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-gpu"]
            )
            for run in range(args.runs):
                # A new learner session per run; the browser context is new each time.
                result = one_run(browser, base)
                results.append(result)
                print(
                    f"run {run + 1}: course kept {result['download_bytes'] / 1e6:.3f} MB "
                    f"in {result['download_seconds']:.1f} s (announced "
                    f"{result['announced_bytes'] / 1e6:.3f} MB); next lesson on 3G "
                    f"median {statistics.median(result['next_lesson_throttled']):.3f} s "
                    f"({result['kept_copies']} of {len(result['next_lesson_throttled'])} from "
                    f"the kept copy); from the kept copy, no connection, median "
                    f"{statistics.median(result['next_lesson_cache']):.3f} s, max "
                    f"{max(result['next_lesson_cache']):.3f} s ({result['cache_copies']} kept "
                    f"copies)",
                    flush=True,
                )
            browser.close()
        for server in servers:
            server.shutdown()

    def median(key):
        return statistics.median(r[key] for r in results)

    every = [t for r in results for t in r["next_lesson_throttled"]]
    cache = [t for r in results for t in r["next_lesson_cache"]]

    def p95(values):
        return sorted(values)[int(0.95 * (len(values) - 1))]

    print(f"\nmedians of {len(results)} runs (weak 3G: 400 kbit/s down and up, 400 ms latency)")
    print(
        f"course kept for offline: {median('download_bytes') / 1e6:.3f} MB transferred "
        f"(target <= 1.5 MB), {median('download_seconds'):.1f} s; the page announced "
        f"{median('announced_bytes') / 1e6:.3f} MB"
    )
    print(
        f"next lesson from the kept copy (no connection): median {statistics.median(cache):.3f} s, "
        f"95th percentile {p95(cache):.3f} s (target <= 1 s; {len(cache)} navigations)"
    )
    print(
        f"next lesson on 3G, network first (the copy after 800 ms): median "
        f"{statistics.median(every):.3f} s, 95th percentile {p95(every):.3f} s"
    )


if __name__ == "__main__":
    main()
