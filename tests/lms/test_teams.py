"""Community digital-technology teams (issue 22, "Tổ công nghệ số cộng đồng"): a unit admin
sets a team of 3-5 members up inside their scope; its members see who needs help among the
learners the team supports (not logged in, not started 2 days after issue, stuck 3 days,
deadline within 2 days, failed the test), record contacts, hand out a new login slip to a
learner who never logged in, and ask for extensions that the unit admin approves or refuses."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from lms.models import (
    ActivityProgress,
    AttemptStatus,
    AuditEvent,
    Cohort,
    ContactKind,
    ContactOutcome,
    Enrolment,
    ExtensionRequest,
    ProgressStatus,
    RequestStatus,
    Role,
    TestAttempt,
)
from lms.services import catalog, cohorts, teams
from lms.services.errors import DomainError, Forbidden, NotFound
from lms.services.passwords import password_matches
from lms.services.scope import Scope
from lms.services.teams import Need

# 10:00 in Vietnam on 10 December 2026.
NOW = datetime(2026, 12, 10, 3, 0, tzinfo=UTC)
TODAY = date(2026, 12, 10)


@pytest.fixture
def org(make, app):
    """A district with two grassroots unions (one with a batch), another district, an admin
    of the first district, five would-be members and a course."""
    province = make.unit(name="LĐLĐ tỉnh Quảng Ninh")
    district = make.unit(province, name="LĐLĐ huyện Đông Triều")
    grassroots = make.unit(district, name="CĐCS Công ty Than Mạo Khê")
    second = make.unit(district, name="CĐCS Trường THCS Kim Sơn")
    other = make.unit(province, name="LĐLĐ thành phố Cẩm Phả")
    admin = make.unit_admin(district, username="qt.dongtrieu")
    version = make.course(app.config["HOCVU_FILES_DIR"])
    members = [
        make.user(grassroots, username=f"to.{i}", full_name=f"Thành viên Tổ {i}", roles=[])
        for i in range(5)
    ]
    make.commit()
    return {
        "district": district,
        "grassroots": grassroots,
        "second": second,
        "other": other,
        "admin": admin,
        "scope": Scope.of(admin),
        "course": version.course,
        "version": version,
        "members": members,
    }


def _team(session, o, **kwargs):
    return teams.save_team(
        session,
        o["scope"],
        o["admin"],
        name=kwargs.pop("name", "Tổ công nghệ số Mạo Khê"),
        unit=kwargs.pop("unit", o["district"]),
        members=kwargs.pop("members", o["members"][:3]),
        **kwargs,
    )


def _learner(session, make, o, username, *, unit=None, issued=None, logged_in=True):
    learner = make.learner(
        unit or o["grassroots"],
        username=username,
        issued_at=issued or TODAY - timedelta(days=3),
    )
    learner.phone = "0912345678"
    if logged_in:
        learner.last_login_at = NOW - timedelta(days=1)
    enrolment = catalog.enrol(session, learner, o["course"])
    return learner, enrolment


def test_a_unit_admin_sets_up_a_team_of_3_to_5_members_inside_their_scope(session, org, make):
    """Issue 22: a team belongs to a unit, managed by its admins, and has 3-5 members who get
    the team-member role (granted by unit admins like the trainer role)."""
    o = org
    with pytest.raises(DomainError, match="3 to 5 members; 2 were named"):
        _team(session, o, members=o["members"][:2])
    six = [*o["members"], make.user(o["grassroots"], username="to.5")]
    with pytest.raises(DomainError, match="3 to 5 members; 6 were named"):
        _team(session, o, members=six)
    with pytest.raises(Forbidden):
        _team(session, o, unit=o["other"])
    stranger = make.user(o["other"], username="ngoai")
    with pytest.raises(Forbidden, match="ngoai"):
        _team(session, o, members=[*o["members"][:2], stranger])
    assert Scope.of(o["admin"]).can_grant(Role.TEAM_MEMBER)

    team = _team(session, o, members=o["members"][:4])
    assert [m.username for m in team.members] == ["to.0", "to.1", "to.2", "to.3"]
    assert all(m.has_role(Role.TEAM_MEMBER) for m in team.members)
    assert not o["members"][4].has_role(Role.TEAM_MEMBER)
    # Being a member keeps the account in its unit admin's hands.
    assert o["scope"].can_manage_user(o["members"][0])
    with pytest.raises(DomainError, match="already has a team named"):
        _team(session, o, name=" tổ công nghệ số  mạo khê")
    again = _team(session, o, team=team, name="Tổ số 1", members=o["members"][1:4])
    assert again is team and [m.username for m in team.members] == ["to.1", "to.2", "to.3"]
    actions = session.scalars(
        select(AuditEvent.action).where(AuditEvent.target_type == "team")
    ).all()
    assert actions == ["team.create", "team.update"]


def test_a_team_supports_its_unit_subtree_or_the_batches_the_admin_chose(session, org, make):
    o = org
    here, _ = _learner(session, make, o, "hv.maokhe")
    there, _ = _learner(session, make, o, "hv.kimson", unit=o["second"])
    _learner(session, make, o, "hv.campha", unit=o["other"])
    gone, _ = _learner(session, make, o, "hv.nghi")
    gone.is_active_account = False
    team = _team(session, o)
    supported = session.scalars(teams.supported(session, team)).all()
    assert {u.username for u in supported} == {"hv.maokhe", "hv.kimson"}

    batch = Cohort(name="Đợt 1", org_unit=o["second"])
    session.add(batch)
    cohorts.assign(session, there, batch)
    _team(session, o, team=team, name=team.name, cohorts=[batch])
    assert [u.username for u in session.scalars(teams.supported(session, team))] == ["hv.kimson"]
    member = o["members"][0]
    assert teams.team_learner(session, member, team.id, there.id) == (team, there)
    with pytest.raises(NotFound):
        teams.team_learner(session, member, team.id, here.id)  # not in the batch any more
    with pytest.raises(NotFound):
        teams.team_learner(session, o["members"][4], team.id, there.id)  # not a member


def test_who_needs_help_follows_the_deadline_and_progress_data(session, org, make):
    """The five lists at 10:00 on 10 December (Vietnam): not logged in; issued 3 days ago
    and not started (issued yesterday: not yet); started 5 days ago with no progress since
    (progress yesterday: not stuck); due at 24:00 tomorrow (issued 9 days ago, N = 10); a
    graded attempt and no pass (a pass: not listed)."""
    o = org
    never, _ = _learner(session, make, o, "a.never", logged_in=False)
    idle, _ = _learner(session, make, o, "b.idle")
    _learner(session, make, o, "c.fresh", issued=TODAY - timedelta(days=1))
    stuck, e_stuck = _learner(session, make, o, "d.stuck")
    moving, e_moving = _learner(session, make, o, "e.moving")
    soon, e_soon = _learner(session, make, o, "f.soon", issued=TODAY - timedelta(days=9))
    failed, e_failed = _learner(session, make, o, "g.failed")
    passed, e_passed = _learner(session, make, o, "h.passed")
    activities = o["version"].activities
    lesson = next(a for a in activities if a.kind != "test")
    test = next(a for a in activities if a.kind == "test")
    for enrolment in (e_stuck, e_moving, e_soon, e_failed, e_passed):
        enrolment.started_at = NOW - timedelta(days=5)
    session.add(
        ActivityProgress(
            enrolment=e_moving,
            activity=lesson,
            status=ProgressStatus.IN_PROGRESS,
            first_opened_at=NOW - timedelta(days=1),
            data={},
        )
    )
    for enrolment, ok in ((e_failed, False), (e_passed, True)):
        session.add(
            TestAttempt(
                enrolment=enrolment,
                activity=test,
                number=1,
                status=AttemptStatus.GRADED,
                started_at=NOW - timedelta(hours=2),
                submitted_at=NOW - timedelta(hours=1),
                draw=[],
                score=4.0 if not ok else 9.0,
                passed=ok,
            )
        )
    team = _team(session, o)
    session.flush()

    def names(need):
        return [u.username for u in session.scalars(teams.needing(session, team, need, NOW))]

    assert names(Need.NOT_LOGGED_IN) == ["a.never"]
    assert names(Need.NOT_STARTED) == ["a.never", "b.idle"]
    # Stuck: started, not completed, nothing since 3 days ago. f.soon, g.failed and h.passed
    # were started 5 days ago too: the attempts are progress, f.soon has none.
    assert names(Need.STUCK) == ["d.stuck", "f.soon"]
    assert names(Need.DUE_SOON) == ["f.soon"]
    assert names(Need.FAILED_TEST) == ["g.failed"]
    assert teams.counts(session, team, NOW) == {
        Need.NOT_LOGGED_IN: 1,
        Need.NOT_STARTED: 2,
        Need.STUCK: 2,
        Need.DUE_SOON: 1,
        Need.FAILED_TEST: 1,
    }
    # One more day: f.soon is due at 24:00 today; c.fresh is 2 days past issue.
    later = NOW + timedelta(days=1)
    assert [
        u.username for u in session.scalars(teams.needing(session, team, Need.NOT_STARTED, later))
    ] == [
        "a.never",
        "b.idle",
        "c.fresh",
    ]
    # The card says passed or not yet, never the score.
    line = teams.course_lines(session, failed, NOW)[0]
    assert (line.passed, line.done, line.required) == (False, 0, line.required)
    assert not hasattr(line, "score")
    assert teams.course_lines(session, passed, NOW)[0].passed
    assert moving not in session.scalars(teams.needing(session, team, Need.STUCK, NOW)).all()
    assert never and idle and stuck and soon


def test_a_new_login_slip_only_for_a_learner_who_never_logged_in(session, org, make):
    """The slip resets the initial password (the account service's reset: logged out,
    must change it), audited as the member's action; refused once the learner logged in."""
    o = org
    never, _ = _learner(session, make, o, "hv.never", logged_in=False)
    seen, _ = _learner(session, make, o, "hv.seen")
    team = _team(session, o)
    member = o["members"][0]
    epoch = never.auth_epoch
    password, due = teams.new_login(session, member, team, never)
    assert password_matches(never.password_hash, password, None)
    assert never.must_change_password and never.auth_epoch == epoch + 1
    assert due == TODAY - timedelta(days=3) + timedelta(days=10)
    event = session.scalars(select(AuditEvent).where(AuditEvent.action == "team.new_slip")).one()
    assert (event.actor_id, event.target_id, event.details["team"]) == (
        member.id,
        never.id,
        team.name,
    )
    with pytest.raises(DomainError, match="already logged in"):
        teams.new_login(session, member, team, seen)


def test_contacts_and_extension_requests_reach_the_unit_admin(session, org, make):
    """A contact is kept with its kind, note and outcome; an extension request waits for the
    unit admin, who approves it through deadlines.extend (the learner's deadline moves by
    the days asked, counted from the current due day) or refuses it; another district's admin
    sees none of it."""
    o = org
    learner, enrolment = _learner(session, make, o, "hv.cham")
    team = _team(session, o)
    member = o["members"][0]
    contact = teams.record_contact(
        session,
        member,
        team,
        learner,
        kind=ContactKind.CALL,
        outcome=ContactOutcome.FOLLOW_UP,
        note="  Chưa có   điện thoại thông minh ",
        now=NOW,
    )
    assert teams.contacts_of(session, team, learner) == [contact]
    assert contact.note == "Chưa có điện thoại thông minh"

    with pytest.raises(DomainError, match="1 to 30 days"):
        teams.request_extension(
            session, member, team, learner, enrolment_id=enrolment.id, days=31, reason="x"
        )
    with pytest.raises(DomainError, match="reason"):
        teams.request_extension(
            session, member, team, learner, enrolment_id=enrolment.id, days=3, reason=" "
        )
    request = teams.request_extension(
        session, member, team, learner, enrolment_id=enrolment.id, days=3, reason="Đi công tác"
    )
    with pytest.raises(DomainError, match="already waiting"):
        teams.request_extension(
            session, member, team, learner, enrolment_id=enrolment.id, days=2, reason="Ốm"
        )
    other_admin = make.unit_admin(o["other"], username="qt.campha")
    assert session.scalars(teams.pending_requests(Scope.of(other_admin))).all() == []
    with pytest.raises(NotFound):
        teams.decide(session, other_admin, request.id, approve=True, now=NOW)
    assert session.scalars(teams.pending_requests(o["scope"])).all() == [request]

    old_due = enrolment.due_at
    teams.decide(session, o["admin"], request.id, approve=True, now=NOW)
    assert request.status == RequestStatus.APPROVED and request.decided_by_id == o["admin"].id
    assert enrolment.due_at == old_due + timedelta(days=3)
    assert enrolment.extensions[-1].reason == "Đi công tác"
    with pytest.raises(NotFound):  # answered already
        teams.decide(session, o["admin"], request.id, approve=False, now=NOW)

    second = teams.request_extension(
        session, member, team, learner, enrolment_id=enrolment.id, days=2, reason="Ốm"
    )
    teams.decide(session, o["admin"], second.id, approve=False, now=NOW)
    assert second.status == RequestStatus.REFUSED
    assert enrolment.due_at == old_due + timedelta(days=3)
    actions = session.scalars(
        select(AuditEvent.action).where(AuditEvent.target_id == learner.id).order_by(AuditEvent.id)
    ).all()
    assert actions == [
        "team.extension_request",
        "enrolment.extend",
        "team.extension_request",
        "team.extension_refused",
    ]
    assert session.scalar(select(ExtensionRequest.id).where(ExtensionRequest.id == 999)) is None
    assert session.get(Enrolment, enrolment.id).extended_until is not None
