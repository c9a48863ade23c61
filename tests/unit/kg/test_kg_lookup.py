"""One entity of a built graph: shown with its surface forms, example sentences and edge count; its
neighbours ranked by NPMI or records with their evidence; open discovery whose predictions are not
linked yet and match the whole graph's answer while reading only the part around the entity; records
deleted since the build left out of all three. On SQLite and PostgreSQL."""
from __future__ import annotations

import pytest
from kg_helpers import RECORDS, write_records
from sqlalchemy import delete

from serendip.errors import ConfigError, DataError, GraphNotBuilt
from serendip.kg.build import build
from serendip.kg.discovery import open_discovery
from serendip.kg.lookup import LOCAL_SCORERS, discover, neighbours, show_entity
from serendip.kg.query import find_entity, load_graph
from serendip.workspace.schema import records

#: a fourth record: Headache then co-occurs with vomiting and PD (two hops from aspirin through headache)
EXTRA = {"id": "r4", "pmid": "9004", "title": "Headache with vomiting",
         "abstract": "Headache and vomiting were reported in PD."}


@pytest.fixture
def built(kg_ws, tmp_path, training):
    kg_ws.ingest([write_records(tmp_path / "r.jsonl", [*RECORDS, EXTRA])], fmt="jsonl")
    build(kg_ws, training=training)
    return kg_ws


def _names(rows) -> list[str]:
    return [r["name"] for r in rows]


def test_show_entity_forms_examples_and_edges(built):
    view = show_entity(built.engine, "D010300", examples=5)
    assert (view.entity.key, view.entity.n_mentions, view.entity.n_records) == ("Disease:D010300", 4, 2)
    assert view.forms == [{"text": "PD", "count": 2}, {"text": "Parkinson's disease", "count": 2}] and view.n_forms == 2
    assert [(x["pmid"], x["sentence"], x["mention"], x["text"]) for x in view.examples] == [
        ("9002", 0, "Parkinson's disease", "Levodopa for Parkinson's disease"),
        ("9004", 1, "PD", "Headache and vomiting were reported in PD.")]
    assert view.edges == {"cooccurrence": 4} and view.deleted_records == 0
    d = show_entity(built.engine, "nausea", forms=1, examples=1).to_dict()
    assert d["forms"] == [{"text": "Nausea", "count": 2}] and d["n_forms"] == 2
    assert [(x["pmid"], x["text"]) for x in d["examples"]] == [("9001", "Nausea was rare.")]
    assert d["entity"]["mesh_id"] == "D009325" and d["edges"] == {"cooccurrence": 8}


def test_neighbours_ranked_by_npmi_or_records_with_evidence(built):
    res = neighbours(built.engine, "headache", evidence=1)
    assert res.n_neighbours == 5 and _names(res.neighbours) == ["Aspirin", "Ibuprofen", "vomiting", "Parkinson's disease", "Nausea"]
    first = res.neighbours[0]["edge"]
    assert (first["abstract_count"], first["sentence_count"], first["npmi"], first["n_evidence"]) == (1, 2, 0.5, 2)
    assert [(ev["pmid"], ev["text"]) for ev in first["evidence"]] == [("9001", "Aspirin and headache in adults")]
    by_records = neighbours(built.engine, "headache", by="records", k=3)
    assert _names(by_records.neighbours) == ["Aspirin", "vomiting", "Parkinson's disease"] and by_records.n_neighbours == 5
    vomiting = by_records.neighbours[1]["edge"]
    assert [ev["text"] for ev in vomiting["evidence"]] == ["Headache with vomiting",
                                                           "Headache and vomiting were reported in PD."]
    chem = neighbours(built.engine, "nausea", types=["Chemical"], by="records")
    assert _names(chem.neighbours) == ["levodopa", "Morphine", "Aspirin", "Ibuprofen"]
    assert neighbours(built.engine, "nausea", min_records=2).n_neighbours == 0
    d = res.to_dict()
    assert d["entity"]["name"] == "Headache" and d["edge_type"] == "cooccurrence" and d["by"] == "npmi"
    assert d["neighbours"][2]["key"] == "Disease:D014839"


def test_neighbours_reject_bad_options(built):
    with pytest.raises(DataError, match="ranks by one of npmi, records, score; got 'pmi'"):
        neighbours(built.engine, "nausea", by="pmi")
    with pytest.raises(DataError, match="entity type 'gene' is not in the knowledge graph: expected one of "
                       "Chemical, Disease"):
        neighbours(built.engine, "nausea", types=["gene"])
    lower = neighbours(built.engine, "nausea", types=["chemical"])  # any case, as the graph stores it
    assert lower == neighbours(built.engine, "nausea", types=["Chemical"]) and lower.n_neighbours == 4
    with pytest.raises(DataError, match="cid edges have no NPMI"):
        neighbours(built.engine, "nausea", by="npmi", edge_type="cid")
    assert neighbours(built.engine, "nausea", by="NPMI") == neighbours(built.engine, "nausea", by="npmi")
    with pytest.raises(DataError, match="edge type 'cid' is not in the knowledge graph: expected one of cooccurrence"):
        neighbours(built.engine, "nausea", edge_type="cid")
    with pytest.raises(DataError, match=r"close: Aspirin \(D001241, Chemical\)"):
        neighbours(built.engine, "asprin")


def test_discover_predicts_unlinked_entities_as_the_whole_graph_does(built):
    res = discover(built.engine, "aspirin", k=3, evidence=1)
    assert res.scope == "local" and res.n_candidates == 5
    # resource allocation: PD and vomiting through headache (degree 5) and nausea (degree 8)
    assert [(p["name"], p["score"]) for p in res.predictions] == [("Parkinson's disease", 0.325), ("vomiting", 0.325),
                                                                 ("levodopa", 0.125)]
    whole = load_graph(built.engine)
    for p in res.predictions:
        assert not whole.has_edge("Chemical:D001241", p["key"])
    top = res.predictions[0]["paths"]
    assert [[n["name"] for n in path["nodes"]] for path in top] == [["Aspirin", "Headache", "Parkinson's disease"],
                                                                     ["Aspirin", "Nausea", "Parkinson's disease"]]
    hop = top[0]["edges"][1]
    assert (hop["source_name"], hop["target_name"]) == ("Headache", "Parkinson's disease")
    assert [(ev["pmid"], ev["text"]) for ev in hop["evidence"]] == [("9004", "Headache and vomiting were reported in PD.")]
    for scorer in sorted(LOCAL_SCORERS) + ["jaccard"]:
        got = discover(built.engine, "D001241", scorer=scorer, k=10, n_paths=1)
        want = open_discovery(whole, "Chemical:D001241", scorer=scorer, k=10, n_paths=1)
        assert [(p["key"], p["score"]) for p in got.predictions] == [(p.target, p.score) for p in want], scorer
    assert discover(built.engine, "aspirin", scorer="jaccard").scope == "whole"
    capital = discover(built.engine, "aspirin", scorer="Resource-Allocation", k=3, evidence=1)
    assert capital.scope == "local" and capital.scorer == "resource-allocation"   # any case is the same scorer
    assert capital.predictions == res.predictions
    with pytest.raises(ConfigError, match="'learned' needs a fitted model"):
        discover(built.engine, "aspirin", scorer="learned")
    with pytest.raises(ConfigError, match="unknown link scorer 'nope'"):
        discover(built.engine, "aspirin", scorer="nope")


def test_deleted_records_are_left_out(built):
    with built.engine.begin() as conn:
        conn.execute(delete(records).where(records.c.pmid == "9004"))
    view = show_entity(built.engine, "PD")
    assert view.forms == [{"text": "Parkinson's disease", "count": 2}, {"text": "PD", "count": 1}]
    assert [x["pmid"] for x in view.examples] == ["9002"] and view.edges == {"cooccurrence": 2}
    assert view.deleted_records == 1
    res = neighbours(built.engine, "headache")
    assert _names(res.neighbours) == ["Aspirin", "Ibuprofen", "Nausea"] and res.deleted_records == 1
    found = discover(built.engine, "aspirin")
    assert all(p["score"] == 0.125 for p in found.predictions) and found.deleted_records == 1
    assert "9004" not in repr(found.to_dict())


def test_no_graph_and_unknown_entity(kg_ws, built):
    with pytest.raises(DataError, match=r"entity 'warfarin' is not in the knowledge graph \(9 entities\)"):
        show_entity(built.engine, "warfarin")
    assert find_entity(built.engine, "PD").name == "Parkinson's disease"  # a name before its short form


def test_an_empty_workspace_has_no_graph(tmp_path):
    from serendip.workbench import Workspace

    ws = Workspace.init(tmp_path / "empty")
    try:
        with pytest.raises(GraphNotBuilt, match="holds no knowledge graph yet: run `serendip kg build`"):
            show_entity(ws.engine, "aspirin")
        with pytest.raises(GraphNotBuilt):
            discover(ws.engine, "aspirin")
    finally:
        ws.close()
