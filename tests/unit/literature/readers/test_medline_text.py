"""MEDLINE text (.nbib) reader: fields, authors/affiliations, CRLF, bad records, the real sample."""
from __future__ import annotations

import gzip

import pytest

from serendip.errors import ParseError
from serendip.literature.readers import get_reader
from serendip.literature.readers.medline_text import MedlineTextReader
from serendip.literature.record import MeshHeading, MeshQualifier, ParseIssue, Record

NEW_STYLE = """PMID- 30000001
OWN - NLM
DP  - 2019 Sep-Oct
TI  - A title that runs
      over two lines.
TT  - Ein Titel.
LID - 10.5555/ABC.2019 [doi]
LID - e123 [pii]
AB  - First line of the abstract
      and its second line.
FAU - Nakamura-Ferreira, Ilse Marie
AU  - Nakamura-Ferreira IM
AUID- ORCID: https://orcid.org/0000-0002-1825-0097
AD  - Department A, Invented University.
AD  - Centre B, Invented Institute.
FAU - Holt, Arno
AU  - Holt A
CN  - Invented Study Group
AU  - Smith J
LA  - ger
LA  - eng
PT  - Journal Article
PT  - Randomized Controlled Trial
JT  - Invented Journal
TA  - Invent J
VI  - 12
IP  - 3
PG  - 100-9
MH  - *Sleep
MH  - Information Storage and Retrieval/*methods/standards
OT  - parsing
OT  - tests
PMC - PMC777
AID - 10.5555/other [doi]
"""


def _read(path):
    out = list(MedlineTextReader().read(path))
    return ([x for x in out if isinstance(x, Record)], [x for x in out if isinstance(x, ParseIssue)])


def test_all_fields(tmp_path):
    path = tmp_path / "a.nbib"
    path.write_text(NEW_STYLE)
    recs, issues = _read(path)
    assert issues == [] and len(recs) == 1
    r = recs[0]
    assert (r.pmid, r.doi, r.pmcid) == ("30000001", "10.5555/abc.2019", "PMC777")
    assert r.title == "A title that runs over two lines." and r.vernacular_title == "Ein Titel."
    assert r.abstract == "First line of the abstract and its second line."
    assert [(a.family, a.given, a.initials, a.collective, a.orcid, a.affiliations)
            for a in r.authors] == [
        ("Nakamura-Ferreira", "Ilse Marie", "IM", None, "0000-0002-1825-0097",
         ["Department A, Invented University.", "Centre B, Invented Institute."]),
        ("Holt", "Arno", "A", None, None, []),
        (None, None, None, "Invented Study Group", None, []),
        ("Smith", None, "J", None, None, []),  # AU with no FAU: initials, not a given name
    ]
    assert (r.year, r.month, r.extra["pub_date_raw"]) == (2019, 9, "2019 Sep-Oct")
    assert r.language == ["ger", "eng"]
    assert r.publication_types == ["Journal Article", "Randomized Controlled Trial"]
    assert r.journal == "Invented Journal" and r.extra["journal_abbrev"] == "Invent J"
    assert (r.extra["volume"], r.extra["issue"], r.extra["pages"]) == ("12", "3", "100-9")
    assert r.mesh_terms == ["Sleep", "Information Storage and Retrieval"]
    assert r.mesh_headings == [
        MeshHeading("Sleep", True, []),
        MeshHeading("Information Storage and Retrieval", False,
                    [MeshQualifier("methods", True), MeshQualifier("standards", False)])]
    assert "mesh" not in r.extra
    assert r.keywords == ["parsing", "tests"]
    assert (r.source_format, r.source_line, r.source_index) == ("medline", 1, 0)


def test_crlf_bom_gzip_and_no_blank_line_between_records(tmp_path):
    text = "\ufeff" + NEW_STYLE + "PMID- 30000002\nTI  - Second.\n"  # no blank line before PMID
    path = tmp_path / "w.txt"
    path.write_bytes(gzip.compress(text.replace("\n", "\r\n").encode("utf-8")))
    recs, issues = _read(path)
    assert issues == [] and [r.pmid for r in recs] == ["30000001", "30000002"]
    assert recs[0].title == "A title that runs over two lines."
    assert not any("\r" in (r.title or "") + r.abstract for r in recs)
    assert [r.source_line for r in recs] == [1, NEW_STYLE.count("\n") + 1]


def test_bad_records_skipped_with_location(tmp_path):
    text = ("PMID- 1\nTI  - Good one.\n\n"          # lines 1-3
            "TI  - No PMID here.\n\n"                # line 4
            "PMID- 3\nthis line is junk\nTI  - x\n\n"  # lines 6-8
            "PMID- 4\nTI  - Good two.\n")            # line 10
    path = tmp_path / "b.nbib"
    path.write_text(text)
    recs, issues = _read(path)
    assert [r.pmid for r in recs] == ["1", "4"]
    assert [r.source_index for r in recs] == [0, 3]
    assert [(i.line, i.record) for i in issues] == [(4, "2"), (7, "PMID 3")]
    assert "PMID" in issues[0].reason and "junk" in issues[1].reason


def test_invalid_utf8_reported(tmp_path):
    path = tmp_path / "u.nbib"
    # a UTF-8 file (valid "\u00fc" in record 2) with one stray Latin-1 byte in record 1
    path.write_bytes(b"PMID- 1\nTI  - caf\xe9\n\nPMID- 2\nTI  - M\xc3\xbcller ok\n")
    recs, issues = _read(path)
    assert [r.pmid for r in recs] == ["2"]
    assert len(issues) == 1 and issues[0].line == 2 and "byte 0xE9" in issues[0].reason
    assert "--encoding" in issues[0].reason


def test_old_style_record_affiliation_goes_to_first_author(tmp_path):
    path = tmp_path / "o.nbib"
    path.write_text("PMID- 9\nAD  - Somewhere.\nAU  - Doe J\nAU  - Roe A\n")
    (r,), _ = _read(path)
    assert [(a.family, a.given, a.initials, a.affiliations) for a in r.authors] == [
        ("Doe", None, "J", ["Somewhere."]), ("Roe", None, "A", [])]


def test_not_medline_raises_and_empty_reads_nothing(tmp_path):
    ris = tmp_path / "x.ris"
    ris.write_text("TY  - JOUR\nTI  - Not MEDLINE.\nER  - \n")
    with pytest.raises(ParseError, match="PMID- "):
        list(MedlineTextReader().read(ris))
    empty = tmp_path / "empty.nbib"
    empty.write_text("\n\n")
    assert list(MedlineTextReader().read(empty)) == []


def test_not_available_title_uses_tt(tmp_path):
    path = tmp_path / "t.nbib"
    path.write_text("PMID- 8\nTI  - [Not Available].\nTT  - Un titre.\n")
    (r,), _ = _read(path)
    assert r.title == "Un titre." == r.vernacular_title


def test_sniff(tmp_path):
    reader = MedlineTextReader()
    assert reader.sniff(tmp_path, b"\nPMID- 16403221\nOWN - NLM\n")
    assert reader.sniff(tmp_path, b"PMID- 1\r\n")
    assert not reader.sniff(tmp_path, b"TY  - JOUR\nPMID 1\n")
    assert not reader.sniff(tmp_path, b"<PubmedArticleSet>")
    assert isinstance(get_reader("nbib"), MedlineTextReader)


@pytest.mark.data
def test_biopython_sample(mirror):
    path = mirror / "medline" / "sample.nbib"
    assert isinstance(get_reader("auto", path), MedlineTextReader)
    recs, issues = _read(path)
    assert issues == []
    assert [r.pmid for r in recs] == ["16403221", "16377612", "14871861", "14630660"]
    assert all(r.mesh_terms for r in recs)
    assert [r.source_line for r in recs] == [2, 67, 127, 192]
    r = recs[0]
    assert r.title == "A high level interface to SCOP and ASTRAL implemented in python."
    assert r.doi == "10.1186/1471-2105-7-10" and r.pmcid == "PMC1373603"
    assert r.year == 2006 and r.journal == "BMC bioinformatics"
    assert [(a.family, a.given) for a in r.authors] == [
        ("Casbon", "James A"), ("Crooks", "Gavin E"), ("Saqi", "Mansoor A S")]
    assert r.authors[0].affiliations == [
        "Bioinformatics, Institute of Cell and Molecular Science, School of Medicine and Dentistry, "
        "Queen Mary, University of London, London EC1 6BQ, UK. j.a.casbon@qmul.ac.uk"]
    assert r.abstract.startswith("BACKGROUND: Benchmarking algorithms in structural bioinformatics "
                                 "often involves the construction of datasets")
    assert r.abstract.endswith("easier and more principled.")
    assert r.publication_types == ["Evaluation Studies", "Journal Article"]
    assert r.mesh_terms[:3] == ["Database Management Systems", "Databases, Protein",
                                "Information Storage and Retrieval"]
    assert recs[1].title == ("GenomeDiagram: a python package for the visualization of large-scale "
                             "genomic data.")
    assert (recs[1].year, recs[1].month) == (2006, 3)
    assert recs[2].doi == "10.1093/bioinformatics/bth078"
    assert recs[3].doi is None and recs[3].year == 2003
