"""benchmarks/kg_timeslice.py: the scored pairs are every positive plus ``ratio`` negatives each; rows carry
the value and its interval per scorer and metric, preferential attachment as the baseline (random beside
it), and are valid for results/*.json."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "benchmarks"))
import _rows
import kg_timeslice

from serendip.kg.graph import EntityRecord
from serendip.kg.timeslice import make_slice

RECORDS = [EntityRecord(str(i), 1998, (f"M{i % 6}", f"M{(i + 1) % 6}")) for i in range(3)] + [
    EntityRecord("9", 1999, ("M0", "M2"))]


def test_eval_pairs_and_rows():
    ts = make_slice(RECORDS, 1998, end=2003)
    assert len(ts.matrix.nodes) == 4 and len(ts.positives) == 1
    pairs, labels = kg_timeslice.eval_pairs(ts, 2, seed=0)
    assert pairs.shape == (3, 2) and labels.tolist() == [1, 0, 0]
    args = argparse.Namespace(T=1998, delta=2, neg_ratio=2, k=100, seed=0)

    def summary(v):
        return {"roc_auc": {"value": v, "ci95_low": v - 0.1, "ci95_high": v + 0.05},
                "hits@100": {"value": v / 2, "ci95_low": 0.0, "ci95_high": 1.0},
                "mrr": {"value": v / 3, "ci95_low": 0.0, "ci95_high": 1.0}}

    res = {m: {"summary": summary(v), "wall_s": 1.0, "n_queries": 2}
           for m, v in {"learned-gb": 0.9, "preferential-attachment": 0.8, "random": 0.5}.items()}
    res["learned-gb"]["minus_pa"] = summary(0.1)
    rows = kg_timeslice.rows_for(res, ts, pairs, args)
    assert all(_rows._row_problem(r) is None for r in rows) and len(rows) == 3 * 3 * 3 + 3 * 3
    by = {(r["method"], r["metric"]): r for r in rows}
    gb = by[("learned-gb", "roc_auc")]
    assert gb["value"] == 0.9 and gb["baseline"] == {"method": "preferential-attachment", "value": 0.8}
    assert gb["settings"]["model"] == "gb" and gb["settings"]["positives"] == 1 and gb["n"] == 3
    assert gb["split"] == "test-1999-2003"
    low = by[("learned-gb", "roc_auc_ci95_low")]
    assert low["value"] == 0.8 and low["baseline"] is None
    assert by[("learned-gb", "roc_auc_minus_pa")]["value"] == 0.1
    assert by[("learned-gb", "hits@100_minus_pa_ci95_high")]["value"] == 1.0
    assert by[("preferential-attachment", "hits@100")]["baseline"] == {"method": "random", "value": 0.25}
    assert ("preferential-attachment", "roc_auc_minus_pa") not in by
    assert by[("random", "mrr")]["baseline"] is None and by[("random", "mrr")]["n"] == 2
    assert np.isclose(by[("learned-gb", "mrr")]["value"], 0.3)
