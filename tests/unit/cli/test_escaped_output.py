"""User data that could drive the terminal (ESC sequences, U+202E, zero-width characters, a newline inside
one value) reaches the terminal only as visible escapes, in ``runs list`` / ``runs show``, ``ingest`` and
``reports`` (a file name holding a newline stays one line of a cell listing one file per line), the
``ask`` answer and their ``--json`` outputs (the same value read back)."""
from __future__ import annotations

import json
from datetime import UTC, datetime
from types import SimpleNamespace

from rich.console import Console
from typer.testing import CliRunner

from serendip.cli.app import app
from serendip.cli.display import needs_escape
from serendip.models.runs import RunInfo

runner = CliRunner()
WIDE = {"COLUMNS": "200"}
NAME = "my\nrun\x1b[31m\u202e"  # the tester's --name $'my\nrun\x1b[31m\u202e'
SHOWN = "my\\x0arun\\x1b[31m\\u202e"


def _clean(text: str) -> bool:
    """No character the terminal acts on, but the newlines that end lines."""
    return not any(needs_escape(c) for c in text.replace("\n", ""))


def _run_folder(tmp_path):
    run_dir = tmp_path / "runs" / "r1"
    run_dir.mkdir(parents=True)
    info = RunInfo(id="20261205-010203-abc123", name=NAME, path=str(run_dir), status="done",
                   created_at=datetime(2026, 12, 5, 1, 2, 3, tzinfo=UTC), task="binary\x07",
                   backbone="/models/back\u200bbone", error="boom\x1b[2J\nsecond line")
    (run_dir / "run.json").write_text(json.dumps(info.to_dict()), encoding="utf-8")
    return run_dir, info


def test_runs_list_table_shows_the_name_escaped_on_its_own_line(tmp_path):
    from serendip.cli.models_cmd import runs_table

    _, info = _run_folder(tmp_path)
    console = Console(width=120, record=True, file=open("/dev/null", "w"))  # noqa: SIM115
    console.print(runs_table([info]))
    text = console.export_text()
    assert _clean(text)
    lines = [line.split() for line in text.splitlines() if line.strip()]
    assert lines[2:] == [[info.id, "done", "binary\\x07", "-"], ["back\\u200bbone"], [SHOWN]]


def test_runs_show_and_its_json(tmp_path):
    run_dir, info = _run_folder(tmp_path)
    r = runner.invoke(app, ["runs", "show", str(run_dir)], env=WIDE)
    assert r.exit_code == 0, r.output
    assert _clean(r.stdout)
    lines = r.stdout.splitlines()
    assert lines[0] == f"{info.id} {SHOWN}  status: done"
    assert lines[2] == "task: binary\\x07  backbone: /models/back\\u200bbone"
    assert lines[3:5] == ["error: boom\\x1b[2J", "second line"]  # an error's own lines kept
    r = runner.invoke(app, ["runs", "show", str(run_dir), "--json"])
    assert r.exit_code == 0 and _clean(r.stdout) and "\\u001b[31m\\u202e" in r.stdout
    assert json.loads(r.stdout)["name"] == NAME


RIS = "TY  - JOUR\nTI  - Zinc lozenges and the common cold\nPY  - 2011\nER  - \n"


def test_a_file_name_holding_a_newline_is_one_line_in_ingest_and_reports(tmp_path, monkeypatch):
    ws = tmp_path / "ws"
    assert runner.invoke(app, ["init", str(ws)]).exit_code == 0
    monkeypatch.chdir(tmp_path)
    (tmp_path / "ctl.csv").write_text("title,year\nVitamin D and falls,2019\n")
    names = ["weird\nname.ris", "b\u202eb.ris", "c\tc.ris"]
    for i, name in enumerate(names):
        (tmp_path / name).write_text(RIS.replace("Zinc", f"Zinc {i}"))
    r = runner.invoke(app, ["ingest", "-w", str(ws), "ctl.csv", *names], env=WIDE)
    assert r.exit_code == 0, r.output
    assert _clean(r.stdout)
    rows = [line.replace("│", " ").split() for line in r.stdout.splitlines() if ".ris" in line or ".csv" in line]
    assert [row[0] for row in rows] == ["ctl.csv", "weird\\x0aname.ris", "b\\u202eb.ris", "c\\x09c.ris"]
    assert all(row[1:] in (["csv", "1", "1", "0", "0", "ok"], ["ris", "1", "1", "0", "0", "ok"]) for row in rows)
    r = runner.invoke(app, ["ingest", "-w", str(ws), "weird\nname.ris", "--json"])
    assert _clean(r.stdout) and json.loads(r.stdout)["files"][0]["path"] == "weird\nname.ris"
    r = runner.invoke(app, ["reports", "-w", str(ws)], env=WIDE)
    assert r.exit_code == 0, r.output
    assert _clean(r.stdout)
    paths = r.stdout[r.stdout.rindex("paths"):].splitlines()[2:]
    # 4 files, 4 lines: one per file, however it is named
    assert [" ".join(line.split()) for line in paths if line.strip()] == [
        "1 ctl.csv", "weird\\x0aname.ris", "b\\u202eb.ris", "c\\x09c.ris", "2 weird\\x0aname.ris"]


def test_ask_prints_evidence_and_sources_escaped(capsys):
    from serendip.cli.answer_cmd import print_answer

    sentence = SimpleNamespace(text="Zinc \x1b[35mshortens\x1b[0m colds\u202e.", cites=[1], stance="supports")
    passage = SimpleNamespace(number=1, record_id=7, pmid="123", field="abstract", start=0, end=40,
                              text="Zinc\u200b lozenges\nshorten colds \x07")
    rejected = SimpleNamespace(text="Bad\x1b]0;title\x07", problem="cites \u202epassage 9")
    print_answer(SimpleNamespace(status="answered", sentences=[sentence], rejected=[rejected], passages=[passage],
                                 best_relevance=0.9))
    out = capsys.readouterr().out
    assert _clean(out)
    assert out.splitlines() == [
        "Supporting (1)",
        "  Zinc \\x1b[35mshortens\\x1b[0m colds\\u202e. [1]",
        "Sources",
        "  [1] record 7, PMID 123, abstract 0-40: Zinc\\u200b lozenges\\x0ashorten colds \\x07",
        "Not shown as grounded (1)",
        "  Bad\\x1b]0;title\\x07 -- cites \\u202epassage 9",
    ]
