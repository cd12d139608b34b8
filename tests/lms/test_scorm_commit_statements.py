"""How many SQL statements a SCORM commit costs: the endpoint every learner of a batch calls
every 30 s (issue 24: twice the learners per core). Counted on the database engine
(SQLAlchemy's before_cursor_execute event) around the commit request alone, so that a change
that brings back a reload, a second lookup of the registration or a statement per value
shows here rather than in a load test.

A SCORM 1.2 commit is one SELECT (the state with its owner, login session and package
checked) and one UPDATE. A SCORM 2004 commit reads the learner's registration in the same
SELECT; when it changes nothing the SN engine reads (a new bookmark or suspend data, the
same statuses and score: most commits of a lesson), it needs nothing more and answers with
the adl.nav.request_valid.* values kept beside the registration's state.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import pytest
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from lms.app.extensions import db
from lms.models import ActivityProgress, ProgressStatus, Registration, ScormPackage, ScoState
from lms.services.tracking import commits, rollup, sequencing
from scorm.sequencing.sequencer import Sequencer
from tests.lms.test_scorm_sequencing import PASSED, page
from tests.lms.test_scorm_sequencing import course as course  # noqa: F401 - fixture
from tests.lms.test_scorm_sequencing import learner as learner  # noqa: F401 - fixture
from tests.lms.test_scorm_tracking import _token, enrolled, runtime, send


@contextlib.contextmanager
def statements(app) -> Iterator[list[str]]:
    """The SQL statements run on the app's engine inside the block (SAVEPOINTs included,
    BEGIN and COMMIT are not statements here)."""
    with app.app_context():
        engine = db.engine
    seen: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        seen.append(" ".join(statement.split())[:120])

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def verbs(seen: list[str]) -> list[str]:
    return [s.split()[0].upper() for s in seen]


BOOKMARK_12 = [
    ["cmi.core.lesson_location", "trang-3"],
    ["cmi.suspend_data", "a=1;b=2"],
    ["cmi.core.lesson_status", "incomplete"],
    ["cmi.core.exit", "suspend"],
]


def test_a_scorm_12_commit_is_one_select_and_one_update(app, client, login, make, session):
    """RTE 1.2 LMSCommit: the state found with its owner checked, then stored."""
    version = enrolled(
        make,
        session,
        app.config["HOCVU_FILES_DIR"],
        make.learner(make.unit(), username="hv.scorm", full_name="Nguyễn Văn Bình"),
    )
    login("hv.scorm")
    rt = runtime(client, version)
    token = _token(client)
    assert send(client, rt, 1, BOOKMARK_12, token=token).get_json()["taken"] is True
    for seq in (2, 3):
        data = [*BOOKMARK_12, ["cmi.core.lesson_location", f"trang-{seq + 2}"]]
        with statements(app) as seen:
            answer = send(client, rt, seq, data, token=token).get_json()
        assert answer["taken"] is True
        assert verbs(seen) == ["SELECT", "UPDATE"], seen


@contextlib.contextmanager
def in_transaction(app) -> Iterator[list[tuple[str, bool]]]:
    """Each statement run on the app's engine inside the block (its verb and table), and
    whether the database connection was inside a transaction after it (PostgreSQL only)."""
    with app.app_context():
        engine = db.engine
    seen: list[tuple[str, bool]] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        words = statement.split()
        table = words[1] if words[0].upper() == "UPDATE" else ""
        status = conn.connection.dbapi_connection.info.transaction_status
        seen.append((f"{words[0].upper()} {table}".strip(), status.name != "IDLE"))

    event.listen(engine, "after_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "after_cursor_execute", record)


def test_on_postgresql_a_commit_of_the_state_alone_is_two_round_trips(
    app, client, login, make, session, backend
):
    """On PostgreSQL the SELECT and the lone UPDATE each run as their own statement, without
    BEGIN and COMMIT around them (lms.services.tracking.work: four round trips were two of
    them); the UPDATE's own conditions keep the commits ordered."""
    if backend != "postgresql":
        pytest.skip("SQLite keeps the commit's transaction")
    version = enrolled(
        make,
        session,
        app.config["HOCVU_FILES_DIR"],
        make.learner(make.unit(), username="hv.scorm", full_name="Nguyễn Văn Bình"),
    )
    login("hv.scorm")
    rt = runtime(client, version)
    token = _token(client)
    assert send(client, rt, 1, BOOKMARK_12, token=token).get_json()["taken"] is True
    with in_transaction(app) as seen:
        answer = send(client, rt, 2, BOOKMARK_12, token=token).get_json()
    assert answer["taken"] is True
    assert seen == [("SELECT", False), ("UPDATE sco_state", False)], seen
    with in_transaction(app) as seen:
        answer = send(client, rt, 2, BOOKMARK_12, token=token).get_json()
    assert answer["taken"] is False  # a replay: the same number again changes nothing
    assert seen == [("SELECT", False)], seen


def _pooled_autocommit(app) -> list[bool]:
    """Whether each connection the pool holds now is in autocommit (all checked out at once,
    so that each is seen)."""
    with app.app_context():
        engine = db.engine
    held = [engine.raw_connection() for _ in range(engine.pool.checkedin())]
    try:
        return [bool(raw.dbapi_connection.autocommit) for raw in held]
    finally:
        for raw in held:
            raw.close()


def test_on_postgresql_the_pool_takes_the_commits_connection_back_with_transactions(
    app, client, launched_2004, session, backend
):
    """The commit's connection is lent in autocommit (lms.services.tracking.work); the pool
    takes it back out of it, so that the next request's ORM session writes in a transaction
    (after a lone UPDATE, and after a commit that began a transaction of its own)."""
    if backend != "postgresql":
        pytest.skip("SQLite keeps the commit's transaction")
    version, rt, token = launched_2004
    assert send(client, rt, 1, bookmark_2004("p1"), token=token).get_json()["taken"] is True
    with in_transaction(app) as seen:  # a bookmark alone: the lone UPDATE
        assert send(client, rt, 2, bookmark_2004("p2"), token=token).get_json()["taken"] is True
    assert seen == [("SELECT", False), ("UPDATE sco_state", False)], seen
    held = _pooled_autocommit(app)
    assert held and not any(held), held
    answer = send(client, rt, 3, [*bookmark_2004("p3"), *PASSED], token=token).get_json()
    assert answer["taken"] is True
    held = _pooled_autocommit(app)
    assert held and not any(held), held
    refused = send(client, rt, 4, [["cmi.location"]], token=token)  # not a pair: rolled back
    assert refused.status_code == 400
    held = _pooled_autocommit(app)
    assert held and not any(held), held


def bookmark_2004(location: str) -> list[list[str]]:
    return [
        ["cmi.location", location],
        ["cmi.suspend_data", f"trang={location}"],
        ["cmi.completion_status", "incomplete"],
        ["cmi.exit", "suspend"],
    ]


@pytest.fixture
def launched_2004(app, client, login, course):
    """A SCORM 2004 lesson (part 1 of "ordered") opened and its SCO launched."""
    version = course("ordered")
    login("hv.seq")
    page(client, version)
    return version, runtime(client, version, 0), _token(client)


def test_a_scorm_2004_commit_that_changes_nothing_the_engine_reads_runs_no_more(
    app, client, launched_2004, session
):
    """RTE 4.1.5 Commit with a new bookmark and suspend data only (cmi.location,
    cmi.suspend_data: SN 4.2 maps neither into the tracking model): the SN engine's state is
    unchanged, so the commit is the SELECT that also reads the registration and the UPDATE
    of the SCO's state; adl.nav.request_valid.* (RTE 4.4.2) are those the previous commit
    answered."""
    version, rt, token = launched_2004
    first = send(client, rt, 1, bookmark_2004("p1"), token=token).get_json()
    assert first["taken"] is True
    for seq in (2, 3):
        with statements(app) as seen:
            answer = send(client, rt, seq, bookmark_2004(f"p{seq}"), token=token).get_json()
        assert answer["taken"] is True
        assert answer["nav_valid"] == first["nav_valid"]
        assert answer["navigation"] is None
        assert verbs(seen) == ["SELECT", "UPDATE"], seen


FAILED_ONCE = [["cmi.success_status", "failed"], ["cmi.score.scaled", "0.2"]]


def test_the_same_values_again_are_news_to_the_engine_once_its_state_changed(
    app, client, launched_2004, session
):
    """Whether a commit's report is the one the engine holds is kept by the state's digest
    and the values' (lms.services.tracking.sequencing): a bookmark committed again after the
    SCO passed (the engine then holds the passing report) is reported to the engine again,
    although the same values were quiet before (RTE 4.1.5: each Commit persists what the SCO
    set; SN 4.2: the engine reads the statuses)."""
    version, rt, token = launched_2004
    send(client, rt, 1, bookmark_2004("p1"), token=token)
    with statements(app) as seen:
        assert send(client, rt, 2, bookmark_2004("p1"), token=token).get_json()["taken"] is True
    assert verbs(seen) == ["SELECT", "UPDATE"], seen
    passed = send(client, rt, 3, [*bookmark_2004("p1"), *PASSED], token=token).get_json()
    assert passed["taken"] is True
    with statements(app) as seen:
        assert send(client, rt, 4, bookmark_2004("p1"), token=token).get_json()["taken"] is True
    assert any(s.startswith("UPDATE scorm_registration") for s in seen), seen
    session.rollback()
    stored = session.scalars(select(Registration)).one()
    pending = stored.state["activities"]["part_1"]["pending"]
    assert pending["success_status"] == "unknown", pending


def test_a_scorm_2004_commit_that_the_engine_reads_stores_the_registration_once(
    app, client, launched_2004, session
):
    """A commit with a new success status and score (SN 4.2: they map to the primary
    objective) is reported to the engine: the registration is stored once, with its
    adl.nav.request_valid.* values, over the version the commit's SELECT read (no second
    read of the registration, no SAVEPOINT, no reload after it was stored)."""
    version, rt, token = launched_2004
    send(client, rt, 1, bookmark_2004("p1"), token=token)
    with statements(app) as seen:
        answer = send(client, rt, 2, [*bookmark_2004("p2"), *FAILED_ONCE], token=token)
    assert answer.get_json()["taken"] is True
    shown = "\n".join(seen)
    assert sum("scorm_registration" in s for s in seen) == 1, shown
    assert [s for s in seen if "scorm_registration" in s][0].startswith(
        "UPDATE scorm_registration"
    ), shown
    assert not [s for s in seen if "SAVEPOINT" in s], shown
    # The SELECT and UPDATE of the state and of the registration, and the activity's
    # progress read for the roll-up with its enrolment and activity.
    assert len(seen) <= 6, shown
    session.rollback()
    stored = session.scalars(select(Registration)).one()
    assert stored.nav_valid == answer.get_json()["nav_valid"]


def test_on_postgresql_a_commit_the_engine_reads_is_one_transaction(
    app, client, launched_2004, session, backend
):
    """A commit that writes more than its state's row (here the registration's report and
    the roll-up of the activity's progress) writes it all in one transaction, as on SQLite:
    the SCO's state is never stored without the engine's report of it."""
    if backend != "postgresql":
        pytest.skip("SQLite keeps the commit's transaction")
    version, rt, token = launched_2004
    send(client, rt, 1, bookmark_2004("p1"), token=token)
    with in_transaction(app) as seen:
        answer = send(client, rt, 2, [*bookmark_2004("p2"), *PASSED], token=token)
    assert answer.get_json()["taken"] is True
    assert seen[0] == ("SELECT", False), seen
    writes = [s for s in seen[1:] if not s[0].startswith("SELECT")]
    assert ("UPDATE sco_state", True) in writes and ("UPDATE scorm_registration", True) in writes
    assert all(inside for _, inside in seen[1:]), seen


def test_kept_values_follow_the_engine_after_a_change(app, client, launched_2004, session):
    """SN book, "ordered": continue from part 1 is valid once part 1 is passed. A bookmark
    commit after the passing one answers with the values of the passed state (kept when it
    was stored), as the engine finds them."""
    version, rt, token = launched_2004
    first = send(client, rt, 1, bookmark_2004("p1"), token=token).get_json()
    assert first["nav_valid"]["adl.nav.request_valid.continue"] == "false"
    passed = send(client, rt, 2, [*bookmark_2004("p2"), *PASSED], token=token).get_json()
    assert passed["nav_valid"]["adl.nav.request_valid.continue"] == "true"
    with statements(app) as seen:
        again = send(client, rt, 3, [*bookmark_2004("p3"), *PASSED], token=token).get_json()
    assert verbs(seen) == ["SELECT", "UPDATE"], seen
    assert again["nav_valid"] == passed["nav_valid"]
    session.rollback()
    stored = session.scalars(select(Registration)).one()
    package = session.get(ScormPackage, stored.package_id)
    tree = sequencing.tree_of(session, package, None)
    engine = Sequencer(tree, stored.state, stored.seed)
    assert sequencing.nav_valid(engine) == again["nav_valid"]


def test_a_report_that_leaves_the_lessons_status_as_it_was_needs_no_roll_up(
    app, client, launched_2004, session
):
    """A new cmi.session_time (SN 4.2: it adds to the attempt's duration) changes the
    engine's state but not the root's completion and success: the report is stored with
    its adl.nav.request_valid.* values, and the activity's progress, which follows the
    root's status, is not read again."""
    version, rt, token = launched_2004
    send(client, rt, 1, [*bookmark_2004("p1"), ["cmi.session_time", "PT1M"]], token=token)
    with statements(app) as seen:
        answer = send(
            client, rt, 2, [*bookmark_2004("p2"), ["cmi.session_time", "PT2M"]], token=token
        )
    assert answer.get_json()["taken"] is True
    assert verbs(seen) == ["SELECT", "UPDATE", "UPDATE"], seen
    assert seen[2].startswith("UPDATE scorm_registration"), seen
    session.rollback()
    stored = session.scalars(select(Registration)).one()
    assert stored.state["activities"]["part_1"]["pending"]["session_time"] == 120.0


@contextlib.contextmanager
def orm_transactions() -> Iterator[list[Session]]:
    """The ORM sessions that began a transaction inside the block."""
    begun: list[Session] = []

    def record(orm_session, transaction):
        if transaction.parent is None:
            begun.append(orm_session)

    event.listen(Session, "after_transaction_create", record)
    try:
        yield begun
    finally:
        event.remove(Session, "after_transaction_create", record)


def test_a_commit_that_is_only_stored_runs_on_the_connection_without_an_orm_session(
    app, client, login, make, session
):
    """The hot path is two Core statements on one connection: no ORM session (its identity
    map, autoflush and transaction bookkeeping) is made for a SCORM 1.2 commit, nor for a
    SCORM 2004 one that the SN engine already has (lms.services.tracking.work)."""
    version = enrolled(
        make,
        session,
        app.config["HOCVU_FILES_DIR"],
        make.learner(make.unit(), username="hv.scorm", full_name="Nguyễn Văn Bình"),
    )
    login("hv.scorm")
    rt = runtime(client, version)
    token = _token(client)
    send(client, rt, 1, BOOKMARK_12, token=token)
    with orm_transactions() as begun:
        answer = send(client, rt, 2, BOOKMARK_12, token=token).get_json()
    assert answer["taken"] is True
    assert begun == []
    session.rollback()
    assert session.scalars(select(ScoState)).one().seq == 2


def test_a_2004_commit_the_engine_has_runs_without_an_orm_session(
    app, client, launched_2004, session
):
    version, rt, token = launched_2004
    send(client, rt, 1, bookmark_2004("p1"), token=token)
    with orm_transactions() as begun:
        answer = send(client, rt, 2, bookmark_2004("p2"), token=token).get_json()
    assert answer["taken"] is True
    assert begun == []


def test_the_roll_up_is_in_the_commits_transaction(app, client, login, make, session, monkeypatch):
    """A commit that satisfies the SCO rolls up through an ORM session joined to the
    commit's connection: when the roll-up fails, the state is not stored either (the
    browser keeps the commit and sends it again), and the next commit takes and rolls up."""
    version = enrolled(
        make,
        session,
        app.config["HOCVU_FILES_DIR"],
        make.learner(make.unit(), username="hv.scorm", full_name="Nguyễn Văn Bình"),
    )
    login("hv.scorm")
    rt = runtime(client, version)
    token = _token(client)
    done = [["cmi.core.score.raw", "85"], ["cmi.core.lesson_status", "completed"]]

    def failing(orm_session, enrolment, activity, now=None):
        rollup.roll_up(orm_session, enrolment, activity, now)
        orm_session.flush()
        raise RuntimeError("the roll-up failed")

    session.rollback()
    before = session.scalars(select(ScoState)).one()
    kept = (before.seq, before.data, before.completion, before.satisfied_at)
    monkeypatch.setattr(commits, "roll_up", failing)
    assert send(client, rt, 1, done, token=token).status_code == 500
    session.rollback()
    state = session.scalars(select(ScoState)).one()
    assert (state.seq, state.data, state.completion, state.satisfied_at) == kept
    assert session.scalars(select(ActivityProgress)).one().status != ProgressStatus.DONE

    monkeypatch.undo()
    answer = send(client, rt, 1, done, token=token).get_json()
    assert answer["taken"] is True and answer["satisfied"] is True
    session.rollback()
    assert session.scalars(select(ActivityProgress)).one().status == ProgressStatus.DONE


def test_a_new_session_time_alone_is_stored_without_trying_the_requests_again(
    app, client, launched_2004, session, monkeypatch
):
    """A SCO that reports its session time at each commit: with no duration limit in the
    package (SN UP.1: nothing the engine decides depends on the time), the report is stored
    and the kept adl.nav.request_valid.* values answer, as the engine finds them for the new
    state."""
    version, rt, token = launched_2004
    first = send(
        client, rt, 1, [*bookmark_2004("p1"), ["cmi.session_time", "PT1M"]], token=token
    ).get_json()
    tried = []
    real = sequencing.nav_valid
    monkeypatch.setattr(sequencing, "nav_valid", lambda seq: tried.append(1) or real(seq))
    with statements(app) as seen:
        answer = send(
            client, rt, 2, [*bookmark_2004("p2"), ["cmi.session_time", "PT3M"]], token=token
        ).get_json()
    assert answer["taken"] is True and tried == []
    assert answer["nav_valid"] == first["nav_valid"]
    assert verbs(seen) == ["SELECT", "UPDATE", "UPDATE"], seen
    session.rollback()
    stored = session.scalars(select(Registration)).one()
    assert stored.state["activities"]["part_1"]["pending"]["session_time"] == 180.0
    package = session.get(ScormPackage, stored.package_id)
    tree = sequencing.tree_of(session, package, None)
    assert tree.uses_durations is False
    assert real(Sequencer(tree, stored.state, stored.seed)) == answer["nav_valid"]
    assert stored.nav_valid == answer["nav_valid"]

    # A new status is tried again.
    monkeypatch.undo()
    passed = send(client, rt, 3, [*bookmark_2004("p3"), *PASSED], token=token).get_json()
    assert passed["nav_valid"]["adl.nav.request_valid.continue"] == "true"
