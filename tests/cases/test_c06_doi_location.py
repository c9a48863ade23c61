"""C06: DOI from the article's own ELocationID, then its ArticleIdList; never from cited references."""
from __future__ import annotations

from serendip.literature.readers import get_reader
from serendip.literature.record import Record


def test_c06_doi_locations(cases_dir):
    path = cases_dir / "C06_pubmed-doi-location" / "doi_locations.xml"
    out = list(get_reader("auto", path).read(path))
    assert len(out) == 3 and all(isinstance(x, Record) for x in out)
    assert [r.pmid for r in out] == ["90000601", "90000602", "90000603"]
    r1, r2, r3 = out
    assert r1.doi == "10.5555/s2213-0000(14)70019-0"
    assert r1.doi != "S2213-0000(14)70019-0".lower()
    assert r2.doi == "10.5555/inv.2003.0042" and r2.pmcid == "PMC7000002"
    assert r3.doi is None
    assert r3.pmid == "90000603"
