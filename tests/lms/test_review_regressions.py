"""Cases found in review: error pages after a failed write, multi-scope admins, audit scope
after moves, language kept at login, throttling per address, absurd page numbers."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from lms.models import AuditEvent, Role, RoleAssignment
from lms.services import accounts, units
from lms.services.errors import DomainError
from tests.conftest import LoggedIn, csrf_token
from tests.factories import PASSWORD


@pytest.fixture
def admin(make):
    return make.site_admin(username="admin")


def test_conflict_page_is_vietnamese_for_a_logged_in_user(app, client, login, make, admin):
    @app.route("/__conflict")
    def conflict():
        from lms.app.extensions import db

        db.session.add(RoleAssignment(user_id=admin.id, role=Role.SITE_ADMIN))
        db.session.flush()  # violates the unique index on unscoped roles
        return "unreachable"

    make.commit()
    login("admin")
    response = client.get("/__conflict")
    assert response.status_code == 409
    assert "Xung đột dữ liệu" in response.get_data(as_text=True)


def test_server_error_page_is_vietnamese_and_rolls_back(app, client, login, make, admin):
    @app.route("/__boom")
    def boom():
        raise RuntimeError("boom")

    make.commit()
    login("admin")
    response = client.get("/__boom")
    assert response.status_code == 500
    page = response.get_data(as_text=True)
    assert "Đã xảy ra lỗi" in page and "RuntimeError" not in page


def test_unit_that_is_an_admin_scope_cannot_be_deleted(session, make, admin):
    unit = make.unit(code="SCOPE")
    make.user(make.unit(code="HOME"), roles=[(Role.UNIT_ADMIN, unit)])
    with pytest.raises(DomainError, match="unit administrator still manages"):
        units.delete_unit(session, admin, unit)


def test_editing_a_unit_admin_keeps_all_their_scopes(client, login, post, make, session, admin):
    a = make.unit(code="A", name="Đơn vị A")
    b = make.unit(code="B", name="Đơn vị B")
    boss = make.user(a, username="qt.ab", roles=[(Role.UNIT_ADMIN, a), (Role.UNIT_ADMIN, b)])
    make.commit()
    login("admin")
    page = client.get(f"/admin/users/{boss.id}/edit").get_data(as_text=True)
    assert page.count("selected") >= 3  # unit, and both managed units
    response = post(
        f"/admin/users/{boss.id}/edit",
        {
            "full_name": boss.full_name,
            "username": "qt.ab",
            "org_unit_id": str(a.id),
            "roles": ["unit_admin", "unit_admin"],
            "admin_unit_ids": [str(a.id), str(b.id), str(b.id)],
            "phone": "0912345678",
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    session.rollback()
    scopes = session.scalars(
        select(RoleAssignment.scope_unit_id).where(RoleAssignment.user_id == boss.id)
    ).all()
    assert sorted(scopes) == sorted([a.id, b.id])


def test_the_same_role_twice_is_stored_once(session, make, admin):
    user, _ = accounts.create_user(
        session,
        admin,
        username="hai.lan",
        data=accounts.AccountData(full_name="Hai Lần", org_unit=make.unit()),
        roles=[(Role.LEARNER, None), (Role.LEARNER, None)],
    )
    assert [r.role for r in user.roles] == [Role.LEARNER]


def test_audit_history_follows_a_moved_unit(client, session, make, admin):
    root = make.unit(code="R")
    a = make.unit(root, code="A")
    b = make.unit(root, code="B")
    child = make.unit(a, code="C")
    learner = make.learner(child, username="hv.di.chuyen", full_name="Người Đi Cùng Đơn Vị")
    make.unit_admin(a, username="qt.a")
    make.unit_admin(b, username="qt.b")
    accounts.reset_password(session, admin, learner)
    units.move_unit(session, admin, child, b)
    session.commit()
    events = session.scalars(select(AuditEvent).where(AuditEvent.target_type == "user")).all()
    assert all(e.unit_path.startswith(b.path) for e in events)
    for username, visible in (("qt.a", False), ("qt.b", True)):
        other = client.application.test_client()
        LoggedIn(other)(username)
        page = other.get("/admin/audit").get_data(as_text=True)
        assert ("Người Đi Cùng Đơn Vị" in page) is visible, username


def test_audit_history_follows_a_user_to_another_unit(session, make, admin):
    a, b = make.unit(code="A"), make.unit(code="B")
    learner = make.learner(a, full_name="Người Chuyển Đơn Vị")
    accounts.reset_password(session, admin, learner)
    accounts.update_user(
        session,
        admin,
        learner,
        data=accounts.AccountData(full_name=learner.full_name, org_unit=b),
        roles=[(Role.LEARNER, None)],
    )
    paths = session.scalars(select(AuditEvent.unit_path)).all()
    assert paths and all(p == b.path for p in paths)


def test_language_chosen_before_login_is_kept(client, make):
    make.learner(make.unit(), username="hv.en")
    make.commit()
    token = csrf_token(client, "/login")
    client.post("/language", data={"locale": "en", "next": "/login", "csrf_token": token})
    LoggedIn(client)("hv.en")
    assert "My courses" in client.get("/").get_data(as_text=True)


def test_failures_from_one_address_do_not_lock_the_account_elsewhere(app, make):
    make.learner(make.unit(), username="hv.bi.khoa")
    make.commit()
    attacker = app.test_client()
    attacker.environ_base["REMOTE_ADDR"] = "203.0.113.9"
    for _ in range(6):
        token = csrf_token(attacker, "/login")
        attacker.post(
            "/login", data={"username": "hv.bi.khoa", "password": "x", "csrf_token": token}
        )
    token = csrf_token(attacker, "/login")
    locked = attacker.post(
        "/login", data={"username": "hv.bi.khoa", "password": PASSWORD, "csrf_token": token}
    )
    assert locked.status_code == 429
    owner = app.test_client()
    owner.environ_base["REMOTE_ADDR"] = "198.51.100.7"
    LoggedIn(owner)("hv.bi.khoa")
    assert owner.get("/").status_code == 200


def test_absurd_page_numbers_do_not_crash(client, login, make, admin):
    make.commit()
    login("admin")
    for path in ("/admin/users?page=99999999999999999999", "/admin/audit?page=-5"):
        assert client.get(path).status_code == 200


def test_demo_data_is_refused_in_production(runner, app):
    app.config["HOCVU_ENV"] = "production"
    result = runner.invoke(args=["init", "--demo"])
    assert result.exit_code != 0 and "refused in production" in result.output
    assert not (__import__("pathlib").Path(app.instance_path) / "demo-credentials.txt").exists()


def test_validators_speak_vietnamese(client, login, post, make, admin):
    make.commit()
    login("admin")
    response = post("/admin/units/new", {"code": "X" * 41, "name": "Tên", "kind": "other"})
    assert "Tối đa 40 ký tự." in response.get_data(as_text=True)
    response = post(
        "/admin/users/new",
        {"full_name": "A", "username": "abc", "roles": ["bogus", "learner"]},
    )
    page = response.get_data(as_text=True)
    assert "Lựa chọn không hợp lệ." in page and "not a valid" not in page
