"""Login sessions live on the server: logging out ends them for every copy of the cookie, they
end after being idle and at an absolute lifetime however active they are, and a password
change, reset or deactivation ends the other ones.

OWASP Session Management Cheat Sheet: "Session Expiration" (idle and absolute timeouts, both
enforced on the server) and "Manual Session Expiration" (logout invalidates the session on the
server, not only in the browser)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from lms.models import LoginSession, utcnow
from tests.conftest import csrf_token
from tests.factories import PASSWORD
from tests.lms.test_scorm_tracking import enrolled, runtime, send


def _cookie(client) -> str:
    return client.get_cookie("session").value


def _with_cookie(app, value: str):
    other = app.test_client()
    other.set_cookie("session", value)
    return other


def test_logout_ends_the_session_for_a_copied_cookie(client, login, make, app, session):
    make.learner(make.unit(), username="hv.sao")
    make.commit()
    login("hv.sao")
    copied = _cookie(client)
    assert _with_cookie(app, copied).get("/").status_code == 200
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})

    stolen = _with_cookie(app, copied)
    response = stolen.get("/")
    assert response.status_code == 302 and response.location.startswith("/login")
    session.rollback()
    assert session.scalars(select(LoginSession)).one().revoked_at is not None


def test_logout_ends_the_commits_of_a_copied_cookie(client, login, make, app, session):
    learner = make.learner(make.unit(), username="hv.sen")
    make.commit()
    version = enrolled(make, session, app.config["HOCVU_FILES_DIR"], learner)
    login("hv.sen")
    token = csrf_token(client, "/")
    copied = _cookie(client)  # with its CSRF secret
    rt = runtime(client, version)
    assert send(client, rt, 1, [["cmi.core.lesson_location", "1"]], token=token).status_code == 200
    client.post("/logout", data={"csrf_token": token})

    stolen = _with_cookie(app, copied)
    refused = send(stolen, rt, 2, [["cmi.core.lesson_location", "2"]], token=token)
    assert refused.status_code == 401
    assert refused.get_json()["message"] == "Phiên đăng nhập đã hết. Hãy đăng nhập lại để lưu."


def test_a_session_ends_at_its_absolute_lifetime_however_active(client, login, make, app, session):
    make.learner(make.unit(), username="hv.suong")
    make.commit()
    login("hv.suong")
    session.rollback()
    row = session.scalars(select(LoginSession)).one()
    assert row.expires_at - row.created_at == timedelta(hours=24)
    # Busy until a minute before the end: every request renews the cookie, not the login.
    for _ in range(3):
        assert client.get("/").status_code == 200
    session.rollback()
    assert session.scalars(select(LoginSession)).one().expires_at == row.expires_at
    session.execute(update(LoginSession).values(expires_at=utcnow() - timedelta(seconds=1)))
    session.commit()
    response = client.get("/")
    assert response.status_code == 302 and response.location.startswith("/login")


def test_an_idle_session_ends_and_a_used_one_is_noted(client, login, make, app, session):
    make.learner(make.unit(), username="hv.suoi")
    make.commit()
    login("hv.suoi")
    # Used 6 minutes ago: the request notes it (at most every 5 minutes).
    before = utcnow() - timedelta(minutes=6)
    session.execute(update(LoginSession).values(last_seen_at=before))
    session.commit()
    assert client.get("/").status_code == 200
    session.rollback()
    seen = session.scalars(select(LoginSession)).one().last_seen_at
    assert seen > before + timedelta(minutes=5)
    # Idle for longer than HOCVU_SESSION_HOURS (12): over.
    session.execute(update(LoginSession).values(last_seen_at=utcnow() - timedelta(hours=13)))
    session.commit()
    assert client.get("/").status_code == 302


def test_session_lifetimes_follow_the_settings(client, login, make, app, session):
    app.config["HOCVU_SESSION_MAX_HOURS"] = 8
    make.learner(make.unit(), username="hv.song")
    make.commit()
    login("hv.song")
    session.rollback()
    row = session.scalars(select(LoginSession)).one()
    assert row.expires_at - row.created_at == timedelta(hours=8)


def test_a_password_change_ends_the_other_sessions_only(client, login, make, app, session):
    make.learner(make.unit(), username="hv.suong2")
    make.commit()
    other = app.test_client()
    login("hv.suong2")
    token = csrf_token(other, "/login")
    other.post("/login", data={"username": "hv.suong2", "password": PASSWORD, "csrf_token": token})
    assert other.get("/").status_code == 200
    token = csrf_token(client, "/password")
    done = client.post(
        "/password",
        data={
            "current_password": PASSWORD,
            "new_password": "mat-khau-moi-9",
            "confirm": "mat-khau-moi-9",
            "csrf_token": token,
        },
    )
    assert done.status_code == 302
    assert client.get("/").status_code == 200
    assert other.get("/").status_code == 302
    session.rollback()
    rows = session.scalars(select(LoginSession).order_by(LoginSession.id)).all()
    assert [r.revoked_at is None for r in rows] == [True, False]


def test_the_database_keeps_no_usable_session_key(client, login, make, session):
    make.learner(make.unit(), username="hv.ta")
    make.commit()
    login("hv.ta")
    session.rollback()
    row = session.scalars(select(LoginSession)).one()
    with client.session_transaction() as cookie:
        key = cookie["_hocvu_login"]
    assert key not in row.key_hash and len(row.key_hash) == 64


def test_the_cookie_s_account_comes_with_all_its_roles_and_keeps_what_a_page_changes(make, session):
    """The account is made from the login query's plain row (not loaded through the ORM): it
    holds each of its roles with their scope, and a change to it is written by the commit."""
    from lms.models import Role, RoleAssignment, User
    from lms.services.logins import SessionRules, load_session_user, start_login_session

    district = make.unit(name="Công đoàn huyện Tuy Phước")
    admin = make.unit_admin(district, username="qt.huyen")
    session.add(RoleAssignment(user=admin, role=Role.AUTHOR))
    session.flush()
    rules = SessionRules(idle=timedelta(hours=12), absolute=timedelta(hours=24))
    key = start_login_session(session, admin, rules)
    session.commit()
    admin_id, cookie_id, epoch = admin.id, admin.get_id(), admin.auth_epoch
    session.expunge_all()

    found = load_session_user(session, cookie_id, key, rules)
    assert found is not None and not found.stale
    user = found.user
    assert user.username == "qt.huyen" and user.is_active
    assert sorted(r.role for r in user.roles) == sorted([Role.UNIT_ADMIN, Role.AUTHOR])
    assert [u.name for u in user.admin_scopes()] == ["Công đoàn huyện Tuy Phước"]
    assert user.org_unit.name == "Công đoàn huyện Tuy Phước"
    user.data_saver = True
    session.commit()
    session.expunge_all()
    assert session.get(User, admin_id).data_saver is True
    # Another epoch (a password reset) or another key: no account.
    assert load_session_user(session, f"{admin_id}:{epoch + 1}", key, rules) is None
    assert load_session_user(session, cookie_id, key + "x", rules) is None
