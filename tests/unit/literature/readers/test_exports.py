"""The exports researchers have (issue 13 item 3): Scopus CSV, Web of Science tab-delimited and
plain-text, RIS from EBSCO, Ovid (MEDLINE and Embase) and Cochrane CENTRAL. Each fixture under
tests/fixtures/exports/ (provenance in its README.md) is read through auto-detection and through a
workspace, and every field of every record is compared with the expected record."""
from __future__ import annotations

from pathlib import Path

import pytest

from serendip.literature.readers import get_reader, read_head, reader_spec
from serendip.literature.record import AbstractSection, Author, Record
from serendip.workbench import Workspace

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures" / "exports"
CAREGIVERS = "Caregivers' views on stigmatization and discrimination of people affected by leprosy in Ghana"
TRACHOMA = ("Interventions to maximize facial cleanliness and achieve environmental improvement for "
            "trachoma elimination: A review of the grey literature")
ZIKA = "Emerging trends of Zika apprehension in an epidemic setting"
SAFE = ("Efforts are underway to scale-up the facial cleanliness and environmental improvement "
        "components of the SAFE strategy.")
PNTD = "PLoS Neglected Tropical Diseases"
SPH = "School of Public Health, University of Ghana, Legon, Accra, Ghana"
ALBERTA = "Department of Human Ecology, University of Alberta, Edmonton, AB, Canada"
LEPROSY = "Leprosy is a condition that has long been associated with stigma and discrimination."


def A(family, given=None, affiliations=(), collective=None, initials=None) -> Author:  # noqa: N802
    """An expected author (reads as a name); ``initials`` for names given as initials only."""
    return Author(family=family, given=given, collective=collective, affiliations=list(affiliations),
                  initials=initials)


def record(name: str, fmt: str, index: int, line: int, abstract: str | None = None, **fields) -> Record:
    """The expected record ``index`` of fixture ``name``: every field not given is empty."""
    sections = [AbstractSection(text=abstract)] if abstract else []
    return Record(source_file=str(FIXTURES / name), source_format=fmt, source_index=index,
                  source_line=line, abstract_sections=sections, **fields)


def scopus() -> list[Record]:
    link = ("https://www.scopus.com/inward/record.uri?eid=2-s2.0-{}&doi=10.1371%2fjournal.pntd.{}"
            "&partnerID=40&md5={}")
    return [
        record("scopus.csv", "scopus", 0, 2, title=CAREGIVERS, pmid="29377890",
               abstract=(f'Background: {LEPROSY[:-1]}, "even when" infected persons have been cured, in '
                         "Ghana. Methods: A qualitative study. © 2018 Asampong et al."),
               doi="10.1371/journal.pntd.0006219", source_key="2-s2.0-85041488237",
               authors=[A("Asampong", "Emmanuel", [SPH]), A("Gyeke", "Mavis Dako", [SPH]),
                        A("Oduro", "Razak", [ALBERTA, SPH])],
               journal=PNTD, year=2018, keywords=["leprosy", "stigma", "caregivers"],
               publication_types=["Article"], language=["English"],
               extra={"volume": "12", "issue": "1", "article_number": "e0006219", "issn": "19352727",
                      "publisher": "Public Library of Science", "journal_abbrev": "PLoS Negl. Trop. Dis.",
                      "index_keywords": ["adult", "Ghana", "human", "leprosy", "social stigma"],
                      "urls": [link.format("85041488237", "0006219", "0f0e")],
                      "affiliations": [SPH, ALBERTA],
                      "scopus_author_ids": ["57190000001", "57190000002", "57190000003"]}),
        record("scopus.csv", "scopus", 1, 4, title=TRACHOMA, abstract=SAFE, pmid="29370169",
               doi="10.1371/journal.pntd.0006178", source_key="2-s2.0-85041433212",
               authors=[A("Delea", "Maryann G."), A("Solomon", "Hiwote"), A("Solomon", "Anthony W."),
                        A("Freeman", "Matthew C.")],
               journal=PNTD, year=2018, publication_types=["Review"], language=["English"],
               extra={"volume": "12", "issue": "1", "article_number": "e0006178", "issn": "19352727",
                      "journal_abbrev": "PLoS Negl. Trop. Dis.", "index_keywords": ["trachoma", "hygiene"],
                      "urls": [link.format("85041433212", "0006178", "1a2b")],
                      "scopus_author_ids": ["56000000001", "56000000002", "56000000003", "56000000004"]}),
        record("scopus.csv", "scopus", 2, 5, title=f"Correction: {ZIKA}", source_key="2-s2.0-85062000000",
               journal=PNTD, year=2019, publication_types=["Erratum"], language=["English", "French"],
               extra={"volume": "13", "issue": "2", "start_page": "e0007210"}),
    ]


def wos(name: str, fmt: str, lines: tuple[int, int, int]) -> list[Record]:
    ghana = "Univ Ghana, "
    emory = "Emory Univ, Dept Environm Hlth, Rollins Sch Publ Hlth, Atlanta, GA 30322 USA."
    return [
        record(name, fmt, 0, lines[0], title=CAREGIVERS, pmid="29377890",
               abstract=(f"Background {LEPROSY} Conclusion People affected by leprosy in Ghana are "
                         "stigmatized."),
               doi="10.1371/journal.pntd.0006219", source_key="WOS:000424022700066",
               authors=[A("Asampong", "Emmanuel", [ghana + "Sch Publ Hlth, Dept Social & Behav Sci, Legon, "
                                                   "Accra, Ghana."]),
                        A("Gyeke", "Mavis Dako Plusminus",
                          [ghana + "Dept Social Work, Legon, Accra, Ghana."]),
                        A("Oduro", "Razak", ["Univ Alberta, Dept Human Ecol, Edmonton, AB, Canada."])],
               journal="PLOS NEGLECTED TROPICAL DISEASES", year=2018, month=1, keywords=["leprosy", "stigma"],
               publication_types=["Article"], language=["English"],
               extra={"keywords_plus": ["MENTAL-HEALTH", "STIGMA", "INDIA"], "volume": "12", "issue": "1",
                      "article_number": "e0006219", "issn": "1935-2735",
                      "publisher": "PUBLIC LIBRARY SCIENCE",
                      "type": "J", "journal_abbrev": "Plos Neglect. Trop. Dis.", "date": "JAN"}),
        record(name, fmt, 1, lines[1], title=TRACHOMA, abstract=SAFE, pmid="29370169",
               doi="10.1371/journal.pntd.0006178", source_key="WOS:000424022700040",
               authors=[A("Delea", "Maryann G.", [emory, "London Sch Hyg & Trop Med, Dept Dis Control, "
                                                  "London, England."]),
                        A("Solomon", "Hiwote", [emory]),
                        Author("Solomon", "Anthony W.", orcid="0000-0001-7101-6649",
                               affiliations=["WHO, Dept Control Neglected Trop Dis, Geneva, Switzerland."]),
                        A("Freeman", "Matthew C.", [emory])],
               journal="PLOS NEGLECTED TROPICAL DISEASES", year=2018, month=1, publication_types=["Review"],
               language=["English"],
               extra={"keywords_plus": ["DEVELOPING-COUNTRIES", "RANDOMIZED-TRIAL", "HEALTH BEHAVIORS",
                                        "STRATEGY", "IMPACT", "FACE"],
                      "volume": "12", "issue": "1", "start_page": "1", "end_page": "26", "issn": "1935-2735",
                      "eissn": "1935-2735", "type": "J", "journal_abbrev": "Plos Neglect. Trop. Dis.",
                      "date": "JAN 25"}),
        record(name, fmt, 2, lines[2], title=ZIKA, source_key="WOS:000999999900001",
               authors=[A("Kazanji", "Mirdad"), A(None, collective="Zika Study Grp")],
               journal="ARBOVIRUS BOOK SERIES", year=2019, publication_types=["Article", "Book Chapter"],
               language=["English", "French"], extra={"type": "B", "date": "SPR"}),
    ]


def ebsco() -> list[Record]:
    url = "https://search.ebscohost.com/login.aspx?direct=true&db={}&AN={}&site=ehost-live"
    return [
        record("ebsco.ris", "ris", 0, 1, title=CAREGIVERS + ".", abstract=f"Background: {LEPROSY}",
               pmid="29377890", doi="10.1371/journal.pntd.0006219",  # PMID from N1, DOI from L3
               authors=[A("Asampong", "Emmanuel"), A("Gyeke", "Mavis Dako Plusminus"), A("Oduro", "Razak")],
               journal=PNTD, year=2018, month=1, keywords=["Leprosy -- Psychosocial Factors", "Stigma"],
               extra={"type": "JOUR", "date": "2018/01/29/", "volume": "12", "issue": "1",
                      "start_page": "e0006219", "urls": [url.format("ccm", "128012345")],
                      "database": "CINAHL Complete", "database_provider": "EBSCOhost",
                      "accession_numbers": ["128012345"]}),  # a CINAHL AN is not a PMID
        record("ebsco.ris", "ris", 1, 25, title=TRACHOMA + ".", abstract=SAFE, pmid="29370169",
               doi="10.1371/journal.pntd.0006178",
               authors=[A("Delea", "Maryann G."), A("Freeman", "Matthew C.")],
               journal=PNTD, year=2018, month=1, keywords=["Trachoma/prevention & control"],
               extra={"type": "JOUR", "date": "2018/01/25/", "volume": "12", "issue": "1",
                      "start_page": "e0006178", "urls": [url.format("mdc", "29370169")],
                      "database": "MEDLINE",
                      "database_provider": "EBSCOhost", "accession_numbers": ["29370169"]}),
        record("ebsco.ris", "ris", 2, 44, title=ZIKA + ".", doi="10.1371/journal.pntd.0006167",  # UR doi.org
               authors=[A("Fritzell", "Camille")], journal=PNTD, year=2018,
               extra={"type": "JOUR", "date": "2018",
                      "urls": ["https://doi.org/10.1371/journal.pntd.0006167"],
                      "database": "Academic Search Complete", "database_provider": "EBSCOhost",
                      "accession_numbers": ["127654321"]}),
    ]


def ovid() -> list[Record]:
    url = "http://ovidsp.ovid.com/ovidweb.cgi?T=JS&PAGE=reference&D={}&NEWS=N&AN={}"
    return [
        record("ovid.ris", "ris", 0, 1, title=CAREGIVERS + ".", abstract=f"BACKGROUND: {LEPROSY}",
               pmid="29377890",
               authors=[A("Asampong", "Emmanuel"), A("Gyeke", "Mavis Dako Plusminus"), A("Oduro", "Razak")],
               journal="PLoS neglected tropical diseases", year=2018,
               keywords=["Caregivers/px [Psychology]", "Ghana"],
               extra={"type": "JOUR", "date": "2018//", "volume": "12", "issue": "1",
                      "start_page": "e0006219",
                      "urls": [url.format("medl", "29377890")], "database": "Ovid MEDLINE(R) ALL",
                      "accession_numbers": ["29377890"]}),
        record("ovid.ris", "ris", 1, 23, title=TRACHOMA, abstract=SAFE, pmid="29370169",  # from U1, not AN
               doi="10.1371/journal.pntd.0006178", authors=[A("Delea", initials="MG"), A("Solomon", initials="H")],
               journal=PNTD, year=2018,
               extra={"type": "JOUR", "date": "2018//", "volume": "12", "issue": "1",
                      "start_page": "e0006178",
                      "urls": [url.format("emexb", "620456789")], "database": "Embase",
                      "accession_numbers": ["620456789"]}),
        record("ovid.ris", "ris", 2, 44, title=ZIKA + ".", pmid="29370170",
               authors=[A("Fritzell", "Camille")],
               journal="PLoS neglected tropical diseases", year=2018,
               extra={"type": "JOUR", "date": "2018//",
                      "urls": ["https://www.ncbi.nlm.nih.gov/pubmed/?term=29370170"],
                      "database": "Ovid MEDLINE(R) ALL", "accession_numbers": ["29370170"]}),
    ]


def cochrane() -> list[Record]:
    url = "https://www.cochranelibrary.com/central/doi/10.1002/central/{}/full"
    return [
        record("cochrane_central.ris", "ris", 0, 1, title=CAREGIVERS, abstract=f"BACKGROUND: {LEPROSY}",
               pmid="29377890", doi="10.1371/journal.pntd.0006219", source_key="CN-01468342",
               authors=[A("Asampong", initials="E"), A("Oduro", initials="R")], journal="PLoS neglected tropical diseases",
               year=2018, keywords=["Caregivers", "*Leprosy"],
               extra={"type": "JOUR", "date": "2018", "volume": "12", "issue": "1", "start_page": "e0006219",
                      "urls": [url.format("CN-01468342")],
                      "accession_numbers": ["PUBMED 29377890", "EMBASE 620412345"]}),
        record("cochrane_central.ris", "ris", 1, 20, source_key="CN-02012345",
               title="Sanitation and water supply coverage thresholds associated with active trachoma",
               authors=[A("Garn", initials="JV")], journal="American journal of tropical medicine and hygiene",
               year=2017,
               extra={"type": "CONF", "date": "2017", "volume": "97", "issue": "5 Supplement 1",
                      "start_page": "120", "urls": [url.format("CN-02012345")],
                      "accession_numbers": ["EMBASE 619876543"]}),  # no PubMed line: no PMID
    ]


EXPORTS = {
    "scopus.csv": ("scopus", scopus),
    "wos_savedrecs.txt": ("wos-tab", lambda: wos("wos_savedrecs.txt", "wos-tab", (2, 3, 4))),
    "wos_plain.txt": ("wos", lambda: wos("wos_plain.txt", "wos", (3, 49, 85))),
    "ebsco.ris": ("ris", ebsco),
    "ovid.ris": ("ris", ovid),
    "cochrane_central.ris": ("ris", cochrane),
}


@pytest.mark.parametrize("name", EXPORTS)
def test_export_is_recognised_and_every_field_read(name):
    fmt, expected = EXPORTS[name]
    path = FIXTURES / name
    reader = get_reader("auto", path)
    assert reader.name == fmt
    got = list(reader.read(path))
    assert [r.to_dict() for r in got] == [r.to_dict() for r in expected()]


@pytest.mark.parametrize("name", EXPORTS)
def test_export_ingested_through_a_workspace_keeps_every_field(tmp_path, name):
    _, expected = EXPORTS[name]
    with Workspace.init(tmp_path / "ws") as ws:
        report = ws.ingest([FIXTURES / name])
        stored = [r.to_dict() for _, r in ws.records()]
    want = [r.to_dict() for r in expected()]
    assert (report.ingested, report.failed, report.errors) == (len(want), 0, [])
    # each stored record lists the one copy it came from (merge provenance); every other field as read
    for rec, exp in zip(stored, want):
        assert rec.pop("sources") == [{"file": exp["source_file"], "format": exp["source_format"],
                                       "key": exp["source_key"], "line": exp["source_line"],
                                       "index": exp["source_index"]}]
        assert rec.pop("alternatives") == {}
        exp.pop("sources"), exp.pop("alternatives")
    assert stored == want


@pytest.mark.parametrize("name", ["scopus", "wos-tab", "wos"])
def test_accession_numbers_are_identities(name):
    assert reader_spec(name).id_keyed


def test_scopus_newer_author_form_and_header_with_a_trailing_comma(tmp_path):
    path = tmp_path / "scopus.csv"
    path.write_text("Authors,Title,Year,Source title,Link,EID,\n"
                    '"van der Berg, K.; O\'Neil, J.-P.; Smith, J.A.",A title,2023,J,https://s/1,2-s2.0-1,\n',
                    encoding="utf-8")
    assert get_reader("auto", path).name == "scopus"
    (rec,) = list(get_reader("scopus").read(path))
    assert [(a.family, a.given, a.initials) for a in rec.authors] == [
        ("van der Berg", None, "K"), ("O'Neil", None, "JP"), ("Smith", None, "JA")]
    assert (rec.title, rec.year, rec.journal, rec.source_key, rec.extra) == (
        "A title", 2023, "J", "2-s2.0-1", {"urls": ["https://s/1"]})


def test_scopus_affiliations_go_to_their_authors_only_when_unambiguous(tmp_path):
    path = tmp_path / "scopus.csv"
    path.write_text('Authors,Authors with affiliations,Title,Source title,EID\n'
                    '"Lee, K.; Kim, J.; Lee, K.",'
                    '"Kim, J., Seoul Natl Univ, Seoul; Lee, K., Korea Univ, Seoul",'
                    'T,J,2-s2.0-1\n'
                    '"Park, S.","Park, S., Yonsei Univ; Park, S., KAIST; Choi, H., Elsewhere",U,J,2-s2.0-2\n',
                    encoding="utf-8")
    first, second = get_reader("scopus").read(path)
    assert [a.affiliations for a in first.authors] == [[], ["Seoul Natl Univ, Seoul"], []]  # two "Lee, K."
    assert [a.affiliations for a in second.authors] == [["Yonsei Univ", "KAIST"]]


def test_scopus_older_author_form_without_full_names(tmp_path):
    path = tmp_path / "scopus.csv"
    path.write_text('Authors,Author(s) ID,Title,Source title,EID\n'
                    '"Asampong E., Gyeke M.D.P.","1;2;",T,J,2-s2.0-9,\n', encoding="utf-8")
    (rec,) = list(get_reader("scopus").read(path))
    assert [(a.family, a.given, a.initials) for a in rec.authors] == [
        ("Asampong", None, "E"), ("Gyeke", None, "MDP")]
    assert rec.extra == {"scopus_author_ids": ["1", "2"]}


def test_csv_trailing_delimiter_is_not_a_field(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("Title,Abstract\nOne,a,\nTwo,b,c\n", encoding="utf-8")
    out = list(get_reader("csv").read(path))
    assert out[0].title == "One" and out[0].abstract == "a"
    assert "3 fields, the header has 2" in out[1].reason  # a non-empty extra field is still an error


def test_wos_utf16_tab_export_is_recognised():
    head = (FIXTURES / "wos_savedrecs.txt").read_text(encoding="utf-8-sig").encode("utf-16")  # LE with BOM
    assert head.startswith(b"\xff\xfe")
    assert reader_spec("wos-tab").sniffs(FIXTURES, head[:4096])
    assert not reader_spec("csv").sniffs(FIXTURES, head[:4096])


def _utf16_decoded_by_the_opener(tmp_path) -> bool:
    from serendip.core.files import read_text_lenient

    probe = tmp_path / "probe.txt"
    probe.write_bytes("PT".encode("utf-16"))
    return read_text_lenient(probe) == "PT"


def test_wos_utf16_tab_export_reads_the_same_records(tmp_path):
    if not _utf16_decoded_by_the_opener(tmp_path):
        pytest.skip("UTF-16 decoding belongs to serendip.core.files (issue 13 item 4), not here yet")
    path = tmp_path / "savedrecs.txt"
    path.write_bytes((FIXTURES / "wos_savedrecs.txt").read_text(encoding="utf-8-sig").encode("utf-16"))
    got = [r.to_dict() for r in get_reader("auto", path).read(path)]
    want = [dict(r.to_dict(), source_file=str(path)) for r in wos("x", "wos-tab", (2, 3, 4))]
    assert got == want


def test_wos_text_reports_a_broken_record_and_keeps_the_rest(tmp_path):
    path = tmp_path / "wos.txt"
    path.write_text("FN Clarivate Analytics Web of Science\nVR 1.0\nPT J\nTI One\nER\n\nstray words\n"
                    "PT J\nTI Two\n  indented by two\nXX\n!bad line\nER\n\n"
                    "PT J\nAB Only an abstract\nER\nEF\n",
                    encoding="utf-8")
    out = list(get_reader("wos").read(path))
    assert [getattr(o, "title", None) for o in out] == ["One", None, None, None]
    assert [(o.line, o.record) for o in out[1:3]] == [(7, None), (8, "2")]
    assert "line 12 is neither a field tag nor an indented continuation" in out[2].reason
    assert out[3].abstract == "Only an abstract" and out[3].source_index == 2


def test_wos_early_access_record_takes_its_year_from_ea(tmp_path):
    path = tmp_path / "savedrecs.txt"
    path.write_text("PT\tAU\tTI\tPY\tEA\tUT\nJ\tLee, K\tT\t\tMAR 2021\tWOS:1\t\n", encoding="utf-8")
    (rec,) = get_reader("auto", path).read(path)
    assert (rec.year, rec.month, rec.source_key) == (2021, None, "WOS:1")


def test_wos_tab_without_a_header_of_tags_is_refused(tmp_path):
    from serendip.errors import ParseError

    path = tmp_path / "savedrecs.txt"
    path.write_text("Title\tAuthors\nA\tB\n", encoding="utf-8")
    with pytest.raises(ParseError, match="no header row of Web of Science field tags"):
        list(get_reader("wos-tab").read(path))
    assert not reader_spec("wos-tab").sniffs(path, read_head(path))


@pytest.mark.parametrize(("lines", "pmid", "candidates"), [
    (["PM  - 123"], "123", None),
    (["U3  - PMID: 123", "N1  - Pmid 0123"], "123", None),  # two places, one PMID
    (["PM  - 123", "U1  - PMID: 456"], None, ["123", "456"]),  # disagreeing places: none chosen
    (["N1  - Indexed in PubMed 2019"], None, None),  # a year after "PubMed" is not a PMID
    (["DB  - CINAHL", "AN  - 123"], None, None),  # an accession number outside MEDLINE
    (["ID  - 123", "DB  - PubMed"], None, None),  # EndNote's record number
    (["UR  - https://pubmed.ncbi.nlm.nih.gov/?term=789"], "789", None),
])
def test_ris_pmid_places(tmp_path, lines, pmid, candidates):
    path = tmp_path / "r.ris"
    path.write_text("\n".join(["TY  - JOUR", "TI  - T", *lines, "ER  - ", ""]), encoding="utf-8")
    (rec,) = list(get_reader("ris").read(path))
    assert rec.pmid == pmid and rec.extra.get("pmid_candidates") == candidates


@pytest.mark.parametrize("name", EXPORTS)
@pytest.mark.parametrize("variant", ["utf-16-le-bom", "gzip", "gzip utf-16", "cp1252 + --encoding"])
def test_export_variants_read_the_same_records(tmp_path, name, variant):
    """Web of Science saves UTF-16 LE with a BOM; any export may be gzip'ed; a legacy single-byte
    file read with ``encoding=`` (``--encoding``): the same records, every field, as the original."""
    import codecs
    import gzip

    fmt, _ = EXPORTS[name]
    text = (FIXTURES / name).read_text(encoding="utf-8-sig")  # the export's own BOM, if any, dropped
    utf16 = codecs.BOM_UTF16_LE + text.encode("utf-16-le")
    options = {}
    if variant == "cp1252 + --encoding":
        try:
            raw = text.encode("cp1252")
        except UnicodeEncodeError:
            pytest.skip(f"{name} holds characters CP1252 cannot encode")
        options = {"encoding": "cp1252"}
    else:
        raw = {"utf-16-le-bom": utf16, "gzip": gzip.compress(text.encode()),
               "gzip utf-16": gzip.compress(utf16)}[variant]
    path = tmp_path / name
    path.write_bytes(raw)
    spec = reader_spec(fmt)
    assert get_reader("auto", path).name == fmt
    got = [r.to_dict() for r in spec.make(options).read(path)]
    want = [r.to_dict() for r in get_reader(fmt).read(FIXTURES / name)]
    for rec in want:
        rec["source_file"] = str(path)
    assert got == want
