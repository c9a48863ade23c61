"""The property-model objective: logistic desirability of the prediction, constraints (QED, PAINS) on
molecules whose values are known, the applicability-domain penalty, and use by optimize()."""
from __future__ import annotations

import json
import math

import pytest
from chem_helpers import tiny_model_folder

from serendip.chem.design import optimize
from serendip.chem.design.property import (
    AD_PENALTIES,
    CONSTRAINTS,
    PropertyOracle,
    best,
)
from serendip.errors import ConfigError, DataError

RHODANINE = "O=C1NC(=S)SC1=Cc1ccccc1"      # PAINS ene_rhod_A(235) (test_filters.py)
HEXADECANE = "CCCCCCCCCCCCCCCC"             # far from the benzenes / pyridines / cyclohexanes trained on


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return tiny_model_folder(tmp_path_factory.mktemp("prop") / "model")


def test_training_molecule_scores_its_logistic_desirability(folder):
    oracle = PropertyOracle(folder)
    stats = json.loads((folder / "model.json").read_text())["target_stats"]
    smi = oracle.model.train_smiles[0]
    ev = oracle.evaluate([smi])[0]
    pred = float(oracle.model.predict([smi])["prediction"][0])
    want = 1 / (1 + math.exp(-(pred - stats["median"]) / stats["sd"]))
    assert ev.ad == pytest.approx(1.0) and ev.in_domain and ev.feasible
    assert ev.prediction == pytest.approx(pred) and ev.score == pytest.approx(want) and oracle(smi) == pytest.approx(want)
    low = PropertyOracle(folder, goal="minimize").evaluate([smi])[0]
    assert low.objective == pytest.approx(-pred) and low.score == pytest.approx(1 - want)


def test_outside_the_domain_zero_or_scaled(folder):
    zero = PropertyOracle(folder, ad_min=0.4).evaluate([HEXADECANE])[0]
    assert zero.ad < 0.4 and not zero.in_domain and zero.feasible and zero.score == 0.0
    linear = PropertyOracle(folder, ad_min=0.4, ad_penalty="linear").evaluate([HEXADECANE])[0]
    assert linear.score == pytest.approx(linear.desirability * linear.ad / 0.4) and linear.score > 0
    inside = PropertyOracle(folder, ad_min=0.0).evaluate([HEXADECANE])[0]
    assert inside.in_domain and inside.score == pytest.approx(inside.desirability)


def test_qed_constraint_on_known_qed_values(folder):
    # RDKit QED docstring: famotidine 0.253; benzene's QED is 0.443 (Bickerton et al.'s desirabilities)
    oracle = PropertyOracle(folder, qed_min=0.6, ad_min=0.0)
    famotidine, benzene = oracle.evaluate(["N=C(CCSCc1csc(N=C(N)N)n1)NS(N)(=O)=O", "c1ccccc1"])
    assert famotidine.qed == pytest.approx(0.253, abs=1e-3) and benzene.qed == pytest.approx(0.443, abs=1e-3)
    assert famotidine.violations == ["QED 0.253 < 0.6"] and famotidine.score == 0.0 and not famotidine.feasible
    assert benzene.score == 0.0
    ok = PropertyOracle(folder, qed_min=0.4, ad_min=0.0).evaluate(["c1ccccc1"])[0]
    assert ok.feasible and ok.score == pytest.approx(ok.desirability) and ok.score > 0


def test_pains_constraint_zeroes_the_rhodanine_only_when_asked(folder):
    free = PropertyOracle(folder, ad_min=0.0).evaluate([RHODANINE])[0]
    assert free.pains == ["ene_rhod_A(235)"] and free.feasible and free.score > 0
    strict = PropertyOracle(folder, constraints=["no_pains"], ad_min=0.0).evaluate([RHODANINE, "CN1CCC[C@H]1c1cccnc1"])
    assert strict[0].violations == ["PAINS: ene_rhod_A(235)"] and strict[0].score == 0.0
    assert strict[1].feasible and strict[1].score > 0                       # nicotine: no alert
    brenk = PropertyOracle(folder, constraints=["no_brenk"], ad_min=0.0).evaluate([RHODANINE])[0]
    assert brenk.violations == ["Brenk: Michael_acceptor_1; Thiocarbonyl_group"]


def test_invalid_smiles_and_bad_settings(folder, tmp_path):
    ev = PropertyOracle(folder).evaluate(["C1CC", ""])
    assert [(e.valid, e.score) for e in ev] == [(False, 0.0), (False, 0.0)]
    for kwargs, msg in (({"goal": "up"}, "maximize, minimize"), ({"constraints": ["no_such"]}, "no_pains"),
                        ({"ad_penalty": "cliff"}, "linear"), ({"qed_min": 1.5}, r"qed_min must be in \[0, 1\]"),
                        ({"constraints": ["qed_min"]}, "needs a threshold")):
        with pytest.raises(ConfigError, match=msg):
            PropertyOracle(folder, **kwargs)
    meta = json.loads((folder / "model.json").read_text())
    old = tmp_path / "old"
    old.mkdir()
    for f in folder.iterdir():
        (old / f.name).write_bytes(f.read_bytes())
    del meta["target_stats"]
    (old / "model.json").write_text(json.dumps(meta))
    with pytest.raises(DataError, match="no target_stats"):
        PropertyOracle(old)


def test_registries_are_exercised():
    assert {"qed_min", "no_pains", "no_brenk", "lipinski"} == set(CONSTRAINTS.keys())
    assert {"zero", "linear"} == set(AD_PENALTIES.keys())


def test_optimize_with_a_property_oracle_from_the_training_set(folder):
    oracle = PropertyOracle(folder, qed_min=0.4, constraints=["no_pains", "lipinski"])
    res = optimize(oracle, "surrogate_ga", budget=60, seed=0, pool=oracle.model.train_smiles,
                   population_size=20, offspring_size=10)
    assert res.oracle == "maximize_logp" and 20 <= res.calls <= 60
    assert all(0.0 <= s <= 1.0 for _, s in res.history)
    top = oracle.evaluate([s for s, _ in res.top10])
    assert [e.score for e in top] == pytest.approx([s for _, s in res.top10])
    bar = best(oracle.score_training_set())
    assert bar is not None and bar.ad == pytest.approx(1.0)
    assert all(e.feasible and e.in_domain for e in top if e.score > 0)
