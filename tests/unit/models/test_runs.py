"""Run folders, the workspace's runs table, and prediction from a saved run (tiny BERT, see
models_helpers.py for the model and the data)."""
from __future__ import annotations

import csv
import json
import random
import re
from pathlib import Path

import numpy as np
import pytest
from models_helpers import dna, make_backbone, write_rows

from serendip.errors import DataError, SerendipError
from serendip.models.config import FineTuneConfig
from serendip.models.runs import (
    RunFolder,
    RunNotFound,
    get_run,
    list_runs,
    new_run_id,
    read_run,
    resolve_run,
    write_json,
)

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")
pytest.importorskip("peft")
pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """One LoRA run (merged export) in a workspace, plus its in-memory result."""
    from serendip.models.train import finetune
    from serendip.workbench import Workspace

    root = tmp_path_factory.mktemp("runs")
    backbone = make_backbone(root / "backbone")
    rng = random.Random(0)
    train = write_rows(root / "train.csv",
                      [[f"s{i}", dna(rng, bool(i % 2)), str(i % 2)] for i in range(60)])
    ws = Workspace.init(root / "ws")
    cfg = FineTuneConfig.model_validate({
        "data": {"train": str(train), "columns": {"id": "id"}, "split": {"dev": 0.2, "test": 0.2}},
        "task": "binary", "backbone": str(backbone), "peft": {"method": "lora", "r": 4},
        "training": {"epochs": 3, "batch_size": 8, "lr": 1e-2},
        "output": {"name": "tiny-lora", "plots": False, "mlflow": True, "tensorboard": True}})
    result = finetune(cfg, ws)
    return {"root": root, "ws": ws, "cfg": cfg, "result": result, "backbone": backbone, "rng": rng}


# -- the runs table --------------------------------------------------------------------------------
def test_run_is_recorded_in_the_workspace(trained):
    from serendip.workspace.database import current_revision, head_revision

    ws, result = trained["ws"], trained["result"]
    assert current_revision(ws.engine) == head_revision() >= "0002"  # 0002 added the runs table
    assert result.run_dir.parent == (ws.path / "runs").resolve()
    (info,) = list_runs(ws, status="done")
    assert (info.id, info.name, info.status, info.task) == (result.run_id, "tiny-lora", "done",
                                                            "binary")
    assert info.backbone == str(trained["backbone"]) and info.path == str(result.run_dir)
    assert info.config["peft"]["method"] == "lora" and info.kind == "finetune"
    assert info.metrics["selection_metric"] == "mcc" and "test_mcc" in info.metrics
    assert info.created_at is not None and info.finished_at is not None
    assert get_run(ws, result.run_id[:17]).id == result.run_id  # unique prefix
    with pytest.raises(RunNotFound, match="serendip runs list"):
        get_run(ws, "19990101-000000-zzzzzz")
    assert resolve_run(result.run_id, ws) == result.run_dir
    assert resolve_run(result.run_dir) == result.run_dir
    assert read_run(result.run_dir).status == "done"


def test_missing_trackers_are_noted_not_fatal(trained):
    notes = trained["result"].metrics["notes"]
    assert any("mlflow is not installed" in n for n in notes)
    assert any("tensorboard is not installed" in n for n in notes)


def test_failed_run_is_marked_failed(trained, monkeypatch):
    import serendip.models.loop as loop_mod
    import serendip.models.train as train_mod

    def boom(*args, **kwargs):
        raise SerendipError("disk full (simulated)")

    monkeypatch.setattr(loop_mod, "history_row", boom)
    with pytest.raises(SerendipError, match="simulated"):
        train_mod.finetune(trained["cfg"], trained["ws"])
    failed = list_runs(trained["ws"], status="failed")
    assert len(failed) == 1 and "simulated" in failed[0].error
    assert json.loads((Path(failed[0].path) / "run.json").read_text())["status"] == "failed"


def test_upgrade_from_0001_adds_the_runs_table(tmp_path):
    from alembic import command
    from alembic.config import Config
    from sqlalchemy import inspect

    from serendip.workspace.database import MIGRATIONS, make_engine, upgrade

    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0001")
    assert "runs" not in inspect(engine).get_table_names()
    upgrade(engine)
    assert "runs" in inspect(engine).get_table_names()


def test_run_folder_helpers(tmp_path):
    rid = new_run_id()
    assert re.fullmatch(r"\d{8}-\d{6}-[0-9a-f]{6}", rid)
    write_json(tmp_path / "m.json", {"a": float("nan"), "b": [1.5, float("inf")], "p": tmp_path})
    assert json.loads((tmp_path / "m.json").read_text()) == {"a": None, "b": [1.5, None],
                                                             "p": str(tmp_path)}
    run = RunFolder.create(tmp_path / "runs", name="x", task="binary")
    assert read_run(run.path).status == "running"
    run.fail(ValueError("bad"))
    assert read_run(run.path).error == "ValueError: bad"
    with pytest.raises(RunNotFound, match="not a run folder"):
        resolve_run(tmp_path)
    with pytest.raises(RunNotFound, match="workspace"):
        resolve_run("20260101-000000-abcdef")


# -- prediction ------------------------------------------------------------------------------------
def _probs(path: Path) -> tuple[list[dict], np.ndarray]:
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    return rows, np.array([[float(r["p_0"]), float(r["p_1"])] for r in rows])


def test_saved_model_predicts_exactly_as_in_memory(trained, tmp_path):
    from serendip.models.predict import predict, predict_examples
    from serendip.models.train import ModelBundle

    result = trained["result"]
    test = result.splits.test
    inp = write_rows(tmp_path / "in.csv", [[ex.id, ex.text, ex.label] for ex in test])
    seen = []
    report = predict(result.run_dir, inp, tmp_path / "out.csv", batch_size=8,
                     progress=lambda done, total: seen.append((done, total)))
    assert report.n == len(test) and report.has_labels
    assert report.columns == ["id", "label", "prediction", "p_0", "p_1"]
    assert seen[-1] == (len(test), len(test))
    rows, saved = _probs(tmp_path / "out.csv")
    assert [r["id"] for r in rows] == [ex.id for ex in test]
    bundle = ModelBundle(result.model, result.tokenizer, result.task, result.label_space,
                         result.max_length)
    memory = predict_examples(bundle, test, batch_size=8)
    assert np.array_equal(saved, memory.scores)  # identical, not just close
    assert [r["prediction"] for r in rows] == memory.labels
    assert result.metrics["merge_check"]["max_abs_diff"] < 1e-4


def test_predict_on_fasta_gives_per_sequence_probabilities(trained, tmp_path):
    from serendip.models.predict import predict

    rng = random.Random(5)
    seqs = {f"seq{i}": dna(rng, bool(i % 2)) for i in range(5)}
    fa = tmp_path / "query.fa"
    fa.write_text("".join(f">{k} sample\n{v[:8]}\n{v[8:]}\n" for k, v in seqs.items()))
    report = predict(trained["result"].run_dir, fa, tmp_path / "fa.csv")
    rows, probs = _probs(tmp_path / "fa.csv")
    assert report.n == 5 and not report.has_labels
    assert [r["id"] for r in rows] == list(seqs)
    assert np.allclose(probs.sum(axis=1), 1.0) and ((probs >= 0) & (probs <= 1)).all()
    assert {r["prediction"] for r in rows} <= {"0", "1"}


def test_predict_ignores_a_label_column_with_an_unseen_label(trained, tmp_path):
    """Issue 13: predict does not need labels; an unseen one no longer refuses the file, the column
    is ignored and the report says why (naming the example and the label)."""
    from serendip.models.predict import predict

    inp = write_rows(tmp_path / "in.csv", [["a", "ACGTACGT", "1"], ["b", "GGGGACGT", "maybe"]])
    report = predict(trained["result"].run_dir, inp, tmp_path / "out.csv")
    assert report.n == 2 and not report.has_labels
    assert len(report.notes) == 1 and re.search(r"'b'.*label 'maybe'", report.notes[0])


def test_predict_without_labels_and_empty_input(trained, tmp_path):
    from serendip.models.predict import predict

    inp = write_rows(tmp_path / "u.csv", [["a", "ACGTACGT"], ["b", "GGGGACGT"]], header=("id", "text"))
    report = predict(trained["result"].run_dir, inp, tmp_path / "u_out.csv")
    assert report.n == 2 and report.columns == ["id", "prediction", "p_0", "p_1"]
    empty = write_rows(tmp_path / "e.csv", [], header=("id", "text"))
    with pytest.raises(DataError, match="no examples to predict"):
        predict(trained["result"].run_dir, empty, tmp_path / "e_out.csv")
    notext = write_rows(tmp_path / "n.csv", [["a", "x"]], header=("id", "sequence"))
    with pytest.raises(DataError, match="no column 'text'") as info:
        predict(trained["result"].run_dir, notext, tmp_path / "n_out.csv")
    # the hint fits predict (which has no column option): rename the input's column
    assert "rename the column in the input file" in str(info.value)
    assert "Set the column mapping" not in str(info.value)


def test_adapter_only_run_predicts_like_its_in_memory_model(trained, tmp_path):
    from serendip.models.predict import predict, predict_examples
    from serendip.models.train import ModelBundle, finetune

    cfg = trained["cfg"].model_copy(deep=True)
    cfg.training.epochs = 1
    cfg.output.mlflow = cfg.output.tensorboard = False
    cfg.output.run_dir = tmp_path / "runs"
    result = finetune(cfg, merge=False)
    info = json.loads((result.run_dir / "model.json").read_text())
    assert info["format"] == "adapter" and not (result.run_dir / "model").exists()
    test = result.splits.test
    inp = write_rows(tmp_path / "in.csv", [[ex.id, ex.text, ex.label] for ex in test])
    predict(result.run_dir, inp, tmp_path / "out.csv", batch_size=8)
    _, saved = _probs(tmp_path / "out.csv")
    memory = predict_examples(ModelBundle(result.model, result.tokenizer, result.task,
                                          result.label_space, result.max_length), test, batch_size=8)
    assert np.allclose(saved, memory.scores, atol=1e-6)
