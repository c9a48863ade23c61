"""The index lock: a second ``index`` on a workspace waits for the first (says so), so two runs never
write the index parts or the dense checkpoint at once; the lock is released when the run ends."""
from __future__ import annotations

import json
import threading

import serendip.workspace.locks as locks
from serendip.workbench import Workspace
from serendip.workspace.locks import index_lock


def test_a_second_index_waits_for_the_lock(tmp_path, monkeypatch):
    monkeypatch.setattr(locks, "WAIT_NOTICE_S", 0.0)  # the first wait is told at once: no timing below
    src = tmp_path / "docs.jsonl"
    src.write_text(json.dumps({"id": "a", "title": "Zinc and the common cold"}) + "\n", encoding="utf-8")
    ws = Workspace.init(tmp_path / "ws")
    ws.ingest([src])
    waiting = threading.Event()
    notes: list[str] = []

    def note(message: str) -> None:
        notes.append(message)
        waiting.set()

    with index_lock(ws.path):  # another run holds it
        runner = threading.Thread(target=ws.index, kwargs={"dense": False, "notify": note})
        runner.start()
        assert waiting.wait(60)
        assert not (ws.index_dir / "bm25").exists()  # it waits before writing anything
    runner.join(60)
    assert not runner.is_alive()
    assert (ws.index_dir / "bm25").is_dir()
    assert "waiting for the workspace's index lock, held by index pid" in notes[0]
    with index_lock(ws.path):  # released by the run that finished
        pass
    ws.close()
