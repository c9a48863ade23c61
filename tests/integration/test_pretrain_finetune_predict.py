"""The genome worked example end to end, tiny: `pretrain` a k-mer BERT on DNA, fine-tune it with
LoRA on a labelled sequence task, then predict a FASTA file from the saved run."""
from __future__ import annotations

import csv
import random

import pytest

torch = pytest.importorskip("torch")


def _dna(rng: random.Random, positive: bool, n: int = 24) -> str:
    s = [rng.choice("ACGT") for _ in range(n)]
    if positive:
        i = rng.randrange(0, n - 6)
        s[i:i + 6] = list("GGGGGG")
    else:
        s = [c if c != "G" else rng.choice("ACT") for c in s]
    return "".join(s)


def test_pretrain_then_finetune_then_predict(tmp_path):
    from serendip.models.config import FineTuneConfig
    from serendip.models.predict import predict
    from serendip.models.pretrain import PretrainConfig, pretrain
    from serendip.models.train import finetune

    torch.set_num_threads(1)
    rng = random.Random(0)
    genome = "".join(rng.choice("ACGT") for _ in range(3000))
    (tmp_path / "g.fa").write_text(">g1 synthetic genome\n" + genome + "\n")
    pcfg = PretrainConfig.model_validate({
        "kind": "dna", "data": {"inputs": [str(tmp_path / "g.fa")], "heldout": 0.1},
        "windows": {"length": 48, "stride": 24}, "tokenizer": {"kind": "kmer", "k": 3},
        "model": {"size": "tiny", "hidden_size": 32, "num_attention_heads": 2, "intermediate_size": 64,
                  "max_position_embeddings": 64},
        "training": {"max_steps": 10, "batch_size": 8, "lr": 3e-3, "eval_every": 10},
        "output": {"dir": str(tmp_path / "dna-bert")}})
    pre = pretrain(pcfg)
    assert (tmp_path / "dna-bert" / "model.safetensors").exists() and pre.steps == 10

    with open(tmp_path / "train.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["id", "text", "label"])
        for i in range(80):
            w.writerow([f"s{i}", _dna(rng, bool(i % 2)), "promoter" if i % 2 else "background"])
    cfg = FineTuneConfig.model_validate({
        "data": {"train": str(tmp_path / "train.csv"), "split": {"dev": 0.2, "test": 0.2}},
        "task": "binary", "backbone": str(tmp_path / "dna-bert"),
        "peft": {"method": "lora", "r": 4, "alpha": 8, "target_modules": ["query", "value"]},
        "training": {"epochs": 8, "batch_size": 8, "lr": 5e-3, "early_stopping": {"patience": None}},
        "output": {"run_dir": str(tmp_path / "runs"), "plots": False}})
    run = finetune(cfg)
    assert run.trainable_fraction < 1.0
    assert run.metrics["test"]["mcc"] > 0.3, run.metrics["test"]

    fasta = tmp_path / "new.fa"
    fasta.write_text(">pos1\n" + _dna(rng, True) + "\n>neg1\n" + _dna(rng, False) + "\n")
    predict(run.run_dir, fasta, tmp_path / "pred.csv")
    rows = list(csv.DictReader(open(tmp_path / "pred.csv")))
    assert [r["id"] for r in rows] == ["pos1", "neg1"]
    for r in rows:
        assert abs(float(r["p_background"]) + float(r["p_promoter"]) - 1.0) < 1e-5
    assert rows[0]["prediction"] == "promoter" and rows[1]["prediction"] == "background"
