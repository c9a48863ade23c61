"""The second-stage CID scorer (serendip.kg.cid_stack): each feature of a hand-made document computed by
hand, the training prior, fitting (threshold and C by cross-validation over documents), a saved stacker
read back to the same probabilities, and damaged or mismatched files refused with the file named."""
from __future__ import annotations

import json
import math
import random

import pytest
from kg_relation_helpers import make_doc

from serendip.errors import DataError
from serendip.kg.cid_stack import (
    C_GRID,
    FEATURES,
    STACKER_FILE,
    CidPrior,
    CidStacker,
    candidate_rows,
    pair_features,
)
from serendip.kg.relations import document_candidates, document_sentences


def test_features_of_the_hand_made_document():
    """Title "Renal and hepatic failure after cocaine use." (D1|D2, C1), then "Cocaine and an unknown drug X
    were given." (C1, an unresolved chemical), then "Seizures followed." (D3)."""
    doc = make_doc("1")
    prior = CidPrior.from_documents([make_doc("9")])
    spans = document_sentences(doc)
    by_pair = {(c.chemical, c.disease): c for c in document_candidates(doc)[0]}
    assert sorted(by_pair) == [("C1", "D1"), ("C1", "D2"), ("C1", "D3")]
    f = dict(zip(FEATURES, pair_features(doc, by_pair[("C1", "D1")], spans, 0.5, prior)))
    assert f == {"model_logit": 0.0, "shared_sentences": math.log(2), "any_shared": 1.0, "chemical_in_title": 1.0,
                 "disease_in_title": 1.0, "both_in_title": 1.0, "chemical_share": 1.0, "disease_share": 1.0, "sentence_gap": 0.0,
                 "trigger": 1.0,  # "after" in the shared title
                 "n_chemicals": math.log(2), "n_diseases": math.log(4), "prior_pair": math.log(2),
                 "prior_chemical": 1.0, "prior_disease": 1.0}
    g = dict(zip(FEATURES, pair_features(doc, by_pair[("C1", "D3")], spans, 0.9, prior)))
    assert g["model_logit"] == pytest.approx(math.log(9)) and g["any_shared"] == g["shared_sentences"] == 0.0
    assert (g["disease_in_title"], g["both_in_title"], g["sentence_gap"], g["trigger"]) == (0.0, 0.0, math.log(2), 0.0)  # sentences 1 and 2
    assert g["prior_pair"] == math.log(2)  # C1-D3 is a CID pair of the training document too
    assert pair_features(doc, by_pair[("C1", "D2")], spans, 1.0, CidPrior({}, {}, {}))[0] == 10.0  # clipped


def test_prior_counts_abstracts_and_rates():
    a, b = make_doc("1"), make_doc("2")
    b.relations = []
    prior = CidPrior.from_documents([a, b])
    assert prior.pair_cid == {("C1", "D1"): 1, ("C1", "D3"): 1, ("C9", "D3"): 1}
    assert prior.rate("C1") == 0.5 and prior.rate("D2") == 0.0 and prior.rate("unseen") == 0.0
    assert CidPrior.from_json(json.loads(json.dumps(prior.to_json()))) == prior


def _rows(n_docs: int = 40, seed: int = 0):
    """Candidates whose label follows the second feature (with noise), spread over ``n_docs`` documents."""
    rng = random.Random(seed)
    rows = []
    for i in range(n_docs * 5):
        x = rng.gauss(0, 1)
        features = [0.0] * len(FEATURES)
        features[1], features[2] = x, rng.random()
        rows.append(((f"p{i % n_docs}", f"C{i}", "D"), features, x + rng.gauss(0, 0.5) > 0.8))
    return rows


def test_fit_learns_the_signal_and_saves_what_it_predicts(tmp_path):
    rows = _rows()
    n_gold = sum(y for _, _, y in rows) + 3  # three gold pairs without a candidate
    stacker = CidStacker.fit(rows, n_gold, CidPrior({("C1", "D"): 2}, {"C1": 4}, {"C1": 2}), info={"by": "test"})
    assert stacker.coef[1] > 1.0 and abs(stacker.coef[2]) < stacker.coef[1] / 3
    assert 0.05 <= stacker.threshold <= 0.95 and stacker.info["by"] == "test"
    assert stacker.info["n_documents"] == 40 and stacker.info["n_gold"] == n_gold and stacker.info["C"] in C_GRID
    high, low = [0.0] * len(FEATURES), [0.0] * len(FEATURES)
    high[1], low[1] = 2.0, -2.0
    assert stacker.probability(high) > 0.9 > 0.1 > stacker.probability(low)
    path = stacker.save(tmp_path)
    assert path.name == STACKER_FILE
    back = CidStacker.load(path)
    assert back.probability(high) == stacker.probability(high) and back.threshold == stacker.threshold
    assert back.prior == stacker.prior


def test_fit_refuses_one_class_or_too_few_documents():
    rows = [(t, f, False) for t, f, _ in _rows()]
    with pytest.raises(DataError, match="need both classes and at least 5 documents"):
        CidStacker.fit(rows, 0, CidPrior({}, {}, {}))
    with pytest.raises(DataError, match="in 3 documents"):
        CidStacker.fit(_rows(n_docs=3), 5, CidPrior({}, {}, {}))
    rows = _rows()
    positives = sum(y for _, _, y in rows)
    with pytest.raises(DataError, match=f"n_gold {positives - 1} is below the {positives} positive candidates"):
        CidStacker.fit(rows, positives - 1, CidPrior({}, {}, {}))
    with pytest.raises(DataError, match="n_gold nan is below"):
        CidStacker.fit(rows, float("nan"), CidPrior({}, {}, {}))


def test_damaged_or_other_stacker_files_are_refused_naming_the_file(tmp_path):
    good = CidStacker.fit(_rows(), 60, CidPrior({}, {}, {})).save(tmp_path)
    data = json.loads(good.read_text())
    bad = {"not json": "{", "no prior": json.dumps({k: v for k, v in data.items() if k != "prior"}),
           "other features": json.dumps({**data, "features": ["model_logit"]}),
           "short coef": json.dumps({**data, "coef": data["coef"][:-1]}),
           "threshold": json.dumps({**data, "threshold": 2}),
           "threshold true": json.dumps({**data, "threshold": True}),
           "nan coef": json.dumps({**data, "coef": [float("nan")] * len(FEATURES)}),
           "infinite intercept": json.dumps({**data, "intercept": float("inf")}),
           "zero scale": json.dumps({**data, "scale": [0.0] * len(FEATURES)}),
           "string coef": json.dumps({**data, "coef": ["a"] * len(FEATURES)}),
           "negative prior": json.dumps({**data, "prior": {**data["prior"], "pair_cid": [["C1", "D1", -2]]}}),
           "prior list": json.dumps({**data, "prior": {**data["prior"], "concept_docs": []}}),
           "a list": "[1, 2]"}
    for why, text in bad.items():
        path = tmp_path / f"{why}.json"
        path.write_text(text)
        with pytest.raises(DataError, match=rf"{why}.json: not a saved CID stacker"):
            CidStacker.load(path)


def test_candidate_rows_cover_every_candidate_and_count_gold_pairs_without_one():
    docs = [make_doc("1"), make_doc("2")]
    scored = {c.triple: 0.5 for d in docs for c in document_candidates(d)[0]}
    rows, n_gold = candidate_rows(docs, scored, CidPrior({}, {}, {}))
    assert [t for t, _, _ in rows] == list(scored) and n_gold == 6  # C9-D3 has no candidate: still counted
    assert [y for _, _, y in rows] == [True, False, True] * 2
