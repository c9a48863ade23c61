"""Item 9 of issue 13, "smaller losses": name suffixes and initials kept in their own fields, MeSH
major-topic stars as flags, and ``\\"`` accents inside a quoted BibTeX value - through every reader
that carries them, on real-shaped inputs, and through the stored form (dict, JSON, pickle)."""
from __future__ import annotations

import json
import pickle
from dataclasses import replace

import pytest

from serendip.literature import normalize as norm
from serendip.literature.merge import merge_dicts
from serendip.literature.readers.bibtex import BibTeXReader, parse_value
from serendip.literature.readers.medline_text import MedlineTextReader
from serendip.literature.readers.pubmed_xml import PubmedXMLReader
from serendip.literature.readers.ris import RISReader
from serendip.literature.record import (
    Author,
    MeshHeading,
    MeshQualifier,
    ParseIssue,
    Record,
)

PUBMED = """<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE PubmedArticleSet PUBLIC "-//NLM//DTD PubMedArticle, 1st January 2025//EN" "https://dtd.nlm.nih.gov/ncbi/pubmed/out/pubmed_250101.dtd">
<PubmedArticleSet>
<PubmedArticle>
  <MedlineCitation Status="MEDLINE" Owner="NLM">
    <PMID Version="1">31000001</PMID>
    <Article PubModel="Print">
      <Journal><JournalIssue CitedMedium="Print"><PubDate><Year>2019</Year></PubDate></JournalIssue>
        <Title>Invented Journal</Title></Journal>
      <ArticleTitle>Aspirin and tumour growth.</ArticleTitle>
      <AuthorList CompleteYN="Y">
        <Author ValidYN="Y"><LastName>Ware</LastName><ForeName>John E</ForeName><Initials>JE</Initials><Suffix>Jr</Suffix></Author>
        <Author ValidYN="Y"><LastName>Okafor</LastName><Initials>CN</Initials></Author>
        <Author ValidYN="Y"><LastName>Lindqvist</LastName><ForeName>Maja</ForeName><Initials>M</Initials><Suffix>3rd</Suffix></Author>
      </AuthorList>
    </Article>
    <MeshHeadingList>
      <MeshHeading><DescriptorName UI="D001241" MajorTopicYN="Y">Aspirin</DescriptorName></MeshHeading>
      <MeshHeading><DescriptorName UI="D009369" MajorTopicYN="N">Neoplasms</DescriptorName>
        <QualifierName UI="Q000188" MajorTopicYN="Y">drug therapy</QualifierName>
        <QualifierName UI="Q000473" MajorTopicYN="N">pathology</QualifierName></MeshHeading>
    </MeshHeadingList>
  </MedlineCitation>
</PubmedArticle>
</PubmedArticleSet>
"""

MEDLINE = """PMID- 31000001
OWN - NLM
STAT- MEDLINE
DP  - 2019 Mar
TI  - Aspirin and tumour growth.
FAU - Ware, John E Jr
AU  - Ware JE Jr
FAU - Okafor, Chidi, III
AU  - Okafor C 3rd
AU  - Lindqvist M
LA  - eng
MH  - *Aspirin
MH  - Neoplasms/*drug therapy/pathology
MH  - Humans
"""

RIS = """TY  - JOUR
TI  - Aspirin and tumour growth.
AU  - Ware, John E., Jr.
AU  - Okafor, C.N.
AU  - Lindqvist, Maja
PY  - 2019
ER  - 
"""

BIB = r"""@article{ware2019,
  title = "M\"uller's \"{o}konomische Analyse",
  author = "J\"org M\"uller and von Ware, Jr, John and Okafor, C. N. and Smith, John, III",
  journal = "Z. f{\"u}r Tests",
  year = 2019
}
@article{next2020,
  title = {Read after the accents},
  year = 2020
}
"""


def _records(reader, path) -> list[Record]:
    out = list(reader.read(path))
    assert not [x for x in out if isinstance(x, ParseIssue)]
    return out


def test_pubmed_xml_suffix_initials_and_mesh_flags(tmp_path):
    path = tmp_path / "p.xml"
    path.write_text(PUBMED, encoding="utf-8")
    (r,) = _records(PubmedXMLReader(), path)
    assert r.authors == [
        Author(family="Ware", given="John E", initials="JE", suffix="Jr"),
        Author(family="Okafor", initials="CN"),  # <Initials> and no <ForeName>: not a given name
        Author(family="Lindqvist", given="Maja", initials="M", suffix="3rd")]
    assert r.authors[0].display == "Ware, John E, Jr"
    assert r.mesh_terms == ["Aspirin", "Neoplasms"]
    assert r.mesh_headings == [
        MeshHeading("Aspirin", True, ui="D001241"),
        MeshHeading("Neoplasms", False, [MeshQualifier("drug therapy", True),
                                          MeshQualifier("pathology", False)], ui="D009369")]
    assert r.to_dict()["mesh_headings"][0] == {"descriptor": "Aspirin", "major": True, "qualifiers": [],
                                               "ui": "D001241"}
    assert Record.from_dict(r.to_dict()).mesh_headings == r.mesh_headings


def test_medline_suffix_initials_and_mesh_stars(tmp_path):
    path = tmp_path / "m.nbib"
    path.write_text(MEDLINE, encoding="utf-8")
    (r,) = _records(MedlineTextReader(), path)
    assert r.authors == [
        Author(family="Ware", given="John E", initials="JE", suffix="Jr"),
        Author(family="Okafor", given="Chidi", initials="C", suffix="III"),
        Author(family="Lindqvist", initials="M")]  # AU only: initials
    assert r.mesh_terms == ["Aspirin", "Neoplasms", "Humans"]  # no "*" in what users see
    assert r.mesh_headings == [
        MeshHeading("Aspirin", True),
        MeshHeading("Neoplasms", False, [MeshQualifier("drug therapy", True),
                                          MeshQualifier("pathology", False)]),
        MeshHeading("Humans", False)]
    assert not any("*" in q.name for h in r.mesh_headings for q in h.qualifiers)


def test_the_same_paper_gives_the_same_mesh_from_xml_and_medline(tmp_path):
    (tmp_path / "p.xml").write_text(PUBMED, encoding="utf-8")
    (tmp_path / "m.nbib").write_text(MEDLINE, encoding="utf-8")
    (x,) = _records(PubmedXMLReader(), tmp_path / "p.xml")
    (m,) = _records(MedlineTextReader(), tmp_path / "m.nbib")
    assert [replace(h, ui=None) for h in x.mesh_headings] == m.mesh_headings[:2]  # MEDLINE text has no UI
    assert [h.ui for h in x.mesh_headings] == ["D001241", "D009369"] and not any(h.ui for h in m.mesh_headings)
    assert x.authors[0] == m.authors[0]
    # the same headings merged, in either order: the XML copy's UIs are kept (more UIs rank higher)
    same = {**m.to_dict(), "mesh_headings": m.to_dict()["mesh_headings"][:2], "mesh_terms": m.mesh_terms[:2]}
    xm = merge_dicts(x.to_dict(), same)[0]["mesh_headings"]
    assert xm == merge_dicts(same, x.to_dict())[0]["mesh_headings"] == x.to_dict()["mesh_headings"]


def test_ris_suffix_and_initials(tmp_path):
    path = tmp_path / "r.ris"
    path.write_text(RIS, encoding="utf-8")
    (r,) = _records(RISReader(), path)
    assert r.authors == [Author(family="Ware", given="John E.", suffix="Jr"),
                         Author(family="Okafor", initials="CN"),
                         Author(family="Lindqvist", given="Maja")]


def test_bibtex_quoted_value_with_umlaut_accents_and_suffixes(tmp_path):
    path = tmp_path / "b.bib"
    path.write_text(BIB, encoding="utf-8")
    r, nxt = _records(BibTeXReader(), path)
    assert r.title == "Müller's ökonomische Analyse"
    assert r.journal == "Z. für Tests"
    assert r.authors == [Author(family="Müller", given="Jörg"),
                         Author(family="von Ware", given="John", suffix="Jr"),
                         Author(family="Okafor", initials="CN"),
                         Author(family="Smith", given="John", suffix="III")]
    assert nxt.title == "Read after the accents" and nxt.year == 2020


@pytest.mark.parametrize("raw, text", [
    (r'"M\"uller"', r'M\"uller'),
    (r'"a \\" # "b"', r"a \\b"),  # an escaped backslash before the quote: the quote closes
    (r'"{"}quoted{"}"', '{"}quoted{"}'),
])
def test_parse_value_backslash_quote(raw, text):
    assert "".join(p.value for p in parse_value(raw)) == text


@pytest.mark.parametrize("text, expected", [
    ("Jr", "Jr"), ("jr.", "Jr"), ("Junior", "Jr"), ("Sr.", "Sr"), ("iii", "III"), ("IV", "IV"),
    ("3rd", "3rd"), ("John", None), ("", None), ("V", None),
])
def test_name_suffix(text, expected):
    assert norm.name_suffix(text) == expected


@pytest.mark.parametrize("text, expected", [
    ("J.A.", "JA"), ("J. A.", "JA"), ("J.-P.", "JP"), ("JA", "JA"), ("L C", "LC"),
    ("Jan", None), ("Björn A.", None), ("John E.", None),
])
def test_as_initials(text, expected):
    assert norm.as_initials(text) == expected


def test_capitalised_whole_name_keeps_given():
    assert norm.parse_person("LEE, IAN") == Author(family="LEE", given="IAN")
    assert norm.parse_person("Lee, I.") == Author(family="Lee", initials="I")


def test_stored_form_round_trips_names_and_mesh():
    rec = Record(title="T", pmid="1",
                 authors=[Author(family="Ware", given="John E", initials="JE", suffix="Jr")],
                 mesh_terms=["Neoplasms"],
                 mesh_headings=[MeshHeading("Neoplasms", False, [MeshQualifier("drug therapy", True)])])
    data = json.loads(json.dumps(rec.to_dict()))
    assert data["authors"][0]["suffix"] == "Jr" and data["mesh_headings"][0]["qualifiers"] == [
        {"name": "drug therapy", "major": True}]
    assert Record.from_dict(data) == rec
    assert pickle.loads(pickle.dumps(rec)) == rec


def test_stored_form_written_before_the_new_fields_still_loads():
    old = {"title": "T", "pmid": "1", "authors": [{"family": "Doe", "given": "J", "collective": None,
                                                    "affiliations": [], "orcid": None}],
           "mesh_terms": ["Humans"], "extra": {"mesh": [["Humans", True, []]]}}
    rec = Record.from_dict(old)
    assert rec.authors == [Author(family="Doe", given="J")]
    # the old extra["mesh"] rows become headings with flags; the stars leave the names
    old["extra"]["mesh"].append(["Sleep", False, ["physiology*", "methods"]])
    rec = Record.from_dict(old)
    assert rec.mesh_headings == [MeshHeading("Humans", True),
                                 MeshHeading("Sleep", False, [MeshQualifier("physiology", True),
                                                              MeshQualifier("methods", False)])]
    assert "mesh" not in rec.extra and "mesh" in old["extra"]  # the input dict is not changed


def test_jsonl_structured_author_keeps_initials_and_suffix(tmp_path):
    from serendip.literature.readers.jsonl import JSONLReader

    rec = Record(title="T", authors=[Author(family="Ware", given="John E", initials="JE", suffix="Jr"),
                                     Author(family="Okafor", initials="CN")])
    path = tmp_path / "r.jsonl"
    path.write_text(json.dumps(rec.to_dict()) + "\n", encoding="utf-8")
    (back,) = _records(JSONLReader(), path)
    assert back.authors == rec.authors
