"""Fusion functions: RRF (Cormack et al. 2009) and convex min-max (Bruch et al. 2023)."""
from __future__ import annotations

import pytest

from serendip.errors import ConfigError
from serendip.retrieval.fusion import (
    FUSION,
    NORMALISATIONS,
    convex,
    fusion_names,
    normalise,
    rrf,
)


def test_rrf_hand_computed():
    lex = {"a": 9.0, "b": 5.0, "c": 1.0}
    sem = {"b": 0.9, "d": 0.8}
    fused = rrf([lex, sem])
    assert fused["b"] == pytest.approx(1 / 62 + 1 / 61)
    assert fused["a"] == pytest.approx(1 / 61)
    assert fused["d"] == pytest.approx(1 / 62)
    assert fused["c"] == pytest.approx(1 / 63)
    assert list(fused) == ["b", "a", "d", "c"]  # ordered best first


def test_rrf_uses_order_not_scale():
    assert list(rrf([{"x": 1000.0, "y": 999.0}])) == list(rrf([{"x": 0.2, "y": 0.1}]))
    assert rrf([{"x": 1.0}], k=0)["x"] == pytest.approx(1.0)
    with pytest.raises(ConfigError):
        rrf([{"x": 1.0}], k=-1)


def test_convex_minmax_and_absent_docs():
    lex = {"a": 10.0, "b": 6.0, "c": 2.0}   # -> 1.0, 0.5, 0.0
    sem = {"b": 0.8, "d": 0.4}              # -> 1.0, 0.0
    fused = convex([lex, sem], [0.4, 0.6])
    assert fused["a"] == pytest.approx(0.4 * 1.0)            # absent from sem: 0 there
    assert fused["b"] == pytest.approx(0.4 * 0.5 + 0.6 * 1.0)
    assert fused["c"] == pytest.approx(0.0)
    assert fused["d"] == pytest.approx(0.0)
    assert list(fused)[:2] == ["b", "a"]


def test_convex_weights_rescaled_and_validated():
    a, b = {"x": 1.0, "y": 0.0}, {"y": 1.0, "x": 0.0}
    assert convex([a, b], [2, 2]) == convex([a, b], [0.5, 0.5])
    with pytest.raises(ConfigError):
        convex([a, b], [1.0])
    with pytest.raises(ConfigError):
        convex([a, b], [-1.0, 2.0])
    with pytest.raises(ConfigError):
        convex([a, b], [0.0, 0.0])


def test_normalise_edge_cases():
    assert normalise({}) == {}
    assert normalise({"x": 3.0, "y": 3.0}) == {"x": 1.0, "y": 1.0}
    assert normalise({"x": 3.0}, "none") == {"x": 3.0}
    with pytest.raises(ConfigError, match="expected one of: minmax, zscore, none"):
        normalise({"x": 1.0}, "softmax")


def test_zscore_normalisation():
    z = normalise({"a": 3.0, "b": 1.0, "c": 2.0}, "zscore")  # mean 2, population sd sqrt(2/3)
    sd = (2 / 3) ** 0.5
    assert z == {"a": pytest.approx(1 / sd), "b": pytest.approx(-1 / sd), "c": pytest.approx(0.0)}
    assert normalise({"x": 5.0, "y": 5.0}, "zscore") == {"x": 0.0, "y": 0.0}
    assert normalise({}, "zscore") == {}
    assert NORMALISATIONS == ("minmax", "zscore", "none")


def test_convex_zscore_absent_doc_gets_the_runs_lowest_score():
    lex = {"a": 3.0, "b": 1.0, "c": 2.0}   # z: 1.2247, -1.2247, 0
    sem = {"c": 0.9, "d": 0.1}             # z: 1, -1
    fused = convex([lex, sem], [0.5, 0.5], norm="zscore")
    low_lex, low_sem = -(1.5 ** 0.5), -1.0
    assert fused["a"] == pytest.approx(0.5 * 1.5 ** 0.5 + 0.5 * low_sem)   # absent from sem: its minimum
    assert fused["d"] == pytest.approx(0.5 * low_lex + 0.5 * -1.0)         # absent from lex: its minimum
    assert fused["c"] == pytest.approx(0.5 * 0.0 + 0.5 * 1.0)
    assert list(fused) == ["c", "a", "b", "d"]


def test_weighted_rrf():
    lex, sem = {"a": 2.0, "b": 1.0}, {"b": 2.0, "a": 1.0}
    assert rrf([lex, sem], [1.0, 1.0]) == rrf([lex, sem])  # equal weights: the paper's RRF
    fused = rrf([lex, sem], [3.0, 1.0])  # rescaled to average 1: 1.5 and 0.5
    assert fused["a"] == pytest.approx(1.5 / 61 + 0.5 / 62)
    assert list(fused) == ["a", "b"]
    with pytest.raises(ConfigError):
        rrf([lex, sem], [1.0])


def test_registry():
    assert FUSION.get("rrf").fuse is rrf and FUSION.get("CONVEX").fuse is convex
    assert FUSION.get("linear").name == "convex" and FUSION.get("reciprocal-rank").name == "rrf"
    assert fusion_names() == ["convex", "rrf"]
    runs = [{"x": 1.0, "y": 0.0}, {"y": 1.0, "x": 0.5}]
    assert FUSION.get("convex")(runs, [0.5, 0.5]) == convex(runs, [0.5, 0.5])  # one call signature
    with pytest.raises(ConfigError):
        FUSION.get("borda")
