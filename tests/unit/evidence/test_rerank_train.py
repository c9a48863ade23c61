"""``serendip rerank-train``: a reranker trained on a toy workspace from BEIR-style judged queries (hard
negatives mined from its own hybrid index, a tiny BERT for one epoch at 32 tokens), its search settings
tuned on held-out queries, and ``serendip search --rerank RUN`` using it; bad input is one line naming
the file and line."""
from __future__ import annotations

import json
import random

import pytest
from evidence_helpers import QUERY, write_jsonl
from models_helpers import dna, make_backbone
from typer.testing import CliRunner

from serendip.cli.app import app
from serendip.errors import ConfigError, DataError
from serendip.evidence.rerank import SETTINGS_FILE, read_reranker_settings
from serendip.evidence.rerank_train import load_judgements
from serendip.evidence.rerank_tune import DEPTHS, WEIGHTS
from serendip.workbench import Workspace

pytestmark = pytest.mark.usefixtures("one_torch_thread", "onnx_cache")

N_DOCS, N_QUERIES = 12, 8


def _files(root, qrels_lines=None):
    """queries.jsonl (q0..q7, plus one never judged) and qrels.tsv: each query judges two records
    holding GGGG (the odd ones) relevant, by their JSON Lines ids."""
    queries = write_jsonl(root / "queries.jsonl", [{"_id": f"q{i}", "text": f"{QUERY} {i}"}
                                                   for i in range(N_QUERIES + 1)])
    if qrels_lines is None:
        qrels_lines = ["query-id\tcorpus-id\tscore"] + [
            f"q{i}\tr{(2 * i + 1) % N_DOCS}\t1\nq{i}\tr{(2 * i + 3) % N_DOCS}\t1" for i in range(N_QUERIES)]
    qrels = root / "qrels.tsv"
    qrels.write_text("\n".join(qrels_lines) + "\n", encoding="utf-8")
    return queries, qrels


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    """A workspace of 12 records (title QUERY, a DNA abstract; the odd ones hold GGGG), indexed with
    BM25 and the bundled MiniLM dense index (for hybrid), the judged-query files and a tiny backbone."""
    root = tmp_path_factory.mktemp("rerank_train")
    rng = random.Random(3)
    docs = write_jsonl(root / "docs.jsonl", [{"id": f"r{i}", "title": QUERY, "abstract": dna(rng, i % 2 == 1)}
                                             for i in range(N_DOCS)])
    with Workspace.init(root / "ws") as ws:
        ws.ingest([docs])
        ws.index()
    queries, qrels = _files(root)
    return {"ws": root / "ws", "queries": queries, "qrels": qrels, "backbone": make_backbone(root / "backbone"),
            "root": root}


def _invoke(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


def _one_line_error(out) -> str:
    lines = [line for line in out.output.splitlines() if line.strip()]
    assert out.exit_code == 2 and len(lines) == 1 and lines[0].startswith("error:"), out.output
    return lines[0]


def test_rerank_train_then_search_rerank_uses_the_run(toy):
    out = _invoke("rerank-train", toy["queries"], toy["qrels"], "-w", toy["ws"], "--epochs", 1, "--max-length", 32,
                  "--batch-size", 8, "--held-out", 0.25, "--backbone", toy["backbone"], "--json")
    assert out.exit_code == 0, out.output
    rep = json.loads(out.stdout)
    assert (rep["fit"], rep["held"], rep["mode"]) == (6, 2, "hybrid")
    assert rep["positives"] == 12 and rep["negatives"] == 30  # 2 judged + 5 mined negatives per fit query
    assert rep["rerank_k"] in DEPTHS and rep["weight"] in WEIGHTS and 0 <= rep["ndcg_at_10"] <= 1
    run = rep["run_dir"]
    settings = read_reranker_settings(run)
    assert (settings["rerank_k"], settings["weight"]) == (rep["rerank_k"], rep["weight"])
    assert "2 held-out queries of qrels.tsv" in settings["tuned_on"]
    fit_pairs = [json.loads(line) for line in open(f"{run}/pairs/fit.jsonl", encoding="utf-8")]
    assert len(fit_pairs) == 12 + 30 and {p["label"] for p in fit_pairs} == {"relevant", "not_relevant"}
    listed = _invoke("runs", "list", "-w", toy["ws"])
    assert "reranker" in listed.output
    hits = _invoke("search", QUERY, "-w", toy["ws"], "-k", 3, "--rerank", rep["run_id"], "--json")
    assert hits.exit_code == 0, hits.output
    assert len(json.loads(hits.stdout)) == 3
    shown = _invoke("search", QUERY, "-w", toy["ws"], "-k", 3, "--rerank", rep["run_id"])
    assert shown.exit_code == 0 and "reranked by cross-encoder" in shown.output


def test_without_held_out_queries_no_settings_are_written(toy, tmp_path):
    from serendip.evidence.rerank_train import train_reranker

    seen = []

    def steps(name, total):
        seen.append((name, total))
        return lambda n: None

    with Workspace.open(toy["ws"]) as ws:
        judged = load_judgements(ws, toy["queries"], toy["qrels"])
        assert sorted(judged.queries) == [f"q{i}" for i in range(N_QUERIES)]  # the unjudged query is left out
        rep = train_reranker(ws, judged, mode="bm25", epochs=1, max_length=32, batch_size=8, held_out=0.0,
                             backbone=str(toy["backbone"]), name="rr-bm25", steps=steps)
    assert rep.held == 0 and rep.rerank_k is None and not (rep.run_dir / SETTINGS_FILE).exists()
    shown = _invoke("runs", "show", rep.run_dir)  # no dev split: no selection to show, no empty metric table
    assert shown.exit_code == 0, shown.output
    text = " ".join(shown.output.split())
    assert "selection: none (no dev split), the last of 1 epoch(s) kept; trainable parameters" in text
    assert "best epoch None" not in text and "dev (best)" not in text
    assert "note: no dev split: no model selection, the last epoch is kept" in text
    assert [name for name, _ in seen] == ["mine negatives", "fine-tune"] and seen[0][1] == N_QUERIES
    seen.clear()
    with Workspace.open(toy["ws"]) as ws:   # more layers than the backbone has: refused before any mining
        with pytest.raises(ConfigError, match="99 layers asked of backbone"):
            train_reranker(ws, judged, mode="bm25", backbone=str(toy["backbone"]), layers=99, steps=steps)
    assert seen == []


@pytest.mark.parametrize("lines, want", [
    (["q0\tr1\t1", "q0\tr3\t1", "q99\tr1\t1"], r"qrels.tsv, line 3: query 'q99' is not in .*queries.jsonl"),
    (["query-id\tcorpus-id\tscore", "q0\tr1\t1", "q1\tnope\t1"], r"qrels.tsv, line 3: record 'nope' is not in the "
                                                                  r"workspace"),
    (["q0\tr1\tyes"], r"qrels.tsv.*line 1.*relevance 'yes' is not a number"),
    (["q0\tr1\t0"], r"qrels.tsv: no query has a relevant record"),
])
def test_bad_qrels_are_one_line_naming_file_and_line(toy, tmp_path, lines, want):
    queries, qrels = _files(tmp_path, lines)
    queries.write_text(toy["queries"].read_text())
    out = _invoke("rerank-train", queries, qrels, "-w", toy["ws"], "--backbone", toy["backbone"])
    assert __import__("re").search(want, " ".join(_one_line_error(out).split())), out.output


def test_missing_file_record_ids_and_no_index(toy, tmp_path):
    line = _one_line_error(_invoke("rerank-train", toy["queries"], tmp_path / "none.tsv", "-w", toy["ws"]))
    assert "none.tsv: no such file; expected the qrels" in line
    with Workspace.open(toy["ws"]) as ws:
        with pytest.raises(DataError, match=r"record '1' is not in the workspace.*--record-ids"):
            load_judgements(ws, toy["queries"], _files(tmp_path, ["q0\t1\t1"])[1])
        rid = str(ws.search(QUERY, mode="bm25", k=1)[0].record_id)
        by_id = load_judgements(ws, toy["queries"], _files(tmp_path, [f"q0\t{rid}\t1"])[1], record_ids=True)
        assert by_id.qrels == {"q0": {rid: 1}} and by_id.texts[rid].startswith(QUERY)
        huge = "99999999999999999999999"  # outside SQLite's signed 64-bit range: simply no record
        with pytest.raises(DataError, match=f"record '{huge}' is not in the workspace"):
            load_judgements(ws, toy["queries"], _files(tmp_path, [f"q0\t{huge}\t1"])[1], record_ids=True)
        assert [r for r, _ in ws.records([10**30, int(rid)])] == [int(rid)]
    docs = tmp_path / "docs.jsonl"
    docs.write_text((toy["root"] / "docs.jsonl").read_text())
    with Workspace.init(tmp_path / "fresh") as ws:
        ws.ingest([docs])
    line = _one_line_error(_invoke("rerank-train", toy["queries"], toy["qrels"], "-w", tmp_path / "fresh"))
    assert "run `serendip index` first" in line
