"""Searcher: modes, fusion choice, batch = single, errors."""
from __future__ import annotations

import numpy as np
import pytest

from serendip.errors import ConfigError, IndexNotBuilt
from serendip.retrieval.fusion import convex, rrf
from serendip.retrieval.searcher import DEFAULT_FUSION, Searcher

IDS = ["a", "b", "c", "d"]
TITLES = ["metformin cancer", "sleep memory", "vitamin fractures", "crispr screens"]


@pytest.fixture(scope="module")
def searcher(make_searcher):
    return make_searcher(IDS, TITLES)


def test_modes(searcher):
    assert searcher.search("sleep", "bm25", 2)[0][0] == "b"
    # the fake encoder embeds by first word, so the query "vitamin ..." equals doc c's vector
    assert searcher.search("vitamin D", "dense", 2)[0] == ("c", pytest.approx(1.0))
    assert searcher.search("vitamin fractures", "hybrid", 2)[0][0] == "c"


def test_hybrid_equals_fusion_of_both_runs(searcher):
    q = "metformin sleep"
    lex = dict(searcher.bm25.search(q, 1000))
    sem = dict(searcher.dense.search(q, 1000))
    expect_convex = list(convex([lex, sem], [1 - searcher.alpha, searcher.alpha]).items())[:3]
    expect_rrf = list(rrf([lex, sem]).items())[:3]
    assert searcher.search(q, "hybrid", 3, fusion="convex") == expect_convex
    assert searcher.search(q, "hybrid", 3, fusion="rrf") == expect_rrf
    assert searcher.search(q, "hybrid", 3) == (expect_convex if DEFAULT_FUSION == "convex" else expect_rrf)


def test_batch_matches_single(searcher):
    qs = ["metformin", "sleep memory", "crispr", "zzz"]
    for mode in ("bm25", "dense", "hybrid"):
        batch = searcher.search_batch(qs, mode, 3)
        single = [searcher.search(q, mode, 3) for q in qs]
        for b, s in zip(batch, single):
            assert [d for d, _ in b] == [d for d, _ in s]
            assert np.allclose([x for _, x in b], [x for _, x in s], atol=1e-6)


def test_errors(searcher):
    with pytest.raises(ConfigError):
        searcher.search("x", "semantic")
    with pytest.raises(ConfigError):
        searcher.search("x", "hybrid", fusion="borda")
    lexical_only = Searcher(searcher.bm25, None)
    with pytest.raises(IndexNotBuilt):
        lexical_only.search("x", "dense")
    with pytest.raises(IndexNotBuilt):
        lexical_only.search_batch(["x"], "hybrid")
    with pytest.raises(ConfigError):
        Searcher(searcher.bm25, None, alpha=1.5)
    with pytest.raises(ConfigError):
        Searcher(searcher.bm25, None, fusion="nope")


def test_convex_normalisation_option(searcher):
    zs = Searcher(searcher.bm25, searcher.dense, norm="zscore")
    q = "metformin sleep"
    lex, sem = dict(zs.bm25.search(q, 1000)), dict(zs.dense.search(q, 1000))
    expect = list(convex([lex, sem], [1 - zs.alpha, zs.alpha], norm="zscore").items())[:3]
    assert zs.search(q, "hybrid", 3, fusion="convex") == expect


def test_unknown_normalisation_is_a_config_error(searcher):
    with pytest.raises(ConfigError, match="unknown score normalisation 'softmax'"):
        Searcher(searcher.bm25, None, norm="softmax")
