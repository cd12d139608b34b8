"""The site's session cookie is signed again only when the session changed or the cookie is
five minutes old (lms.web.content.REFRESH_EVERY_SECONDS), not on every page as Flask does:
signing it was a tenth of a learner page's time (issue 24). What the cookie carries and how
long it lives for an active learner stay the same."""

from __future__ import annotations

import time

import pytest

from lms.web import content
from tests.conftest import csrf_token


@pytest.fixture
def learner(make, login):
    make.learner(make.unit(), username="hv.banh", full_name="Đỗ Thị Bánh")
    make.commit()
    login("hv.banh")


def later(monkeypatch, seconds: float) -> None:
    """The site's clock for cookies (lms.web.content) this many seconds ahead."""
    now = time.time()
    monkeypatch.setattr(content.time, "time", lambda: now + seconds)


def test_a_page_sends_an_unchanged_cookie_again_only_when_it_is_five_minutes_old(
    client, learner, monkeypatch
):
    csrf_token(client, "/")  # the session's CSRF secret made (a change: a new cookie)
    answer = client.get("/")
    assert answer.status_code == 200
    assert "Set-Cookie" not in answer.headers
    assert "Cookie" in answer.headers.get("Vary", "")
    later(monkeypatch, 299)
    assert "Set-Cookie" not in client.get("/").headers
    later(monkeypatch, 301)
    renewed = client.get("/")
    assert renewed.status_code == 200
    cookie = renewed.headers["Set-Cookie"]
    assert cookie.startswith("session=") and "Expires=" in cookie and "HttpOnly" in cookie


def test_a_changed_session_is_sent_at_once(client, learner):
    csrf_token(client, "/")
    before = client.get_cookie("session").value
    # Choosing a language is kept in the session (and a message is flashed).
    answer = client.post(
        "/language", data={"locale": "en", "next": "/", "csrf_token": csrf_token(client, "/")}
    )
    assert answer.status_code == 302
    assert "session=" in answer.headers["Set-Cookie"]
    assert client.get_cookie("session").value != before


def test_logging_out_still_clears_the_cookie_at_once(client, learner):
    token = csrf_token(client, "/")
    answer = client.post("/logout", data={"csrf_token": token})
    assert answer.status_code == 302
    assert "session=" in answer.headers["Set-Cookie"]
    after = client.get("/")
    assert after.status_code == 302 and after.location.startswith("/login")


def test_a_cookie_older_than_the_session_lifetime_is_refused_on_a_page(
    client, learner, monkeypatch
):
    """Not signed again for five minutes, the cookie still ends PERMANENT_SESSION_LIFETIME
    (12 h, HOCVU_SESSION_HOURS) after it was last signed."""
    assert client.get("/").status_code == 200
    later(monkeypatch, 12 * 3600 + 60)
    answer = client.get("/")
    assert answer.status_code == 302 and answer.location.startswith("/login")


def test_a_background_request_refused_for_want_of_a_login_writes_no_cookie(client, make):
    """A page's or the service worker's fetch (Sec-Fetch-Mode other than navigate, Fetch
    Metadata) that needs a login gets a 401 and no cookie: an anonymous cookie written for
    its flashed message would replace the login made meanwhile in the same browser (the
    offline flow's second learner found themselves logged out)."""
    make.learner(make.unit(), username="hv.nen")
    make.commit()
    for mode in ("cors", "same-origin", "no-cors"):
        answer = client.get("/", headers={"Sec-Fetch-Mode": mode})
        assert answer.status_code == 401
        assert answer.get_json() == {
            "error": "login",
            "message": "Vui lòng đăng nhập để xem trang này.",
        }
        assert "Set-Cookie" not in answer.headers
    # Navigating there still leads to the login page with the message.
    for headers in ({"Sec-Fetch-Mode": "navigate"}, {}):
        answer = client.get("/", headers=headers)
        assert answer.status_code == 302
        assert answer.headers["Location"].startswith("/login?next=")
        assert "Set-Cookie" in answer.headers
        page = client.get(answer.headers["Location"]).get_data(as_text=True)
        assert "Vui lòng đăng nhập để xem trang này." in page


def test_the_session_identifier_is_flask_logins_made_once_per_address_and_browser(app):
    """Session protection compares the request's identifier with the cookie's "_id" on every
    logged-in request; the kept one must be the one Flask-Login makes, for each address and
    User-Agent (behind a proxy, X-Forwarded-For's first address)."""
    from flask_login.utils import _create_identifier

    from lms.app.extensions import login_manager

    cases = [
        {"REMOTE_ADDR": "10.0.0.1", "HTTP_USER_AGENT": "Mozilla/5.0 (Android 12)"},
        {"REMOTE_ADDR": "10.0.0.1", "HTTP_USER_AGENT": "Mozilla/5.0 (Android 13)"},
        {"REMOTE_ADDR": "10.0.0.2", "HTTP_USER_AGENT": "Mozilla/5.0 (Android 12)"},
        {"REMOTE_ADDR": "10.0.0.2", "HTTP_X_FORWARDED_FOR": "1.2.3.4, 10.0.0.9"},
        {"REMOTE_ADDR": "10.0.0.2"},
    ]
    made = []
    for _ in range(2):  # the second time from the kept ones
        for environ in cases:
            with app.test_request_context(environ_base=environ):
                kept = login_manager._session_identifier_generator()
                assert kept == _create_identifier()
                made.append(kept)
    assert len(set(made)) == len(cases)


def test_pages_opened_at_once_after_a_login_share_the_token_it_made(app, client, make, login):
    """A login starts a fresh session with its CSRF token already in it. Without one, each
    request that follows at once (the page, its navigation preload, the service worker's)
    made a token of its own and set its cookie: the last answer's cookie won, and the form
    shown with another token "had expired" (the accounts flow's password change, once)."""
    make.learner(make.unit(), username="hv.moi", full_name="Lý Văn Mới", must_change_password=True)
    make.commit()
    login("hv.moi")
    after_login = client.get_cookie("session").value
    shown, other = app.test_client(), app.test_client()
    for browser_request in (shown, other):
        browser_request.set_cookie("session", after_login)
    token = csrf_token(shown, "/password")
    other.get("/password")  # answered last: its cookie is the one the browser keeps
    kept = app.test_client()
    kept.set_cookie("session", other.get_cookie("session").value)
    answer = kept.post(
        "/password",
        data={
            "csrf_token": token,
            "current_password": "mat-khau-1",
            "new_password": "ngắn",
            "confirm": "ngắn",
        },
    )
    assert answer.status_code == 200
    assert "Mật khẩu phải có ít nhất 8 ký tự." in answer.get_data(as_text=True)


@pytest.mark.parametrize(
    "header",
    [
        "session=abc.def-ghi_jkl",
        "lang=vi; session=abc.def; theme=dark",
        "session=first; session=second",  # the first one, as Werkzeug's MultiDict.get
        "sessionid=x; session=y",
        "a=1;session=tight;b=2",
        "session=",
        "other=1",
        "",
    ],
)
def test_the_session_cookie_is_read_from_its_header_as_werkzeug_reads_it(header):
    """RFC 6265 5.4: the Cookie header is name=value pairs separated by "; ". The session's
    cookie is read from it alone (lms.web.content.cookie_value), as Werkzeug's parse_cookie
    reads it for the unquoted values a signed session cookie has."""
    from werkzeug.http import parse_cookie

    from lms.web.content import cookie_value

    assert cookie_value(header, "session") == parse_cookie(header).get("session")
