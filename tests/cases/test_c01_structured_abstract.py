"""C01: structured abstract - every section with Label and NlmCategory; copyright is not abstract."""
from __future__ import annotations

from serendip.literature.readers import get_reader
from serendip.literature.record import Record


def _records(cases_dir):
    path = cases_dir / "C01_pubmed-structured-abstract" / "structured_abstract.xml"
    out = list(get_reader("auto", path).read(path))
    assert all(isinstance(x, Record) for x in out)
    return {r.pmid: r for r in out}, out


def test_c01_structured_abstract(cases_dir):
    by_pmid, out = _records(cases_dir)
    assert len(out) == 2
    r = by_pmid["90000101"]
    assert [(s.label, s.category, s.text) for s in r.abstract_sections] == [
        ("BACKGROUND", "BACKGROUND", "Marker Q7 has been proposed for risk stratification."),
        ("MATERIALS AND METHODS", "METHODS", "We measured Q7 in 212 patients from two clinics."),
        ("FINDINGS", "RESULTS", "Higher Q7 predicted readmission (hazard ratio 1.8)."),
        ("TAKE-HOME MESSAGE", "CONCLUSIONS", "Q7 adds prognostic information."),
    ]
    flat = r.abstract
    positions = [flat.index(s.text) for s in r.abstract_sections]
    assert positions == sorted(positions)
    assert "Copyright 2021 Invented Publisher Ltd." not in flat
    assert "Copyright" not in r.search_text()
    # the displayed label is the Label attribute, the category is kept beside it
    assert r.abstract_sections[1].label == "MATERIALS AND METHODS"
    assert r.abstract_sections[1].category == "METHODS"


def test_c01_unstructured_abstract(cases_dir):
    by_pmid, _ = _records(cases_dir)
    r = by_pmid["90000102"]
    assert len(r.abstract_sections) == 1
    assert not r.abstract_sections[0].label
    assert r.abstract_sections[0].text == "This single paragraph has no section label."
