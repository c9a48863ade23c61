"""C04: every AffiliationInfo of an author, in order; ORCID normalised; no inherited affiliation."""
from __future__ import annotations

from serendip.literature.readers import get_reader
from serendip.literature.record import Record


def test_c04_affiliations_and_orcid(cases_dir):
    path = cases_dir / "C04_pubmed-multi-affiliation-orcid" / "multi_affiliation.xml"
    out = list(get_reader("auto", path).read(path))
    assert len(out) == 1 and isinstance(out[0], Record)
    authors = out[0].authors
    assert len(authors) == 3
    a0, a1, a2 = authors
    assert (a0.family, a0.given, a0.orcid) == ("Ferreira-Nakamura", "Ilse", "0000-0002-1825-0097")
    assert a0.affiliations == [
        "Department of Invented Physiology, Example University, Springfield, Freedonia.",
        "Centre for Sleep Studies, Example Institute, Shelbyville, Freedonia.",
    ]
    assert (a1.family, a1.given, a1.orcid) == ("Mbeki-Holt", "Arno", "0000-0003-4512-7745")
    assert a1.affiliations == [
        "Research & Development Unit, Sample Hospital, Ogdenville, Freedonia. "
        "arno.example@example.org."
    ]
    assert "&amp;" not in a1.affiliations[0]
    assert (a2.family, a2.given, a2.orcid, a2.affiliations) == ("S\u00f8rensen", "Mads", None, [])
    for a in authors:
        assert a.orcid is None or (len(a.orcid) == 19 and not a.orcid.startswith("http"))
