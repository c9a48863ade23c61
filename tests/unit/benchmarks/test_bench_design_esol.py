"""benchmarks/design_esol.py: the top candidates are new molecules (a training molecule the GA scored
is not a design, whatever its spelling)."""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "benchmarks"))
import design_esol


def test_training_molecules_are_not_candidates():
    train = ["OCC", "c1ccccc1O"]
    history = [("CCO", 0.9), ("Oc1ccccc1", 0.8), ("CCCO", 0.7), ("CCCCO", 0.6), ("CCCCCO", 0.5)]
    assert design_esol.new_molecules_top(history, train, 2) == ["CCCO", "CCCCO"]
    assert design_esol.new_molecules_top(history, train, 10) == ["CCCO", "CCCCO", "CCCCCO"]


def test_what_a_seed_measured_is_rows_not_settings():
    import argparse

    import _rows

    class _Range:
        high = 2.24712

    meta = {"split": {"n_train": 901, "n_test": 113},
            "metrics": {"test": {"rmse": 0.61744}, "train_oof": {"rmse": 0.66711}}}
    args = argparse.Namespace(method="surrogate_ga")
    common = {"settings": {"model": "chemprop"}, "seed": 2, "wall_s": 1.0}
    rows = design_esol.measured_rows(args, meta, _Range(), common)
    assert all(_rows._row_problem(r) is None for r in rows)
    got = {r["metric"]: (r["value"], r["n"]) for r in rows}
    assert got == {"surrogate_test_rmse": (0.6174, 113), "surrogate_train_oof_rmse": (0.6671, 901),
                   "range_high_logS": (2.2471, 901)}
    assert all(r["settings"] == {"model": "chemprop"} and r["seed"] == 2 for r in rows)
    assert [r["metric"] for r in design_esol.measured_rows(args, meta, None, common)] == [
        "surrogate_test_rmse", "surrogate_train_oof_rmse"]
