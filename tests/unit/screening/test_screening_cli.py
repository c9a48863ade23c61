"""``serendip screen simulate`` on a tiny labelled file: the hand-computed WSS@95 and RRF@10, the JSON,
the recall plot, and bad input as a one-line error with exit code 2."""
from __future__ import annotations

import json

import pytest
from screening_helpers import tiny_set, write_files
from typer.testing import CliRunner

from serendip.cli.app import app

runner = CliRunner()


def _args(records, labels, *extra):
    return ["screen", "simulate", "--data", str(records), "--labels", str(labels), "--review", "Toy", *extra]


def test_simulate_prints_the_hand_computed_metrics(tmp_path):
    records, labels = write_files(tiny_set(), tmp_path)
    plot = tmp_path / "out" / "recall.png"
    r = runner.invoke(app, _args(records, labels, "--model", "tfidf-nb", "--seeds", "0,1", "--plot", str(plot)),
                      env={"COLUMNS": "200"})
    assert r.exit_code == 0, r.output
    out = " ".join(r.output.split())
    # after the priors: 10 records, 3 includes ranked first -> WSS@95 = 7/10 - 0.05, RRF@10 = 1/3
    assert "WSS@95 │ 65.0 % ± 0.0 │ 65.0, 65.0" in out.replace("┃", "│")
    assert "RRF@10 │ 33.3 % ± 0.0" in out.replace("┃", "│")
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_simulate_json(tmp_path):
    records, labels = write_files(tiny_set(), tmp_path)
    r = runner.invoke(app, _args(records, labels, "--model", "tfidf-svm", "--strategy", "mixed", "--json"))
    assert r.exit_code == 0, r.output
    got = json.loads(r.stdout)
    assert got["model"] == "tfidf-svm" and got["balance"] == "balanced" and len(got["runs"]) == 1
    assert got["summary"]["wss@95"]["mean"] == pytest.approx(0.65) and got["summary"]["wss@95"]["sd"] is None
    assert set(got["runs"][0]["stops"]) == {"consecutive-excludes", "hypergeometric"}


def test_bad_input_is_one_line_and_exit_2(tmp_path):
    records, labels = write_files(tiny_set(), tmp_path)
    labels.write_text(labels.read_text() + "Toy\t4242\t1\t1\n")
    r = runner.invoke(app, _args(records, labels), env={"COLUMNS": "300"})
    assert r.exit_code == 2
    lines = [ln for ln in r.output.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith(f"error: {labels}, line 14: PMID 4242")
    r = runner.invoke(app, _args(records, labels, "--seeds", "0,x"))
    assert r.exit_code == 2 and "--seeds takes whole numbers" in r.output
    r = runner.invoke(app, _args(records, labels, "--model", "nope"))
    assert r.exit_code == 2 and "unknown screening model 'nope'" in r.output


def test_one_include_is_a_clear_error_naming_the_labels_file(tmp_path):
    records, labels = write_files(tiny_set(1, 6), tmp_path)
    r = runner.invoke(app, _args(records, labels), env={"COLUMNS": "300"})
    assert r.exit_code == 2 and "Traceback" not in r.output
    assert r.output.startswith(f"error: {labels} (label_abstract_screening): review 'Toy' has 1 include(s) and 6 "
                               "exclude(s) among its 7 labelled records; a screening simulation needs at least 2 "
                               "includes and 1 exclude"), r.output


def test_help_lists_the_registered_models_and_strategies():
    r = runner.invoke(app, ["screen", "simulate", "--help"], env={"COLUMNS": "200"})
    flat = " ".join(r.output.replace("│", " ").split())
    assert r.exit_code == 0 and "Registered: tfidf-nb: TF-IDF + multinomial naive Bayes" in flat
    assert "fused: Serendip's choice," in flat
    assert "mixed: max 95% of the time" in flat and "double: resampled training set" in flat


def test_a_missing_records_file_or_a_folder_as_labels_is_one_line(tmp_path):
    records, labels = write_files(tiny_set(), tmp_path)
    for args, text in ((_args(tmp_path / "nosuch.jsonl", labels), f"cannot open {tmp_path / 'nosuch.jsonl'}: "
                        "no such records file"),
                       (_args(records, tmp_path), f"cannot open {tmp_path}: a folder, not a labels file")):
        r = runner.invoke(app, args, env={"COLUMNS": "300"})
        lines = [ln for ln in r.output.splitlines() if ln.strip()]
        assert r.exit_code == 2 and len(lines) == 1 and lines[0] == f"error: {text}", r.output


def test_a_plot_path_that_cannot_be_written_is_refused_before_any_run(tmp_path, monkeypatch):
    import importlib

    simulate_module = importlib.import_module("serendip.screening.simulate")
    records, labels = write_files(tiny_set(), tmp_path)
    (tmp_path / "afile").write_text("x")
    ran = []
    monkeypatch.setattr(simulate_module, "simulate_seed", lambda *a, **k: ran.append(1))
    for bad, why in ((tmp_path / "afile" / "x.png", f"{tmp_path / 'afile'} is a file, not a folder"),
                     (tmp_path, "a folder, not a PNG file path")):
        r = runner.invoke(app, _args(records, labels, "--plot", str(bad)), env={"COLUMNS": "300"})
        assert r.exit_code == 2 and why in " ".join(r.output.split()) and ran == []


def test_a_byte_order_mark_and_a_cut_off_record_line(tmp_path):
    records, labels = write_files(tiny_set(), tmp_path)
    labels.write_bytes(b"\xef\xbb\xbf" + labels.read_bytes())  # UTF-8 as Excel saves it
    records.write_bytes(b"\xef\xbb\xbf" + records.read_bytes() + b'{"pmid": "77", "title": "cut off\n')
    r = runner.invoke(app, _args(records, labels, "--json"), env={"COLUMNS": "300"})
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["summary"]["wss@95"]["mean"] == pytest.approx(0.65)
    assert "line 13: not JSON (Unterminated string" in " ".join(r.stderr.split())
