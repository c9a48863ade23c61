"""Duplicate detection rules: a shared DOI with clearly different titles (chapters under a book DOI)
and same-title letters with different authors, pages or PMIDs are kept apart (issue 13)."""
from __future__ import annotations

import json

import pytest

from serendip.literature.dedupe import (
    first_author_key,
    first_page,
    keys_of,
    same_work,
    titles_clearly_differ,
)
from serendip.literature.record import Author, Record
from serendip.workbench import Workspace


def _rec(title, year=2020, doi=None, pmid=None, family=None, pages=None) -> Record:
    return Record(title=title, year=year, doi=doi, pmid=pmid,
                  authors=[Author(family=family, given="A")] if family else [],
                  extra={"pages": pages} if pages else {})


@pytest.mark.parametrize("a, b, differ", [
    ("Chapter 3. Diabetes and the kidney", "Chapter 4. Diabetes and the eye", True),
    ("Handbook of Clinical Nephrology", "Chapter 3. Diabetes and the kidney", True),
    ("Vitamin D and fractures: a trial", "VITAMIN D AND FRACTURES", False),  # subtitle dropped
    ("Off-target effects of CRISPR-Cas9", "Off target effects of CRISPR Cas9.", False),
    ("Tumour necrosis factor in sepsis", "Tumor necrosis factor in sepsis", False),  # spelling
    (None, "Anything", False),
])
def test_titles_clearly_differ(a, b, differ):
    assert titles_clearly_differ(a, b) is differ


def test_evidence_keys():
    rec = Record(authors=[Author(collective=None), Author(family="Öztürk-Ball", given="E")],
                 extra={"pages": "e1002-9"})
    assert first_author_key(rec) == "ozturkball" and first_page(rec) == "e1002"
    assert first_page(Record(extra={"start_page": "123", "pages": "9-10"})) == "123"
    assert first_author_key(Record()) is None and first_page(Record()) is None


def test_rules():
    k = lambda r: keys_of(r, frozenset())  # noqa: E731
    book = "10.1007/978-3-030-00001-1"
    assert same_work(k(_rec("Chapter 1. Anatomy", doi=book)), k(_rec("Chapter 2. Physiology", doi=book))) is None
    assert same_work(k(_rec("Anatomy of the kidney", doi=book)),
                     k(_rec("Anatomy of the kidney.", doi=book))) == f"DOI {book}"
    assert same_work(k(_rec("Same", doi=book, pmid="1")), k(_rec("Same", doi=book, pmid="2"))) is None
    letter = "Reply to: statins in the elderly"
    assert same_work(k(_rec(letter, family="Smith")), k(_rec(letter, family="Jones"))) is None
    assert same_work(k(_rec(letter, pages="101")), k(_rec(letter, pages="230"))) is None
    assert same_work(k(_rec(letter, pmid="11")), k(_rec(letter, pmid="12"))) is None
    assert same_work(k(_rec(letter, family="Smith", pages="101")),
                     k(_rec(letter.upper(), family="SMITH"))) == "same title and year"
    assert same_work(k(_rec(letter)), k(_rec(letter, year=2021))) is None
    assert same_work(k(_rec("A", pmid="5")), k(_rec("B", pmid="5"))) == "PMID 5"


def _jsonl(path, docs):
    path.write_text("".join(json.dumps(d) + "\n" for d in docs))
    return path


def test_chapters_and_letters_through_ingest(tmp_path):
    book = "10.5555/book.2015"
    chapters = [{"title": t, "doi": book, "year": 2015, "authors": [a]} for t, a in (
        ("Handbook of sleep medicine", "Editor, E."),
        ("Sleep apnoea in children", "Kim, S."), ("Insomnia and anxiety", "Roth, T."))]
    letters = [
        {"title": "Re: Aspirin after stroke", "year": 2019, "authors": ["Smith, A."], "pmid": "30000001",
         "journal": "BMJ", "pages": "l101"},
        {"title": "Re: aspirin after stroke.", "year": 2019, "authors": ["Jones, B."], "pmid": "30000002",
         "journal": "BMJ", "pages": "l102"},
        {"title": "Re: Aspirin after stroke", "year": 2019, "authors": ["Patel, C."], "journal": "BMJ"},
    ]
    ws = Workspace.init(tmp_path / "ws")
    try:
        first = ws.ingest([_jsonl(tmp_path / "a.jsonl", chapters + letters)])
        assert (first.ingested, first.duplicates) == (6, 0)
        again = ws.ingest([_jsonl(tmp_path / "b.jsonl", [dict(d, title=d["title"].upper()) for d in
                                                         chapters + letters])])
        assert (again.ingested, again.duplicates) == (0, 6)
        assert ws.count() == 6
        for _, rec in ws.records():
            assert len(rec.sources) == 2
    finally:
        ws.close()
