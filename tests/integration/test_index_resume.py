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
import zlib
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from serendip.cli.app import app
from serendip.errors import IndexNotBuilt
from serendip.retrieval import dense_checkpoint
from serendip.retrieval import encoders as enc_mod
from serendip.retrieval.encoders import ENCODERS, EncoderSpec
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


def _finish(child: subprocess.Popen) -> tuple[str, str]:
    out, err = child.communicate(timeout=WAIT_S)
    assert child.returncode == 0, out + err
    return out, err


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

    # shards are never an index: searches see no dense index yet, but are told it is incomplete and
    # that `serendip index` resumes it; BM25 (built first) works
    assert not (ws / "indexes" / "dense").exists()
    with Workspace.open(ws) as opened:
        with pytest.raises(IndexNotBuilt, match=r"incomplete: an interrupted `serendip index` embedded "
                                                r"1,024 of 1,300 records.*run `serendip index` to resume it"):
            opened.searcher().search("record", mode="dense")
        assert opened.search("topic", mode="bm25", k=1)
    r = CliRunner().invoke(app, ["search", "record", "--mode", "dense", "-w", str(ws)])
    assert r.exit_code == 2 and "--no-dense" not in r.output
    assert "embedded 1,024 of 1,300 records" in " ".join(r.output.split())

    rerun_log = tmp_path / "rerun.log"
    out, err = _finish(_start(ws, rerun_log, block_at=0))
    assert _calls(rerun_log) == [N - 2 * CHUNK]  # only the records no shard held
    assert "resuming an interrupted index: 1,024 vector(s)" in " ".join(err.split())
    # this run embedded the 276 others; the 1,024 read back are told apart, not counted as embedded
    assert "dense: 276 embedded now, 1,024 resumed from the interrupted run, 1,300 in index" in out
    assert not partial.exists()
    clean_ids, clean_vectors = _vectors(clean)
    ids, vectors = _vectors(ws)
    assert ids == clean_ids and len(ids) == N
    assert np.array_equal(vectors, clean_vectors)


class _StopAt:
    """A fake encoder (16-dimensional vectors from each text's hash) that raises KeyboardInterrupt on
    its call number ``stop_at`` (1-based; None: never), as a Ctrl-C in the middle of embedding."""

    def __init__(self, stop_at: int | None):
        self.stop_at, self.calls = stop_at, 0

    def encode(self, texts, batch_size=64):
        self.calls += 1
        if self.calls == self.stop_at:
            raise KeyboardInterrupt
        return np.asarray([np.random.default_rng(zlib.crc32(t.encode())).standard_normal(16) for t in texts],
                          dtype=np.float32)


def test_a_resumed_index_reports_what_it_embedded_and_what_it_resumed(tmp_path, monkeypatch):
    """In process, through the API: IndexReport.dense_added counts the vectors this run embedded,
    dense_resumed those read back from the checkpoint; between the runs a dense search says how far
    the interrupted run got."""
    monkeypatch.setattr(dense_checkpoint, "CHECKPOINT_S", 0.0)
    fake = _StopAt(stop_at=2)
    ENCODERS.add("fake-stop", EncoderSpec("fake-stop", lambda folder: fake, "test encoder"))
    enc_mod._loaded.clear()
    try:
        src = tmp_path / "docs.jsonl"
        src.write_text("".join(json.dumps({"id": f"r{i}", "title": f"Record {i}", "abstract": "Text."}) + "\n"
                               for i in range(CHUNK + 88)), encoding="utf-8")
        with Workspace.init(tmp_path / "ws") as ws:
            ws.ingest([src])
            with pytest.raises(KeyboardInterrupt):  # the first chunk of 512 is in a shard, the rest not
                ws.index(encoder="fake-stop")
            with pytest.raises(IndexNotBuilt, match="embedded 512 of 600 records"):
                ws.search("record", mode="dense")
            fake.stop_at = None
            rep = ws.index(encoder="fake-stop")
            assert (rep.dense_added, rep.dense_resumed, rep.dense_total) == (88, 512, 600)
            again = ws.index(encoder="fake-stop")
            assert (again.dense_added, again.dense_resumed, again.dense_total) == (0, 0, 600)
    finally:
        ENCODERS._items.pop("fake-stop")
        enc_mod._loaded.clear()
