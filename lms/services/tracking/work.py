"""The unit of work of one SCORM commit: a Core connection, and an ORM session on the same
transaction made only when a rare path needs one.

A commit is the busiest request of a batch in progress (every learner, every 30 s), and most
commits are one SELECT and one UPDATE (lms.services.tracking.commits). Run through an ORM
Session, those two statements cost about a third more CPU than on the connection itself
(the session's transaction bookkeeping, its connection lookup, the identity map set up and
torn down for nothing). The paths that load objects (a roll-up when a SCO is newly
satisfied, the SN engine's full path, shared data, a package's tree built for the first time
in this process) get a Session bound to the same connection: it joins the transaction
without owning it, so that its writes are committed, or rolled back, with the commit's.

On PostgreSQL the connection starts in autocommit: the SELECT and a lone UPDATE then each
run as their own transaction, two round trips where BEGIN and COMMIT made four (psycopg
spends about 75 us of client CPU on each, and the server its share: a commit was round-trip
bound). That changes nothing the commit relies on: at READ COMMITTED the UPDATE never saw
the SELECT's snapshot anyway, its own WHERE (the sequence number, the session key) is what
keeps commits ordered and a newer launch safe. A commit that writes more than that one row
(a roll-up, the SN engine's report, shared data) calls `begin` before its first write, so
that its writes stay one transaction. SQLite keeps its transaction (there each statement in
autocommit costs a commit of its own, about twice the CPU).
"""

from __future__ import annotations

from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session

from lms.app.database import in_autocommit, start_autocommit, stop_autocommit


def commit_connection(engine: Engine) -> Connection:
    """A connection for one commit: in autocommit on PostgreSQL (see the module's docs)."""
    connection = engine.connect()
    if connection.dialect.name == "postgresql":
        # On the driver's connection, taken out of it when the pool takes the connection back
        # (lms.app.database.end_autocommit). SQLAlchemy's isolation_level execution option
        # does the same through its connection characteristics, at 13 us a commit.
        start_autocommit(connection.connection)
    return connection


class CommitWork:
    """One commit's connection, and the ORM session on it when one was asked for."""

    __slots__ = ("_autocommit", "_session", "connection")

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self._session: Session | None = None
        self._autocommit = in_autocommit(connection.connection)

    def begin(self) -> None:
        """Make the statements from here on one transaction, committed (or rolled back) by
        the caller: before a commit's first write when it writes more than one statement.
        A connection already in a transaction stays in it."""
        if not self._autocommit:
            return
        connection = self.connection
        connection.commit()  # the reads so far were each their own transaction
        stop_autocommit(connection.connection)
        connection.begin()  # the caller's, so that the ORM session joins it without owning it
        self._autocommit = False

    @property
    def session(self) -> Session:
        """An ORM session joined to the connection's transaction (made on first use)."""
        if self._session is None:
            self.begin()
            # "rollback_only": the session's own commit() would not end the transaction
            # (the caller commits the connection once); a failure in it rolls back all.
            self._session = Session(
                bind=self.connection,
                join_transaction_mode="rollback_only",
                expire_on_commit=False,
            )
        return self._session

    @property
    def used_session(self) -> bool:
        """Whether a rare path made the ORM session."""
        return self._session is not None

    def flush(self) -> None:
        """Write what the ORM session holds, before the caller commits the connection."""
        if self._session is not None:
            self._session.flush()

    def close(self) -> None:
        """Let go of the ORM session (the transaction stays the connection's)."""
        if self._session is not None:
            self._session.close()
            self._session = None
