"""core/formats.py: the one suffix->format rule and the one CSV dialect rule."""
from __future__ import annotations

import csv

import pytest

from serendip.core.formats import (
    delimited_rows,
    format_for_path,
    sniff_delimiter,
    suffix_map,
)

SUFFIXES = suffix_map([("pubmed", [".xml", ".XML.gz"]), ("csv", [".csv", ".tsv"]), ("jsonl", [".jsonl"])])


@pytest.mark.parametrize("path, expected", [
    ("a/Export.CSV", "csv"),
    ("set.xml.gz", "pubmed"),          # a declared compressed suffix
    ("set.xml", "pubmed"),
    ("x.csv.gz", None),                # compression is never guessed: .csv.gz is not declared
    ("data.v1.jsonl", "jsonl"),        # only the end of the name counts
    (".csv", None),                    # a hidden file, no suffix
    ("notes.txt", None),
    ("folder/", None),
])
def test_format_for_path(path, expected):
    assert format_for_path(path, SUFFIXES) == expected


def test_suffix_map_refuses_a_suffix_claimed_twice_or_without_dot():
    with pytest.raises(ValueError, match=r"'\.txt' is declared by both 'a' and 'b'"):
        suffix_map([("a", [".txt"]), ("b", [".TXT"])])
    with pytest.raises(ValueError, match="must start with a dot"):
        suffix_map([("a", ["csv"])])


@pytest.mark.parametrize("text, expected", [
    ("title,abstract\nA,b\nC,d\n", ","),
    ("title;abstract\nA;b, with a comma\nC;d\n", ";"),   # European Excel
    ("title\tabstract\nA\tb\n", "\t"),
    ("title\nA\n", ","),                                 # one column
])
def test_sniff_delimiter(text, expected):
    assert sniff_delimiter(text, text.splitlines()[0]) == expected


def test_delimited_rows_rfc4180_quoting():
    text = 'a,b\n"x, ""y""","two\nlines"\n'
    assert list(delimited_rows(text, ",")) == [["a", "b"], ['x, "y"', "two\nlines"]]
    lines = ['a,b\n', '"open,x\n']
    with pytest.raises(csv.Error):
        list(delimited_rows(lines, ",", strict=True))
