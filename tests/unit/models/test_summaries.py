"""What the CLI prints about runs, as public functions: RunInfo.summary, metrics_summary,
metric_table, numeric_metrics, default_output_path."""
from __future__ import annotations

import math
from pathlib import Path

from serendip.models.predict import default_output_path
from serendip.models.runs import RunInfo
from serendip.models.summaries import metric_table, metrics_summary, numeric_metrics

METRICS = {"selection": {"metric": "mcc", "best_epoch": 2}, "best": {"n": 12, "mcc": 0.5, "f1": 0.7,
                                                                      "labels": ["0", "1"]},
           "test": {"n": 10, "mcc": math.nan, "accuracy": 0.9, "ok": True},
           "trainable_params": 10, "total_params": 100, "trainable_fraction": 0.1, "notes": ["x"],
           "dev": [{"epoch": 1}]}


def test_run_info_summary_names_the_selection_metric():
    info = RunInfo("r1", "run", "/tmp/r1", metrics={"selection_metric": "rmse", "dev_rmse": 0.3,
                                                    "test_rmse": 0.4, "test_mae": 0.2})
    assert info.summary() == {"metric": "rmse", "dev": 0.3, "test": 0.4}
    assert RunInfo("r2", "run", "/tmp/r2").summary() == {"metric": None, "dev": None, "test": None}
    untested = RunInfo("r3", "run", "/tmp/r3", metrics={"selection_metric": "mcc", "dev_mcc": 0.1})
    assert untested.summary()["test"] is None


def test_metrics_summary_keeps_the_headline_as_strict_json():
    out = metrics_summary(METRICS)
    assert set(out) == {"selection", "best", "test", "trainable_params", "total_params",
                        "trainable_fraction", "notes"}
    assert out["test"]["mcc"] is None and out["notes"] == ["x"]


def test_metric_table_and_numeric_metrics():
    assert metric_table(METRICS) == [("n", 12, 10), ("mcc", 0.5, METRICS["test"]["mcc"]),
                                     ("f1", 0.7, None), ("accuracy", None, 0.9)]
    assert numeric_metrics(METRICS["best"]) == {"mcc": 0.5, "f1": 0.7}
    assert numeric_metrics(None) == {}


def test_default_output_path_drops_every_suffix():
    assert default_output_path("data/test.fa.gz") == Path("test.predictions.csv")
    assert default_output_path(Path("inputs.csv")) == Path("inputs.predictions.csv")
