"""``serendip datasets list`` and ``serendip runs list`` at 80 columns (COLUMNS=80 through CliRunner):
no line wider than the terminal, no name or id cut short with an ellipsis."""
from __future__ import annotations

from datetime import UTC, datetime

from rich.console import Console
from typer.testing import CliRunner

from serendip.cli.app import app
from serendip.cli.models_cmd import runs_table
from serendip.datasets import list_datasets
from serendip.models.runs import RunInfo

runner = CliRunner()


def test_datasets_list_at_80_columns():
    r = runner.invoke(app, ["datasets", "list"], env={"COLUMNS": "80"})
    assert r.exit_code == 0, r.output
    lines = r.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80
    assert "…" not in r.stdout
    first_words = {line.split()[0] for line in lines if line.strip()}
    for ds in list_datasets():  # every name whole, at the start of its row
        assert ds.name in first_words, ds.name
        assert ds.licence.split()[0] in r.stdout


def _info(i: int, **kw) -> RunInfo:
    run_id = f"20261204-01{i:02d}30-a1b2c{i}"
    base = dict(id=run_id, name=run_id, path=f"/ws/runs/{run_id}", status="done",
                created_at=datetime(2026, 12, 4, 1, i, 30, tzinfo=UTC), task="binary",
                backbone="/models/backbone",
                metrics={"selection_metric": "mcc", "dev_mcc": 0.8125, "test_mcc": 0.75})
    base.update(kw)
    return RunInfo(**base)


def test_runs_table_at_80_columns_keeps_ids_names_and_scores():
    infos = [_info(1), _info(2, name="promoter-lora-r8", status="running", metrics=None),
             _info(3, task="token_classification", status="failed",
                   backbone="/very/long/path/to/models/InstaDeepAI-nucleotide-transformer-v2-50m")]
    console = Console(width=80, record=True, file=open("/dev/null", "w"))  # noqa: SIM115
    console.print(runs_table(infos))
    text = console.export_text()
    assert max(len(line) for line in text.splitlines()) <= 80
    assert "…" not in text
    for info in infos:
        assert info.id in text
    assert "promoter-lora-r8" in text and "mcc 0.8125 / 0.7500" in text
    assert "token_classification" in text
    # a backbone name longer than its column is folded onto the next lines, not cut
    lines = text.splitlines()
    at = next(n for n, line in enumerate(lines) if "InstaDeepAI" in line)
    start = lines[at].index("InstaDeepAI")
    column = "".join(line[start:].split(" ")[0] for line in lines[at:at + 3])
    assert column.startswith("InstaDeepAI-nucleotide-transformer-v2-50m")


def test_runs_list_through_the_cli_at_80_columns(tmp_path):
    ws = tmp_path / "ws"
    assert runner.invoke(app, ["init", str(ws)]).exit_code == 0
    r = runner.invoke(app, ["runs", "list", "-w", str(ws)], env={"COLUMNS": "80"})
    assert r.exit_code == 0, r.output
    assert r.stdout == "" and "no runs yet" in r.output  # no empty table, one line on stderr
    assert max(len(line) for line in r.output.splitlines()) <= 80


def test_reports_at_80_columns(tmp_path):
    """`serendip reports` (COLUMNS=80): no line wider than the terminal, no heading broken inside a
    word, every count and path whole (a path wider than its column is folded onto the next lines,
    never cut), the start time whole."""
    import json

    ws = tmp_path / "ws"
    assert runner.invoke(app, ["init", str(ws)]).exit_code == 0
    deep = tmp_path / "a-rather-long-folder-name-for-exports" / "from-the-reference-manager-2026"
    deep.mkdir(parents=True)
    files = [deep / "library_export_with_a_long_name.jsonl", tmp_path / "short.jsonl"]
    for n, path in enumerate(files):
        path.write_text("".join(json.dumps({"id": f"{n}-{i}", "title": f"Paper {n} {i}"}) + "\n" for i in range(3)))
    assert runner.invoke(app, ["ingest", str(files[0]), "-w", str(ws)]).exit_code == 0
    assert runner.invoke(app, ["ingest", *map(str, files), "-w", str(ws)]).exit_code == 0
    r = runner.invoke(app, ["reports", "-w", str(ws)], env={"COLUMNS": "80"})
    assert r.exit_code == 0, r.output
    lines = r.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80 and "…" not in r.stdout
    header = next(line for line in lines if line.split()[:2] == ["#", "started"])
    assert header.split() == ["#", "started", "status", "ingested", "dup.", "del.", "failed"]
    assert "dup.: duplicates; del.: deleted" in r.stdout
    rows = [line.split() for line in lines if line.split()[:1] in (["1"], ["2"]) and "done" in line]
    assert [row[-5:] for row in rows] == [["done", "3", "0", "0", "0"], ["done", "3", "3", "0", "0"]]
    body = "".join(line.strip() for line in lines)  # folded cells joined back
    assert str(files[0]) in body.replace(" ", "") and str(files[1]) in r.stdout


def test_reports_before_any_ingest_is_one_line_saying_so(tmp_path, monkeypatch):
    """`serendip reports` on a new workspace: one line (no empty tables) saying there is no ingest
    report yet and how to ingest, exit 0; with -w, the hint names the workspace too."""
    monkeypatch.delenv("SERENDIP_WORKSPACE", raising=False)
    ws = tmp_path / "ws"
    assert runner.invoke(app, ["init", str(ws)]).exit_code == 0
    r = runner.invoke(app, ["reports", "-w", str(ws)], env={"COLUMNS": "80"})
    assert r.exit_code == 0, r.output
    assert r.stdout.splitlines() == [f"no ingest reports yet in {ws}; ingest files with: "
                                     f"serendip ingest FILE... -w {ws}"]
    monkeypatch.chdir(ws)  # found from the current folder: no -w in the hint
    r = runner.invoke(app, ["reports"], env={"COLUMNS": "80"})
    assert r.exit_code == 0 and r.stdout.splitlines() == [
        f"no ingest reports yet in {ws.absolute()}; ingest files with: serendip ingest FILE..."], r.output
