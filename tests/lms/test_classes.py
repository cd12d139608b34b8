"""In-person classes (issue 22): a unit admin sets a class up inside their scope, trainers'
marks survive a late or repeated offline queue, learners check in with the session's
short-lived code, and the class's attendance rule is computed as the admin set it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from lms.models import Attendance, AttendanceStatus, Enrolment, Role
from lms.services import classes
from lms.services.classes import Mark
from lms.services.errors import DomainError, Forbidden, NotFound
from lms.services.scope import Scope

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
    assert classes.record_marks(session, s["trainer"], meeting, newer, now) == 1
    assert classes.record_marks(session, s["trainer"], meeting, older, now) == 1
    assert classes.record_marks(session, s["trainer"], meeting, older + newer, now) == 0
    stored = {a.user_id: a.status for a in session.scalars(select(Attendance))}
    assert stored == {first.id: AttendanceStatus.ABSENT, second.id: AttendanceStatus.LATE}
    with pytest.raises(DomainError, match="not on the class's roster"):
        classes.record_marks(
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
    code = classes.check_in_code(SECRET, first.id, at)
    assert len(code) == 6 and code.isdigit()
    # The code of one minute ago is still taken; the learner typed spaces.
    typed = f"{code[:3]} {code[3:]}"
    assert classes.check_in(session, SECRET, learner, typed, at + timedelta(seconds=60)) is first
    # Yesterday's code (or another session's) is refused today; so is the outsider.
    tomorrow = at + timedelta(days=1)
    with pytest.raises(DomainError, match="not the code of a session"):
        classes.check_in(session, SECRET, late, code, tomorrow)
    with pytest.raises(DomainError, match="not the code of a session"):
        classes.check_in(session, SECRET, s["outsider"], code, at)
    later = START + timedelta(days=1, minutes=40)
    classes.check_in(session, SECRET, late, classes.check_in_code(SECRET, second.id, later), later)
    stored = {
        (a.session_id, a.user_id): (a.status, a.source) for a in session.scalars(select(Attendance))
    }
    assert stored == {
        (first.id, learner.id): (AttendanceStatus.PRESENT, "code"),
        (second.id, late.id): (AttendanceStatus.LATE, "code"),
    }
    # A trainer's mark is not overwritten by a check-in.
    classes.record_marks(
        session, s["trainer"], first, [Mark(late.id, AttendanceStatus.EXCUSED, at)], at
    )
    classes.check_in(session, SECRET, late, classes.check_in_code(SECRET, first.id, at), at)
    assert session.get(Attendance, (first.id, late.id)).status == AttendanceStatus.EXCUSED
    with pytest.raises(DomainError, match="6 digits"):
        classes.check_in(session, SECRET, learner, "12a", at)


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
        classes.record_marks(session, s["trainer"], meeting, batch, at)
    result = {a.user.username: a for a in classes.attendance_of(session, training_class)}
    assert (result["hv.0"].attended, result["hv.0"].counted) == (2, 3)
    assert round(result["hv.0"].percent, 1) == 66.7 and not result["hv.0"].meets_rule
    assert (result["hv.1"].attended, result["hv.1"].counted, result["hv.1"].meets_rule) == (
        2,
        2,
        True,
    )
    assert result["hv.2"].percent == 0 and not result["hv.2"].meets_rule
