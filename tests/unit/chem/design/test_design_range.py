"""The prediction-range guard of the property objective: a toy model that extrapolates wildly with size
(as a model fitted on small molecules can) has its absurd predictions kept out of the top 10, the
reasons recorded per molecule, the range stored in the settings and shown in the HTML report; the old
behaviour (no range check) stays reachable."""
from __future__ import annotations

import json
from dataclasses import fields

import numpy as np
import pytest
from chem_helpers import tiny_model_folder
from lxml import html
from rdkit import Chem
from typer.testing import CliRunner

from serendip.chem.api import LoadedModel, load_model
from serendip.chem.design import optimize
from serendip.chem.design.property import PredictionRange, PropertyOracle
from serendip.chem.report import make_report
from serendip.cli.app import app
from serendip.errors import ConfigError, DataError

#: bigger than every training molecule (at most 12 heavy atoms): the toy adds 3 log units per extra atom
BIG = ["c1ccc(CCCCCCCCCC)cc1", "c1ccc(CCCCCCCC)cc1O", "Cc1ccc(CCCCCCC)cc1", "c1ccncc1CCCCCCCCC",
       "OCCCCCCCCCc1ccccc1"]


class Extrapolating(LoadedModel):
    """The tiny logP model plus ``3 * (heavy atoms - 12)`` for molecules bigger than any it was trained on."""

    def predict(self, smiles):
        cols = super().predict(smiles)
        heavy = np.array([Chem.MolFromSmiles(s).GetNumHeavyAtoms() for s in smiles])
        cols["prediction"] = cols["prediction"] + 3.0 * np.maximum(0, heavy - 12)
        return cols


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return tiny_model_folder(tmp_path_factory.mktemp("range") / "model")


@pytest.fixture(scope="module")
def toy(folder):
    model = load_model(folder)
    return Extrapolating(**{f.name: getattr(model, f.name) for f in fields(LoadedModel)})


def test_range_from_model_json_margins_and_errors():
    meta = {"target_stats": {"min": -11.6, "max": 1.58},
            "metrics": {"train_oof": {"rmse": 0.667}, "val": {"rmse": 0.71}}}
    r = PredictionRange.from_meta(meta, "rmse")
    assert (r.low, r.high, r.margin, r.source) == pytest.approx((-12.267, 2.247, 0.667, "out-of-fold RMSE on training"))
    assert r.check(2.2) is None and r.check(-12.2) is None
    assert r.check(3.9) == "prediction 3.900 above the training maximum 1.58 + 0.667 (out-of-fold RMSE on training)"
    assert r.check(-13.0).startswith("prediction -13.000 below the training minimum -11.6 - 0.667")
    val = PredictionRange.from_meta({**meta, "metrics": {"val": {"rmse": 0.71}}}, "rmse")
    assert (val.high, val.source) == pytest.approx((2.29, "validation RMSE"))
    assert PredictionRange.from_meta(meta, 0.0).high == 1.58                 # no margin: the training maximum
    for bad in ("sd", -0.1, float("nan")):
        with pytest.raises(ConfigError, match="range_margin must be"):
            PredictionRange.from_meta(meta, bad)
    with pytest.raises(DataError, match="neither an out-of-fold nor a validation RMSE"):
        PredictionRange.from_meta({"target_stats": {"min": 0, "max": 1}, "metrics": {}}, "rmse")
    with pytest.raises(DataError, match="no target_stats min/max"):
        PredictionRange.from_meta({"target_stats": {"median": 0}}, 1.0)


def test_absurd_predictions_are_outside_the_domain_and_out_of_the_top_10(toy, folder):
    meta = json.loads((folder / "model.json").read_text())
    stats, val_rmse = meta["target_stats"], meta["metrics"]["val"]["rmse"]
    guarded = PropertyOracle(toy, ad_min=0.0)
    assert guarded.range.high == pytest.approx(stats["max"] + val_rmse) and guarded.range.source == "validation RMSE"
    pool = toy.train_smiles[:20] + BIG
    evs = guarded.evaluate(pool)
    big = evs[20:]
    assert all(e.prediction > stats["max"] + 4 for e in big)                 # absurd: 4+ logP above any training
    assert all(not e.in_domain and e.score == 0.0 and e.feasible for e in big)
    assert all(len(e.outside) == 1 and "above the training maximum" in e.outside[0] for e in big)
    top = sorted(evs, key=lambda e: -e.score)[:10]
    assert not {e.smiles for e in top} & {e.smiles for e in big}
    assert all(e.in_domain and e.prediction <= guarded.range.high for e in top)
    # the old behaviour: no range check, so the toy's absurd molecules are the top 5
    loose = PropertyOracle(toy, ad_min=0.0, range_margin=None)
    old = sorted(loose.evaluate(pool), key=lambda e: -e.score)[:10]
    assert {e.smiles for e in old[:5]} == {e.smiles for e in big} and loose.settings()["prediction_range"] is None
    # a linear AD penalty does not lift an untrusted prediction
    linear = PropertyOracle(toy, ad_min=0.99, ad_penalty="linear").evaluate(BIG[:1])[0]
    assert linear.score == 0.0 and len(linear.outside) == 2 and linear.outside[0].startswith("AD ")


def test_optimize_with_the_guard_keeps_its_top_10_in_range(toy):
    kw = {"budget": 200, "seed": 0, "pool": toy.train_smiles, "population_size": 30, "offspring_size": 20}
    loose = PropertyOracle(toy, ad_min=0.0, range_margin=None)
    guarded = PropertyOracle(toy, ad_min=0.0)
    high = guarded.range.high
    old = loose.evaluate([s for s, _ in optimize(loose, "graph_ga", **kw).top10])
    assert max(e.prediction for e in old) > high                             # the optimiser finds the toy's flaw
    new = guarded.evaluate([s for s, sc in optimize(guarded, "graph_ga", **kw).top10 if sc > 0])
    assert len(new) == 10 and all(e.in_domain and e.prediction <= high for e in new)


def test_settings_and_report_record_the_guard(toy):
    oracle = PropertyOracle(toy, ad_min=0.0)
    rng = oracle.settings()["prediction_range"]
    assert rng["high"] == pytest.approx(oracle.range.high) and rng["source"] == "validation RMSE"
    report = make_report(oracle, toy.train_smiles[:3] + BIG[:1], excluded=BIG[1:3])
    tree = html.fromstring(report)
    objective = tree.xpath("string(//table[tr/th[text()='prediction range']])")
    assert f"{oracle.range.high:.3f}" in objective and "validation RMSE" in objective
    rows = {r.xpath("td")[2].text_content(): r.xpath("td")[11].text_content()
            for r in tree.xpath("//table[@id='scores']/tbody/tr")}
    assert rows[Chem.CanonSmiles(BIG[0])].startswith("outside the domain: prediction ")
    assert "above the training maximum" in rows[Chem.CanonSmiles(BIG[0])]
    excluded = tree.xpath("//table[@id='excluded']/tbody/tr")
    assert len(excluded) == 2 and all("above the training maximum" in r.xpath("td")[4].text_content()
                                      for r in excluded)
    plain = html.fromstring(make_report(PropertyOracle(toy, ad_min=0.0, range_margin=None), BIG[:1]))
    assert "not checked" in plain.xpath("string(//table[tr/th[text()='prediction range']])")
    assert not plain.xpath("//table[@id='excluded']")


def test_cli_range_margin(folder, tmp_path):
    runner = CliRunner()
    cands = tmp_path / "c.smi"
    cands.write_text("c1ccccc1O a\n")
    out = tmp_path / "r.html"
    ok = runner.invoke(app, ["chem", "report", str(cands), "--model", str(folder), "--out", str(out),
                             "--range-margin", "0.25"])
    assert ok.exit_code == 0, ok.output
    stats = json.loads((folder / "model.json").read_text())["target_stats"]
    text = html.fromstring(out.read_text()).xpath("string(//table[tr/th[text()='prediction range']])")
    assert f"{stats['max'] + 0.25:.3f}" in text and "given margin" in text
    for value in ("wide", "-1", "nan", "inf", "1e309"):   # one wording for every bad value
        bad = runner.invoke(app, ["chem", "report", str(cands), "--model", str(folder), "--out", str(out),
                                  "--range-margin", value])
        assert bad.exit_code == 2 and (f"--range-margin must be rmse, none or a number >= 0 (target units); "
                                       f"got: '{value}'") in " ".join(bad.output.split()), bad.output
    # without --model nothing is range-checked, but a bad value is still refused, not ignored
    no_model = runner.invoke(app, ["chem", "optimize", "qed", "--budget", "5", "--range-margin", "abc"])
    assert no_model.exit_code == 2 and "--range-margin must be" in no_model.output
