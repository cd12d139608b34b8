"""The session cookie and the CSRF token on the commit endpoint, which every learner of a
batch calls every 30 s: the checks it skips the second time (a cookie and a token already
verified in this process) must refuse exactly what they refused before, and the cookie is
signed again only when it is five minutes old (lms/web/content.py, lms/web/player.py)."""

from __future__ import annotations

import time

import pytest

from lms.web import content
from tests.conftest import LoggedIn
from tests.lms.test_scorm_tracking import _token, enrolled, runtime, send

DATA = [["cmi.core.lesson_location", "trang-2"], ["cmi.core.lesson_status", "incomplete"]]


@pytest.fixture
def started(app, client, login, make, session):
    learner = make.learner(make.unit(), username="hv.cookie", full_name="Lê Thị Cúc")
    version = enrolled(make, session, app.config["HOCVU_FILES_DIR"], learner)
    login("hv.cookie")
    return runtime(client, version), _token(client)


def later(monkeypatch, seconds: float) -> None:
    """The site's clock for cookies (lms.web.content) this many seconds ahead."""
    now = time.time()
    monkeypatch.setattr(content.time, "time", lambda: now + seconds)


def test_a_commit_signs_the_cookie_again_only_when_it_is_five_minutes_old(
    client, started, monkeypatch
):
    """Flask re-signs a permanent session's cookie on every answer
    (SESSION_REFRESH_EACH_REQUEST); a commit does so only every 5 minutes, the interval at
    which the login session's last_seen_at is written: the cookie's lifetime (its Expires
    and its signed age, PERMANENT_SESSION_LIFETIME) still follows an active learner."""
    rt, token = started
    answer = send(client, rt, 1, DATA, token=token)
    assert answer.status_code == 200
    assert "Set-Cookie" not in answer.headers
    assert "Cookie" in answer.headers.get("Vary", "")
    later(monkeypatch, 301)
    answer = send(client, rt, 2, DATA, token=token)
    assert answer.status_code == 200
    assert "session=" in answer.headers["Set-Cookie"]


def test_a_remembered_cookie_still_expires(client, started, monkeypatch):
    """A cookie verified before is refused once older than PERMANENT_SESSION_LIFETIME (12 h
    by default, HOCVU_SESSION_HOURS), as itsdangerous refuses it: the learner is told to log
    in again."""
    rt, token = started
    assert send(client, rt, 1, DATA, token=token).status_code == 200
    later(monkeypatch, 12 * 3600 + 60)
    answer = send(client, rt, 2, DATA, token=token)
    assert answer.status_code == 401
    assert answer.get_json()["message"] == "Phiên đăng nhập đã hết. Hãy đăng nhập lại để lưu."


def test_a_tampered_cookie_is_refused_after_the_good_one_was_remembered(client, started):
    rt, token = started
    assert send(client, rt, 1, DATA, token=token).status_code == 200
    good = client.get_cookie("session").value
    client.set_cookie("session", good[:-2] + ("AA" if not good.endswith("AA") else "BB"))
    assert send(client, rt, 2, DATA, token=token).status_code == 401
    client.set_cookie("session", good)
    assert send(client, rt, 3, DATA, token=token).status_code == 200


def test_a_remembered_csrf_token_is_accepted_only_with_its_own_session(app, client, started, make):
    """The CSRF check (flask_wtf: the token's signature and the session's own token) gives
    the same answer the second time: a changed token, or a good token sent with another
    learner's session (her own SCO state, so only the token is wrong), is refused with 403."""
    rt, token = started
    assert send(client, rt, 1, DATA, token=token).status_code == 200
    assert send(client, rt, 2, DATA, token=token[:-2] + "xx").status_code == 403
    assert send(client, rt, 2, DATA, token=token).status_code == 200
    other = app.test_client()
    make.learner(make.unit(), username="hv.khac", full_name="Phạm Văn Khác")
    make.commit()
    LoggedIn(other)("hv.khac")
    assert send(other, rt, 3, DATA, token=token).status_code == 403
    assert send(other, rt, 3, DATA, token=_token(other)).status_code == 404  # not her state
