"""One ingest at a time per database: concurrent ingests would both see a record as new (check, then
insert) and store it twice.

SQLite: an exclusive ``fcntl`` lock on ``<database file>.ingest.lock`` (the database is local).
PostgreSQL: a session-level advisory lock (``pg_advisory_lock``), which holds across machines.
A second ingest waits for the first to finish.
"""
from __future__ import annotations

import contextlib
import fcntl
import zlib
from collections.abc import Iterator

from sqlalchemy import Engine, text

_PG_KEY = zlib.crc32(b"serendip.ingest")


@contextlib.contextmanager
def ingest_lock(engine: Engine) -> Iterator[None]:
    """Hold the workspace's ingest lock for the duration of the ``with`` block."""
    if engine.dialect.name == "sqlite" and engine.url.database not in (None, "", ":memory:"):
        with open(f"{engine.url.database}.ingest.lock", "a+b") as fh:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
    elif engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": _PG_KEY})
            conn.commit()
            try:
                yield
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _PG_KEY})
                conn.commit()
    else:
        yield
