"""deploy/nginx-hocvu.conf with a real nginx in front of Hocvu: static files with their year-long
cache, SCORM package files sent by nginx from the content origin's server after Hocvu's check
(X-Accel-Redirect) with the headers Hocvu gave, the internal location closed to the outside and
absent from the site's server, /metrics closed, request ids, HSTS on every answer."""

from __future__ import annotations

import os
import re
import socket
import threading
from http.cookiejar import DefaultCookiePolicy
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests
from sqlalchemy import select
from werkzeug.serving import make_server

import lms
from tests.deploy import NGINX, nginx_config, start_nginx
from tests.factories import PASSWORD
from tests.lms.test_scorm_tracking import enrolled, runtime_url

BEHIND_NGINX = {"HOCVU_ACCEL_REDIRECT_PREFIX": "/_hocvu_files", "HOCVU_TRUST_PROXY_HOPS": 1}
behind_nginx = pytest.mark.parametrize("app_config", [BEHIND_NGINX])
# RFC 6797 (HSTS); the shipped file's HTTPS server sends it on every answer.
HSTS = "max-age=31536000; includeSubDomains"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def site(app, tmp_path):
    """nginx (the shipped site configuration) in front of the test's app; its base URL."""
    if NGINX is None:
        if os.environ.get("HOCVU_REQUIRE_NGINX") == "1":
            pytest.fail("nginx is missing and HOCVU_REQUIRE_NGINX=1")
        pytest.skip("nginx is missing (apt-get install nginx-light): the nginx test is SKIPPED")
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    folder = tmp_path / "nginx"
    folder.mkdir()
    port = _free_port()
    conf = nginx_config(
        folder,
        port=port,
        upstream_port=server.server_port,
        files_dir=Path(app.config["HOCVU_FILES_DIR"]),
        static_dir=Path(lms.__file__).parent / "static",
    )
    nginx = start_nginx(conf, port)
    # The shipped file's two server names on one port: the site at 127.0.0.1, packages at
    # localhost (tests/deploy.py).
    app.config["HOCVU_BASE_URL"] = f"http://127.0.0.1:{port}"
    app.config["HOCVU_CONTENT_ORIGIN"] = f"http://localhost:{port}"
    yield f"http://127.0.0.1:{port}"
    nginx.terminate()
    nginx.wait(10)
    server.shutdown()
    thread.join(5)


def _log_in(base: str, username: str) -> requests.Session:
    browser = requests.Session()
    page = browser.get(f"{base}/login").text
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)[1]
    response = browser.post(
        f"{base}/login",
        data={"username": username, "password": PASSWORD, "csrf_token": token},
        allow_redirects=False,
    )
    assert response.status_code == 302, response.text[:500]
    return browser


@behind_nginx
def test_static_files_come_from_nginx_with_a_year_long_cache(site):
    browser = requests.Session()
    page = browser.get(f"{site}/login")
    assert page.status_code == 200
    assert re.fullmatch(r"[0-9a-f]{32}", page.headers["X-Request-ID"]), "nginx's $request_id"
    url = re.search(r'href="(/static/css/hocvu\.css\?v=[0-9a-f]+)"', page.text)[1]
    response = browser.get(site + url)
    assert response.status_code == 200
    assert response.content == (Path(lms.__file__).parent / "static/css/hocvu.css").read_bytes()
    assert response.headers["Content-Type"].startswith("text/css")
    assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"  # one
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "X-Request-ID" not in response.headers  # not from Hocvu
    assert page.headers["Strict-Transport-Security"] == HSTS
    assert response.headers["Strict-Transport-Security"] == HSTS  # in spite of /static/'s own


def _launch(browser: requests.Session, site: str, version) -> dict:
    """Start a SCO session as the player page does: a POST with the page's CSRF token."""
    token = re.search(r'name="csrf-token" content="([^"]+)"', browser.get(f"{site}/").text)[1]
    answer = browser.post(
        site + runtime_url(version), headers={"X-CSRFToken": token, "Accept": "application/json"}
    )
    assert answer.status_code == 200, answer.text[:500]
    return answer.json()


@behind_nginx
def test_package_files_are_sent_by_nginx_after_hocvus_check(app, site, make, session):
    from lms.models import ScormPackage

    learner = make.learner(make.unit(), username="hv.nginx")
    make.commit()
    version = enrolled(make, session, app.config["HOCVU_FILES_DIR"], learner)
    package = session.scalars(select(ScormPackage)).one()
    files = Path(app.config["HOCVU_FILES_DIR"]) / package.files_path
    browser = _log_in(site, "hv.nginx")
    rt = _launch(browser, site, version)
    content = site.replace("127.0.0.1", "localhost")
    assert rt["launch_url"].startswith(f"{content}/pkg/")
    base = rt["launch_url"].rsplit("/", 1)[0]

    page = requests.get(rt["launch_url"], timeout=10)  # no cookie: the link is enough
    assert page.status_code == 200
    assert page.content == (files / "index.html").read_bytes()
    assert page.headers["Content-Type"].startswith("text/html")
    assert page.headers["Content-Security-Policy"] == package_csp(content, site)
    assert page.headers["Referrer-Policy"] == "no-referrer"
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    assert page.headers["Cache-Control"] == "private, max-age=86400, immutable"
    assert page.headers["Strict-Transport-Security"] == HSTS
    assert "X-Accel-Redirect" not in page.headers and "Set-Cookie" not in page.headers

    script = requests.get(f"{base}/probe.js", headers={"Range": "bytes=0-9"}, timeout=10)
    assert script.status_code == 206
    assert script.content == (files / "probe.js").read_bytes()[:10]
    assert script.headers["Content-Type"].startswith("text/javascript")
    assert script.headers["Strict-Transport-Security"] == HSTS

    frame = requests.get(rt["frame_url"], timeout=10)
    assert frame.status_code == 200
    assert f"frame-ancestors {site};" in frame.headers["Content-Security-Policy"]

    # The internal location is not reachable from outside, on either name; nothing outside the
    # package; the site serves no package file and the content origin nothing of the site.
    for origin in (site, content):
        direct = requests.get(f"{origin}/_hocvu_files/{package.files_path}/index.html", timeout=10)
        assert direct.status_code == 404
    assert requests.get(f"{base}/../../../etc/passwd", timeout=10).status_code in (400, 404)
    assert browser.get(site + urlsplit(rt["launch_url"]).path).status_code == 404
    assert requests.get(f"{content}/login", timeout=10).status_code == 404
    assert browser.get(f"{site}/metrics").status_code == 404


def package_csp(content: str, site: str) -> str:
    return (
        "default-src 'self' 'unsafe-inline' 'unsafe-eval' data: blob:; "
        f"frame-ancestors {content} {site}; form-action 'self'; base-uri 'self'; "
        "object-src 'none'"
    )


@pytest.mark.parametrize(
    "app_config",
    [
        {
            **BEHIND_NGINX,
            "HOCVU_ENV": "production",
            "HOCVU_SESSION_COOKIE_SECURE": True,
            # made http://127.0.0.1:<port> and http://localhost:<port> by `site`
            "HOCVU_BASE_URL": "https://127.0.0.1",
            "HOCVU_CONTENT_ORIGIN": "https://localhost",
        }
    ],
)
def test_every_answer_carries_one_hsts_header(app, site, make, session, monkeypatch):
    # A production Hocvu sends HSTS itself; behind nginx the browser gets nginx's, once, on
    # pages, static files, package files, errors and the closed /metrics alike.
    from lms.models import ScormPackage

    # This nginx speaks plain http where the real one speaks TLS: the production session
    # cookie (Secure) travels over it as a browser sends it over https.
    monkeypatch.setattr(DefaultCookiePolicy, "return_ok_secure", lambda *_: True)

    learner = make.learner(make.unit(), username="hv.hsts")
    make.commit()
    version = enrolled(make, session, app.config["HOCVU_FILES_DIR"], learner)
    package = session.scalars(select(ScormPackage)).one()
    browser = _log_in(site, "hv.hsts")
    rt = _launch(browser, site, version)

    page = browser.get(f"{site}/")
    # The session cookie the browser holds (set by the login; an unchanged one is sent again
    # only every 5 minutes) is Secure.
    cookies = [c for c in browser.cookies if c.name == "session"]
    assert page.status_code == 200 and cookies and all(c.secure for c in cookies)
    url = re.search(r'href="(/static/css/hocvu\.css\?v=[0-9a-f]+)"', page.text)[1]
    answers = {
        "/": page,
        url: browser.get(site + url),
        "index.html": requests.get(rt["launch_url"], timeout=10),
        "frame": requests.get(rt["frame_url"], timeout=10),
        "/static/missing.css": browser.get(f"{site}/static/missing.css"),
        "/no-such-page": browser.get(f"{site}/no-such-page"),
        "/metrics": browser.get(f"{site}/metrics"),
    }
    for path, response in answers.items():
        assert response.raw.headers.getlist("Strict-Transport-Security") == [HSTS], path
    assert [r.status_code for r in answers.values()] == [200, 200, 200, 200, 404, 404, 404]
    assert package.files_path
