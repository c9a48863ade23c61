"""benchmarks/kg_bc5cdr.py rows: per type and micro, the dictionary baseline beside the model's figure and
the BLURB anchor on the Chemical and Disease F1 rows only; rows valid for results/*.json."""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "benchmarks"))
import _rows
import kg_bc5cdr

from serendip.kg.ner_eval import strict_scores


def test_score_rows_carry_baseline_and_anchor():
    gold = {("1", 0, 9, "Chemical"), ("1", 18, 34, "Disease")}
    model = strict_scores(gold, {("1", 0, 9, "Chemical"), ("1", 26, 34, "Disease")})
    base = strict_scores(gold, {("1", 0, 9, "Chemical")})
    rows = kg_bc5cdr._score_rows("token-ft", model, 1, settings={"window": 128}, base=base, wall=1.0)
    by = {r["metric"]: r for r in rows}
    assert set(by) == {f"{m}_{t}" for m in ("f1", "precision", "recall") for t in ("chemical", "disease", "micro")}
    assert by["f1_chemical"]["value"] == 1.0 and by["f1_disease"]["value"] == 0.0
    assert by["f1_micro"]["baseline"] == {"method": "dictionary-longest-match", "value": round(2 / 3, 4)}
    assert by["f1_chemical"]["anchor"]["value"] == 0.8999 and by["f1_disease"]["anchor"]["value"] == 0.7992
    assert by["f1_micro"]["anchor"] is None and by["recall_chemical"]["anchor"] is None
    assert all(_rows._row_problem(r) is None for r in rows)
    dictionary = kg_bc5cdr._score_rows("dictionary-longest-match", base, 1, settings={}, base=None, wall=0.1)
    assert all(r["baseline"] is None and r["anchor"] is None for r in dictionary)


def _fake_run(folder: Path, train_file: str, dev: str | None) -> Path:
    import json

    folder.mkdir()
    data = {"train": train_file, "dev": dev, "options": {"window": 128, "overlap": 32}}
    config = {"backbone": {"name": "B"}, "data": data,
              "training": {"epochs": 2, "lr": 1e-4, "batch_size": 16, "max_length": 256, "seed": 0}}
    (folder / "run.json").write_text(json.dumps({"config": config}))
    (folder / "metrics.json").write_text(json.dumps({"wall_s": 5.0}))
    (folder / "history.json").write_text("[]")
    return folder


def test_finished_run_must_match_train_on(tmp_path):
    import argparse

    import pytest

    from serendip.errors import DataError

    args = argparse.Namespace(backbone="B", epochs=2, lr=1e-4, batch_size=16, max_length=256, seed=0, window=128,
                              overlap=32, train_on="train")
    both = _fake_run(tmp_path / "both", f"/w/{kg_bc5cdr.TRAIN_DEV_FILE}", None)
    alone = _fake_run(tmp_path / "alone", "/w/train.PubTator.txt", "/w/dev.PubTator.txt")
    assert kg_bc5cdr.finished_run(alone, args)[1] == 5.0
    with pytest.raises(DataError, match="trained on train\\+dev .*not --train-on train"):
        kg_bc5cdr.finished_run(both, args)
    args.train_on = "train+dev"
    assert kg_bc5cdr.finished_run(both, args)[1] == 5.0
    with pytest.raises(DataError, match="trained on train .*not --train-on train\\+dev"):
        kg_bc5cdr.finished_run(alone, args)


def test_finished_run_must_be_trained_on_the_given_bytes(tmp_path):
    import argparse
    import hashlib
    import json

    import pytest

    from serendip.errors import DataError

    args = argparse.Namespace(backbone="B", epochs=2, lr=1e-4, batch_size=16, max_length=256, seed=0, window=128,
                              overlap=32, train_on="train+dev")
    run = _fake_run(tmp_path / "run", f"/w/{kg_bc5cdr.TRAIN_DEV_FILE}", None)
    data = tmp_path / kg_bc5cdr.TRAIN_DEV_FILE
    data.write_text("1|t|four documents of a smoke run\n")
    digest = hashlib.sha256(data.read_bytes()).hexdigest()
    (run / "data_files.json").write_text(json.dumps({"train": {"sha256": digest}}))
    assert kg_bc5cdr.finished_run(run, args, data)[1] == 5.0
    data.write_text("1|t|the whole file\n")
    with pytest.raises(DataError, match="trained on another file than"):
        kg_bc5cdr.finished_run(run, args, data)
    (run / "data_files.json").unlink()
    with pytest.raises(DataError, match="no training-file checksum"):
        kg_bc5cdr.finished_run(run, args, data)
