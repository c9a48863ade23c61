"""C05: year from MedlineDate / Season, not ArticleDate; MedlineCitationSet root; gzip input."""
from __future__ import annotations

import pytest

from serendip.literature.readers import get_reader
from serendip.literature.record import Record

FILES = ["dates.xml", "dates_medlinecitationset.xml.gz"]


def _records(cases_dir, name):
    path = cases_dir / "C05_pubmed-medlinedate-season" / name
    out = list(get_reader("auto", path).read(path))
    assert all(isinstance(x, Record) for x in out)
    return out


@pytest.mark.parametrize("name", FILES)
def test_c05_years(cases_dir, name):
    out = _records(cases_dir, name)
    assert len(out) == 4
    years = {r.pmid: r.year for r in out}
    assert years == {"90000501": 1998, "90000502": 2017, "90000503": 1990, "90000504": 2018}
    by_pmid = {r.pmid: r for r in out}
    assert by_pmid["90000501"].extra["pub_date_raw"] == "1998 Dec-1999 Jan"
    assert by_pmid["90000502"].extra["season"] == "Summer"  # kept as text, never as the year
    assert by_pmid["90000503"].extra["pub_date_raw"] == "Spring 1990"


def test_c05_gzip_medlinecitationset_pmids(cases_dir):
    out = _records(cases_dir, "dates_medlinecitationset.xml.gz")
    assert [r.pmid for r in out] == ["90000501", "90000502", "90000503", "90000504"]
