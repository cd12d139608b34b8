"""SCORM packages live on their own origin (HOCVU_CONTENT_ORIGIN): the site never serves their
files, the content origin serves nothing else and never reads or sets the site's cookie, and a
file is reached only through a signed, launch-scoped link that expires and is revoked by a new
launch, by logging out and by the end of the login.

This is the separation RFC 6454 ("The Web Origin Concept", section 3: content from different
origins is isolated by the browser) and the HTML standard's iframe sandbox give; cookies are
shared between the ports of a host name but not between host names (RFC 6265, section 8.5), so
the content origin is another host name.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from lms.app.config import ConfigError, load_config
from lms.models import ScormPackage
from tests.conftest import CONTENT_ORIGIN, csrf_token
from tests.factories import PASSWORD
from tests.lms.test_scorm_tracking import enrolled, runtime, runtime_url, scorm_version


@pytest.fixture
def launched(client, login, make, session, app):
    """A learner logged in, who has launched the probe package: (its runtime, the package)."""
    learner = make.learner(make.unit(), username="hv.noi.dung")
    make.commit()
    version = enrolled(make, session, app.config["HOCVU_FILES_DIR"], learner)
    login("hv.noi.dung")
    rt = runtime(client, version)
    return rt, session.scalars(select(ScormPackage)).one(), version


def _path(url: str) -> str:
    return urlsplit(url).path


def test_a_launch_gets_links_on_the_content_origin(launched):
    rt, package, _ = launched
    assert rt["content_origin"] == CONTENT_ORIGIN
    assert rt["frame_url"].startswith(f"{CONTENT_ORIGIN}/frame/")
    assert rt["launch_url"].startswith(f"{CONTENT_ORIGIN}/pkg/")
    assert rt["launch_url"].endswith("/index.html")
    token = _path(rt["launch_url"]).split("/")[2]
    assert _path(rt["frame_url"]) == f"/frame/{token}"


def test_package_files_come_from_the_content_origin_only(client, app, launched):
    rt, package, _ = launched
    page = client.get(rt["launch_url"])
    assert page.status_code == 200
    assert page.mimetype == "text/html"
    assert b"probe.js" in page.data
    csp = page.headers["Content-Security-Policy"]
    # Framed by the API frame (content origin) inside the player page (the site) only; no
    # form may post to the site.
    assert "frame-ancestors http://content.localhost:5001 http://localhost" in csp
    assert "form-action 'self'" in csp
    assert "X-Frame-Options" not in page.headers
    assert page.headers["Referrer-Policy"] == "no-referrer"  # the link stays private
    assert "Set-Cookie" not in page.headers
    base = rt["launch_url"].rsplit("/", 1)[0]
    script = client.get(f"{base}/probe.js")
    assert script.mimetype == "text/javascript"
    ranged = client.get(f"{base}/probe.js", headers={"Range": "bytes=0-9"})
    assert ranged.status_code == 206 and len(ranged.data) == 10
    for bad in ("../../../etc/passwd", "..%2f..%2fetc/passwd", "nothing.html"):
        assert client.get(f"{base}/{bad}").status_code == 404

    # The same path on the site: nothing (the site never serves package files).
    assert client.get(_path(rt["launch_url"])).status_code == 404
    assert client.get(f"/player/packages/{package.id}/index.html").status_code == 404


def test_the_content_origin_serves_nothing_of_the_site(client, launched):
    rt, _, _ = launched
    lms_cookie = client.get_cookie("session").value
    site_paths = ("/", "/login", "/admin/users", "/admin/users/new", "/healthz", "/static/x.js")
    for path in site_paths:
        answer = client.get(f"{CONTENT_ORIGIN}{path}", headers={"Cookie": f"session={lms_cookie}"})
        assert answer.status_code == 404, path
        assert answer.mimetype == "text/plain"
        assert "Set-Cookie" not in answer.headers
    posted = client.post(f"{CONTENT_ORIGIN}/logout", headers={"Cookie": f"session={lms_cookie}"})
    assert posted.status_code == 404 and "Set-Cookie" not in posted.headers
    # The player's commit endpoint is not reachable there either.
    assert client.post(f"{CONTENT_ORIGIN}{rt['commit_url']}").status_code == 404


def test_the_site_cookie_is_neither_read_nor_set_on_the_content_origin(client, launched):
    rt, _, _ = launched
    with_cookie = client.get(
        rt["launch_url"], headers={"Cookie": f"session={client.get_cookie('session').value}"}
    )
    without = client.application.test_client().get(rt["launch_url"])
    assert with_cookie.status_code == without.status_code == 200
    assert "Set-Cookie" not in with_cookie.headers and "Set-Cookie" not in without.headers
    assert "Cache-Control" in without.headers and "no-store" not in without.headers["Cache-Control"]


def test_the_api_frame_accepts_only_the_site_that_made_the_link(client, launched):
    rt, _, _ = launched
    frame = client.get(rt["frame_url"])
    assert frame.status_code == 200
    html = frame.get_data(as_text=True)
    assert 'data-lms-origin="http://localhost"' in html
    scripts = re.findall(r'<script src="([^"]+)" defer>', html)
    assert [s.split("?")[0] for s in scripts] == [
        "/frame-assets/scorm-api.js",
        "/frame-assets/scorm-frame.js",
    ]
    csp = frame.headers["Content-Security-Policy"]
    assert "frame-ancestors http://localhost;" in csp
    assert "script-src 'self'" in csp and "default-src 'none'" in csp
    assert frame.headers["Cache-Control"] == "no-store"
    for script in scripts:
        answer = client.get(f"{CONTENT_ORIGIN}{script}")
        assert answer.status_code == 200 and answer.mimetype == "text/javascript"
    assert client.get(f"{CONTENT_ORIGIN}/frame-assets/hocvu.js").status_code == 404
    assert client.get(f"{CONTENT_ORIGIN}/frame-assets/scorm-player.js").status_code == 404


def test_a_forged_or_altered_link_opens_nothing(client, launched):
    rt, _, _ = launched
    token = _path(rt["launch_url"]).split("/")[2]
    payload, stamp, signature = token.split(".")
    for bad in (
        f"{payload}.{stamp}.{signature[:-2]}xx",
        f"{payload[:-2]}xx.{stamp}.{signature}",
        "nothing",
    ):
        answer = client.get(f"{CONTENT_ORIGIN}/pkg/{bad}/index.html")
        assert answer.status_code == 404
        assert "Liên kết tới bài học đã hết hạn" in answer.get_data(as_text=True)
        assert client.get(f"{CONTENT_ORIGIN}/frame/{bad}").status_code == 404


def test_a_link_expires(client, launched, monkeypatch):
    import itsdangerous.timed

    rt, _, _ = launched
    assert client.get(rt["launch_url"]).status_code == 200
    real = itsdangerous.timed.TimestampSigner.get_timestamp
    # HOCVU_CONTENT_LINK_MINUTES (240) and one second later.
    monkeypatch.setattr(
        itsdangerous.timed.TimestampSigner, "get_timestamp", lambda self: real(self) + 240 * 60 + 1
    )
    assert client.get(rt["launch_url"]).status_code == 404
    assert client.get(rt["frame_url"]).status_code == 404


def test_a_new_launch_and_logging_out_revoke_the_links(client, launched):
    rt, _, version = launched
    again = runtime(client, version)  # the same lesson opened again: another tab or phone
    assert client.get(rt["launch_url"]).status_code == 404
    assert client.get(rt["frame_url"]).status_code == 404
    assert client.get(again["launch_url"]).status_code == 200
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    assert client.get(again["launch_url"]).status_code == 404


def test_a_link_is_of_no_use_to_another_learners_package(client, app, make, session, launched):
    rt, package, _ = launched
    other = scorm_version(session, app.config["HOCVU_FILES_DIR"], "probe2004")
    other_package = session.scalars(select(ScormPackage).where(ScormPackage.id != package.id)).one()
    assert other.activities
    token = _path(rt["launch_url"]).split("/")[2]
    # The token names its package: the path cannot point it at another one's files.
    answer = client.get(f"{CONTENT_ORIGIN}/pkg/{token}/../../{other_package.files_path}/index.html")
    assert answer.status_code == 404


def test_starting_a_session_is_a_post_with_the_csrf_token(client, launched):
    _, _, version = launched
    url = runtime_url(version)
    assert client.get(url).status_code == 405
    refused = client.post(url, headers={"Accept": "application/json"})
    assert refused.status_code == 400
    assert refused.get_json()["error"] == "Biểu mẫu đã hết hạn"


def test_an_author_tries_a_package_with_a_link_that_records_nothing(
    client, login, make, session, app
):
    version = scorm_version(session, app.config["HOCVU_FILES_DIR"])
    make.user(None, username="tac.gia", roles=[(__import__("lms").models.Role.AUTHOR, None)])
    make.learner(make.unit(), username="hv.thu")
    make.commit()
    package = session.scalars(select(ScormPackage)).one()
    login("tac.gia")
    page = client.get(f"/author/packages/{package.id}/try/0").get_data(as_text=True)
    found = re.search(r'data-runtime="([^"]+)"', page)
    import html
    import json

    rt = json.loads(html.unescape(found[1]))
    assert "commit_url" not in rt and "state_id" not in rt
    assert rt["frame_url"].startswith(f"{CONTENT_ORIGIN}/frame/")
    assert client.get(rt["launch_url"]).status_code == 200
    assert client.get(rt["frame_url"]).status_code == 200
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    assert client.get(rt["launch_url"]).status_code == 404
    # A learner has no try page.
    login("hv.thu")
    assert client.get(f"/author/packages/{package.id}/try/0").status_code == 403
    assert version.activities


def test_the_player_frame_is_sandboxed_without_top_navigation(client, launched):
    _, _, version = launched
    activity = next(a for a in version.activities if a.kind == "scorm")
    page = client.get(f"/courses/{version.course.slug}/{activity.key}")
    html = page.get_data(as_text=True)
    sandbox = re.search(r'<iframe class="player-frame"[^>]* sandbox="([^"]+)"', html)[1]
    assert set(sandbox.split()) == {
        "allow-scripts",
        "allow-same-origin",
        "allow-forms",
        "allow-popups",
        "allow-downloads",
        "allow-modals",
    }
    assert "frame-src http://content.localhost:5001" in page.headers["Content-Security-Policy"]
    assert "scorm-api.js" not in html  # the API lives in the frame, not in the site's page


def test_the_site_under_the_content_host_name_sends_to_its_own_address(client, app):
    app.config["HOCVU_CONTENT_ORIGIN"] = "http://localhost:5001"
    answer = client.get("http://localhost:5000/login?next=/")
    assert answer.status_code == 302
    assert answer.location == "http://127.0.0.1:5000/login?next=/"


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"HOCVU_ENV": "production"}, "HOCVU_CONTENT_ORIGIN is not set"),
        (
            {"HOCVU_CONTENT_ORIGIN": "https://hoc.example.vn:8443"},
            "same host name as HOCVU_BASE_URL",
        ),
        ({"HOCVU_CONTENT_ORIGIN": "https://noidung.example.vn/pkg"}, "origin only"),
        ({"HOCVU_CONTENT_ORIGIN": "noidung.example.vn"}, "origin only"),
        (
            {"HOCVU_ENV": "production", "HOCVU_CONTENT_ORIGIN": "http://noidung.example.vn"},
            "must too",
        ),
    ],
)
def test_a_wrong_content_origin_is_refused_with_what_to_do(tmp_path, settings, message):
    config = {
        "HOCVU_SECRET_KEY": "k",
        "HOCVU_BASE_URL": "https://hoc.example.vn",
        "HOCVU_ENV": "development",
        **settings,
    }
    with pytest.raises(ConfigError, match=message):
        load_config(tmp_path, config, environ={})


def test_a_content_origin_is_written_as_an_origin(tmp_path):
    config = load_config(
        tmp_path,
        {
            "HOCVU_ENV": "production",
            "HOCVU_SECRET_KEY": "k",
            "HOCVU_BASE_URL": "https://hoc.example.vn",
            "HOCVU_CONTENT_ORIGIN": "https://NoiDung.Example.VN:443/",
        },
        environ={},
    )
    assert config["HOCVU_CONTENT_ORIGIN"] == "https://noidung.example.vn"


def test_the_login_password_is_never_sent_to_the_content_origin(client, make):
    """A login form posted to the content origin goes nowhere."""
    make.learner(make.unit(), username="hv.dang.nhap")
    make.commit()
    answer = client.post(
        f"{CONTENT_ORIGIN}/login", data={"username": "hv.dang.nhap", "password": PASSWORD}
    )
    assert answer.status_code == 404 and "Set-Cookie" not in answer.headers


def test_links_are_kept_out_of_the_access_log(client, launched, caplog):
    """A link is a capability: the log names the path without it (errors are logged, the
    many files of a lesson are counted in /metrics, not logged one by one)."""
    import logging

    rt, _, _ = launched
    token = _path(rt["launch_url"]).split("/")[2]
    caplog.set_level(logging.INFO, logger="lms.access")
    client.get(rt["launch_url"])
    client.get(rt["launch_url"].replace("index.html", "missing.html"))
    client.get(rt["frame_url"])
    lines = [r.getMessage() for r in caplog.records if r.name == "lms.access"]
    assert not [line for line in lines if token in line]
    assert "GET /pkg/<link>/missing.html 404" in " ".join(lines)
    assert not [line for line in lines if "index.html" in line]
    # The record's own path field (what HOCVU_LOG_FORMAT=json writes) is the same one.
    (missing,) = [r for r in caplog.records if r.name == "lms.access" and r.status == 404]
    assert missing.path == "/pkg/<link>/missing.html" and missing.method == "GET"


@pytest.mark.parametrize(
    ("request_base", "expected"),
    [
        # Behind nginx that ends TLS without X-Forwarded-Proto trusted: the page is https.
        ("http://hoc.example.vn", "https://hoc.example.vn"),
        ("https://hoc.example.vn", "https://hoc.example.vn"),
        # Another name, or another port, of the site: the request's own origin.
        ("http://hoc.example.vn:8080", "http://hoc.example.vn:8080"),
        ("http://other.example.vn", "http://other.example.vn"),
    ],
)
def test_the_frame_is_told_the_origin_of_the_page_the_learner_sees(app, request_base, expected):
    from lms.web import content

    app.config["HOCVU_BASE_URL"] = "https://hoc.example.vn"
    with app.test_request_context("/", base_url=request_base):
        assert content.site_origin() == expected
