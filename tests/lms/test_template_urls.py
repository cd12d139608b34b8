"""The templates' url_for keeps the URLs it built (lms.web.urls): the same links as Flask
builds, each under its own script root, and a static file's new version at once in debug
mode."""

from __future__ import annotations

import re

import itsdangerous.timed
from flask import url_for

import lms.web.common

STYLESHEET = re.compile(r'href="([^"]*/static/css/hocvu\.css\?v=[0-9a-f]{12})"')


def test_the_layout_links_are_the_ones_flask_builds(app, client):
    page = client.get("/login").get_data(as_text=True)
    with app.test_request_context("/login"):
        expected = url_for("core.static", filename="css/hocvu.css")
        assert url_for("learn.index") in page
    assert STYLESHEET.search(page)[1] == expected
    # Again, from what was kept: the same page.
    assert client.get("/login").get_data(as_text=True).count(expected) == 1


def test_each_script_root_gets_its_own_urls(app, client):
    plain = STYLESHEET.search(client.get("/login").get_data(as_text=True))[1]
    behind = client.get("/login", base_url="http://localhost/hocvu").get_data(as_text=True)
    assert plain.startswith("/static/")
    assert STYLESHEET.search(behind)[1] == "/hocvu" + plain
    assert STYLESHEET.search(client.get("/login").get_data(as_text=True))[1] == plain


def test_in_debug_mode_an_edited_static_file_gets_its_new_version(
    app, client, tmp_path, monkeypatch
):
    (tmp_path / "css").mkdir()
    sheet = tmp_path / "css" / "hocvu.css"
    sheet.write_text("body { color: black }")
    monkeypatch.setattr(lms.web.common, "_STATIC_ROOT", tmp_path)
    monkeypatch.setattr(app, "debug", True)
    first = STYLESHEET.search(client.get("/login").get_data(as_text=True))[1]
    sheet.write_text("body { color: navy }")
    second = STYLESHEET.search(client.get("/login").get_data(as_text=True))[1]
    assert first != second


def test_in_production_a_url_is_built_once(app, client, monkeypatch):
    import lms.web

    client.get("/login")
    versions = []
    real = lms.web.static_version

    def counting(filename):
        versions.append(filename)
        return real(filename)

    # What Flask's url_for asks for each static URL (lms.web's URL defaults).
    monkeypatch.setattr(lms.web, "static_version", counting)
    page = client.get("/login").get_data(as_text=True)
    assert STYLESHEET.search(page)
    assert versions == []  # the layout's files: found, not built again
    monkeypatch.setattr(app, "debug", True)
    client.get("/login")
    assert "css/hocvu.css" in versions


TOKEN = re.compile(r'<meta name="csrf-token" content="([^"]+)"')


def test_a_session_s_page_token_is_signed_once_and_still_checked(
    app, client, login, make, monkeypatch
):
    """The templates' csrf_token() signs a session's token once per process (lms.web.urls):
    the next page shows the same signed token, which forms accept; another session's token
    is refused."""
    make.learner(make.unit(), username="hv.ma")
    make.learner(make.unit(), username="hv.khac")
    make.commit()
    login("hv.ma")
    client.get("/")  # the session's token made (a login starts a new session)
    first = TOKEN.search(client.get("/").get_data(as_text=True))[1]
    # Seconds later: Flask-WTF would sign it again with a new time.
    now = itsdangerous.timed.TimestampSigner.get_timestamp
    monkeypatch.setattr(
        itsdangerous.timed.TimestampSigner, "get_timestamp", lambda self: now(self) + 5
    )
    second = TOKEN.search(client.get("/").get_data(as_text=True))[1]
    monkeypatch.undo()  # the session cookies' clock (time.time) is not moved
    assert first == second
    answer = client.post("/language", data={"locale": "en", "next": "/", "csrf_token": second})
    assert answer.status_code == 302
    other = app.test_client()
    from tests.conftest import LoggedIn

    LoggedIn(other)("hv.khac")
    theirs = TOKEN.search(other.get("/").get_data(as_text=True))[1]
    assert theirs != first
    refused = other.post("/language", data={"locale": "en", "next": "/", "csrf_token": first})
    assert refused.status_code == 400


def test_with_a_time_limit_tokens_are_signed_on_each_page(app, client, login, make, monkeypatch):
    make.learner(make.unit(), username="hv.han")
    make.commit()
    login("hv.han")
    client.get("/")
    monkeypatch.setitem(app.config, "WTF_CSRF_TIME_LIMIT", 3600)
    now = itsdangerous.timed.TimestampSigner.get_timestamp
    first = TOKEN.search(client.get("/").get_data(as_text=True))[1]
    monkeypatch.setattr(
        itsdangerous.timed.TimestampSigner, "get_timestamp", lambda self: now(self) + 5
    )
    assert TOKEN.search(client.get("/").get_data(as_text=True))[1] != first


def test_equal_values_of_other_types_get_their_own_urls(app):
    """1 and True are equal dict keys, but not the same query string."""
    with app.test_request_context("/"):
        page = app.jinja_env.from_string(
            "{{ url_for('learn.index', confirm=1) }} {{ url_for('learn.index', confirm=True) }}"
        ).render()
    assert page == "/?confirm=1 /?confirm=True"


def test_a_checked_token_is_kept_but_still_only_good_for_its_own_session(
    app, client, login, make, monkeypatch
):
    """lms.app.csrf keeps a signed token's check for the process: the same token posted again
    is taken without Flask-WTF's check, and is still refused in another session, tampered
    with, or once the session's token is gone (a log-out)."""
    import flask_wtf.csrf

    import lms.app.csrf
    from tests.conftest import LoggedIn

    make.learner(make.unit(), username="hv.giu")
    make.learner(make.unit(), username="hv.lanhkhac")
    make.commit()
    login("hv.giu")
    token = TOKEN.search(client.get("/").get_data(as_text=True))[1]
    sent = {"locale": "en", "next": "/", "csrf_token": token}
    assert client.post("/language", data=sent).status_code == 302  # checked and kept
    checks = []
    real = flask_wtf.csrf.validate_csrf
    monkeypatch.setattr(lms.app.csrf, "validate_csrf", lambda *a: checks.append(a) or real(*a))
    assert client.post("/language", data=sent | {"locale": "vi"}).status_code == 302
    assert checks == []  # taken from what was kept
    other = app.test_client()
    LoggedIn(other)("hv.lanhkhac")
    other.get("/")
    assert other.post("/language", data=sent).status_code == 400  # not this session's
    tampered = sent | {"csrf_token": token[:-2] + ("AA" if token[-2:] != "AA" else "BB")}
    assert client.post("/language", data=tampered).status_code == 400
    assert client.post("/logout", data=sent).status_code == 302
    assert client.post("/language", data=sent).status_code == 400  # the session's token is gone
