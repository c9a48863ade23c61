"""Real files from the data mirror through the whole ingest path (marked `data`)."""
from __future__ import annotations

import pytest

from serendip.workbench import Workspace


@pytest.mark.data
def test_medline_sample_604_records_then_zero(mirror, tmp_path):
    ws = Workspace.init(tmp_path / "ws")
    sample = mirror / "medline" / "pubmed_sample.xml.gz"
    rep = ws.ingest([sample])
    assert (rep.ingested, rep.duplicates, rep.failed) == (604, 0, 0)
    recs = [r for _, r in ws.records()]
    assert len({r.pmid for r in recs}) == 604
    assert sum(1 for r in recs if r.authors) == 603
    assert sum(1 for r in recs if any(a.affiliations for a in r.authors)) == 523
    assert sum(1 for r in recs if r.year) == 604
    assert sum(1 for r in recs if r.mesh_terms) == 550
    # MANIFEST counts 541 <Abstract> elements; PMID 30688251's is an empty <AbstractText/>: no text
    assert sum(1 for r in recs if r.abstract) == 540
    assert [r.pmid for r in recs if r.extra.get("abstract_empty")] == ["30688251"]
    again = ws.ingest([sample])
    assert (again.ingested, again.duplicates, again.failed) == (0, 604, 0)
    assert ws.count() == 604
    ws.close()


@pytest.mark.data
def test_export_formats_ingest_auto(mirror, tmp_path):
    ws = Workspace.init(tmp_path / "ws")
    counts = {}
    for name in ("sample.nbib", "sample.ris", "sample.bib"):
        rep = ws.ingest([mirror / "medline" / name])  # format sniffed
        counts[name] = rep.ingested + rep.duplicates
        assert rep.failed == 0, rep.errors
    assert counts == {"sample.nbib": 4, "sample.ris": 100, "sample.bib": 10}
    ws.close()
