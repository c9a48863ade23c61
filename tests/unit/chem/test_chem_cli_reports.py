"""``serendip chem train | predict`` tell what they read (chem tester findings, session 26): a prediction
per input line in input order with repeats flagged, the standardisation changes and merges listed (terminal
summary, --report CSV, --json), skipped records in --json, --out never overwritten without --force,
undefined figures named, messages with plain SMILES and file names, and bad files one error line each."""
from __future__ import annotations

import csv
import gzip
import json
from pathlib import Path

import pytest
from chem_helpers import small_set
from typer.testing import CliRunner

from serendip.chem.models import PROPERTY_MODELS, FeatureModel
from serendip.cli.app import app

runner = CliRunner()


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    """A folder with ``train.csv`` (60 molecules, one salt, one invalid line) and ``model`` trained on it
    with a 10-tree forest on Morgan bits (seconds)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setitem(PROPERTY_MODELS._items, "tiny",
                   lambda task, seed: FeatureModel("rf", "morgan", task, seed, {"n_estimators": 10}))
        d = tmp_path_factory.mktemp("tiny")
        smi = small_set()[:60]
        (d / "train.csv").write_text("name,smiles,y\n" + "".join(f"m{i},{s},{i % 7}\n" for i, s in enumerate(smi))
                                     + "salt,[Na+].CC(=O)[O-],3\nbroken,C1CC,2\n")
        r = runner.invoke(app, ["chem", "train", str(d / "train.csv"), "-t", "y", "--model", "tiny", "--out",
                                str(d / "model"), "--json"])
        assert r.exit_code == 0, r.output
        (d / "train.json").write_text(r.stdout.strip().splitlines()[-1])
        yield d


def _valid_standardised(smiles: str) -> bool:
    from serendip.chem.standardize import Standardizer, parse_smiles

    mol, reason = parse_smiles(smiles)
    return reason is None and Standardizer()(mol).smiles == smiles


def test_train_json_lists_skipped_changed_and_merged_records(tiny: Path) -> None:
    got = json.loads((tiny / "train.json").read_text())
    assert got["skipped"] == [{"file": str(tiny / "train.csv"), "line": 63, "name": "broken", "smiles": "C1CC",
                               "reason": "SMILES Parse Error: unclosed ring"}]
    (change,) = got["changes"]
    assert (change["line"], change["name"], change["input_smiles"], change["smiles"]) == (
        62, "salt", "[Na+].CC(=O)[O-]", "CC(=O)O")
    assert "removed [Na+]" in change["changes"][0] and change["changes"][1].startswith("neutralised")
    # small_set's para isomers written both ways (c1ccc(C)cc1O is c1ccc(O)cc1C): merged, every line named
    assert got["duplicates"] and all(len(d["sources"]) == 2 for d in got["duplicates"])
    assert got["n_molecules"] == 61 - sum(len(d["sources"]) - 1 for d in got["duplicates"])
    train_smiles = (tiny / "model" / "train.smi").read_text().split()
    assert len(train_smiles) == len(set(train_smiles)) and all(_valid_standardised(s) for s in train_smiles)


def test_predict_gives_one_row_per_line_in_order_with_repeats_flagged(tiny: Path) -> None:
    query = tiny / "query.smi"
    query.write_text("CCO a\nOCC b\nC1CC bad\n\nF/C=C\\F stereo\n[Na+].CC(=O)[O-] salt\nCCO a2\n")
    out, report = tiny / "pred.csv", tiny / "report.csv"
    r = runner.invoke(app, ["chem", "predict", str(tiny / "model"), str(query), "--out", str(out), "--report",
                            str(report)])
    assert r.exit_code == 1, r.output                                      # a record was skipped
    assert "query.smi, line 3 (bad): C1CC: SMILES Parse Error: unclosed ring" in r.output
    assert "'C1CC'" not in r.output and "PosixPath" not in r.output
    assert "standardised: 1 record changed" in r.output and "[Na+].CC(=O)[O-] -> CC(=O)O" in r.output
    assert "duplicates: 2 records repeat a molecule given earlier" in r.output
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert [(int(x["line"]), x["name"], x["input_smiles"]) for x in rows] == [
        (1, "a", "CCO"), (2, "b", "OCC"), (5, "stereo", "F/C=C\\F"), (6, "salt", "[Na+].CC(=O)[O-]"), (7, "a2", "CCO")]
    first = f"{query} line 1"
    assert [x["duplicate_of"] for x in rows] == ["", first, "", "", first]
    assert rows[0]["prediction"] == rows[1]["prediction"] == rows[4]["prediction"]
    assert "removed [Na+]" in rows[3]["changes"] and rows[0]["changes"] == ""
    # every molecule in the results file is valid and standardised; each appears once unless flagged
    assert all(_valid_standardised(x["smiles"]) for x in rows)
    firsts = [x["smiles"] for x in rows if not x["duplicate_of"]]
    assert len(firsts) == len(set(firsts)) == 3
    kinds = [(x["kind"], x["line"]) for x in csv.DictReader(report.open(encoding="utf-8"))]
    assert kinds == [("skipped", "3"), ("standardised", "6"), ("duplicate", "1"), ("duplicate", "2"),
                     ("duplicate", "7")]
    r = runner.invoke(app, ["chem", "predict", str(tiny / "model"), str(query), "--json"])
    got = json.loads(r.stdout.strip().splitlines()[-1])
    assert [p["line"] for p in got["predictions"]] == [1, 2, 5, 6, 7] and got["predictions"][0]["sd"] is None
    assert [(s["line"], s["name"], s["smiles"]) for s in got["skipped"]] == [(3, "bad", "C1CC")]
    assert [s["line"] for s in got["duplicates"][0]["sources"]] == [1, 2, 7]


def test_out_folder_needs_force_and_is_replaced_whole(tiny: Path, monkeypatch) -> None:
    monkeypatch.setitem(PROPERTY_MODELS._items, "tiny",
                        lambda task, seed: FeatureModel("rf", "morgan", task, seed, {"n_estimators": 10}))
    model, before = tiny / "model", (tiny / "model" / "model.json").read_text()
    args = ["chem", "train", str(tiny / "train.csv"), "-t", "y", "--model", "tiny", "--seed", "1", "--out", str(model)]
    r = runner.invoke(app, args)
    assert r.exit_code == 2 and f"{model} already holds a model" in r.output and "--force" in r.output
    assert (model / "model.json").read_text() == before
    r = runner.invoke(app, args + ["--force"])
    assert r.exit_code == 0, r.output
    assert json.loads((model / "model.json").read_text())["split"]["seed"] == 1
    assert not [p for p in tiny.iterdir() if p.name.startswith(".model.")]   # no temporary folder left
    other = tiny / "notes"
    other.mkdir()
    (other / "x.txt").write_text("mine")
    r = runner.invoke(app, args[:-1] + [str(other), "--force"])
    assert r.exit_code == 2 and "not a model folder" in r.output and (other / "x.txt").read_text() == "mine"


def test_r2_on_constant_targets_is_named_undefined(tiny: Path, monkeypatch) -> None:
    monkeypatch.setitem(PROPERTY_MODELS._items, "tiny",
                        lambda task, seed: FeatureModel("rf", "morgan", task, seed, {"n_estimators": 10}))
    data = tiny / "const.csv"
    data.write_text("smiles,y\n" + "".join(f"{s},2.5\n" for s in small_set()[100:140]))
    r = runner.invoke(app, ["chem", "train", str(data), "-t", "y", "--model", "tiny", "--out", str(tiny / "c")])
    assert r.exit_code == 0, r.output
    assert "r2 undefined (all 4 targets equal 2.5 (zero variance))" in r.output
    assert "test r2 is undefined on the random split (seed 0)" in r.output
    meta = json.loads((tiny / "c" / "model.json").read_text())
    assert meta["metrics"]["test"]["r2"] is None and "zero variance" in meta["undefined"]["test"]["r2"]


@pytest.mark.parametrize("name, content, message", [
    ("empty.csv", "", "empty.csv: no records (the file is empty"),
    ("header.csv", "smiles,y\n", "header.csv: no records"),
    ("wrongcol.csv", "smiles,logS\nCCO,1\n", "wrongcol.csv: no value column 'y'; the header has: smiles, logS"),
    ("text.csv", "smiles,y\n" + "".join(f"{s},high\n" for s in small_set()[:25]),
     "text.csv: 0 molecules with a usable value in 'y' (of 25 records, 25 left out; the first left out: text.csv, "
     "line 2: c1ccccc1C: value high of column 'y' is not a number)"),
    ("broken.sdf", "mol1\n  RDKit\n\n  2  1  0  0  0  0  0  0  0  0999 V2000\nM  END\n$$$$\n",
     "broken.sdf, line 1 (mol1): RDKit cannot read this molblock"),
    ("cut.csv.gz", None, "cut.csv.gz: the gzip file is truncated or damaged"),
    ("folder", None, "folder: cannot read (it is a folder)"),
])
def test_bad_files_give_one_error_line(tiny: Path, name: str, content: str | None, message: str) -> None:
    path = tiny / name
    if name == "folder":
        path.mkdir(exist_ok=True)
    elif content is None:
        path.write_bytes(gzip.compress((tiny / "train.csv").read_bytes())[:200])
    else:
        path.write_text(content)
    for args in (["train", str(path), "-t", "y", "--out", str(tiny / "never")], ["predict", str(tiny / "model"), str(path)]):
        if args[0] == "predict" and name in ("wrongcol.csv", "text.csv"):
            continue  # predict reads no value column
        r = runner.invoke(app, ["chem", *args])
        assert r.exit_code == 2 and message in r.output and "Traceback" not in r.output, (args, r.output)
        assert "PosixPath" not in r.output and not (tiny / "never").exists()


def test_gzip_file_read_like_the_plain_one(tiny: Path) -> None:
    from serendip.chem import read_molecules

    gz = tiny / "train.csv.gz"
    gz.write_bytes(gzip.compress((tiny / "train.csv").read_bytes()))
    plain, packed = read_molecules(tiny / "train.csv"), read_molecules(gz)
    assert [(m.line, m.smiles) for m in packed.molecules] == [(m.line, m.smiles) for m in plain.molecules]
    assert [i.line for i in packed.issues] == [63]


def test_case_c17_through_predict(tiny: Path, cases_dir: Path) -> None:
    """Case C17 end to end: per-line errors for lines 4 and 7, a row for each of lines 2, 3, 6, 8 with the
    right parents, the salts' stripped fragments named; the header and the blank line are neither."""
    path = cases_dir / "C17_smiles-valence-salt-blank" / "molecules.smi"
    r = runner.invoke(app, ["chem", "predict", str(tiny / "model"), str(path), "--json"])
    assert r.exit_code == 1, r.output
    got = json.loads(r.stdout.strip().splitlines()[-1])
    assert [(p["line"], p["name"], p["smiles"]) for p in got["predictions"]] == [
        (2, "aspirin-like", "CC(=O)Oc1ccccc1C(=O)O"), (3, "sodium acetate salt", "CC(=O)O"), (6, "phenol", "Oc1ccccc1"),
        (8, "benzene with HCl", "c1ccccc1")]
    assert [(s["line"], s["name"], s["smiles"]) for s in got["skipped"]] == [
        (4, "neutral four-bond nitrogen", "CN(C)(C)C"), (7, "unclosed ring", "C1CC")]
    assert "N, 4" in got["skipped"][0]["reason"] and got["skipped"][1]["reason"] == "SMILES Parse Error: unclosed ring"
    assert [c["line"] for c in got["changes"]] == [3, 8] and "removed Cl" in got["changes"][1]["changes"][0]
    assert "molecules.smi, line 4 (neutral four-bond nitrogen): CN(C)(C)C: Explicit valence" in r.output
