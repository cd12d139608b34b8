"""A Core statement run on the driver's cursor, for the few statements of the busiest requests.

`Connection.execute` costs about as much CPU as the database itself for a short statement by
primary key (issue 24: on the SCORM commit's SELECT of 36 columns, 49 us where the driver
takes 16 us on SQLite, 172 us where it takes 88 us on PostgreSQL with psycopg 3): the
compiled cache's lookup, an execution context, a result with its metadata. A `Prepared`
statement is written in Core as usual and compiled once per dialect; each run then takes its
cursor of the connection's pooled DB-API connection (made at its first run there, then kept:
see `_kept_cursor`), binds the parameters in the dialect's paramstyle through the same bind
processors Core would apply, and converts the values with the same result processors (so UTC
datetimes, JSON, booleans and enums read back equal to what Core returns;
tests/lms/test_driver.py checks it on both databases).

What it keeps of `Connection.execute`: the connection's transaction (begun as Core's
autobegin would, so that the caller's `commit()` commits it); a driver error wrapped as Core
wraps it (`sqlalchemy.exc.IntegrityError`, `OperationalError`...) and a disconnect
invalidating the connection and the pool's connections (`Connection._handle_dbapi_exception`,
the same code). With SQL echo on, or any connection or dialect event listened to (the tests'
statement counts, query recording, tracing: a listener may rely on Core's execution context),
it runs through `Connection.execute` itself, with the same rows.

What it does not do: statements whose parameters expand (IN lists), are computed
(`bindparam(callable_=...)`) or rendered as literals are refused when prepared; an UPDATE or
INSERT sets only what its `.values()` names, and refuses (at its first run) a parameter named
after another column of its table, which `Connection.execute` would also set. Rows are
tuples with the statement's keys as attributes (`row.name`, `row._fields`, `row._mapping`),
equal to Core's rows.
"""

from __future__ import annotations

import weakref
from collections import namedtuple
from typing import Any

from sqlalchemy import exc
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.sql import ClauseElement


class _Compiled:
    """A statement compiled for one dialect: its SQL, how to bind, how to read the rows."""

    __slots__ = ("defaults", "order", "positional", "processors", "row", "sql", "types", "unset")

    def __init__(self, statement: ClauseElement, dialect: Dialect) -> None:
        compiled = statement.compile(dialect=dialect)
        if compiled.literal_execute_params or compiled.post_compile_params:
            raise ValueError("a statement with expanding or literal parameters is not supported")
        self.sql: str = compiled.string
        processors = compiled._bind_processors
        escaped = compiled.escaped_bind_names or {}
        # The value of each parameter the statement holds (not named by the caller).
        self.defaults: dict[str, Any] = {}
        for bind, name in compiled.bind_names.items():
            if bind.callable is not None or bind.expanding:
                raise ValueError(f"parameter {name!r}: computed or expanding: not supported")
            if not bind.required:
                self.defaults[name] = bind.value
        self.positional = bool(compiled.positiontup)
        keys = compiled.positiontup if self.positional else list(compiled.bind_names.values())
        # (the name in the SQL, the parameter, its bind processor or None)
        self.order = tuple((escaped.get(key, key), key, processors.get(key)) for key in keys or ())
        columns = compiled._result_columns
        fields = [column[0] for column in columns]
        self.row = _row_class(fields) if fields else None
        self.processors: tuple[tuple[int, Any], ...] | None = None  # from the first result
        self.types = [column[3] for column in columns]
        # An UPDATE's or INSERT's columns that a parameter must not name: Connection.execute
        # would set them (checked at the first run).
        table = getattr(statement, "table", None) if statement.is_dml else None
        unset = (
            {c.key for c in table.c} - set(compiled.bind_names.values())
            if table is not None
            else ()
        )
        self.unset: frozenset[str] | None = frozenset(unset) or None

    def check(self, given: dict[str, Any]) -> None:
        """Refuse parameters named after a column the statement does not set."""
        named = self.unset.intersection(given) if self.unset else ()
        if named:
            raise ValueError(f"parameters named after columns the statement does not set: {named}")
        self.unset = None

    def result_processors(self, dialect: Dialect, description) -> tuple[tuple[int, Any], ...]:
        """Each column's result processor for the driver's type code, as Core chooses it
        (DefaultExecutionContext.get_result_processor), computed on the first result."""
        found = []
        for index, (type_, column) in enumerate(zip(self.types, description, strict=True)):
            processor = type_._cached_result_processor(dialect, column[1])
            if processor is not None:
                found.append((index, processor))
        self.processors = tuple(found)
        return self.processors

    def parameters(self, given: dict[str, Any]):
        """The parameters in the dialect's paramstyle, each through its bind processor."""
        values = {**self.defaults, **given} if self.defaults else given
        try:
            if self.positional:
                return [p(values[key]) if p else values[key] for _, key, p in self.order]
            return {name: p(values[key]) if p else values[key] for name, key, p in self.order}
        except KeyError as missing:
            raise exc.InvalidRequestError(
                f"A value is required for bind parameter {missing.args[0]!r}"
            ) from None


def _row_class(fields: list[str]):
    """A tuple whose items are also attributes named as the statement's columns; repeated or
    invalid names are reachable by position only (as in Core, where they are ambiguous)."""
    base = namedtuple("Row", fields, rename=True)  # noqa: PYI024 - fields known at run time

    class Row(base):
        __slots__ = ()

        @property
        def _mapping(self) -> dict[str, Any]:
            return dict(zip(fields, self, strict=True))

    return Row


# The key of a DB-API connection's kept cursors ({statement: cursor}) in its pool record's
# info, which lives as long as that DB-API connection: the pool empties it when it replaces
# the connection (invalidated, recycled).
_CURSORS = "hocvu_driver_cursors"


def _kept_cursor(fairy, compiled: _Compiled):
    """The cursor `compiled` runs on in this DB-API connection, made at its first run there.

    psycopg gives each new cursor a copy of the connection's adapters and a new transformer,
    which looks up each column's loader again at every result, and keeps a cursor's
    transformer only while the cursor runs the same query: a new cursor per statement cost
    the commit's SELECT about 30 us of client CPU (a quarter of the statement's), where a kept
    one costs nothing. Safe because a connection runs one statement at a time (the pool gives
    it to one caller) and every run reads its whole result before returning."""
    kept = fairy.info.setdefault(_CURSORS, {})
    cursor = kept.get(compiled)
    if cursor is None:
        cursor = kept[compiled] = fairy.cursor()
    return cursor


def _drop_cursor(fairy, compiled: _Compiled) -> None:
    fairy.info.get(_CURSORS, {}).pop(compiled, None)


def _active(nested) -> bool:
    return nested is None or nested.is_active


class Prepared:
    """A Core statement (a select, an update, an insert or a delete) run on the DB-API cursor
    of the connection given; built once, at import, like the statement itself."""

    __slots__ = ("_by_dialect", "_last", "statement")

    def __init__(self, statement: ClauseElement) -> None:
        self.statement = statement
        self._by_dialect: weakref.WeakKeyDictionary[Dialect, _Compiled] = (
            weakref.WeakKeyDictionary()
        )
        self._last: tuple[Dialect | None, _Compiled | None] = (None, None)

    def _compiled(self, dialect: Dialect) -> _Compiled:
        last_dialect, compiled = self._last
        if last_dialect is dialect:
            return compiled  # type: ignore[return-value]
        compiled = self._by_dialect.get(dialect)
        if compiled is None:
            compiled = self._by_dialect[dialect] = _Compiled(self.statement, dialect)
        self._last = (dialect, compiled)
        return compiled

    def all(self, connection: Connection, params: dict[str, Any]) -> list:
        """The rows, as Core's `connection.execute(statement, params).all()`."""
        return self._run(connection, params, True)

    def one_or_none(self, connection: Connection, params: dict[str, Any]):
        """The one row or None, as Core's `.one_or_none()` (more than one raises)."""
        rows = self._run(connection, params, True)
        if len(rows) > 1:
            raise exc.MultipleResultsFound("Multiple rows were found when one or none was required")
        return rows[0] if rows else None

    def scalar(self, connection: Connection, params: dict[str, Any]):
        """The first column of the first row, or None, as Core's `.scalar()`."""
        rows = self._run(connection, params, True)
        return rows[0][0] if rows else None

    def rowcount(self, connection: Connection, params: dict[str, Any]) -> int:
        """Run a statement that returns no rows; the number of rows it matched."""
        return self._run(connection, params, False)

    def _run(self, connection: Connection, params: dict[str, Any], rows: bool):
        dialect = connection.dialect
        compiled = self._compiled(dialect)
        if compiled.unset is not None:
            compiled.check(params)
        if (
            connection._echo
            or connection._has_events
            or connection.engine._has_events
            or dialect._has_events
        ):
            # A listener may rely on the execution context (query recording, tracing).
            return self._through_core(connection, params, rows, compiled)
        transaction = connection.get_transaction()
        if transaction is None:
            connection.begin()  # Core's autobegin: the caller commits or rolls back
        elif not transaction.is_active or not _active(connection.get_nested_transaction()):
            return self._through_core(connection, params, rows, compiled)  # raises as due
        fairy = connection.connection  # a closed connection raises here, as in Core
        sql = compiled.sql
        parameters: Any = params
        cursor = None
        try:
            parameters = compiled.parameters(params)
            cursor = _kept_cursor(fairy, compiled)
            cursor.execute(sql, parameters)
            if not rows:
                return cursor.rowcount
            raw = cursor.fetchall()
            processors = compiled.processors
            if processors is None:
                processors = compiled.result_processors(dialect, cursor.description)
        except BaseException as error:  # noqa: BLE001 - wrapped, or re-raised, as Core does
            # Core closes the cursor of a failed statement: the next run makes a new one.
            _drop_cursor(fairy, compiled)
            connection._handle_dbapi_exception(error, sql, parameters, cursor, None)
        make = compiled.row._make
        if not processors:
            return [make(row) for row in raw]
        result = []
        for row in raw:
            values = list(row)
            for index, processor in processors:
                values[index] = processor(values[index])
            result.append(make(values))
        return result

    def _through_core(self, connection: Connection, params, rows: bool, compiled: _Compiled):
        result = connection.execute(self.statement, params)
        if not rows:
            return result.rowcount
        make = compiled.row._make
        return [make(row) for row in result.all()]
