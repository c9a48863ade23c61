"""SciFact training data for the two verification models, and the verifier's selection logic (the
models replaced by fixed probabilities, so the rule itself is what is tested)."""
from __future__ import annotations

import json

import pytest
from evidence_helpers import fixed_verifier as _verifier

from serendip.errors import DataError
from serendip.evidence import scifact_data as sd
from serendip.evidence.verify import as_scifact_prediction

CORPUS = {"11": {"title": "T11", "sentences": ["a0", "a1", "a2", "a3"]},
          "15": {"title": "T15", "sentences": ["b0", "b1"]},
          "16": {"title": "T16", "sentences": ["c0", "c1", "c2"]}}
CLAIMS = [{"id": 1, "claim": "Zinc shortens colds.", "cited_doc_ids": ["11"],
           "evidence": {"11": [{"sentences": [2, 1], "label": "SUPPORT"}, {"sentences": [3], "label": "SUPPORT"}]}},
          {"id": 2, "claim": "Coffee causes fibrosis.", "cited_doc_ids": ["16"], "evidence": {}}]


def test_rationale_examples_label_every_sentence_of_the_cited_abstracts():
    rows = sd.rationale_examples(CLAIMS, CORPUS)
    assert [(r["id"], r["label"]) for r in rows] == [
        ("1:11:0", "other"), ("1:11:1", "rationale"), ("1:11:2", "rationale"), ("1:11:3", "rationale"),
        ("2:16:0", "other"), ("2:16:1", "other"), ("2:16:2", "other")]
    assert rows[1]["text"] == "Zinc shortens colds." and rows[1]["text_pair"] == "a1"


def test_label_examples_join_the_gold_rationale_in_abstract_order_and_sample_nei():
    rows = sd.label_examples(CLAIMS, CORPUS, seed=0)
    gold = [r for r in rows if r["label"] == "SUPPORT"]
    assert [r["text_pair"] for r in gold] == ["a1 a2 a3"]
    nei = [r for r in rows if r["label"] == "NEI"]
    assert {r["id"] for r in nei} == {"1:11:nei", "2:16:nei"}
    assert nei[0]["text_pair"] == "a0"  # the only non-rationale sentence of abstract 11
    assert sd.label_examples(CLAIMS, CORPUS, seed=0) == rows  # seeded


def test_a_claim_citing_an_unknown_abstract_and_a_bad_line_are_named(tmp_path):
    with pytest.raises(DataError, match=r"claim 9: abstract\(s\) \['99'\]"):
        sd.rationale_examples([{"id": 9, "claim": "x", "cited_doc_ids": ["99"], "evidence": {}}], CORPUS)
    bad = tmp_path / "claims.jsonl"
    bad.write_text(json.dumps({"id": 1, "claim": "ok"}) + "\n{not json\n")
    with pytest.raises(DataError, match="claims.jsonl: line 2: not JSON"):
        sd.load_claims(bad)


def test_split_claims_is_by_claim_and_seeded():
    claims = [{"id": i} for i in range(20)]
    fit, held = sd.split_claims(claims, 0.1, seed=0)
    assert len(held) == 2 and not {c["id"] for c in fit} & {c["id"] for c in held}
    assert sd.split_claims(claims, 0.1, seed=0) == (fit, held)


def test_selection_threshold_cap_and_labels():
    v = _verifier({"a0": 0.9, "a1": 0.2, "a2": 0.7, "a3": 0.8, "b0": 0.1, "b1": 0.4, "c0": 0.6},
                  [[0.1, 0.2, 0.7], [0.2, 0.7, 0.1]])
    out = v.verify("claim", [("11", ["a0", "a1", "a2", "a3"]), ("15", ["b0", "b1"]), ("16", ["c0"])])
    assert [(o.doc_id, o.label) for o in out] == [("11", "SUPPORT"), ("15", "NEI"), ("16", "NEI")]
    assert [r.index for r in out[0].rationale] == [0, 3]  # the two best above 0.5, in abstract order
    assert out[0].probability == pytest.approx(0.7)
    assert out[1].rationale == [] and out[1].probability == pytest.approx(0.6)  # 1 - best P(rationale)
    assert out[2].rationale == []  # selected, but the label model said NEI: no rationale shown
    assert as_scifact_prediction(out) == {"11": {"label": "SUPPORT", "sentences": [0, 3]}}


def test_an_empty_claim_is_refused():
    with pytest.raises(DataError, match="claim is empty"):
        _verifier({}, []).verify("  ", [("11", ["a0"])])
