"""Passages: sentences with offsets that index the stored text exactly; abbreviations kept inside
their sentence; nothing lost; an empty abstract gives the title alone."""
from __future__ import annotations

import pytest

from serendip.evidence.passages import record_passages, sentence_spans

ABSTRACT = ("BACKGROUND: Zinc lozenges (e.g. zinc acetate) shortened colds by 2.5 days (Fig. 2).  "
            "METHODS: We randomised 100 adults, i.e. an RCT, in Zürich – “double blind”. "
            "Results were significant (p < 0.05).\nConclusion: zinc works")


def test_offsets_index_the_stored_text_and_abbreviations_stay_inside():
    spans = sentence_spans(ABSTRACT)
    sents = [ABSTRACT[s:e] for s, e in spans]
    assert sents == ["BACKGROUND: Zinc lozenges (e.g. zinc acetate) shortened colds by 2.5 days (Fig. 2).",
                     "METHODS: We randomised 100 adults, i.e. an RCT, in Zürich – “double blind”.",
                     "Results were significant (p < 0.05).", "Conclusion: zinc works"]
    # nothing but whitespace falls between the passages
    covered = "".join(ABSTRACT[a:b] for a, b in spans)
    assert "".join(ABSTRACT.split()) == "".join(covered.split())


def test_record_passages_title_first_then_abstract():
    ps = record_passages("  Zinc and colds ", ABSTRACT)
    assert (ps[0].field, ps[0].index, ps[0].text, ps[0].start) == ("title", 0, "Zinc and colds", 2)
    assert [p.index for p in ps[1:]] == [0, 1, 2, 3]
    for p in ps[1:]:
        assert ABSTRACT[p.start:p.end] == p.text


@pytest.mark.parametrize("abstract", [None, "", "   \n"])
def test_an_empty_abstract_gives_the_title_alone(abstract):
    assert [p.field for p in record_passages("Title", abstract)] == ["title"]
    assert record_passages(None, abstract) == []
