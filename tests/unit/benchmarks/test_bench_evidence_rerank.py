"""benchmarks/evidence_rerank.py: ``--backend``, ``--depths`` and ``--reuse`` on a tiny reranker run
(the reused run's recipe recorded, the reranker run by the chosen backend, the grid over the given
depths)."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "benchmarks"))
pytest.importorskip("torch")
import evidence_rerank  # noqa: E402
from evidence_helpers import QUERY, make_tiny_runs  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Path:
    return make_tiny_runs(tmp_path_factory.mktemp("bench-rerank"))["good"]


def test_backend_depths_and_reuse_options(run, tmp_path, monkeypatch):
    monkeypatch.setenv("SERENDIP_CACHE", str(tmp_path / "cache"))
    args = evidence_rerank._args(["--reuse", str(run), "--backend", "onnx-int8", "--depths", "3, 2", "--threads", "1"])
    assert (args.reuse, args.backend, args.depths, args.threads) == (run, "onnx-int8", (2, 3), 1)
    assert evidence_rerank._args([]).depths == evidence_rerank.DEPTHS and evidence_rerank._args([]).backend is None
    for bad in (["--depths", "0,5"], ["--depths", "ten"], ["--backend", "tensorrt"]):
        with pytest.raises(SystemExit):
            evidence_rerank._args(bad)
    # --reuse: the recipe is the run's own (tiny run: 48 pairs, 6 epochs at 32 tokens), not the arguments'
    recipe = evidence_rerank._recipe(args, run, None)
    assert recipe == {"max_length": 32, "epochs": 6, "lr": 3e-3, "imbalance": "none", "train_pairs": 48,
                      "layers": None, "reused_run": str(run)}
    reranker = evidence_rerank._load_reranker(run, args.backend, args.threads)
    assert reranker.backend == "onnx-int8" and reranker.session is not None and reranker.max_length == 32
    assert evidence_rerank._load_reranker(run, "onnx", 1, 16).max_length == 16
    more = evidence_rerank._args(["--lengths", "24,16", "--budget-ms", "150", "--layers", "4"])
    assert (more.lengths, more.budget_ms, more.layers) == ((16, 24), 150.0, 4)


def test_the_grid_covers_the_given_depths(run, tmp_path, monkeypatch):
    monkeypatch.setenv("SERENDIP_CACHE", str(tmp_path / "cache"))
    reranker = evidence_rerank._load_reranker(run, "onnx", 1)
    good, bad = f"{QUERY} AAAAGGGGTTTTCCCA", f"{QUERY} AAAATTTTCCCCATAT"
    texts = {"a": bad, "b": bad, "c": good, "d": bad}  # c: the relevant one, third in the first stage
    cands = {"q1": [("a", 4.0), ("b", 3.0), ("c", 2.0), ("d", 1.0)]}
    scores = evidence_rerank._scores(reranker, {"q1": QUERY}, cands, texts)
    assert scores["q1"].shape == (4,) and int(np.argmax(scores["q1"])) == 2
    p50 = {(32, 2): 5.0, (32, 3): 7.0}
    (length, depth, weight), grid = evidence_rerank._tune(cands, {32: scores}, {"q1": {"c": 1}}, (2, 3), p50)
    assert {key.split("@")[0] for key in grid} == {"32/2", "32/3"}
    assert (length, depth) == (32, 3) and grid[f"32/{depth}@{weight}"] == pytest.approx(1.0)  # depth 2 never sees c
    # a budget that drops depth 3 (its p50 over it): depth 2 is the choice, c out of reach
    (length, depth, weight), grid = evidence_rerank._tune(cands, {32: scores}, {"q1": {"c": 1}}, (2, 3),
                                                          {(32, 2): 5.0})
    assert depth == 2 and set(grid) == {f"32/2@{w}" for w in evidence_rerank.WEIGHTS} and grid[f"32/2@{weight}"] < 1
