"""Browser fixtures: a live Hocvu server in a thread and Debian's headless Chromium."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Error as PlaywrightError
from werkzeug.serving import make_server

CHROMIUM = Path(os.environ.get("HOCVU_CHROMIUM", "/usr/bin/chromium"))
REQUIRED = os.environ.get("HOCVU_REQUIRE_BROWSER") == "1"


def pytest_collection_modifyitems(config, items):
    """Mark every test here as a browser test; skip them loudly when Chromium is missing."""
    for item in items:
        if "tests/browser" in str(item.fspath):
            item.add_marker(pytest.mark.browser)
            if not CHROMIUM.exists() and not REQUIRED:
                item.add_marker(
                    pytest.mark.skip(
                        reason=f"BROWSER TESTS SKIPPED: {CHROMIUM} is missing "
                        "(apt-get install chromium; HOCVU_REQUIRE_BROWSER=1 makes this fail)"
                    )
                )


@pytest.fixture
def live_server(app) -> Iterator[str]:
    """Serve the test's app on two free loopback ports, as `hocvu run` does: the site at
    127.0.0.1, the content origin (packages) at content.localhost; yield the site's URL."""
    servers = [make_server("127.0.0.1", 0, app, threaded=True) for _ in range(2)]
    site, content = (s.server_port for s in servers)
    app.config["HOCVU_BASE_URL"] = f"http://127.0.0.1:{site}"
    app.config["HOCVU_CONTENT_ORIGIN"] = f"http://content.localhost:{content}"
    threads = [threading.Thread(target=s.serve_forever, daemon=True) for s in servers]
    for thread in threads:
        thread.start()
    yield f"http://127.0.0.1:{site}"
    for server, thread in zip(servers, threads, strict=True):
        server.shutdown()
        thread.join(5)


@pytest.fixture(scope="session")
def browser():
    """One headless Chromium for the run."""
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing and HOCVU_REQUIRE_BROWSER=1")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, live_server):
    """A fresh browser context at phone size; `page.goto('/path')` is relative to the server."""
    context = browser.new_context(
        base_url=live_server, viewport={"width": 360, "height": 740}, locale="vi-VN"
    )
    context.set_default_timeout(10_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.console_errors = errors
    yield page
    # Chromium may never close a page whose navigation is being committed (Playwright issue
    # 42366), and the player navigates by itself after a SCO ends: leave for a blank page
    # first (again if a late navigation interrupts it).
    for _ in range(3):
        try:
            page.goto("about:blank", timeout=5_000)
            break
        except PlaywrightError:
            continue
    context.close()
