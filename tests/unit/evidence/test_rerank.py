"""The cross-encoder reranker: its training pairs, a tiny run fine-tuned through the engine's ``pair``
task that then reorders candidates (a known relevant one rises), ``Workspace.search(rerank=...)`` and
``serendip search --rerank`` with its one-line errors, and the RERANKERS meta-test."""
from __future__ import annotations

import json
import random

import numpy as np
import pytest
from evidence_helpers import QUERY, write_jsonl
from models_helpers import dna
from typer.testing import CliRunner

from serendip.errors import ConfigError, DataError
from serendip.evidence.rerank import RELEVANT, CrossEncoderReranker
from serendip.evidence.rerank_data import reranker_examples, split_queries
from serendip.models.runs import RunNotFound
from serendip.retrieval.rerank import rerank
from serendip.workbench import Workspace

pytestmark = pytest.mark.usefixtures("one_torch_thread", "onnx_cache")


def test_training_pairs_are_judged_positives_and_seeded_hard_negatives():
    queries = {"1": "zinc colds", "2": "aspirin cancer", "9": "test claim"}
    qrels = {"1": {"d1": 1}, "2": {"d4": 1, "d5": 0}, "9": {"d1": 1}}
    ranked = {"1": ["d2", "d1", "d3", "d4", "d5"], "2": ["d4", "d5", "d1"], "9": ["d1"]}
    texts = {d: f"text {d}" for d in ("d1", "d2", "d3", "d4", "d5")}
    rows = reranker_examples(queries, qrels, ranked, texts, ["1", "2"], negatives=2, depth=3, seed=0)
    by_q = {q: [(r["id"].split(":")[1], r["label"]) for r in rows if r["id"].startswith(q + ":")] for q in "12"}
    assert by_q["1"][0] == ("d1", RELEVANT) and {d for d, _ in by_q["1"][1:]} == {"d2", "d3"}  # top 3 minus d1
    assert by_q["2"][0] == ("d4", RELEVANT) and {d for d, _ in by_q["2"][1:]} == {"d5", "d1"}  # rel 0: a negative
    assert rows == reranker_examples(queries, qrels, ranked, texts, ["1", "2"], negatives=2, depth=3, seed=0)
    with pytest.raises(DataError, match=r"held-out query\(ies\) among the training queries"):
        reranker_examples(queries, qrels, ranked, texts, ["1", "9"], exclude={"9"})
    with pytest.raises(DataError, match="query 3: no text"):
        reranker_examples(queries, qrels, ranked, texts, ["3"])
    fit, held = split_queries([str(i) for i in range(50)], 0.1, seed=0)
    assert len(held) == 5 and not set(fit) & set(held) and split_queries(map(str, range(50)), 0.1, 0) == (fit, held)


class _Fixed:
    description = "fixed"

    def __init__(self, scores):
        self.scores = scores

    def score(self, query, texts):
        return np.array([self.scores[t] for t in texts], dtype=np.float64)


def test_rerank_orders_by_the_reranker_or_a_convex_fusion_with_the_first_stage():
    first = [("a", 9.0), ("b", 5.0), ("c", 1.0)]
    fixed = _Fixed({"A": 0.1, "B": 0.3, "C": 2.1})
    assert rerank(fixed, "q", first, ["A", "B", "C"], 3) == [("c", 2.1), ("b", 0.3), ("a", 0.1)]
    # weight 0.5: 0.5 * minmax(reranker) + 0.5 * minmax(first): a 0.5*0 + 0.5*1, b 0.5*0.1 + 0.5*0.5, c 0.5
    fused = rerank(fixed, "q", first, ["A", "B", "C"], 2, weight=0.5)
    assert [d for d, _ in fused] == ["a", "c"] and [s for _, s in fused] == pytest.approx([0.5, 0.5])
    assert rerank(fixed, "q", [], [], 3) == []
    with pytest.raises(ConfigError, match="1 texts for 3 candidates"):
        rerank(fixed, "q", first, ["A"], 3)


def test_the_tiny_reranker_lifts_the_relevant_documents(tiny_runs):
    rr = CrossEncoderReranker.load(tiny_runs["good"], backend="torch")
    rng = random.Random(5)
    docs = [f"{QUERY} {dna(rng, False)}", f"{QUERY} {dna(rng, False)}", f"{QUERY} {dna(rng, True)}",
            f"{QUERY} {dna(rng, False)}", f"{QUERY} {dna(rng, True)}"]
    first = [(f"d{i}", 10.0 - i) for i in range(len(docs))]  # the relevant ones ranked 3rd and 5th
    assert sorted(d for d, _ in rerank(rr, QUERY, first, docs, 2)) == ["d2", "d4"]
    # the fast path scores as the engine's own prediction does: log-odds of relevance
    from serendip.models.example import Example
    from serendip.models.predict import predict_examples

    pred = predict_examples(rr.bundle, [Example(text=QUERY, text_pair=d) for d in docs])
    pos = list(rr.bundle.label_space.classes).index(RELEVANT)
    log_odds = np.log(pred.scores[:, pos]) - np.log(pred.scores[:, 1 - pos])
    assert rr.score(QUERY, docs) == pytest.approx(log_odds, abs=1e-4)


def test_a_run_with_other_classes_is_refused_in_one_line(tiny_runs):
    with pytest.raises(DataError, match=r"is not a cross-encoder reranker: its task is 'pair' with classes"):
        CrossEncoderReranker.load(tiny_runs["bad"])


def _workspace(tmp_path):
    rng = random.Random(11)
    docs = [{"id": f"r{i}", "title": QUERY, "abstract": dna(rng, i >= 4)} for i in range(6)]  # r4, r5 relevant
    path = tmp_path / "docs.jsonl"
    write_jsonl(path, docs)
    ws = Workspace.init(tmp_path / "ws")
    ws.ingest([path])
    ws.index(dense=False)
    return ws


def test_workspace_search_reranks_the_candidates(tiny_runs, tmp_path):
    with _workspace(tmp_path) as ws:
        plain = ws.search(QUERY, mode="bm25", k=6)
        relevant = {h.source_id for h in plain if h.source_id.endswith(("r4", "r5"))}
        assert len(relevant) == 2 and {h.source_id for h in plain[:2]} != relevant
        hits = ws.search(QUERY, mode="bm25", k=2, rerank=str(tiny_runs["good"]), rerank_k=6)
        assert {h.source_id for h in hits} == relevant and [h.rank for h in hits] == [1, 2]
        assert hits[0].score >= hits[1].score
        with pytest.raises(RunNotFound, match="reranker '/nonexistent/run': no such folder, and no run"):
            ws.search(QUERY, mode="bm25", rerank="/nonexistent/run")
        afile = tiny_runs["good"] / "run.json"
        with pytest.raises(RunNotFound, match="is a file: give the run folder that holds run.json"):
            ws.search(QUERY, mode="bm25", rerank=str(afile))
        with pytest.raises(ConfigError, match="--rerank needs a reranker run"):
            ws.search(QUERY, mode="bm25", rerank=" ")


def test_cli_search_rerank_and_its_one_line_errors(tiny_runs, tmp_path):
    from serendip.cli.app import app

    with _workspace(tmp_path) as ws:
        folder = str(ws.path)
    runner = CliRunner()
    out = runner.invoke(app, ["search", QUERY, "-w", folder, "-m", "bm25", "-k", "2", "--rerank",
                              str(tiny_runs["good"]), "--rerank-k", "6", "--json"])
    assert out.exit_code == 0, out.output
    assert {h["source_id"][-2:] for h in json.loads(out.output)} == {"r4", "r5"}
    for ref, want in (("/nonexistent/run", "no such folder"), (str(tiny_runs["bad"]), "not a cross-encoder")):
        out = runner.invoke(app, ["search", QUERY, "-w", folder, "-m", "bm25", "--rerank", ref])
        lines = [line for line in out.output.splitlines() if line.strip()]
        assert out.exit_code == 2 and lines[0].startswith("error:") and want in " ".join(out.output.split())
    out = runner.invoke(app, ["search", QUERY, "-w", folder, "--rerank", "x", "--reranker", "colbert"])
    assert out.exit_code == 2 and "unknown reranker 'colbert'; expected one of: cross-encoder" in out.output
    for flags, named in ((["--rerank-backend", "nope"], "rerank_backend"), (["--rerank-k", "-3"], "rerank_k"),
                         (["--rerank-weight", "7"], "rerank_weight"), (["--reranker", "nope"], "reranker")):
        out = runner.invoke(app, ["search", QUERY, "-w", folder, "-m", "bm25", *flags])  # no --rerank
        lines = [line for line in out.output.splitlines() if line.strip()]
        assert out.exit_code == 2 and len(lines) == 1, out.output
        option = "--" + named.replace("_", "-")
        assert f"error: {named} ({option}) applies only when reranking: give rerank (--rerank RUN_OR_PATH) " \
               "too" in lines[0]


def test_tuned_settings_travel_with_the_run_and_are_the_search_defaults(tiny_runs, tmp_path):
    import shutil

    from serendip.evidence.rerank import (
        SETTINGS_FILE,
        read_reranker_settings,
        write_reranker_settings,
    )
    from serendip.reranking import rerank_step

    run = tmp_path / "run"
    shutil.copytree(tiny_runs["good"], run)
    assert read_reranker_settings(run) == {} and CrossEncoderReranker.load(run).weight == 1.0
    write_reranker_settings(run, rerank_k=3, weight=0.25, tuned_on="toy held-out queries")
    rr = CrossEncoderReranker.load(run)
    assert (rr.rerank_k, rr.weight) == (3, 0.25)
    with _workspace(tmp_path) as ws:
        step = rerank_step(ws, str(run), "cross-encoder")
        assert (step.k, step.weight) == (3, 0.25)
        given = rerank_step(ws, str(run), "cross-encoder", 6, 1.0)  # the caller's values win
        assert (given.k, given.weight) == (6, 1.0)
        with pytest.raises(ConfigError, match="rerank_k must be >= 1, got 0"):
            ws.search(QUERY, mode="bm25", rerank=str(run), rerank_k=0)
        with pytest.raises(ConfigError, match=r"rerank_weight must be in \[0, 1\], got 1.5"):
            ws.search(QUERY, mode="bm25", rerank=str(run), rerank_weight=1.5)
        (run / SETTINGS_FILE).write_text("{not json")
        with pytest.raises(DataError, match="reranker.json: not reranker settings"):
            CrossEncoderReranker.load(run)
        for bad in ("1e999", "2.5", '"20"', "true", "[]"):  # never rounded, overflowed or read as a count
            (run / SETTINGS_FILE).write_text(f'{{"rerank_k": {bad}, "weight": 0.5}}')
            with pytest.raises(DataError, match="reranker.json: rerank_k must be a whole number >= 1"):
                CrossEncoderReranker.load(run)
    with pytest.raises(ConfigError):
        write_reranker_settings(run, rerank_k=0, weight=0.5, tuned_on="x")


def test_a_search_time_max_length_cuts_the_pairs_and_travels_in_the_settings(tiny_runs, tmp_path):
    import shutil

    from serendip.evidence.rerank import (
        SETTINGS_FILE,
        pair_batches,
        read_reranker_settings,
        write_reranker_settings,
    )

    run = tmp_path / "run"
    shutil.copytree(tiny_runs["good"], run)
    trained = CrossEncoderReranker.load(run, backend="torch")  # the run's 32 tokens
    short = CrossEncoderReranker.load(run, backend="torch", max_length=16)
    assert (trained.max_length, short.max_length) == (32, 16) and "max_length 16" in short.description
    rng = random.Random(3)
    long_docs = [dna(rng, True, 24), dna(rng, False, 24)]  # 24 characters: cut at 16 tokens, not at 32
    short_docs = ["ACG", "TTA"]  # a few tokens: the same pair at either length
    widths = [feed["input_ids"].shape[1] for _, feed in pair_batches(short.bundle.tokenizer, 16, [QUERY] * 2,
                                                                      long_docs, 8)]
    assert widths == [16]
    assert short.score(QUERY, short_docs) == pytest.approx(trained.score(QUERY, short_docs), abs=1e-9)
    assert not np.allclose(short.score(QUERY, long_docs), trained.score(QUERY, long_docs))
    # written beside the run, it is the search default; a length given to load wins
    write_reranker_settings(run, rerank_k=3, weight=0.5, tuned_on="toy held-out queries", max_length=20)
    assert read_reranker_settings(run)["max_length"] == 20
    assert CrossEncoderReranker.load(run, backend="torch").max_length == 20
    assert CrossEncoderReranker.load(run, backend="torch", max_length=24).max_length == 24
    with pytest.raises(ConfigError, match="max_length must be >= 16 tokens, got 8"):
        write_reranker_settings(run, rerank_k=3, weight=0.5, tuned_on="x", max_length=8)
    with pytest.raises(ConfigError, match="max_length must be an integer >= 16 tokens per pair, got 4"):
        CrossEncoderReranker.load(run, backend="torch", max_length=4)
    (run / SETTINGS_FILE).write_text(json.dumps({"rerank_k": 3, "weight": 0.5, "max_length": "long"}))
    with pytest.raises(DataError, match=r"reranker.json: max_length must be an integer >= 16 .*got 'long'"):
        CrossEncoderReranker.load(run, backend="torch")
