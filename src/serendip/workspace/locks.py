"""One ingest at a time per database: concurrent ingests would both see a record as new (check, then
insert) and store it twice.

SQLite: an exclusive ``flock`` on ``<database file>.ingest.lock`` (the database is local); the holder
writes its pid, host and start time into the file.
PostgreSQL: a session-level advisory lock (``pg_try_advisory_lock``), which holds across machines; the
holder's pid, host and start time go in the lock connection's ``application_name``.

A second ingest waits for the first to finish and says so (after :data:`WAIT_NOTICE_S`, then every
:data:`WAIT_REPEAT_S`), naming the holder. A lock whose recorded holder is a process of this host that
no longer exists (the lock kept alive by an orphaned descendant) is released after
:data:`STALE_GRACE_S`. A process forked while the lock is held (the parsing child of
:mod:`serendip.literature.prefetch`) does not inherit it: its copy of the lock's file descriptor is
replaced by ``/dev/null`` at fork, so the lock never outlives the ingest that took it.

One ``serendip index`` at a time per workspace folder (:func:`index_lock`): the same file lock, on
``<workspace>/indexes.lock``, around every index write (the index parts and the dense checkpoint).
One ``serendip kg build`` or ``kg import`` at a time per workspace folder (:func:`kg_lock`, on
``<workspace>/kg.lock``).
"""
from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import socket
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import Engine, text

_PG_KEY = zlib.crc32(b"serendip.ingest")
_APP_PREFIX = "serendip-ingest"
#: seconds before a waiting ingest first says that it waits, and between later notices
WAIT_NOTICE_S = 2.0
WAIT_REPEAT_S = 30.0
#: seconds a lock must be seen held for a dead recorded holder before it is released as stale
STALE_GRACE_S = 2.0
POLL_S = 0.1

_log = logging.getLogger(__name__)
#: descriptors that hold a lock in this process; a forked child gets /dev/null in their place
_HELD_FDS: set[int] = set()


def _drop_inherited_locks() -> None:
    if not _HELD_FDS:
        return
    null = os.open(os.devnull, os.O_RDWR)
    for fd in _HELD_FDS:
        with contextlib.suppress(OSError):
            os.dup2(null, fd)
    os.close(null)
    _HELD_FDS.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_drop_inherited_locks)


@dataclass(frozen=True)
class LockHolder:
    """Who holds (or last held) a lock, as the holder recorded it; ``None`` when not known."""

    pid: int | None = None
    host: str | None = None
    started: str | None = None

    @classmethod
    def me(cls) -> "LockHolder":
        started = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        return cls(os.getpid(), socket.gethostname(), started)

    def describe(self, what: str = "ingest") -> str:
        if self.pid is None:
            return f"another {what} (holder unknown)"
        where = f" on {self.host}" if self.host and self.host != socket.gethostname() else ""
        since = f", since {self.started}" if self.started else ""
        return f"{what} pid {self.pid}{where}{since}"

    def is_dead_here(self) -> bool:
        """True when the holder is a process of this host that no longer exists."""
        if self.pid is None or self.host != socket.gethostname():
            return False
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return True
        except PermissionError:  # exists, owned by someone else
            return False
        return False

    def as_app_name(self) -> str:
        """``serendip-ingest pid=.. started=.. host=..`` (PostgreSQL keeps 63 bytes: a long host name is
        cut, and then not recognised as this host)."""
        return f"{_APP_PREFIX} pid={self.pid} started={self.started} host={self.host}"[:63]

    @classmethod
    def from_app_name(cls, name: str | None) -> "LockHolder":
        if not name or not name.startswith(_APP_PREFIX):
            return cls()
        parts = dict(p.split("=", 1) for p in name.split()[1:] if "=" in p)
        pid = parts.get("pid", "")
        return cls(int(pid) if pid.isdigit() else None, parts.get("host"), parts.get("started"))


class _Waiter:
    """Says, at growing intervals, that an ingest waits for the lock; tracks how long a dead holder has
    been seen (for the stale-lock grace period)."""

    def __init__(self, on_wait: Callable[[str], None] | None, what: str = "ingest") -> None:
        self.on_wait = on_wait or _log.warning
        self.what = what
        self.t0 = time.monotonic()
        self.next_notice = self.t0 + WAIT_NOTICE_S
        self.dead_since: dict[LockHolder, float] = {}

    def tick(self, holder: LockHolder) -> None:
        now = time.monotonic()
        if now >= self.next_notice:
            self.on_wait(f"waiting for the workspace's {self.what} lock, held by {holder.describe(self.what)} "
                         f"({now - self.t0:.0f} s so far)")
            self.next_notice = now + WAIT_REPEAT_S
        time.sleep(POLL_S)

    def is_stale(self, holder: LockHolder) -> bool:
        if not holder.is_dead_here():
            return False
        first = self.dead_since.setdefault(holder, time.monotonic())
        return time.monotonic() - first >= STALE_GRACE_S

    def released(self, holder: LockHolder) -> None:
        self.on_wait(f"released a stale {self.what} lock: its holder, pid {holder.pid}, no longer runs")


@contextlib.contextmanager
def ingest_lock(engine: Engine, on_wait: Callable[[str], None] | None = None) -> Iterator[None]:
    """Hold the workspace's ingest lock for the duration of the ``with`` block.

    Parameters
    ----------
    engine : the workspace's SQLAlchemy engine (SQLite file or PostgreSQL; others are not locked).
    on_wait : called with one sentence while this ingest waits for another (default: a logging
        warning, printed on stderr when logging is not configured).
    """
    if engine.dialect.name == "sqlite" and engine.url.database not in (None, "", ":memory:"):
        with _file_lock(f"{engine.url.database}.ingest.lock", _Waiter(on_wait)):
            yield
    elif engine.dialect.name == "postgresql":
        with _pg_lock(engine, _Waiter(on_wait)):
            yield
    else:
        yield


@contextlib.contextmanager
def index_lock(folder: str | os.PathLike, on_wait: Callable[[str], None] | None = None) -> Iterator[None]:
    """Hold the index lock of the workspace folder ``folder`` for the ``with`` block: an exclusive
    ``flock`` on ``folder/indexes.lock`` (beside ``indexes/``), so that two ``serendip index`` runs on
    this host never write the same index parts (or the dense checkpoint) at once; the second waits, and
    is told so as an ingest is (``on_wait``). The kernel releases the lock when its process dies.
    """
    with _file_lock(os.path.join(folder, "indexes.lock"), _Waiter(on_wait, "index")):
        yield


@contextlib.contextmanager
def kg_lock(folder: str | os.PathLike, on_wait: Callable[[str], None] | None = None) -> Iterator[None]:
    """Hold the knowledge-graph lock of the workspace folder ``folder`` for the ``with`` block: an
    exclusive ``flock`` on ``folder/kg.lock``, so that two ``kg build`` (or ``kg import``) runs on this
    host never add the same entity or edge at once; the second waits, and is told so (``on_wait``)."""
    with _file_lock(os.path.join(folder, "kg.lock"), _Waiter(on_wait, "kg build")):
        yield


def _read_holder(fh) -> LockHolder:
    try:
        fh.seek(0)
        data = json.loads(fh.read() or b"{}")
        return LockHolder(data.get("pid"), data.get("host"), data.get("started"))
    except (ValueError, AttributeError, OSError):
        return LockHolder()


def _same_file(path: str, fh) -> bool:
    try:
        return os.stat(path).st_ino == os.fstat(fh.fileno()).st_ino
    except FileNotFoundError:
        return False


def _break_stale(path: str, fh) -> bool:
    """Remove the lock file ``fh`` still is (held by an orphan of a dead holder), so the next open makes
    a fresh one. Breakers take ``<path>.break`` first, so two of them never remove a fresh lock."""
    with open(f"{path}.break", "a+b") as guard:
        fcntl.flock(guard.fileno(), fcntl.LOCK_EX)
        try:
            if not _same_file(path, fh):
                return False
            os.unlink(path)
            return True
        finally:
            fcntl.flock(guard.fileno(), fcntl.LOCK_UN)


def _acquire_file(path: str, waiter: _Waiter):
    while True:
        fh = open(path, "a+b")  # noqa: SIM115 - kept open while the lock is held
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_holder(fh)
            if waiter.is_stale(holder) and _break_stale(path, fh):
                waiter.released(holder)
                fh.close()
                continue
            fh.close()
            waiter.tick(holder)
            continue
        if _same_file(path, fh):  # not a file a stale-lock breaker has just removed
            return fh
        fh.close()


@contextlib.contextmanager
def _file_lock(path: str, waiter: _Waiter) -> Iterator[None]:
    fh = _acquire_file(path, waiter)
    try:
        me = LockHolder.me()
        fh.truncate(0)
        fh.write(json.dumps({"pid": me.pid, "host": me.host, "started": me.started}).encode())
        fh.flush()
        _HELD_FDS.add(fh.fileno())
        yield
    finally:
        _HELD_FDS.discard(fh.fileno())
        with contextlib.suppress(OSError):
            fh.truncate(0)
        fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
        fh.close()


_PG_HOLDER = text(
    "SELECT a.pid, a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
    "WHERE l.locktype = 'advisory' AND l.granted AND l.classid = 0 AND l.objid = CAST(:k AS oid) "
    "AND l.objsubid = 1 "
    "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())")


def _socket_fd(conn) -> int | None:
    try:
        return conn.connection.dbapi_connection.fileno()
    except Exception:  # noqa: BLE001 - a driver without fileno(): nothing to hide from children
        return None


@contextlib.contextmanager
def _pg_lock(engine: Engine, waiter: _Waiter) -> Iterator[None]:
    with engine.connect() as conn:
        conn.execute(text("SELECT set_config('application_name', :n, false)"),
                     {"n": LockHolder.me().as_app_name()})
        while not conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": _PG_KEY}).scalar_one():
            row = conn.execute(_PG_HOLDER, {"k": _PG_KEY}).first()
            holder = LockHolder.from_app_name(row[1]) if row else LockHolder()
            conn.commit()
            if row is not None and waiter.is_stale(holder):
                ok = conn.execute(text("SELECT pg_terminate_backend(:p)"), {"p": row[0]}).scalar_one()
                conn.commit()
                if ok:
                    waiter.released(holder)
                    continue
            waiter.tick(holder)
        conn.commit()
        fd = _socket_fd(conn)
        if fd is not None:
            _HELD_FDS.add(fd)
        try:
            yield
        finally:
            if fd is not None:
                _HELD_FDS.discard(fd)
            conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _PG_KEY})
            conn.commit()
