"""User text reaches the terminal as written: titles, queries, paths and messages holding square
brackets are never read as Rich markup (``[corrected]`` and ``[b]`` kept, ``[red]`` not taken for a
colour, ``[/old]`` not taken for a closing tag that crashes the command)."""
from __future__ import annotations

import json

from typer.testing import CliRunner

from serendip.cli.app import app

runner = CliRunner()
WIDE = {"COLUMNS": "160"}  # every cell on one line: the texts are found whole
TITLES = ("Aspirin [corrected] and colorectal cancer", "Synthesis of cyclohepta[b]pyridin-5-ones")


def _flat(output: str) -> str:
    return " ".join(output.replace("│", " ").split())


def test_titles_and_queries_with_brackets_are_printed_verbatim(tmp_path, monkeypatch):
    ws = tmp_path / "ws"
    assert runner.invoke(app, ["init", str(ws)]).exit_code == 0
    docs = tmp_path / "d.jsonl"
    docs.write_text("".join(json.dumps({"id": str(i), "title": t, "abstract": "Aspirin and pyridin."}) + "\n"
                            for i, t in enumerate(TITLES)))
    assert runner.invoke(app, ["ingest", str(docs), "-w", str(ws)]).exit_code == 0
    assert runner.invoke(app, ["index", "--no-dense", "-w", str(ws)]).exit_code == 0
    r = runner.invoke(app, ["search", "aspirin [corrected] cyclohepta[b]pyridin", "-m", "bm25", "-w", str(ws)],
                      env=WIDE)
    assert r.exit_code == 0, r.output
    for title in TITLES:
        assert title in r.stdout, r.stdout
    assert "bm25: aspirin [corrected] cyclohepta[b]pyridin" in r.stdout
    r = runner.invoke(app, ["search", "[red] the", "-m", "bm25", "-w", str(ws)], env=WIDE)  # no term left
    assert r.exit_code == 0 and "no results (bm25: [red] the)" in r.output, r.output


def test_paths_with_brackets_in_the_summary_errors_and_reports(tmp_path, monkeypatch):
    """A folder ``refs[red]`` and a folder pair ``refs[`` / ``old]`` (a path holding ``[/old]``): the
    per-file table, the failure lines and ``serendip reports`` show the paths whole, without a crash."""
    ws = tmp_path / "ws"
    assert runner.invoke(app, ["init", str(ws)]).exit_code == 0
    good = tmp_path / "refs[red]" / "refs[red].jsonl"
    bad = tmp_path / "refs[" / "old]" / "bad.csv"
    for path in (good, bad):
        path.parent.mkdir(parents=True)
    good.write_text(json.dumps({"id": "1", "title": TITLES[0]}) + "\n")
    bad.write_text("name,year\nA,2011\n")
    monkeypatch.chdir(tmp_path)
    r = runner.invoke(app, ["ingest", "refs[red]/refs[red].jsonl", "refs[/old]/bad.csv", "-w", str(ws)], env=WIDE)
    assert r.exit_code == 1, r.output
    assert "MarkupError" not in r.output and "Traceback" not in r.output
    rows = [line.replace("│", " ").split()[:2] for line in r.stdout.splitlines()]
    assert ["refs[red]/refs[red].jsonl", "jsonl"] in rows and ["refs[/old]/bad.csv", "csv"] in rows
    assert "failed: refs[/old]/bad.csv: no title or abstract column" in r.output
    assert "1 of 2 input file(s) failed whole (refs[/old]/bad.csv); the records of the others were kept" in r.output
    r = runner.invoke(app, ["reports", "-w", str(ws)], env=WIDE)
    assert r.exit_code == 0, r.output
    assert "refs[red]/refs[red].jsonl" in r.stdout and "refs[/old]/bad.csv" in r.stdout
    r = runner.invoke(app, ["ingest", "refs[/old]/missing[b].ris", "-w", str(ws)], env=WIDE)
    assert r.exit_code == 2 and "error: refs[/old]/missing[b].ris" in r.output, r.output


def test_help_keeps_its_brackets():
    """Typer reads help as Rich markup: ``serendip[ray]`` and ``[space]`` are shown, not eaten."""
    r = runner.invoke(app, ["index", "--help"], env={"COLUMNS": "100"})
    assert r.exit_code == 0 and "pip install 'serendip[ray]'." in _flat(r.output), r.output
    r = runner.invoke(app, ["tune", "--help"], env={"COLUMNS": "100"})
    assert r.exit_code == 0 and "seed, pruner, [space]." in _flat(r.output), r.output
