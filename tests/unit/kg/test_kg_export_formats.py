"""``kg export --format``: every registered format is exercised (an entry without a case fails); GraphML
reads back with networkx to the same entities, edges and evidence as the JSON Lines export; the Neo4j
CSV files carry the ``neo4j-admin database import`` headers, typed values and RFC 4180 quoting; an
unknown format is a ConfigError listing the formats; a path that cannot be written is named."""
from __future__ import annotations

import csv
import json

import networkx as nx
import pytest
from kg_helpers import write_records
from lxml import etree
from sqlalchemy import update

from serendip.errors import ConfigError, DataError
from serendip.kg.build import build
from serendip.kg.export_formats import (
    EXPORT_FORMATS,
    NEO4J_NODE_HEADER,
    NEO4J_RELATIONSHIP_HEADER,
    export,
)
from serendip.kg.pubtator import read_pubtator
from serendip.kg.store import kg_entities


@pytest.fixture
def built(kg_ws, tmp_path, training):
    kg_ws.ingest([write_records(tmp_path / "r.jsonl")], fmt="jsonl")
    build(kg_ws, training=training)
    return kg_ws


def _jsonl(ws, tmp_path) -> list[dict]:
    export(ws.engine, tmp_path / "g.jsonl")
    return [json.loads(line) for line in (tmp_path / "g.jsonl").read_text(encoding="utf-8").splitlines()]


def _case_jsonl(ws, tmp_path):
    rep = export(ws.engine, tmp_path / "x.jsonl", "jsonl")
    assert (rep.format, rep.paths, rep.deleted_records) == ("jsonl", [tmp_path / "x.jsonl"], 0)
    assert rep.counts == {"entities": 9, "edges": 15, "evidence": 17}
    assert json.loads((tmp_path / "x.jsonl").read_text(encoding="utf-8").splitlines()[0])["format"] == "serendip-kg"


def _case_graphml(ws, tmp_path):
    lines = _jsonl(ws, tmp_path)
    rep = export(ws.engine, tmp_path / "g.graphml", "graphml")
    assert rep.counts == {"entities": 9, "edges": 15, "evidence": 17} and rep.paths == [tmp_path / "g.graphml"]
    g = nx.read_graphml(tmp_path / "g.graphml", force_multigraph=True, edge_key_type=str)
    assert (g.number_of_nodes(), g.number_of_edges()) == (9, 15)
    assert (g.graph["tagger"], g.graph["deleted_records"]) == ("dictionary", 0)
    for x in lines[1:]:
        if x["kind"] == "entity":
            want = {k: x[k] for k in ("name", "type", "mesh_id", "n_mentions", "n_records") if x[k] is not None}
            assert g.nodes[x["key"]] == want
            continue
        got = g.edges[x["source"], x["target"], x["type"]]
        assert {k: got[k] for k in ("type", "sentence_count", "abstract_count", "npmi", "score")} == \
            {k: x[k] for k in ("type", "sentence_count", "abstract_count", "npmi", "score")}
        assert json.loads(got["evidence"]) == x["evidence"]
        assert got["pmids"] == ";".join(sorted({ev["pmid"] for ev in x["evidence"]}))
    aspirin_headache = g.edges["Chemical:D001241", "Disease:D006261", "cooccurrence"]
    assert (aspirin_headache["sentence_count"], aspirin_headache["pmids"]) == (2, "9001")
    assert [ev["text"] for ev in json.loads(aspirin_headache["evidence"])] == [
        "Aspirin and headache in adults", "Aspirin relieved headache."]


def _csv(path) -> list[list[str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.reader(fh))


def _case_neo4j(ws, tmp_path):
    with ws.engine.begin() as conn:  # a name that needs quoting; an unresolved entity
        conn.execute(update(kg_entities).where(kg_entities.c.key == "Chemical:D001241").values(name='Aspirin, "ASA"'))
        conn.execute(update(kg_entities).where(kg_entities.c.key == "Disease:D014839").values(mesh_id=None))
    rep = export(ws.engine, tmp_path / "neo", "neo4j-csv")
    folder = tmp_path / "neo"
    assert rep.paths == [folder / "nodes.csv", folder / "relationships.csv"]
    assert rep.counts == {"entities": 9, "edges": 15, "evidence": 17}
    nodes, rels = _csv(folder / "nodes.csv"), _csv(folder / "relationships.csv")
    assert nodes[0] == ["entityId:ID", "name", ":LABEL", "type", "mesh_id", "n_mentions:int", "n_records:int"]
    assert tuple(nodes[0]) == NEO4J_NODE_HEADER and tuple(rels[0]) == NEO4J_RELATIONSHIP_HEADER
    assert rels[0] == [":START_ID", ":END_ID", ":TYPE", "sentence_count:int", "abstract_count:int", "npmi:double",
                       "score:double", "pmids:string[]"]
    assert (len(nodes), len(rels)) == (10, 16)
    assert ["Chemical:D001241", 'Aspirin, "ASA"', "Entity;Chemical", "Chemical", "D001241", "3", "1"] in nodes
    assert '"Aspirin, ""ASA"""' in (folder / "nodes.csv").read_text(encoding="utf-8")  # RFC 4180: quote doubled
    assert ["Disease:D014839", "vomiting", "Entity;Disease", "Disease", "", "1", "1"] in nodes  # empty: no property
    assert ["Chemical:D001241", "Disease:D006261", "COOCCURRENCE", "2", "1", "1.0", "1.0", "9001"] in rels
    ids = {row[0] for row in nodes[1:]}
    assert all(row[0] in ids and row[1] in ids and row[2] == "COOCCURRENCE" for row in rels[1:])
    levodopa_nausea = next(r for r in rels if {r[0], r[1]} == {"Chemical:D007980", "Disease:D009325"})
    assert levodopa_nausea[3:5] == ["1", "1"] and levodopa_nausea[7] == "9002"
    assert float(levodopa_nausea[5]) == pytest.approx(float(levodopa_nausea[6]))
    (tmp_path / "file").write_text("x", encoding="utf-8")
    with pytest.raises(DataError, match=r"neo4j-csv writes a folder .* is a file; give a folder name"):
        export(ws.engine, tmp_path / "file", "neo4j-csv")


def _case_pubtator(ws, tmp_path):
    rep = export(ws.engine, tmp_path / "g.pubtator", "pubtator")
    docs = read_pubtator(tmp_path / "g.pubtator")
    assert [d.pmid for d in docs] == ["9001", "9002", "9003"] and sum(len(d.mentions) for d in docs) == 19
    assert rep.counts == {"documents": 3, "mentions": 19, "relations": 0, "flattened": 0}


def _case_bioc(ws, tmp_path):
    rep = export(ws.engine, tmp_path / "g.xml", "bioc")
    root = etree.parse(str(tmp_path / "g.xml")).getroot()
    assert root.tag == "collection" and root.findtext("source") == "Serendip"
    assert [d.findtext("id") for d in root.iter("document")] == ["9001", "9002", "9003"]
    assert len(list(root.iter("annotation"))) == 19 == rep.counts["mentions"]


FORMAT_CASES = {"jsonl": _case_jsonl, "graphml": _case_graphml, "neo4j-csv": _case_neo4j, "pubtator": _case_pubtator,
                "bioc": _case_bioc}


@pytest.mark.parametrize("name", EXPORT_FORMATS.keys())
def test_every_registered_format_has_a_case(name, built, tmp_path):
    if name not in FORMAT_CASES:
        pytest.fail(f"no test case for kg export format {name}")
    FORMAT_CASES[name](built, tmp_path)


def test_unknown_format_and_unwritable_paths(built, tmp_path):
    with pytest.raises(ConfigError, match="unknown kg export format 'csv'; expected one of: bioc, graphml, jsonl, "
                                          "neo4j-csv, pubtator"):
        export(built.engine, tmp_path / "g.csv", "csv")
    assert export(built.engine, tmp_path / "G.GraphML", "GraphML").format == "graphml"  # any case
    missing = tmp_path / "nowhere" / "g.graphml"
    for fmt in ("graphml", "neo4j-csv", "pubtator", "bioc"):
        with pytest.raises(DataError, match=f"cannot write {missing}: folder {missing.parent} does not exist"):
            export(built.engine, missing, fmt)
    with pytest.raises(DataError, match="it is a folder"):
        export(built.engine, tmp_path, "graphml")
    assert not list(tmp_path.glob(".*.tmp"))
