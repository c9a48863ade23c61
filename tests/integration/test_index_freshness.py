"""Index freshness, damage and read-only use, through the Workspace API and the CLI: a stale index warns
(or, with retrieval.auto_index, is rebuilt first), a damaged index file is one line naming it and
`serendip index --rebuild` (exit 2), and a read-only workspace is searched and evaluated."""
from __future__ import annotations

import json
import os
import warnings
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from serendip.cli.app import app
from serendip.errors import StaleIndexWarning, WorkspaceReadOnly
from serendip.workbench import Workspace
from serendip.workspace import store as store_module

runner = CliRunner()

DOCS = [{"id": "a1", "title": "Aspirin and colorectal cancer", "abstract": "Aspirin lowered adenoma recurrence."},
        {"id": "a2", "title": "Statins and muscle pain", "abstract": "Myalgia was as common on placebo."},
        {"id": "a3", "title": "Coffee and liver fibrosis", "abstract": "Coffee drinkers had less fibrosis."}]
LATE = [{"id": "b1", "title": "Melatonin and jet lag", "abstract": "Melatonin shortened jet lag by a day."},
        {"id": "b2", "title": "Zinc and the common cold", "abstract": "Zinc lozenges shortened colds."}]


class FakeModel:
    """Stands in for the sentence-transformers model: a fixed random vector per first word."""

    def encode(self, texts, batch_size=64, **_kwargs):
        rows = [np.random.default_rng(sum(map(ord, t.split()[0].lower()))).standard_normal(8) for t in texts]
        rows = np.asarray(rows, dtype=np.float32)
        return rows / np.linalg.norm(rows, axis=1, keepdims=True)


@pytest.fixture(autouse=True)
def fake_model(monkeypatch):
    monkeypatch.setattr("serendip.retrieval.dense.load_model", lambda name: FakeModel())


def jsonl(path: Path, docs) -> Path:
    path.write_text("\n".join(json.dumps(d) for d in docs) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def ws_path(tmp_path) -> Path:
    """A closed workspace holding DOCS, indexed (BM25 and dense)."""
    with Workspace.init(tmp_path / "ws") as ws:
        ws.ingest([jsonl(tmp_path / "docs.jsonl", DOCS)])
        ws.index()
    return tmp_path / "ws"


def no_write_access(monkeypatch, folder: Path) -> None:
    """Deny write access under ``folder`` as os.access reports it (root is not stopped by chmod)."""
    real, root = os.access, str(folder.resolve())

    def access(path, mode, *args, **kwargs):
        if mode & os.W_OK and str(Path(path).resolve()).startswith(root):
            return False
        return real(path, mode, *args, **kwargs)

    monkeypatch.setattr(store_module.os, "access", access)


def test_search_warns_about_records_ingested_after_the_index(ws_path, tmp_path):
    with Workspace.open(ws_path) as ws:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            assert ws.search("aspirin", mode="bm25", k=1)[0].title == DOCS[0]["title"]
        assert ws.index_status().fresh
        ws.ingest([jsonl(tmp_path / "late.jsonl", LATE)])
        with pytest.warns(StaleIndexWarning, match=r"2 record\(s\) ingested after the last index .*`serendip index`"):
            hits = ws.search("melatonin jet lag", mode="bm25")
        assert hits == []  # the old index, as the warning says
        assert ws.index_status().not_indexed == 2
        ws.index(dense=False)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            assert ws.search("melatonin jet lag", mode="bm25")[0].title == LATE[0]["title"]


def test_an_ingest_by_another_process_is_noticed(ws_path, tmp_path, monkeypatch):
    monkeypatch.setattr("serendip.workbench.STATUS_TTL_S", 0.0)
    reader = Workspace.open(ws_path)
    reader.search("aspirin", mode="bm25")
    with Workspace.open(ws_path) as writer:
        writer.ingest([jsonl(tmp_path / "late.jsonl", LATE[:1])])
    with pytest.warns(StaleIndexWarning, match=r"^1 record\(s\)"):
        reader.search("aspirin", mode="bm25")
    reader.close()


def test_auto_index_config_indexes_before_searching(ws_path, tmp_path):
    cfg = ws_path / "serendip.toml"
    cfg.write_text(cfg.read_text().replace("auto_index = false", "auto_index = true"))
    with Workspace.open(ws_path) as ws:
        assert ws.config.retrieval.auto_index
        ws.ingest([jsonl(tmp_path / "late.jsonl", LATE)])
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            assert ws.search("zinc lozenges", mode="bm25", k=1)[0].title == LATE[1]["title"]
            assert ws.search("zinc lozenges", mode="hybrid", k=1)[0].title == LATE[1]["title"]
        assert ws.index_status().fresh


def test_cli_search_prints_the_stale_warning(ws_path, tmp_path):
    r = runner.invoke(app, ["ingest", str(jsonl(tmp_path / "late.jsonl", LATE)), "-w", str(ws_path)])
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["search", "aspirin", "-m", "bm25", "-w", str(ws_path)])
    assert r.exit_code == 0, r.output
    assert "warning: 2 record(s) ingested after the last index are not searched; run `serendip index`" in r.output
    assert runner.invoke(app, ["index", "-w", str(ws_path), "--no-dense"]).exit_code == 0
    r = runner.invoke(app, ["search", "melatonin", "-m", "bm25", "-w", str(ws_path)])
    assert r.exit_code == 0 and "warning" not in r.output and "Melatonin" in r.output


def _index_files(ws_path: Path) -> list[Path]:
    files = sorted(p for part in ("bm25", "dense") for p in (ws_path / "indexes" / part).iterdir())
    assert {p.name for p in files} >= {"manifest.json", "ids.json", "embeddings.npy", "meta.json",
                                        "data.csc.index.npy", "vocab.index.json", "serendip_bm25.json"}
    return files


@pytest.mark.parametrize("damage", ["truncate", "bad-json", "delete"])
def test_cli_damaged_index_file_is_one_line_and_rebuild_repairs_it(ws_path, damage):
    for path in _index_files(ws_path):
        if damage == "bad-json" and path.suffix != ".json":
            continue
        if damage == "delete" and path.name == "manifest.json":
            continue  # then the folder loads as one written before manifests (parts checked by parsing)
        original = path.read_bytes()
        if damage == "truncate":
            path.write_bytes(original[:len(original) // 2])
        elif damage == "bad-json":
            path.write_bytes(b"{" * len(original))
        else:
            path.unlink()
        # no_text.json is read by `index` (records with nothing to embed), not by a search
        command = ["index"] if path.name == "no_text.json" and damage == "bad-json" else ["search", "aspirin"]
        r = runner.invoke(app, [*command, "-w", str(ws_path)])
        assert r.exit_code == 2, (path.name, r.output)
        errors = [line for line in r.output.splitlines() if line.startswith("error:")]
        assert "Traceback" not in r.output and len(errors) == 1, r.output
        if command[0] == "search":
            assert len(r.output.strip().splitlines()) == 1, r.output
        assert "serendip index --rebuild" in errors[0] and str(path) in errors[0], (path.name, r.output)
        if path.name == "manifest.json" or "bm25" in path.parent.name:
            path.write_bytes(original)
            continue
        r = runner.invoke(app, ["index", "--rebuild", "-w", str(ws_path)])
        assert r.exit_code == 0, r.output
        r = runner.invoke(app, ["search", "aspirin", "-m", "hybrid", "-k", "1", "--json", "-w", str(ws_path)])
        assert r.exit_code == 0 and json.loads(r.stdout)[0]["title"] == DOCS[0]["title"]


def test_cli_verify_reports_every_file_and_finds_damage_that_keeps_size_and_time(ws_path):
    """`serendip index --verify` lists every part: a byte changed with the file's size and time kept is
    named, exit 1; after `--rebuild`, every file is whole (the whole-file check of a part larger than
    the bytes a load reads: tests/unit/retrieval/test_index_files.py)."""
    r = runner.invoke(app, ["index", "--verify", "-w", str(ws_path)])
    assert r.exit_code == 0, r.output
    files = _index_files(ws_path)
    for path in files:
        if path.name != "manifest.json":
            assert f"ok  indexes/{path.parent.name}/{path.name} (" in r.stdout, path
    n = {part: sum(p.parent.name == part and p.name != "manifest.json" for p in files) for part in ("bm25", "dense")}
    assert f"bm25: {n['bm25']} of {n['bm25']} file(s) whole" in r.stdout
    assert f"dense: {n['dense']} of {n['dense']} file(s) whole" in r.stdout

    ids = ws_path / "indexes" / "dense" / "ids.json"
    st, data = ids.stat(), bytearray(ids.read_bytes())
    data[len(data) // 2] = ord("9") if data[len(data) // 2] != ord("9") else ord("8")
    ids.write_bytes(bytes(data))
    os.utime(ids, ns=(st.st_atime_ns, st.st_mtime_ns))
    r = runner.invoke(app, ["index", "--verify", "-w", str(ws_path)])
    assert r.exit_code == 1, r.output
    assert "DAMAGED  indexes/dense/ids.json (" in r.stdout
    assert "dense: " in r.stdout and "1 damaged: run `serendip index --rebuild`" in r.stdout
    assert runner.invoke(app, ["index", "--rebuild", "-w", str(ws_path)]).exit_code == 0
    r = runner.invoke(app, ["index", "--verify", "-w", str(ws_path)])
    assert r.exit_code == 0 and "DAMAGED" not in r.stdout
    r = runner.invoke(app, ["index", "--verify", "--rebuild", "-w", str(ws_path)])
    assert r.exit_code == 2 and "--verify builds nothing" in r.output


def test_cli_damage_that_keeps_the_size_is_one_line_on_search(ws_path):
    """A part rewritten in place with its size kept (here: the dense vectors) is caught when the index
    loads (its time moved and its SHA-256 differs): one line naming it and the rebuild."""
    emb = ws_path / "indexes" / "dense" / "embeddings.npy"
    data = bytearray(emb.read_bytes())
    data[-1] ^= 0xFF
    emb.write_bytes(bytes(data))
    r = runner.invoke(app, ["search", "aspirin", "-m", "dense", "-w", str(ws_path)])
    assert r.exit_code == 2 and len(r.output.strip().splitlines()) == 1, r.output
    assert str(emb) in " ".join(r.output.split()) and "serendip index --rebuild" in r.output
    assert runner.invoke(app, ["search", "aspirin", "-m", "bm25", "-w", str(ws_path)]).exit_code == 0


def test_rebuild_without_dense_drops_the_dense_index(ws_path):
    r = runner.invoke(app, ["index", "--rebuild", "--no-dense", "-w", str(ws_path)])
    assert r.exit_code == 0, r.output
    assert not (ws_path / "indexes" / "dense").exists()
    assert sorted(p.name for p in (ws_path / "indexes").iterdir()) == ["bm25", "changes.json"]


def test_cli_read_only_workspace_searches_and_refuses_writes(ws_path, tmp_path, monkeypatch):
    no_write_access(monkeypatch, ws_path)
    r = runner.invoke(app, ["search", "statins myalgia", "-k", "1", "--json", "-w", str(ws_path)])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)[0]["title"] == DOCS[1]["title"]
    for args in (["ingest", str(jsonl(tmp_path / "late.jsonl", LATE))], ["index"]):
        r = runner.invoke(app, [*args, "-w", str(ws_path)])
        assert r.exit_code == 2 and "Traceback" not in r.output
        assert f"is read-only: {args[0]} needs write access" in " ".join(r.output.split())


def _tiny_beir(folder: Path) -> tuple[Path, Path, Path]:
    folder.mkdir()
    corpus = jsonl(folder / "corpus.jsonl", [{"_id": d["id"], "title": d["title"], "text": d["abstract"]}
                                              for d in DOCS])
    queries = jsonl(folder / "queries.jsonl", [{"_id": "q1", "text": "aspirin adenoma"},
                                               {"_id": "q2", "text": "coffee fibrosis"}])
    qrels = folder / "test.tsv"
    qrels.write_text("query-id\tcorpus-id\tscore\nq1\ta1\t1\nq2\ta3\t1\n")
    return corpus, queries, qrels


def test_evaluate_a_read_only_workspace(tmp_path, monkeypatch):
    files = _tiny_beir(tmp_path / "beir")
    monkeypatch.setattr("serendip.datasets.beir_files", lambda name, split="test": files)
    with Workspace.init(tmp_path / "eval") as ws:
        writable = ws.evaluate("scifact", modes=["bm25", "dense"])
    assert writable["bm25"]["ndcg@10"] == pytest.approx(1.0)
    no_write_access(monkeypatch, tmp_path / "eval")
    with Workspace.open(tmp_path / "eval") as ws:
        assert ws.store.read_only
        assert ws.evaluate("scifact", modes=["bm25", "dense"]) == writable
    with Workspace.init(tmp_path / "empty"):
        pass
    no_write_access(monkeypatch, tmp_path / "empty")
    with Workspace.open(tmp_path / "empty") as ws, pytest.raises(WorkspaceReadOnly) as exc:
        ws.evaluate("scifact", modes=["bm25"])
    assert str(exc.value) == (f"workspace {tmp_path / 'empty'} is read-only: evaluate (ingesting and "
                              f"indexing scifact) needs write access")
