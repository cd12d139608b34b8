"""The union-unit tree: add, rename, move, delete-if-empty, through services and pages."""

from __future__ import annotations

import re
from contextlib import contextmanager

import pytest
from sqlalchemy import event, select

from lms.app.extensions import db
from lms.models import AuditEvent, OrgUnit, Role, UnitKind
from lms.services import units
from lms.services.errors import DomainError, Forbidden
from lms.services.scope import Scope
from tests.conftest import csrf_token


@pytest.fixture
def admin(make):
    return make.site_admin(username="admin")


def test_create_builds_paths_and_audits(session, admin):
    root = units.create_unit(
        session,
        admin,
        parent=None,
        code="ldld-qn",
        name="LĐLĐ tỉnh Quảng Ninh",
        kind=UnitKind.FEDERATION,
    )
    child = units.create_unit(session, admin, parent=root, code="CDN-THAN", name="CĐ ngành Than")
    assert root.code == "LDLD-QN"  # codes are upper-cased
    assert child.path == f"/{root.id}/{child.id}/" and child.depth == 1
    actions = session.scalars(select(AuditEvent.action)).all()
    assert actions == ["unit.create", "unit.create"]


def test_duplicate_sibling_code_is_refused_but_cousins_may_share(session, admin, make):
    root = make.unit(code="ROOT")
    a = units.create_unit(session, admin, parent=root, code="A", name="A")
    b = units.create_unit(session, admin, parent=root, code="B", name="B")
    with pytest.raises(DomainError) as error:
        units.create_unit(session, admin, parent=root, code="a", name="Khác")
    assert error.value.field == "code"
    units.create_unit(session, admin, parent=a, code="X", name="X dưới A")
    units.create_unit(session, admin, parent=b, code="X", name="X dưới B")


def test_add_tree_builds_many_paths_like_create_unit(session, admin, make):
    """An import adds a whole federation at once: the same paths, depths, kinds, audit and
    sibling-free codes (made from the names) as one create_unit per unit."""
    root = make.unit(code="ROOT")
    make.unit(root, code="LDLD-HUYEN-BA-CHE", name="Cũ")
    made = units.add_tree(
        session,
        admin,
        [
            (root, ("LĐLĐ huyện Ba Chẽ", "CĐCS Trường Tiểu học Đạp Thanh")),
            (root, ("LĐLĐ huyện Ba Chẽ", "CĐCS UBND xã Thanh Sơn")),
            (root, ("LDLD huyen Ba Che",)),
            (None, ("Công đoàn ngành Giáo dục",)),
        ],
    )
    district = made[(root.id, ("LĐLĐ huyện Ba Chẽ",))]
    school = made[(root.id, ("LĐLĐ huyện Ba Chẽ", "CĐCS Trường Tiểu học Đạp Thanh"))]
    twin = made[(root.id, ("LDLD huyen Ba Che",))]
    # the plain code is taken by a sibling already, and the two new ones must differ
    assert {district.code, twin.code} == {"LDLD-HUYEN-BA-CHE-2", "LDLD-HUYEN-BA-CHE-3"}
    assert district.kind == UnitKind.DISTRICT and school.kind == UnitKind.GRASSROOTS
    assert school.path == f"{district.path}{school.id}/" and school.depth == 2
    top = made[(0, ("Công đoàn ngành Giáo dục",))]
    assert top.path == f"/{top.id}/" and top.depth == 0 and top.kind == UnitKind.SECTOR
    assert len(made) == 5
    events = session.scalars(select(AuditEvent).where(AuditEvent.action == "unit.create")).all()
    assert {(e.target_id, e.unit_path) for e in events} == {(u.id, u.path) for u in made.values()}
    listed = {row.unit.id for row in units.unit_tree(session, Scope.of(admin))}
    assert set(made_ids := {u.id for u in made.values()}) <= listed, made_ids


def test_add_tree_keeps_the_scope_and_depth_rules(session, make, admin):
    root = make.unit(code="R")
    mine = make.unit(root, code="MINE")
    other = make.unit(root, code="OTHER")
    boss = make.unit_admin(mine)
    assert units.add_tree(session, boss, [(mine, ("Mới",))])
    with pytest.raises(Forbidden):
        units.add_tree(session, boss, [(other, ("Lạ",))])
    with pytest.raises(Forbidden):
        units.add_tree(session, boss, [(None, ("Trên cùng",))])
    with pytest.raises(DomainError, match="deeper"):
        units.add_tree(session, admin, [(root, tuple(f"Cấp {n}" for n in range(units.MAX_DEPTH)))])


def test_names_are_nfc_and_length_checked(session, admin):
    decomposed = "Công đoàn Hạ Long".replace("ạ", "a\u0323")
    unit = units.create_unit(session, admin, parent=None, code="HL", name=f"  {decomposed}  ")
    assert unit.name == "Công đoàn Hạ Long"
    with pytest.raises(DomainError) as error:
        units.create_unit(session, admin, parent=None, code="LONG", name="Đ" * 201)
    assert error.value.field == "name"
    with pytest.raises(DomainError):
        units.create_unit(session, admin, parent=None, code="có dấu", name="Tên")


def test_move_rewrites_the_whole_subtree(session, admin, make):
    root = make.unit(code="R")
    a = make.unit(root, code="A")
    b = make.unit(root, code="B")
    a1 = make.unit(a, code="A1")
    a11 = make.unit(a1, code="A11")
    units.move_unit(session, admin, a1, b)
    session.expire_all()
    assert a1.parent_id == b.id
    assert a1.path == f"/{root.id}/{b.id}/{a1.id}/" and a1.depth == 2
    assert a11.path == f"/{root.id}/{b.id}/{a1.id}/{a11.id}/" and a11.depth == 3
    assert a.path == f"/{root.id}/{a.id}/"


def test_move_under_own_descendant_is_refused(session, admin, make):
    root = make.unit(code="R")
    a = make.unit(root, code="A")
    a1 = make.unit(a, code="A1")
    for target in (a, a1):
        with pytest.raises(DomainError) as error:
            units.move_unit(session, admin, a, target)
        assert "under itself" in error.value.message
    session.expire_all()
    assert a.parent_id == root.id


def test_delete_only_when_empty(session, admin, make):
    root = make.unit(code="R")
    busy = make.unit(root, code="BUSY")
    make.learner(busy)
    parent = make.unit(root, code="PARENT")
    make.unit(parent, code="CHILD")
    empty = make.unit(root, code="EMPTY")
    with pytest.raises(DomainError, match="accounts"):
        units.delete_unit(session, admin, busy)
    with pytest.raises(DomainError, match="sub-units"):
        units.delete_unit(session, admin, parent)
    units.delete_unit(session, admin, empty)
    assert session.get(OrgUnit, empty.id) is None


def test_unit_that_is_an_admin_scope_cannot_be_deleted(session, make, admin):
    """A unit managed by a unit admin is refused with a message (deleting it failed with a 500)."""
    unit = make.unit(code="SCOPE")
    make.user(make.unit(code="HOME"), roles=[(Role.UNIT_ADMIN, unit)])
    with pytest.raises(DomainError, match="unit administrator still manages"):
        units.delete_unit(session, admin, unit)


def test_unit_admin_edits_only_inside_their_subtree(session, make):
    root = make.unit(code="R")
    mine = make.unit(root, code="MINE")
    inside = make.unit(mine, code="IN")
    other = make.unit(root, code="OTHER")
    boss = make.unit_admin(mine)
    units.create_unit(session, boss, parent=inside, code="NEW", name="Mới")
    units.update_unit(session, boss, inside, code="IN", name="Đổi tên", kind="grassroots")
    with pytest.raises(Forbidden):
        units.create_unit(session, boss, parent=other, code="X", name="X")
    with pytest.raises(Forbidden):
        units.create_unit(session, boss, parent=None, code="TOP", name="Top")
    with pytest.raises(Forbidden):  # the root of their own scope is the site admin's
        units.update_unit(session, boss, mine, code="MINE", name="Khác", kind="other")
    with pytest.raises(Forbidden):
        units.move_unit(session, boss, inside, other)
    with pytest.raises(Forbidden):
        units.delete_unit(session, boss, other)


def test_tree_lists_parents_before_children_with_counts(session, admin, make):
    root = make.unit(code="R", name="Tỉnh")
    b = make.unit(root, code="B", name="Bắc")
    a = make.unit(root, code="A", name="An")
    make.learner(a)
    make.learner(a)
    rows = units.unit_tree(session, units.Scope.of(admin))
    assert [(r.unit.name, r.level, r.user_count) for r in rows] == [
        ("Tỉnh", 0, 0),
        ("An", 1, 2),
        ("Bắc", 1, 0),
    ]
    assert b in [r.unit for r in rows]


# --- through the pages -------------------------------------------------------------------


def test_admin_builds_the_tree_in_pages(client, login, post, make, session, admin):
    make.commit()
    login("admin")
    response = post(
        "/admin/units/new",
        {"code": "LDLD-QN", "name": "Liên đoàn Lao động tỉnh Quảng Ninh", "kind": "federation"},
    )
    assert response.status_code == 302
    root = session.scalar(select(OrgUnit).where(OrgUnit.code == "LDLD-QN"))
    response = post(
        f"/admin/units/new?parent={root.id}",
        {"code": "CDN-THAN", "name": "Công đoàn ngành Than", "kind": "sector"},
    )
    assert response.status_code == 302
    page = client.get("/admin/units").get_data(as_text=True)
    assert "Liên đoàn Lao động tỉnh Quảng Ninh" in page and "Công đoàn ngành Than" in page
    assert "Đã thêm đơn vị Công đoàn ngành Than." in page

    session.rollback()
    child = session.scalar(select(OrgUnit).where(OrgUnit.code == "CDN-THAN"))
    renamed = post(
        f"/admin/units/{child.id}/edit",
        {"code": "CDN-THAN", "name": "Công đoàn Than – Khoáng sản", "kind": "sector"},
    )
    assert renamed.status_code == 302
    session.rollback()
    assert session.get(OrgUnit, child.id).name == "Công đoàn Than – Khoáng sản"

    deleted = post(f"/admin/units/{child.id}/delete", form_page="/admin/units")
    assert deleted.status_code == 302
    assert "Đã xóa đơn vị" in client.get("/admin/units").get_data(as_text=True)


def test_form_errors_show_next_to_the_field_in_vietnamese(client, login, post, make, admin):
    make.unit(code="DUP")
    make.commit()
    login("admin")
    empty = post("/admin/units/new", {"code": "", "name": "", "kind": "other"})
    page = empty.get_data(as_text=True)
    assert empty.status_code == 200
    assert page.count("Đây là trường bắt buộc.") == 2
    assert 'aria-invalid="true"' in page
    dup = post("/admin/units/new", {"code": "dup", "name": "Trùng mã", "kind": "other"})
    assert "Đã có một đơn vị cùng cấp mang mã DUP." in dup.get_data(as_text=True)
    long = post("/admin/units/new", {"code": "OK", "name": "x" * 201, "kind": "other"})
    assert "Tối đa 200 ký tự." in long.get_data(as_text=True)
    bad_kind = post("/admin/units/new", {"code": "OK", "name": "Tên", "kind": "bogus"})
    assert "Lựa chọn không hợp lệ." in bad_kind.get_data(as_text=True)


def test_move_page_refuses_a_descendant(client, login, post, make, session, admin):
    root = make.unit(code="R")
    a = make.unit(root, code="A", name="Đơn vị A")
    a1 = make.unit(a, code="A1")
    make.commit()
    login("admin")
    page = client.get(f"/admin/units/{a.id}/move").get_data(as_text=True)
    assert f'value="{a.id}"' not in page  # the unit itself is not offered
    response = post(f"/admin/units/{a.id}/move", {"parent_id": str(a1.id)})
    assert "Không thể chuyển một đơn vị vào chính nó" in response.get_data(as_text=True)
    session.rollback()
    assert session.get(OrgUnit, a.id).parent_id == root.id


def test_delete_of_a_non_empty_unit_explains_why(client, login, post, make, admin):
    unit = make.unit(code="FULL", name="Đơn vị đông")
    make.learner(unit)
    make.commit()
    login("admin")
    response = post(f"/admin/units/{unit.id}/delete", form_page="/admin/units")
    assert response.status_code == 302
    assert "Đơn vị này vẫn còn tài khoản" in client.get("/admin/units").get_data(as_text=True)


def test_empty_tree_has_an_empty_state(client, login, make, admin):
    make.commit()
    login("admin")
    assert "Chưa có đơn vị nào." in client.get("/admin/units").get_data(as_text=True)


# --- the unit menus of the admin pages ----------------------------------------------------

MENU = re.compile(r'<select id="unit" name="unit">(.*?)</select>', re.S)
OPTION = re.compile(r'<option value="(\d+)"( selected)?>([^<]*)</option>')


def _menu(client, path: str = "/admin/users") -> list[tuple[int, str]]:
    """The units the learner list's unit menu offers: (id, label as shown)."""
    page = client.get(path).get_data(as_text=True)
    return [(int(i), label) for i, _selected, label in OPTION.findall(MENU.search(page)[1])]


@contextmanager
def _statements(app):
    """The SQL statements run inside the block."""
    found: list[str] = []

    def note(_conn, _cursor, statement, *_args):
        found.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", note)
    try:
        yield found
    finally:
        event.remove(engine, "before_cursor_execute", note)


def _reads_the_units(statements: list[str]) -> bool:
    return any("org_unit.parent_id, org_unit.name" in s for s in statements)


def test_unit_menu_is_built_once_and_follows_every_change(
    app, client, login, post, make, session, admin
):
    """The menu of 2,000 units is kept between requests (issue 24), yet a unit added, renamed,
    moved or deleted shows at once, whichever way it was changed: a page, a service in
    another session, a bulk statement of an import."""
    root = make.unit(name="Liên đoàn Lao động tỉnh Quảng Ninh", code="QN")
    district = make.unit(root, name="LĐLĐ huyện Vân Đồn", code="VD")
    make.commit()
    login("admin")
    assert _menu(client) == [
        (root.id, "Liên đoàn Lao động tỉnh Quảng Ninh"),
        (district.id, "\u2003LĐLĐ huyện Vân Đồn"),
    ]
    with _statements(app) as statements:
        assert len(_menu(client)) == 2
    assert not _reads_the_units(statements)

    # Added through the page.
    added = post(
        f"/admin/units/new?parent={district.id}",
        {"code": "A", "name": "CĐCS Cảng Cái Rồng", "kind": "grassroots"},
    )
    assert added.status_code == 302
    session.rollback()
    added = session.scalar(select(OrgUnit).where(OrgUnit.code == "A"))
    assert (added.id, "\u2003\u2003CĐCS Cảng Cái Rồng") in _menu(client)
    # Renamed through the page.
    renamed = {"code": "A", "name": "CĐCS Cảng Vân Đồn", "kind": "other"}
    assert post(f"/admin/units/{added.id}/edit", renamed).status_code == 302
    labels = [label for _i, label in _menu(client)]
    assert (
        "\u2003\u2003CĐCS Cảng Vân Đồn" in labels and "\u2003\u2003CĐCS Cảng Cái Rồng" not in labels
    )
    # Moved through the page: one level up, under the province.
    assert post(f"/admin/units/{added.id}/move", {"parent_id": root.id}).status_code == 302
    assert (added.id, "\u2003CĐCS Cảng Vân Đồn") in _menu(client)
    # Renamed by another process (here the test's own session).
    session.rollback()
    session.get(OrgUnit, district.id).name = "LĐLĐ huyện Vân Đồn mới"
    session.commit()
    assert (district.id, "\u2003LĐLĐ huyện Vân Đồn mới") in _menu(client)
    # Added by an import's bulk statements.
    units.add_tree(session, session.get(type(admin), admin.id), [(root, ("CĐCS Bưu điện",))])
    session.commit()
    assert "\u2003CĐCS Bưu điện" in [label for _i, label in _menu(client)]
    # Deleted through the page.
    deleted = post(f"/admin/units/{added.id}/delete", form_page="/admin/units")
    assert deleted.status_code == 302
    assert added.id not in [i for i, _label in _menu(client)]


def test_unit_menus_are_kept_per_scope(app, client, login, make):
    """A unit admin's menu holds their subtree only, even right after a site admin's menu of
    every unit was built and kept (issue 24: scoped rights on every query)."""
    make.site_admin(username="admin")
    root = make.unit(name="Tỉnh")
    mine, other = make.unit(root, name="Huyện của tôi"), make.unit(root, name="Huyện khác")
    inside = make.unit(mine, name="CĐCS bên trong")
    make.unit_admin(mine, username="district")
    make.commit()
    login("admin")
    assert len(_menu(client)) == 4
    client.post("/logout", data={"csrf_token": csrf_token(client, "/admin/users")})
    login("district")
    assert _menu(client) == [(mine.id, "Huyện của tôi"), (inside.id, "\u2003CĐCS bên trong")]
    assert client.get(f"/admin/users?unit={other.id}").status_code == 404
    chosen = client.get(f"/admin/users?unit={inside.id}").get_data(as_text=True)
    assert f'<option value="{inside.id}" selected>' in chosen


def test_forms_offer_the_kept_unit_menu_with_their_values_chosen(client, login, make, session):
    """A form's unit field is rendered from the kept menu (issue 24), with the blank choice
    first and the account's unit, or every unit an admin manages, chosen."""
    make.site_admin(username="admin")
    root = make.unit(name="Tỉnh")
    first, second = make.unit(root, name="Huyện Một"), make.unit(root, name="Huyện Hai")
    admin = make.user(
        first, roles=[(Role.UNIT_ADMIN, first), (Role.UNIT_ADMIN, second)], username="hai.huyen"
    )
    make.commit()
    login("admin")
    page = client.get(f"/admin/users/{admin.id}/edit").get_data(as_text=True)
    unit_menu = re.search(
        r'<select id="org_unit_id" name="org_unit_id"[^>]*>(.*?)</select>', page, re.S
    )
    assert [(int(i), bool(s)) for i, s, _label in OPTION.findall(unit_menu[1])] == [
        (0, False),
        (root.id, False),
        (second.id, False),
        (first.id, True),
    ]
    managed = re.search(r'<select [^>]*name="admin_unit_ids"[^>]*>(.*?)</select>', page, re.S)
    assert "multiple" in managed[0].split(">")[0]
    chosen = {int(i) for i, s, _label in OPTION.findall(managed[1]) if s}
    assert chosen == {first.id, second.id}
