"""``kg export`` / ``kg import``: an export re-imports into another workspace to the same counts and the
same entities, edges and evidence; evidence is linked to the records there by PMID; bad lines are
skipped and reported with file and line, the rest imported; a graph is never merged by accident."""
from __future__ import annotations

import json

import pytest
from kg_helpers import RECORDS, graph_state, write_records

from serendip.errors import ConfigError, GraphNotBuilt, ParseError
from serendip.kg.build import build
from serendip.kg.exchange import export_graph, import_graph
from serendip.kg.store import graph_counts
from serendip.workbench import Workspace


@pytest.fixture
def built(kg_ws, tmp_path, training):
    kg_ws.ingest([write_records(tmp_path / "r.jsonl")], fmt="jsonl")
    build(kg_ws, training=training)
    return kg_ws


def test_export_reimports_to_the_same_graph(built, tmp_path):
    path = tmp_path / "graph.jsonl"
    written = export_graph(built.engine, path)
    lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert lines[0]["kind"] == "graph" and lines[0]["tagger"] == "dictionary"
    assert [x["kind"] for x in lines[1:]] == ["entity"] * 9 + ["edge"] * 15
    other = Workspace.init(tmp_path / "other")
    rep = import_graph(other, path)
    assert (rep.entities, rep.edges, rep.evidence, rep.linked, rep.issues) == (9, 15, 17, 0, [])
    before, after = graph_counts(built.engine), graph_counts(other.engine)
    assert written == {k: before[k] for k in ("entities", "edges", "evidence")}
    assert {k: after[k] for k in written} == written and after["mentions"] == 0
    assert graph_state(other.engine, mentions=False) == graph_state(built.engine, mentions=False)
    with pytest.raises(ConfigError, match="already holds a knowledge graph"):
        import_graph(other, path)
    assert import_graph(other, path, replace=True).edges == 15
    other.close()


def test_evidence_is_linked_to_the_same_records_by_pmid(built, tmp_path):
    path = tmp_path / "graph.jsonl"
    export_graph(built.engine, path)
    other = Workspace.init(tmp_path / "other")
    other.ingest([write_records(tmp_path / "some.jsonl", RECORDS[1:])], fmt="jsonl")
    rep = import_graph(other, path)
    assert 0 < rep.linked < rep.evidence  # PMIDs 9002 and 9003 are here, 9001 is not
    assert graph_state(other.engine, mentions=False)["evidence"] == graph_state(built.engine, mentions=False)["evidence"]
    other.close()


def test_bad_lines_are_skipped_and_reported(built, tmp_path):
    path = tmp_path / "graph.jsonl"
    export_graph(built.engine, path)
    lines = path.read_text(encoding="utf-8").splitlines()
    edge = json.loads(lines[-1])
    lines[1] = lines[1][:-5]  # the first entity: broken JSON
    lines.insert(3, json.dumps({"kind": "entity", "key": "X", "type": "Chemical", "mesh_id": None, "name": "x",
                                "n_mentions": -1, "n_records": 0}))
    lines.append(json.dumps({**edge, "source": "Chemical:D999999"}))
    lines.append(json.dumps(edge))  # the same edge twice
    bad = tmp_path / "bad.jsonl"
    bad.write_text("\n".join(lines) + "\n", encoding="utf-8")
    other = Workspace.init(tmp_path / "other")
    rep = import_graph(other, bad)
    assert [(i.line, i.file) for i in rep.issues][:2] == [(2, str(bad)), (4, str(bad))]
    assert "n_mentions -1 is not a whole number" in rep.issues[1].reason
    assert "'Chemical:D999999' is not given before this edge" in rep.issues[-2].reason
    assert "given twice" in rep.issues[-1].reason
    dropped = json.loads(path.read_text(encoding="utf-8").splitlines()[1])["key"]
    n_edges = sum(1 for line in lines[1:] if '"kind": "edge"' in line) - 2
    touching = sum(1 for line in lines[1:] if '"kind": "edge"' in line and f'"{dropped}"' in line)
    assert (rep.entities, rep.edges) == (8, n_edges - touching)
    assert len(rep.issues) == 4 + touching  # and each edge of the dropped entity, named
    other.close()


def test_not_an_export_and_no_graph(kg_ws, tmp_path):
    bad = tmp_path / "x.jsonl"
    bad.write_text('{"kind": "entity"}\n', encoding="utf-8")
    with pytest.raises(ParseError, match=r"x.jsonl, line 1: not a Serendip knowledge-graph export"):
        import_graph(kg_ws, bad)
    with pytest.raises(GraphNotBuilt, match="run `serendip kg build`"):
        export_graph(kg_ws.engine, tmp_path / "out.jsonl")
    assert not (tmp_path / "out.jsonl").exists()
