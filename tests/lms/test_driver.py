"""lms.app.driver: a Core statement run on the driver's cursor reads and writes what
`Connection.execute` would, on both databases: the same rows (types included), the same
transaction, the same events, the same errors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import bindparam, event, exc, func, insert, select, text, update
from sqlalchemy.pool import _ConnectionFairy

from lms.app.driver import Prepared
from lms.app.extensions import db
from lms.models import LoginSession, ScoState, User
from lms.services.tracking import commits
from tests.lms.test_scorm_tracking import enrolled, runtime, send
from tests.lms.test_scorm_tracking import files_dir as files_dir  # noqa: F401 - fixture
from tests.lms.test_scorm_tracking import learner as learner  # noqa: F401 - fixture

BOOKMARK = [
    ["cmi.core.lesson_location", "trang-3"],
    ["cmi.suspend_data", "a=1;b=2"],
    ["cmi.core.lesson_status", "passed"],
    ["cmi.core.score.raw", "85"],
    ["cmi.core.session_time", "00:01:05"],
]


@pytest.fixture
def committed(app, client, login, make, session, files_dir, learner):  # noqa: F811
    """A learner logged in whose SCO has taken a commit (users, login sessions, a package,
    an enrolment, a SCO's state with JSON, datetimes, booleans and enums in its columns)."""
    version = enrolled(make, session, files_dir, learner)
    login("hv.scorm")
    rt = runtime(client, version)
    assert send(client, rt, 1, BOOKMARK, terminated=True).get_json()["taken"] is True
    return rt


def _same(ours, core) -> None:
    assert ours == core
    assert [r._fields for r in ours] == [r._fields for r in core]
    assert [[type(v) for v in r] for r in ours] == [[type(v) for v in r] for r in core]


def test_every_table_reads_back_as_core_reads_it(app, committed):
    with app.app_context(), db.engine.connect() as connection:
        for table in db.metadata.sorted_tables:
            statement = select(table).order_by(*table.primary_key.columns)
            core = connection.execute(statement).all()
            _same(Prepared(statement).all(connection, {}), core)


def test_the_commits_statement_finds_the_row_core_finds(app, committed, session):
    """The SELECT of every commit: parameters through their bind processors (an aware
    datetime compared with a stored UTC one), the row's attributes as Core names them."""
    session.rollback()
    state = session.scalars(select(ScoState)).one()
    login = session.scalars(select(LoginSession)).one()
    user = session.get(User, login.user_id)
    now = datetime.now(UTC)
    params = {
        "state_id": state.id,
        "user_id": user.id,
        "epoch": user.auth_epoch,
        "login_key_hash": login.key_hash,
        "now": now,
        "idle_since": now - timedelta(hours=1),
    }
    with app.app_context(), db.engine.connect() as connection:
        core = connection.execute(commits._FIND.statement, params).one()
        row = commits._FIND.one_or_none(connection, params)
        _same([row], [core])
        assert row._mapping == dict(core._mapping)
        assert row.session_times == core.session_times and row.login_seen_at.tzinfo is UTC
        assert row.terminated is True
        gone = commits._FIND.one_or_none(connection, {**params, "idle_since": now})
        assert gone is None


def test_literal_values_are_bound_and_a_missing_parameter_is_refused(app, committed):
    with app.app_context(), db.engine.connect() as connection:
        state_id = connection.execute(select(ScoState.id)).scalar_one()
        by_literal = Prepared(select(ScoState.seq).where(ScoState.id == state_id))
        assert by_literal.scalar(connection, {}) == 1
        assert by_literal.scalar(connection, {}) == 1  # compiled once, run again
        needs = Prepared(select(ScoState.seq).where(ScoState.id == bindparam("state_id")))
        with pytest.raises(exc.StatementError, match="state_id"):
            needs.all(connection, {})
        connection.rollback()
        assert needs.one_or_none(connection, {"state_id": state_id + 100}) is None


def test_an_update_is_the_connections_transaction(app, committed):
    """Begun as Core's autobegin would: the caller's commit() keeps it, rollback() undoes it."""
    store = Prepared(
        update(ScoState).where(ScoState.id == bindparam("state_id")).values(seq=bindparam("seq"))
    )
    with app.app_context():
        engine = db.engine
    read = Prepared(select(ScoState.seq).where(ScoState.id == bindparam("state_id")))
    with engine.connect() as connection:
        state_id = connection.execute(select(ScoState.id)).scalar_one()
        connection.commit()
        assert store.rowcount(connection, {"state_id": state_id, "seq": 7}) == 1
        assert connection.in_transaction()
        connection.rollback()
        assert read.scalar(connection, {"state_id": state_id}) == 1
        assert store.rowcount(connection, {"state_id": state_id + 100, "seq": 9}) == 0
        assert store.rowcount(connection, {"state_id": state_id, "seq": 8}) == 1
        connection.commit()
    with engine.connect() as other:
        assert other.execute(select(ScoState.seq)).scalar_one() == 8


def test_a_commit_and_a_logged_in_page_run_on_the_drivers_cursor(
    app, client, committed, monkeypatch
):
    """Without a listener on the engine (production), nothing goes through Core's path."""

    def refused(*args):
        raise AssertionError("run through Connection.execute")

    monkeypatch.setattr(Prepared, "_through_core", refused)
    assert send(client, committed, 2, BOOKMARK).get_json()["taken"] is True
    assert client.get("/").status_code == 200


def test_the_engines_cursor_events_still_fire(app, committed):
    """Through Connection.execute, with its execution context (a listener may use it)."""
    with app.app_context():
        engine = db.engine
    seen = []

    def before(conn, cursor, statement, parameters, context, executemany):
        assert context is not None
        seen.append(("before", statement.split()[0]))

    def rewrite(conn, cursor, statement, parameters, context, executemany):
        return statement.replace("SELECT", "SELECT /* noted */"), parameters

    def after(conn, cursor, statement, parameters, context, executemany):
        seen.append(("after", statement.split()[1]))

    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "before_cursor_execute", rewrite, retval=True)
    event.listen(engine, "after_cursor_execute", after)
    try:
        with engine.connect() as connection:
            assert Prepared(select(ScoState.seq)).scalar(connection, {}) == 1
    finally:
        event.remove(engine, "before_cursor_execute", before)
        event.remove(engine, "before_cursor_execute", rewrite)
        event.remove(engine, "after_cursor_execute", after)
    assert seen == [("before", "SELECT"), ("after", "/*")]


def test_a_driver_error_is_wrapped_as_core_wraps_it(app, committed):
    with app.app_context(), db.engine.connect() as connection:
        row = connection.execute(select(LoginSession.__table__)).one()
        copy = Prepared(insert(LoginSession.__table__).values(**row._mapping))
        with pytest.raises(exc.IntegrityError):
            copy.rowcount(connection, {})
        connection.rollback()
        assert not connection.invalidated
        assert Prepared(select(LoginSession.id)).scalar(connection, {}) == row.id
        # Core closed the failed statement's cursor: the statement runs again on a new one.
        with pytest.raises(exc.IntegrityError):
            copy.rowcount(connection, {})
        connection.rollback()


def test_a_lost_connection_is_invalidated(app, committed, backend):
    """A disconnect raises Core's error, marked so, and the pool lets the connection go."""
    with app.app_context():
        engine = db.engine
    seq = Prepared(select(ScoState.seq))
    count = Prepared(select(func.count()).select_from(ScoState))
    with engine.connect() as connection:
        assert seq.scalar(connection, {}) == 1  # their cursors kept with the connection
        assert count.scalar(connection, {}) == 1
        connection.rollback()
        if backend == "postgresql":
            pid = connection.exec_driver_sql("SELECT pg_backend_pid()").scalar()
            connection.rollback()
            with engine.connect() as other:
                other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        else:
            connection.connection.dbapi_connection.close()
        with pytest.raises(exc.DBAPIError) as raised:
            seq.scalar(connection, {})
        assert raised.value.connection_invalidated
        assert connection.invalidated
        connection.rollback()
        assert seq.scalar(connection, {}) == 1  # a new connection, and a cursor of its own
        assert count.scalar(connection, {}) == 1  # not the dead connection's kept cursor


def test_expanding_parameters_are_refused_when_prepared(app):
    with app.app_context(), db.engine.connect() as connection:
        statement = Prepared(select(User.id).where(User.id.in_(bindparam("ids", expanding=True))))
        with pytest.raises(ValueError, match="not supported"):
            statement.all(connection, {"ids": [1]})


def test_a_parameter_named_after_a_column_an_update_does_not_set_is_refused(app, committed):
    """Connection.execute would add it to the SET clause; the statement must name it."""
    store = Prepared(update(ScoState).where(ScoState.id == bindparam("state_id")).values(seq=5))
    with app.app_context(), db.engine.connect() as connection:
        state_id = connection.execute(select(ScoState.id)).scalar_one()
        with pytest.raises(ValueError, match="exit"):
            store.rowcount(connection, {"state_id": state_id, "exit": "suspend"})
        assert store.rowcount(connection, {"state_id": state_id}) == 1


def test_a_statement_keeps_one_cursor_per_connection(app, committed, monkeypatch):
    """psycopg sets up each new cursor's adapters and column loaders again (a quarter of the
    commit's SELECT): a statement makes one cursor per DB-API connection, at its first run
    there, and statements run in turn on two connections each read their own rows."""
    made = []
    cursor = _ConnectionFairy.cursor

    def counted(fairy, *args, **kwargs):
        made.append(fairy.dbapi_connection)
        return cursor(fairy, *args, **kwargs)

    monkeypatch.setattr(_ConnectionFairy, "cursor", counted)
    with app.app_context():
        engine = db.engine
    seq = Prepared(select(ScoState.seq).where(ScoState.id == bindparam("state_id")))
    store = Prepared(
        update(ScoState).where(ScoState.id == bindparam("state_id")).values(seq=bindparam("seq"))
    )
    with engine.connect() as one, engine.connect() as two:
        state_id = one.execute(select(ScoState.id)).scalar_one()
        one.commit()
        made.clear()
        for n in range(2, 6):
            assert store.rowcount(one, {"state_id": state_id, "seq": n}) == 1
            assert seq.scalar(one, {"state_id": state_id}) == n
            assert seq.all(two, {"state_id": state_id + 100}) == []
            assert seq.scalar(two, {"state_id": state_id}) == 1  # not committed by one yet
        one.commit()
        two.rollback()
        assert seq.scalar(two, {"state_id": state_id}) == 5
        raw = {one.connection.dbapi_connection, two.connection.dbapi_connection}
    assert len(made) == 3 and set(made) == raw  # store and seq on one, seq on two
