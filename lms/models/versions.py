"""Data versions: a token per kind of data that changes rarely but is read on many pages (the
union-unit tree), so that a process may keep what it built from that data (the unit menus of
the admin pages) for as long as the token in the database stays the same.

The token of the unit tree changes in the same transaction as the units, whatever changes them:
a flush that adds, changes or deletes an OrgUnit, and an INSERT, UPDATE or DELETE statement on
its table run through a session (the bulk statements of the unit services and imports). SQL
run outside a session (a migration, `psql`) must call `units_changed()` itself or change the
row. The token is random, not a counter: a restored backup or an emptied test database can
never bring back a token that a process has kept with other data.
"""

from __future__ import annotations

import uuid

from sqlalchemy import String, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Mapped, Session, mapped_column

from lms.app.extensions import db
from lms.models.accounts import OrgUnit

UNITS = "units"
# Set in Session.info while a transaction has changed the units: until it ends, what it reads
# is not yet everyone's (it may still roll back), so nothing read in it is kept.
_CHANGED = "hocvu.versions.changed"


class DataVersion(db.Model):
    """The current token of one kind of data ("units")."""

    __tablename__ = "data_version"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    token: Mapped[str] = mapped_column(String(32))


def current_token(session: Session, name: str = UNITS) -> str | None:
    """The token of `name` as this transaction sees it; None while this transaction has
    changed that data itself, or when no token was ever written (nothing may be kept)."""
    if name in session.info.get(_CHANGED, ()):
        return None
    return session.scalar(db.select(DataVersion.token).where(DataVersion.name == name))


def units_changed(connection: Connection) -> None:
    """Give the unit tree a new token (in the connection's transaction)."""
    _new_token(connection, UNITS)


def _new_token(connection: Connection, name: str) -> None:
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    token = uuid.uuid4().hex
    stmt = dialect.insert(DataVersion.__table__).values(name=name, token=token)
    connection.execute(stmt.on_conflict_do_update(index_elements=["name"], set_={"token": token}))


def _mark(session: Session, name: str) -> None:
    # A new token at every change, not once per transaction: a savepoint rolled back would
    # take the first one with it.
    session.info.setdefault(_CHANGED, set()).add(name)
    _new_token(session.connection(), name)


@event.listens_for(Session, "after_flush")
def _after_flush(session: Session, _context) -> None:
    # Still the pre-flush lists here: what this flush wrote.
    if any(isinstance(o, OrgUnit) for o in session.new) or any(
        isinstance(o, OrgUnit) for o in session.deleted
    ):
        _mark(session, UNITS)
        return
    for obj in session.dirty:
        if isinstance(obj, OrgUnit) and session.is_modified(obj, include_collections=False):
            _mark(session, UNITS)
            return


@event.listens_for(Session, "do_orm_execute")
def _on_execute(state) -> None:
    if not (state.is_insert or state.is_update or state.is_delete):
        return
    table = getattr(state.statement, "table", None)
    if getattr(table, "name", None) == OrgUnit.__tablename__:
        _mark(state.session, UNITS)


@event.listens_for(Session, "after_transaction_end")
def _after_transaction_end(session: Session, transaction) -> None:
    if transaction.parent is None:
        session.info.pop(_CHANGED, None)
