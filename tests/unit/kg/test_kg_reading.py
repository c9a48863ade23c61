"""One record read for the graph: mentions with field offsets and passage numbers, composite ids split,
unresolved mentions kept, sentence and record pairs, and a failed sentence split reported, not fatal."""
from __future__ import annotations

from kg_helpers import pubtator_text

from serendip.kg.normalise import Normaliser
from serendip.kg.pubtator import Document, Mention, parse_pubtator
from serendip.kg.reading import read_record, text_digest


def _normaliser() -> Normaliser:
    return Normaliser().fit(parse_pubtator(pubtator_text().splitlines()))


def test_mentions_sentences_and_pairs():
    title = "Aspirin and headache"
    abstract = "Aspirin relieved headache. Nausea was rare. Ibuprofen was compared."
    spans = ([(0, 7, "Chemical"), (12, 20, "Disease")],
             [(0, 7, "Chemical"), (17, 25, "Disease"), (27, 33, "Disease"), (44, 53, "Chemical")])
    rec = read_record(7, "123", title, abstract, spans, _normaliser())
    assert rec.split and rec.digest == text_digest(title, abstract) and len(rec.digest) == 32
    got = [(m.key, m.sentence, m.field, m.start, m.end, m.text, m.method) for m in rec.mentions]
    assert got == [("Chemical:D001241", 0, 0, 0, 7, "Aspirin", "exact"),
                   ("Disease:D006261", 0, 0, 12, 20, "headache", "exact"),
                   ("Chemical:D001241", 1, 1, 0, 7, "Aspirin", "exact"),
                   ("Disease:D006261", 1, 1, 17, 25, "headache", "exact"),
                   ("Disease:D009325", 2, 1, 27, 33, "Nausea", "exact"),
                   ("Chemical:D007052", 3, 1, 44, 53, "Ibuprofen", "exact")]
    for m in rec.mentions:  # offsets index the stored field
        assert (title, abstract)[m.field][m.start:m.end] == m.text
    assert [(p.number, p.field, p.text) for p in rec.passages][:2] == [(0, 0, title), (1, 1, "Aspirin relieved headache.")]
    assert rec.sentence_pairs == {("Chemical:D001241", "Disease:D006261"): [0, 1]}
    assert len(rec.record_pairs) == 6 and ("Chemical:D001241", "Chemical:D007052") in rec.record_pairs


def test_composite_ids_split_and_unresolved_kept():
    norm = Normaliser(fuzzy=False)
    norm.fit([Document("1", "renal and hepatic failure", "", [
        Mention(0, 25, "renal and hepatic failure", "Disease", ("D051437", "D017093"))])])
    rec = read_record(1, None, "renal and hepatic failure with zorbitol", "",
                      ([(0, 25, "Disease"), (31, 39, "Chemical")], []), norm)
    assert [(m.key, m.mesh_id, m.text, m.method) for m in rec.mentions] == [
        ("Disease:D051437", "D051437", "renal and hepatic failure", "exact"),
        ("Disease:D017093", "D017093", "renal and hepatic failure", "exact"),
        ("Chemical:?zorbitol", None, "zorbitol", "unresolved")]
    assert ("Chemical:?zorbitol", "Disease:D017093") in rec.sentence_pairs


def test_a_failed_sentence_split_keeps_every_mention(monkeypatch):
    from serendip.errors import DataError
    from serendip.kg import reading

    def broken(*_a, **_k):
        raise DataError("record 3 abstract: the sentence splitter returned something else")

    monkeypatch.setattr(reading, "split_record", broken)
    rec = read_record(3, None, " Aspirin ", "Nausea. Headache.",
                      ([(1, 8, "Chemical")], [(0, 6, "Disease"), (8, 16, "Disease")]), _normaliser())
    assert not rec.split
    assert [(p.number, p.field, p.start, p.end) for p in rec.passages] == [(0, 0, 1, 8), (1, 1, 0, 17)]
    assert [(m.sentence, m.text) for m in rec.mentions] == [(0, "Aspirin"), (1, "Nausea"), (1, "Headache")]


def test_no_text_no_mentions():
    rec = read_record(4, None, None, "", ([], []), _normaliser())
    assert rec.passages == [] and rec.mentions == [] and rec.record_pairs == set()
