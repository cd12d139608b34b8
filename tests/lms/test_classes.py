"""In-person classes (issue 22): a unit admin sets a class up inside their scope, trainers'
marks survive a late or repeated offline queue, learners check in with the session's
short-lived code, and the class's attendance rule is computed as the admin set it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from lms.models import Attendance, AttendanceStatus, Enrolment, Role
from lms.services import classes, marking
from lms.services.errors import DomainError, Forbidden, NotFound
from lms.services.marking import Mark
from lms.services.scope import Scope
from tests.conftest import LoggedIn, csrf_token

SECRET = "test-secret-key"
START = datetime(2026, 12, 7, 1, 30, tzinfo=UTC)  # 08:30 in Vietnam


@pytest.fixture
def setup(make, app):
    province = make.unit(name="LĐLĐ tỉnh")
    district = make.unit(province, name="LĐLĐ huyện Đông Triều")
    other = make.unit(province, name="LĐLĐ thành phố Cẩm Phả")
    admin = make.unit_admin(district, username="qt.dongtrieu")
    version = make.course(app.config["HOCVU_FILES_DIR"])
    learners = [make.learner(district, username=f"hv.{i}") for i in range(4)]
    trainer = make.user(district, username="gv.lan", full_name="Trần Thị Lan")
    outsider = make.learner(other, username="hv.ngoai")
    make.commit()
    return {
        "district": district,
        "other": other,
        "admin": admin,
        "scope": Scope.of(admin),
        "course": version.course,
        "learners": learners,
        "trainer": trainer,
        "outsider": outsider,
    }


def _class(session, s, **kwargs):
    training_class = classes.save_class(
        session,
        s["scope"],
        s["admin"],
        name=kwargs.pop("name", "Lớp kỹ năng số 1"),
        course=s["course"],
        unit=s["district"],
        **kwargs,
    )
    for day in range(3):
        classes.add_session(
            session,
            training_class,
            START + timedelta(days=day),
            START + timedelta(days=day, hours=3, minutes=30),
            "Hội trường UBND huyện",
        )
    return training_class


def test_a_unit_admin_sets_up_a_class_inside_their_scope_only(session, setup):
    s = setup
    training_class = _class(session, s, capacity=3)
    assert [m.place for m in training_class.sessions] == ["Hội trường UBND huyện"] * 3
    with pytest.raises(Forbidden):
        classes.save_class(
            session, s["scope"], s["admin"], name="Lớp Cẩm Phả", course=s["course"], unit=s["other"]
        )
    with pytest.raises(DomainError, match="already has a class named"):
        classes.save_class(
            session,
            s["scope"],
            s["admin"],
            name="  lớp kỹ năng  số 1 ",
            course=s["course"],
            unit=s["district"],
        )
    with pytest.raises(DomainError, match="ends after it starts"):
        classes.add_session(session, training_class, START, START)
    with pytest.raises(Forbidden):
        classes.add_members(session, s["scope"], s["admin"], training_class, [s["outsider"]])

    # The roster enrols its learners in the course; the capacity refuses what does not fit.
    assert classes.add_members(session, s["scope"], s["admin"], training_class, s["learners"][:3])
    enrolled = session.scalars(select(Enrolment.user_id)).all()
    assert sorted(enrolled) == sorted(u.id for u in s["learners"][:3])
    with pytest.raises(DomainError, match="takes 3 learners: 3 are on the roster, 1 more"):
        classes.add_members(session, s["scope"], s["admin"], training_class, s["learners"])
    again = classes.add_members(session, s["scope"], s["admin"], training_class, s["learners"][:2])
    assert again == 0

    classes.set_trainers(session, s["scope"], s["admin"], training_class, [s["trainer"]])
    assert s["trainer"].has_role(Role.TRAINER)
    # Being a trainer does not take the account out of its unit admin's hands.
    assert s["scope"].can_manage_user(s["trainer"])
    assert classes.trainer_classes(session, s["trainer"]) == [training_class]


def test_a_trainer_reaches_only_the_sessions_of_their_classes(session, setup, make):
    s = setup
    mine = _class(session, s)
    theirs = _class(session, s, name="Lớp kỹ năng số 2")
    classes.set_trainers(session, s["scope"], s["admin"], mine, [s["trainer"]])
    assert classes.trainer_session(session, s["trainer"], mine.sessions[0].id) is mine.sessions[0]
    with pytest.raises(NotFound):
        classes.trainer_session(session, s["trainer"], theirs.sessions[0].id)
    with pytest.raises(NotFound):
        classes.trainer_session(session, s["learners"][0], mine.sessions[0].id)


def test_marks_sent_late_twice_or_out_of_order_leave_the_latest_mark(session, setup):
    """An offline queue may arrive after a newer mark, or be sent again after a dropped
    answer: the mark made last on the phone wins, and a repeat changes nothing."""
    s = setup
    training_class = _class(session, s)
    classes.add_members(session, s["scope"], s["admin"], training_class, s["learners"])
    meeting = training_class.sessions[0]
    first, second = s["learners"][:2]
    now = START + timedelta(minutes=40)
    newer = [Mark(first.id, AttendanceStatus.ABSENT, START + timedelta(minutes=20))]
    older = [
        Mark(first.id, AttendanceStatus.PRESENT, START + timedelta(minutes=5)),
        Mark(second.id, AttendanceStatus.LATE, START + timedelta(minutes=6)),
    ]
    assert marking.record_marks(session, s["trainer"], meeting, newer, now) == 1
    assert marking.record_marks(session, s["trainer"], meeting, older, now) == 1
    assert marking.record_marks(session, s["trainer"], meeting, older + newer, now) == 0
    stored = {a.user_id: a.status for a in session.scalars(select(Attendance))}
    assert stored == {first.id: AttendanceStatus.ABSENT, second.id: AttendanceStatus.LATE}
    with pytest.raises(DomainError, match="not on the class's roster"):
        marking.record_marks(
            session,
            s["trainer"],
            meeting,
            [Mark(s["outsider"].id, AttendanceStatus.PRESENT, now)],
            now,
        )


def test_check_in_codes_work_only_for_their_session_and_minute(session, setup):
    s = setup
    training_class = _class(session, s)
    classes.add_members(session, s["scope"], s["admin"], training_class, s["learners"][:2])
    first, second = training_class.sessions[:2]
    learner, late = s["learners"][:2]
    at = START + timedelta(minutes=3)
    code = marking.check_in_code(SECRET, first.id, at)
    assert len(code) == 6 and code.isdigit()
    # The code of one minute ago is still taken; the learner typed spaces.
    typed = f"{code[:3]} {code[3:]}"
    assert marking.check_in(session, SECRET, learner, typed, at + timedelta(seconds=60)) is first
    # Yesterday's code (or another session's) is refused today; so is the outsider.
    tomorrow = at + timedelta(days=1)
    with pytest.raises(DomainError, match="not the code of a session"):
        marking.check_in(session, SECRET, late, code, tomorrow)
    with pytest.raises(DomainError, match="not the code of a session"):
        marking.check_in(session, SECRET, s["outsider"], code, at)
    later = START + timedelta(days=1, minutes=40)
    marking.check_in(session, SECRET, late, marking.check_in_code(SECRET, second.id, later), later)
    stored = {
        (a.session_id, a.user_id): (a.status, a.source) for a in session.scalars(select(Attendance))
    }
    assert stored == {
        (first.id, learner.id): (AttendanceStatus.PRESENT, "code"),
        (second.id, late.id): (AttendanceStatus.LATE, "code"),
    }
    # A trainer's mark is not overwritten by a check-in.
    marking.record_marks(
        session, s["trainer"], first, [Mark(late.id, AttendanceStatus.EXCUSED, at)], at
    )
    marking.check_in(session, SECRET, late, marking.check_in_code(SECRET, first.id, at), at)
    assert session.get(Attendance, (first.id, late.id)).status == AttendanceStatus.EXCUSED
    with pytest.raises(DomainError, match="6 digits"):
        marking.check_in(session, SECRET, learner, "12a", at)


def test_the_attendance_rule_counts_present_and_late_and_leaves_out_excused(session, setup):
    """min_attendance 80 %: 2 of 3 sessions is 66.7 % (not met); 2 of 2 counted (one
    excused) is 100 % (met); no mark at all is 0 %."""
    s = setup
    training_class = _class(session, s, min_attendance=80)
    learners = s["learners"][:3]
    classes.add_members(session, s["scope"], s["admin"], training_class, learners)
    one, two, _three = training_class.sessions
    at = START
    marks = {
        one: [
            Mark(learners[0].id, AttendanceStatus.PRESENT, at),
            Mark(learners[1].id, AttendanceStatus.LATE, at),
        ],
        two: [
            Mark(learners[0].id, AttendanceStatus.LATE, at),
            Mark(learners[1].id, AttendanceStatus.EXCUSED, at),
        ],
        _three: [
            Mark(learners[0].id, AttendanceStatus.ABSENT, at),
            Mark(learners[1].id, AttendanceStatus.PRESENT, at),
        ],
    }
    for meeting, batch in marks.items():
        marking.record_marks(session, s["trainer"], meeting, batch, at)
    result = {a.user.username: a for a in classes.attendance_of(session, training_class)}
    assert (result["hv.0"].attended, result["hv.0"].counted) == (2, 3)
    assert round(result["hv.0"].percent, 1) == 66.7 and not result["hv.0"].meets_rule
    assert (result["hv.1"].attended, result["hv.1"].counted, result["hv.1"].meets_rule) == (
        2,
        2,
        True,
    )
    assert result["hv.2"].percent == 0 and not result["hv.2"].meets_rule


def test_a_unit_admin_builds_a_class_in_the_browser_and_others_get_404(
    setup, app, client, login, post, session, make
):
    """The admin's pages: create the class, add its three sessions (site time zone), name the
    trainer, add learners by username; the roster shows each learner's attendance. An admin of
    another district, and a learner, reach none of it."""
    s = setup
    login("qt.dongtrieu")
    created = post(
        "/admin/classes/new",
        {
            "name": "Lớp kỹ năng số – Đông Triều",
            "course_id": s["course"].id,
            "org_unit_id": s["district"].id,
            "capacity": "100",
            "min_attendance": "80",
        },
    )
    assert created.status_code == 302
    class_url = created.location
    for day in ("2026-12-07", "2026-12-08", "2026-12-09"):
        added = post(
            class_url + "/sessions",
            {
                "session-day": day,
                "session-starts": "08:00",
                "session-ends": "11:30",
                "session-place": "Hội trường UBND huyện",
            },
            form_page=class_url,
        )
        assert added.status_code == 302
    wrong = post(
        class_url + "/sessions",
        {"session-day": "2026-12-10", "session-starts": "11:00", "session-ends": "08:00"},
        form_page=class_url,
    )
    assert wrong.status_code == 422
    assert "Giờ kết thúc buổi học phải sau giờ bắt đầu." in wrong.get_data(as_text=True)
    assert (
        post(
            class_url + "/trainers", {"trainers-usernames": "gv.lan"}, form_page=class_url
        ).status_code
        == 302
    )
    unknown = post(
        class_url + "/members",
        {"members-usernames": "hv.0, hv.1\nhv.ngoai", "members-cohort_id": "0"},
        form_page=class_url,
    )
    assert unknown.status_code == 422
    assert "Không có tài khoản nào bạn quản lý có tên: hv.ngoai." in unknown.get_data(as_text=True)
    added = post(
        class_url + "/members",
        {"members-usernames": "hv.0, hv.1", "members-cohort_id": "0"},
        form_page=class_url,
    )
    assert added.status_code == 302
    page = client.get(class_url).get_data(as_text=True)
    assert "ngày 7 tháng 12 năm 2026" in page and "08:00–11:30" in page
    assert "Trần Thị Lan (gv.lan)" in page
    assert page.count(">0/3<") == 2  # both learners: none of the 3 sessions attended yet
    listing = client.get("/admin/classes").get_data(as_text=True)
    assert "Lớp kỹ năng số – Đông Triều" in listing and "2 / 100" in listing

    make.unit_admin(s["other"], username="qt.campha")
    make.commit()
    client = app.test_client()
    LoggedIn(client)("qt.campha")
    assert client.get(class_url).status_code == 404
    assert client.get(class_url + "/edit").status_code == 404
    token = csrf_token(client, "/admin/classes")
    for path in ("/sessions", "/trainers", "/members"):
        assert client.post(class_url + path, data={"csrf_token": token}).status_code == 404
    assert "Lớp kỹ năng số" not in client.get("/admin/classes").get_data(as_text=True)
    learner = app.test_client()
    LoggedIn(learner)("hv.0")
    assert learner.get(class_url).status_code == 403


@pytest.fixture
def running(session, setup):
    """A class with a session running now, trainer gv.lan, learners hv.0 and hv.1; and a
    second class (another trainer's) with a session running now too."""
    from lms.models import utcnow

    s = setup
    now = utcnow()
    mine = classes.save_class(
        session, s["scope"], s["admin"], name="Lớp A", course=s["course"], unit=s["district"]
    )
    theirs = classes.save_class(
        session, s["scope"], s["admin"], name="Lớp B", course=s["course"], unit=s["district"]
    )
    for training_class in (mine, theirs):
        classes.add_session(
            session, training_class, now - timedelta(minutes=20), now + timedelta(hours=3)
        )
    classes.add_members(session, s["scope"], s["admin"], mine, s["learners"][:2])
    classes.add_members(session, s["scope"], s["admin"], theirs, s["learners"][2:])
    classes.set_trainers(session, s["scope"], s["admin"], mine, [s["trainer"]])
    other_trainer = s["learners"][3]
    classes.set_trainers(session, s["scope"], s["admin"], theirs, [other_trainer])
    session.commit()
    return {**s, "mine": mine.sessions[0], "theirs": theirs.sessions[0]}


def test_trainer_pages_serve_only_the_trainer_s_own_sessions(running, app, client, login):
    """Every trainer endpoint: the trainer's own session works; another class's session is
    404; an account without the trainer role gets 403; nobody logged out gets in."""
    r = running
    login("gv.lan")
    home = client.get("/classes").get_data(as_text=True)
    assert "Lớp A" in home and "Lớp B" not in home
    mine, theirs = r["mine"].id, r["theirs"].id
    assert client.get(f"/classes/sessions/{mine}").status_code == 200
    assert client.get(f"/classes/sessions/{mine}/code").status_code == 200
    token = csrf_token(client, f"/classes/sessions/{mine}")
    for path in (f"/classes/sessions/{theirs}", f"/classes/sessions/{theirs}/code"):
        assert client.get(path).status_code == 404
    refused = client.post(
        f"/classes/sessions/{theirs}/marks",
        data={"csrf_token": token, f"status-{r['learners'][2].id}": "absent"},
    )
    assert refused.status_code == 404

    learner = app.test_client()
    LoggedIn(learner)("hv.0")
    for path in ("/classes", f"/classes/sessions/{mine}", f"/classes/sessions/{mine}/code"):
        assert learner.get(path).status_code == 403
    learner_token = csrf_token(learner, "/check-in")
    assert (
        learner.post(
            f"/classes/sessions/{mine}/marks",
            data={"csrf_token": learner_token, f"status-{r['learners'][0].id}": "present"},
        ).status_code
        == 403
    )
    anonymous = app.test_client()
    assert anonymous.get(f"/classes/sessions/{mine}").status_code == 302


def test_the_roster_saves_a_form_and_a_phone_s_queue(running, client, login, session):
    """The roster form (no script) marks everyone at once; the page's queue sends JSON
    [user, status, time on the phone] and gets back what the server holds."""
    r = running
    first, second = r["learners"][:2]
    login("gv.lan")
    url = f"/classes/sessions/{r['mine'].id}"
    token = csrf_token(client, url)
    saved = client.post(
        url + "/marks",
        data={"csrf_token": token, f"status-{first.id}": "present", f"status-{second.id}": "late"},
        follow_redirects=True,
    )
    assert "Đã lưu điểm danh." in saved.get_data(as_text=True)
    import json
    import time

    later = int(time.time() * 1000) + 1000
    queued = [[second.id, "absent", later - 500], [second.id, "excused", later]]
    reply = client.post(
        url + "/marks",
        data={"csrf_token": token, "marks": json.dumps(queued)},
        headers={"Accept": "application/json"},
    )
    assert reply.get_json() == {
        "changed": 2,
        "marks": {str(first.id): "present", str(second.id): "excused"},
    }
    again = client.post(
        url + "/marks",
        data={"csrf_token": token, "marks": json.dumps(queued)},
        headers={"Accept": "application/json"},
    )
    assert again.get_json()["changed"] == 0
    stranger = client.post(
        url + "/marks",
        data={"csrf_token": token, "marks": json.dumps([[r["outsider"].id, "present", later]])},
        headers={"Accept": "application/json"},
    )
    assert stranger.status_code == 422
    assert "Có học viên không thuộc danh sách của lớp." in stranger.get_json()["message"]
    nested = "[" * 100_000 + "]" * 100_000  # deeper than Python's stack: a 400, not a 500
    for broken in ("not json", json.dumps([[1, "nowhere", later]]), json.dumps({"a": 1}), nested):
        bad = client.post(url + "/marks", data={"csrf_token": token, "marks": broken})
        assert bad.status_code == 400
    page = client.get(url).get_data(as_text=True)
    assert f'name="status-{first.id}" value="present" checked' in page


def test_a_learner_checks_in_with_the_code_the_trainer_shows(running, app, client, login, session):
    r = running
    trainer = app.test_client()
    LoggedIn(trainer)("gv.lan")
    shown = trainer.get(
        f"/classes/sessions/{r['mine'].id}/code", headers={"Accept": "application/json"}
    ).get_json()
    assert shown["open"] and len(shown["code"]) == 6 and "<svg" in shown["qr"]
    assert shown["url"].endswith(f"/check-in?code={shown['code']}")

    login("hv.0")
    form = client.get(f"/check-in?code={shown['code']}").get_data(as_text=True)
    assert f'value="{shown["code"]}"' in form and 'inputmode="numeric"' in form
    token = csrf_token(client, "/check-in")
    wrong_code = "000000" if shown["code"] != "000000" else "111111"
    wrong = client.post("/check-in", data={"csrf_token": token, "code": wrong_code})
    assert wrong.status_code == 422
    assert "Mã này không phải mã của buổi học nào đang mở" in wrong.get_data(as_text=True)
    done = client.post(
        "/check-in", data={"csrf_token": token, "code": shown["code"]}, follow_redirects=True
    )
    assert "Bạn đã điểm danh: lớp “Lớp A”" in done.get_data(as_text=True)
    session.rollback()
    mark = session.get(Attendance, (r["mine"].id, r["learners"][0].id))
    assert (mark.status, mark.source) == (AttendanceStatus.LATE, "code")  # 20 min after start
    # A learner of the other class cannot use this class's code.
    other = app.test_client()
    LoggedIn(other)("hv.2")
    token = csrf_token(other, "/check-in")
    assert (
        other.post("/check-in", data={"csrf_token": token, "code": shown["code"]}).status_code
        == 422
    )


def test_an_in_person_learner_completes_by_attendance_and_a_paper_test(
    running, app, client, login, session
):
    """Issue 22's completion rule: attended at least N % of the sessions and passed the final
    test, here on paper (score entered by the trainer with a reason, audited). The online
    lessons are not required of them; the certificate says "Hình thức: trực tiếp"."""
    import io

    from pypdf import PdfReader

    from lms.app.storage import for_app as site_files
    from lms.models import AuditEvent, Certificate, TestAttempt
    from lms.services import assessment

    r = running
    learner = r["learners"][0]
    enrolment = session.scalar(select(Enrolment).where(Enrolment.user_id == learner.id))
    test = next(a for a in enrolment.version.activities if a.kind == "test")
    assert assessment.blocker(session, enrolment, test, r["mine"].starts_at).message == (
        "Finish every lesson before the final test."
    )
    login("gv.lan")
    class_url = f"/classes/{r['mine'].training_class.id}"
    token = csrf_token(client, class_url)
    client.post(
        f"/classes/sessions/{r['mine'].id}/marks",
        data={"csrf_token": token, f"status-{learner.id}": "present"},
    )
    session.rollback()
    assert assessment.blocker(session, enrolment, test, r["mine"].starts_at) is None

    def enter(score, note="Bài kiểm tra giấy ngày 9/12", who=learner.id):
        return client.post(
            class_url + "/paper-score",
            data={"csrf_token": token, "learner_id": who, "score": score, "note": note},
            follow_redirects=True,
        )

    assert "Hãy nhập một số từ 0 đến 10, ví dụ 8,5." in enter("11").get_data(as_text=True)
    assert "Hãy ghi lý do nhập điểm này." in enter("8", note="  ").get_data(as_text=True)
    assert enter("8", who=r["learners"][2].id).status_code == 422  # not on this roster
    assert "Đã ghi điểm 4/10 cho" in enter("4").get_data(as_text=True)
    session.rollback()
    assert session.get(Enrolment, enrolment.id).completed_at is None
    page = enter("8,5").get_data(as_text=True)
    assert "Đã ghi điểm 8,5/10 cho" in page
    session.rollback()
    assert session.get(Enrolment, enrolment.id).completed_at is not None
    attempts = session.scalars(select(TestAttempt).order_by(TestAttempt.number)).all()
    assert [(a.source, a.score, a.passed, a.note) for a in attempts] == [
        ("paper", 4.0, False, "Bài kiểm tra giấy ngày 9/12"),
        ("paper", 8.5, True, "Bài kiểm tra giấy ngày 9/12"),
    ]
    event = session.scalars(
        select(AuditEvent).where(AuditEvent.action == "test.paper_score")
    ).all()[-1]
    assert event.details["score"] == 8.5 and event.actor_id == r["trainer"].id
    certificate = session.scalars(select(Certificate)).one()
    data = site_files(app).local_path(certificate.files_path).read_bytes()
    text = PdfReader(io.BytesIO(data)).pages[0].extract_text()
    assert "Hình thức: trực tiếp" in text and "Kết quả: Đạt - 8,5/10" in text
    # A regrade of the course leaves paper scores as they were entered.
    assessment.regrade(session, enrolment.course)
    assert [a.score for a in session.scalars(select(TestAttempt))] == [4.0, 8.5]
    # Another trainer's class is not this trainer's.
    other_class = r["theirs"].training_class.id
    assert client.get(f"/classes/{other_class}").status_code == 404
    assert (
        client.post(
            f"/classes/{other_class}/paper-score",
            data={
                "csrf_token": token,
                "learner_id": r["learners"][2].id,
                "score": "9",
                "note": "x",
            },
        ).status_code
        == 404
    )


def test_the_attendance_sheet_and_export_show_what_was_recorded(
    running, app, client, login, session
):
    """The printable sheet (Vietnamese, one column per session with C/M/V/P, a signature
    column) and the XLSX give each learner's marks and rate; a trainer prints only their own
    class's sheet."""
    import io

    from openpyxl import load_workbook
    from pypdf import PdfReader

    r = running
    first, second = r["learners"][:2]
    now = r["mine"].starts_at + timedelta(minutes=30)
    marking.record_marks(
        session,
        r["trainer"],
        r["mine"],
        [
            Mark(first.id, AttendanceStatus.PRESENT, now),
            Mark(second.id, AttendanceStatus.EXCUSED, now),
        ],
        now,
    )
    session.commit()
    class_id = r["mine"].training_class.id
    login("qt.dongtrieu")
    pdf = client.get(f"/admin/classes/{class_id}/attendance.pdf")
    assert pdf.mimetype == "application/pdf"
    text = PdfReader(io.BytesIO(pdf.data)).pages[0].extract_text()
    assert "DANH SÁCH ĐIỂM DANH" in text and "Ký tên" in text and "Lớp A" in text
    assert "C: có mặt · M: đến muộn · V: vắng · P: vắng có phép" in text
    unit = r["district"].name
    assert f"{first.username}\n{unit}\nC\n1/1 (100%)" in text
    assert f"{second.username}\n{unit}\nP\n0/0 (0%)" in text

    sheet = load_workbook(io.BytesIO(client.get(f"/admin/classes/{class_id}/attendance.xlsx").data))
    rows = list(sheet.active.iter_rows(values_only=True))
    assert rows[0][:3] == ("Họ và tên", "Tên đăng nhập", "Đơn vị")
    by_user = {row[1]: row for row in rows[1:]}
    assert by_user[first.username][3:] == ("Có mặt", 1, 1, 1, "Có", "Không")
    assert by_user[second.username][3:] == ("Có phép", 0, 0, 0, "Không", "Không")

    trainer = app.test_client()
    LoggedIn(trainer)("gv.lan")
    assert trainer.get(f"/classes/{class_id}/attendance.pdf").mimetype == "application/pdf"
    other = r["theirs"].training_class.id
    assert trainer.get(f"/classes/{other}/attendance.pdf").status_code == 404
    assert trainer.get(f"/admin/classes/{class_id}/attendance.xlsx").status_code == 403


def test_reports_count_classes_sessions_attendance_and_in_person_completions(
    make, app, session, client, login
):
    """The dashboard's in-person figures per unit, checked against counts made by hand: held
    sessions only, the attendance rate over learner-sessions (excused ones left out), and the
    completions of learners who met their class's rule; a unit admin sees their subtree only."""
    import csv
    import io

    from lms.models import utcnow
    from lms.services import assessment, reports

    province = make.unit(name="LĐLĐ tỉnh")
    a = make.unit(province, name="LĐLĐ huyện A", code="A")
    b = make.unit(province, name="LĐLĐ huyện B", code="B")
    site = make.site_admin(username="qt.tinh")
    make.unit_admin(a, username="qt.a")
    version = make.course(app.config["HOCVU_FILES_DIR"])
    l1, l2 = make.learner(a, username="hv.a1"), make.learner(a, username="hv.a2")
    l3 = make.learner(b, username="hv.b1")
    trainer = make.user(a, username="gv.a")
    scope = Scope.of(site)
    now = utcnow()
    class_a = classes.save_class(
        session, scope, site, name="Lớp A", course=version.course, unit=a, min_attendance=100
    )
    class_b = classes.save_class(session, scope, site, name="Lớp B", course=version.course, unit=b)
    for day in (2, 1):
        classes.add_session(
            session,
            class_a,
            now - timedelta(days=day),
            now - timedelta(days=day) + timedelta(hours=3),
        )
    classes.add_session(session, class_a, now + timedelta(days=1), now + timedelta(days=1, hours=3))
    classes.add_session(session, class_b, now - timedelta(days=1), now - timedelta(hours=20))
    classes.add_members(session, scope, site, class_a, [l1, l2])
    classes.add_members(session, scope, site, class_b, [l3])
    first, second, future = class_a.sessions
    for meeting, status_1, status_2 in (
        (first, AttendanceStatus.PRESENT, AttendanceStatus.PRESENT),
        (second, AttendanceStatus.LATE, AttendanceStatus.ABSENT),
        (future, AttendanceStatus.PRESENT, AttendanceStatus.PRESENT),  # marked ahead
    ):
        marking.record_marks(
            session, trainer, meeting, [Mark(l1.id, status_1, now), Mark(l2.id, status_2, now)], now
        )
    marking.record_marks(
        session, trainer, class_b.sessions[0], [Mark(l3.id, AttendanceStatus.EXCUSED, now)], now
    )
    enrolment = session.scalar(select(Enrolment).where(Enrolment.user_id == l1.id))
    test = next(x for x in enrolment.version.activities if x.kind == "test")
    assessment.record_paper_score(session, trainer, enrolment, test, 9, "Bài giấy", now)
    session.commit()
    assert session.get(Enrolment, enrolment.id).completed_at is not None

    total, rows = reports.class_figures(session, scope, version.course_id, province, now)
    by_unit = {r.name: r.counts for r in rows}
    # A: 2 sessions held (the third is tomorrow); l1 attended 2, l2 1: 3 of 4; l1 completed.
    assert by_unit["LĐLĐ huyện A"].as_dict() == {
        "classes": 1,
        "sessions": 2,
        "learners": 2,
        "attended": 3,
        "counted": 4,
        "completed": 1,
    }
    # B: 1 session held, its one learner excused: nothing counted.
    assert by_unit["LĐLĐ huyện B"].as_dict() == {
        "classes": 1,
        "sessions": 1,
        "learners": 1,
        "attended": 0,
        "counted": 0,
        "completed": 0,
    }
    assert (total.classes, total.sessions, total.learners, total.completed) == (2, 3, 3, 1)
    assert total.rate == 0.75

    login("qt.a")
    exported = client.get("/admin/reports/export/classes.csv").get_data(as_text=True)
    units = [line[1] for line in csv.reader(io.StringIO(exported.lstrip("\ufeff")))]
    assert "LĐLĐ huyện A" in units and "LĐLĐ huyện B" not in units
    page = client.get("/admin/reports/").get_data(as_text=True)
    assert "Lớp học trực tiếp của từng đơn vị" in page and "75%" in page

    # The frozen periodic report of the province prints the same figures in its section 5.
    from pypdf import PdfReader

    from lms.models import Report
    from lms.services import clock

    app.config["HOCVU_JOBS_INLINE"] = True
    site_client = app.test_client()
    LoggedIn(site_client)("qt.tinh")
    today = clock.today()  # the site's day (Vietnam), which the report's period is in
    token = csrf_token(site_client, "/admin/reports/periodic")
    issued = site_client.post(
        "/admin/reports/periodic",
        data={
            "csrf_token": token,
            "unit_id": province.id,
            "course_id": version.course_id,
            "kind": "custom",
            "start": (today - timedelta(days=30)).isoformat(),
            "end": today.isoformat(),
            "year": today.year,
            "half": "1",
        },
    )
    assert issued.status_code == 302, issued.get_data(as_text=True)[:2000]
    report = session.scalars(select(Report)).one()
    assert report.data["classes"]["total"]["completed"] == 1
    pdf = site_client.get(f"/admin/reports/periodic/{report.id}.pdf").data
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)
    assert "5. Lớp học trực tiếp" in text
    assert "LĐLĐ huyện A\n1\n2\n2\n75 %\n1" in text


def test_a_class_deadline_extends_its_learners_and_a_unit_fills_the_roster(
    setup, client, login, post, session, make
):
    """A class's own deadline gives its learners until that day when it is later than theirs
    (an extension naming the class, so it survives a recomputation); an earlier one leaves them
    alone; a day in the past is refused. "Every learner of a unit" adds the unit's learners."""
    from lms.models import DeadlineExtension
    from lms.services import clock, deadlines

    s = setup
    today = clock.today()
    early = make.learner(s["district"], username="hv.som", issued_at=today - timedelta(days=8))
    fresh = make.learner(s["district"], username="hv.moi", issued_at=today)
    make.commit()
    login("qt.dongtrieu")
    past = post(
        "/admin/classes/new",
        {
            "name": "Lớp có hạn",
            "course_id": s["course"].id,
            "org_unit_id": s["district"].id,
            "min_attendance": "80",
            "due_on": (today - timedelta(days=1)).isoformat(),
        },
    )
    assert past.status_code == 422
    assert "Hạn của lớp không thể là một ngày đã qua." in past.get_data(as_text=True)
    created = post(
        "/admin/classes/new",
        {
            "name": "Lớp có hạn",
            "course_id": s["course"].id,
            "org_unit_id": s["district"].id,
            "min_attendance": "80",
            "due_on": (today + timedelta(days=5)).isoformat(),
        },
    )
    assert created.status_code == 302
    added = post(
        created.location + "/members",
        {"members-usernames": "", "members-cohort_id": "0", "members-unit_id": s["district"].id},
        form_page=created.location,
    )
    assert added.status_code == 302
    session.rollback()
    from lms.models import ClassMember, User

    on_roster = set(session.scalars(select(User.username).join(ClassMember)))
    learners_of_district = {
        u.username
        for u in session.scalars(select(User).where(User.org_unit_id == s["district"].id))
        if u.has_role(Role.LEARNER)
    }
    assert on_roster == learners_of_district and {"hv.som", "hv.moi"} <= on_roster

    def due(user):
        enrolment = session.scalar(select(Enrolment).where(Enrolment.user_id == user.id))
        return deadlines.due_day(enrolment.due_at), enrolment

    day, enrolment = due(early)  # issued 8 days ago: 2 days left, so the class's day is later
    assert day == today + timedelta(days=5)
    extension = session.scalars(
        select(DeadlineExtension).where(DeadlineExtension.enrolment_id == enrolment.id)
    ).one()
    assert extension.reason == "Lớp trực tiếp: Lớp có hạn"
    deadlines.recompute(enrolment)  # a later recomputation keeps it
    assert deadlines.due_day(enrolment.due_at) == today + timedelta(days=5)
    day, enrolment = due(fresh)  # issued today: 10 days, later than the class's day
    assert day == today + timedelta(days=10)


def test_every_trainer_endpoint_refuses_another_class(running, app, client, login):
    """Walks the URL map, so that a new trainer page cannot forget whose class it serves: for
    another trainer's class or session, every method answers 404 and shows nothing of it."""
    r = running
    login("gv.lan")
    token = csrf_token(client, "/classes")
    ids = {"class_id": r["theirs"].training_class.id, "session_id": r["theirs"].id}
    checked = set()
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("classes.") or not rule.arguments:
            continue
        path = rule.build({arg: ids[arg] for arg in rule.arguments}, append_unknown=False)[1]
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            response = client.open(path, method=method, data={"csrf_token": token})
            assert response.status_code == 404, (rule.endpoint, method)
            assert "Lớp B" not in response.get_data(as_text=True)
        checked.add(rule.endpoint)
    assert checked >= {
        "classes.roster",
        "classes.mark",
        "classes.code",
        "classes.class_view",
        "classes.paper_score",
        "classes.sheet",
    }
