"""The SciFact metrics on the worked example of the official evaluation guide (doc/evaluation.md):
abstract-level P = R = F1 = 1/2, sentence-level P = 1/5, R = 1/4, F1 = 2/9."""
from __future__ import annotations

import pytest

from serendip.evidence.scifact_metrics import scifact_scores

GOLD = {52: {"11": [{"sentences": [0, 1], "label": "SUPPORT"}, {"sentences": [11], "label": "SUPPORT"}],
             "15": [{"sentences": [4], "label": "SUPPORT"}]}}
PRED = {52: {"11": {"sentences": [1, 11, 13], "label": "SUPPORT"},
             "16": {"sentences": [18, 20], "label": "CONTRADICT"}}}


def test_the_guide_worked_example():
    s = scifact_scores(GOLD, PRED)
    for name in ("abstract_label_only", "abstract_label_rationale"):
        assert (s[name].precision, s[name].recall, s[name].f1) == (0.5, 0.5, 0.5)
    for name in ("sentence_selection", "sentence_selection_label"):
        assert (s[name].precision, s[name].recall) == (1 / 5, 1 / 4)
        assert s[name].f1 == pytest.approx(2 / 9)


def test_wrong_label_keeps_selection_but_not_label_scores():
    pred = {52: {"11": {"sentences": [0, 1, 11], "label": "CONTRADICT"}}}
    s = scifact_scores(GOLD, pred)
    assert s["abstract_label_only"].correct == 0 and s["sentence_selection_label"].correct == 0
    assert s["sentence_selection"].correct == 3  # both sets whole: 0, 1 and 11


def test_only_the_first_three_sentences_count_for_the_abstract_rationale():
    pred = {52: {"15": {"sentences": [1, 2, 3, 4], "label": "SUPPORT"}}}
    s = scifact_scores(GOLD, pred)
    assert s["abstract_label_only"].correct == 1 and s["abstract_label_rationale"].correct == 0
    assert s["sentence_selection"].correct == 1  # every predicted sentence counts at sentence level


def test_bad_labels_and_unknown_claims_are_named():
    with pytest.raises(ValueError, match="claim 52, abstract 11: label 'NEI'"):
        scifact_scores(GOLD, {52: {"11": {"sentences": [], "label": "NEI"}}})
    with pytest.raises(ValueError, match=r"claim\(s\) \[7\]"):
        scifact_scores(GOLD, {7: {}})


def test_gold_scores_itself_perfectly_on_the_dev_claims(mirror):
    """On the 300 real dev claims, predicting the gold gives 1.0 everywhere; predicting only the
    first sentence of each first evidence set gives abstract scores of 1.0 but lower sentence recall."""
    import json

    from serendip.evidence.scifact_metrics import gold_from_claims

    claims = [json.loads(line) for line in (mirror / "scifact/claims/claims_dev.jsonl").open()]
    gold = gold_from_claims(claims)
    assert len(gold) == 300
    perfect = {c: {d: {"label": sets[0]["label"], "sentences": sorted({i for s in sets for i in s["sentences"]})}
                   for d, sets in ev.items()} for c, ev in gold.items()}
    assert all(v.f1 == 1.0 for v in scifact_scores(gold, perfect).values())
    partial = {c: {d: {"label": sets[0]["label"], "sentences": sets[0]["sentences"][:1]} for d, sets in ev.items()}
               for c, ev in gold.items()}
    s = scifact_scores(gold, partial)
    assert s["abstract_label_only"].f1 == 1.0
    assert s["sentence_selection"].precision < 1.0 and s["sentence_selection"].recall < 0.8
