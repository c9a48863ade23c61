"""Out-of-fold predictions of the training molecules: each from a model that never saw it, saved with
the model, and usable as the bar a design must beat (``score_training_set``)."""
from __future__ import annotations

import csv
import json

import numpy as np
import pytest
from chem_helpers import small_set, tiny_model_folder
from typer.testing import CliRunner

from serendip.chem.api import load_model
from serendip.chem.crossval import out_of_fold
from serendip.chem.design.property import PropertyOracle
from serendip.chem.models import PROPERTY_MODELS
from serendip.errors import ConfigError, DataError


class MeanModel:
    """Predicts the mean of the targets it was fitted on (so an out-of-fold value is known by hand)."""

    task = "regression"

    def fit(self, smiles, y, val_smiles=(), val_y=None):
        self.mean_ = float(np.mean(y))
        return self

    def predict(self, smiles):
        return np.full(len(smiles), self.mean_)


@pytest.fixture()
def mean_model():
    PROPERTY_MODELS._items["mean-test"] = lambda task, seed: MeanModel()
    yield "mean-test"
    PROPERTY_MODELS._items.pop("mean-test", None)


def test_each_molecule_predicted_by_the_other_folds(mean_model):
    from sklearn.model_selection import KFold

    smi = small_set()[:10]
    y = np.arange(10, dtype=np.float64)
    got = out_of_fold(mean_model, "regression", smi, y, folds=5, seed=3)
    for fit_idx, held_idx in KFold(5, shuffle=True, random_state=3).split(smi):
        assert np.allclose(got[held_idx], y[fit_idx].mean())    # the mean of the other 8, never its own
    assert got.shape == (10,) and got.dtype == np.float64


def test_bad_fold_counts_are_named(mean_model):
    smi = small_set()[:4]
    with pytest.raises(ConfigError, match="2 <= folds <= 4"):
        out_of_fold(mean_model, "regression", smi, np.zeros(4), folds=5)
    with pytest.raises(ConfigError, match="2 <= folds"):
        out_of_fold(mean_model, "regression", smi, np.zeros(4), folds=1)
    with pytest.raises(ConfigError, match="4 molecules but 3 targets"):
        out_of_fold(mean_model, "regression", smi, np.zeros(3))


@pytest.fixture(scope="module")
def oof_folder(tmp_path_factory):
    return tiny_model_folder(tmp_path_factory.mktemp("oof") / "model", oof_folds=3)


def test_saved_with_the_model_and_read_back(oof_folder):
    from rdkit import Chem
    from rdkit.Chem import Crippen

    meta = json.loads((oof_folder / "model.json").read_text())
    assert meta["train_predictions"] == "train_predictions.csv" and "rmse" in meta["metrics"]["train_oof"]
    loaded = load_model(oof_folder)
    values = loaded.train_values()
    want = [round(Crippen.MolLogP(Chem.MolFromSmiles(s)), 4) for s in loaded.train_smiles]
    assert np.allclose(values["measured"], want, atol=1e-9)                     # the training targets, in order
    oof, own = values["out_of_fold"], loaded.predict(loaded.train_smiles)["prediction"]
    assert np.isfinite(oof).all() and len(oof) == len(loaded.train_smiles) == meta["split"]["n_train"]
    # a forest fits its own molecules closer than molecules it never saw
    assert np.abs(own - values["measured"]).mean() < np.abs(oof - values["measured"]).mean()


def test_training_bar_from_each_kind_of_value(oof_folder, tmp_path):
    oracle = PropertyOracle(oof_folder, ad_min=0.0)
    values = oracle.model.train_values()
    for kind in ("measured", "out_of_fold"):
        evs = oracle.score_training_set(kind)
        assert np.allclose([e.prediction for e in evs], values[kind])
        assert all(e.objective == e.prediction for e in evs)
    with pytest.raises(ConfigError, match="model, out_of_fold, measured"):
        oracle.score_training_set("best")
    no_oof = tiny_model_folder(tmp_path / "plain")
    with pytest.raises(DataError, match="no out-of-fold values .*--oof-folds"):
        PropertyOracle(no_oof).score_training_set("out_of_fold")
    assert len(PropertyOracle(no_oof).score_training_set("measured")) == json.loads(
        (no_oof / "model.json").read_text())["split"]["n_train"]


def test_a_damaged_file_names_its_line(oof_folder, tmp_path):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(oof_folder, copy)
    path = copy / "train_predictions.csv"
    rows = list(csv.reader(path.open()))
    rows[3][1] = "twelve"
    with path.open("w", newline="") as fh:
        csv.writer(fh).writerows(rows)
    with pytest.raises(DataError, match=r"train_predictions.csv, line 4: not a finite number"):
        load_model(copy).train_values()
    rows[3][1] = "inf"
    with path.open("w", newline="") as fh:
        csv.writer(fh).writerows(rows)
    with pytest.raises(DataError, match=r"line 4: not a finite number"):
        load_model(copy).train_values()
    rows[3][1], rows[0] = "1.5", ["smiles", "value", "oof"]
    with path.open("w", newline="") as fh:
        csv.writer(fh).writerows(rows)
    with pytest.raises(DataError, match=r"line 1: expected the header smiles,measured,out_of_fold"):
        load_model(copy).train_values()
    rows[0] = ["smiles", "measured", "out_of_fold"]
    path.write_text("smiles,measured,out_of_fold\n")
    with pytest.raises(DataError, match="0 rows for"):
        load_model(copy).train_values()
    with path.open("w", newline="") as fh:  # one row left out: the line where the rows part from train.smi
        csv.writer(fh).writerows(rows[:5] + rows[6:])
    with pytest.raises(DataError, match=rf"{len(rows) - 2} rows for {len(rows) - 1} training molecules in "
                                        rf"train.smi; first difference at line 6: expected '"):
        load_model(copy).train_values()
    with path.open("w", newline="") as fh:  # the last row left out: the end of the file named
        csv.writer(fh).writerows(rows[:-1])
    with pytest.raises(DataError, match=rf"first difference at line {len(rows)}: expected '.+', got the end of"):
        load_model(copy).train_values()


def test_cli_prints_the_out_of_fold_figures(tmp_path):
    from rdkit import Chem
    from rdkit.Chem import Descriptors

    from serendip.cli.app import app

    smi = small_set()[:100]
    data = tmp_path / "d.csv"
    data.write_text("smiles,mw\n" + "".join(f"{s},{Descriptors.MolWt(Chem.MolFromSmiles(s)):.3f}\n" for s in smi))
    r = CliRunner().invoke(app, ["chem", "train", str(data), "--target", "mw", "--model", "rf-morgan",
                                 "--oof-folds", "3", "--out", str(tmp_path / "m")])
    assert r.exit_code == 0, r.output
    assert "rf-morgan train_oof (random split, seed 0): rmse" in r.output


def test_report_names_the_bar_it_compares_with(oof_folder):
    from serendip.chem.report import make_report

    oracle = PropertyOracle(oof_folder, ad_min=0.0)
    html = make_report(oracle, ["c1ccccc1CCO"], bar_value="out_of_fold")
    assert "predicted out of fold (by models trained without it" in html
    bar = max((e for e in oracle.score_training_set("out_of_fold") if e.feasible), key=lambda e: e.objective)
    assert bar.smiles in html
    assert "measured logp" in make_report(oracle, ["c1ccccc1CCO"], bar_value="measured")
    with pytest.raises(ConfigError, match="value must be one of"):
        make_report(oracle, ["c1ccccc1CCO"], bar_value="median")


@pytest.mark.parametrize("folds", [1, 500])
def test_train_refuses_bad_oof_folds_before_any_fit(mean_model, tmp_path, folds):
    from serendip.chem.api import train

    fits = []
    PROPERTY_MODELS._items[mean_model] = lambda task, seed: fits.append(1) or MeanModel()
    data = tmp_path / "d.csv"
    data.write_text("smiles,y\n" + "".join(f"{s},{i}\n" for i, s in enumerate(small_set()[:25])))
    with pytest.raises(ConfigError, match=r"2 <= folds <= \d+ \(the training molecules of the random split of \d+\)"):
        train(data, "y", model=mean_model, split="random", seed=0, oof_folds=folds)
    assert fits == []


def test_cli_report_refuses_an_unknown_bar_by_its_option_name(oof_folder, tmp_path):
    from serendip.cli.app import app

    cands = tmp_path / "c.smi"
    cands.write_text("c1ccccc1CCO one\n")
    r = CliRunner().invoke(app, ["chem", "report", str(cands), "--model", str(oof_folder), "--out",
                                 str(tmp_path / "r.html"), "--bar", "median"])
    assert r.exit_code == 2 and "--bar must be one of: model, out_of_fold, measured" in r.output
    assert not (tmp_path / "r.html").exists()
