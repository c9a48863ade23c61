"""Queries on a built graph: entities by MeSH id, Type:id, key or name (entity names, then mention
surface forms), the graph as networkx, and paths with each edge's evidence sentences and PMIDs; an
unknown entity and a workspace without a graph are one-line errors that say what to do."""
from __future__ import annotations

import pytest
from kg_helpers import write_records

from serendip.errors import DataError, GraphNotBuilt
from serendip.kg.build import build
from serendip.kg.query import close_matches, find_entity, load_graph, paths


@pytest.fixture
def built(kg_ws, tmp_path, training):
    kg_ws.ingest([write_records(tmp_path / "r.jsonl")], fmt="jsonl")
    build(kg_ws, training=training)
    return kg_ws


def test_find_entity_by_id_key_and_name(built):
    e = built.engine
    aspirin = find_entity(e, "D001241")
    assert (aspirin.key, aspirin.name, aspirin.n_mentions, aspirin.n_records) == ("Chemical:D001241", "Aspirin", 3, 1)
    assert find_entity(e, "Chemical:D001241") == aspirin == find_entity(e, "aspirin") == find_entity(e, " ASPIRIN ")
    assert find_entity(e, "Parkinson disease").mesh_id == "D010300"  # normal form of "Parkinson's disease"
    assert find_entity(e, "PD").mesh_id == "D010300"  # a mention's surface form
    assert find_entity(e, "Disease:nausea").mesh_id == "D009325"
    with pytest.raises(DataError, match=r"entity 'warfarin' is not in the knowledge graph \(9 entities\)"):
        find_entity(e, "warfarin")
    with pytest.raises(DataError, match="'Chemical:nausea' is not in"):
        find_entity(e, "Chemical:nausea")


def test_paths_carry_evidence_sentences_and_pmids(built):
    res = paths(built.engine, "aspirin", "levodopa", k=5, evidence=2)
    assert res.direct is None  # never in one record
    assert [[n["name"] for n in p["nodes"]] for p in res.paths] == [["Aspirin", "Nausea", "levodopa"]]
    first, second = res.paths[0]["edges"]
    assert (first["source_name"], first["target_name"], first["abstract_count"]) == ("Aspirin", "Nausea", 1)
    assert first["evidence"] == [{"record_id": 1, "pmid": "9001", "source_id": "jsonl:r1", "sentence": None, "field": None, "char_start": None,
                                  "char_end": None, "text": None, "title": "Aspirin and headache in adults"}]
    assert second["sentence_count"] == 1 and second["evidence"][0]["text"] == "Nausea occurred with levodopa."
    assert second["evidence"][0]["pmid"] == "9002" and second["evidence"][0]["sentence"] == 2
    linked = paths(built.engine, "D001241", "headache", evidence=1)
    assert linked.direct["sentence_count"] == 2 and linked.direct["n_evidence"] == 2
    assert [ev["text"] for ev in linked.direct["evidence"]] == ["Aspirin and headache in adults"]
    assert linked.to_dict()["linked"] is True
    with pytest.raises(DataError, match="name the same entity"):
        paths(built.engine, "aspirin", "D001241")


def test_load_graph_whole_and_around(built):
    g = load_graph(built.engine)
    assert g.number_of_nodes() == 9 and g.number_of_edges() == 15 and g.graph == {}
    d = g.edges["Chemical:D001241", "Disease:D006261"]
    assert (d["count"], d["sentence_count"], d["npmi"], d["pmids"]) == (1, 2, 1.0, ["9001"])
    around = load_graph(built.engine, around=[find_entity(built.engine, "levodopa").id])
    assert set(around.nodes) == {"Chemical:D007980", "Disease:D010300", "Disease:D009325"}


def test_no_graph_yet_says_to_build(kg_ws):
    with pytest.raises(GraphNotBuilt, match="no knowledge graph yet: run `serendip kg build`"):
        paths(kg_ws.engine, "aspirin", "nausea")


def test_close_matches_name_near_entities(built):
    e = built.engine
    assert [x.name for x in close_matches(e, "ibuprofin")] == ["Ibuprofen"]
    assert [x.mesh_id for x in close_matches(e, "Parkinsons diseas")] == ["D010300"]
    assert close_matches(e, "warfarin") == [] and close_matches(e, "  ") == []
    with pytest.raises(DataError, match=r"'levodpa' is not in .* close: levodopa \(D007980, Chemical\)$"):
        find_entity(e, "levodpa")
