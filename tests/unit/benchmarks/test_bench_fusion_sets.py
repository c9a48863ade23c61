"""benchmarks/fusion_sets.py: the grid of fusion settings, today's default read from the searcher, and
fusion of two runs through the registry."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "benchmarks"))
import fusion_sets  # noqa: E402

from serendip.retrieval import searcher  # noqa: E402
from serendip.retrieval.fusion import convex, rrf  # noqa: E402


def test_grid_covers_rrf_ks_alphas_and_normalisations():
    grid = fusion_sets.grid()
    assert [o["k"] for m, o in grid if m == "rrf"] == [10, 60, 100]
    convex_settings = {(o["alpha"], o["norm"]) for m, o in grid if m == "convex"}
    assert convex_settings == {(a, n) for a in (0.3, 0.4, 0.45, 0.5, 0.6, 0.7, 0.8) for n in ("minmax", "zscore")}
    assert fusion_sets.today() in grid  # today's default is one of the compared settings


def test_today_reads_the_searcher_defaults():
    method, opts = fusion_sets.today()
    assert method == searcher.DEFAULT_FUSION
    if method == "convex":
        assert opts == {"alpha": searcher.DEFAULT_ALPHA, "norm": searcher.DEFAULT_NORM}
    else:
        assert opts == {"k": searcher.DEFAULT_RRF_K}


def test_labels_round_trip_to_settings():
    for method, opts in fusion_sets.grid():
        assert fusion_sets._settings_of(fusion_sets.label(method, opts)) == opts
    assert fusion_sets._settings_of("bm25") == {}


def test_fuse_matches_the_registered_methods():
    lex = {"q": {"a": 9.0, "b": 5.0, "c": 1.0}}
    sem = {"q": {"b": 0.9, "d": 0.2}}
    assert fusion_sets.fuse("rrf", {"k": 10}, lex, sem) == {"q": rrf([lex["q"], sem["q"]], k=10)}
    got = fusion_sets.fuse("convex", {"alpha": 0.7, "norm": "zscore"}, lex, sem)["q"]
    assert got == pytest.approx(convex([lex["q"], sem["q"]], [0.3, 0.7], norm="zscore"))
