"""The fine-tuning loop on a tiny BERT built in the test (2 layers, hidden size 32, character vocab).

Data: 16-letter DNA strings; label "1" when the string holds GGGG, "0" when it holds no G at all, so
a few epochs separate them. Every run takes a second or two on a CPU.
"""
from __future__ import annotations

import csv
import dataclasses
import json
import random
from pathlib import Path

import numpy as np
import pytest
from models_helpers import config, dna, make_backbone, write_csv

from serendip.errors import ConfigError, DataError

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")
pytest.importorskip("peft")
pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    root = tmp_path_factory.mktemp("tiny")
    return {"root": root, "backbone": make_backbone(root / "backbone"),
            "train": write_csv(root / "train.csv", 60)}


@pytest.fixture(scope="module")
def full_run(tiny):
    from serendip.models.train import finetune

    cfg = config(tiny["train"], tiny["backbone"], tiny["root"] / "runs",
                 output={"plots": True})
    events = []
    result = finetune(cfg, progress=lambda done, total, info: events.append((done, total, info)))
    return cfg, result, events


# -- learning, run folder, reproducibility ---------------------------------------------------------
def test_full_finetuning_learns_and_writes_the_run_folder(full_run):
    cfg, result, events = full_run
    hist = result.history
    assert len(hist) == 6 and hist[-1]["train_loss"] < hist[0]["train_loss"]
    assert hist[-1]["eval_loss"] < hist[0]["eval_loss"]
    assert result.selection_metric == "mcc" and result.selection_mode == "max"
    best = result.metrics["best"]
    assert best["mcc"] > 0.5  # chance is 0
    assert result.test_metrics["n"] == 12 and result.test_metrics["mcc"] > 0.5
    assert result.trainable_params == result.total_params  # full fine-tuning
    files = {p.name for p in result.run_dir.iterdir()}
    assert {"run.json", "config.resolved.json", "data_files.json", "versions.json",
            "label_space.json", "split_report.json", "augment_report.json", "metrics.json",
            "history.json", "model.json", "model", "plots"} <= files
    assert (result.run_dir / "model" / "model.safetensors").is_file()
    assert (result.run_dir / "model" / "tokenizer.json").is_file()
    assert {p.name for p in (result.run_dir / "plots").iterdir()} == {
        "curves.png", "confusion_matrix.png", "roc.png", "pr.png"}
    metrics = json.loads((result.run_dir / "metrics.json").read_text(),
                         parse_constant=lambda c: pytest.fail(f"non-strict JSON constant {c}"))
    assert metrics["selection"]["best_epoch"] == result.best_epoch
    assert len(metrics["dev"]) == 6 and metrics["test"]["mcc"] == result.test_metrics["mcc"]
    data = json.loads((result.run_dir / "data_files.json").read_text())
    import hashlib
    assert data["train"]["sha256"] == hashlib.sha256(cfg.data.train.read_bytes()).hexdigest()
    versions = json.loads((result.run_dir / "versions.json").read_text())
    assert {"python", "torch", "transformers", "peft", "serendip"} <= set(versions)
    labels = json.loads((result.run_dir / "label_space.json").read_text())
    assert labels["classes"] == ["0", "1"] and labels["task"]["name"] == "binary"
    run = json.loads((result.run_dir / "run.json").read_text())
    assert run["status"] == "done" and run["metrics"]["selection_metric"] == "mcc"
    steps = [e for e in events if "loss" in e[2]]
    assert [e[0] for e in steps] == list(range(1, 31)) and all(e[1] == 30 for e in steps)
    assert sum("dev" in e[2] for e in events) == 6


def test_same_seed_gives_identical_metrics(full_run, tiny):
    from serendip.models.train import finetune

    cfg, first, _ = full_run
    again = finetune(cfg.model_copy(update={"output": cfg.output.model_copy(update={"plots": False})}))
    assert again.run_id != first.run_id
    assert again.history == first.history
    assert json.dumps(again.metrics["test"]) == json.dumps(first.metrics["test"])


def test_deterministic_flag_is_restored(full_run):
    assert not torch.are_deterministic_algorithms_enabled()


# -- PEFT ------------------------------------------------------------------------------------------
def test_lora_trains_a_fraction_and_merged_model_predicts_the_same(tiny):
    from serendip.models.train import finetune, merge_peft, model_outputs

    cfg = config(tiny["train"], tiny["backbone"], tiny["root"] / "runs",
                 peft={"method": "lora", "r": 4, "alpha": 8}, training={"epochs": 2, "lr": 1e-2})
    result = finetune(cfg, merge=False)
    assert 0 < result.trainable_fraction < 0.2
    assert result.metrics["trainable_fraction"] == pytest.approx(result.trainable_fraction)
    assert type(result.model).__name__.startswith("PeftModel")
    assert (result.run_dir / "adapter" / "adapter_model.safetensors").is_file()
    assert not (result.run_dir / "model").exists()  # merge=False: the adapter only
    from serendip.models.train import ModelBundle
    bundle = ModelBundle(result.model, result.tokenizer, result.task, result.label_space,
                         result.max_length)
    unmerged = model_outputs(bundle, result.splits.test)
    merged_model = merge_peft(result.model)
    assert not hasattr(merged_model, "peft_config")
    merged = model_outputs(ModelBundle(merged_model, result.tokenizer, result.task,
                                       result.label_space, result.max_length), result.splits.test)
    assert np.allclose(unmerged, merged, atol=1e-5)
    # the PEFT model itself is untouched by merge_peft
    assert np.array_equal(model_outputs(bundle, result.splits.test), unmerged)


def test_adalora_calls_update_and_allocate_after_every_step(tiny, monkeypatch):
    from peft.tuners.adalora.model import AdaLoraModel

    from serendip.models.train import finetune

    calls = []
    original = AdaLoraModel.update_and_allocate

    def spy(self, global_step):
        # called after optimizer.step() and before zero_grad(): gradients are still there
        has_grad = any(p.grad is not None for n, p in self.model.named_parameters() if "lora_" in n)
        calls.append((global_step, has_grad))
        return original(self, global_step)

    monkeypatch.setattr(AdaLoraModel, "update_and_allocate", spy)
    cfg = config(tiny["train"], tiny["backbone"], tiny["root"] / "runs",
                 peft={"method": "adalora", "adalora": {"init_r": 4, "target_r": 2, "deltaT": 2}},
                 training={"epochs": 2, "lr": 1e-2})
    result = finetune(cfg)
    n_train = result.metrics["sizes"]["train"]
    steps = 2 * -(-n_train // 8)
    assert [c[0] for c in calls] == list(range(1, steps + 1))
    assert all(has_grad for _, has_grad in calls)
    assert result.trainable_fraction < 0.25
    assert result.metrics["merge_check"]["max_abs_diff"] < 1e-4


def test_adalora_schedule_longer_than_training_is_refused(tiny):
    from serendip.models.train import finetune

    cfg = config(tiny["train"], tiny["backbone"], tiny["root"] / "runs",
                 peft={"method": "adalora", "adalora": {"tinit": 50, "tfinal": 50}},
                 training={"epochs": 1})
    with pytest.raises(ConfigError, match="tinit"):
        finetune(cfg)


# -- other tasks, imbalance, augmentation ----------------------------------------------------------
def _write_rows(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    return path


def test_regression_multilabel_and_token_tasks_run(tiny):
    from serendip.models.train import finetune

    rng = random.Random(1)
    seqs = [dna(rng, bool(i % 2)) for i in range(40)]
    reg = _write_rows(tiny["root"] / "reg.csv", ["text", "label"],
                      [[s, str(s.count("G") + 0.5)] for s in seqs])
    r = finetune(config(reg, tiny["backbone"], tiny["root"] / "runs", task="regression",
                        training={"epochs": 1}))
    scaling = r.target_scaling
    assert scaling["std"] > 0 and r.selection_metric == "rmse" and r.selection_mode == "min"
    assert np.isfinite(r.test_metrics["rmse"])

    ml = _write_rows(tiny["root"] / "ml.csv", ["text", "label"],
                     [[s, ";".join(x for x, c in (("g", "G"), ("t", "T")) if c in s) or "none"]
                      for s in seqs])
    r = finetune(config(ml, tiny["backbone"], tiny["root"] / "runs", task="multilabel",
                        imbalance="class_weight", training={"epochs": 1}))
    assert "pos_weight" in r.metrics["loss"] and r.test_metrics is not None

    tok_rows = []
    for s in seqs:
        words = [s[i:i + 4] for i in range(0, 16, 4)]
        tags = ["B-G" if "GG" in w else "O" for w in words]
        tok_rows.append([" ".join(words), " ".join(tags)])
    tok = _write_rows(tiny["root"] / "tok.csv", ["text", "label"], tok_rows)
    r = finetune(config(tok, tiny["backbone"], tiny["root"] / "runs", task="token",
                        training={"epochs": 1}))
    assert r.selection_metric == "f1" and "token_accuracy" in r.test_metrics


def test_imbalance_and_dna_augmentation_are_recorded(tiny):
    from serendip.models.train import finetune

    cfg = config(tiny["train"], tiny["backbone"], tiny["root"] / "runs",
                 imbalance="oversample", augmentations=["reverse_complement"],
                 training={"epochs": 1, "max_length": 12})
    r = finetune(cfg)
    assert any("longer than training.max_length = 12" in n for n in r.metrics["notes"])
    report = json.loads((r.run_dir / "augment_report.json").read_text())
    assert report["augmentations"][0]["name"] == "reverse_complement"
    assert report["n_after"] > report["n_original"] and report["resample"]["method"] == "oversample"
    assert r.metrics["sizes"]["train"] == report["n_after"]
    r = finetune(config(tiny["train"], tiny["backbone"], tiny["root"] / "runs",
                        imbalance={"method": "focal", "focal_gamma": 2.0}, training={"epochs": 1}))
    assert r.metrics["loss"]["imbalance"] == "focal"


# -- bad input -------------------------------------------------------------------------------------
def test_missing_label_column_is_named_and_no_run_is_made(tiny):
    from serendip.models.train import finetune

    bad = _write_rows(tiny["root"] / "nolabel.csv", ["text", "class"], [["ACGT", "1"]] * 4)
    runs = tiny["root"] / "bad-runs"
    with pytest.raises(DataError, match="no column 'label'"):
        finetune(config(bad, tiny["backbone"], runs, training={"epochs": 1}))
    assert not runs.exists()


def test_empty_dataset_is_an_error(tiny):
    from serendip.models.train import finetune

    empty = _write_rows(tiny["root"] / "empty.csv", ["text", "label"], [])
    with pytest.raises(DataError, match="no usable examples"):
        finetune(config(empty, tiny["backbone"], tiny["root"] / "runs", training={"epochs": 1}))


def test_dev_label_unseen_in_training_is_named(tiny):
    from serendip.models.train import finetune

    dev = _write_rows(tiny["root"] / "dev.csv", ["id", "text", "label"],
                      [["d1", "ACGTACGT", "1"], ["d2", "ACACACAC", "maybe"]])
    with pytest.raises(DataError, match=r"dev split: example 'dev.csv:3'.*label 'maybe'"):
        finetune(config(tiny["train"], tiny["backbone"], tiny["root"] / "runs",
                        data={"dev": str(dev)}, training={"epochs": 1}))


def test_backbone_must_be_local(tiny):
    from serendip.models.train import finetune

    cfg = config(tiny["train"], tiny["root"] / "nowhere", tiny["root"] / "runs")
    cfg.backbone.name = "bert-base-uncased"
    with pytest.raises(ConfigError, match="not a local folder"):
        finetune(cfg)


def test_focal_loss_refused_for_regression(tiny):
    from serendip.models.train import finetune

    reg = _write_rows(tiny["root"] / "reg2.csv", ["text", "label"],
                      [["ACGT", "1.0"], ["GGGG", "2.0"]] * 10)
    with pytest.raises(ConfigError, match="regression"):
        finetune(config(reg, tiny["backbone"], tiny["root"] / "runs", task="regression",
                        imbalance="focal", training={"epochs": 1}))


def test_load_domains_registers_fasta_and_dna_augmentations():
    from serendip.models.plugins import load_domains
    from serendip.models.registries import AUGMENTATIONS, DATA_READERS

    assert "serendip.genomics" in load_domains()
    assert "fasta" in DATA_READERS and "reverse_complement" in AUGMENTATIONS


def test_unknown_selection_metric_is_refused_before_training(tiny):
    from serendip.models.train import finetune

    runs = tiny["root"] / "metric-runs"
    cfg = config(tiny["train"], tiny["backbone"], runs,
                 training={"early_stopping": {"metric": "auroc"}})
    with pytest.raises(ConfigError, match="'auroc'.*roc_auc"):
        finetune(cfg)
    assert not runs.exists()


# -- test-time augmentation ------------------------------------------------------------------------
def test_reverse_complement_test_time_averaging_is_used_in_evaluation_and_predict(tiny):
    """With ``test_time = true`` the test metrics and ``serendip predict`` use the mean of the logits
    of each sequence and its reverse complement; training data are not augmented when ``train`` is
    false."""
    from serendip.genomics.revcomp import reverse_complement
    from serendip.models.predict import load_run_model, predict_examples
    from serendip.models.tasks import make_task
    from serendip.models.train import finetune, model_outputs

    cfg = config(tiny["train"], tiny["backbone"], tiny["root"] / "runs",
                 augmentations=[{"name": "reverse_complement", "train": False, "test_time": True}],
                 training={"epochs": 2})
    r = finetune(cfg)
    assert r.metrics["test_time_augmentations"] == ["reverse_complement"]
    report = json.loads((r.run_dir / "augment_report.json").read_text())
    assert report["n_after"] == report["n_original"]  # train = false: no copies
    bundle = load_run_model(r.run_dir, device="cpu")
    assert len(bundle.views) == 1
    test = list(r.splits.test)
    averaged = model_outputs(bundle, test)
    plain = model_outputs(dataclasses.replace(bundle, views=()), test)
    rc = model_outputs(dataclasses.replace(bundle, views=()),
                       [dataclasses.replace(e, text=reverse_complement(e.text)) for e in test])
    np.testing.assert_allclose(averaged, (plain + rc) / 2, rtol=0, atol=1e-12)
    assert not np.allclose(plain, rc)  # the views differ, so the average is not a no-op
    task = make_task("binary")
    metrics = task.evaluate(test, averaged, bundle.label_space)
    assert metrics["mcc"] == pytest.approx(r.metrics["test"]["mcc"], abs=1e-9)
    seen = []
    scores = predict_examples(bundle, test, batch_size=4, progress=lambda d, t: seen.append((d, t))).scores
    # counted in examples over both passes: half-way after the plain pass, n/n only at the end
    assert seen[-1] == (len(test), len(test)) and seen == sorted(seen) and {t for _, t in seen} == {len(test)}
    assert (len(test) // 2, len(test)) in seen and seen.count((len(test), len(test))) == 1
    e = np.exp(averaged - averaged.max(axis=1, keepdims=True))
    np.testing.assert_allclose(scores, e / e.sum(axis=1, keepdims=True), atol=1e-12)


def test_test_time_needs_a_deterministic_view(tiny):
    from serendip.models.train import finetune

    cfg = config(tiny["train"], tiny["backbone"], tiny["root"] / "runs",
                 augmentations=[{"name": "random_substitution", "test_time": True}],
                 training={"epochs": 1})
    with pytest.raises(ConfigError, match="random_substitution.*test_time"):
        finetune(cfg)
    with pytest.raises(Exception, match="would do nothing"):
        config(tiny["train"], tiny["backbone"], tiny["root"] / "runs",
               augmentations=[{"name": "reverse_complement", "train": False}])


def test_test_time_view_failure_is_named_before_training_and_skipped_at_predict(tiny, tmp_path):
    """A dev/test sequence the reverse complement cannot take is a DataError naming it, before any
    training; at predict time the record is skipped and reported, the others predicted."""
    from models_helpers import write_rows

    from serendip.models.predict import predict
    from serendip.models.train import finetune

    rng = random.Random(3)
    rows = [[f"s{i}", dna(rng, bool(i % 2)), str(i % 2)] for i in range(40)]
    bad_test = write_rows(tmp_path / "test.csv", rows[30:] + [["badX", "ACGTXACGTACGTACG", "1"]])
    train = write_rows(tmp_path / "train.csv", rows[:30])
    aug = [{"name": "reverse_complement", "train": False, "test_time": True}]
    cfg = config(train, tiny["backbone"], tmp_path / "runs", augmentations=aug,
                 data={"test": str(bad_test), "split": {"dev": 0.2}, "columns": {"id": "id"}},
                 training={"epochs": 1})
    with pytest.raises(DataError, match=r"1 test example\(s\).*'badX'.*'X'"):
        finetune(cfg)
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())
    good_test = write_rows(tmp_path / "good.csv", rows[30:])
    r = finetune(config(train, tiny["backbone"], tmp_path / "runs", augmentations=aug,
                        data={"test": str(good_test), "split": {"dev": 0.2}, "columns": {"id": "id"}},
                        training={"epochs": 1}))
    report = predict(r.run_dir, bad_test, tmp_path / "pred.csv")
    assert report.n == 10 and len(report.skipped) == 1 and "badX" in report.skipped[0]
    assert "'X'" in report.skipped[0]
    with open(tmp_path / "pred.csv", encoding="utf-8") as fh:
        assert [row["id"] for row in csv.DictReader(fh)] == [f"s{i}" for i in range(30, 40)]
