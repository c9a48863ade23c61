"""benchmarks/generation_moses.py --skip-train: the saved model's training figures become rows."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "benchmarks"))
import generation_moses


def test_training_rows_from_the_saved_model(tmp_path):
    info = {"molecules_seen": 2000, "train_wall_s": 10.0, "train_cpu_s": 20.0, "epochs": 2.5, "val_loss": 0.5,
            "n_train": 800}
    (tmp_path / "config.json").write_text(json.dumps({"format": "serendip-smiles-lm/1", "info": info}))
    rows = {r["metric"]: r for r in generation_moses.training_rows(tmp_path, {"minutes": 55})}
    assert rows["train_mol_per_s"]["value"] == pytest.approx(200.0)
    assert rows["train_mol_per_cpu_s"]["value"] == pytest.approx(100.0)
    assert rows["train_epochs"]["value"] == pytest.approx(2.5) and rows["train_epochs"]["split"] == "train"
    assert rows["val_loss_nats_per_token"]["value"] == pytest.approx(0.5)
    (tmp_path / "config.json").write_text(json.dumps({"format": "serendip-smiles-lm/1"}))
    assert generation_moses.training_rows(tmp_path, {}) == []
