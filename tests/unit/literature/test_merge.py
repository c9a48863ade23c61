"""Field-by-field merging of copies of one work: fills what is missing, keeps conflicts as
alternatives, and gives the same result in every order (issue 13)."""
from __future__ import annotations

import itertools
from functools import reduce

from serendip.literature.merge import already_merged, merge_dicts, source_entry
from serendip.literature.record import AbstractSection, Author, Record


def _copy(fmt, **fields) -> dict:
    d = Record(source_file=f"export.{fmt}", source_format=fmt, source_index=0, **fields).to_dict()
    d["sources"] = [source_entry(d)]
    return d


COPIES = [
    _copy("ris", title="Sleep and memory in adolescents", year=2021, doi="10.5555/sleep.1",
          journal="J Sleep Res", authors=[Author("Ng", "A.")], keywords=["sleep", "Memory"],
          extra={"start_page": "12"}),
    _copy("bibtex", title="Sleep and Memory in Adolescents", year=2021, doi="10.5555/sleep.1",
          journal="Journal of Sleep Research", authors=[Author("Ng", "Anna")], keywords=["memory", "teens"],
          language=["English"]),
    _copy("medline", title="Sleep and memory in adolescents.", year=2020, pmid="33000001",
          abstract_sections=[AbstractSection("Teenagers who slept more remembered more.", "RESULTS")],
          authors=[Author("Ng", "Anna", affiliations=["Uni A"]), Author("Ortiz", "B")],
          mesh_terms=["Adolescent", "Sleep"], language=["eng"], extra={"pages": "12-9"}),
    _copy("csv", title="Sleep and memory in adolescents", abstract_sections=[AbstractSection("Short.")],
          authors=[Author("Ng", "A", affiliations=["Uni B"])]),
]


def _merge_all(copies):
    return reduce(lambda a, b: merge_dicts(a, b)[0], copies)


def test_every_order_gives_the_same_record():
    results = [_merge_all(order) for order in itertools.permutations(COPIES)]
    assert all(r == results[0] for r in results)
    assert len({repr(r) for r in results}) == 1  # key order too: the stored JSON text is the same


def test_grouped_merges_equal_one_by_one():
    a, b, c, d = COPIES
    left = merge_dicts(merge_dicts(a, b)[0], merge_dicts(c, d)[0])[0]
    assert left == _merge_all(COPIES)


def test_fields_filled_and_conflicts_kept():
    m = _merge_all(COPIES)
    assert m["pmid"] == "33000001" and m["doi"] == "10.5555/sleep.1"
    assert m["mesh_terms"] == ["Adolescent", "Sleep"]
    assert [k.casefold() for k in m["keywords"]] == ["memory", "sleep", "teens"]
    assert m["language"] == ["eng", "English"]
    assert m["year"] == 2020 and m["alternatives"]["year"] == [2021]  # the earliest year is primary
    assert m["journal"] == "Journal of Sleep Research" and m["alternatives"]["journal"] == ["J Sleep Res"]
    assert m["abstract_sections"][0]["label"] == "RESULTS"  # the structured abstract wins
    assert m["alternatives"]["abstract_sections"] == [[{"text": "Short.", "label": None, "category": None}]]
    assert m["title"] == "Sleep and memory in adolescents"  # one title class: no alternative
    assert "title" not in m["alternatives"]
    # the two-author list is richer; the one-author lists merge among themselves
    assert [a["family"] for a in m["authors"]] == ["Ng", "Ortiz"]
    assert m["alternatives"]["authors"] == [[{"family": "Ng", "given": "Anna", "collective": None,
                                             "affiliations": ["Uni B"], "orcid": None,
                                             "initials": None, "suffix": None}]]
    assert list(m["extra"].items()) == [("pages", "12-9"), ("start_page", "12")]
    assert [s["format"] for s in m["sources"]] == ["bibtex", "csv", "medline", "ris"]
    assert m["source_format"] == "bibtex" and m["source_file"] == "export.bibtex"


def test_conflicts_named_once_when_they_appear():
    merged, conflicts = merge_dicts(COPIES[0], COPIES[2])
    fields = {f for f, _, _ in conflicts}
    assert fields == {"year", "authors"}  # the journal only one copy has is filled, not a conflict
    assert merged["journal"] == "J Sleep Res" and merged["pmid"] == "33000001"
    again, none = merge_dicts(merged, COPIES[2])
    assert none == [] and again == merged


def test_already_merged():
    merged = merge_dicts(COPIES[0], COPIES[1])[0]
    assert already_merged(merged, COPIES[1]) and not already_merged(merged, COPIES[2])
    stored_before_merging = dict(COPIES[3])
    del stored_before_merging["sources"]  # a record stored before issue 13: it is its own source
    assert already_merged(stored_before_merging, COPIES[3])
