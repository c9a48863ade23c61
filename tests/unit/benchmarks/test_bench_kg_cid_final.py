"""benchmarks/kg_cid_final.py: which runs it accepts (the train-only run with its threshold and stacker;
a final run trained on train+dev with the same settings) and the errors naming what differs."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "benchmarks"))
import kg_cid_final

from serendip.errors import DataError


def _run(folder: Path, train: str, dev: str | None, *, epochs: int = 1, saved: bool = False) -> Path:
    folder.mkdir()
    config = {"backbone": {"name": "B"}, "task": {"name": "binary"},
              "data": {"train": train, "dev": dev, "format": "pubtator-cid",
                       "options": {"negatives": 0.25, "max_length": 128}},
              "training": {"epochs": epochs, "lr": 1e-4, "batch_size": 16, "max_length": 128, "seed": 0}}
    (folder / "run.json").write_text(json.dumps({"config": config}))
    (folder / "metrics.json").write_text('{"wall_s": 1.0}')
    if saved:
        (folder / "cid_threshold.json").write_text('{"threshold": 0.5}')
        (folder / "cid_stacker.json").write_text("{}")
    return folder


def test_accepts_a_train_only_run_and_its_final_run(tmp_path):
    alone = _run(tmp_path / "alone", "/w/train.txt", "/w/select.txt", saved=True)
    final = _run(tmp_path / "final", f"/w/{kg_cid_final.TRAIN_DEV_FILE}", None)
    base = kg_cid_final.check_runs(alone, final)
    assert base["negatives"] == 0.25 and base["epochs"] == 1 and base["backbone"] == "B"
    assert kg_cid_final.check_runs(alone, None) == base


def test_refuses_runs_that_do_not_fit(tmp_path):
    bare = _run(tmp_path / "bare", "/w/train.txt", "/w/select.txt")
    with pytest.raises(DataError, match="no cid_threshold.json, cid_stacker.json .*kg_cid.py --run-dir"):
        kg_cid_final.check_runs(bare, None)
    alone = _run(tmp_path / "alone", "/w/train.txt", "/w/select.txt", saved=True)
    other = _run(tmp_path / "other", f"/w/{kg_cid_final.TRAIN_DEV_FILE}", None, epochs=2)
    with pytest.raises(DataError, match="other settings .*epochs: 2 against 1"):
        kg_cid_final.check_runs(alone, other)
    with pytest.raises(DataError, match="not trained on train\\+dev.PubTator.txt without a dev file"):
        kg_cid_final.check_runs(alone, alone)
    both = _run(tmp_path / "both", f"/w/{kg_cid_final.TRAIN_DEV_FILE}", None, saved=True)
    with pytest.raises(DataError, match="trained on train\\+dev already"):
        kg_cid_final.check_runs(both, None)
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="not a finished CID run"):
        kg_cid_final.check_runs(tmp_path / "empty", None)


def test_refuses_an_unfinished_final_run_or_one_trained_on_other_bytes(tmp_path):
    import hashlib

    alone = _run(tmp_path / "alone", "/w/train.txt", "/w/select.txt", saved=True)
    final = _run(tmp_path / "final", f"/w/{kg_cid_final.TRAIN_DEV_FILE}", None)
    data = tmp_path / kg_cid_final.TRAIN_DEV_FILE
    data.write_text("1|t|a title\n")
    digest = hashlib.sha256(data.read_bytes()).hexdigest()
    (final / "data_files.json").write_text(json.dumps({"train": {"sha256": digest}}))
    kg_cid_final.check_runs(alone, final, data)
    data.write_text("1|t|a title\n2|t|another\n")  # e.g. the full file, where the run saw a --smoke subset
    with pytest.raises(DataError, match="trained on another file than .*--smoke"):
        kg_cid_final.check_runs(alone, final, data)
    (final / "metrics.json").unlink()  # interrupted: run.json is written when a run starts
    with pytest.raises(DataError, match="not a finished CID run .*metrics.json"):
        kg_cid_final.check_runs(alone, final)
    ner = _run(tmp_path / "ner", "/w/train.txt", "/w/dev.txt", saved=True)
    config = json.loads((ner / "run.json").read_text())
    config["config"]["data"] = {"train": "/w/train.txt", "format": "pubtator-ner", "options": {}}
    (ner / "run.json").write_text(json.dumps(config))
    with pytest.raises(DataError, match="a pubtator-ner run, not a pubtator-cid one"):
        kg_cid_final.check_runs(ner, None)
