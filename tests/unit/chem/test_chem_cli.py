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
    r = runner.invoke(app, ["chem", "train", str(data), "--target", "mw", "--split", "scaffold", "--out", str(model)])
    assert r.exit_code == 2 and "leaves val empty" in r.output          # 3 scaffolds: no validation part
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
