"""``serendip kg export --format``: each format's line, the default (JSON Lines) unchanged, an unknown
format a one-line usage error listing the formats (exit 2), the formats listed in ``--help``, and the
deleted-records warning for the document formats."""
from __future__ import annotations

import pytest
from kg_helpers import cli_workspace, flat
from sqlalchemy import delete
from typer.testing import CliRunner

from serendip.cli.app import app
from serendip.kg.pubtator import read_pubtator
from serendip.workbench import Workspace
from serendip.workspace.schema import records

runner = CliRunner()



@pytest.fixture
def ws(tmp_path):
    return cli_workspace(tmp_path, build=True)


def test_export_formats(ws, tmp_path):
    for fmt, name, line in [
            (None, "g.jsonl", "exported 9 entities and 15 edges (17 evidence rows) to {path}"),
            ("graphml", "g.graphml", "exported 9 entities and 15 edges (17 evidence rows) to {path} as graphml"),
            ("neo4j-csv", "neo", "exported 9 entities and 15 edges (17 evidence rows) to {path} as neo4j-csv"),
            ("pubtator", "g.txt", "exported 3 documents (19 mentions, 0 CID relations) to {path} as pubtator"),
            ("BioC", "g.xml", "exported 3 documents (19 mentions, 0 CID relations) to {path} as bioc")]:
        path = tmp_path / name
        r = runner.invoke(app, ["kg", "export", str(path), "-w", str(ws), *(["--format", fmt] if fmt else [])])
        assert r.exit_code == 0, r.output
        assert flat(r.output) == line.format(path=path)
    assert sorted(p.name for p in (tmp_path / "neo").iterdir()) == ["nodes.csv", "relationships.csv"]
    assert len(read_pubtator(tmp_path / "g.txt")) == 3


def test_unknown_format_is_a_usage_error(ws, tmp_path):
    r = runner.invoke(app, ["kg", "export", str(tmp_path / "g.csv"), "--format", "csv", "-w", str(ws)])
    assert r.exit_code == 2 and r.output.strip().splitlines() == [
        "error: unknown kg export format 'csv'; expected one of: bioc, graphml, jsonl, neo4j-csv, pubtator"]
    assert not (tmp_path / "g.csv").exists()
    r = runner.invoke(app, ["kg", "export", "--help"])
    assert r.exit_code == 0 and "kg export [OPTIONS] FILE" in r.output
    assert all(f"{name}:" in flat(r.output) for name in ("jsonl", "graphml", "neo4j-csv", "pubtator", "bioc"))


def test_document_formats_warn_of_deleted_records(ws, tmp_path):
    w = Workspace.open(ws)
    with w.engine.begin() as conn:
        conn.execute(delete(records).where(records.c.pmid == "9001"))
    w.close()
    r = runner.invoke(app, ["kg", "export", str(tmp_path / "g.txt"), "--format", "pubtator", "-w", str(ws)])
    assert r.exit_code == 0, r.output
    assert "warning: 1 record was deleted from the workspace since the last `serendip kg build`" in flat(r.output)
    assert "exported 2 documents (12 mentions, 0 CID relations)" in flat(r.output)
    assert [d.pmid for d in read_pubtator(tmp_path / "g.txt")] == ["9002", "9003"]


def test_existing_outputs_are_replaced_only_with_force(ws, tmp_path):
    neo, jsonl = tmp_path / "neo", tmp_path / "g.jsonl"
    for path, fmt, message in [
            (neo, "neo4j-csv", f"error: {neo} already holds nodes.csv and relationships.csv: add --force to replace "
                               "them, or give another folder"),
            (jsonl, "jsonl", f"error: {jsonl} already exists: add --force to replace it, or give another file name")]:
        args = ["kg", "export", str(path), "--format", fmt, "-w", str(ws)]
        assert runner.invoke(app, args).exit_code == 0
        target = path / "nodes.csv" if fmt == "neo4j-csv" else path
        target.write_text("mine\n", encoding="utf-8")
        r = runner.invoke(app, args)
        assert r.exit_code == 2 and flat(r.output) == message
        assert target.read_text(encoding="utf-8") == "mine\n"  # untouched
        r = runner.invoke(app, args + ["--force"])
        assert r.exit_code == 0 and target.read_text(encoding="utf-8").startswith(
            "entityId:ID" if fmt == "neo4j-csv" else '{"kind": "graph"')
    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.txt").write_text("x", encoding="utf-8")  # a folder without the two files: written into
    r = runner.invoke(app, ["kg", "export", str(other), "--format", "neo4j-csv", "-w", str(ws)])
    assert r.exit_code == 0 and sorted(p.name for p in other.iterdir()) == ["nodes.csv", "notes.txt", "relationships.csv"]
