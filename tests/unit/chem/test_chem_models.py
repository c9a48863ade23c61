"""Property models: forests saved as arrays predict as scikit-learn does, conformal coverage, applicability
domain, train/save/load/predict through the API, and a one-epoch Chemprop smoke run."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from chem_helpers import small_set

from serendip.chem import (
    PROPERTY_MODELS,
    ApplicabilityDomain,
    SplitConformal,
    make_model,
)
from serendip.chem.api import load_model, predict, train
from serendip.chem.models import EnsembleModel, FeatureModel
from serendip.chem.persist import ForestArrays
from serendip.errors import ConfigError, DataError


def _logp(smiles: list[str]) -> np.ndarray:
    from rdkit import Chem
    from rdkit.Chem import Crippen

    return np.array([Crippen.MolLogP(Chem.MolFromSmiles(s)) for s in smiles])


@pytest.mark.parametrize("task", ["regression", "classification"])
def test_forest_arrays_predict_like_sklearn_with_nan(task: str, tmp_path: Path) -> None:
    from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor

    rng = np.random.default_rng(0)
    X = rng.normal(size=(80, 5))
    X[rng.random(X.shape) < 0.1] = np.nan
    y = np.nan_to_num(X[:, 0]) + rng.normal(scale=0.1, size=80)
    cls = RandomForestRegressor if task == "regression" else RandomForestClassifier
    forest = cls(n_estimators=15, random_state=0).fit(X, y if task == "regression" else (y > 0).astype(int))
    ForestArrays.from_sklearn(forest, task).save(tmp_path / "f.npz")
    loaded = ForestArrays.load(tmp_path / "f.npz", task)
    Xt = rng.normal(size=(30, 5))
    Xt[::4, 0] = np.nan
    want = forest.predict(Xt) if task == "regression" else forest.predict_proba(Xt)[:, 1]
    np.testing.assert_allclose(loaded.predict(Xt), want, rtol=1e-12, atol=1e-12)


def test_split_conformal_coverage_and_errors() -> None:
    rng = np.random.default_rng(1)
    sigma_val, sigma_test = rng.uniform(0.2, 2, 500), rng.uniform(0.2, 2, 5000)
    y_val, y_test = rng.normal(scale=sigma_val), rng.normal(scale=sigma_test)
    for sig in (None, (sigma_val, sigma_test)):
        cp = SplitConformal(alpha=0.1).fit(y_val, np.zeros(500), None if sig is None else sig[0])
        lo, hi = cp.interval(np.zeros(5000), None if sig is None else sig[1])
        assert 0.88 <= np.mean((y_test >= lo) & (y_test <= hi)) <= 0.93
    # spread-normalised intervals are narrower on average where the noise really follows the spread
    assert np.mean(hi - lo) < 2 * SplitConformal(0.1).fit(y_val, np.zeros(500)).q_
    with pytest.raises(DataError, match="at least 9 points"):
        SplitConformal(alpha=0.1).fit(np.zeros(5), np.zeros(5))


def test_applicability_domain_scores_and_round_trip() -> None:
    train_smi = ["CCO", "c1ccccc1O", "CC(=O)Nc1ccc(O)cc1"]
    ad = ApplicabilityDomain().fit(train_smi)
    sims, nearest = ad.score(["c1ccccc1O", "CCCCCCCCCCCCCCCC", "CC(=O)Nc1ccc(OC)cc1"])
    assert sims[0] == 1.0 and nearest[0] == 1 and sims[1] < 0.3 and nearest[2] == 2 and 0.3 < sims[2] < 1
    again = ApplicabilityDomain.from_bits(ad.to_bits())
    np.testing.assert_array_equal(again.score(["CCN", "c1ccccc1"])[0], ad.score(["CCN", "c1ccccc1"])[0])


def test_registry_and_errors() -> None:
    assert {"rf", "gbm", "chemprop", "serendip", "serendip+chemprop"} <= set(PROPERTY_MODELS)
    with pytest.raises(ConfigError, match="task must be one of"):
        make_model("rf", "ranking")
    with pytest.raises(ConfigError, match="expected one of"):
        make_model("svm")


def _tiny_ensemble(task: str, seed: int) -> EnsembleModel:
    """rf + gbm, small, so the API test runs in seconds."""
    return EnsembleModel([FeatureModel("rf", "morgan-counts", task, seed, {"n_estimators": 30}),
                          FeatureModel("gbm", "maccs", task, seed, {"n_estimators": 60})], task)


def test_train_save_load_predict(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setitem(PROPERTY_MODELS._items, "tiny-ensemble", _tiny_ensemble)
    smi = small_set()[:120]
    data = tmp_path / "train.csv"
    data.write_text("name,smiles,logp\n" + "".join(f"m{i},{s},{v:.4f}\n" for i, (s, v) in enumerate(zip(smi, _logp(smi))))
                    + "bad,C1CC,1.0\n")
    res = train(data, "logp", model="tiny-ensemble", split="random", seed=0, out=tmp_path / "model")
    assert res.task == "regression" and (res.split.kind, res.split.seed) == ("random", 0)
    assert [(i.line, i.name) for i in res.issues] == [(len(smi) + 2, "bad")]
    assert res.metrics["test"]["rmse"] < np.std(_logp(smi)) and not res.notes   # learned something
    assert {"rmse", "mae", "r2", "conformal90_coverage"} <= set(res.metrics["test"])
    query = tmp_path / "query.smi"
    query.write_text(f"{smi[0]} first\nCCCCCCCCCCCCCCCC long\nC1CC broken\n")
    rows, ms = predict(tmp_path / "model", query)
    assert [r["name"] for r in rows] == ["first", "long"] and [i.line for i in ms.issues] == [3]
    loaded = load_model(tmp_path / "model")
    assert loaded.meta["split"]["kind"] == "random" and loaded.meta["task"] == "regression"
    mean, sd = res.fitted.predict_with_spread([rows[0]["smiles"], rows[1]["smiles"]])
    np.testing.assert_allclose([r["prediction"] for r in rows], mean, rtol=1e-9)
    np.testing.assert_allclose([r["sd"] for r in rows], sd, rtol=1e-9, atol=1e-12)
    assert all(r["lower"] < r["prediction"] < r["upper"] for r in rows)
    assert rows[0]["ad_max_tanimoto"] > rows[1]["ad_max_tanimoto"]
    with pytest.raises(DataError, match="no model.json"):
        load_model(tmp_path)


@pytest.mark.slow
def test_chemprop_one_epoch_smoke(tmp_path: Path) -> None:
    pytest.importorskip("chemprop")
    smi = small_set()[:24]
    y = _logp(smi)
    m = make_model("chemprop", "regression", seed=0)
    m.epochs = 1
    m.fit(smi[:16], y[:16], smi[16:20], y[16:20])
    p = m.predict(smi[20:])
    assert p.shape == (4,) and np.isfinite(p).all()
    # one molecule: chemprop's loader used to drop it (a last batch of one) and predict raised
    np.testing.assert_allclose(m.predict(smi[20:21]), p[:1], rtol=1e-5)
    assert m.predict([]).shape == (0,)
    again = type(m).load(m.save(tmp_path / "cp.pt"), "regression")
    np.testing.assert_allclose(again.predict(smi[20:]), p, rtol=1e-5)


def test_keep_all_batch_size_never_leaves_a_last_batch_of_one() -> None:
    from serendip.chem.chemprop_backend import keep_all_batch_size

    assert [keep_all_batch_size(n, 256) for n in (0, 1, 2, 256, 257, 513, 1000)] == [1, 1, 2, 256, 255, 255, 256]
    for n in range(1, 2000):
        size = keep_all_batch_size(n, 64)
        assert 1 <= size <= 64 and (size == 1 or n % size != 1), n


def test_stack_weights_convex_and_least_squares() -> None:
    from serendip.chem.models import stack_weights

    rng = np.random.default_rng(0)
    y = rng.normal(size=400)
    exact, noisy = y.copy(), y + rng.normal(scale=1.0, size=400)
    w = stack_weights(np.stack([noisy, exact]), y)
    np.testing.assert_allclose(w, [0.0, 1.0], atol=1e-3)                 # the exact member takes it all
    # two unbiased members with independent errors of sd 1 and 2: the least-squares convex weights are
    # near inverse-variance (0.8, 0.2)
    a, b = y + rng.normal(scale=1.0, size=400), y + rng.normal(scale=2.0, size=400)
    w = stack_weights(np.stack([a, b]), y)
    assert w.sum() == pytest.approx(1.0) and (w >= 0).all() and 0.7 < w[0] < 0.9
    p = np.stack([a, b])
    best = np.mean((w @ p - y) ** 2)
    for t in np.linspace(0, 1, 21):                                     # no convex mix on the grid does better
        assert best <= np.mean(((t * a + (1 - t) * b) - y) ** 2) + 1e-9


def test_stacked_ensemble_saved_and_loaded_with_its_weights(tmp_path: Path, monkeypatch) -> None:
    def stacked(task: str, seed: int) -> EnsembleModel:
        return EnsembleModel(_tiny_ensemble(task, seed).members, task, stack=True)

    monkeypatch.setitem(PROPERTY_MODELS._items, "tiny-stack", stacked)
    smi = small_set()[:120]
    data = tmp_path / "train.csv"
    data.write_text("smiles,logp\n" + "".join(f"{s},{v:.4f}\n" for s, v in zip(smi, _logp(smi))))
    res = train(data, "logp", model="tiny-stack", split="random", seed=0, out=tmp_path / "model")
    w = res.fitted.weights_
    assert w is not None and w.shape == (2,) and w.sum() == pytest.approx(1.0) and (w >= 0).all()
    loaded = load_model(tmp_path / "model")
    assert loaded.meta["weights"] == pytest.approx(list(w))
    got = loaded.predict(smi[:5])
    members = res.fitted.predict_members(smi[:5])
    np.testing.assert_allclose(got["prediction"], w @ members, rtol=1e-9)
    np.testing.assert_allclose(got["sd"], np.sqrt(w @ (members - w @ members) ** 2), rtol=1e-9, atol=1e-12)
