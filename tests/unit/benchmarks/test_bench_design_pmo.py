"""benchmarks/design_pmo.py: runs stored as rows are reused only under the same code fingerprint, keep
their rows, and add up with new runs to the sum."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "benchmarks"))
import design_pmo


def _run(oracle, method, seed, auc):
    return {"oracle": oracle, "method": method, "seed": seed, "budget": 100, "auc_top10": auc, "calls": 100,
            "wall_s": 1.0}


def test_code_fingerprint_is_stable_and_short():
    code = design_pmo.code_fingerprint()
    assert code == design_pmo.code_fingerprint() and len(code) == 12 and int(code, 16) >= 0


def test_stored_runs_come_back_only_for_the_same_budget_and_code():
    methods, seeds = list(design_pmo.METHODS), [0, 1]
    runs = {(o, m, s): _run(o, m, s, 0.1 * (s + 1) + (m == "surrogate_ga") * 0.05)
            for o in ("qed", "median1") for m in methods for s in seeds}
    rows = design_pmo.build_rows(runs, ["qed", "median1"], methods, seeds, 100, "abc")
    back = design_pmo.stored_runs(rows, 100, "abc")
    assert set(back) == set(runs)
    assert all(back[k]["auc_top10"] == pytest.approx(runs[k]["auc_top10"]) and back[k]["calls"] == 100 for k in runs)
    assert design_pmo.stored_runs(rows, 100, "other-code") == {}
    assert design_pmo.stored_runs(rows, 1000, "abc") == {}


def test_only_fresh_runs_get_per_seed_rows_and_the_sum_uses_all():
    methods, seeds = list(design_pmo.METHODS), [0]
    runs = {(o, m, 0): _run(o, m, 0, {"graph_ga": 0.5, "surrogate_ga": 0.6, "best_in_training_set": 0.2}[m])
            for o in ("qed", "median1") for m in methods}
    fresh = {("median1", m, 0) for m in methods}
    rows = design_pmo.build_rows(runs, ["qed", "median1"], methods, seeds, 100, "abc", fresh=fresh)
    per_seed = [r for r in rows if r["metric"] == "auc_top10"]
    assert {r["dataset"] for r in per_seed} == {"pmo/median1"} and len(per_seed) == 3
    sums = {r["method"]: r["value"] for r in rows if r["metric"] == "auc_top10_sum"}
    assert sums == pytest.approx({"graph_ga": 1.0, "surrogate_ga": 1.2, "best_in_training_set": 0.4})
    assert all(r["settings"]["code"] == "abc" for r in rows)
