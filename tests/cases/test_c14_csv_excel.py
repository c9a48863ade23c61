"""C14 - CSV from Excel: BOM, ";" delimiter, CRLF, quoted line break, doubled quotes, empty fields.

Right values: ``shared/cases/C14_csv-semicolon-bom-newlines/CASE.md``.
"""
from __future__ import annotations

import csv

import pytest

from serendip.literature import normalize as norm
from serendip.literature.readers import get_reader
from serendip.literature.readers.csv_table import CSVReader
from serendip.literature.record import Author, ParseIssue, Record


@pytest.fixture()
def path(cases_dir):
    return cases_dir / "C14_csv-semicolon-bom-newlines" / "excel_export.csv"


@pytest.fixture()
def records(path):
    out = list(get_reader("auto", path).read(path))
    assert not [o for o in out if isinstance(o, ParseIssue)]
    return [o for o in out if isinstance(o, Record)]


def test_three_records_and_columns_recognised(path, records):
    assert len(records) == 3
    with open(path, encoding="utf-8-sig", newline="") as fh:
        header = next(csv.reader(fh, delimiter=";"))
    assert header[0] == "Title"  # no "\ufeff"
    assert set(CSVReader().columns(header, str(path))) == {"title", "abstract", "authors", "year",
                                                            "doi"}


def test_row_1_embedded_line_break_is_one_record(records):
    r = records[0]
    assert r.title == "Sleep and memory in invented students"
    assert norm.collapse_ws(r.abstract) == (
        'Two-line abstract: first line; second line with a "quoted" word.')
    assert r.authors == [Author(family="Nyambura", given="Wanjiru"),
                         Author(family="Kessler", given="Ott")]
    assert r.year == 2016
    assert r.doi == "10.5555/ism.2016.9"
    assert r.source_line == 2


def test_row_2_title_starting_with_a_quote_and_empty_abstract(records):
    r = records[1]
    assert r.title == '"Scoped" risk: a title that starts with a quote'
    assert r.abstract == "" and r.abstract_sections == []
    assert r.authors == [Author(family="van der Berg-Ochoa", given="Maud")]
    assert r.year == 2012
    assert r.doi is None
    assert r.source_line == 4  # row 1 spans lines 2-3


def test_row_3_doi_url_prefix_removed(records):
    r = records[2]
    assert r.title == "Caffeine and reaction time"
    assert r.abstract == "Simple unquoted abstract."
    assert r.year == 2019
    assert r.doi == "10.5555/crt.2019.3"
    assert r.source_line == 5
