"""C11 - BibTeX @string macros, ``#`` concatenation, bare month macros, duplicate citation keys.

Right values: ``shared/cases/C11_bibtex-strings-months-dupkeys/CASE.md``.
"""
from __future__ import annotations

import pytest

from serendip.literature.readers import get_reader
from serendip.literature.record import Author, ParseIssue, Record


@pytest.fixture()
def records(cases_dir):
    path = cases_dir / "C11_bibtex-strings-months-dupkeys" / "scopus_ads.bib"
    out = list(get_reader("auto", path).read(path))
    assert not [o for o in out if isinstance(o, ParseIssue)]  # nothing rejected, nothing lost
    return [o for o in out if isinstance(o, Record)]


def test_three_records_although_two_share_a_key(records):
    assert len(records) == 3
    assert [r.source_key for r in records] == ["Ahlberg2001", "Wandel20171", "Wandel20171"]


def test_ahlberg_macro_concatenation_month_and_collective(records):
    r = records[0]
    assert r.journal == "Invented Glacier Research Conference"  # igr # " Conference"
    assert r.extra["booktitle"] == "Invented Glacier Research Conference"
    assert r.year == 2001
    assert r.month == 1  # jan
    assert r.title == "Deep layers of an invented ice sheet"
    assert r.authors == [Author(family="Ahlberg", given="Tove"),
                         Author(collective="Invented Ice Core Collaboration")]


def test_first_wandel(records):
    r = records[1]
    assert r.source_line == 12
    assert r.journal == "Invented Glacier Research"
    assert r.year == 2017
    assert r.month == 9  # sep
    assert r.doi == "10.5555/igr.2017.0101"
    assert r.authors == [Author(family="Wandel", given="Liesl"),
                         Author(family="Oyelaran", given="Funmi")]


def test_second_wandel_is_kept(records):
    r = records[2]
    assert r.source_line == 21
    assert r.title == "Fast answers on an invented question site"
    assert r.journal == "Invented Software Studies"
    assert r.doi == "10.5555/iss.2017.0558"
