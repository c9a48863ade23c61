"""serendip.kg.linkpred: every registered scorer against a value worked out by hand on a five-node
graph, the neighbourhood scorers against networkx on a random graph, the learned scorer fitted and
applied."""
from __future__ import annotations

import math

import networkx as nx
import numpy as np
import pytest

from serendip.errors import ConfigError
from serendip.kg.graph import graph_matrix
from serendip.kg.linkpred import (
    FEATURES,
    LINK_SCORERS,
    fit_learned,
    score_pairs,
    score_rows,
)

#     a -- b -- d -- e        degrees: a 2, b 3, c 3, d 3, e 1
#      \  |   /
#        c
EDGES = [("a", "b"), ("a", "c"), ("b", "c"), ("b", "d"), ("c", "d"), ("d", "e")]
L3 = math.log(3)
#: scorer -> {pair: value by hand}
HAND = {
    "common-neighbours": {("a", "d"): 2, ("a", "e"): 0, ("b", "e"): 1},
    "jaccard": {("a", "d"): 2 / 3, ("a", "e"): 0, ("b", "e"): 1 / 3},
    "adamic-adar": {("a", "d"): 2 / L3, ("a", "e"): 0, ("b", "e"): 1 / L3},
    "resource-allocation": {("a", "d"): 2 / 3, ("a", "e"): 0, ("b", "e"): 1 / 3},
    "preferential-attachment": {("a", "d"): 6, ("a", "e"): 2, ("b", "e"): 3},
}


def _gm():
    g = nx.Graph()
    g.add_nodes_from("abcde")
    g.add_edges_from(EDGES)
    return graph_matrix(g)


def _pairs(gm, names):
    return np.array([[gm.index[a], gm.index[b]] for a, b in names])


@pytest.mark.parametrize("name", sorted(HAND))
def test_scorer_matches_hand_values_in_both_orders(name):
    gm = _gm()
    names = list(HAND[name])
    expected = [HAND[name][p] for p in names]
    assert score_pairs(gm, _pairs(gm, names), name) == pytest.approx(expected)
    assert score_pairs(gm, _pairs(gm, [(b, a) for a, b in names]), name) == pytest.approx(expected)


def test_random_scores_are_uniform_symmetric_and_seeded():
    gm = _gm()
    pairs = np.array([[i, j] for i in range(5) for j in range(5) if i != j])
    s0 = score_pairs(gm, pairs, "random", seed=0)
    assert ((s0 >= 0) & (s0 < 1)).all() and len(np.unique(s0)) == 10  # one value per unordered pair
    assert s0 == pytest.approx(score_pairs(gm, pairs[:, ::-1], "random", seed=0))
    assert not np.allclose(s0, score_pairs(gm, pairs, "random", seed=1))
    big = score_pairs(graph_matrix(nx.empty_graph(300)), np.array([[i, j] for i in range(300) for j in range(i)]),
                      "random")
    assert 0.48 < big.mean() < 0.52  # 44,850 draws: mean within 0.02 of 1/2


def test_learned_scorer_fits_and_scores_the_same_pairs_and_rows():
    gm = _gm()
    pairs = np.array([[0, 3], [0, 4], [1, 4], [2, 4], [0, 1], [3, 4]])
    model = fit_learned(gm, pairs, np.array([1, 0, 1, 0, 1, 0]), kind="logreg")
    s = score_pairs(gm, pairs, "learned", model=model)
    assert s.shape == (6,) and ((s > 0) & (s < 1)).all()
    (rows, block), = score_rows(gm, np.array([0]), "learned", model=model)
    assert block[0, [3, 4, 1]] == pytest.approx(s[[0, 1, 4]])
    assert hasattr(fit_learned(gm, pairs, np.array([1, 0, 1, 0, 1, 0]), kind="gb"), "predict_proba")
    assert len(FEATURES) == 7
    with pytest.raises(ValueError, match="needs a fitted model"):
        score_pairs(gm, pairs, "learned")
    with pytest.raises(ValueError, match="both classes"):
        fit_learned(gm, pairs, np.ones(6))


def test_every_registered_scorer_has_a_case():
    covered = set(HAND) | {"random", "learned"}
    assert set(LINK_SCORERS.keys()) == covered, "no test case for link scorer(s) " + ", ".join(
        sorted(set(LINK_SCORERS.keys()) - covered))
    with pytest.raises(ConfigError, match="unknown link scorer 'katz'"):
        score_pairs(_gm(), np.array([[0, 1]]), "katz")


def test_neighbourhood_scorers_equal_networkx_on_a_random_graph():
    g = nx.gnp_random_graph(40, 0.15, seed=3)
    gm = graph_matrix(g)
    pairs = [(u, v) for u in range(40) for v in range(u + 1, 40)]
    idx = np.array([[gm.index[u], gm.index[v]] for u, v in pairs])
    for name, fn in [("adamic-adar", nx.adamic_adar_index), ("resource-allocation", nx.resource_allocation_index),
                     ("jaccard", nx.jaccard_coefficient), ("preferential-attachment", nx.preferential_attachment)]:
        expected = [s for _, _, s in fn(g, pairs)]
        assert score_pairs(gm, idx, name, block=7) == pytest.approx(expected), name
    assert score_pairs(gm, idx, "common-neighbours") == pytest.approx(
        [len(list(nx.common_neighbors(g, u, v))) for u, v in pairs])


def test_score_pairs_refuses_indices_out_of_range():
    with pytest.raises(ValueError, match=r"\[0, 5\)"):
        score_pairs(_gm(), np.array([[0, 5]]), "jaccard")
