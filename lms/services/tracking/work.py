"""The unit of work of one SCORM commit: a Core connection in its transaction, and an ORM
session on the same transaction made only when a rare path needs one.

A commit is the busiest request of a batch in progress (every learner, every 30 s), and most
commits are one SELECT and one UPDATE (lms.services.tracking.commits). Run through an ORM
Session, those two statements cost about a third more CPU than on the connection itself
(the session's transaction bookkeeping, its connection lookup, the identity map set up and
torn down for nothing). The paths that load objects (a roll-up when a SCO is newly
satisfied, the SN engine's full path, shared data, a package's tree built for the first time
in this process) get a Session bound to the same connection: it joins the transaction
without owning it, so that its writes are committed, or rolled back, with the commit's.
"""

from __future__ import annotations

from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session


class CommitWork:
    """One commit's connection, and the ORM session on it when one was asked for."""

    __slots__ = ("_session", "connection")

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self._session: Session | None = None

    @property
    def session(self) -> Session:
        """An ORM session joined to the connection's transaction (made on first use)."""
        if self._session is None:
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
