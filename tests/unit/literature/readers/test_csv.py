"""CSV/TSV reader: delimiter detection, column mapping, line numbers, bad rows, author names."""
from __future__ import annotations

from pathlib import Path

import pytest

from serendip.errors import ConfigError, DataError
from serendip.literature.readers import get_reader, read_head
from serendip.literature.readers.csv_table import CSVReader, parse_person, split_authors
from serendip.literature.record import Author, ParseIssue, Record


def write(tmp_path: Path, text: str, name: str = "t.csv", newline: str = "\n") -> Path:
    path = tmp_path / name
    path.write_bytes(text.replace("\n", newline).encode("utf-8"))
    return path


def read(path: Path, reader: CSVReader | None = None):
    out = list((reader or CSVReader()).read(path))
    return [o for o in out if isinstance(o, Record)], [o for o in out if isinstance(o, ParseIssue)]


def test_registered_as_csv_and_tsv():
    assert isinstance(get_reader("csv"), CSVReader) and isinstance(get_reader("tsv"), CSVReader)


@pytest.mark.parametrize("delim", [",", ";", "\t"])
def test_delimiter_is_detected(tmp_path, delim):
    rows = [["Title", "Abstract", "Year"], ["A, b; c", "x", "2001"], ["D", "y", "2002"]]
    text = "\n".join(delim.join(f'"{c}"' if ("," in c or ";" in c) else c for c in r) for r in rows)
    recs, issues = read(write(tmp_path, text + "\n"))
    assert issues == []
    assert [(r.title, r.abstract, r.year) for r in recs] == [("A, b; c", "x", 2001), ("D", "y", 2002)]


def test_bad_rows_in_the_middle_are_reported_with_their_lines(tmp_path):
    path = write(tmp_path, (
        "TI,AB,Year\n"                      # 1
        "A,abs a,2001\n"                    # 2
        '"unclosed,abs b,2002\n'            # 3 stray quote: must not swallow the rows after it
        'C,"multi\nline",2003\n'            # 4-5
        "D,x,2004,extra\n"                  # 6 one field too many
        ",,\n"                              # 7 blank row: not a record
        ", ,2005\n"                         # 8 no title, no abstract
        'E,"e""q",2006\n'                   # 9
        '"F"x,y,2007\n'                     # 10 text after a closing quote
        "G,g,2008\n"), newline="\r\n")      # 11
    recs, issues = read(path)
    assert [(r.title, r.abstract, r.year, r.source_line, r.source_index) for r in recs] == [
        ("A", "abs a", 2001, 2, 0), ("C", "multi line", 2003, 4, 2), ("E", 'e"q', 2006, 9, 5),
        ("G", "g", 2008, 11, 7)]
    assert [(i.file, i.line, i.record) for i in issues] == [
        (str(path), 3, "2"), (str(path), 6, "4"), (str(path), 8, "5"), (str(path), 10, "7")]
    assert issues[0].reason.startswith("row skipped: CSV quoting error")
    assert issues[1].reason == "row skipped: 4 fields, the header has 3"
    assert issues[2].reason == "row skipped: no title and no abstract"


def test_mapping_and_synonyms(tmp_path):
    path = write(tmp_path, "Article Title;Summary;AU;PY;DO;PubMed ID;Source title;KW;ID\n"
                           "T;S;Doe, Jane; Roe R;2019;https://dx.doi.org/10.1000/X;123;J;a; b;k9\n")
    recs, issues = read(path, CSVReader(mapping={"abstract": "summary"}))
    assert len(recs) == 0 and len(issues) == 1  # the ";" authors cell is not quoted: 11 fields
    path = write(tmp_path, 'Article Title;Summary;AU;PY;DO;PubMed ID;Source title;KW;ID\n'
                           'T;S;"Doe, Jane; Roe R";2019;https://dx.doi.org/10.1000/X;123;J;"a; b";k9\n')
    recs, issues = read(path, CSVReader(mapping={"abstract": "SUMMARY"}))
    assert issues == []
    r = recs[0]
    assert (r.title, r.abstract, r.year, r.doi, r.pmid, r.journal, r.keywords, r.source_key) == (
        "T", "S", 2019, "10.1000/x", "123", "J", ["a", "b"], "k9")
    assert r.authors == [Author(family="Doe", given="Jane"), Author(family="Roe", initials="R")]


def test_missing_columns_raise(tmp_path):
    path = write(tmp_path, "Title,Year\nA,2001\n")
    with pytest.raises(DataError, match=r"t\.csv.*'Summary'"):
        list(CSVReader(mapping={"abstract": "Summary"}).read(path))
    path = write(tmp_path, "Name,Year\nA,2001\n", name="u.csv")
    with pytest.raises(DataError, match=r"u\.csv: no title or abstract column"):
        list(CSVReader().read(path))
    with pytest.raises(ConfigError, match="colour"):
        CSVReader(mapping={"colour": "x"})


def test_invalid_identifiers_are_kept_raw(tmp_path):
    recs, _ = read(write(tmp_path, "title,doi,pmid,year\nA,n/a,PMID:x,notayear\nB,,,Spring 1990\n"))
    assert (recs[0].doi, recs[0].pmid, recs[0].year) == (None, None, None)
    assert recs[0].extra == {"year_raw": "notayear", "doi_raw": "n/a", "pmid_raw": "PMID:x"}
    assert (recs[1].year, recs[1].extra) == (1990, {})


@pytest.mark.parametrize("text, author", [
    ("van der Berg-Ochoa, Maud", Author(family="van der Berg-Ochoa", given="Maud")),
    ("Wanjiru Nyambura", Author(family="Nyambura", given="Wanjiru")),
    ("L C Borgnino", Author(family="Borgnino", initials="LC")),
    ("Smith JA", Author(family="Smith", initials="JA")),
    ("Bui K.T.A.", Author(family="Bui", initials="KTA")),
    ("Plato", Author(family="Plato")),
    ("Invented Ice Core Collaboration", Author(collective="Invented Ice Core Collaboration")),
    ("  ", None),
])
def test_parse_person(text, author):
    assert parse_person(text) == author


def test_split_authors():
    assert split_authors("Nyambura, Wanjiru; Kessler, Ott;") == [
        Author(family="Nyambura", given="Wanjiru"), Author(family="Kessler", given="Ott")]


def test_sniff(tmp_path):
    path = write(tmp_path, "Title\tAbstract\nA\tB\n", name="x.txt")
    assert CSVReader().sniff(path, read_head(path))
    assert not CSVReader().sniff(path, b"PMID- 123\nTI  - x\n")
    odd = write(tmp_path, "Headline\tSummary\nA\tB\n", name="y.tsv")  # the suffix alone decides
    assert not CSVReader().sniff(odd, read_head(odd)) and get_reader("auto", odd).name == "csv"


def test_parse_person_with_suffix():
    assert parse_person("Osei, Kwabena, Jr.") == Author(family="Osei", given="Kwabena", suffix="Jr")


def test_non_utf8_row_is_reported_and_others_kept(tmp_path):
    from serendip.literature.readers.csv_table import CSVReader
    from serendip.literature.record import ParseIssue

    # a UTF-8 file (valid "\u00fc" on the last row) with one stray Latin-1 byte: that row only is reported
    path = tmp_path / "damaged.csv"
    path.write_bytes(b"title,year\nCaf\xe9 and sleep,2001\nPlain ASCII title,2002\nM\xc3\xbcller study,2003\n")
    items = list(CSVReader().read(path))
    assert [type(i).__name__ for i in items] == ["ParseIssue", "Record", "Record"]
    assert isinstance(items[0], ParseIssue) and items[0].line == 2 and "byte 0xE9" in items[0].reason
    assert items[1].title == "Plain ASCII title" and items[2].title == "M\u00fcller study"
