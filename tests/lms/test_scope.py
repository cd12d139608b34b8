"""A unit admin sees and changes only their own subtree, on every admin endpoint; the audit
history of a record moved to another unit follows it."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from lms.models import AuditEvent, Role, User
from lms.services import accounts, units
from lms.services.errors import Forbidden
from tests.conftest import LoggedIn


@pytest.fixture
def world(make, app):
    """Two districts of one province; the unit admin manages only Hạ Long."""
    root = make.unit(code="QN", name="LĐLĐ tỉnh Quảng Ninh")
    mine = make.unit(root, code="HL", name="LĐLĐ thành phố Hạ Long")
    mine_child = make.unit(mine, code="HL-1", name="CĐCS Trường THPT Hòn Gai")
    other = make.unit(root, code="CP", name="LĐLĐ thành phố Cẩm Phả")
    other_child = make.unit(other, code="CP-1", name="CĐCS Bệnh viện Cẩm Phả BÍ MẬT")
    boss = make.unit_admin(mine, username="qt.halong")
    inside = make.learner(mine_child, username="hv.trong", full_name="Người Trong Phạm Vi")
    outside = make.learner(other_child, username="hv.ngoai", full_name="Người Ngoài Phạm Vi")
    site_admin_inside = make.user(mine_child, username="sa.trong", roles=[(Role.SITE_ADMIN, None)])
    from lms.models import Cohort

    other_cohort = Cohort(name="Đợt BÍ MẬT", org_unit=other)
    make.session.add(other_cohort)
    from lms.models import Certificate

    version = make.course(app.config["HOCVU_FILES_DIR"])
    enrolment = make.enrol(outside, version)
    other_certificate = Certificate(
        serial="AAAA-BBBB-CCCC",
        enrolment_id=enrolment.id,
        user_id=outside.id,
        course_id=version.course_id,
        learner_name=outside.full_name,
        course_title="x",
        sha256="0" * 64,
        files_path="certificates/none.pdf",
    )
    make.session.add(other_certificate)
    from lms.models import AttemptStatus, TestAttempt

    test_activity = next(a for a in version.activities if a.kind == "test")
    from lms.models import Job, JobStatus

    other_job = Job(
        task="certificates.zip", args={}, status=JobStatus.DONE, created_by_id=outside.id, done=0
    )
    make.session.add(other_job)
    make.session.add(
        TestAttempt(
            enrolment_id=enrolment.id,
            activity_id=test_activity.id,
            number=1,
            status=AttemptStatus.GRADED,
            draw=[],
            answers={},
            score=9.5,
            passed=True,
        )
    )
    from lms.app.storage import LocalStorage
    from lms.services import catalog, tracking
    from tests.lms.test_scorm_tracking import package_bytes

    scorm_version = catalog.scorm_course(
        make.session, None, package_bytes("probe12"), LocalStorage(app.config["HOCVU_FILES_DIR"])
    )
    catalog.publish(make.session, None, scorm_version)
    other_state = tracking.state_for(
        make.session,
        make.enrol(outside, scorm_version),
        scorm_version.activities[0],
        scorm_version.activities[0].content["scos"][0],
    )
    from datetime import timedelta

    from lms.models import utcnow
    from lms.services import classes
    from lms.services.scope import Scope

    site = make.site_admin(username="sa.lop")
    other_class = classes.save_class(
        make.session,
        Scope.of(site),
        site,
        name="Lớp BÍ MẬT",
        course=version.course,
        unit=other,
    )
    other_session = classes.add_session(
        make.session, other_class, utcnow(), utcnow() + timedelta(hours=2), "Cẩm Phả"
    )
    from lms.models import ExtensionRequest, SupportTeam

    other_team = SupportTeam(name="Tổ BÍ MẬT", org_unit=other)
    make.session.add(other_team)
    make.session.flush()
    other_request = ExtensionRequest(
        team_id=other_team.id, enrolment_id=enrolment.id, days=3, reason="Lý do BÍ MẬT"
    )
    make.session.add(other_request)
    make.commit()
    return {
        "other_class": other_class,
        "other_session": other_session,
        "other_team": other_team,
        "other_request": other_request,
        "other_state": other_state,
        "other_job": other_job,
        "other_certificate": other_certificate,
        "other_cohort": other_cohort,
        "root": root,
        "mine": mine,
        "mine_child": mine_child,
        "other": other,
        "other_child": other_child,
        "boss": boss,
        "inside": inside,
        "outside": outside,
        "site_admin_inside": site_admin_inside,
    }


LISTS_FILTERED_BY_SCOPE = {"admin.course_attempts"}

SECRET_WORDS = ("Người Ngoài Phạm Vi", "hv.ngoai", "BÍ MẬT", "Cẩm Phả")


def test_every_admin_endpoint_refuses_out_of_scope_records(app, client, login, world):
    """Walks the URL map, so that a new admin endpoint cannot forget the scope unnoticed."""
    login("qt.halong")
    out_ids = {
        "unit_id": world["other_child"].id,
        "user_id": world["outside"].id,
        "cohort_id": world["other_cohort"].id,
        "certificate_id": world["other_certificate"].id,
        "job_id": world["other_job"].id,
        "token": f"{world['outside'].id}-someone-elses-upload",
        "course_id": 1,  # course settings belong to site administrators only
        "state_id": world["other_state"].id,
        "class_id": world["other_class"].id,
        "session_id": world["other_session"].id,
        "team_id": world["other_team"].id,
        "request_id": world["other_request"].id,
    }
    checked = set()
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("admin."):
            continue
        ids = {arg: out_ids[arg] for arg in rule.arguments}
        if not ids:
            continue
        path = rule.build(ids, append_unknown=False)[1]
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            response = client.open(path, method=method, data={})
            if method == "POST" and response.status_code == 400:
                # CSRF is checked first; send a valid token to reach the scope check.
                from tests.conftest import csrf_token

                token = csrf_token(client, "/admin/")
                response = client.open(path, method=method, data={"csrf_token": token})
            # A course is not a unit's record: its attempt list answers, filtered to the scope.
            allowed = (200, 403, 404) if rule.endpoint in LISTS_FILTERED_BY_SCOPE else (403, 404)
            assert response.status_code in allowed, (rule.endpoint, method, path)
            body = response.get_data(as_text=True)
            for word in SECRET_WORDS:
                assert word not in body, (rule.endpoint, word)
        checked.add(rule.endpoint)
    assert checked >= {
        "admin.cohort_edit",
        "admin.certificate_revoke",
        "admin.import_errors",
        "admin.import_commit",
        "admin.job_credentials",
        "admin.certificate_reissue",
        "admin.course_settings",
        "admin.user_enrol",
        "admin.unit_edit",
        "admin.unit_move",
        "admin.unit_delete",
        "admin.user_view",
        "admin.user_edit",
        "admin.class_view",
        "admin.class_edit",
        "admin.class_add_session",
        "admin.class_delete_session",
        "admin.class_trainers",
        "admin.class_members",
        "admin.class_sheet",
        "admin.class_export",
        "admin.user_reset_password",
        "admin.user_deactivate",
        "admin.user_activate",
        "admin.team_edit",
        "admin.team_request_approve",
        "admin.team_request_refuse",
    }


@pytest.mark.parametrize(
    "path",
    [
        "/admin/",
        "/admin/units",
        "/admin/users",
        "/admin/audit",
        "/admin/users/new",
        "/admin/units/new?parent={mine}",
    ],
)
def test_lists_and_forms_show_only_the_subtree(client, login, world, path):
    login("qt.halong")
    page = client.get(path.format(mine=world["mine"].id)).get_data(as_text=True)
    for word in SECRET_WORDS:
        assert word not in page, (path, word)
    if path == "/admin/users":
        assert "Người Trong Phạm Vi" in page


@pytest.mark.parametrize(
    "path",
    ["/admin/users?unit={other}", "/admin/units/new?parent={other}", "/admin/users/new?unit=0"],
)
def test_query_parameters_cannot_reach_outside(client, login, world, path):
    login("qt.halong")
    response = client.get(path.format(other=world["other"].id))
    body = response.get_data(as_text=True)
    if "unit=0" in path:
        assert response.status_code == 200
    else:
        assert response.status_code == 404
    for word in SECRET_WORDS:
        assert word not in body


def test_unit_admin_cannot_create_users_outside_or_grant_more(client, login, post, world, session):
    login("qt.halong")
    base = {
        "full_name": "Người Mới",
        "username": "hv.moi",
        "phone": "",
        "email": "",
        "birth_date": "",
        "issued_at": "",
        "password": "",
    }
    outside = post(
        "/admin/users/new",
        {**base, "org_unit_id": str(world["other_child"].id), "roles": ["learner"]},
    )
    assert outside.status_code in (200, 404)
    as_site_admin = post(
        "/admin/users/new",
        {**base, "org_unit_id": str(world["mine_child"].id), "roles": ["site_admin"]},
    )
    assert as_site_admin.status_code == 200
    scoped_outside = post(
        "/admin/users/new",
        {
            **base,
            "org_unit_id": str(world["mine_child"].id),
            "roles": ["unit_admin"],
            "admin_unit_ids": str(world["other"].id),
        },
    )
    assert scoped_outside.status_code in (200, 404)
    session.rollback()
    assert session.scalar(select(User).where(User.username == "hv.moi")) is None
    fine = post(
        "/admin/users/new",
        {**base, "org_unit_id": str(world["mine_child"].id), "roles": ["learner"]},
    )
    assert "Đã tạo tài khoản hv.moi." in fine.get_data(as_text=True)


def test_unit_admin_cannot_touch_a_site_admin_of_their_subtree(session, world):
    """Otherwise resetting that password would hand over the whole site."""
    boss = session.get(User, world["boss"].id)
    target = session.get(User, world["site_admin_inside"].id)
    with pytest.raises(Forbidden):
        accounts.reset_password(session, boss, target)
    with pytest.raises(Forbidden):
        accounts.set_active(session, boss, target, False)


def test_site_admin_inside_subtree_is_404_over_http(client, login, world):
    login("qt.halong")
    user_id = world["site_admin_inside"].id
    assert client.get(f"/admin/users/{user_id}").status_code == 404


def test_learner_and_author_have_no_admin_pages(client, login, make):
    unit = make.unit()
    make.learner(unit, username="hv.thuong")
    make.user(unit, username="tacgia", roles=[(Role.AUTHOR, None)])
    make.commit()
    for username in ("hv.thuong", "tacgia"):
        fresh = client.application.test_client()
        type(login)(fresh)(username)
        for path in ("/admin/", "/admin/users", "/admin/units", "/admin/audit"):
            assert fresh.get(path).status_code == 403, (username, path)
        assert "Quản trị" not in fresh.get("/").get_data(as_text=True)


def test_audit_log_is_scoped(client, login, post, world, session, make):
    admin = make.site_admin(username="admin")
    make.commit()
    accounts.reset_password(session, admin, session.get(User, world["outside"].id))
    accounts.reset_password(session, admin, session.get(User, world["inside"].id))
    session.commit()
    login("qt.halong")
    page = client.get("/admin/audit").get_data(as_text=True)
    assert "Người Trong Phạm Vi" in page
    assert "Người Ngoài Phạm Vi" not in page


def test_audit_history_follows_a_moved_unit(client, session, make):
    """After a unit moves, its events are shown to the admins of its new place, not its old."""
    admin = make.site_admin(username="admin")
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


def test_audit_history_follows_a_user_to_another_unit(session, make):
    """A user's earlier events are filed under the unit they moved to."""
    admin = make.site_admin(username="admin")
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
