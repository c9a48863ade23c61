"""``serendip chem train | predict``: a thin wrapper; bad records listed, exit status 1 on a skipped record."""
from __future__ import annotations

import csv
import json
from pathlib import Path

from chem_helpers import small_set
from typer.testing import CliRunner

from serendip.cli.app import app

runner = CliRunner()


def test_train_then_predict(tmp_path: Path) -> None:
    from rdkit import Chem
    from rdkit.Chem import Descriptors

    smi = small_set()[:140]
    data = tmp_path / "d.csv"
    data.write_text("smiles,mw\n" + "".join(f"{s},{Descriptors.MolWt(Chem.MolFromSmiles(s)):.3f}\n" for s in smi))
    model = tmp_path / "m"
    r = runner.invoke(app, ["chem", "train", str(data), "--target", "mw", "--model", "rf", "--split", "random",
                            "--out", str(model), "--json"])
    assert r.exit_code == 0, r.output
    got = json.loads(r.stdout.strip().splitlines()[-1])
    assert (got["split"], got["seed"], got["task"]) == ("random", 0, "regression") and "rmse" in got["metrics"]["val"]
    r = runner.invoke(app, ["chem", "train", str(data), "--target", "mw", "--split", "scaffold", "--out",
                            str(tmp_path / "m2")])
    assert r.exit_code == 2 and "leaves val empty" in r.output          # 3 scaffolds: no validation part
    assert not (tmp_path / "m2").exists()                               # nothing half-written
    query = tmp_path / "q.smi"
    query.write_text("c1ccccc1C\ttoluene\nC1CC\tbroken\n")
    out = tmp_path / "p.csv"
    r = runner.invoke(app, ["chem", "predict", str(model), str(query), "--out", str(out)])
    assert r.exit_code == 1 and "line 2" in r.output and "broken" in r.output
    rows = list(csv.DictReader(out.open()))
    assert [row["name"] for row in rows] == ["toluene"] and float(rows[0]["ad_max_tanimoto"]) == 1.0
    assert 80 < float(rows[0]["prediction"]) < 110 and float(rows[0]["lower"]) < float(rows[0]["upper"])


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    data = tmp_path / "d.csv"
    data.write_text("smiles,y\nCCO,1\n")
    r = runner.invoke(app, ["chem", "train", str(data), "--target", "y", "--model", "nope", "--out", str(tmp_path / "m")])
    assert r.exit_code == 2 and "at least 20" in r.output
    r = runner.invoke(app, ["chem", "predict", str(tmp_path), str(data)])
    assert r.exit_code == 2 and "no model.json" in r.output
    r = runner.invoke(app, ["chem", "train", "--help"], env={"COLUMNS": "200"})
    assert r.exit_code == 0 and "serendip+chemprop" in r.output and "scaffold" in r.output


def test_optimize_writes_every_scored_molecule_and_prints_the_best(tmp_path: Path) -> None:
    """`chem optimize` wraps serendip.chem.design.optimize: the budget counts unique molecules, the CSV
    lists every call in order, the best are sorted by score; bad input is one error line."""
    from serendip.chem.design import get_oracle

    smi = small_set()[:30]
    start = tmp_path / "start.smi"
    start.write_text("".join(f"{s}\tm{i}\n" for i, s in enumerate(smi)) + "C1CC\tbroken\n")
    out = tmp_path / "scored.csv"
    r = runner.invoke(app, ["chem", "optimize", "qed", "--method", "screening", "--budget", "12", "--start",
                            str(start), "--out", str(out), "--top", "3", "--json"])
    assert r.exit_code == 0, r.output
    got = json.loads(r.stdout.strip().splitlines()[-1])
    assert (got["oracle"], got["method"], got["calls"], got["budget"]) == ("qed", "screening", 12, 12)
    rows = list(csv.DictReader(out.open()))
    assert [int(x["call"]) for x in rows] == list(range(1, 13)) and len({x["smiles"] for x in rows}) == 12
    qed = get_oracle("qed")
    assert all(abs(qed(x["smiles"]) - float(x["score"])) < 1e-5 for x in rows)
    scores = [b["score"] for b in got["best"]]
    assert len(scores) == 3 and scores == sorted(scores, reverse=True)
    assert abs(scores[0] - max(float(x["score"]) for x in rows)) < 1e-5
    assert "line 31" in r.output  # the broken line is listed, the rest used
    r = runner.invoke(app, ["chem", "optimize", "no-such-oracle", "--budget", "5", "--start", str(start)])
    assert r.exit_code == 2 and "unknown oracle 'no-such-oracle'" in r.output
    r = runner.invoke(app, ["chem", "optimize", "qed", "--method", "screening", "--budget", "5", "--start",
                            str(start), "--out", str(tmp_path / "missing" / "x.csv")])
    assert r.exit_code == 2 and "cannot write" in r.output and "missing" in r.output


def test_conflicting_binary_labels_missing_values_and_damaged_models(tmp_path: Path) -> None:
    """Found by a tester: copies of a molecule labelled 0 and 1 were averaged to 0.5, which turned a
    classification file into a regression one without a word; values left empty vanished unreported; a
    damaged model folder gave tracebacks; an unwritable --out was found only after training."""
    smi = ["C" * n + "O" for n in range(1, 31)] + ["C" * n + "N" for n in range(1, 31)]  # 60 distinct molecules
    lines = [f"{s},{i % 2}" for i, s in enumerate(smi)]
    lines += [f"{smi[0]},1", f"{smi[1]},"]  # smi[0] (label 0 on line 2) again with 1; smi[1] again, no value
    lines += ["C1CCx,1"]  # not a molecule: reported, skipped
    data = tmp_path / "cls.csv"
    data.write_text("smiles,y\n" + "\n".join(lines) + "\n" + "c1ccccc1O,\n")
    model = tmp_path / "m"
    r = runner.invoke(app, ["chem", "train", str(data), "--target", "y", "--model", "rf", "--out", str(model),
                            "--json"])
    assert r.exit_code == 0, r.output
    got = json.loads(r.stdout.strip().splitlines()[-1])
    assert got["task"] == "classification"
    assert "carry both labels 0 and 1" in r.output and "cls.csv line 2" in r.output
    assert "have no value in 'y'" in r.output and "cls.csv line 65" in r.output  # phenol, the last line
    r = runner.invoke(app, ["chem", "train", str(data), "--target", "y", "--task", "regression", "--model", "rf",
                            "--out", str(tmp_path / "no" / "where")])
    assert r.exit_code == 2 and "does not exist" in r.output and "Traceback" not in r.output
    (model / "model.json").write_text((model / "model.json").read_text()[:40])
    r = runner.invoke(app, ["chem", "predict", str(model), str(data)])
    assert r.exit_code == 2 and "model folder is damaged" in r.output and "Traceback" not in r.output
