"""Golden runs of the engine: fixed-seed tiny fine-tuning and pre-training give the same figures as
before the reshape of issue 12 (recorded in ``golden_engine.json`` from the code as it stood before
any change, commit 983c6a3).

Regenerate only on purpose: ``SERENDIP_WRITE_GOLDEN=1 pytest tests/golden`` rewrites the file.
"""
from __future__ import annotations

import json
import os
import random
from pathlib import Path

import pytest
from models_helpers import config, dna, make_backbone, write_csv, write_rows

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")
pytest.importorskip("peft")
pytestmark = pytest.mark.usefixtures("one_torch_thread")

GOLDEN = Path(__file__).with_name("golden_engine.json")
KEYS = ("accuracy", "mcc", "roc_auc", "pr_auc", "macro_f1", "loss", "rmse", "mae", "r2", "pearson",
        "spearman", "f1", "precision", "recall", "token_accuracy", "micro_f1", "subset_accuracy")


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    root = tmp_path_factory.mktemp("golden")
    rng = random.Random(3)
    reg = [[f"r{i}", s, f"{s.count('G') / len(s):.4f}"] for i in range(60)
           for s in [dna(rng, bool(i % 2))]]
    seqs = [dna(rng, bool(i % 2)) for i in range(40)]
    multilabel = [[f"m{i}", s, ";".join(x for x, c in (("g", "G"), ("t", "T")) if c in s) or "none"]
                  for i, s in enumerate(seqs)]
    token = [[f"t{i}", " ".join(s[j:j + 4] for j in range(0, 16, 4)),
              " ".join("B-G" if "GG" in s[j:j + 4] else "O" for j in range(0, 16, 4))]
             for i, s in enumerate(seqs)]
    return {"root": root, "backbone": make_backbone(root / "backbone"),
            "train": write_csv(root / "train.csv", 60),
            "regression": write_rows(root / "reg.csv", reg),
            "multilabel": write_rows(root / "ml.csv", multilabel),
            "token": write_rows(root / "tok.csv", token)}


def _summary(result) -> dict:
    test = {k: float(result.test_metrics[k]) for k in KEYS if k in (result.test_metrics or {})}
    return {"train_loss": [float(h["train_loss"]) for h in result.history],
            "eval_loss": [float(h["eval_loss"]) for h in result.history],
            "best_epoch": int(result.best_epoch), "test": test}


RUNS = {
    "binary_full": {"training": {"epochs": 4}},
    "binary_lora_focal": {"training": {"epochs": 4, "lr": 1e-2}, "peft": {"method": "lora", "r": 4},
                          "imbalance": {"method": "focal"}},
    "binary_class_weight_rc": {"training": {"epochs": 3}, "imbalance": {"method": "class_weight"},
                               "augmentations": [{"name": "reverse_complement", "test_time": True}]},
    "regression": {"task": "regression", "training": {"epochs": 3}},
    "multilabel": {"task": "multilabel", "training": {"epochs": 3}, "imbalance": {"method": "class_weight"}},
    "token": {"task": "token", "training": {"epochs": 3, "lr": 1e-2}},
}


def _run(name: str, tiny) -> dict:
    from serendip.models.train import finetune

    spec = json.loads(json.dumps(RUNS[name]))
    train = tiny.get(spec.get("task"), tiny["train"])
    cfg = config(train, tiny["backbone"], tiny["root"] / f"runs-{name}", **spec)
    return _summary(finetune(cfg))


def _pretrain(tmp: Path) -> dict:
    from serendip.models.pretrain import PretrainConfig, pretrain

    rng = random.Random(1)
    motifs = ["ACGTTGCA", "TTTAAACC", "GGGCCCAT"]
    seq = "".join(rng.choice(motifs) if rng.random() < 0.7 else rng.choice("ACGT") for _ in range(60))
    fasta = tmp / "syn.fa"
    fasta.write_text(f">s1 synthetic\n{seq}\n>s2\n{seq[::-1].lower()}\n")
    cfg = PretrainConfig.model_validate({
        "kind": "dna", "data": {"inputs": [str(fasta)], "heldout": 0.1},
        "windows": {"length": 48, "stride": 24}, "tokenizer": {"kind": "kmer", "k": 3},
        "model": {"size": "tiny", "hidden_size": 32, "num_attention_heads": 2, "intermediate_size": 64,
                  "max_position_embeddings": 64},
        "training": {"max_steps": 12, "batch_size": 8, "lr": 3e-3, "eval_every": 6},
        "output": {"dir": str(tmp / "model")}})
    result = pretrain(cfg)
    return {"losses": [float(x) for x in result.losses],
            "heldout": {k: float(v) for k, v in result.heldout.items()}}


def _check(name: str, got: dict) -> None:
    if os.environ.get("SERENDIP_WRITE_GOLDEN"):
        data = json.loads(GOLDEN.read_text()) if GOLDEN.exists() else {}
        data[name] = got
        GOLDEN.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
        return
    want = json.loads(GOLDEN.read_text())[name]
    assert _flatten(got).keys() == _flatten(want).keys()
    for key, value in _flatten(want).items():
        assert _flatten(got)[key] == pytest.approx(value, rel=1e-5, abs=1e-6), key


def _flatten(obj, prefix: str = "") -> dict:
    if isinstance(obj, dict):
        out = {}
        for k, v in obj.items():
            out.update(_flatten(v, f"{prefix}{k}."))
        return out
    if isinstance(obj, list):
        out = {}
        for i, v in enumerate(obj):
            out.update(_flatten(v, f"{prefix}{i}."))
        return out
    return {prefix.rstrip("."): obj}


@pytest.mark.parametrize("name", sorted(RUNS))
def test_finetune_golden(name, tiny):
    _check(name, _run(name, tiny))


def test_pretrain_golden(tmp_path):
    _check("pretrain_dna_kmer", _pretrain(tmp_path))
