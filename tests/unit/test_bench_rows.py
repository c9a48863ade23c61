"""benchmarks/_rows.py: rows of one run are merged into results/<script>.json, not written over the
figures of other tasks."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import _rows  # noqa: E402


def _r(dataset, method, metric, value):
    return _rows.row("b", dataset, "test", 10, method, metric, value)


def test_merge_replaces_same_key_and_keeps_the_rest():
    old = [_r("gue/a", "m1", "mcc", 0.1), _r("gue/a", "m2", "mcc", 0.2), _r("gue/b", "m1", "mcc", 0.3)]
    new = [_r("gue/a", "m2", "mcc", 0.9), _r("gue/c", "m1", "mcc", 0.5)]
    out = _rows.merge_rows(old, new)
    assert [(r["dataset"], r["method"], r["value"]) for r in out] == [
        ("gue/a", "m1", 0.1), ("gue/a", "m2", 0.9), ("gue/b", "m1", 0.3), ("gue/c", "m1", 0.5)]


def test_write_merges_into_the_json_and_appends_to_results_md(tmp_path, monkeypatch):
    monkeypatch.setattr(_rows, "HERE", tmp_path)
    _rows.write("s", [_r("gue/a", "m1", "mcc", 0.1)])
    _rows.write("s", [_r("gue/b", "m1", "mcc", 0.2)])
    rows = json.loads((tmp_path / "results" / "s.json").read_text())
    assert [r["dataset"] for r in rows] == ["gue/a", "gue/b"]
    assert (tmp_path / "RESULTS.md").read_text().count("## s —") == 2
    (tmp_path / "results" / "s.json").write_text('{"not": "rows"}')
    with pytest.raises(ValueError, match="not overwriting"):
        _rows.write("s", [_r("gue/c", "m1", "mcc", 0.3)])
    assert json.loads((tmp_path / "results" / "s.json").read_text()) == {"not": "rows"}
