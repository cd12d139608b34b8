"""Database foundations: the declarative base with a naming convention, UTC timestamps, a
pooled connection lent in autocommit."""

from __future__ import annotations

import enum
from datetime import UTC, datetime

from sqlalchemy import DateTime, Enum, MetaData, TypeDecorator
from sqlalchemy.orm import DeclarativeBase

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    """The current time, aware, in UTC."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and always read back as an aware UTC datetime.

    SQLite has no time zone type, so values are stored naive in UTC there and made aware on
    the way out; PostgreSQL stores them as timestamptz.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; Hocvu stores aware UTC datetimes only")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    """Base class of every Hocvu model."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def str_enum(enum_class: type[enum.StrEnum]) -> Enum:
    """A portable enum column (VARCHAR + CHECK) storing the members' values, not names."""
    return Enum(
        enum_class,
        native_enum=False,
        length=20,
        validate_strings=True,
        values_callable=lambda members: [m.value for m in members],
        name=enum_class.__name__.lower(),
    )


# The pool entry's mark: its driver connection was put in autocommit for the one checkout.
_AUTOCOMMIT = "hocvu_autocommit"


def start_autocommit(pooled) -> None:
    """Put a pooled PostgreSQL connection (a checked-out pool entry, `Connection.connection`)
    in autocommit until the pool takes it back: each statement its own transaction."""
    pooled.info[_AUTOCOMMIT] = True
    pooled.dbapi_connection.autocommit = True


def in_autocommit(pooled) -> bool:
    """Whether start_autocommit put this checked-out connection in autocommit."""
    return bool(pooled.info.get(_AUTOCOMMIT))


def stop_autocommit(pooled) -> None:
    """Take a checked-out connection out of start_autocommit's autocommit before the pool
    takes it back: its next statement begins a transaction."""
    pooled.info.pop(_AUTOCOMMIT, None)
    pooled.dbapi_connection.autocommit = False


def end_autocommit(dbapi_connection, record) -> None:
    """Take a connection out of the autocommit start_autocommit put it in, as the pool takes
    it back (the pool's checkin hook, lms/__init__.py): the next user of the connection, the
    ORM above all, gets transactions as usual."""
    if record.info.pop(_AUTOCOMMIT, False):
        try:
            dbapi_connection.autocommit = False
        except Exception:  # noqa: BLE001 - closed or broken: the pool's next check replaces it
            record.invalidate()
