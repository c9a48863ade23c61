"""Records deleted from the workspace after ``kg build`` (a PubMed ``<DeleteCitation>``, or any removal):
until the next build their evidence is left out of paths, the loaded graph (so discovery) and exports,
an edge whose evidence is all gone disappears, the counts of an edge that keeps some evidence drop, and
the number of such records is reported; a new record given a deleted record's id (SQLite reuses the
highest rowid) does not bring the old evidence back. On SQLite and PostgreSQL."""
from __future__ import annotations

import json

import pytest
from kg_helpers import RECORDS, write_records
from sqlalchemy import delete, select

from serendip.kg.build import build
from serendip.kg.exchange import export_graph, import_graph
from serendip.kg.query import load_graph, paths
from serendip.kg.store import deleted_records, deleted_warning
from serendip.workbench import Workspace
from serendip.workspace.schema import records

#: a fourth record: Morphine–Nausea then has evidence in two records (9003 and 9004)
EXTRA = {"id": "r4", "pmid": "9004", "title": "Nausea after morphine", "abstract": "Morphine caused nausea."}


@pytest.fixture
def built(kg_ws, tmp_path, training):
    kg_ws.ingest([write_records(tmp_path / "r.jsonl", [*RECORDS, EXTRA])], fmt="jsonl")
    build(kg_ws, training=training)
    return kg_ws


def _delete(ws, pmids) -> None:
    with ws.engine.begin() as conn:
        conn.execute(delete(records).where(records.c.pmid.in_(pmids)))


def _pmids(g) -> set[str]:
    return {p for _, _, d in g.edges(data=True) for p in d["pmids"]}


def test_deleted_records_evidence_is_left_out_of_paths_and_graph(built, training):
    before = load_graph(built.engine)
    assert paths(built.engine, "aspirin", "D006261").direct is not None
    mn = before.edges["Chemical:D009020", "Disease:D009325"]
    assert (mn["count"], mn["pmids"]) == (2, ["9003", "9004"])
    with built.engine.connect() as conn:
        assert deleted_records(conn) == 0
    _delete(built, ["9001", "9004"])

    res = paths(built.engine, "aspirin", "D006261", evidence=5)
    assert res.direct is None and res.paths == [] and res.deleted_records == 2
    assert res.to_dict()["deleted_records"] == 2
    assert paths(built.engine, "levodopa", "aspirin").paths == []  # its only path ran through 9001
    g = load_graph(built.engine)
    assert "9001" not in _pmids(g) and "9004" not in _pmids(g)
    assert not g.has_edge("Chemical:D001241", "Disease:D006261")
    assert g.number_of_edges() == before.number_of_edges() - 6  # the six pairs of 9001's four entities
    mn = g.edges["Chemical:D009020", "Disease:D009325"]
    assert (mn["count"], mn["sentence_count"], mn["pmids"]) == (1, 1, ["9003"])
    kept = paths(built.engine, "morphine", "nausea", evidence=5).direct
    assert kept["n_evidence"] == 1 and {ev["pmid"] for ev in kept["evidence"]} == {"9003"}
    assert kept["abstract_count"] == 1
    assert deleted_warning(2).startswith("2 records were deleted from the workspace since the last `serendip kg build`")

    rep = build(built, training=training)  # the next build removes their rows: nothing left to leave out
    assert rep.records_removed == 2
    with built.engine.connect() as conn:
        assert deleted_records(conn) == 0
    assert _pmids(load_graph(built.engine)) == _pmids(g)


def test_a_reused_record_id_and_the_export_leave_deleted_evidence_out(built, tmp_path):
    with built.engine.connect() as conn:
        rid = conn.execute(select(records.c.id).where(records.c.pmid == "9004")).scalar_one()
    _delete(built, ["9004"])
    new = {"id": "r5", "pmid": "9005", "title": "Unrelated", "abstract": "Nothing tagged here."}
    built.ingest([write_records(tmp_path / "new.jsonl", [new])], fmt="jsonl")
    with built.engine.connect() as conn:
        ids = dict(conn.execute(select(records.c.pmid, records.c.id)).all())
        assert ids["9005"] >= rid and "9004" not in ids  # SQLite: the same id; PostgreSQL: the next one
        assert deleted_records(conn) == 1
    g = load_graph(built.engine)
    assert "9004" not in _pmids(g) and g.edges["Chemical:D009020", "Disease:D009325"]["pmids"] == ["9003"]

    path = tmp_path / "g.jsonl"
    written = export_graph(built.engine, path)
    lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert written["deleted_records"] == 1 and lines[0]["left_out"]["deleted_records"] == 1
    assert all(ev["pmid"] != "9004" for x in lines if x["kind"] == "edge" for ev in x["evidence"])
    assert written["edges"] == g.number_of_edges() == lines[0]["counts"]["edges"]
    mn = next(x for x in lines if x["kind"] == "edge" and {x["source"], x["target"]} == {"Chemical:D009020", "Disease:D009325"})
    assert (mn["abstract_count"], mn["sentence_count"]) == (1, 1)
    other = Workspace.init(tmp_path / "other")
    rep = import_graph(other, path)  # the header's counts match the lines written
    assert (rep.edges, rep.evidence, rep.issues) == (written["edges"], written["evidence"], [])
    other.close()
