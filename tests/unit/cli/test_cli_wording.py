"""What the CLI says: ``index --no-dense`` counts the vectors already there, ``index --verify`` gives a
part's size once, an ingest failure mentions "the others" only when there are others, and every
command's ``--help`` runs with each help text whole, one sentence or more, ending with a full stop."""
from __future__ import annotations

import json

import typer.main
from rich.text import Text
from typer.testing import CliRunner

from serendip.cli.app import app

runner = CliRunner()


def _workspace(tmp_path):
    ws = tmp_path / "ws"
    assert runner.invoke(app, ["init", str(ws)]).exit_code == 0
    docs = tmp_path / "d.jsonl"
    docs.write_text("".join(json.dumps({"id": str(i), "title": f"Aspirin trial {i}", "abstract": "Adenoma."}) + "\n"
                            for i in range(3)))
    assert runner.invoke(app, ["ingest", str(docs), "-w", str(ws)]).exit_code == 0
    return ws


def test_no_dense_reports_the_vectors_already_there(tmp_path):
    ws = _workspace(tmp_path)
    r = runner.invoke(app, ["index", "-w", str(ws)])
    assert r.exit_code == 0 and "dense: 3 embedded now, 3 in index" in r.stdout, r.output
    r = runner.invoke(app, ["index", "--no-dense", "-w", str(ws)])
    assert r.exit_code == 0, r.output
    assert "dense: not updated (--no-dense), 3 vectors present" in r.stdout and "0 in index" not in r.stdout
    r = runner.invoke(app, ["index", "--no-dense", "--rebuild", "-w", str(ws)])  # drops the dense index
    assert r.exit_code == 0 and "dense: not updated (--no-dense), 0 vectors present" in r.stdout, r.output


def test_verify_gives_a_part_of_another_size_one_size(tmp_path):
    ws = _workspace(tmp_path)
    assert runner.invoke(app, ["index", "--no-dense", "-w", str(ws)]).exit_code == 0
    ids = ws / "indexes" / "bm25" / "ids.json"
    wrote = ids.stat().st_size
    ids.write_bytes(ids.read_bytes() + b" " * 1200)
    r = runner.invoke(app, ["index", "--verify", "-w", str(ws)], env={"COLUMNS": "200"})
    assert r.exit_code == 1, r.output
    line = next(ln for ln in r.stdout.splitlines() if "ids.json" in ln)
    assert line == f"DAMAGED  indexes/bm25/ids.json ({wrote + 1200:,} bytes, the index wrote {wrote:,} bytes)"


def test_a_lone_failed_file_says_nothing_of_others(tmp_path):
    ws = tmp_path / "ws"
    assert runner.invoke(app, ["init", str(ws)]).exit_code == 0
    bad = [tmp_path / "b.csv", tmp_path / "c.csv"]
    for path in bad:
        path.write_text("name,year\nA,2011\n")
    r = runner.invoke(app, ["ingest", str(bad[0]), "-w", str(ws)], env={"COLUMNS": "200"})
    assert r.exit_code == 1 and f"1 of 1 input file(s) failed whole ({bad[0]})" in r.output, r.output
    assert "others" not in r.output
    r = runner.invoke(app, ["ingest", *map(str, bad), "-w", str(ws)], env={"COLUMNS": "200"})
    assert r.exit_code == 1 and "2 of 2 input file(s) failed whole" in r.output and "others" not in r.output


def _commands(command, path=()):
    """(path, click command) for the root and every group and command under it."""
    yield path, command
    for name, sub in getattr(command, "commands", {}).items():
        yield from _commands(sub, (*path, name))


def test_every_help_runs_and_every_help_text_is_whole():
    """At 100 columns: exit 0; each option's and argument's help shown whole (brackets kept) and
    ending with a full stop; each command's first paragraph on one line (no sentence broken in the
    command list)."""
    import click

    root = typer.main.get_command(app)
    seen = 0
    for path, command in _commands(root):
        r = runner.invoke(app, [*path, "--help"], env={"COLUMNS": "100"})
        assert r.exit_code == 0, (path, r.output)
        flat = " ".join(r.output.replace("│", " ").split())
        first = (command.help or "").split("\n\n")[0]
        assert first and "\n" not in first, path
        ctx = click.Context(command, info_name=path[-1] if path else "serendip")
        for param in command.get_params(ctx):
            shown = Text.from_markup(getattr(param, "help", None) or "").plain
            assert shown.endswith("."), (path, param.name, shown)
            assert " ".join(shown.split()) in flat, (path, param.name, flat)
        seen += 1
    assert seen >= 20  # the root, 3 groups and their commands
