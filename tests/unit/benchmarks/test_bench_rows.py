"""benchmarks/_rows.py: rows of one run are merged into results/<script>.json, not written over the
figures of other tasks; per-seed detail moves to results/archive/ and RESULTS.md is regenerated."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "benchmarks"))
import _rows


def _r(dataset, method, metric, value, seed=0, n=10):
    return _rows.row("b", dataset, "test", n, method, metric, value, seed=seed)


def test_merge_replaces_same_key_and_keeps_the_rest():
    old = [_r("gue/a", "m1", "mcc", 0.1), _r("gue/a", "m2", "mcc", 0.2), _r("gue/b", "m1", "mcc", 0.3)]
    new = [_r("gue/a", "m2", "mcc", 0.9), _r("gue/c", "m1", "mcc", 0.5)]
    out = _rows.merge_rows(old, new)
    assert [(r["dataset"], r["method"], r["value"]) for r in out] == [
        ("gue/a", "m1", 0.1), ("gue/b", "m1", 0.3), ("gue/a", "m2", 0.9), ("gue/c", "m1", 0.5)]


def test_rows_differing_by_seed_or_n_are_all_kept_and_rerun_replaces_them():
    run1 = [_r("d", "m", "mcc", 0.1, seed=0), _r("d", "m", "mcc", 0.2, seed=1),
            _r("d", "m", "rps", 5.0, n=604), _r("d", "m", "rps", 6.0, n=9664)]
    stored = _rows.merge_rows([], run1)
    assert len(stored) == 4
    run2 = [_r("d", "m", "mcc", 0.3, seed=0), _r("d", "m", "mcc", 0.4, seed=1)]
    again = _rows.merge_rows(stored, run2)
    assert sorted((r["metric"], r["seed"], r["n"], r["value"]) for r in again) == [
        ("mcc", 0, 10, 0.3), ("mcc", 1, 10, 0.4), ("rps", 0, 604, 5.0), ("rps", 0, 9664, 6.0)]


def test_write_merges_into_the_json_and_regenerates_results_md(tmp_path, monkeypatch):
    monkeypatch.setattr(_rows, "HERE", tmp_path)
    _rows.write("s", [_r("gue/a", "m1", "mcc", 0.1)])
    _rows.write("s", [_r("gue/b", "m1", "mcc", 0.2)])
    rows = json.loads((tmp_path / "results" / "s.json").read_text())
    assert [r["dataset"] for r in rows] == ["gue/a", "gue/b"]
    md = (tmp_path / "RESULTS.md").read_text()
    assert md.count("## s\n") == 1 and "| gue/a |" in md and "| gue/b |" in md
    for bad in ('{"not": "rows"}', "[1, 2]", "{broken"):
        (tmp_path / "results" / "s.json").write_text(bad)
        with pytest.raises(ValueError, match="not overwriting"):
            _rows.write("s", [_r("gue/c", "m1", "mcc", 0.3)])
        assert (tmp_path / "results" / "s.json").read_text() == bad
    with pytest.raises(ValueError, match="no result rows"):
        _rows.write("s", [])


def test_finish_prints_totals_and_writes_unless_no_write(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(_rows, "HERE", tmp_path)
    _rows.finish("f", [_r("gue/a", "m1", "mcc", 0.1)], 12.4, no_write=True)
    assert capsys.readouterr().out.startswith("total 12 s, peak RSS ")
    assert not (tmp_path / "results" / "f.json").exists()
    _rows.finish("f", [_r("gue/a", "m1", "mcc", 0.1)], 12.4)
    assert [r["value"] for r in json.loads((tmp_path / "results" / "f.json").read_text())] == [0.1]


def test_argument_types():
    import argparse

    assert _rows.int_list("0, 1,2") == [0, 1, 2]
    assert _rows.positive_int("3") == 3
    assert _rows.seed("0") == 0 and _rows.seed(str(2**32 - 1)) == 2**32 - 1
    for fn, bad in ((_rows.int_list, "a,b"), (_rows.int_list, ""), (_rows.positive_int, "0"),
                    (_rows.positive_int, "-5"), (_rows.positive_int, "x"),
                    # an empty or repeated item is refused, not dropped or run twice
                    (_rows.int_list, "1,,2"), (_rows.int_list, "1,1"), (_rows.int_list, "0,-1"),
                    (_rows.seed, "-1"), (_rows.seed, str(2**32)), (_rows.seed, "x")):
        with pytest.raises(argparse.ArgumentTypeError):
            fn(bad)


def test_run_main_turns_a_serendip_error_into_one_line_and_exit_2(capsys):
    from serendip.errors import ConfigError

    def bad():
        raise ConfigError("SERENDIP_DATA_MIRROR=/nope is not a folder")

    with pytest.raises(SystemExit) as info:
        _rows.run_main(bad)
    assert info.value.code == 2
    assert capsys.readouterr().err == "error: SERENDIP_DATA_MIRROR=/nope is not a folder\n"

    def unknown_task():
        raise _rows.UsageError("unknown task(s) ['nope']; choose from prom_core_all, tf0")

    with pytest.raises(SystemExit) as info:
        _rows.run_main(unknown_task)
    assert info.value.code == 2 and capsys.readouterr().err.startswith("error: unknown task(s) ['nope']")

    def bug():
        raise KeyError("x")

    with pytest.raises(KeyError):  # not a Serendip error: a bug, keeps its traceback
        _rows.run_main(bug)


def test_writers_in_parallel_lose_no_rows(tmp_path, monkeypatch):
    import threading

    monkeypatch.setattr(_rows, "HERE", tmp_path)
    threads = [threading.Thread(target=_rows.write, args=("p", [_r(f"gue/{i}", "m", "mcc", i / 10)]))
               for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    rows = json.loads((tmp_path / "results" / "p.json").read_text())
    assert sorted(r["dataset"] for r in rows) == [f"gue/{i}" for i in range(8)]


def test_paired_bootstrap_difference_ci_and_one_sided_share():
    import numpy as np
    from sklearn.metrics import accuracy_score

    y = np.array([0, 1] * 100)
    base = y.copy()
    base[:40] = 1 - base[:40]  # accuracy 0.8
    better = y.copy()
    better[:10] = 1 - better[:10]  # accuracy 0.95, wrong only where base is wrong too
    out = _rows.paired_bootstrap(accuracy_score, y, [base], [better], n_boot=500)
    assert out["diff"] == pytest.approx(0.15)
    assert 0.09 < out["ci95_low"] < 0.15 < out["ci95_high"] < 0.21
    assert out["frac_not_higher"] == 0.0
    same = _rows.paired_bootstrap(accuracy_score, y, [base], [base], n_boot=50)
    assert same["diff"] == same["ci95_low"] == same["ci95_high"] == 0.0 and same["frac_not_higher"] == 1.0
    # the method side is the mean over its seeds: (0.95 + 0.8) / 2 - 0.8
    assert _rows.paired_bootstrap(accuracy_score, y, [base], [better, base], n_boot=50)["diff"] == pytest.approx(0.075)
    # deterministic for a seed
    assert out == _rows.paired_bootstrap(accuracy_score, y, [base], [better], n_boot=500)
    with pytest.raises(ValueError, match="shape"):
        _rows.paired_bootstrap(accuracy_score, y, [base], [better[:-1]])
    with pytest.raises(ValueError, match="shape"):
        _rows.paired_bootstrap(accuracy_score, y, [base], [])


def test_results_json_has_one_row_per_line_and_reads_back():
    rows = [_r("gue/a", "m1", "mcc", 0.1), _r("gue/b", "méthode", "mcc", 0.2)]
    text = _rows.dump_rows(rows)
    assert json.loads(text) == rows
    assert text.count("\n") == len(rows) + 2 and "méthode" in text


def test_configuration_packed_in_a_label_is_written_as_fields(tmp_path, monkeypatch):
    monkeypatch.setattr(_rows, "HERE", tmp_path)
    _rows.write("s", [_r("gue/a", "cnn-3conv ce (select dev PR-AUC, subset 2500) [seed 3]", "pr_auc", 0.3, seed=3),
                      _rows.row("b", "gue/a", "test", 10, "cnn-3conv", "mcc", 0.5, settings={"subset": 7})])
    rows = json.loads((tmp_path / "results" / "s.json").read_text())
    assert [(r["method"], r["settings"], r["seed"], r["seeds"]) for r in rows] == [
        ("cnn-3conv ce", {"select": "dev PR-AUC", "subset": 2500}, 3, None), ("cnn-3conv", {"subset": 7}, 0, None)]


def test_pooled_rows_move_the_per_seed_detail_to_the_archive(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(_rows, "HERE", tmp_path)
    per_seed = [_rows.row("b", "d", split, 10, "m", metric, 0.1 * seed, settings={"lr": 0.1}, seed=seed)
                for seed in (0, 1, 2) for split, metric in (("test", "mcc"), ("dev", "mcc"))]
    other = _rows.row("b", "d", "test", 10, "m", "mcc", 0.9, settings={"lr": 0.2}, seed=0)
    _rows.write("s", [*per_seed, other])
    assert len(json.loads((tmp_path / "results" / "s.json").read_text())) == 7
    pooled = _rows.row("b", "d", "test", 10, "m", "mcc", 0.1, settings={"lr": 0.1}, seeds=[0, 1], sd=0.07)
    _rows.write("s", [pooled])
    kept = _rows.read_rows(tmp_path / "results" / "s.json")
    archived = _rows.read_rows(_rows.archive_path("s"))
    # seeds 0 and 1 of lr 0.1 (test and dev) are summarised; seed 2 and lr 0.2 stay
    assert sorted((r["settings"]["lr"], r["seed"], r["split"]) for r in archived) == [
        (0.1, 0, "dev"), (0.1, 0, "test"), (0.1, 1, "dev"), (0.1, 1, "test")]
    assert sorted(((r["settings"]["lr"], r["seed"], r["seeds"]) for r in kept), key=str) == [
        (0.1, 2, None), (0.1, 2, None), (0.1, None, [0, 1]), (0.2, 0, None)]
    assert len(_rows.read_all_rows("s")) == 8
    # a rerun of an archived seed replaces its archived row when read back, none is duplicated
    _rows.write("s", [_rows.row("b", "d", "test", 10, "m", "mcc", 0.55, settings={"lr": 0.1}, seed=0)])
    again = [r for r in _rows.read_all_rows("s")
             if r["seed"] == 0 and r["split"] == "test" and r["settings"]["lr"] == 0.1]
    assert [r["value"] for r in again] == [0.55]
    monkeypatch.setattr(_rows, "MAX_JSON_BYTES", 100)
    _rows.write("s", [other])
    assert "WARNING" in capsys.readouterr().err


def test_rows_equal_to_moved_out_rows_are_not_written_back(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(_rows, "HERE", tmp_path)
    moved = [_r("d1", "m", "atd", 12.5), _r("d2", "m", "atd", 7.0)]
    _rows.write_gzip_rows(tmp_path / "results" / "archive" / "s-moved.json.gz", moved)
    # a rerun: d1 reproduced (not written back), d2 changed (written), a new row (written)
    _rows.write("s", [_r("d1", "m", "atd", 12.5), _r("d2", "m", "atd", 8.0), _r("d3", "m", "atd", 1.0)],
                moved_out=["s-moved.json.gz"])
    live = _rows.read_rows(tmp_path / "results" / "s.json")
    assert [(r["dataset"], r["value"]) for r in live] == [("d2", 8.0), ("d3", 1.0)]
    assert "1 rows equal to rows moved to results/archive/ (s-moved.json.gz) not written again" in capsys.readouterr().err
    # every row reproduced: nothing written, the live file unchanged
    _rows.write("s", [_r("d1", "m", "atd", 12.5)], moved_out=["s-moved.json.gz"])
    assert _rows.read_rows(tmp_path / "results" / "s.json") == live
    with pytest.raises(FileNotFoundError, match="s-gone.json.gz") as err:
        _rows.write("s", [_r("d1", "m", "atd", 12.5)], moved_out=["s-gone.json.gz"])
    assert err.value.filename == str(tmp_path / "results" / "archive" / "s-gone.json.gz")


def test_bad_rows_are_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(_rows, "HERE", tmp_path)
    with pytest.raises(ValueError, match="without a finite value"):
        _rows.write("s", [_r("gue/x", "m", "mcc", float("nan"))])
    path = tmp_path / "results" / "s.json"
    path.parent.mkdir()
    true_value = '[{"dataset": 1, "split": 1, "method": "m", "metric": "x", "value": true}]'
    row = '{"dataset": 1, "split": 1, "method": "m", "metric": "x", "value": 1, '
    for bad, match in (("[1]", "row 0 is not"), (true_value, "not a finite number"), ("{}", "JSON list"),
                       ("[" + row + '"settings": [1]}]', "settings"), ("[" + row + '"seeds": []}]', "seeds"),
                       ("[" + row + '"sd": "x"}]', "sd")):
        path.write_text(bad)
        with pytest.raises(ValueError, match=match):
            _rows.read_rows(path)


def test_finished_run_config_checks_the_settings_rows_will_name(tmp_path):
    from serendip.errors import DataError

    config = {"backbone": {"name": "mini"}, "training": {"epochs": 3, "lr": 1e-4, "batch_size": 16, "max_length": 128,
                                                         "seed": 0}, "data": {"options": {"negatives": 0.25}}}
    with pytest.raises(DataError, match="not a finished fine-tuning run"):
        _rows.finished_run_config(tmp_path, {"epochs": 3})
    for name, body in (("metrics.json", {}), ("history.json", []), ("run.json", {"config": config})):
        (tmp_path / name).write_text(json.dumps(body))
    given = {"backbone": "mini", "epochs": 3, "max_length": 128, "negatives": 0.25}
    assert _rows.finished_run_config(tmp_path, given) == config
    with pytest.raises(DataError, match=r"other settings than these \(epochs: run 3, given 10, negatives: run 0.25, "
                                        r"given 0.5\)"):
        _rows.finished_run_config(tmp_path, {**given, "epochs": 10, "negatives": 0.5})
