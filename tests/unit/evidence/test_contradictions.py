"""``find_contradictions`` over a real workspace (dense index by the offline MiniLM): same-claim
sentence pairs from different records, scored both ways by a verifier with scripted probabilities."""
from __future__ import annotations

import numpy as np
import pytest
from evidence_helpers import indexed_workspace

from serendip.errors import DataError
from serendip.evidence.contradictions import candidate_pairs, find_contradictions

RECORDS = [
    {"id": "z1", "pmid": "111", "title": "Zinc lozenges in adults",
     "abstract": "Zinc lozenges shortened the common cold by two days. Funding was public."},
    {"id": "z2", "pmid": "222", "title": "Zinc syrup in children",
     "abstract": "Zinc did not shorten the common cold. Side effects were mild."},
    {"id": "c1", "title": "Coffee and the liver", "abstract": "Coffee drinkers had less liver fibrosis."},
]
ZINC_YES, ZINC_NO = "Zinc lozenges shortened the common cold by two days.", "Zinc did not shorten the common cold."


class _Verifier:
    """P(CONTRADICT) 0.9 for the two zinc findings (either way), 0.05 for any other pair."""

    def __init__(self):
        self.calls = 0

    def label_probabilities(self, pairs):
        self.calls += 1
        p = np.array([0.9 if {a, b} == {ZINC_YES, ZINC_NO} else 0.05 for a, b in pairs])
        return {"CONTRADICT": p, "SUPPORT": 1 - p, "NEI": np.zeros(len(p))}


@pytest.fixture(scope="module")
def ws(tmp_path_factory):
    with indexed_workspace(tmp_path_factory.mktemp("contra"), RECORDS) as w:
        yield w


def test_candidate_pairs_cross_records_only():
    v = np.array([[1, 0], [1, 0], [0.8, 0.6], [0, 1]], dtype=np.float32)
    pairs = candidate_pairs(v, np.array([1, 1, 2, 3]), min_similarity=0.5, neighbours=3)
    assert [(i, j) for i, j, _ in pairs] == [(0, 2), (1, 2), (2, 3)]
    assert pairs[0][2] == pytest.approx(0.8)


def test_the_conflicting_findings_are_found_with_offsets(ws):
    report = find_contradictions(ws, min_similarity=0.5, verifier=_Verifier())
    assert report.records == 3 and report.sentences == 8 and report.scored == report.candidates > 0
    (pair,) = report.pairs
    assert {pair.a.text, pair.b.text} == {ZINC_YES, ZINC_NO} and pair.score == pytest.approx(0.9)
    assert {pair.a.pmid, pair.b.pmid} == {"111", "222"}
    stored = {rid: rec.abstract for rid, rec in ws.records()}
    for side in (pair.a, pair.b):
        assert stored[side.record_id][side.start:side.end] == side.text
    assert set(report.to_dict()["pairs"][0]) >= {"score", "similarity", "a", "b"}


def test_a_query_narrows_the_records(ws):
    report = find_contradictions(ws, "coffee liver fibrosis", k=1, min_similarity=0.5, verifier=_Verifier())
    assert report.records == 1 and report.pairs == [] and report.candidates == 0


def test_too_many_records_without_a_query_is_refused(ws):
    with pytest.raises(DataError, match="over --limit 2"):
        find_contradictions(ws, limit=2, verifier=_Verifier())


def test_no_trained_verifier_says_how_to_train(ws):
    with pytest.raises(DataError, match="serendip verify --train"):
        find_contradictions(ws)


@pytest.mark.parametrize("kwargs,match", [({"max_pairs": 0}, "max-pairs must be at least 1"),
                                          ({"max_pairs": -1}, "max-pairs must be at least 1"),
                                          ({"min_score": 2.0}, "min-score is a probability"),
                                          ({"query": "  "}, "the query is empty")])
def test_bad_settings_are_refused_before_anything_is_read(ws, kwargs, match):
    with pytest.raises(DataError, match=match):
        find_contradictions(ws, **kwargs)


def test_the_total_found_is_kept_when_the_cap_cuts(ws):
    class _All(_Verifier):
        def label_probabilities(self, pairs):
            p = np.full(len(pairs), 0.9)
            return {"CONTRADICT": p, "SUPPORT": 1 - p, "NEI": np.zeros(len(p))}

    report = find_contradictions(ws, min_similarity=0.3, max_pairs=1, verifier=_All())
    assert len(report.pairs) == 1 and report.found == report.scored > 1
    assert report.to_dict()["pairs_found"] == report.found
