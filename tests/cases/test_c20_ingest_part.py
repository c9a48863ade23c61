"""C20 (reader part only) - a BEIR corpus with records lacking abstract text, or any text at all.

Right values: ``shared/cases/C20_records-without-abstract-dense/CASE.md`` ("ingest stores all 6
records"; r2 empty text, r3 no ``text`` field, r6 whitespace-only text, r5 neither title nor text).
The dense-index part of C20 is tested with the retrieval code.
"""
from __future__ import annotations

import pytest

from serendip.literature.readers import get_reader
from serendip.literature.record import ParseIssue, Record


@pytest.fixture()
def records(cases_dir):
    path = cases_dir / "C20_records-without-abstract-dense" / "corpus.jsonl"
    reader = get_reader("auto", path)
    assert reader.name == "beir"
    out = list(reader.read(path))
    assert not [o for o in out if isinstance(o, ParseIssue)]
    return {r.source_key: r for r in out if isinstance(r, Record)}


def test_all_six_records_kept(records):
    assert list(records) == ["r1", "r2", "r3", "r4", "r5", "r6"]


def test_abstracts_present_only_where_text_is_not_blank(records):
    assert records["r1"].abstract.startswith("In a cohort of 41,200 adults")
    assert records["r4"].abstract.startswith("Five hours of sleep deprivation")
    for key in ("r2", "r3", "r6"):  # empty, missing, whitespace-only text
        assert records[key].abstract_sections == [] and records[key].abstract == ""
        assert records[key].title
    assert records["r6"].title == (
        "Vitamin D supplementation and fracture risk in older adults: a randomized trial")
    assert records["r6"].search_text() == records["r6"].title  # no trailing separator


def test_r5_is_a_record_with_nothing_to_search(records):
    r5 = records["r5"]
    assert r5.title is None and r5.abstract_sections == []
    assert r5.search_text() == ""
