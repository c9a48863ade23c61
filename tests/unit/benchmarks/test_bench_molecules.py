"""benchmarks/molecules.py: every model's predictions are stored per seed and scored again with
``--reuse-preds`` (no refit); the stacked ensemble's weights are convex and fitted on validation only."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from chem_helpers import small_set

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "benchmarks"))
import molecules


class ConstantPlusTruth:
    """A fake member: the truth plus a fixed offset per member (looked up by SMILES)."""

    calls = 0

    def __init__(self, offset: float, truth: dict):
        self.offset, self.truth = offset, truth

    def fit(self, smiles, y, val_smiles=(), val_y=None):
        ConstantPlusTruth.calls += 1
        return self

    def predict(self, smiles):
        return np.array([self.truth[s] + self.offset for s in smiles])


def test_predictions_stored_reused_and_stacked(tmp_path, monkeypatch):
    import serendip.chem.models as models

    smi = small_set()[:150]
    y = np.arange(150, dtype=np.float64) / 10
    truth = dict(zip(smi, y))
    offsets = {"rf": 1.0, "rf-counts": 2.0, "gbm": 0.5, "chemprop": 0.0}    # only chemprop is exact
    monkeypatch.setattr(models, "make_model", lambda name, task, seed: ConstantPlusTruth(offsets[name], truth))
    path = tmp_path / "preds-esol-seed0.npz"
    run = molecules.run_seed("esol", smi, smi, y, 0, 1, lambda m: None, path)
    assert ConstantPlusTruth.calls == 4 and path.is_file()
    scores = run["scores"]
    assert scores["chemprop"]["test"] == 0.0 and scores["serendip"]["test"] > 0
    w = run["weights"]["serendip+chemprop-stack"]
    assert w["chemprop"] > 0.99 and abs(sum(w.values()) - 1) < 1e-6     # the exact member takes the weight
    assert scores["serendip+chemprop-stack"]["test"] < 1e-2 < scores["serendip+chemprop"]["test"]
    ConstantPlusTruth.calls = 0
    again = molecules.run_seed("esol", smi, smi, y, 0, 1, lambda m: None, path, reuse=True)
    assert ConstantPlusTruth.calls == 0 and again["scores"] == scores   # scored from the stored predictions
    other = molecules.run_seed("esol", smi, smi, y, 1, 1, lambda m: None, path, reuse=True)
    assert ConstantPlusTruth.calls == 4 and other["split"].seed == 1    # another split: refitted, not reused
