"""Logging in, the forced password change, throttling, CSRF, language and logout."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import func, select

from lms.models import LoginFailure, User, utcnow
from tests.conftest import LoggedIn, csrf_token
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


def test_failures_from_one_address_do_not_lock_the_account_elsewhere(app, make):
    """Failures count per account and address: guessing from one address locks the account
    there only, so nobody can lock a colleague out from elsewhere."""
    make.learner(make.unit(), username="hv.bi.khoa")
    make.commit()
    attacker = app.test_client()
    attacker.environ_base["REMOTE_ADDR"] = "203.0.113.9"
    for _ in range(6):
        _login(attacker, "hv.bi.khoa", "x")
    locked = _login(attacker, "hv.bi.khoa", PASSWORD)
    assert locked.status_code == 429
    owner = app.test_client()
    owner.environ_base["REMOTE_ADDR"] = "198.51.100.7"
    LoggedIn(owner)("hv.bi.khoa")
    assert owner.get("/").status_code == 200


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


def test_language_chosen_before_login_is_kept(client, make):
    """A language picked on the login page stays after logging in."""
    make.learner(make.unit(), username="hv.en")
    make.commit()
    token = csrf_token(client, "/login")
    client.post("/language", data={"locale": "en", "next": "/login", "csrf_token": token})
    LoggedIn(client)("hv.en")
    assert "My courses" in client.get("/").get_data(as_text=True)


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


def test_parallel_wrong_passwords_get_no_more_checks_than_the_limit(
    make, app, session, monkeypatch
):
    """14 wrong passwords and the right one sent at once: no more than 5 (the limit) reach the
    password check, the rest are refused, and the right one does not get in after them.

    OWASP Authentication Cheat Sheet, "Login Throttling": the count must hold for attempts
    made in parallel, or an attacker guesses at the speed of the server."""
    import threading

    import requests
    from werkzeug.serving import make_server

    from lms.services import logins

    make.learner(make.unit(), username="hv.song.song")
    make.commit()
    checks = []
    real_check = logins.password_matches

    def slow_check(stored, password, key):
        checks.append(password)
        threading.Event().wait(0.3)  # a slow check, as on a busy server
        return real_check(stored, password, key)

    monkeypatch.setattr(logins, "password_matches", slow_check)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_port}"
    try:
        browsers = []
        for _ in range(15):
            browser = requests.Session()
            page = browser.get(f"{base}/login").text
            token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)[1]
            browsers.append((browser, token))
        start = threading.Barrier(15)
        statuses: list[int] = []

        def attempt(index):
            browser, token = browsers[index]
            password = PASSWORD if index == 14 else f"doan-sai-{index}"
            start.wait()
            answer = browser.post(
                f"{base}/login",
                data={"username": "hv.song.song", "password": password, "csrf_token": token},
                allow_redirects=False,
                timeout=60,
            )
            statuses.append(answer.status_code)

        workers = [threading.Thread(target=attempt, args=(i,)) for i in range(15)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(60)
    finally:
        server.shutdown()
        thread.join(5)
    assert len(checks) <= 5
    assert statuses.count(429) >= 10
    session.rollback()
    failures = session.scalar(
        select(func.count()).select_from(LoginFailure).where(LoginFailure.key == "u:hv.song.song")
    )
    assert failures == len([c for c in checks if c != PASSWORD]) <= 5
    # Refused attempts tested nothing and are not held against the account; the ones that
    # were checked are, and once they reach the limit even the right password waits.
    after = _login(app.test_client(), "hv.song.song", PASSWORD).status_code
    assert after == (429 if failures == 5 else 302)


def test_every_login_path_costs_one_password_hash_check(make, app, session, monkeypatch):
    """An imported account that has not logged in yet is checked with a fast keyed hash; it
    must take as long to refuse as an unknown name or an account with its own password, or
    the time tells which names exist (OWASP Authentication Cheat Sheet, "Authentication
    Responses": response times must not reveal whether the account exists)."""
    from lms.services import passwords

    make.learner(make.unit(), username="hv.tu.dat")
    imported = make.learner(make.unit(), username="hv.moi.nhap")
    key = passwords.initial_password_key(app.config["SECRET_KEY"])
    imported.password_hash = passwords.hash_initial_password("Abcdefgh2345", key)
    make.learner(make.unit(), username="hv.da.khoa", active=False)
    make.commit()
    methods: list[str] = []
    real = passwords.memory_hard_check

    def counted(stored, password):
        methods.append(stored.split("$")[1])
        return real(stored, password)

    # The dummy check and the real one alike.
    monkeypatch.setattr(passwords, "memory_hard_check", counted)
    cases = {
        "unknown": ("khong.co.ai", "sai-mat-khau"),
        "own password, wrong": ("hv.tu.dat", "sai-mat-khau"),
        "imported, wrong": ("hv.moi.nhap", "sai-mat-khau"),
        "imported, right": ("hv.moi.nhap", "Abcdefgh2345"),
        "deactivated": ("hv.da.khoa", PASSWORD),
    }
    for case, (username, password) in cases.items():
        methods.clear()
        _login(app.test_client(), username, password)
        assert methods == ["argon2id"], case


def test_a_password_stored_with_scrypt_works_and_is_stored_again_with_argon2id(make, session, app):
    """Passwords chosen before the move to Argon2id (werkzeug scrypt hashes) still log in; the
    first login stores the password again with the current hash (OWASP Password Storage Cheat
    Sheet, "Upgrading legacy hashes": rehash when the user next logs in). A wrong password
    changes nothing."""
    from werkzeug.security import generate_password_hash

    user = make.learner(make.unit(), username="hv.cu")
    user.password_hash = old = generate_password_hash(PASSWORD, method="scrypt:1024:8:1")
    make.commit()
    assert _login(app.test_client(), "hv.cu", "sai-mat-khau").status_code == 401
    session.rollback()
    assert session.get(User, user.id).password_hash == old
    assert _login(app.test_client(), "hv.cu", PASSWORD).location == "/"
    session.rollback()
    stored = session.get(User, user.id).password_hash
    assert stored.startswith("$argon2id$") and "m=64,t=1,p=1" in stored
    assert _login(app.test_client(), "hv.cu", PASSWORD).location == "/"
    assert _login(app.test_client(), "hv.cu", "sai-mat-khau").status_code == 401


def test_an_argon2id_hash_of_a_lower_cost_is_stored_again_at_login(make, session, app):
    """A hash made before the cost was raised is stored again at the configured cost."""
    from argon2 import PasswordHasher

    user = make.learner(make.unit(), username="hv.re")
    weak = PasswordHasher(memory_cost=32, time_cost=1, parallelism=1).hash(PASSWORD)
    user.password_hash = weak
    make.commit()
    assert _login(app.test_client(), "hv.re", PASSWORD).location == "/"
    session.rollback()
    stored = session.get(User, user.id).password_hash
    assert stored != weak and "m=64,t=1,p=1" in stored


def test_the_production_cost_is_owasps_argon2id_recommendation():
    """OWASP Password Storage Cheat Sheet, "Argon2id": a minimum of 19 MiB of memory, 2
    iterations, 1 degree of parallelism (the tests run with a lower cost)."""
    import importlib

    from lms.services import passwords

    fresh = importlib.reload(passwords)
    try:
        assert fresh.PASSWORD_PARAMS == {"memory_cost": 19 * 1024, "time_cost": 2, "parallelism": 1}
        assert "$m=19456,t=2,p=1$" in fresh.hash_password("Hạ Long 2026")
    finally:
        importlib.reload(passwords)
