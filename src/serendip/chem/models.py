"""Property models in :data:`PROPERTY_MODELS`: forests and gradient boosting on fingerprints and
descriptors, Chemprop's D-MPNN, and ensembles of them with a spread.

Every model has ``task`` (``"regression"`` or ``"classification"``), ``fit(smiles, y, val_smiles,
val_y) -> self`` and ``predict(smiles) -> ndarray of shape (n,)`` (the value, or P(class 1)).
Ensembles also give ``predict_with_spread(smiles) -> (mean, sd over members)``.

* ``rf``: scikit-learn ``RandomForestRegressor/Classifier`` (Breiman 2001), 500 trees, on RDKit 2D
  descriptors (the issue's forest baseline); ``rf-morgan`` the same on Morgan bits.
* ``gbm``: LightGBM (Ke et al. 2017) on RDKit 2D + Morgan counts, early-stopped on the validation split.
* ``chemprop``: :class:`~serendip.chem.chemprop_backend.ChempropModel`.
* ``serendip``: the mean of ``rf``, ``rf-counts`` (300 trees on 2D + Morgan counts) and ``gbm``, its
  spread the sd of the three; ``serendip+chemprop`` adds Chemprop as a fourth member.
* ``serendip+chemprop-stack``: the same four members combined by weights fitted on the validation split
  (:func:`stack_weights`: stacked regression, Breiman 1996), the spread their weighted sd.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from serendip.chem.featurizers import featurize
from serendip.errors import ConfigError
from serendip.registry import Registry

__all__ = ["PROPERTY_MODELS", "EnsembleModel", "FeatureModel", "make_model", "stack_weights"]

TASKS = ("regression", "classification")


def _check_task(task: str) -> str:
    if task not in TASKS:
        raise ConfigError(f"task must be one of: {', '.join(TASKS)}; got: {task}")
    return task


@dataclass
class FeatureModel:
    """A scikit-learn-style estimator on a featurizer spec.

    Parameters
    ----------
    kind : {"rf", "gbm"}
        Random forest (scikit-learn) or LightGBM gradient boosting.
    features : str
        A featurizer spec (``"rdkit2d+morgan-counts"``; see :func:`~serendip.chem.featurizers.featurize`).
    task : {"regression", "classification"}
    seed : int, default 0
    params : dict
        Extra estimator parameters (override the defaults below).
    """

    kind: str
    features: str
    task: str = "regression"
    seed: int = 0
    params: dict = field(default_factory=dict)

    def _estimator(self):
        if self.kind == "rf":
            from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor

            cls = RandomForestRegressor if self.task == "regression" else RandomForestClassifier
            defaults = {"n_estimators": 500, "n_jobs": 2, "random_state": self.seed}
            if self.task == "regression":
                defaults["max_features"] = 0.33
            return cls(**{**defaults, **self.params})
        if self.kind == "gbm":
            import lightgbm as lgb

            cls = lgb.LGBMRegressor if self.task == "regression" else lgb.LGBMClassifier
            defaults = {"n_estimators": 3000, "learning_rate": 0.02, "num_leaves": 31, "min_child_samples": 10,
                        "subsample": 0.8, "subsample_freq": 1, "colsample_bytree": 0.2, "reg_lambda": 1.0,
                        # one thread: LightGBM's OpenMP threads spin-wait on busy shared cores (10x slower)
                        "n_jobs": 1, "random_state": self.seed, "verbose": -1}
            return cls(**{**defaults, **self.params})
        raise ConfigError(f"feature model kind must be one of: rf, gbm; got: {self.kind}")

    def fit(self, smiles: Sequence[str], y: np.ndarray, val_smiles: Sequence[str] = (),
            val_y: np.ndarray | None = None) -> FeatureModel:
        """Fit on (``smiles``, ``y`` of shape (n,)); LightGBM stops early on the validation split
        (100 rounds without improvement) when it is given. Returns self."""
        _check_task(self.task)
        X = featurize(smiles, self.features)
        y = np.asarray(y, np.float64)
        self.model_ = self._estimator()
        if self.kind == "gbm" and len(val_smiles):
            import inspect

            import lightgbm as lgb

            Xv = featurize(val_smiles, self.features)
            yv = np.asarray(val_y, np.float64)
            yv = yv if self.task == "regression" else yv.astype(int)
            # LightGBM >= 4.6 takes eval_X / eval_y (eval_set is deprecated there)
            new_api = "eval_X" in inspect.signature(self.model_.fit).parameters
            evals = {"eval_X": (Xv,), "eval_y": (yv,)} if new_api else {"eval_set": [(Xv, yv)]}
            self.model_.fit(X, y if self.task == "regression" else y.astype(int), **evals,
                            callbacks=[lgb.early_stopping(100, verbose=False)])
        else:
            self.model_.fit(X, y if self.task == "regression" else y.astype(int))
        return self

    def predict(self, smiles: Sequence[str]) -> np.ndarray:
        """Value (regression) or P(class 1), shape (n,), float64."""
        X = featurize(smiles, self.features)
        if self.task == "regression":
            return np.asarray(self.model_.predict(X), np.float64)
        return np.asarray(self.model_.predict_proba(X)[:, 1], np.float64)


@dataclass
class EnsembleModel:
    """The (weighted) mean of member models; the spread is the (weighted) sd over members (ddof=0).

    Parameters
    ----------
    members : list of models
        Each with ``fit`` / ``predict`` as above, all with the same task.
    stack : bool, default False
        Fit member weights on the validation split (:func:`stack_weights`) after the members; equal
        weights when no validation split is given.
    """

    members: list
    task: str = "regression"
    stack: bool = False
    weights_: np.ndarray | None = field(default=None, repr=False)

    def fit(self, smiles, y, val_smiles=(), val_y=None) -> EnsembleModel:
        """Fit every member on the same data (then the weights, with ``stack``). Returns self."""
        for m in self.members:
            m.fit(smiles, y, val_smiles, val_y)
        self.weights_ = None
        if self.stack and len(val_smiles) and len(self.members) > 1:
            self.weights_ = stack_weights(self.predict_members(val_smiles), np.asarray(val_y, np.float64))
        return self

    def predict_members(self, smiles: Sequence[str]) -> np.ndarray:
        """Member predictions, shape (n_members, n), float64."""
        return np.stack([m.predict(smiles) for m in self.members])

    def predict_with_spread(self, smiles: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """(mean, sd over members), each of shape (n,), float64; weighted by ``weights_`` when fitted."""
        return weighted_mean_sd(self.predict_members(smiles), self.weights_)

    def predict(self, smiles: Sequence[str]) -> np.ndarray:
        return self.predict_with_spread(smiles)[0]


def weighted_mean_sd(p: np.ndarray, weights: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """Weighted mean and sd (ddof=0) over axis 0 of ``p`` (n_members, n); equal weights when None."""
    w = np.full(len(p), 1.0 / len(p)) if weights is None else np.asarray(weights, np.float64)
    mean = w @ p
    return mean, np.sqrt(np.maximum(w @ (p - mean) ** 2, 0.0))


def stack_weights(p: np.ndarray, y: np.ndarray, penalty: float = 1e3) -> np.ndarray:
    """Non-negative member weights summing to 1 that minimise the squared error of ``weights @ p`` on ``y``.

    Stacked regression (Breiman 1996, Machine Learning 24:49-64: non-negative least squares on the
    members' held-out predictions); the sum-to-one constraint (a convex combination, so the ensemble
    stays in the members' range and a classifier's output stays a probability) is imposed by a row
    ``penalty * (1, ..., 1) = penalty`` appended to SciPy's NNLS (Lawson & Hanson 1974).

    Parameters
    ----------
    p : ndarray of shape (n_members, n)
        Member predictions on held-out molecules (the validation split).
    y : ndarray of shape (n,)
        Their targets (0/1 for classification: a Brier-score fit).

    Returns
    -------
    ndarray of shape (n_members,), float64, >= 0, summing to 1 (equal weights when NNLS returns none).
    """
    from scipy.optimize import nnls

    p, y = np.asarray(p, np.float64), np.asarray(y, np.float64)
    a = np.vstack([p.T, np.full((1, len(p)), penalty)])
    w, _ = nnls(a, np.append(y, penalty))
    return w / w.sum() if w.sum() > 0 else np.full(len(p), 1.0 / len(p))


def _chemprop(task: str, seed: int):
    from serendip.chem.chemprop_backend import ChempropModel

    return ChempropModel(task=task, seed=seed)


PROPERTY_MODELS: Registry[Callable[[str, int], object]] = Registry("property model")
PROPERTY_MODELS.add("rf", lambda task, seed: FeatureModel("rf", "rdkit2d", task, seed))
PROPERTY_MODELS.add("rf-morgan", lambda task, seed: FeatureModel("rf", "morgan", task, seed))
PROPERTY_MODELS.add("rf-counts", lambda task, seed: FeatureModel("rf", "rdkit2d+morgan-counts", task, seed,
                                                                 {"n_estimators": 300, "max_features": 0.2}))
PROPERTY_MODELS.add("gbm", lambda task, seed: FeatureModel("gbm", "rdkit2d+morgan-counts", task, seed))
PROPERTY_MODELS.add("chemprop", _chemprop)
PROPERTY_MODELS.add("serendip", lambda task, seed: EnsembleModel(
    [make_model(n, task, seed) for n in ("rf", "rf-counts", "gbm")], task))
PROPERTY_MODELS.add("serendip+chemprop", lambda task, seed: EnsembleModel(
    [make_model(n, task, seed) for n in ("rf", "rf-counts", "gbm", "chemprop")], task))
PROPERTY_MODELS.add("serendip+chemprop-stack", lambda task, seed: EnsembleModel(
    [make_model(n, task, seed) for n in ("rf", "rf-counts", "gbm", "chemprop")], task, stack=True))


def make_model(name: str, task: str = "regression", seed: int = 0):
    """A new, unfitted model ``name`` (a :data:`PROPERTY_MODELS` key) for ``task`` with ``seed``.

    Raises
    ------
    ConfigError
        Unknown name (lists the registered ones) or task.
    """
    return PROPERTY_MODELS.get(name)(_check_task(task), seed)
