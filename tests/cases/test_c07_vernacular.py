"""C07: bracketed translated title, "[Not Available]." -> VernacularTitle, all Language elements, UTF-8.

(The BM25 "Pilotstudie" point of C07 is tested with the retrieval engine.)
"""
from __future__ import annotations

from serendip.literature.readers import get_reader
from serendip.literature.record import Record


def _records(cases_dir):
    path = cases_dir / "C07_pubmed-vernacular-title-language" / "vernacular.xml"
    out = list(get_reader("auto", path).read(path))
    assert all(isinstance(x, Record) for x in out)
    return {r.pmid: r for r in out}, out


def test_c07_translated_title(cases_dir):
    by_pmid, out = _records(cases_dir)
    assert len(out) == 3
    r = by_pmid["90000701"]
    assert r.title == "[Low-dose therapy for chronic tinnitus: a pilot study]."
    assert r.vernacular_title == "Niedrig dosierte Therapie des chronischen Tinnitus: eine Pilotstudie."
    assert r.language == ["ger"]
    assert (r.authors[0].family, r.authors[0].given) == ("Gr\u00f6\u00dflinger", "J\u00fcrgen")
    assert r.publication_types == ["Journal Article", "Randomized Controlled Trial"]
    assert r.journal == "Erfundene Zeitschrift f\u00fcr Hals-Nasen-Ohren-Heilkunde"
    assert "Pilotstudie" in r.search_text()  # vernacular title is indexed text


def test_c07_not_available_title(cases_dir):
    by_pmid, _ = _records(cases_dir)
    r = by_pmid["90000702"]
    assert r.title != "[Not Available]."
    assert r.title == "Les apothicaires d'une ville imaginaire au XVIIIe si\u00e8cle."
    assert r.language == ["fre"]
    assert (r.authors[0].family, r.authors[0].given) == (
        "Lef\u00e8vre-D\u00fbchene", "H\u00e9l\u00e8ne")


def test_c07_languages_and_plain_vernacular(cases_dir):
    by_pmid, _ = _records(cases_dir)
    r = by_pmid["90000703"]
    assert r.language == ["spa", "eng"]
    assert r.vernacular_title == "Cobertura vacunal en una regi\u00f3n inventada."
