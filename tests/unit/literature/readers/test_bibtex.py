"""BibTeX reader: macros, concatenation, months, duplicate keys, missing commas, names, LaTeX."""
from __future__ import annotations

from pathlib import Path

import pytest

from serendip.literature.readers import get_reader, read_head
from serendip.literature.readers.bibtex import BibTeXReader, parse_authors
from serendip.literature.record import Author, ParseIssue, Record


def read(tmp_path: Path, text: str, name: str = "refs.bib", newline: str = "\n"):
    path = tmp_path / name
    path.write_bytes(text.replace("\n", newline).encode("utf-8"))
    out = list(BibTeXReader().read(path))
    return path, [o for o in out if isinstance(o, Record)], [o for o in out if isinstance(o, ParseIssue)]


def test_registered_under_bibtex_and_bib():
    assert isinstance(get_reader("bibtex"), BibTeXReader)
    assert isinstance(get_reader("bib"), BibTeXReader)


def test_strings_concatenation_and_month_macros(tmp_path):
    _, recs, issues = read(tmp_path, """
@string{pre = "Proc. of the "}
@STRING{conf = pre # "Invented" # { Meeting}}
@inproceedings{k1,
  title = "Alpha " # {Beta},
  booktitle = conf # " " # 2003,
  year = 2003, month = Oct,
}
@article{k2, title = {Gamma}, journal = {J}, year = {1999}, month = {12}}
@article{k3, title = {Delta}, journal = {J}, year = {1999}, month = "March"}
""")
    assert issues == []
    assert [r.title for r in recs] == ["Alpha Beta", "Gamma", "Delta"]
    assert recs[0].journal == "Proc. of the Invented Meeting 2003"
    assert recs[0].extra["booktitle"] == "Proc. of the Invented Meeting 2003"
    assert [r.month for r in recs] == [10, 12, 3]
    assert [r.year for r in recs] == [2003, 1999, 1999]


def test_duplicate_keys_are_two_records(tmp_path):
    path, recs, issues = read(tmp_path, """@article{Same, title = {One}, doi = {10.1000/one}}

@article{Same, title = {Two}, doi = {https://doi.org/10.1000/TWO}}
""")
    assert issues == []
    assert [(r.source_key, r.title, r.doi, r.source_line, r.source_index) for r in recs] == [
        ("Same", "One", "10.1000/one", 1, 0), ("Same", "Two", "10.1000/two", 3, 1)]
    assert all(r.source_file == str(path) and r.source_format == "bibtex" for r in recs)


@pytest.mark.parametrize("bad_field", [
    "title = {Broken}\n  journal = {Leaked},",
    'title = "Broken"\n  journal = {Leaked},',
    "year = 2001\n  journal = {Leaked},",
    "title = {Broken}  journal = {Leaked},",
])
def test_missing_comma_in_the_middle_skips_only_that_entry(tmp_path, bad_field):
    text = ("@article{good1,\n  title = {First},\n  year = {2001},\n}\n\n"
            "@article{bad,\n  author = {Doe, Jane},\n  " + bad_field + "\n  year = {2002},\n}\n\n"
            "@article{good2,\n  title = {Last},\n  year = {2003},\n}\n")
    path, recs, issues = read(tmp_path, text)
    assert [r.source_key for r in recs] == ["good1", "good2"]
    assert [r.source_line for r in recs] == [1, 13 if "\n" in bad_field else 12]
    assert len(issues) == 1
    issue = issues[0]
    assert issue.file == str(path) and issue.line == 6 and issue.record == "bad"
    journal_line = 9 if "\n" in bad_field else 8
    assert issue.reason == (f'entry skipped: missing "," between fields: unexpected field "journal" '
                            f"(line {journal_line})")
    assert all("journal =" not in (r.title or "") for r in recs)


def test_unparseable_block_in_the_middle_is_reported_with_its_line(tmp_path):
    text = ("@article{a, title = {Kept A}}\n"
            "@article{b, title = {never closed, year = 2000\n"
            "@article{c, title = {Kept C}}\n"
            "@misc{d title = {no comma after the key}}\n"
            "@article{e, title = {Kept E}}\n")
    path, recs, issues = read(tmp_path, text)
    assert [r.source_key for r in recs] == ["a", "c", "e"]
    assert [r.source_index for r in recs] == [0, 2, 4]
    assert [(i.file, i.line, i.record) for i in issues] == [(str(path), 2, "b"), (str(path), 4, "d")]
    assert all(i.reason.startswith("entry skipped: ") for i in issues)
    assert "Expected comma after entry key" in issues[1].reason


def test_undefined_macro_only_matters_in_a_field_that_is_read(tmp_path):
    path, recs, issues = read(tmp_path, """@article{a, title = {T}, journal = nosuchmacro}
@article{b, title = {U}, publisher = nosuchmacro}
""")
    assert [r.source_key for r in recs] == ["b"]
    assert recs[0].extra["undefined_macros"] == ["publisher: nosuchmacro"]
    assert "publisher" not in recs[0].extra
    assert [(i.line, i.record, i.reason) for i in issues] == [
        (1, "a", 'entry skipped: undefined @string macro "nosuchmacro" in field "journal"')]


def test_duplicate_field_read_vs_unused(tmp_path):
    _, recs, issues = read(tmp_path, """@article{a, title = {T}, note = {x}, note = {y}}
@article{b, title = {T1}, title = {T2}}
@article{c, title = {Same}, title = {Same}}
""")
    assert [r.source_key for r in recs] == ["a", "c"]
    assert [(i.line, i.record) for i in issues] == [(2, "b")]
    assert 'field "title" given twice with different values' in issues[0].reason


def test_latex_braces_percent_and_ampersand(tmp_path):
    _, recs, _ = read(tmp_path, r"""@article{a,
  title = {{The {DNA} of M{\"u}ller's caf\'e}},
  abstract = {Almost 60% of reviews; Smith & Sons; 1998--2001},
  journal = {Journal of R\&D},
}
""")
    assert recs[0].title == "The DNA of Müller's café"
    assert recs[0].abstract == "Almost 60% of reviews; Smith & Sons; 1998–2001"
    assert recs[0].journal == "Journal of R&D"


def test_authors_persons_particles_suffixes_collectives():
    got = parse_authors(r"Ahlberg, Tove and {Invented Ice Core Collaboration} and Ludwig van Beethoven"
                        r" and van der Berg, Jan and Smith, Jr., John and Faggion, C.M., Jr. and"
                        r" M{\"u}ller, J{\"o}rg")
    assert got == [
        Author(family="Ahlberg", given="Tove"),
        Author(collective="Invented Ice Core Collaboration"),
        Author(family="van Beethoven", given="Ludwig"),
        Author(family="van der Berg", given="Jan"),
        Author(family="Smith", given="John", suffix="Jr"),
        Author(family="Faggion", initials="CM", suffix="Jr"),
        Author(family="Müller", given="Jörg"),
    ]


def test_identifiers_keywords_and_language(tmp_path):
    _, recs, _ = read(tmp_path, """@article{a, title = {T},
  doi = {https://doi.org/10.1000/ABC_1},
  pubmed_id = {12345},
  author_keywords = {alpha;  beta},
  keywords = {Beta; gamma},
  language = {English},
}
@article{b, title = {U}, doi = {not a doi}, keywords = {x, y}}
""")
    a, b = recs
    assert (a.doi, a.pmid, a.keywords, a.language) == ("10.1000/abc_1", "12345",
                                                       ["alpha", "beta", "gamma"], ["English"])
    assert (b.doi, b.extra["doi_raw"], b.keywords) == (None, "not a doi", ["x", "y"])


def test_bom_and_crlf_keep_line_numbers(tmp_path):
    path = tmp_path / "win.bib"
    path.write_bytes(b"\xef\xbb\xbf% comment\r\n\r\n@article{a,\r\n title = {T}\r\n journal = {J}}\r\n"
                     b"@article{b, title = {U}}\r\n")
    out = list(BibTeXReader().read(path))
    assert isinstance(out[0], ParseIssue) and out[0].line == 3 and "(line 5)" in out[0].reason
    assert isinstance(out[1], Record) and out[1].source_line == 6


def test_sniff(tmp_path):
    path = tmp_path / "x.txt"
    path.write_text("% exported\n\n  @Article{key,\n title={x}}\n")
    assert BibTeXReader().sniff(path, read_head(path))
    assert not BibTeXReader().sniff(path, b"TY  - JOUR\nER  - \n")
    assert not BibTeXReader().sniff(path, b"write to me@example.org {soon}\n")


@pytest.mark.data
def test_scopus_sample_bib(mirror):
    path = mirror / "medline" / "sample.bib"
    out = list(get_reader("auto", path).read(path))
    recs = [o for o in out if isinstance(o, Record)]
    assert len(out) == len(recs) == 10  # SOURCE.md: 10 entries (Cooper2018 repeats funding_details)
    assert [r.source_key for r in recs][:3] == ["Bui20181477", "Riegelman201822", "Cooper2018"]
    assert all(r.title and r.journal and r.authors and r.language for r in recs)
    assert [r.year for r in recs] == [2018] * 9 + [2017]
    assert sum(bool(r.doi) for r in recs) == 9
    assert sum(bool(r.pmid) for r in recs) == 6
    assert sum(bool(r.abstract) for r in recs) == 9
    bui = recs[0]
    assert bui.doi == "10.1111/ene.13758" and bui.source_line == 4
    assert "Almost 60% of quality criteria" in bui.abstract  # "%" is text, not a LaTeX comment
    assert bui.authors[0] == Author(family="Bui", initials="KTA")


def test_broken_string_blocks_and_escaped_identifiers(tmp_path):
    path, recs, issues = read(tmp_path, r"""@string{good = "G"}
@string{bad = "unterminated # x}
@string{worse = undefinedmacro}
@article{a, title = good, doi = {10.1000/abc\_1}, url = {\url{https://x.org/a_b}}}
@article{b, title = bad}
""")
    assert [(r.source_key, r.title, r.doi, r.extra["url"], r.source_index) for r in recs] == [
        ("a", "G", "10.1000/abc_1", "https://x.org/a_b", 0)]
    assert [(i.line, i.record) for i in issues] == [(2, "@string bad"), (3, "@string worse"), (5, "b")]
    assert issues[0].reason == "@string skipped: unterminated quoted value"
    assert issues[1].reason == '@string skipped: undefined @string macro "undefinedmacro"'
    assert issues[2].reason == 'entry skipped: undefined @string macro "bad" in field "title"'
