"""``serendip finetune``, ``serendip predict`` and ``serendip runs list | show`` through Typer's CliRunner,
on a tiny BERT built in the test (models_helpers.py: 2 layers, hidden size 32, character vocabulary)."""
from __future__ import annotations

import csv
import json
import random
from pathlib import Path

import pytest
from models_helpers import dna, make_backbone, write_rows
from typer.testing import CliRunner

from serendip.cli.app import app

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

pytestmark = pytest.mark.usefixtures("one_torch_thread")
runner = CliRunner()


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli")
    make_backbone(root / "backbone")
    rng = random.Random(0)
    write_rows(root / "train.csv",
               [[f"s{i}", dna(rng, bool(i % 2)), "yes" if i % 2 else "no"] for i in range(60)],
               header=("name", "sequence", "promoter"))
    (root / "finetune.toml").write_text(
        'task = "binary"\nbackbone = "backbone"\n\n'
        '[data]\ntrain = "train.csv"\n'
        'columns = {text = "sequence", label = "promoter", id = "name"}\n'
        'split = {dev = 0.2, test = 0.2}\n\n'
        '[training]\nepochs = 3\nbatch_size = 8\nlr = 1e-2\n\n'
        '[output]\nplots = false\n', encoding="utf-8")
    assert runner.invoke(app, ["init", str(root / "ws")]).exit_code == 0
    return root


def test_finetune_runs_list_show_predict(project, tmp_path, monkeypatch):
    ws = str(project / "ws")
    # the backbone folder named in the config is read beside the config file, as data.train is, from any folder
    monkeypatch.chdir(tmp_path)
    r = runner.invoke(app, ["finetune", str(project / "finetune.toml"), "--set", "peft.method=lora",
                            "--set", "training.epochs=2", "-w", ws, "--json"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout[r.stdout.index("{"):])
    run_id = out["run_id"]
    assert out["selection"]["metric"] == "mcc" and out["selection"]["epochs_run"] == 2
    assert 0 < out["trainable_fraction"] < 0.2
    assert Path(out["run_dir"]).parent == (project / "ws" / "runs").resolve()

    r = runner.invoke(app, ["runs", "list", "-w", ws, "--json"])
    assert r.exit_code == 0, r.output
    rows = json.loads(r.stdout)
    assert [(x["id"], x["status"], x["task"]) for x in rows] == [(run_id, "done", "binary")]
    r = runner.invoke(app, ["runs", "list", "-w", ws], env={"COLUMNS": "80"})
    assert r.exit_code == 0 and "done" in r.stdout
    assert run_id in r.stdout and "…" not in r.stdout  # the whole id, at 80 columns
    assert max(len(line) for line in r.stdout.splitlines()) <= 80

    r = runner.invoke(app, ["runs", "show", run_id[:17], "-w", ws])
    assert r.exit_code == 0, r.output
    assert run_id in r.stdout and "mcc" in r.stdout
    r = runner.invoke(app, ["runs", "show", run_id, "-w", ws, "--json"])
    assert json.loads(r.stdout)["summary"]["selection"]["metric"] == "mcc"

    query = tmp_path / "query.csv"
    query.write_text("name,sequence\nq1,ACGTGGGGACGTACGT\nq2,ACACACTTTACACACA\n", encoding="utf-8")
    r = runner.invoke(app, ["predict", "--run", run_id, str(query), "-o", str(tmp_path / "p.csv"),
                            "-w", ws])
    assert r.exit_code == 0, r.output
    with open(tmp_path / "p.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [x["id"] for x in rows] == ["q1", "q2"]
    assert set(rows[0]) == {"id", "prediction", "p_no", "p_yes"}
    assert abs(float(rows[0]["p_no"]) + float(rows[0]["p_yes"]) - 1) < 1e-9

    # a label column predict does not need (here with a label the run never saw): ignored, noted
    other = tmp_path / "other.csv"
    other.write_text("name,sequence,promoter\nq1,ACGT,maybe\n", encoding="utf-8")
    r = runner.invoke(app, ["predict", "--run", run_id, str(other), "-o", str(tmp_path / "b.csv"),
                            "-w", ws])
    assert r.exit_code == 0, r.output
    assert "label column ignored" in r.output and "'maybe'" in r.output
    with open(tmp_path / "b.csv", newline="") as fh:
        assert [x["id"] for x in csv.DictReader(fh)] == ["q1"]

    # English text given to this DNA run: exit 2, one message naming the file and the first record
    essay = tmp_path / "essay.csv"
    essay.write_text("name,sequence\nintro,The promoter region was sequenced twice.\n"
                     "method,Reads were aligned with default settings.\n", encoding="utf-8")
    r = runner.invoke(app, ["predict", "--run", run_id, str(essay), "-o", str(tmp_path / "e.csv"),
                            "-w", ws])
    assert r.exit_code == 2 and "essay.csv" in r.output and "'intro'" in r.output
    assert "Traceback" not in r.output and not (tmp_path / "e.csv").exists()


def test_cli_errors_exit_2(project, tmp_path, monkeypatch):
    monkeypatch.chdir(project)
    ws = str(project / "ws")
    r = runner.invoke(app, ["finetune", str(project / "finetune.toml"), "--set", "training.lrr=1",
                            "-w", ws])
    assert r.exit_code == 2 and "training.lrr" in r.output
    r = runner.invoke(app, ["finetune", str(tmp_path / "missing.toml"), "-w", ws])
    assert r.exit_code == 2 and "missing.toml" in r.output
    r = runner.invoke(app, ["predict", "--run", "nope", str(tmp_path / "x.csv"), "-w", ws])
    assert r.exit_code == 2 and "no run 'nope'" in r.output
    r = runner.invoke(app, ["runs", "show", "nope", "-w", ws])
    assert r.exit_code == 2 and "serendip runs list" in r.output
    monkeypatch.setenv("SERENDIP_WORKSPACE", str(tmp_path / "no-ws"))
    r = runner.invoke(app, ["runs", "list"])
    assert r.exit_code == 2 and "not a Serendip workspace" in r.output


def test_runs_list_of_a_workspace_without_runs_is_one_line(tmp_path):
    assert runner.invoke(app, ["init", str(tmp_path / "empty")]).exit_code == 0
    r = runner.invoke(app, ["runs", "list", "-w", str(tmp_path / "empty")])
    assert r.exit_code == 0 and r.output.strip() == "no runs yet: `serendip finetune CONFIG` makes one"


def test_finetune_says_which_rows_it_skipped(project, tmp_path, monkeypatch):
    """A data row the reader or the task refuses is named on the console (file and line), not only in
    the run's split_report.json."""
    monkeypatch.chdir(project)
    rows = (project / "train.csv").read_text(encoding="utf-8").splitlines()
    bad = tmp_path / "train_bad.csv"
    bad.write_text("\n".join(rows[:5] + ["s_empty,,yes"] + rows[5:]) + "\n", encoding="utf-8")
    r = runner.invoke(app, ["finetune", str(project / "finetune.toml"), "--set", f"data.train={bad}",
                            "--set", "training.epochs=1", "-w", str(project / "ws")])
    assert r.exit_code == 0, r.output
    text = " ".join(r.output.split())  # the console wraps long lines
    said = text[text.index("skipped 1 row(s)"):]
    assert "train_bad.csv" in said and "line 6" in said and "split_report.json" in said
