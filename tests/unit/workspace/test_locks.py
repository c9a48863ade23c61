"""The ingest lock: a waiting ingest says so and names the holder; a lock whose recorded holder is dead
is released; a forked child never keeps the lock after its parent lets go. SQLite always, PostgreSQL
when SERENDIP_TEST_PG_URL is set."""
from __future__ import annotations

import contextlib
import fcntl
import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time

import pytest
from sqlalchemy import create_engine
from sqlalchemy.engine import make_url

import serendip.workspace.locks as locks
from serendip.workspace.locks import LockHolder, ingest_lock


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request, tmp_path):
    """A database URL: a SQLite file, or a fresh database on the SERENDIP_TEST_PG_URL server."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'db.sqlite'}"
        return
    yield request.getfixturevalue("fresh_pg_database")()


@pytest.fixture()
def fast(monkeypatch):
    monkeypatch.setattr(locks, "WAIT_NOTICE_S", 0.3)
    monkeypatch.setattr(locks, "WAIT_REPEAT_S", 0.5)
    monkeypatch.setattr(locks, "STALE_GRACE_S", 0.3)


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def _holder(code: str, *args: str) -> subprocess.Popen:
    """A subprocess running ``code``; returns once it printed ``locked``."""
    proc = subprocess.Popen([sys.executable, "-c", textwrap.dedent(code), *args], stdout=subprocess.PIPE,
                            text=True, env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    assert proc.stdout.readline().strip() == "locked"
    return proc


HOLD_FOR = """
    import sys, time
    from sqlalchemy import create_engine
    from serendip.workspace.locks import ingest_lock
    with ingest_lock(create_engine(sys.argv[1])):
        print("locked", flush=True)
        time.sleep(float(sys.argv[2]))
"""


def test_waiting_ingest_says_so_and_names_the_holder(db_url, fast):
    holder = _holder(HOLD_FOR, db_url, "1.5")
    messages: list[str] = []
    t0 = time.monotonic()
    try:
        with ingest_lock(create_engine(db_url), on_wait=messages.append):
            waited = time.monotonic() - t0
    finally:
        holder.wait(timeout=30)
    assert waited > 0.5
    assert messages and all("waiting for the workspace's ingest lock" in m for m in messages)
    assert f"ingest pid {holder.pid}" in messages[0] and " s so far)" in messages[0]


def test_default_wait_notice_is_a_logged_warning(db_url, fast, caplog):
    holder = _holder(HOLD_FOR, db_url, "1.0")
    try:
        with caplog.at_level("WARNING", logger="serendip.workspace.locks"), ingest_lock(create_engine(db_url)):
            pass
    finally:
        holder.wait(timeout=30)
    assert any(f"held by ingest pid {holder.pid}" in r.getMessage() for r in caplog.records)


def test_stale_lock_of_a_dead_holder_is_released(db_url, fast):
    dead = _dead_pid()
    host = socket.gethostname()
    if db_url.startswith("sqlite"):  # an orphan keeps the file locked; the recorded holder is dead
        code = """
            import fcntl, json, sys, time
            fh = open(sys.argv[1], "a+b")
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
            fh.truncate(0)
            fh.write(json.dumps({"pid": int(sys.argv[2]), "host": sys.argv[3], "started": "x"}).encode())
            fh.flush()
            print("locked", flush=True)
            time.sleep(60)
        """
        orphan = _holder(code, make_url(db_url).database + ".ingest.lock", str(dead), host)
    else:  # a session left open, named for a dead ingest
        code = """
            import sys, time
            from sqlalchemy import create_engine, text
            from serendip.workspace.locks import _PG_KEY, LockHolder
            with create_engine(sys.argv[1]).connect() as conn:
                conn.execute(text("SELECT set_config('application_name', :n, false)"),
                             {"n": LockHolder(int(sys.argv[2]), sys.argv[3], "x").as_app_name()})
                conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": _PG_KEY})
                conn.commit()
                print("locked", flush=True)
                time.sleep(60)
        """
        orphan = _holder(code, db_url, str(dead), host)
    messages: list[str] = []
    try:
        t0 = time.monotonic()
        with ingest_lock(create_engine(db_url), on_wait=messages.append):
            assert time.monotonic() - t0 < 20
        assert any(f"released a stale ingest lock: its holder, pid {dead}, no longer runs" in m
                   for m in messages)
    finally:
        orphan.kill()
        orphan.wait()


def test_live_holder_is_never_taken_as_stale(tmp_path, fast):
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    holder = _holder(HOLD_FOR, url, "1.5")
    messages: list[str] = []
    t0 = time.monotonic()
    try:
        with ingest_lock(create_engine(url), on_wait=messages.append):
            waited = time.monotonic() - t0
    finally:
        holder.wait(timeout=30)
    assert waited > 1.0  # it had to finish first, though the grace period is 0.3 s
    assert messages and not any("stale" in m for m in messages)


def test_forked_child_of_a_killed_holder_does_not_keep_the_lock(db_url):
    code = """
        import os, sys, time
        from sqlalchemy import create_engine
        from serendip.workspace.locks import ingest_lock
        with ingest_lock(create_engine(sys.argv[1])):
            child = os.fork()
            if child == 0:  # outlives its parent, which is killed holding the lock
                time.sleep(20)
                os._exit(0)
            print("locked", flush=True)
            print(child, flush=True)
            time.sleep(60)
    """
    holder = _holder(code, db_url)
    child = int(holder.stdout.readline())
    holder.kill()
    holder.wait()
    try:
        t0 = time.monotonic()
        probe = subprocess.run([sys.executable, "-c", textwrap.dedent(HOLD_FOR), db_url, "0"],
                               capture_output=True, text=True, timeout=30,
                               env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
        assert probe.returncode == 0 and time.monotonic() - t0 < 5, probe.stderr
        assert "stale" not in probe.stderr and "waiting" not in probe.stderr  # free at once
        os.kill(child, 0)  # the child was still alive while the lock was taken
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(child, signal.SIGKILL)


def test_holder_record_and_its_description(tmp_path):
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    with ingest_lock(create_engine(url)):
        with open(tmp_path / "db.sqlite.ingest.lock", "rb") as fh:
            held = json.loads(fh.read())
            with pytest.raises(BlockingIOError):
                fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    assert held["pid"] == os.getpid() and held["host"] == socket.gethostname() and held["started"]
    me = LockHolder.me()
    assert not me.is_dead_here() and LockHolder(_dead_pid(), me.host).is_dead_here()
    assert not LockHolder(_dead_pid(), "elsewhere").is_dead_here()  # another host: cannot tell
    assert LockHolder.from_app_name(me.as_app_name()) == LockHolder(me.pid, me.host, me.started)
    assert LockHolder.from_app_name("psql").describe() == "another ingest (holder unknown)"
