"""`serendip tune`: Optuna search over fine-tuning runs of the tiny BERT of models_helpers."""
from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from serendip.errors import ConfigError

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")
pytest.importorskip("optuna")

from models_helpers import config, make_backbone, write_csv

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    root = tmp_path_factory.mktemp("tune")
    return {"root": root, "backbone": make_backbone(root / "backbone"),
            "train": write_csv(root / "train.csv", 40)}


def _cfg(tiny, **training):
    return config(tiny["train"], tiny["backbone"], tiny["root"] / "runs",
                  training={"epochs": 2, **training}, output={"save_model": False})


def test_search_writes_trials_and_best_params_in_space(tiny):
    from serendip.models.tune import TuneConfig, tune

    tcfg = TuneConfig.model_validate({
        "n_trials": 3, "seed": 1, "pruner": "none",
        "space": {"training.lr": {"type": "float", "low": 1e-4, "high": 5e-3, "log": True},
                  "training.batch_size": {"type": "categorical", "choices": [8, 16]}}})
    seen = []
    result = tune(_cfg(tiny), tcfg, on_trial=seen.append)
    assert result.metric == "mcc" and result.direction == "maximize"
    assert [r["number"] for r in seen] == [0, 1, 2]
    assert result.count("complete") == 3 and result.best_value is not None
    assert 1e-4 <= result.best_params["training.lr"] <= 5e-3
    assert result.best_params["training.batch_size"] in (8, 16)
    assert result.storage is None  # no workspace: in memory
    folder = result.path
    assert folder.name == f"tune-{result.id}" and folder.parent == (tiny["root"] / "runs").resolve()
    summary = json.loads((folder / "tune.json").read_text())
    assert summary["best"]["params"] == result.best_params and summary["n_complete"] == 3
    trials = json.loads((folder / "trials.json").read_text())
    assert len(trials) == 3 and all(t["epochs"] == 2 for t in trials)
    rows = list(csv.DictReader((folder / "trials.csv").open()))
    assert [r["state"] for r in rows] == ["complete"] * 3
    assert {"training.lr", "training.batch_size", "run_id", "value"} <= set(rows[0])
    # each trial is a normal run folder
    for t in trials:
        run = json.loads((tiny["root"] / "runs" / t["run_id"] / "run.json").read_text())
        assert run["status"] == "done" and run["name"] == f"tune-{result.id}-{t['number']}"
    best = max(trials, key=lambda t: t["value"])
    assert best["number"] == result.best_trial and best["run_id"] == result.best_run_id


def test_pruner_stops_trials_and_marks_their_runs(tiny, tmp_path):
    from serendip.models.tune import TuneConfig, tune
    from serendip.workbench import Workspace

    ws = Workspace.init(tmp_path / "ws")
    # an MCC above 2 is impossible: every trial is pruned after its first epoch
    tcfg = TuneConfig.model_validate({
        "n_trials": 2, "pruner": {"type": "threshold", "lower": 2.0},
        "space": {"training.lr": {"type": "float", "low": 1e-4, "high": 1e-3}}})
    result = tune(_cfg(tiny), tcfg, ws)
    assert result.count("pruned") == 2 and result.best_value is None
    assert all(t["epochs"] == 1 for t in result.trials)
    assert result.storage.startswith("sqlite:///") and (result.path / "study.db").is_file()
    assert result.path.parent == (Path(ws.path) / "runs").resolve()
    from serendip.models.runs import get_run

    for t in result.trials:
        info = get_run(ws, t["run_id"])
        assert info.status == "pruned" and "pruned after epoch 1" in info.error
    import optuna

    study = optuna.load_study(study_name=result.study_name, storage=result.storage)
    assert [s.state.name for s in study.trials] == ["PRUNED", "PRUNED"]


def test_bad_search_space_keys_are_refused(tiny, tmp_path):
    from serendip.models.tune import (
        TuneConfig,
        load_tune_config,
        parse_tune_config,
        tune,
    )

    cfg = _cfg(tiny)
    bad = TuneConfig.model_validate({
        "n_trials": 1, "space": {"training.lrr": {"type": "float", "low": 1e-4, "high": 1e-3}}})
    with pytest.raises(ConfigError, match="training.lrr"):
        tune(cfg, bad)
    neg = TuneConfig.model_validate({
        "n_trials": 1, "space": {"training.lr": {"type": "float", "low": -1.0, "high": 1e-3}}})
    with pytest.raises(ConfigError, match="training.lr"):
        tune(cfg, neg)
    with pytest.raises(ConfigError, match="space.'training.lr': log = true needs low > 0"):
        parse_tune_config({"space": {"training.lr": {"type": "float", "low": 0, "high": 1,
                                                             "log": True}}})

    # from files: the tune file names the fine-tuning config (relative to itself)
    (tmp_path / "ft.toml").write_text(
        f'task = "binary"\nbackbone = "{tiny["backbone"]}"\n[data]\ntrain = "{tiny["train"]}"\n')
    (tmp_path / "tune.toml").write_text(
        'config = "ft.toml"\nn_trials = 2\n[space]\n"peft.rank" = {type = "int", low = 2, high = 8}\n')
    with pytest.raises(ConfigError, match="peft.rank") as err:
        load_tune_config(tmp_path / "tune.toml")
    assert "tune.toml" in str(err.value)
    (tmp_path / "tune.toml").write_text(
        'config = "ft.toml"\nn_trial = 2\n[space]\n"peft.r" = {type = "int", low = 2, high = 8}\n')
    with pytest.raises(ConfigError, match="unknown key 'n_trial'; allowed here: config, direction"):
        load_tune_config(tmp_path / "tune.toml")
    (tmp_path / "tune.toml").write_text(
        'config = "ft.toml"\n[space]\n"peft.r" = {type = "int", low = 2, high = 8, step = 2}\n'
        '"peft.method" = {type = "categorical", choices = ["none", "lora"]}\n')
    tcfg, ft = load_tune_config(tmp_path / "tune.toml")
    assert tcfg.config == tmp_path / "ft.toml" and ft.task.name == "binary"
    assert tcfg.pruner.type == "median" and tcfg.n_trials == 20


def test_cli_tune(tiny, tmp_path, monkeypatch):
    from typer.testing import CliRunner

    monkeypatch.delenv("SERENDIP_WORKSPACE", raising=False)
    monkeypatch.chdir(tmp_path)  # no default workspace here: runs go to output.run_dir

    from serendip.cli.app import app

    (tmp_path / "ft.toml").write_text(
        f'task = "binary"\nbackbone = "{tiny["backbone"]}"\n[data]\ntrain = "{tiny["train"]}"\n'
        f'split = {{dev = 0.2, test = 0.2}}\n[training]\nepochs = 2\nbatch_size = 8\n'
        f'early_stopping = {{patience = 2}}\n[output]\nrun_dir = "runs"\nplots = false\n'
        f'save_model = false\n')
    (tmp_path / "tune.toml").write_text(
        'config = "ft.toml"\nn_trials = 5\npruner = "none"\n[space]\n'
        '"training.lr" = {type = "float", low = 1e-4, high = 3e-3, log = true}\n')
    r = CliRunner().invoke(app, ["tune", str(tmp_path / "tune.toml"), "--trials", "1", "--json"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout.strip().splitlines()[-1])
    assert out["n_trials"] == 1 and out["n_complete"] == 1
    assert 1e-4 <= out["best"]["params"]["training.lr"] <= 3e-3
    assert Path(out["path"]).parent == (tmp_path / "runs").resolve()
    (tmp_path / "tune.toml").write_text(
        'config = "ft.toml"\n[space]\n"training.lrr" = {type = "float", low = 1e-4, high = 3e-3}\n')
    bad = CliRunner().invoke(app, ["tune", str(tmp_path / "tune.toml")])
    assert bad.exit_code == 2 and "training.lrr" in bad.output
