"""Three exports (RIS, BibTeX, MEDLINE) of the same three papers, ingested in all six orders: the
same stored records, each with the union of the fields and every source listed (issue 13)."""
from __future__ import annotations

import itertools
import shutil
from pathlib import Path

import pytest

from serendip.workbench import Workspace

FIXTURES = Path(__file__).parents[1] / "fixtures" / "dedupe"
EXPORTS = ("papers.ris", "papers.bib", "papers.nbib")


@pytest.fixture(scope="module")
def exports(tmp_path_factory):
    folder = tmp_path_factory.mktemp("exports")
    return [shutil.copy(FIXTURES / name, folder / name) for name in EXPORTS]


def _stored(tmp_path: Path, files: list[str]) -> tuple[list[dict], list]:
    ws = Workspace.init(tmp_path)
    try:
        reports = [ws.ingest([f]) for f in files]
        return sorted((r.to_dict() for _, r in ws.records()), key=lambda d: d["pmid"]), reports
    finally:
        ws.close()


def test_every_order_stores_the_same_merged_records(exports, tmp_path):
    results = {}
    for n, order in enumerate(itertools.permutations(exports)):
        stored, reports = _stored(tmp_path / f"ws{n}", list(order))
        assert [r.ingested for r in reports] == [3, 0, 0], order
        assert [r.duplicates for r in reports] == [0, 3, 3], order
        assert all(r.failed == 0 for r in reports)
        results[order] = stored
    first = next(iter(results.values()))
    for order, stored in results.items():
        assert stored == first, f"order {[Path(p).suffix for p in order]} stored other records"

    crispr, vitd, gut = first  # by PMID
    for rec in first:
        assert sorted(Path(s["file"]).name for s in rec["sources"]) == sorted(EXPORTS)
        assert rec["pmid"] and rec["doi"] and rec["abstract_sections"] and rec["mesh_terms"]
        assert [h["descriptor"] for h in rec["mesh_headings"]] == rec["mesh_terms"]  # flags kept too
    # union of fields: PMID, abstract and MeSH from MEDLINE, keywords from RIS and BibTeX
    assert vitd["pmid"] == "31000001" and vitd["doi"] == "10.5555/vitd.2019.1"
    assert {k.casefold() for k in vitd["keywords"]} == {"vitamin d", "fractures", "bone density"}
    assert "Vitamin D" in vitd["mesh_terms"] and "Aged" in vitd["mesh_terms"]
    assert vitd["authors"][0]["given"] == "John"
    assert vitd["authors"][0]["affiliations"] == ["Department of Medicine, Invented University, Oslo, Norway."]
    # the RIS without a DOI joined by title, year and first author; gets DOI and PMID
    assert gut["doi"] == "10.5555/gut.2020.7" and gut["pmid"] == "32000002"
    assert crispr["keywords"] == ["genome editing"]
    # conflicting values: the longer (or more structured) abstract wins, the other is kept as an alternative;
    # the abbreviated journal name is kept beside the full one
    assert gut["abstract_sections"][0]["text"].startswith("BACKGROUND: Gut bacteria differ")
    assert [a[0]["text"] for a in gut["alternatives"]["abstract_sections"]] == [
        "Short abstract from the publisher site."]
    assert vitd["journal"] == "Journal of Bone and Mineral Research"
    assert vitd["alternatives"]["journal"] == ["J Bone Miner Res"]


def test_conflicts_are_reported(exports, tmp_path):
    _, reports = _stored(tmp_path / "ws", [exports[0], exports[2]])  # RIS, then MEDLINE
    lines = reports[1].conflicts
    assert reports[1].merged == 3
    assert any("abstract_sections kept 'BACKGROUND" in x or "abstract_sections kept 'Gut bacteria" in x
               for x in lines), lines
    assert any("journal" in x and "J Bone Miner Res" in x for x in lines), lines
    assert all("papers.nbib" in x for x in lines)
    assert "merged into stored records" in reports[1].summary()


def test_ingesting_a_file_again_changes_nothing(exports, tmp_path):
    ws = Workspace.init(tmp_path / "ws")
    try:
        ws.ingest(exports)
        before = [r.to_dict() for _, r in ws.records()]
        again = ws.ingest(exports)
        assert (again.ingested, again.duplicates, again.merged, again.conflicts) == (0, 9, 0, [])
        assert [r.to_dict() for _, r in ws.records()] == before
    finally:
        ws.close()


def test_a_record_stored_before_merging_existed_is_merged(exports, tmp_path):
    """Rows stored before migration 0003 have no sources list and no first author or page."""
    from sqlalchemy import select, update

    from serendip.workspace.schema import records

    ws = Workspace.init(tmp_path / "ws")
    try:
        ws.ingest([exports[0]])  # RIS
        with ws.engine.begin() as conn:
            for rid, data in conn.execute(select(records.c.id, records.c.data)).all():
                data = {k: v for k, v in data.items() if k not in ("sources", "alternatives")}
                conn.execute(update(records).where(records.c.id == rid).values(
                    data=data, first_author=None, first_page=None))
        rep = ws.ingest([exports[2]])  # MEDLINE
        assert (rep.ingested, rep.duplicates, rep.merged) == (0, 3, 3)
        for _, rec in ws.records():
            assert sorted(Path(s["file"]).name for s in rec.sources) == ["papers.nbib", "papers.ris"]
            assert rec.pmid and rec.mesh_terms
    finally:
        ws.close()
