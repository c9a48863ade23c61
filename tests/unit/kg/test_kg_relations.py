"""CID relations of serendip.kg: candidate pairs (composite and unresolved ids, gold pairs without a
candidate), sentences, the BioCreative scorer, the co-occurrence baseline and counts."""
from __future__ import annotations

import math

import pytest
from kg_relation_helpers import TITLE, make_doc

from serendip.kg.normalise import NormalisedMention
from serendip.kg.pubtator import Document, Mention
from serendip.kg.relations import (
    Cooccurrence,
    candidates,
    cid_scores,
    cooccurrence_pairs,
    document_candidates,
    document_sentences,
    evidence_sentence,
    gold_relations,
    with_normalised,
)


def test_candidates_split_composites_skip_unresolved_and_count_missing_gold_pairs():
    doc = make_doc()
    found, missing = document_candidates(doc)
    assert [(c.chemical, c.disease, c.label) for c in found] == [
        ("C1", "D1", True), ("C1", "D2", False), ("C1", "D3", True)]
    assert [m.text for m in found[0].chemical_mentions] == ["cocaine", "Cocaine"]
    assert [m.text for m in found[1].disease_mentions] == ["Renal and hepatic failure"]
    assert missing == [("1", "C9", "D3")]
    _, report = candidates([doc, make_doc("2")])
    assert (report.n_documents, report.n_candidates, report.n_positive, report.n_gold) == (2, 6, 4, 6)
    assert report.missing == [("1", "C9", "D3"), ("2", "C9", "D3")]
    assert report.recall_ceiling == pytest.approx(4 / 6)
    unlabelled, none_missing = document_candidates(doc, labelled=False)
    assert {c.label for c in unlabelled} == {None} and none_missing == []


def test_sentences_are_the_title_then_the_abstract_sentences_in_document_offsets():
    doc = make_doc()
    spans = document_sentences(doc)
    assert [doc.text[s:e] for s, e in spans] == [TITLE, "Cocaine and an unknown drug X were given.",
                                                 "Seizures followed."]
    assert document_sentences(Document("9", "", "")) == []
    found, _ = document_candidates(doc)
    assert evidence_sentence(doc, found[0]) == TITLE  # both concepts in the title
    assert evidence_sentence(doc, found[2]) == TITLE  # none together: the first with either


def test_scorer_counts_document_level_triples_once():
    gold = {("1", "C1", "D1"), ("1", "C1", "D3"), ("2", "C1", "D1")}
    got = cid_scores(gold, [("1", "C1", "D1"), ("1", "C1", "D1"), ("1", "C1", "D2"), ("2", "C1", "D3")])
    assert (got["tp"], got["n_pred"], got["n_gold"]) == (1, 3, 3)
    assert got["precision"] == pytest.approx(1 / 3) and got["recall"] == pytest.approx(1 / 3)
    assert got["f1"] == pytest.approx(1 / 3)
    assert cid_scores(gold, []) == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "tp": 0, "n_pred": 0, "n_gold": 3}
    assert cid_scores(gold, gold)["f1"] == 1.0


def test_cooccurrence_baselines_sentence_and_abstract():
    doc = make_doc()
    gold = gold_relations([doc])
    assert gold == {("1", "C1", "D1"), ("1", "C1", "D3"), ("1", "C9", "D3")}
    sentence = cooccurrence_pairs([doc], "sentence")
    assert sentence == {("1", "C1", "D1"), ("1", "C1", "D2")}
    assert cooccurrence_pairs([doc], "abstract") == sentence | {("1", "C1", "D3")}
    s = cid_scores(gold, sentence)
    assert (s["precision"], s["recall"]) == (0.5, pytest.approx(1 / 3)) and s["f1"] == pytest.approx(0.4)
    with pytest.raises(ValueError, match="not one of"):
        cooccurrence_pairs([doc], "paragraph")


def test_cooccurrence_counts_abstracts_sentences_and_npmi():
    other = Document("2", "Aspirin and seizures.", "")
    other.mentions = [Mention(0, 7, "Aspirin", "Chemical", ("C2",)), Mention(12, 20, "seizures", "Disease", ("D3",))]
    stats = Cooccurrence([make_doc(), other])
    assert (stats.n_documents, stats.n_sentences) == (2, 4)
    c1d3 = stats.pair("D3", "C1")  # either order
    assert (c1d3.a, c1d3.n_abstracts, c1d3.n_sentences, c1d3.n_a, c1d3.n_b, c1d3.pmids) == ("D3", 1, 0, 2, 1, ("1",))
    assert c1d3.npmi_sentence == -1.0  # never in one sentence
    # p(C1, D3) = 1/2, p(C1) = 1/2, p(D3) = 1: log(1) / -log(1/2) = 0
    assert c1d3.npmi_abstract == pytest.approx(0.0)
    c1d1 = stats.pair("C1", "D1")
    assert c1d1.n_sentences == 1
    expected = math.log((1 / 4) / ((2 / 4) * (1 / 4))) / -math.log(1 / 4)  # 2 C1 sentences of 4, 1 D1
    assert c1d1.npmi_sentence == pytest.approx(expected)
    assert stats.pair("C1", "unseen").n_abstracts == 0
    pairs = stats.pairs()
    assert (pairs[0].a, pairs[0].b, pairs[0].n_abstracts) == ("C1", "D1", 1) and len(pairs) == 7
    assert [p.n_abstracts for p in Cooccurrence([make_doc()], types=("Disease",)).pairs()] == [1, 1, 1]


def test_with_normalised_carries_resolved_ids_and_keeps_unresolved_mentions():
    doc = make_doc()
    found = [NormalisedMention(doc.mentions[0], "D1|D2", "exact", 100.0, "renal and hepatic failure"),
             NormalisedMention(doc.mentions[3], None, "unresolved", 0.0)]
    new = with_normalised(doc, found)
    assert [m.ids for m in new.mentions] == [("D1", "D2"), (None,)]
    assert new.relations == doc.relations and new.text == doc.text
