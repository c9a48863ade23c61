"""serendip.kg.timeslice: no pair or edge from after T leaks into the graph or the candidates (checked by
brute force on random records), records without MeSH or year counted, negatives sampled apart from
positives and links, ROC-AUC / Hits@K / MRR against hand values and scikit-learn."""
from __future__ import annotations

import random
from itertools import combinations

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from serendip.kg.graph import EntityRecord
from serendip.kg.timeslice import (
    bootstrap,
    hits_at_k,
    make_slice,
    query_reciprocal_ranks,
    roc_auc,
    sample_negatives,
)

RECORDS = [
    EntityRecord("1", 1998, ("A", "B")),
    EntityRecord("2", 1998, ("B", "C")),
    EntityRecord("3", 1997, ("C", "D")),
    EntityRecord("4", 1998, ("E",)),
    EntityRecord("5", 1999, ("A", "C")),       # positive A-C
    EntityRecord("6", 1999, ("A", "E", "X")),  # positive A-E; X is new after T: no candidate
    EntityRecord("7", None, ("B", "D")),       # no year: on neither side
    EntityRecord("8", 1999, None),             # no MeSH
    EntityRecord("9", 2001, ("B", "D")),       # after end
    EntityRecord("10", 1999, ("A", "B")),      # already linked by T: not a positive
]


def _names(ts, pairs):
    return {tuple(sorted((ts.matrix.nodes[i], ts.matrix.nodes[j]))) for i, j in pairs}


def test_slice_by_hand():
    ts = make_slice(RECORDS, 1998, end=2000)
    assert sorted(ts.matrix.nodes) == ["A", "B", "C", "D", "E"]
    assert _names(ts, ts.positives) == {("A", "C"), ("A", "E")}
    assert ts.n_candidates == 7 and ts.n_future_records == 3
    assert ts.left_out == {"no_entities": 1, "no_year": 1, "after_end": 1}
    assert ts.graph.graph["left_out"] == {"no_entities": 1, "no_year": 1, "after_until": 4}
    neg = sample_negatives(ts, 5, seed=0)
    assert _names(ts, neg) == {("A", "D"), ("B", "D"), ("B", "E"), ("C", "E"), ("D", "E")}
    assert (neg[:, 0] < neg[:, 1]).all()
    with pytest.raises(ValueError, match="only 5 negative pairs"):
        sample_negatives(ts, 6)
    with pytest.raises(ValueError, match="must be after"):
        make_slice(RECORDS, 1998, end=1998)


def test_reciprocal_ranks_by_hand():
    ts = make_slice(RECORDS, 1998, end=2000)
    queries, rr = query_reciprocal_ranks(ts, "common-neighbours")
    by = dict(zip((ts.matrix.nodes[q] for q in queries), rr))
    # A: C (1 shared neighbour) above D (0); C: A (1) above E (0); E isolated: A tied with B, C, D -> 1 + 3/2
    assert by == pytest.approx({"A": 1.0, "C": 1.0, "E": 1 / 2.5})


def test_no_pair_from_after_t_leaks_brute_force():
    rng = random.Random(7)
    names = [f"M{i}" for i in range(40)]
    records = []
    for k in range(300):
        year = rng.choice([None, 1995, 1996, 1997, 1998, 1999, 2000, 2001, 2002])
        ents = None if rng.random() < 0.1 else tuple(rng.sample(names, rng.randint(1, 5)))
        records.append(EntityRecord(str(k), year, ents))
    until, end = 1998, 2000
    ts = make_slice(records, until, end=end)
    before = {p for r in records if r.entities and r.year is not None and r.year <= until
              for p in combinations(sorted(r.entities), 2)}
    present = {e for r in records if r.entities and r.year is not None and r.year <= until for e in r.entities}
    later = {p for r in records if r.entities and r.year is not None and until < r.year <= end
             for p in combinations(sorted(r.entities), 2)}
    assert {tuple(sorted(e)) for e in ts.graph.edges} == before
    assert set(ts.matrix.nodes) == present
    assert _names(ts, ts.positives) == {p for p in later - before if set(p) <= present}
    assert all(y <= until for _, _, y in ts.graph.edges(data="first_year"))
    for a, c in _names(ts, ts.positives):  # first co-occurrence strictly after T, found again from the records
        assert min(r.year for r in records if r.entities and r.year and {a, c} <= set(r.entities)) > until
    every = {tuple(sorted(p)) for p in combinations(present, 2)}
    neg = _names(ts, sample_negatives(ts, ts.n_candidates - len(ts.positives), seed=1))  # all of them
    assert neg == every - before - _names(ts, ts.positives) and len(neg) > 100


def test_roc_auc_and_hits_at_k_by_hand_and_against_sklearn():
    # pairs (pos, neg): 3>1, 3>2, 2>1, 2=2 (half) -> 3.5 / 4
    assert roc_auc(np.array([3.0, 2.0]), np.array([1.0, 2.0])) == 0.875
    rng = np.random.default_rng(0)
    pos, neg = rng.integers(0, 5, 40).astype(float), rng.integers(0, 4, 60).astype(float)
    assert roc_auc(pos, neg) == pytest.approx(roc_auc_score(np.r_[np.ones(40), np.zeros(60)], np.r_[pos, neg]))
    pos, neg = np.array([5.0, 3.0, 1.0]), np.array([4.0, 2.0, 0.0])
    assert hits_at_k(pos, neg, 1) == pytest.approx(1 / 3)  # above 4
    assert hits_at_k(pos, neg, 2) == pytest.approx(2 / 3)  # above 2
    assert hits_at_k(np.array([2.0]), neg, 2) == 0.0  # a tie with the K-th negative is no hit
    assert hits_at_k(pos, neg, 4) == 1.0  # fewer than K negatives: OGB's convention
    with pytest.raises(ValueError):
        roc_auc(np.array([]), neg)


def test_bootstrap_intervals_bracket_the_value_and_repeat_with_the_seed():
    rng = np.random.default_rng(1)
    pos, neg, rr = rng.normal(1, 1, 200), rng.normal(0, 1, 2000), rng.random(50)
    res = bootstrap(pos, neg, rr, k=100, n_boot=200, seed=0)
    assert set(res) == {"roc_auc", "hits@100", "mrr"}
    for m in res.values():
        assert m["ci95_low"] <= m["value"] <= m["ci95_high"]
    assert res["roc_auc"]["value"] == pytest.approx(roc_auc(pos, neg))
    assert res["mrr"]["value"] == pytest.approx(rr.mean())
    assert bootstrap(pos, neg, rr, n_boot=200, seed=0) == res
