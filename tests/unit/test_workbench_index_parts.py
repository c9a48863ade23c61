"""A search reads only the index parts its mode needs: BM25 never opens the dense index (nor its model),
so a damaged dense index stops dense and hybrid searches only, and a damaged BM25 index bm25 and hybrid
only, with the one-line error."""
from __future__ import annotations

import inspect
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from serendip.errors import IndexDamaged
from serendip.retrieval import dense as dense_module
from serendip.retrieval.dense import DenseIndex
from serendip.workbench import Workspace

DOCS = [{"id": "a1", "title": "Aspirin and colorectal cancer", "abstract": "Aspirin lowered adenoma recurrence."},
        {"id": "a2", "title": "Statins and muscle pain", "abstract": "Myalgia was as common on placebo."}]
SRC = Path(__file__).resolve().parents[2] / "src"
_real_load = inspect.getattr_static(DenseIndex, "load")  # the classmethod, to wrap with the pseudo-encoder


def _encoder(texts, batch_size):
    """Deterministic 8-dimensional pseudo-embeddings (no model)."""
    return np.stack([np.random.default_rng(len(t)).standard_normal(8) for t in texts]).astype(np.float32)


@pytest.fixture
def ws_path(tmp_path) -> Path:
    """A workspace with both indexes; the dense one built with a pseudo-encoder (no model)."""
    docs = tmp_path / "docs.jsonl"
    docs.write_text("\n".join(json.dumps(d) for d in DOCS) + "\n")
    with Workspace.init(tmp_path / "ws") as ws:
        ws.ingest([docs])
        ws.index(dense=False)
        dense = DenseIndex(encoder=_encoder)
        rows = list(ws.records())
        dense.add([str(r) for r, _ in rows], [rec.title for _, rec in rows], [rec.abstract for _, rec in rows])
        dense.save(ws.index_dir / "dense")
    return tmp_path / "ws"


def test_bm25_search_never_loads_the_dense_index_or_model(ws_path, monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("the dense index or model was loaded for a BM25 search")

    monkeypatch.setattr(DenseIndex, "load", classmethod(refuse))
    monkeypatch.setattr(dense_module, "load_model", refuse)
    with Workspace.open(ws_path) as ws:
        hits = ws.search("aspirin adenoma", mode="bm25", k=1)
        assert [h.title for h in hits] == [DOCS[0]["title"]]
        assert not ws.searcher().dense_loaded and "dense" in ws.searcher().parts()


def test_a_damaged_dense_index_stops_only_the_modes_that_read_it(ws_path):
    emb = ws_path / "indexes" / "dense" / "embeddings.npy"
    data = emb.read_bytes()
    emb.write_bytes(b"\0" * len(data))  # same size: the manifest's edge check names it
    with Workspace.open(ws_path) as ws:
        assert [h.title for h in ws.search("statins", mode="bm25", k=1)] == [DOCS[1]["title"]]
        for mode in ("dense", "hybrid"):
            with pytest.raises(IndexDamaged) as exc:
                ws.search("statins", mode=mode, k=1)
            msg = str(exc.value)
            assert "\n" not in msg and str(emb) in msg and "serendip index --rebuild" in msg


def test_cli_bm25_search_in_a_fresh_process_imports_no_dense_stack(ws_path):
    """`serendip search --mode bm25` with a damaged dense index: exit 0, the hit printed, and neither
    torch, sentence-transformers nor faiss imported."""
    (ws_path / "indexes" / "dense" / "meta.json").write_text("{not json")
    code = ("import json, sys\n"
            "from serendip.cli.app import main\n"
            "sys.argv = ['serendip', 'search', 'aspirin', '--mode', 'bm25', '-k', '1', '--json', '-w', sys.argv[1]]\n"
            "try:\n    main()\nexcept SystemExit as exc:\n    rc = exc.code or 0\nelse:\n    rc = 0\n"
            "heavy = sorted(m for m in ('torch', 'sentence_transformers', 'faiss', 'transformers') if m in sys.modules)\n"
            "print(json.dumps({'rc': rc, 'heavy': heavy}))\n")
    out = subprocess.run([sys.executable, "-c", code, str(ws_path)], capture_output=True, text=True, timeout=120,
                         env={"PYTHONPATH": str(SRC), "PATH": "/usr/bin:/bin"})
    lines = out.stdout.strip().splitlines()
    assert out.returncode == 0, out.stderr
    hits, status = json.loads(lines[0]), json.loads(lines[-1])
    assert status == {"rc": 0, "heavy": []} and hits[0]["title"] == DOCS[0]["title"]


@pytest.mark.parametrize("part", ["data.csc.index.npy", "ids.json", "serendip_bm25.json"])
def test_a_damaged_bm25_index_stops_only_the_modes_that_read_it(ws_path, monkeypatch, part):
    """The mirror case: BM25 damage blocks bm25 and hybrid, never dense (whose freshness is then read
    from the dense index itself)."""
    monkeypatch.setattr(DenseIndex, "load", classmethod(
        lambda cls, folder, **kw: _real_load.__func__(cls, folder, encoder=_encoder, **kw)))
    bad = ws_path / "indexes" / "bm25" / part
    bad.write_bytes(b"\0" * bad.stat().st_size)
    with Workspace.open(ws_path) as ws:
        hits = ws.search("statins", mode="dense", k=2)
        assert sorted(h.title for h in hits) == sorted(d["title"] for d in DOCS)
        for mode in ("bm25", "hybrid"):
            with pytest.raises(IndexDamaged) as exc:
                ws.search("statins", mode=mode, k=1)
            msg = str(exc.value)
            assert "\n" not in msg and str(bad) in msg and "serendip index --rebuild" in msg


def test_dense_freshness_is_read_from_the_dense_index(ws_path, tmp_path, monkeypatch):
    """A dense search warns about records the dense index lacks (here: ingested, then indexed with
    --no-dense), which BM25's status would call fresh."""
    from serendip.errors import StaleIndexWarning

    monkeypatch.setattr(DenseIndex, "load", classmethod(
        lambda cls, folder, **kw: _real_load.__func__(cls, folder, encoder=_encoder, **kw)))
    late = tmp_path / "late.jsonl"
    late.write_text(json.dumps({"id": "a3", "title": "Coffee and the liver", "abstract": "Less fibrosis."}) + "\n")
    with Workspace.open(ws_path) as ws:
        ws.ingest([late])
        ws.index(dense=False)
        assert ws.index_status().fresh and ws.index_status("dense").not_indexed == 1
        with pytest.warns(StaleIndexWarning, match="1 record") as caught:
            ws.search("coffee", mode="dense", k=1)
        assert caught[0].filename == __file__  # the warning names the caller of Workspace.search
