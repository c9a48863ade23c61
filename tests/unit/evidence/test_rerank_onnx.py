"""The cross-encoder reranker's ONNX backends on the tiny run: fp32 scores equal to PyTorch's, int8
keeping the ranking, length-sorted batches returned in input order, the cached export (made once,
never again; a damaged file is one line), the backend chosen by option, workspace setting or default,
and ``serendip search --rerank-backend``."""
from __future__ import annotations

import json
import random
import shutil

import numpy as np
import pytest
from evidence_helpers import QUERY, candidates, spearman, write_jsonl
from models_helpers import dna
from typer.testing import CliRunner

from serendip.errors import ConfigError, DataError
from serendip.evidence import rerank as rerank_mod
from serendip.evidence.rerank import CrossEncoderReranker, default_backend
from serendip.retrieval import onnx_export
from serendip.retrieval.onnx_export import ExportError, export_folder, exported_model
from serendip.workbench import Workspace

pytestmark = pytest.mark.usefixtures("one_torch_thread", "onnx_cache")


def test_onnx_fp32_scores_equal_torch_in_input_order_with_length_sorted_batches(tiny_runs):
    docs, _ = candidates()
    torch_rr = CrossEncoderReranker.load(tiny_runs["good"], backend="torch", batch_size=3)
    onnx_rr = CrossEncoderReranker.load(tiny_runs["good"], backend="onnx", batch_size=3, threads=1)
    assert onnx_rr.session is not None and onnx_rr.bundle.model is None and "(onnx," in onnx_rr.description
    widths, logits = [], onnx_rr._logits

    def recorded(feed):
        widths.append(feed["input_ids"].shape)
        return logits(feed)

    onnx_rr._logits = recorded
    ref, got = torch_rr.score(QUERY, docs), onnx_rr.score(QUERY, docs)
    assert got.dtype == np.float64 and got.shape == (len(docs),)
    assert np.max(np.abs(got - ref)) < 1e-4
    # batches of 3, longest first: each padded to its own longest pair, never to the longest of all
    assert [n for n, _ in widths] == [3, 3, 3, 3] and [w for _, w in widths] == sorted((w for _, w in widths), reverse=True)
    assert widths[0][1] == 32 and widths[-1][1] < 20
    # the scores follow the input order: one text at a time, and the list reversed, give the same
    alone = np.array([torch_rr.score(QUERY, [d])[0] for d in docs])
    assert np.max(np.abs(alone - ref)) < 1e-5
    assert np.max(np.abs(onnx_rr.score(QUERY, docs[::-1]) - got[::-1])) < 1e-6
    assert onnx_rr.score(QUERY, []).shape == (0,)


def test_int8_keeps_the_ranking_of_separated_candidates(tiny_runs):
    docs, relevant = candidates()
    ref = CrossEncoderReranker.load(tiny_runs["good"], backend="torch").score(QUERY, docs)
    got = CrossEncoderReranker.load(tiny_runs["good"], backend="onnx-int8").score(QUERY, docs)
    assert ref[relevant].min() > ref[~relevant].max()  # the fixture is separated in torch ...
    assert got[relevant].min() > got[~relevant].max()  # ... and so in int8
    assert spearman(got, ref) > 0.9


def test_the_export_is_made_once_then_read_from_the_cache(tiny_runs, tmp_path, monkeypatch):
    monkeypatch.setenv("SERENDIP_CACHE", str(tmp_path / "cache"))
    calls = []
    real = onnx_export._export_plain
    monkeypatch.setattr(onnx_export, "_export_plain", lambda *a: (calls.append(a[2].output), real(*a))[1])
    CrossEncoderReranker.load(tiny_runs["good"], backend="onnx-int8")
    model = tiny_runs["good"] / "model"
    path = exported_model(model, "int8", kind="sequence-classifier")
    stamp = path.stat().st_mtime_ns
    assert calls == ["logits"] and path.parent == export_folder(model, "sequence-classifier")
    assert path.parent != export_folder(model)  # the classifier's cache is not the encoder's
    info = json.loads((path.parent / "export.json").read_text())
    assert info["kind"] == "sequence-classifier" and info["files"] == ["model-int8.onnx", "model-plain.onnx"]
    rr = CrossEncoderReranker.load(tiny_runs["good"], backend="onnx-int8")
    assert calls == ["logits"] and path.stat().st_mtime_ns == stamp and rr.score(QUERY, [QUERY]).shape == (1,)
    assert not list(path.parent.glob(".*"))  # no temporary file left


def test_a_damaged_cached_export_is_one_line_error(tiny_runs, tmp_path, monkeypatch):
    monkeypatch.setenv("SERENDIP_CACHE", str(tmp_path / "cache"))
    CrossEncoderReranker.load(tiny_runs["good"], backend="onnx")
    path = exported_model(tiny_runs["good"] / "model", "fp32", kind="sequence-classifier")
    path.write_bytes(b"\x08\x07 not a protobuf" * 10)
    with pytest.raises(ExportError) as err:
        CrossEncoderReranker.load(tiny_runs["good"], backend="onnx")
    message = str(err.value)
    assert "\n" not in message and message.startswith(f"{path}: ONNX Runtime cannot load this cached export")
    assert f"delete the folder {path.parent}" in message


def test_backend_choice_default_and_refusals(tiny_runs, tmp_path, monkeypatch):
    assert default_backend() == "onnx-int8"  # onnxruntime is a dependency
    assert CrossEncoderReranker.load(tiny_runs["good"]).backend == "onnx-int8"
    import importlib.util

    find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "onnxruntime" else find_spec(name, *a))
    assert default_backend() == "torch" and CrossEncoderReranker.load(tiny_runs["good"]).session is None
    with pytest.raises(ConfigError, match="unknown reranker backend 'tensorrt'; expected one of: torch, onnx, onnx-int8, openvino-int8"):
        CrossEncoderReranker.load(tiny_runs["good"], backend="tensorrt")
    with pytest.raises(DataError, match="is not a cross-encoder reranker"):  # refused before any export
        CrossEncoderReranker.load(tiny_runs["bad"], backend="onnx")
    run = tmp_path / "adapter-run"  # a run that saved only an adapter (its tokenizer beside it)
    shutil.copytree(tiny_runs["good"], run)
    (run / "model").rename(run / "adapter")
    info = json.loads((run / "model.json").read_text())
    (run / "model.json").write_text(json.dumps({**info, "format": "adapter"}))
    with pytest.raises(DataError, match="has no model/ folder .* use the torch backend"):
        CrossEncoderReranker.load(run, backend="onnx-int8")
    assert rerank_mod.BACKENDS == {"torch": None, "onnx": "fp32", "onnx-int8": "int8",
                                 "openvino-int8": "plain"}


def _workspace(tmp_path):
    rng = random.Random(11)
    docs = [{"id": f"r{i}", "title": QUERY, "abstract": dna(rng, i >= 4)} for i in range(6)]  # r4, r5 relevant
    ws = Workspace.init(tmp_path / "ws")
    ws.ingest([write_jsonl(tmp_path / "docs.jsonl", docs)])
    ws.index(dense=False)
    return ws


def test_search_backend_from_the_option_or_the_workspace_setting(tiny_runs, tmp_path):
    run = str(tiny_runs["good"])
    with _workspace(tmp_path) as ws:
        hits = ws.search(QUERY, mode="bm25", k=2, rerank=run, rerank_k=6, rerank_backend="onnx")
        assert {h.source_id[-2:] for h in hits} == {"r4", "r5"}
        assert [m.backend for m in ws._rerankers.values()] == ["onnx"]
        with pytest.raises(ConfigError, match="reranker 'cross-encoder' has no backend 'tensorrt'; expected one "
                                              "of: torch, onnx, onnx-int8, openvino-int8"):
            ws.search(QUERY, mode="bm25", rerank=run, rerank_backend="tensorrt")
        folder = ws.path
    cfg = folder / "serendip.toml"
    cfg.write_text(cfg.read_text().replace("[retrieval]\n", '[retrieval]\nrerank_backend = "torch"\n'))
    with Workspace.open(folder) as ws:
        assert ws.config.retrieval.rerank_backend == "torch"
        ws.search(QUERY, mode="bm25", k=2, rerank=run, rerank_k=6)
        assert [m.backend for m in ws._rerankers.values()] == ["torch"]
        ws.config.dump(tmp_path / "again.toml")
        assert 'rerank_backend = "torch"' in (tmp_path / "again.toml").read_text()
    cfg.write_text(cfg.read_text().replace('rerank_backend = "torch"', 'rerank_backend = "nope"'))
    with Workspace.open(folder) as ws:  # a bad setting is named where it was written
        with pytest.raises(ConfigError, match=r"no backend 'nope' \(retrieval.rerank_backend in .*serendip.toml\)"):
            ws.search(QUERY, mode="bm25", rerank=run)


def test_cli_search_rerank_backend(tiny_runs, tmp_path):
    from serendip.cli.app import app

    with _workspace(tmp_path) as ws:
        folder = str(ws.path)
    runner = CliRunner()
    base = ["search", QUERY, "-w", folder, "-m", "bm25", "-k", "2", "--rerank", str(tiny_runs["good"]), "--rerank-k", "6"]
    out = runner.invoke(app, [*base, "--rerank-backend", "onnx-int8", "--json"])
    assert out.exit_code == 0, out.output
    assert {h["source_id"][-2:] for h in json.loads(out.output)} == {"r4", "r5"}
    out = runner.invoke(app, [*base, "--rerank-backend", "tensorrt"])
    lines = [line for line in out.output.splitlines() if line.strip()]
    assert out.exit_code == 2 and lines[0].startswith("error:") and "has no backend 'tensorrt'" in " ".join(out.output.split())
    out = runner.invoke(app, ["search", "--help"], env={"COLUMNS": "200"})
    assert "Registered: cross-encoder: torch, onnx, onnx-int8, openvino-int8." in " ".join(out.output.replace("│", " ").split())
