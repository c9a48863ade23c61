"""C02: inline markup (<i>, <sub>, <sup>, <b>, MathML) and entities: plain text, decoded once."""
from __future__ import annotations

from serendip.literature.readers import get_reader
from serendip.literature.record import Record


def _records(cases_dir):
    path = cases_dir / "C02_pubmed-inline-markup-entities" / "inline_markup.xml"
    out = list(get_reader("auto", path).read(path))
    assert all(isinstance(x, Record) for x in out)
    return {r.pmid: r for r in out}, out


def test_c02_record_count(cases_dir):
    _, out = _records(cases_dir)
    assert len(out) == 2


def test_c02_markup_kept_as_text(cases_dir):
    by_pmid, _ = _records(cases_dir)
    r = by_pmid["90000201"]
    assert r.title == "Loss of foxq9 impairs CO2 sensing in Danio rerio larvae."
    expected = ("Filtration fell below 60 ml/min per 1.73 m2 in 14% of fish (p < 0.01), and TNF-\u03b1 "
                "and \u03b2-catenin rose \u22652-fold. The ratio ab was stable.")
    assert r.abstract == expected
    assert "p < 0.01" in r.abstract and "&lt;" not in r.abstract
    assert all(ch in r.abstract for ch in ("\u03b1", "\u03b2", "\u2265"))
    assert r.abstract.endswith("was stable.")
    # optional display form keeps the markup, never replaces the plain field
    assert r.extra["title_html"].startswith("Loss of <i>foxq9</i> impairs CO<sub>2</sub>")


def test_c02_entities_decoded_once(cases_dir):
    by_pmid, _ = _records(cases_dir)
    r = by_pmid["90000202"]
    assert r.title == "Interferon-\u03b3 & IL-10 in Mus musculus: a pilot study."
    assert r.abstract == "Mice received 5 \u00b5g of antigen."
    assert "\u00b5" in r.abstract  # U+00B5 MICRO SIGN, as written (&#181;)
