"""Registry meta-tests: every retrieval mode and every fusion method has a case that exercises it for
real; a newly registered entry without a case fails ('no test case for <kind> <name>')."""
from __future__ import annotations

import numpy as np
import pytest

from serendip.errors import ConfigError, IndexNotBuilt
from serendip.retrieval.evaluate import ANCHORS
from serendip.retrieval.fusion import FUSION, fusion_names
from serendip.retrieval.modes import (
    INDEX_PARTS,
    RETRIEVAL_MODES,
    RetrievalMode,
    mode_names,
    register_mode,
)
from serendip.retrieval.searcher import Searcher

IDS = ["a", "b", "c", "d"]
TITLES = ["metformin cancer risk", "sleep memory consolidation", "vitamin fractures trial", "crispr screens"]


@pytest.fixture(scope="module")
def searcher(make_searcher) -> Searcher:
    return make_searcher(IDS, TITLES)


def case_for(kind: str, name: str, cases: dict):
    """The test case of registry entry ``name``; fails the run when the entry has none."""
    if name not in cases:
        pytest.fail(f"no test case for {kind} {name}")
    return cases[name]


# -- retrieval modes ------------------------------------------------------------------------------------
def _case_bm25(searcher: Searcher) -> None:
    hits = searcher.search("sleep memory", "bm25", 2)
    assert hits[0][0] == "b" and hits[0] == searcher.bm25.search("sleep memory", 2)[0]


def _case_dense(searcher: Searcher) -> None:
    assert searcher.search("vitamin D levels", "dense", 2)[0] == ("c", pytest.approx(1.0))


def _case_hybrid(searcher: Searcher) -> None:
    # both runs agree on c: fused first; the score is the convex combination (both normalised to 1)
    top = searcher.search("vitamin fractures", "hybrid", 2)[0]
    assert top[0] == "c" and top[1] == pytest.approx(1.0)


MODE_CASES = {"bm25": _case_bm25, "dense": _case_dense, "hybrid": _case_hybrid}


@pytest.mark.parametrize("name", mode_names())
def test_retrieval_mode(name, searcher):
    mode = RETRIEVAL_MODES.get(name)
    case = case_for("retrieval mode", name, MODE_CASES)
    assert mode.name == name and mode.needs and set(mode.needs) <= set(INDEX_PARTS)
    assert all(a in ANCHORS for names in mode.anchors.values() for a in names)
    case(searcher)
    # batch = one query at a time, at most k hits, best first
    queries = ["metformin", "sleep memory", "crispr screens"]
    batch = searcher.search_batch(queries, name, 3)
    for q, got in zip(queries, batch):
        single = searcher.search(q, name, 3)
        assert [d for d, _ in got] == [d for d, _ in single]
        assert np.allclose([s for _, s in got], [s for _, s in single], atol=1e-6)
        assert len(got) <= 3 and [s for _, s in got] == sorted((s for _, s in got), reverse=True)
    # a mode that needs the dense index refuses to run without one
    if "dense" in mode.needs:
        with pytest.raises(IndexNotBuilt):
            Searcher(searcher.bm25, None).search("x", name)


def test_unknown_mode_lists_the_registered_ones(searcher):
    with pytest.raises(ConfigError, match="expected one of: bm25, dense, hybrid"):
        searcher.search("x", "semantic")


def test_a_mode_without_a_case_fails_the_meta_test(monkeypatch):
    monkeypatch.setattr(RETRIEVAL_MODES, "_items", dict(RETRIEVAL_MODES._items))  # restored afterwards
    register_mode(RetrievalMode("uncovered", frozenset({"bm25"}), lambda s, q, k, **o: []))
    assert "uncovered" in mode_names()
    with pytest.raises(pytest.fail.Exception, match="no test case for retrieval mode uncovered"):
        case_for("retrieval mode", "uncovered", MODE_CASES)
    with pytest.raises(ValueError, match="unknown index parts"):
        RetrievalMode("bad", frozenset({"graph"}), lambda s, q, k, **o: [])


# -- fusion methods ------------------------------------------------------------------------------------
LEX = {"a": 10.0, "b": 6.0, "c": 2.0}   # ranks a, b, c; min-max 1.0, 0.5, 0.0
SEM = {"b": 0.8, "d": 0.4}              # ranks b, d;    min-max 1.0, 0.0

FUSION_CASES = {
    # Cormack et al. 2009: sum 1 / (60 + rank)
    "rrf": ({}, {"b": 1 / 62 + 1 / 61, "a": 1 / 61, "d": 1 / 62, "c": 1 / 63}),
    # Bruch et al. 2023: 0.5 * minmax(lex) + 0.5 * minmax(sem)
    "convex": ({}, {"b": 0.75, "a": 0.5, "c": 0.0, "d": 0.0}),
}


@pytest.mark.parametrize("name", fusion_names())
def test_fusion_method(name):
    options, expected = case_for("fusion method", name, FUSION_CASES)
    method = FUSION.get(name)
    assert method.name == name and method.reference
    fused = method([LEX, SEM], None, **options)  # the one signature: (runs, weights, **options)
    assert list(fused) == list(expected)  # best first, ties by doc id
    assert fused == pytest.approx(expected)
    assert method([LEX, SEM], [1.0, 1.0], **options) == pytest.approx(fused)  # equal weights = none
    assert method([], None, **options) == {}
    with pytest.raises(ConfigError):
        method([LEX, SEM], [1.0], **options)


def test_a_fusion_method_without_a_case_fails_the_meta_test():
    with pytest.raises(pytest.fail.Exception, match="no test case for fusion method borda"):
        case_for("fusion method", "borda", FUSION_CASES)
