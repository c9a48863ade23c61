"""``serendip kg build | paths | export | import`` end to end: what each prints, exit codes, and one-line
errors (an unknown entity named; no graph yet: run `kg build`); the mirror's BC5CDR files as the
default lexicon (marked ``data``)."""
from __future__ import annotations

import json
import os
import signal
import time

import pytest
from kg_helpers import RECORDS, cli_workspace, flat, write_training
from typer.testing import CliRunner

from serendip.cli.app import app

runner = CliRunner()



@pytest.fixture
def ws(tmp_path):
    return cli_workspace(tmp_path)


def test_build_paths_export_import(ws, tmp_path):
    train = str(write_training(tmp_path))
    r = runner.invoke(app, ["kg", "build", "-w", str(ws), "--training", train])
    assert r.exit_code == 0, r.output
    out = flat(r.output)
    assert "kg build: 3 records read (19 mentions added)" in out and "docs/s overall (loading the tagger included; the bar's rate is tagging alone), tagger dictionary" in out
    assert "graph: 9 entities, 19 mentions, 15 edges (17 evidence rows) over 3 records" in out
    r = runner.invoke(app, ["kg", "build", "-w", str(ws), "--training", train, "--json"])
    assert r.exit_code == 0 and json.loads(r.stdout)["records_read"] == 0
    r = runner.invoke(app, ["kg", "build", "-w", str(ws), "--training", train])  # nothing new: no rate of nothing
    assert r.exit_code == 0 and "kg build: 0 records read (0 mentions added) in " in flat(r.output)
    assert "docs/s" not in r.output

    r = runner.invoke(app, ["kg", "paths", "aspirin", "D006261", "-w", str(ws)])
    assert r.exit_code == 0, r.output
    lines = r.output.splitlines()
    assert lines[0] == "Aspirin (D001241, Chemical) — headache (D006261, Disease)"
    assert lines[1:5] == ["direct:", "  Aspirin – headache: 1 record, 2 sentences, NPMI 1.000",
                          "    PMID 9001, title: Aspirin and headache in adults",
                          "    PMID 9001, sentence 1: Aspirin relieved headache."]
    assert any(line.startswith("path 1 (weakest NPMI ") for line in lines)
    r = runner.invoke(app, ["kg", "paths", "levodopa", "aspirin", "-w", str(ws), "--json", "-k", "1"])
    got = json.loads(r.stdout)
    assert got["linked"] is False and len(got["paths"]) == 1
    assert got["paths"][0]["edges"][0]["evidence"][0]["pmid"] == "9002"

    export = tmp_path / "g.jsonl"
    r = runner.invoke(app, ["kg", "export", str(export), "-w", str(ws)])
    assert r.exit_code == 0 and "exported 9 entities and 15 edges (17 evidence rows)" in flat(r.output)
    other = tmp_path / "other"
    assert runner.invoke(app, ["init", str(other)]).exit_code == 0
    r = runner.invoke(app, ["kg", "import", str(export), "-w", str(other)])
    assert r.exit_code == 0, r.output
    assert "imported 9 entities and 15 edges (17 evidence rows, 0 linked to records here)" in flat(r.output)
    r = runner.invoke(app, ["kg", "paths", "aspirin", "headache", "-w", str(other)])
    assert r.exit_code == 0 and "PMID 9001, sentence 1: Aspirin relieved headache." in r.output


def test_a_deleted_citation_leaves_the_paths_with_a_warning(ws, tmp_path, monkeypatch):
    """A PubMed ``<DeleteCitation>`` ingested after ``kg build``: its record's evidence is no longer
    shown, the command says how many records were deleted, and ``kg build`` removes their rows."""
    from literature_helpers import PAPERS, pubmed_file

    monkeypatch.setitem(PAPERS, "31000009", ("Aspirin and vomiting", "Aspirin caused vomiting.", "Doe"))
    r = runner.invoke(app, ["ingest", str(pubmed_file(tmp_path / "base.xml", ["31000009"])), "-w", str(ws)])
    assert r.exit_code == 0, r.output
    train = str(write_training(tmp_path))
    assert runner.invoke(app, ["kg", "build", "-w", str(ws), "--training", train]).exit_code == 0
    r = runner.invoke(app, ["kg", "paths", "aspirin", "vomiting", "-w", str(ws)])
    assert r.exit_code == 0 and "PMID 31000009, sentence 1: Aspirin caused vomiting." in r.output
    update = pubmed_file(tmp_path / "update.xml", [], deleted=["31000009"])
    assert runner.invoke(app, ["ingest", str(update), "-w", str(ws)]).exit_code == 0

    r = runner.invoke(app, ["kg", "paths", "aspirin", "vomiting", "-w", str(ws)])
    assert r.exit_code == 0 and "31000009" not in r.output, r.output
    assert "direct: none" in r.output and "warning: 1 record was deleted from the workspace since the last " \
        "`serendip kg build`: their evidence is left out here; run `serendip kg build`" in flat(r.output)
    r = runner.invoke(app, ["kg", "paths", "aspirin", "vomiting", "-w", str(ws), "--json"])
    got = json.loads(r.stdout)
    assert got["deleted_records"] == 1 and got["direct"] is None
    r = runner.invoke(app, ["kg", "export", str(tmp_path / "g.jsonl"), "-w", str(ws)])
    assert r.exit_code == 0 and "warning: 1 record was deleted" in flat(r.output)
    assert "31000009" not in (tmp_path / "g.jsonl").read_text(encoding="utf-8")
    assert runner.invoke(app, ["kg", "build", "-w", str(ws), "--training", train]).exit_code == 0
    r = runner.invoke(app, ["kg", "paths", "aspirin", "vomiting", "-w", str(ws), "--json"])
    assert json.loads(r.stdout)["deleted_records"] == 0 and "warning" not in r.output


def test_errors_are_one_line(ws, tmp_path):
    r = runner.invoke(app, ["kg", "paths", "aspirin", "nausea", "-w", str(ws)])
    assert r.exit_code == 2
    assert r.output.strip().splitlines() == [
        "error: this workspace holds no knowledge graph yet: run `serendip kg build` (or `serendip kg import FILE`) first"]
    r = runner.invoke(app, ["kg", "build", "-w", str(ws), "--training", str(write_training(tmp_path))])
    assert r.exit_code == 0
    r = runner.invoke(app, ["kg", "paths", "aspirin", "warfarin", "-w", str(ws)])
    assert r.exit_code == 2 and len(r.output.strip().splitlines()) == 1
    assert r.output.startswith("error: entity 'warfarin' is not in the knowledge graph (9 entities)")
    r = runner.invoke(app, ["kg", "build", "-w", str(ws), "--tagger", "nope"])
    assert r.exit_code == 2 and "unknown kg tagger 'nope'" in r.output
    bad = tmp_path / "bad.jsonl"
    bad.write_text("hello\n", encoding="utf-8")
    r = runner.invoke(app, ["kg", "import", str(bad), "-w", str(ws), "--replace"])
    assert r.exit_code == 2 and "line 1: not a Serendip knowledge-graph export" in flat(r.output)


def test_empty_workspace_and_unusable_paths_say_so_in_one_line(tmp_path):
    empty = tmp_path / "empty"
    assert runner.invoke(app, ["init", str(empty)]).exit_code == 0
    r = runner.invoke(app, ["kg", "build", "-w", str(empty), "--training", str(write_training(tmp_path))])
    assert r.exit_code == 0 and "warning: the workspace holds no records to read: run `serendip ingest FILE` first" \
        in flat(r.output)
    r = runner.invoke(app, ["kg", "paths", "aspirin", "nausea", "-w", str(empty)])
    assert r.exit_code == 2 and r.output.strip().splitlines() == [
        "error: the knowledge graph of this workspace is empty: the workspace holds no records. Run `serendip "
        "ingest FILE` first, then `serendip kg build`"]
    missing = tmp_path / "nowhere" / "g.jsonl"
    for args, line in [
            (["kg", "import", str(missing)], f"error: cannot read {missing}: no such file"),
            (["kg", "build", "--training", str(missing)], f"error: training PubTator file {missing} does not exist: "
                                                           f"give a PubTator file (--training) or leave it out for "
                                                           f"BC5CDR train + dev")]:
        r = runner.invoke(app, [*args, "-w", str(empty)])
        assert r.exit_code == 2 and flat(r.output) == line, r.output
        assert "Errno" not in r.output and ".tmp" not in r.output


def test_export_to_an_unusable_path_names_it(ws, tmp_path):
    assert runner.invoke(app, ["kg", "build", "-w", str(ws), "--training", str(write_training(tmp_path))]).exit_code == 0
    missing = tmp_path / "nowhere" / "g.jsonl"
    r = runner.invoke(app, ["kg", "export", str(missing), "-w", str(ws)])
    assert r.exit_code == 2 and flat(r.output) == f"error: cannot write {missing}: folder {missing.parent} does not exist"
    r = runner.invoke(app, ["kg", "export", str(tmp_path), "-w", str(ws)])
    assert r.exit_code == 2 and flat(r.output).startswith(f"error: cannot write {tmp_path}: it is a folder")


def test_usage_lines_name_arguments_in_capitals():
    r = runner.invoke(app, ["kg", "paths", "--help"])
    assert r.exit_code == 0 and "kg paths [OPTIONS] A B" in r.output and "{" not in r.output.splitlines()[1]
    for args, usage in [(["init", "--help"], "init [OPTIONS] [PATH]"), (["kg", "export", "--help"], "kg export [OPTIONS] FILE"),
                        (["ingest", "--help"], "ingest [OPTIONS] PATHS...")]:
        assert usage in runner.invoke(app, args).output
    r = runner.invoke(app, ["kg", "paths", "aspirin"])
    assert r.exit_code == 2 and "Missing argument 'B'" in r.output


@pytest.mark.data
def test_default_lexicon_is_bc5cdr_train_and_dev(mirror, ws):
    r = runner.invoke(app, ["kg", "build", "-w", str(ws), "--json"])
    assert r.exit_code == 0, r.output
    rep = json.loads(r.stdout)
    assert rep["records_read"] == len(RECORDS) and rep["counts"]["mentions"] >= 15
    r = runner.invoke(app, ["kg", "paths", "D001241", "D006261", "-w", str(ws), "--json"])
    assert r.exit_code == 0 and json.loads(r.stdout)["direct"]["sentence_count"] == 2


@pytest.mark.parametrize("content, why", [("{}", "(no id or name)"), ("{oops", "(line 1: Expecting property name")])
def test_build_with_a_damaged_relations_run_is_one_line(ws, tmp_path, content, why):
    run = tmp_path / "run"
    run.mkdir()
    (run / "run.json").write_text(content, encoding="utf-8")
    r = runner.invoke(app, ["kg", "build", "-w", str(ws), "--training", str(write_training(tmp_path)),
                            "--relations", str(run)])
    assert r.exit_code == 2, r.output
    assert f"{run / 'run.json'} is not a valid run record {why}" in flat(r.output) and "Traceback" not in r.output
    r = runner.invoke(app, ["kg", "build", "-w", str(ws), "--relations", str(tmp_path / "nonexistent")])
    assert r.exit_code == 2 and f"{tmp_path / 'nonexistent'} does not exist" in flat(r.output)


def _interrupt_second_batch(monkeypatch, sigterm: bool = False):
    """``kg build``'s second batch raises KeyboardInterrupt, as Ctrl-C there would (``sigterm``: the
    process sends itself SIGTERM there instead, as ``kill`` would)."""
    import serendip.kg.build as kg_build

    real, calls = kg_build._read_batch, []

    def read_batch(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            if sigterm:
                os.kill(os.getpid(), signal.SIGTERM)
                time.sleep(5)  # the handler raises before this ends
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(kg_build, "_read_batch", read_batch)


def _set_last_build_status(folder, status: str) -> None:
    from sqlalchemy import select, update

    from serendip.kg.store import kg_builds
    from serendip.workbench import Workspace

    w = Workspace.open(folder)
    try:
        with w.engine.begin() as conn:
            last = conn.execute(select(kg_builds.c.id).order_by(kg_builds.c.id.desc()).limit(1)).scalar_one()
            conn.execute(update(kg_builds).where(kg_builds.c.id == last).values(status=status))
    finally:
        w.close()


STOPPED = ("warning: the last `serendip kg build` stopped after reading 1 record (Ctrl-C, a kill or an error): the graph is "
           "incomplete; run `serendip kg build` again to finish it")


@pytest.mark.parametrize("rebuild", [False, True])
def test_ctrl_c_during_build_is_reported_and_queries_warn(ws, tmp_path, monkeypatch, rebuild):
    train = str(write_training(tmp_path))
    args = ["kg", "build", "-w", str(ws), "--training", train, "--batch", "1"]
    if rebuild:
        assert runner.invoke(app, args).exit_code == 0
    _interrupt_second_batch(monkeypatch)
    r = runner.invoke(app, args + (["--rebuild"] if rebuild else []))
    assert r.exit_code == 130, r.output
    assert flat(r.output).endswith("stopped: Ctrl-C; 1 record read; run `serendip kg build` again to finish")
    assert "Traceback" not in r.output and "graph:" not in r.output
    queries = [["show", "aspirin"], ["neighbors", "aspirin"], ["paths", "aspirin", "headache"],
               ["discover", "aspirin", "--to", "headache"], ["export", str(tmp_path / "g.jsonl")]]
    for q in queries:
        r = runner.invoke(app, ["kg", *q, "-w", str(ws)])
        assert r.exit_code == 0 and STOPPED in flat(r.output), (q, r.output)
    monkeypatch.undo()
    r = runner.invoke(app, args)  # goes on from where it stopped
    assert r.exit_code == 0 and "kg build: 2 records read" in flat(r.output), r.output
    assert "graph: 9 entities, 19 mentions, 15 edges (17 evidence rows) over 3 records" in flat(r.output)
    for q in queries[:4]:
        r = runner.invoke(app, ["kg", *q, "-w", str(ws)])
        assert r.exit_code == 0 and "warning" not in r.output, (q, r.output)
    _set_last_build_status(ws, "running")  # killed, or running now
    r = runner.invoke(app, ["kg", "show", "aspirin", "-w", str(ws)])
    assert r.exit_code == 0 and ("warning: the last `serendip kg build` has not finished (it is still running, or was "
                                 "killed): the graph is incomplete; run `serendip kg build` again to finish it"
                                 ) in flat(r.output)


def test_a_build_stopped_by_sigterm_is_marked_failed_and_says_so(ws, tmp_path, monkeypatch):
    _interrupt_second_batch(monkeypatch, sigterm=True)
    r = runner.invoke(app, ["kg", "build", "-w", str(ws), "--training", str(write_training(tmp_path)), "--batch", "1"])
    assert r.exit_code == 128 + signal.SIGTERM, r.output
    assert flat(r.output).endswith("stopped: terminated; 1 record read; run `serendip kg build` again to finish")
    assert "Traceback" not in r.output
    r = runner.invoke(app, ["kg", "show", "aspirin", "-w", str(ws)])
    assert r.exit_code == 0 and STOPPED in flat(r.output), r.output
