"""Hocvu mounted into a host Flask application under a URL prefix."""

from __future__ import annotations

from flask import Flask

from lms import init_app
from tests.conftest import LoggedIn


def test_mount_under_prefix_keeps_host_routes(databases, tmp_path, make, session):
    make.site_admin(username="admin")
    make.commit()
    host = Flask("host", instance_path=str(tmp_path))

    @host.route("/")
    def host_home():
        return "trang chủ của ứng dụng chủ"

    init_app(
        host,
        url_prefix="/hocvu",
        config={
            "HOCVU_ENV": "testing",
            "HOCVU_SECRET_KEY": "k",
            "HOCVU_DATABASE_URL": session.get_bind().url.render_as_string(hide_password=False),
            "HOCVU_SESSION_COOKIE_SECURE": False,
            "HOCVU_CONTENT_ORIGIN": "http://content.localhost:5001",
        },
    )
    client = host.test_client()
    assert client.get("/").get_data(as_text=True) == "trang chủ của ứng dụng chủ"
    # Host pages get no Hocvu headers; Hocvu pages do.
    assert "Content-Security-Policy" not in client.get("/").headers
    login_page = client.get("/hocvu/login")
    assert login_page.status_code == 200
    assert "Content-Security-Policy" in login_page.headers
    page = login_page.get_data(as_text=True)
    assert 'href="/hocvu/static/css/hocvu.css?v=' in page
    assert client.get("/hocvu/static/css/hocvu.css").status_code == 200
    # Mounted too, versioned static files are kept for a year (issue 23).
    for path in ("css/hocvu.css", "js/hocvu.js"):
        versioned = page.split(f"/hocvu/static/{path}?v=")[1].split('"')[0]
        answer = client.get(f"/hocvu/static/{path}?v={versioned}")
        assert answer.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert client.get("/hocvu/").location.startswith("/hocvu/login")
    import re

    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    response = client.post(
        "/hocvu/login", data={"username": "admin", "password": "mat-khau-1", "csrf_token": token}
    )
    assert response.location == "/hocvu/"
    assert client.get("/hocvu/admin/").status_code == 200
    assert LoggedIn  # the same helper works for the standalone app
    # The content origin serves Hocvu's package pages only, none of the host's.
    assert client.get("http://content.localhost:5001/").status_code == 404


def test_a_mounted_hocvu_leaves_hsts_to_its_host(databases, tmp_path, session):
    # HSTS (RFC 6797) binds the whole host name, and with includeSubDomains the names under
    # it: the host application decides that, not a part of it mounted under /hocvu.
    host = Flask("host", instance_path=str(tmp_path))
    init_app(
        host,
        url_prefix="/hocvu",
        config={
            "HOCVU_ENV": "production",
            "HOCVU_SECRET_KEY": "k" * 40,
            "HOCVU_DATABASE_URL": session.get_bind().url.render_as_string(hide_password=False),
            "HOCVU_SESSION_COOKIE_SECURE": True,
            "HOCVU_BASE_URL": "https://hoc.example.vn",
            "HOCVU_CONTENT_ORIGIN": "https://content.localhost",
        },
    )
    login_page = host.test_client().get("/hocvu/login")
    assert login_page.status_code == 200 and "Content-Security-Policy" in login_page.headers
    assert "Strict-Transport-Security" not in login_page.headers
