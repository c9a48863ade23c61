"""benchmarks/screening_cohen.py: pooled rows per system and metric with ASReview as the baseline, the
CSV ASReview reads, and (when asreview 3.0.8 is installed: ``$SERENDIP_ASREVIEW`` or on PATH) the same
screening order from ``asreview simulate`` and Serendip's ``tfidf-svm`` on a small set."""
from __future__ import annotations

import csv
import os
import shutil
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "benchmarks"))
import _rows
import screening_cohen
from screening_helpers import tiny_set

from serendip.screening import simulate


def test_rows_pool_the_seeds_with_asreview_beside():
    ds = tiny_set(6, 30)
    results = {m: simulate(ds, m, "max", [0, 1]) for m in ("tfidf-nb", "tfidf-svm")}
    results[screening_cohen.ASREVIEW] = results["tfidf-svm"]
    rows = screening_cohen.rows_for("Antihistamines", results, [0, 1])
    assert all(_rows._row_problem(r) is None for r in rows)
    by = {(r["method"], r["metric"]): r for r in rows}
    assert len(rows) == 3 * (4 + 4)
    nb = by[("tfidf-nb", "wss@95")]
    assert nb["seeds"] == [0, 1] and nb["dataset"] == "cohen-2006/Antihistamines" and nb["split"] == "test"
    assert nb["value"] == round(results["tfidf-nb"].summary()["wss@95"][0], 4)
    assert nb["baseline"]["method"] == screening_cohen.ASREVIEW and nb["anchor"]["value"] == 0.225
    assert by[(screening_cohen.ASREVIEW, "atd")]["baseline"]["method"] == "tfidf-nb"
    assert by[("tfidf-svm", "stop_hypergeometric_recall")]["value"] <= 1


def test_the_asreview_csv_keeps_order_and_labels(tmp_path):
    ds = tiny_set()
    path = screening_cohen.write_asreview_csv(ds, tmp_path)
    with path.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["pmid"] for r in rows] == ds.ids and [int(r["included"]) for r in rows] == ds.labels.tolist()


def _asreview():
    exe = os.environ.get("SERENDIP_ASREVIEW") or shutil.which("asreview")
    if not exe:
        pytest.skip("asreview 3.0.8 not installed (pip install 'serendip[peers]' or set SERENDIP_ASREVIEW)")
    return screening_cohen.find_asreview(exe)


@pytest.mark.slow
def test_asreview_and_tfidf_svm_screen_in_the_same_order(tmp_path):
    exe = _asreview()
    ds = tiny_set(8, 40)
    ours = simulate(ds, "tfidf-svm", "max", [3], stop_rules=()).runs[0]
    theirs = screening_cohen.asreview_result(ds, exe, [3], tmp_path).runs[0]
    assert theirs.priors == ours.priors and theirs.order == ours.order
