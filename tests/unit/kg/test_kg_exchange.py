"""``kg export`` / ``kg import``: an export re-imports into another workspace to the same counts and the
same entities, edges and evidence; evidence is linked to the records there by PMID; bad lines are
skipped and reported with file and line, the rest imported; a file cut short (fewer lines than its
header counts, or a last line without its line break) changes nothing; a graph is never merged by
accident; a path that cannot be read or written is named in one line."""
from __future__ import annotations

import json

import pytest
from kg_helpers import RECORDS, graph_state, write_records

from serendip.errors import ConfigError, DataError, GraphNotBuilt, ParseError
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
    assert written == {**{k: before[k] for k in ("entities", "edges", "evidence")}, "deleted_records": 0}
    assert {k: after[k] for k in ("entities", "edges", "evidence")} == {k: before[k] for k in ("entities", "edges", "evidence")}
    assert after["mentions"] == 0 and lines[0]["left_out"] == {"deleted_records": 0, "edges": 0, "evidence": 0}
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
    head = json.loads(lines[0])  # a whole file (not cut short): its header counts every line written
    head["counts"].update(entities=head["counts"]["entities"] + 1, edges=head["counts"]["edges"] + 2)
    lines[0] = json.dumps(head)
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


@pytest.mark.parametrize("cut", ["lines", "bytes"])
def test_a_file_cut_short_changes_nothing(built, tmp_path, cut):
    path = tmp_path / "graph.jsonl"
    export_graph(built.engine, path)
    data = path.read_bytes()
    lines = data.decode("utf-8").splitlines(keepends=True)
    cut_file = tmp_path / "cut.jsonl"
    # cut at a line break (three edges lost), or in the middle of the last edge's line
    cut_file.write_bytes("".join(lines[:-3]).encode() if cut == "lines" else data[:-40])
    before = graph_state(built.engine, mentions=False)
    line = len(lines) - 3 if cut == "lines" else len(lines)
    message = (rf"holds 9 entity and 12 edge lines \(it ends at line {line}\)" if cut == "lines"
               else r"its last line is incomplete")
    with pytest.raises(ParseError, match=rf"cut.jsonl, line {line}: the file is cut short: .*{message}.*nothing imported"):
        import_graph(built, cut_file, replace=True)  # checked before the graph here is removed
    assert graph_state(built.engine, mentions=False) == before
    other = Workspace.init(tmp_path / "other")
    with pytest.raises(ParseError, match="cut short"):
        import_graph(other, cut_file)
    assert graph_counts(other.engine) == {"records": 0, "entities": 0, "mentions": 0, "edges": 0, "evidence": 0}
    other.close()


def test_header_without_counts_is_refused(kg_ws, tmp_path):
    bad = tmp_path / "x.jsonl"
    bad.write_text('{"kind": "graph", "format": "serendip-kg", "version": 1}\n', encoding="utf-8")
    with pytest.raises(ParseError, match=r"x.jsonl, line 1: the header does not record the entity and edge counts"):
        import_graph(kg_ws, bad)


def test_paths_that_cannot_be_read_or_written_are_named(built, tmp_path):
    missing = tmp_path / "nowhere" / "graph.jsonl"
    with pytest.raises(DataError, match=rf"^cannot read {missing}: no such file$"):
        import_graph(built, missing)
    with pytest.raises(DataError, match=rf"^cannot read {tmp_path}: "):
        import_graph(built, tmp_path)
    with pytest.raises(DataError, match=rf"^cannot write {missing}: folder {missing.parent} does not exist$"):
        export_graph(built.engine, missing)
    with pytest.raises(DataError, match=rf"^cannot write {tmp_path}: it is a folder"):
        export_graph(built.engine, tmp_path)
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        with open(locked / "probe", "w"):
            pytest.skip("this user can write into a read-only folder (root)")
    except PermissionError:
        pass
    try:
        with pytest.raises(DataError, match=rf"^cannot write {locked / 'g.jsonl'}: permission denied$"):
            export_graph(built.engine, locked / "g.jsonl")
        assert list(locked.iterdir()) == []  # no temporary file left behind
    finally:
        locked.chmod(0o755)


def test_empty_graph_says_why(kg_ws, tmp_path, training):
    with pytest.raises(GraphNotBuilt, match="holds no knowledge graph yet: run `serendip kg build`"):
        export_graph(kg_ws.engine, tmp_path / "g.jsonl")
    build(kg_ws, training=training)  # no records: the build reads nothing
    with pytest.raises(GraphNotBuilt, match=r"is empty: the workspace holds no records. Run `serendip ingest FILE` "
                                            r"first, then `serendip kg build`"):
        export_graph(kg_ws.engine, tmp_path / "g.jsonl")
    kg_ws.ingest([write_records(tmp_path / "r.jsonl", [{**RECORDS[0], "title": "Nothing here", "abstract": "Plain."}])],
                 fmt="jsonl")
    build(kg_ws, training=training)
    with pytest.raises(GraphNotBuilt, match=r"is empty: `serendip kg build` read 1 of its 1 records and found no "
                                            r"chemical or disease mention"):
        export_graph(kg_ws.engine, tmp_path / "g.jsonl")


@pytest.mark.parametrize("where", ["header", "middle", "last"])
def test_bytes_not_utf8_are_named_with_their_line(built, tmp_path, where):
    path = tmp_path / "graph.jsonl"
    export_graph(built.engine, path)
    lines = path.read_bytes().splitlines(keepends=True)
    n = {"header": 1, "middle": 12, "last": len(lines)}[where]
    assert len(lines) == 25 and path.stat().st_size < 8192  # one read buffer: the old message said line 1
    col = lines[n - 1].index(b'"kind"') + 2
    lines[n - 1] = lines[n - 1].replace(b'"kind"', b'"\xffkind"', 1)
    bad = tmp_path / "bad.jsonl"
    bad.write_bytes(b"".join(lines))
    before = graph_state(built.engine, mentions=False)
    with pytest.raises(ParseError) as exc:
        import_graph(built, bad, replace=True)
    assert str(exc.value) == f"{bad}, line {n}: not UTF-8 text (byte 0xff at column {col}); nothing imported"
    assert graph_state(built.engine, mentions=False) == before
