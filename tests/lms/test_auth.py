"""Logging in, the forced password change, throttling, CSRF, language and logout."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from lms.models import LoginFailure, User, utcnow
from tests.conftest import csrf_token
from tests.factories import PASSWORD


def _login(client, username, password):
    token = csrf_token(client, "/login")
    return client.post(
        "/login", data={"username": username, "password": password, "csrf_token": token}
    )


def test_login_page_is_vietnamese_by_default(client):
    page = client.get("/login").get_data(as_text=True)
    assert '<html lang="vi">' in page
    assert "Đăng nhập" in page
    assert "Tên đăng nhập" in page


def test_home_requires_login(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response.location.startswith("/login")


def test_learner_logs_in_and_sees_home(client, make, session):
    unit = make.unit(name="CĐCS Công ty Than Hà Lầm")
    make.learner(unit, username="hv.an", full_name="Nguyễn Văn An")
    make.commit()
    response = _login(client, "hv.an", PASSWORD)
    assert response.status_code == 302 and response.location == "/"
    home = client.get("/").get_data(as_text=True)
    assert "Xin chào, Nguyễn Văn An" in home
    assert "CĐCS Công ty Than Hà Lầm" in home
    session.rollback()
    assert session.scalar(select(User.last_login_at).where(User.username == "hv.an"))


def test_username_is_case_and_space_insensitive(client, make):
    make.learner(make.unit(), username="hv.binh")
    make.commit()
    assert _login(client, "  HV.Binh ", PASSWORD).status_code == 302


def test_wrong_password_is_refused_with_one_message(client, make):
    make.learner(make.unit(), username="hv.cuong")
    make.commit()
    wrong = _login(client, "hv.cuong", "sai-mat-khau")
    unknown = _login(client, "khong.ton.tai", "sai-mat-khau")
    assert wrong.status_code == unknown.status_code == 401
    message = "Tên đăng nhập hoặc mật khẩu không đúng."
    assert message in wrong.get_data(as_text=True)
    assert message in unknown.get_data(as_text=True)


def test_first_login_forces_a_password_change(client, make, session):
    make.learner(make.unit(), username="hv.dung", must_change_password=True)
    make.commit()
    response = _login(client, "hv.dung", PASSWORD)
    assert response.location == "/password"
    # Every other page sends the learner back to the change form.
    assert client.get("/").location == "/password"
    page = client.get("/password").get_data(as_text=True)
    assert "hãy đặt mật khẩu của riêng bạn" in page

    token = csrf_token(client, "/password")
    short = client.post(
        "/password",
        data={
            "current_password": PASSWORD,
            "new_password": "ngan",
            "confirm": "ngan",
            "csrf_token": token,
        },
    )
    assert "Mật khẩu phải có ít nhất 8 ký tự." in short.get_data(as_text=True)
    same = client.post(
        "/password",
        data={
            "current_password": PASSWORD,
            "new_password": PASSWORD,
            "confirm": PASSWORD,
            "csrf_token": token,
        },
    )
    assert "Hãy chọn mật khẩu khác mật khẩu hiện tại." in same.get_data(as_text=True)
    mismatch = client.post(
        "/password",
        data={
            "current_password": PASSWORD,
            "new_password": "mat-khau-moi-1",
            "confirm": "mat-khau-moi-2",
            "csrf_token": token,
        },
    )
    assert "Hai mật khẩu mới không giống nhau." in mismatch.get_data(as_text=True)
    done = client.post(
        "/password",
        data={
            "current_password": PASSWORD,
            "new_password": "Hạ Long 2026",
            "confirm": "Hạ Long 2026",
            "csrf_token": token,
        },
    )
    assert done.status_code == 302 and done.location == "/"
    assert client.get("/").status_code == 200
    session.rollback()
    user = session.scalar(select(User).where(User.username == "hv.dung"))
    assert not user.must_change_password
    # The new password works, typed in either Unicode normal form.
    fresh = client.application.test_client()
    decomposed = "Ha\u0323 Long 2026"
    assert _login(fresh, "hv.dung", decomposed).status_code == 302


def test_wrong_password_twenty_times_locks_the_account_not_others(client, make, app, session):
    make.learner(make.unit(), username="hv.em")
    make.learner(make.unit(), username="hv.giang")
    make.commit()
    statuses = [_login(client, "hv.em", f"doan-sai-{i}").status_code for i in range(20)]
    assert statuses[:5] == [401] * 5
    assert set(statuses[5:]) == {429}
    # Even the right password is refused while locked, with a clear message.
    locked = _login(client, "hv.em", PASSWORD)
    assert locked.status_code == 429
    assert "Bạn đã nhập sai quá nhiều lần. Hãy thử lại sau 15 phút." in locked.get_data(
        as_text=True
    )
    # Another account from the same address is not locked.
    assert _login(app.test_client(), "hv.giang", PASSWORD).status_code == 302
    # Once the window has passed, the right password works again.
    session.rollback()
    for failure in session.scalars(select(LoginFailure)):
        failure.at = utcnow() - timedelta(minutes=16)
    session.commit()
    assert _login(client, "hv.em", PASSWORD).status_code == 302


def test_many_failures_from_one_ip_block_that_ip(client, make, app):
    make.learner(make.unit(), username="hv.hoa")
    make.commit()
    app.config["HOCVU_LOGIN_MAX_FAILURES_PER_IP"] = 6
    for i in range(6):
        assert _login(client, f"khach{i}", "sai").status_code == 401
    assert _login(client, "hv.hoa", PASSWORD).status_code == 429


def test_deactivated_account_cannot_log_in(client, make):
    make.learner(make.unit(), username="hv.khanh", active=False)
    make.commit()
    response = _login(client, "hv.khanh", PASSWORD)
    assert response.status_code == 403
    assert "Tài khoản này đã bị khóa" in response.get_data(as_text=True)


def test_forged_csrf_token_is_refused(client, make):
    make.learner(make.unit(), username="hv.lan")
    make.commit()
    response = client.post(
        "/login", data={"username": "hv.lan", "password": PASSWORD, "csrf_token": "forged"}
    )
    assert response.status_code == 400
    assert "Biểu mẫu đã hết hạn" in response.get_data(as_text=True)
    missing = client.post("/login", data={"username": "hv.lan", "password": PASSWORD})
    assert missing.status_code == 400
    assert client.get("/").status_code == 302  # still logged out


def test_logout_is_a_post_and_ends_the_session(client, login, make):
    make.learner(make.unit(), username="hv.minh")
    make.commit()
    login("hv.minh")
    assert client.get("/logout").status_code == 405
    token = csrf_token(client, "/")
    response = client.post("/logout", data={"csrf_token": token})
    assert response.location == "/login"
    assert client.get("/").status_code == 302
    assert "Bạn đã đăng xuất." in client.get("/login").get_data(as_text=True)


def test_language_switch_to_english_is_remembered_on_the_account(client, login, make, session):
    make.learner(make.unit(), username="hv.nam")
    make.commit()
    login("hv.nam")
    token = csrf_token(client, "/")
    response = client.post("/language", data={"locale": "en", "next": "/", "csrf_token": token})
    assert response.location == "/"
    page = client.get("/").get_data(as_text=True)
    assert '<html lang="en">' in page and "My courses" in page
    session.rollback()
    assert session.scalar(select(User.locale).where(User.username == "hv.nam")) == "en"
    # A new session of the same account comes back in English.
    other = client.application.test_client()
    type(login)(other)("hv.nam")
    assert "My courses" in other.get("/").get_data(as_text=True)


def test_language_switch_refuses_foreign_redirects(client):
    token = csrf_token(client, "/login")
    response = client.post(
        "/language", data={"locale": "en", "next": "https://evil.example/", "csrf_token": token}
    )
    assert response.location == "/"
    assert "Log in" in client.get("/login").get_data(as_text=True)


def test_login_next_parameter_stays_on_site(client, make):
    make.learner(make.unit(), username="hv.oanh")
    make.commit()
    token = csrf_token(client, "/login")
    response = client.post(
        "/login?next=//evil.example/x",
        data={"username": "hv.oanh", "password": PASSWORD, "csrf_token": token},
    )
    assert response.location == "/"


def test_security_headers(client):
    response = client.get("/login")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    cookie = response.headers.get("Set-Cookie", "")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_pages_have_no_inline_script_or_style(client, login, make):
    admin = make.site_admin(username="admin")
    make.commit()
    login(admin.username)
    for path in [
        "/",
        "/admin/",
        "/admin/units",
        "/admin/users",
        "/admin/users/new",
        "/admin/audit",
    ]:
        page = client.get(path).get_data(as_text=True)
        assert "<script>" not in page and " style=" not in page, path
        assert "http://" not in page.replace("http://localhost", ""), path
