"""An ingest killed at any moment (SIGKILL or SIGTERM) leaves a workspace that opens and holds only whole
records, no process of it behind and no lock held: the next ingest finishes and completes the file, and
ingesting it again finds only duplicates.

The default run kills ``serendip ingest`` at a few seeded random moments; the ``slow`` run at 20. Most
moments fall while records are read and stored (counted from the moment the ingest's report row
appears), one in four anywhere from the start of the process. Each run also kills one ingest as soon as
its first batch is committed (seen by polling the records table), so a kill between two batches is tested
by construction, not by the timing of a loaded machine. The file is big enough to go through the parsing
child (:mod:`serendip.literature.prefetch`) and holds two batches."""
from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import text

from serendip.literature.ingest import BATCH, PREFETCH_BYTES
from serendip.workbench import Workspace
from serendip.workspace.locks import ingest_lock

N = 4000
SEED = 13
NEXT_INGEST_TIMEOUT_S = 90


def _record(i: int) -> dict:
    return {"id": f"r{i}", "title": f"Record number {i} about topic {i % 97}", "pmid": str(10_000_000 + i),
            "doi": f"10.5555/kill.{i}", "abstract": f"Abstract text of record {i}. " * 50, "year": 1990 + i % 30}


@pytest.fixture(scope="module")
def big_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("kill") / "big.jsonl"
    with path.open("w", encoding="utf-8") as fh:
        for i in range(N):
            fh.write(json.dumps(_record(i)) + "\n")
    assert path.stat().st_size > PREFETCH_BYTES  # parsed in the child process
    return path


def _env() -> dict:
    return {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}


def _cli_ingest(ws: Path, src: Path) -> list[str]:
    return [sys.executable, "-m", "serendip.cli.app", "ingest", str(src), "-w", str(ws), "--format", "jsonl"]


def _group_members(pgid: int) -> list[int]:
    """Live processes (zombies left out) of process group ``pgid``, from /proc."""
    out = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] not in ("Z", "X"):
            out.append(int(entry.name))
    return out


def _assert_no_orphans(pgid: int) -> None:
    deadline = time.monotonic() + 5
    while _group_members(pgid) and time.monotonic() < deadline:
        time.sleep(0.05)
    left = _group_members(pgid)
    for pid in left:
        os.kill(pid, signal.SIGKILL)
    assert not left, f"processes of the killed ingest still run: {left}"


def _assert_whole_records(ws: Workspace) -> int:
    with ws.engine.connect() as conn:
        assert conn.execute(text("PRAGMA integrity_check")).scalar_one() == "ok"
    seen = set()
    for _, rec in ws.records():  # every stored record is whole: all fields there and consistent
        i = int(rec.source_key[1:])
        want = _record(i)
        assert (rec.title, rec.pmid, rec.doi, rec.year) == (want["title"], want["pmid"], want["doi"], want["year"])
        assert rec.abstract == want["abstract"].strip()
        assert i not in seen
        seen.add(i)
    assert len(seen) == ws.count()
    return len(seen)


def _assert_lock_free(ws: Workspace) -> None:
    waits: list[str] = []
    t0 = time.monotonic()
    with ingest_lock(ws.engine, on_wait=waits.append):
        pass
    assert not waits and time.monotonic() - t0 < 1.0, f"the ingest lock is still held: {waits}"


def _started(db: str) -> bool:
    """True once the ingest has written its report row (it is about to take the lock and read)."""
    try:
        with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1)) as conn:
            return conn.execute("SELECT count(*) FROM ingest_reports").fetchone()[0] > 0
    except sqlite3.Error:
        return False


def _stored(db: str) -> int:
    """Records committed so far (0 while the workspace cannot be read)."""
    try:
        with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1)) as conn:
            return conn.execute("SELECT count(*) FROM records").fetchone()[0]
    except sqlite3.Error:
        return 0


def _db_path(ws_path: Path) -> str:
    with Workspace.open(ws_path) as ws:
        return ws.engine.url.database


def _run(ws_path: Path, src: Path, moment: float | None, from_start: bool, sig: signal.Signals,
         after_first_batch: bool = False):
    """Run ``serendip ingest`` in its own process group. With ``moment``, send ``sig`` that many
    seconds after the process started (``from_start``) or after its report row appeared; with
    ``after_first_batch``, as soon as some records are committed. Returns the process, the seconds from
    start to report row and from report row to exit (when it ran through), and whether it was still
    running when signalled."""
    db = _db_path(ws_path)
    proc = subprocess.Popen(_cli_ingest(ws_path, src), env=_env(), start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    t0 = time.monotonic()
    try:
        if not from_start:
            while not _started(db) and proc.poll() is None and time.monotonic() - t0 < NEXT_INGEST_TIMEOUT_S:
                time.sleep(0.01)
        t_row = time.monotonic()
        running = None
        if after_first_batch:
            while _stored(db) == 0 and proc.poll() is None and time.monotonic() - t0 < NEXT_INGEST_TIMEOUT_S:
                time.sleep(0.005)
            running = proc.poll() is None
            if running:
                os.kill(proc.pid, sig)
        elif moment is not None:
            time.sleep(max(0.0, moment - (t_row - t0 if from_start else 0.0)))
            running = proc.poll() is None
            if running:
                os.kill(proc.pid, sig)
        proc.wait(timeout=NEXT_INGEST_TIMEOUT_S)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    _assert_no_orphans(proc.pid)
    return proc, t_row - t0, time.monotonic() - t_row, running


def _kill_cycle(tmp_path: Path, src: Path, n_moments: int) -> None:
    rng = random.Random(SEED)
    Workspace.init(tmp_path / "baseline").close()
    proc, startup, reading, _ = _run(tmp_path / "baseline", src, None, False, signal.SIGKILL)
    assert proc.returncode == 0, proc.stderr.read()[-2000:]
    assert BATCH < N, "the file must hold more than one batch for a kill between batches"
    killed_mid_file = 0
    # the last run kills right after the first committed batch (SIGKILL in the default run, SIGTERM in
    # the 20-moment one), the others at seeded random moments
    for k in range(n_moments + 1):
        sig = (signal.SIGKILL, signal.SIGTERM)[k % 2]
        from_start = k % 4 == 3
        moment = rng.uniform(0.0, startup + reading if from_start else reading)
        ws_path = tmp_path / f"ws{k}"
        Workspace.init(ws_path).close()
        between_batches = k == n_moments
        proc, _, _, running = _run(ws_path, src, moment, from_start, sig, after_first_batch=between_batches)
        with Workspace.open(ws_path) as ws:
            _assert_lock_free(ws)
            stored = _assert_whole_records(ws)
            if running and sig == signal.SIGTERM and ws.reports():
                # mid-ingest, SIGTERM ends it through SystemExit(143) and the report says so; after
                # the ingest (printing the report), the default action ends the process
                status = ws.reports()[-1]["status"]
                # (an interrupt inside a commit can leave the report unwritten: "running")
                assert status in ("interrupted", "done", "running"), status
                assert proc.returncode in (0, 128 + signal.SIGTERM, -signal.SIGTERM), proc.stderr.read()[-2000:]
                assert status != "interrupted" or proc.returncode == 128 + signal.SIGTERM
            killed_mid_file += 0 < stored < N
            if between_batches:
                assert running and 0 < stored < N, (running, stored)
        # the next ingest finishes (a hang fails the test), completes the file, duplicates nothing
        done = subprocess.run(_cli_ingest(ws_path, src) + ["--json"], env=_env(), capture_output=True,
                              text=True, timeout=NEXT_INGEST_TIMEOUT_S)
        assert done.returncode == 0, done.stderr[-2000:]
        report = json.loads(done.stdout[done.stdout.index("{"):])
        assert (report["ingested"], report["duplicates"], report["failed"]) == (N - stored, stored, 0)
        with Workspace.open(ws_path) as ws:
            assert _assert_whole_records(ws) == N
            again = ws.ingest([src], fmt="jsonl")
            assert (again.ingested, again.duplicates, again.failed) == (0, N, 0) and ws.count() == N
    assert killed_mid_file > 0, "no kill landed mid-file"


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="needs /proc to look for orphaned processes")
def test_killed_ingest_at_random_moments(tmp_path, big_file):
    _kill_cycle(tmp_path, big_file, n_moments=4)


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc").is_dir(), reason="needs /proc to look for orphaned processes")
def test_killed_ingest_at_20_random_moments(tmp_path, big_file):
    _kill_cycle(tmp_path, big_file, n_moments=20)
