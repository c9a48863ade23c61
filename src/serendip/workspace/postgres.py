"""PostgreSQL-only storage paths: ``COPY`` bulk insert of records, and the partition layout of ``records``.

:func:`insert_records` writes a batch of new ``records`` rows with one ``COPY records (...) FROM STDIN``
through psycopg 3 (``Cursor.copy`` / ``Copy.write_row``, text format: psycopg escapes tabs, newlines
and backslashes) when the connection is PostgreSQL through the ``psycopg`` driver, and with one
executemany ``INSERT`` otherwise (SQLite, other drivers). Every value goes through the same SQLAlchemy
bind processors as the ``INSERT`` (so a JSON column gets the engine's ``json_serializer`` text), hence
both paths store identical rows; ids come from the table's sequence either way (callers need none
back). Sources: PostgreSQL manual, "COPY" and "Populating a Database" (14.4.2 "Use COPY");
psycopg 3 documentation, "Using COPY TO and COPY FROM".

:func:`records_partitions` reads the layout migration 0006 made: the number of hash partitions of
``records``, or None for a plain table.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Engine, insert, text
from sqlalchemy.exc import DBAPIError

from serendip.workspace.database import RawJSON
from serendip.workspace.schema import records

__all__ = ["COPY_ENABLED", "insert_records", "records_partitions", "uses_copy"]

#: use ``COPY`` on PostgreSQL (False: executemany ``INSERT`` everywhere; benchmarks/ingest.py compares both)
COPY_ENABLED = True


def uses_copy(conn: Connection) -> bool:
    """Whether :func:`insert_records` writes through ``COPY`` on ``conn`` (PostgreSQL with psycopg 3)."""
    return COPY_ENABLED and conn.dialect.name == "postgresql" and conn.dialect.driver == "psycopg"


def insert_records(conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
    """Insert ``rows`` into ``records`` inside the caller's transaction.

    Parameters
    ----------
    conn : an open connection (its transaction is the caller's).
    rows : one dict per new record, each with the keys of the first (column names of ``records``,
        without ``id``); a JSON column's value is the Python object to serialise (None: JSON ``null``,
        as the ``INSERT`` stores it), or a :class:`~serendip.workspace.database.RawJSON` text stored
        as it is. On SQLite the rows go through the driver's executemany (same bound values).

    Raises
    ------
    sqlalchemy.exc.DBAPIError
        The database refused a row (e.g. a value longer than its column); on the ``COPY`` path the
        message names the ``COPY`` line (the row's 1-based position in ``rows``) and column.
    KeyError
        A row lacks a key of the first row (``COPY`` path).
    """
    if not rows:
        return
    columns = list(rows[0])
    processors = [records.c[c].type.dialect_impl(conn.dialect).bind_processor(conn.dialect) for c in columns]
    if conn.dialect.name == "sqlite":
        _insert_sqlite(conn, rows, columns, processors)
        return
    if not uses_copy(conn):
        conn.execute(insert(records), [_decoded(row) for row in rows])
        return
    from psycopg import Error, sql

    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(records.name), sql.SQL(", ").join(map(sql.Identifier, columns)))
    raw = conn.connection.driver_connection
    try:
        with raw.cursor() as cur, cur.copy(statement) as copy:
            for row in rows:
                copy.write_row(_values(row, columns, processors))
    except Error as exc:
        raise DBAPIError.instance(statement.as_string(raw), None, exc, Error) from exc


def _values(row: dict[str, Any], columns: list[str], processors: list) -> list:
    """The row's values as the driver takes them: each through its column's bind processor, except a
    :class:`~serendip.workspace.database.RawJSON` text, which is already what the JSON column stores."""
    return [row[c] if p is None or isinstance(row[c], RawJSON) else p(row[c]) for c, p in zip(columns, processors)]


def _insert_sqlite(conn: Connection, rows: Sequence[dict[str, Any]], columns: list[str], processors: list) -> None:
    """One executemany ``INSERT`` through the driver: the values SQLAlchemy's ``insert(records)`` would
    bind (same processors), without its per-row compile work (a tenth of a big ingest's storing)."""
    names = ", ".join(f'"{c}"' for c in columns)
    marks = ", ".join("?" for _ in columns)
    conn.exec_driver_sql(f'INSERT INTO "{records.name}" ({names}) VALUES ({marks})',
                         [tuple(_values(row, columns, processors)) for row in rows])


def _decoded(row: dict[str, Any]) -> dict[str, Any]:
    """``row`` with a :class:`~serendip.workspace.database.RawJSON` value decoded (for SQLAlchemy's insert)."""
    import orjson

    return {c: orjson.loads(v) if isinstance(v, RawJSON) else v for c, v in row.items()}


def records_partitions(bind: Engine | Connection) -> int | None:
    """The number of partitions of ``records`` (a table partitioned by migration 0006), or None when it
    is a plain table or the database is not PostgreSQL; reads ``pg_class`` and ``pg_inherits``."""
    if bind.dialect.name != "postgresql":
        return None
    query = text("SELECT c.relkind, (SELECT count(*) FROM pg_inherits i WHERE i.inhparent = c.oid) "
                 "FROM pg_class c WHERE c.oid = to_regclass('records')")
    if isinstance(bind, Engine):
        with bind.connect() as conn:
            found = conn.execute(query).first()
    else:
        found = bind.execute(query).first()
    return int(found[1]) if found is not None and found[0] == "p" else None
