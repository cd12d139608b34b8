"""A reload of a SCORM lesson: the new page's launch and the old page's last commit (its
Terminate, sent while the page went away) reach the server together, in either order.

The browser sends the reload's GET before the old page unloads, so the old page's last
commits and the new page's launch (POST .../runtime) race. Whatever their order, nothing
the learner did is lost and the new session is the one that plays: RTE 3.1.3.3 (Terminate
ends the communication session of the SCO that called it, not a later one), SN 4.2 (the
LMS delivers the activity the learner asked for).

Each test makes the other request land in the middle of the first one, through a second
database session (the same as a second server thread)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session as OrmSession

from lms.app.extensions import db
from lms.models import Registration, ScoState, User
from lms.services import tracking
from lms.web import player
from lms.web.common import LOGIN_KEY, session_rules
from tests.lms import test_scorm_sequencing as sequencing_tests
from tests.lms.test_scorm_sequencing import launched, page
from tests.lms.test_scorm_tracking import enrolled, runtime, send

# The fixtures of the SCORM 2004 lesson-page tests: the learner and their sequenced courses.
learner = sequencing_tests.learner
course = sequencing_tests.course

SUSPEND = [["cmi.location", "trang-3"], ["cmi.exit", "suspend"]]


def _login_key(client) -> str:
    with client.session_transaction() as cookie:
        return cookie[LOGIN_KEY]


def _commit_elsewhere(app, user_id: int, key: str, state_id: int, body: dict) -> None:
    """The old page's commit taken by another server thread, to its end."""
    with OrmSession(db.engine) as other:
        user = other.get(User, user_id)
        epoch = user.auth_epoch
    with db.engine.connect() as connection:
        rules = session_rules(app.config)
        row = tracking.find_for_commit(connection, state_id, user_id, epoch, key, rules)
        assert row is not None
        work = tracking.CommitWork(connection)
        try:
            assert tracking.commit(work, row, body).taken
            work.flush()
        finally:
            work.close()
        connection.commit()


def _state(session) -> ScoState:
    session.rollback()
    return session.scalars(select(ScoState)).one()


def test_an_old_pages_terminate_after_the_new_launch_is_refused_and_ends_nothing(
    client,
    login,
    course,
    session,
    monkeypatch,
):
    """The old page's Terminate was read before the reload's launch and would be stored after
    it: it is refused as superseded (409), the new session stays open and the engine keeps
    the part delivered, so the new page's part plays on."""
    version = course("ordered")
    login("hv.seq")
    page(client, version)
    old = runtime(client, version, 0)
    assert send(client, old, 1, [["cmi.location", "trang-3"]]).status_code == 200
    real = tracking.find_for_commit

    def launch_meanwhile(connection_session, state_id, *args, **kwargs):
        found = real(connection_session, state_id, *args, **kwargs)
        with OrmSession(db.engine) as other:  # the reload's launch, in another thread
            state = other.get(ScoState, state_id)
            user = other.get(User, found.user_id)
            tracking.start_session(other, state, user, "resume")
            other.commit()
        return found

    monkeypatch.setattr(player.tracking, "find_for_commit", launch_meanwhile)
    answer = send(client, old, 2, SUSPEND, terminated=True)
    monkeypatch.setattr(player.tracking, "find_for_commit", real)
    assert answer.status_code == 409
    assert "mở lại ở một thẻ khác" in answer.get_json()["message"]
    state = _state(session)
    assert state.session_key != old["session"]
    assert not state.terminated and state.sessions == 2
    assert session.scalars(select(Registration)).one().delivered == "part_1"
    assert launched(page(client, version)) == 0


def test_an_old_pages_terminate_during_the_new_launch_is_kept_and_the_part_resumes(
    client,
    login,
    course,
    session,
    app,
    learner,
    monkeypatch,
):
    """The old page's Terminate (cmi.exit = suspend, no request) is stored while the launch
    has read the state but not yet started its session: the launch reads it again, the
    engine delivers the part again (a choice of the current activity) and the SCO resumes
    with what the old page saved."""
    version = course("ordered")
    login("hv.seq")
    page(client, version)
    old = runtime(client, version, 0)
    key = _login_key(client)
    real = tracking.state_for

    def terminate_meanwhile(*args, **kwargs):
        state = real(*args, **kwargs)
        _commit_elsewhere(
            app,
            learner.id,
            key,
            state.id,
            {"session": old["session"], "seq": 1, "data": SUSPEND, "terminated": True},
        )
        return state

    monkeypatch.setattr(player.tracking, "state_for", terminate_meanwhile)
    new = runtime(client, version, 0)
    monkeypatch.setattr(player.tracking, "state_for", real)
    assert new["launch"]["entry"] == "resume"
    assert ["cmi.location", "trang-3"] in new["stored"]
    state = _state(session)
    assert state.session_key == new["session"] and not state.terminated
    assert session.scalars(select(Registration)).one().delivered == "part_1"
    answer = send(client, new, new["seq"] + 1, [["cmi.location", "trang-4"]])
    assert answer.status_code == 200 and answer.get_json()["taken"]


def test_a_scorm_12_commit_during_a_launch_is_not_overwritten_by_it(
    client, login, make, session, app, monkeypatch
):
    """SCORM 1.2: the old page's last commit (its suspend_data) stored while the new launch
    was under way is what the new session starts with, not the state the launch read
    before it."""
    user = make.learner(make.unit(), username="hv.scorm", full_name="Nguyễn Văn Bình")
    make.commit()
    version = enrolled(make, session, app.config["HOCVU_FILES_DIR"], user)
    login("hv.scorm")
    old = runtime(client, version)
    assert send(client, old, 1, [["cmi.core.lesson_location", "p2"]]).status_code == 200
    key = _login_key(client)
    real = tracking.state_for
    last = [
        ["cmi.core.lesson_location", "p9"],
        ["cmi.suspend_data", "câu-3=đúng"],
        ["cmi.core.exit", "suspend"],
    ]

    def commit_meanwhile(*args, **kwargs):
        state = real(*args, **kwargs)
        _commit_elsewhere(
            app,
            state.enrolment.user_id,
            key,
            state.id,
            {"session": old["session"], "seq": 2, "data": last, "terminated": True},
        )
        return state

    monkeypatch.setattr(player.tracking, "state_for", commit_meanwhile)
    new = runtime(client, version)
    monkeypatch.setattr(player.tracking, "state_for", real)
    assert new["launch"]["entry"] == "resume"
    assert ["cmi.suspend_data", "câu-3=đúng"] in new["stored"]
    assert ["cmi.core.lesson_location", "p9"] in new["stored"]
    data = dict(_state(session).data)
    assert data["cmi.suspend_data"] == "câu-3=đúng"
