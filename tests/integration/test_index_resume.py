"""A killed ``serendip index`` resumes: the vectors embedded before the kill (SIGKILL or SIGTERM) are read
back from ``indexes/dense.partial`` and only the other records are embedded; the finished index equals a
clean run's, and no partial folder remains. The child is the real CLI with a fake, counting encoder
registered (``resume_child.py``); the kill waits for the child to block in its third encoder call, after
two shards were written (no timing)."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from serendip.errors import IndexNotBuilt
from serendip.workbench import Workspace

CHILD = Path(__file__).with_name("resume_child.py")
CHUNK = 512  # texts per encoder call (DenseIndex.add: batch 64 x 8)
N = 2 * CHUNK + 276
WAIT_S = 300  # a bound for a stuck child, not a timing assumption


def _workspace(root: Path) -> Path:
    """A workspace of N records whose dense model is a local (empty) folder: the fake encoder ignores it."""
    src = root.parent / f"{root.name}.jsonl"
    src.write_text("".join(json.dumps({"id": f"r{i}", "title": f"Record {i} on topic {i % 13}",
                                       "abstract": f"Abstract of record {i}."}) + "\n" for i in range(N)),
                   encoding="utf-8")
    with Workspace.init(root) as ws:
        ws.ingest([src])
        ws.config.retrieval.dense_model = str(root.parent / "model")
        ws.config.dump(root / "serendip.toml")
    (root.parent / "model").mkdir(exist_ok=True)
    return root


def _start(ws: Path, log: Path, block_at: int) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    return subprocess.Popen([sys.executable, str(CHILD), str(log), str(block_at), "index", "-w", str(ws),
                             "--encoder", "fake-count"], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def _finish(child: subprocess.Popen) -> str:
    out, err = child.communicate(timeout=WAIT_S)
    assert child.returncode == 0, out + err
    return err


def _calls(log: Path) -> list[int]:
    return [int(n) for n in log.read_text().split()] if log.exists() else []


def _vectors(ws: Path) -> tuple[list[str], np.ndarray]:
    dense = ws / "indexes" / "dense"
    return json.loads((dense / "ids.json").read_text()), np.load(dense / "embeddings.npy")


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM], ids=["sigkill", "sigterm"])
def test_a_killed_index_resumes(tmp_path, sig):
    clean = _workspace(tmp_path / "clean")
    _finish(_start(clean, tmp_path / "clean.log", block_at=0))
    assert _calls(tmp_path / "clean.log") == [CHUNK, CHUNK, N - 2 * CHUNK]

    ws = _workspace(tmp_path / "ws")
    log = tmp_path / "killed.log"
    child = _start(ws, log, block_at=3)
    blocked = Path(f"{log}.blocked")
    deadline = time.monotonic() + WAIT_S
    while not blocked.exists():  # the child is in its third encoder call: two chunks embedded
        assert child.poll() is None, child.communicate()
        assert time.monotonic() < deadline, "the child never reached its third encoder call"
        time.sleep(0.05)
    partial = ws / "indexes" / "dense.partial"
    assert len(list(partial.glob("shard-*.npy"))) == 2
    assert _calls(log) == [CHUNK, CHUNK]
    child.send_signal(sig)
    child.communicate(timeout=60)
    assert child.returncode == -sig if sig == signal.SIGKILL else child.returncode == 128 + sig

    # shards are never an index: searches see no dense index yet, BM25 (built first) works
    assert not (ws / "indexes" / "dense").exists()
    with Workspace.open(ws) as opened:
        with pytest.raises(IndexNotBuilt):
            opened.searcher().search("record", mode="dense")
        assert opened.search("topic", mode="bm25", k=1)

    rerun_log = tmp_path / "rerun.log"
    err = _finish(_start(ws, rerun_log, block_at=0))
    assert _calls(rerun_log) == [N - 2 * CHUNK]  # only the records no shard held
    assert "resuming an interrupted index: 1,024 vector(s)" in " ".join(err.split())
    assert not partial.exists()
    clean_ids, clean_vectors = _vectors(clean)
    ids, vectors = _vectors(ws)
    assert ids == clean_ids and len(ids) == N
    assert np.array_equal(vectors, clean_vectors)
