"""A subprocess killed in the middle of an ingest leaves a workspace that opens and holds only whole
records; ingesting the file again completes it without duplicates."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest
from sqlalchemy import text

from serendip.workbench import Workspace

N = 60_000


@pytest.mark.slow
def test_kill_mid_ingest_leaves_whole_records(tmp_path):
    src = tmp_path / "big.jsonl"
    with src.open("w", encoding="utf-8") as fh:
        for i in range(N):
            fh.write(json.dumps({"id": f"r{i}", "title": f"Record number {i} about topic {i % 97}",
                                 "abstract": f"Abstract text of record {i}. " * 5, "year": 1990 + i % 30}) + "\n")
    ws_path = tmp_path / "ws"
    Workspace.init(ws_path).close()
    code = ("import sys; from serendip.workbench import Workspace; "
            "Workspace.open(sys.argv[1]).ingest([sys.argv[2]], fmt='jsonl')")
    proc = subprocess.Popen([sys.executable, "-c", code, str(ws_path), str(src)])
    ws = Workspace.open(ws_path)
    deadline = time.time() + 120
    try:
        while ws.count() == 0 and proc.poll() is None and time.time() < deadline:
            time.sleep(0.02)
        assert proc.poll() is None, "ingest finished before it could be killed; make N larger"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    finally:
        if proc.poll() is None:
            proc.kill()
    ws.close()

    ws = Workspace.open(ws_path)
    with ws.engine.connect() as conn:
        assert conn.execute(text("PRAGMA integrity_check")).scalar_one() == "ok"
    stored = ws.count()
    assert 0 < stored < N
    for rid, rec in ws.records():  # every stored record is whole: all fields there and consistent
        i = int(rec.source_key[1:])
        assert rec.title == f"Record number {i} about topic {i % 97}"
        assert rec.abstract == (f"Abstract text of record {i}. " * 5).strip()
        assert rec.year == 1990 + i % 30
    report = ws.reports()[-1]
    assert report["status"] == "running" and report["finished_at"] is None  # visibly not finished

    rep = ws.ingest([src], fmt="jsonl")
    assert rep.failed == 0
    assert rep.duplicates == stored and rep.ingested == N - stored
    assert ws.count() == N
    ws.close()
