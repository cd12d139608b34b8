"""Accounts: create, edit (roles and managed units), reset password, deactivate; validation of
what admins type; the list's search and pages."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import event, select

from lms.app.extensions import db
from lms.models import AuditEvent, Cohort, Role, RoleAssignment, User
from lms.services import accounts, passwords
from lms.services.errors import DomainError
from tests.conftest import LoggedIn, csrf_token

CREATED_PASSWORD = re.compile(r'<dd class="mono big">([^<]+)</dd>')


@pytest.fixture
def admin(make):
    return make.site_admin(username="admin")


def _data(unit, name="Nguyễn Thị Hoa", **kwargs):
    return accounts.AccountData(full_name=name, org_unit=unit, **kwargs)


def test_create_user_stores_only_a_hash_and_normalises(session, make, admin):
    unit = make.unit()
    decomposed = "Nguye\u0302\u0303n Thi\u0323 Hoa"
    user, password = accounts.create_user(
        session,
        admin,
        username=" HV.Hoa ",
        data=_data(unit, decomposed, phone="+84 912 345 678"),
        roles=[(Role.LEARNER, None)],
    )
    assert user.username == "hv.hoa"
    assert user.full_name == "Nguyễn Thị Hoa"
    assert user.phone == "0912345678"
    assert user.must_change_password
    assert password not in user.password_hash
    assert user.password_hash.startswith("$argon2id$")
    assert passwords.password_matches(user.password_hash, password, None)
    assert len(password) == 10


def test_duplicate_username_is_refused(session, make, admin):
    unit = make.unit()
    make.learner(unit, username="hv.trung")
    with pytest.raises(DomainError) as error:
        accounts.create_user(
            session, admin, username="HV.TRUNG", data=_data(unit), roles=[(Role.LEARNER, None)]
        )
    assert error.value.field == "username"


@pytest.mark.parametrize(
    ("field", "kwargs"),
    [
        ("full_name", {"name": "A" * 121}),
        ("full_name", {"name": "   "}),
        ("phone", {"phone": "12345"}),
        ("email", {"email": "khong-phai-email"}),
    ],
)
def test_bad_details_are_refused_with_the_field_named(session, make, admin, field, kwargs):
    unit = make.unit()
    with pytest.raises(DomainError) as error:
        accounts.create_user(
            session,
            admin,
            username="hv.x",
            data=_data(unit, **kwargs),
            roles=[(Role.LEARNER, None)],
        )
    assert error.value.field == field


def test_username_with_diacritics_is_refused(session, make, admin):
    with pytest.raises(DomainError) as error:
        accounts.create_user(
            session,
            admin,
            username="nguyễn",
            data=_data(make.unit()),
            roles=[(Role.LEARNER, None)],
        )
    assert error.value.field == "username"


def test_learner_needs_a_unit_and_unit_admin_a_scope(session, admin):
    with pytest.raises(DomainError, match="belong to a unit"):
        accounts.create_user(
            session, admin, username="hv.y", data=_data(None), roles=[(Role.LEARNER, None)]
        )
    with pytest.raises(DomainError) as error:
        accounts.create_user(
            session, admin, username="qt.y", data=_data(None), roles=[(Role.UNIT_ADMIN, None)]
        )
    assert error.value.field == "admin_unit_ids"


def test_the_same_role_twice_is_stored_once(session, make, admin):
    user, _ = accounts.create_user(
        session,
        admin,
        username="hai.lan",
        data=_data(make.unit(), "Hai Lần"),
        roles=[(Role.LEARNER, None), (Role.LEARNER, None)],
    )
    assert [r.role for r in user.roles] == [Role.LEARNER]


def test_reset_password_logs_out_everywhere(session, make, admin, app):
    learner = make.learner(make.unit(), username="hv.reset")
    make.commit()
    other = app.test_client()
    LoggedIn(other)("hv.reset")
    assert other.get("/").status_code == 200
    password = accounts.reset_password(session, admin, learner)
    session.commit()
    assert other.get("/").status_code == 302  # the old cookie no longer works
    assert learner.must_change_password
    fresh = app.test_client()
    LoggedIn(fresh)("hv.reset", password)
    assert fresh.get("/").location == "/password"


def test_admin_creates_a_learner_and_sees_the_password_once(
    client, login, post, make, session, admin
):
    unit = make.unit(name="CĐCS Công ty Than Hà Lầm")
    make.commit()
    login("admin")
    response = post(
        "/admin/users/new",
        {
            "full_name": "Trần Văn Bình",
            "username": "hv.binh",
            "org_unit_id": str(unit.id),
            "roles": ["learner"],
            "phone": "0987 654 321",
            "email": "",
            "birth_date": "1990-05-17",
            "issued_at": "2026-11-23",
            "password": "",
        },
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Đã tạo tài khoản hv.binh." in page
    assert response.headers["Cache-Control"] == "no-store"
    password = CREATED_PASSWORD.search(page).group(1)
    session.rollback()
    user = session.scalar(select(User).where(User.username == "hv.binh"))
    assert user.phone == "0987654321" and str(user.issued_at) == "2026-11-23"
    assert passwords.password_matches(user.password_hash, password, None)
    record = client.get(f"/admin/users/{user.id}").get_data(as_text=True)
    assert password not in record
    assert "ngày 23 tháng 11 năm 2026" in record
    assert "Tạo tài khoản" in record  # the history

    learner_client = client.application.test_client()
    LoggedIn(learner_client)("hv.binh", password)
    assert learner_client.get("/").location == "/password"


def test_create_form_shows_errors_next_to_fields(client, login, post, make, admin):
    unit = make.unit()
    make.learner(unit, username="hv.trung")
    make.commit()
    login("admin")
    response = post(
        "/admin/users/new",
        {
            "full_name": "Đ" * 121,
            "username": "hv.trung",
            "org_unit_id": str(unit.id),
            "roles": ["learner"],
            "phone": "123",
            "email": "x@",
            "birth_date": "2026-02-30",
            "issued_at": "",
            "password": "",
        },
    )
    page = response.get_data(as_text=True)
    assert "Tối đa 120 ký tự." in page
    assert "Ngày không hợp lệ." in page
    fixed = post(
        "/admin/users/new",
        {
            "full_name": "Lê Văn Trung",
            "username": "hv.trung",
            "org_unit_id": str(unit.id),
            "roles": ["learner"],
            "phone": "",
            "email": "",
            "birth_date": "",
            "issued_at": "",
            "password": "",
        },
    )
    assert "Tên đăng nhập hv.trung đã được sử dụng." in fixed.get_data(as_text=True)
    no_role = post(
        "/admin/users/new",
        {
            "full_name": "Lê Văn Trung",
            "username": "hv.trung2",
            "org_unit_id": str(unit.id),
            "phone": "",
            "email": "",
            "birth_date": "",
            "issued_at": "",
            "password": "",
        },
    )
    assert "Hãy chọn ít nhất một vai trò." in no_role.get_data(as_text=True)


def test_admin_creates_an_author_and_a_unit_admin(client, login, post, make, session, admin):
    root = make.unit(code="ROOT")
    district = make.unit(root, code="HL", name="LĐLĐ thành phố Hạ Long")
    make.commit()
    login("admin")
    for username, roles, scope in [
        ("tacgia", ["author"], []),
        ("qt.hl", ["unit_admin"], [str(district.id)]),
    ]:
        response = post(
            "/admin/users/new",
            {
                "full_name": "Người Thứ Hai",
                "username": username,
                "org_unit_id": str(district.id),
                "roles": roles,
                "admin_unit_ids": scope,
                "phone": "",
                "email": "",
                "birth_date": "",
                "issued_at": "",
                "password": "",
            },
        )
        assert response.status_code == 200, response.get_data(as_text=True)
    session.rollback()
    author = session.scalar(select(User).where(User.username == "tacgia"))
    unit_admin = session.scalar(select(User).where(User.username == "qt.hl"))
    assert author.is_author and not author.is_admin
    assert unit_admin.admin_scopes() == [district]


def test_edit_account_changes_details_and_is_audited(client, login, post, make, session, admin):
    unit = make.unit()
    other_unit = make.unit()
    learner = make.learner(unit, username="hv.sua", full_name="Tên Cũ")
    make.commit()
    login("admin")
    response = post(
        f"/admin/users/{learner.id}/edit",
        {
            "full_name": "Tên Mới",
            "username": "hv.sua",
            "org_unit_id": str(other_unit.id),
            "roles": ["learner"],
            "phone": "",
            "email": "a@b.vn",
            "birth_date": "",
            "issued_at": "2026-11-01",
        },
    )
    assert response.status_code == 302
    session.rollback()
    user = session.get(User, learner.id)
    assert (user.full_name, user.org_unit_id, user.email) == ("Tên Mới", other_unit.id, "a@b.vn")
    event = session.scalars(select(AuditEvent).where(AuditEvent.action == "user.update")).one()
    assert event.details["full_name"] == ["Tên Cũ", "Tên Mới"]


def test_editing_a_unit_admin_keeps_all_their_scopes(client, login, post, make, session, admin):
    """The edit form shows every unit a unit admin manages, and saving it (even with a unit
    sent twice) keeps each of them once."""
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


def test_reset_password_page_shows_the_new_password(client, login, post, make, admin, session):
    learner = make.learner(make.unit(), username="hv.quen")
    make.commit()
    login("admin")
    response = post(
        f"/admin/users/{learner.id}/reset-password", form_page=f"/admin/users/{learner.id}"
    )
    page = response.get_data(as_text=True)
    assert "Đã đặt mật khẩu ban đầu mới cho hv.quen." in page
    password = CREATED_PASSWORD.search(page).group(1)
    session.rollback()
    assert passwords.password_matches(session.get(User, learner.id).password_hash, password, None)


def test_deactivate_and_reactivate(client, login, post, make, admin, app, session):
    learner = make.learner(make.unit(), username="hv.nghi")
    make.commit()
    learner_client = app.test_client()
    LoggedIn(learner_client)("hv.nghi")
    login("admin")
    response = post(f"/admin/users/{learner.id}/deactivate", form_page=f"/admin/users/{learner.id}")
    assert response.status_code == 302
    page = client.get(f"/admin/users/{learner.id}").get_data(as_text=True)
    assert "Đã khóa tài khoản hv.nghi." in page
    assert "Tài khoản này đã bị khóa từ" in page
    assert learner_client.get("/").status_code == 302  # logged out at once
    token = csrf_token(learner_client, "/login")
    refused = learner_client.post(
        "/login", data={"username": "hv.nghi", "password": "mat-khau-1", "csrf_token": token}
    )
    assert refused.status_code == 403
    post(f"/admin/users/{learner.id}/activate", form_page=f"/admin/users/{learner.id}")
    session.rollback()
    assert session.get(User, learner.id).is_active_account


def test_admin_cannot_deactivate_themselves(client, login, post, admin, make):
    make.commit()
    login("admin")
    post(f"/admin/users/{admin.id}/deactivate", form_page=f"/admin/users/{admin.id}")
    assert client.get("/admin/").status_code == 200


def test_users_list_search_filter_and_pagination(client, login, make, admin, app):
    app.config["HOCVU_PAGE_SIZE"] = 5
    unit = make.unit(name="Đơn vị lọc")
    for i in range(12):
        make.learner(unit, username=f"hv.so{i:02d}", full_name=f"Phạm Văn Số {i:02d}")
    make.learner(make.unit(), username="hv.khac", full_name="Đỗ Thị Khác")
    make.commit()
    login("admin")
    page1 = client.get(f"/admin/users?unit={unit.id}").get_data(as_text=True)
    assert "12 tài khoản" in page1 and "Trang 1 / 3" in page1
    rows = re.compile(r'href="/admin/users/\d+"')
    assert len(rows.findall(page1)) == 5
    page3 = client.get(f"/admin/users?unit={unit.id}&page=3").get_data(as_text=True)
    assert len(rows.findall(page3)) == 2
    found = client.get("/admin/users?q=ĐỖ THỊ").get_data(as_text=True)
    assert "Đỗ Thị Khác" in found and "Phạm Văn Số" not in found
    nothing = client.get("/admin/users?q=zzz").get_data(as_text=True)
    assert "Không có tài khoản nào phù hợp với bộ lọc." in nothing


def test_absurd_page_numbers_do_not_crash(client, login, make, admin):
    """Page numbers too large for the database or below 1 are brought into range."""
    make.commit()
    login("admin")
    for path in ("/admin/users?page=99999999999999999999", "/admin/audit?page=-5"):
        assert client.get(path).status_code == 200


def test_users_list_is_in_vietnamese_order_and_search_ignores_accents(client, login, make, admin):
    unit = make.unit()
    for name in ("Đỗ Thị Lan", "Nguyễn Văn An", "Hoàng Đức", "Bùi Thị Hoa"):
        make.learner(unit, full_name=name)
    make.commit()
    login("admin")
    page = client.get(f"/admin/users?unit={unit.id}").get_data(as_text=True)
    positions = [page.index(n) for n in ("Nguyễn Văn An", "Hoàng Đức", "Bùi Thị Hoa", "Đỗ Thị Lan")]
    assert positions == sorted(positions)
    found = client.get("/admin/users?q=do thi lan").get_data(as_text=True)
    assert "Đỗ Thị Lan" in found and "Bùi Thị Hoa" not in found


def _statements_of(app, client, path: str) -> tuple[list[str], str]:
    """The SQL statements a GET of `path` runs, and the page."""
    found = []

    def note(*_args):
        found.append(_args[2])

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", note)
    try:
        page = client.get(path).get_data(as_text=True)
    finally:
        event.remove(engine, "before_cursor_execute", note)
    return found, page


def test_learner_list_queries_do_not_grow_with_its_rows(client, login, make, admin, app):
    """The list shows each learner's unit and batch without a query per row (issue 24: a
    district's list ran one lazy load per unit on the page)."""
    root = make.unit(name="Tỉnh")
    few, many = make.unit(root, name="Huyện ít"), make.unit(root, name="Huyện nhiều")
    alone = make.unit(few, name="CĐCS số 0")
    make.learner(alone, full_name="Học viên Ít").cohort = Cohort(name="Đợt A", org_unit=alone)
    for i in range(12):
        unit = make.unit(many, name=f"CĐCS Nhiều {i:02d}")
        learner = make.learner(unit, full_name=f"Học viên Nhiều {i:02d}")
        learner.cohort = Cohort(name=f"Đợt {i:02d}", org_unit=unit)
    make.commit()
    login("admin")
    client.get("/admin/users")  # the unit menu is built once per process
    one, _page = _statements_of(app, client, f"/admin/users?unit={few.id}")
    twelve, page = _statements_of(app, client, f"/admin/users?unit={many.id}")
    assert "12 tài khoản" in page
    for i in range(12):
        assert f"CĐCS Nhiều {i:02d}" in page and f"Đợt {i:02d}" in page
    assert len(twelve) == len(one), "\n".join(twelve)
