"""Support teams over HTTP (issue 22): a unit admin sets a team up (Quản trị > Tổ công nghệ
số), its members work on "Tổ hỗ trợ" — and every team endpoint answers 404 for a learner or a
team that is not the member's, 403 for an account without the team-member role (admins
included), never with data."""

from __future__ import annotations

import io
import re
from datetime import timedelta

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from lms.models import (
    AttemptStatus,
    AuditEvent,
    Enrolment,
    ExtensionRequest,
    RequestStatus,
    SupportContact,
    SupportTeam,
    TestAttempt,
    User,
    utcnow,
)
from lms.services import catalog, teams
from lms.services.deadlines import local_today
from lms.services.passwords import password_matches
from lms.services.scope import Scope
from tests.conftest import LoggedIn, csrf_token


@pytest.fixture
def world(make, app, session):
    """District Đông Triều (admin qt.dongtrieu) with team A (to.0-to.2, supporting the union
    Mạo Khê) and team B (to.3-to.5, supporting the union Kim Sơn); a learner of another
    district; learners: hv.chua (never logged in), hv.ket (started 5 days ago, stuck, with a
    failed attempt scored 4,5), hv.kimson (team B's)."""
    province = make.unit(name="LĐLĐ tỉnh Quảng Ninh")
    district = make.unit(province, name="LĐLĐ huyện Đông Triều")
    maokhe = make.unit(district, name="CĐCS Than Mạo Khê")
    kimson = make.unit(district, name="CĐCS Trường Kim Sơn")
    other = make.unit(province, name="LĐLĐ thành phố Cẩm Phả")
    admin = make.unit_admin(district, username="qt.dongtrieu")
    version = make.course(app.config["HOCVU_FILES_DIR"])
    now = utcnow()
    issued = local_today(now) - timedelta(days=3)
    members = [make.user(maokhe, username=f"to.{i}", roles=[]) for i in range(6)]

    def learner(unit, username, full_name, logged_in=True):
        user = make.learner(unit, username=username, full_name=full_name, issued_at=issued)
        user.phone = "0912 345 678"
        if logged_in:
            user.last_login_at = now - timedelta(days=2)
        return user, catalog.enrol(session, user, version.course)

    never, _ = learner(maokhe, "hv.chua", "Phạm Thị Chưa", logged_in=False)
    stuck, enrolment = learner(maokhe, "hv.ket", "Lê Văn Kẹt")
    enrolment.started_at = now - timedelta(days=5)
    test = next(a for a in version.activities if a.kind == "test")
    session.add(
        TestAttempt(
            enrolment=enrolment,
            activity=test,
            number=1,
            status=AttemptStatus.GRADED,
            started_at=now - timedelta(days=5),
            submitted_at=now - timedelta(days=5),
            draw=[],
            score=4.5,
            passed=False,
        )
    )
    theirs, _ = learner(kimson, "hv.kimson", "Đỗ Thị Kim")
    outsider, _ = learner(other, "hv.campha", "Vũ Văn Ngoài")
    scope = Scope.of(admin)
    team_a = teams.save_team(session, scope, admin, name="Tổ A", unit=maokhe, members=members[:3])
    team_b = teams.save_team(session, scope, admin, name="Tổ B", unit=kimson, members=members[3:])
    make.unit_admin(other, username="qt.campha")
    make.commit()
    return {
        "admin": admin,
        "district": district,
        "maokhe": maokhe,
        "team_a": team_a.id,
        "team_b": team_b.id,
        "never": never.id,
        "stuck": stuck.id,
        "enrolment": enrolment.id,
        "theirs": theirs.id,
        "outsider": outsider.id,
    }


def _client(app, username):
    client = app.test_client()
    LoggedIn(client)(username)
    return client


def test_a_unit_admin_sets_a_team_up_with_3_to_5_members(world, app, client, login, post, session):
    """Quản trị > Tổ công nghệ số: the team form refuses 2 members or an account outside the
    admin's units in Vietnamese; a valid team is listed with its learners; the team-member
    role is offered on the account form. Another district's admin and a learner get nothing."""
    w = world
    login("qt.dongtrieu")
    form = {
        "name": "Tổ công nghệ số Đông Triều",
        "org_unit_id": w["district"].id,
        "members": "to.0, to.1",
    }
    few = post("/admin/teams/new", form)
    assert few.status_code == 422
    assert "Một tổ có từ 3 đến 5 thành viên; bạn đã nêu 2 người." in few.get_data(as_text=True)
    stranger = post("/admin/teams/new", {**form, "members": "to.0, to.1\nqt.campha"})
    assert "Không có tài khoản nào bạn quản lý có tên: qt.campha." in stranger.get_data(
        as_text=True
    )
    six = post("/admin/teams/new", {**form, "members": "to.0 to.1 to.2 to.3 to.4 to.5"})
    assert "bạn đã nêu 6 người" in six.get_data(as_text=True)
    saved = post("/admin/teams/new", {**form, "members": "to.0\nto.3\nto.4"})
    assert saved.status_code == 302
    listing = client.get("/admin/teams").get_data(as_text=True)
    assert "Tổ công nghệ số Đông Triều" in listing and "Tổ A" in listing
    assert "Tổ công nghệ số" in listing and 'href="/admin/teams"' in listing  # the menu
    assert "Thành viên tổ hỗ trợ" in client.get("/admin/users/new").get_data(as_text=True)

    edit = client.get(f"/admin/teams/{w['team_a']}/edit").get_data(as_text=True)
    prefilled = re.search(r'name="members"[^>]*>\s*([^<]*)</textarea>', edit).group(1)
    assert set(prefilled.split()) == {"to.0", "to.1", "to.2"}
    changed = post(
        f"/admin/teams/{w['team_a']}/edit",
        {"name": "Tổ A", "org_unit_id": w["maokhe"].id, "members": "to.0 to.1 to.2 to.5"},
    )
    assert changed.status_code == 302
    session.rollback()
    team = session.get(SupportTeam, w["team_a"])
    assert {m.username for m in team.members} == {"to.0", "to.1", "to.2", "to.5"}
    other = _client(app, "qt.campha")
    assert other.get(f"/admin/teams/{w['team_a']}/edit").status_code == 404
    assert "Tổ A" not in other.get("/admin/teams").get_data(as_text=True)
    assert _client(app, "hv.ket").get("/admin/teams").status_code == 403


def test_every_team_endpoint_is_scoped_to_the_member_s_own_learners(world, app, session):
    """For each endpoint of the team pages: the member's own team and learner work; team B,
    team B's learner and another district's learner are 404 (without their names in the
    answer); a learner, and a unit admin, without the role get 403; a visitor logs in first."""
    w = world
    a, b = w["team_a"], w["team_b"]
    member = _client(app, "to.0")
    assert member.get("/teams").location.endswith(f"/teams/{a}")
    mine = f"/teams/{a}/learners/{w['never']}"
    assert member.get(f"/teams/{a}").status_code == 200
    assert member.get(mine).status_code == 200
    token = csrf_token(member, mine)
    posts = {
        "contacts": {"contact-kind": "call", "contact-outcome": "solved", "contact-note": "x"},
        "slip": {"show": "1"},
        "extension": {
            "request-enrolment_id": w["enrolment"],
            "request-days": "3",
            "request-reason": "Ốm",
        },
    }
    not_mine = [
        (f"/teams/{b}/learners/{w['theirs']}", "Đỗ Thị Kim"),  # another team
        (f"/teams/{a}/learners/{w['theirs']}", "Đỗ Thị Kim"),  # another team's learner
        (f"/teams/{a}/learners/{w['outsider']}", "Vũ Văn Ngoài"),  # another district
        (f"/teams/{a}/learners/999999", ""),
    ]
    assert member.get(f"/teams/{b}").status_code == 404
    assert "Đỗ Thị Kim" not in member.get(f"/teams/{b}?need=not_started").get_data(as_text=True)
    for url, name in not_mine:
        answer = member.get(url)
        assert answer.status_code == 404, url
        assert not name or name not in answer.get_data(as_text=True)
        for action, data in posts.items():
            refused = member.post(f"{url}/{action}", data={"csrf_token": token, **data})
            assert refused.status_code == 404, (url, action)
            assert not name or name not in refused.get_data(as_text=True)
    session.rollback()
    assert session.scalars(select(SupportContact)).all() == []
    assert session.scalars(select(ExtensionRequest)).all() == []
    outsider = session.get(User, w["outsider"])
    assert outsider.auth_epoch == 0 and not outsider.must_change_password

    for username in ("hv.ket", "qt.dongtrieu"):
        without = _client(app, username)
        own_token = csrf_token(without, "/")
        for url in ("/teams", f"/teams/{a}", mine):
            assert without.get(url).status_code == 403, (username, url)
        for action, data in posts.items():
            answer = without.post(f"{mine}/{action}", data={"csrf_token": own_token, **data})
            assert answer.status_code == 403, (username, action)
            assert "Phạm Thị Chưa" not in answer.get_data(as_text=True)
    assert app.test_client().get(mine).status_code == 302


def test_a_member_sees_who_needs_help_and_records_a_contact(world, app, session):
    """The lists come with counts; the card shows the phone as a tel: link and the test as
    passed or not yet, never the score; a contact recorded is listed on the card."""
    w = world
    member = _client(app, "to.1")
    page = member.get(f"/teams/{w['team_a']}?need=stuck").get_data(as_text=True)
    assert "3 ngày không tiến triển" in page and "Lê Văn Kẹt" in page
    assert "Phạm Thị Chưa" not in page and "Đỗ Thị Kim" not in page
    assert re.search(r'need-count">1</span> <span>Chưa đạt bài kiểm tra cuối khóa', page)
    assert re.search(r'need-count">1</span> <span>Chưa đăng nhập<', page)
    assert 'href="tel:0912 345 678"' in page
    card_url = f"/teams/{w['team_a']}/learners/{w['stuck']}"
    card = member.get(card_url).get_data(as_text=True)
    assert re.search(r'Bài kiểm tra cuối khóa: <span class="tag">Chưa</span>', card)
    assert "4,5" not in card and "4.5" not in card  # the failed attempt's score
    token = csrf_token(member, card_url)
    empty = member.post(card_url + "/contacts", data={"csrf_token": token})
    assert empty.status_code == 422
    assert "Hãy chọn cách bạn đã hỗ trợ." in empty.get_data(as_text=True)
    saved = member.post(
        card_url + "/contacts",
        data={
            "csrf_token": token,
            "contact-kind": "visit",
            "contact-outcome": "follow_up",
            "contact-note": "Điện thoại hỏng, hẹn thứ Bảy",
        },
        follow_redirects=True,
    )
    text = saved.get_data(as_text=True)
    assert "Đã ghi lại lần hỗ trợ." in text
    assert "Đến nhà hoặc nơi làm việc" in text and "Cần theo dõi tiếp" in text
    assert "Điện thoại hỏng, hẹn thứ Bảy" in text
    session.rollback()
    contact = session.scalars(select(SupportContact)).one()
    assert (contact.learner_id, contact.team_id) == (w["stuck"], w["team_a"])


def test_a_new_login_slip_resets_the_password_of_a_learner_who_never_logged_in(world, app, session):
    """The PDF slip carries the new initial password (it logs in; the old one does not); the
    reset is audited as the member's; a learner who already logged in gets no slip."""
    w = world
    member = _client(app, "to.2")
    card_url = f"/teams/{w['team_a']}/learners/{w['never']}"
    token = csrf_token(member, card_url)
    pdf = member.post(card_url + "/slip", data={"csrf_token": token, "pdf": "1"})
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    text = PdfReader(io.BytesIO(pdf.data)).pages[0].extract_text()
    assert "Phạm Thị Chưa" in text and "hv.chua" in text
    password = re.search(r"Mật khẩu ban đầu:\s*(\S+)", text).group(1)
    session.rollback()
    learner = session.get(User, w["never"])
    assert password_matches(learner.password_hash, password, None)
    assert learner.must_change_password
    event = session.scalars(select(AuditEvent).where(AuditEvent.action == "team.new_slip")).one()
    assert event.target_id == learner.id and event.details["team"] == "Tổ A"

    # Shown on the screen instead: another new password, the PDF's stops working.
    shown = member.post(card_url + "/slip", data={"csrf_token": token, "show": "1"})
    again = re.search(r'class="mono big">([^<]+)<', shown.get_data(as_text=True)).group(1)
    assert again != password
    session.rollback()
    assert not password_matches(session.get(User, w["never"]).password_hash, password, None)
    LoggedIn(app.test_client())("hv.chua", again)
    # Logged in now: the password is the learner's, no more slips.
    second = member.post(card_url + "/slip", data={"csrf_token": token, "pdf": "1"})
    assert second.status_code == 302
    logged_in = f"/teams/{w['team_a']}/learners/{w['stuck']}"
    refused = member.post(
        logged_in + "/slip", data={"csrf_token": token, "pdf": "1"}, follow_redirects=True
    )
    assert refused.mimetype == "text/html"
    assert "Lê Văn Kẹt đã đăng nhập" in refused.get_data(as_text=True)
    session.rollback()
    assert not session.get(User, w["stuck"]).must_change_password


def test_an_extension_request_is_approved_by_the_unit_admin(world, app, session, client, login):
    """The member asks; the unit admin sees it under Quản trị > Tổ công nghệ số and extends
    (deadlines.extend moves the due time by the days asked); another district's admin
    cannot answer it."""
    w = world
    member = _client(app, "to.0")
    card_url = f"/teams/{w['team_a']}/learners/{w['stuck']}"
    token = csrf_token(member, card_url)
    too_long = member.post(
        card_url + "/extension",
        data={
            "csrf_token": token,
            "request-enrolment_id": w["enrolment"],
            "request-days": "45",
            "request-reason": "Đi công tác",
        },
    )
    assert "Hãy đề nghị từ 1 đến 30 ngày." in too_long.get_data(as_text=True)
    sent = member.post(
        card_url + "/extension",
        data={
            "csrf_token": token,
            "request-enrolment_id": w["enrolment"],
            "request-days": "4",
            "request-reason": "Đi công tác đến 20/12",
        },
        follow_redirects=True,
    )
    assert "Đã gửi đề nghị đến quản trị viên của đơn vị." in sent.get_data(as_text=True)
    session.rollback()
    request = session.scalars(select(ExtensionRequest)).one()
    old_due = session.get(Enrolment, w["enrolment"]).due_at

    other = _client(app, "qt.campha")
    assert "Đi công tác đến 20/12" not in other.get("/admin/teams").get_data(as_text=True)
    other_token = csrf_token(other, "/admin/teams")
    answer = other.post(
        f"/admin/teams/requests/{request.id}/approve", data={"csrf_token": other_token}
    )
    assert answer.status_code == 404

    login("qt.dongtrieu")
    listing = client.get("/admin/teams").get_data(as_text=True)
    assert "Đi công tác đến 20/12" in listing and "Lê Văn Kẹt" in listing
    done = client.post(
        f"/admin/teams/requests/{request.id}/approve",
        data={"csrf_token": csrf_token(client, "/admin/teams")},
        follow_redirects=True,
    )
    assert "Đã gia hạn cho Lê Văn Kẹt." in done.get_data(as_text=True)
    session.rollback()
    assert session.get(ExtensionRequest, request.id).status == RequestStatus.APPROVED
    assert session.get(Enrolment, w["enrolment"]).due_at == old_due + timedelta(days=4)


def test_the_dashboard_and_its_xlsx_show_what_the_teams_did_per_unit(
    world, app, session, client, login
):
    """Issue 22's reports: teams, members, learners supported, contacts and the supported
    learners who completed after the first contact, per unit. Set up here: team A (Mạo Khê)
    contacts hv.ket twice and hv.chua once, and hv.ket completes after the first contact;
    team B (Kim Sơn) contacts hv.kimson, who had completed before it."""
    import openpyxl

    from lms.models import SupportContact

    w = world
    now = utcnow()
    first = now - timedelta(days=2)

    def contact(team, learner, at):
        session.add(
            SupportContact(
                team_id=team,
                learner_id=learner,
                member_id=None,
                kind="call",
                outcome="solved",
                note="",
                at=at,
            )
        )

    contact(w["team_a"], w["stuck"], first)
    contact(w["team_a"], w["stuck"], first + timedelta(hours=5))
    contact(w["team_a"], w["never"], first)
    contact(w["team_b"], w["theirs"], first)
    session.get(Enrolment, w["enrolment"]).completed_at = first + timedelta(days=1)
    theirs = session.scalar(select(Enrolment).where(Enrolment.user_id == w["theirs"]))
    theirs.completed_at = first - timedelta(days=1)
    session.commit()
    expected = {
        "CĐCS Than Mạo Khê": [1, 3, 2, 3, 1],
        "CĐCS Trường Kim Sơn": [1, 3, 1, 1, 0],
        "Tổng cộng": [2, 6, 3, 4, 1],
    }
    login("qt.dongtrieu")
    query = f"?unit={w['district'].id}&course={theirs.course_id}"
    page = client.get("/admin/reports/" + query).get_data(as_text=True)
    section = page[page.index('id="by-team"') :]
    for name, numbers in expected.items():
        row = section[section.index(f">{name}</th>") :].split("</tr>")[0]
        assert re.findall(r'class="num"[^>]*>(\d+)</td>', row) == [str(n) for n in numbers]
    assert "Hoàn thành sau hỗ trợ" in section
    sheet = openpyxl.load_workbook(
        io.BytesIO(client.get("/admin/reports/export/teams.xlsx" + query).data)
    ).active
    rows = {row[1]: list(row[2:]) for row in sheet.iter_rows(min_row=2, values_only=True)}
    assert rows == expected
    header = [c.value for c in sheet[1]]
    assert header[2:] == [
        "Tổ công nghệ số",
        "Thành viên",
        "Học viên được hỗ trợ",
        "Lần hỗ trợ",
        "Hoàn thành sau hỗ trợ",
    ]
    # Another district's admin counts none of it.
    other = _client(app, "qt.campha")
    theirs_page = other.get("/admin/reports/" + f"?course={theirs.course_id}").get_data(
        as_text=True
    )
    assert "Các đơn vị này chưa có tổ hỗ trợ nào." in theirs_page

    # The district's frozen periodic report prints the same figures in its section 6.
    from pypdf import PdfReader

    from lms.models import Report
    from lms.services import clock

    app.config["HOCVU_JOBS_INLINE"] = True
    today = clock.today()
    token = csrf_token(client, "/admin/reports/periodic")
    issued = client.post(
        "/admin/reports/periodic",
        data={
            "csrf_token": token,
            "unit_id": w["district"].id,
            "course_id": theirs.course_id,
            "kind": "custom",
            "start": (today - timedelta(days=30)).isoformat(),
            "end": today.isoformat(),
            "year": today.year,
            "half": "1",
        },
    )
    assert issued.status_code == 302, issued.get_data(as_text=True)[:2000]
    report = session.scalars(select(Report)).one()
    assert report.data["teams"]["total"] == {
        "teams": 2,
        "members": 6,
        "supported": 3,
        "contacts": 4,
        "completed_after": 1,
    }
    pdf = client.get(f"/admin/reports/periodic/{report.id}.pdf").data
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)
    assert "6. Tổ công nghệ số cộng đồng" in text
    assert "CĐCS Than Mạo Khê\n1\n3\n2\n3\n1" in text
