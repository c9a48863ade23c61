"""Property models to files and back, without pickles (bm25s' rule: arrays + JSON).

* a scikit-learn forest: every tree's arrays (``children_left``, ``children_right``, ``feature``,
  ``threshold``, ``missing_go_to_left``, ``value``) in one ``.npz``; :class:`ForestArrays` predicts
  from them exactly as scikit-learn does (inputs cast to float32 as its trees do, NaN sent the way
  the tree learned);
* LightGBM: its own text model (``Booster.save_model``);
* Chemprop: chemprop's own checkpoint (``chemprop.models.save_model``).
"""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from serendip.chem.featurizers import featurize
from serendip.errors import DataError

__all__ = ["ForestArrays", "load_member", "save_member"]


class ForestArrays:
    """A fitted scikit-learn random forest held as plain arrays.

    Parameters
    ----------
    trees : list of dict of str to ndarray
        Per tree: ``left``, ``right`` (int64, -1 at leaves), ``feature`` (int64), ``threshold``
        (float64), ``nan_left`` (uint8), ``value`` (float64 of shape (n_nodes, n_outputs)).
    task : {"regression", "classification"}
    """

    #: rows walked at once by :meth:`predict` (memory ~ CHUNK x n_trees x 8 bytes per temporary)
    CHUNK = 512

    def __init__(self, trees: list[dict[str, np.ndarray]], task: str):
        self.trees, self.task = trees, task
        self._flat = None

    @classmethod
    def from_sklearn(cls, forest, task: str) -> ForestArrays:
        trees = []
        for est in forest.estimators_:
            t = est.tree_
            value = t.value[:, 0, :].astype(np.float64)
            if task == "classification":
                value = value / np.clip(value.sum(axis=1, keepdims=True), 1e-300, None)
            nan_left = getattr(t, "missing_go_to_left", np.zeros(t.node_count, np.uint8))
            trees.append({"left": t.children_left.astype(np.int64), "right": t.children_right.astype(np.int64),
                          "feature": t.feature.astype(np.int64), "threshold": t.threshold.astype(np.float64),
                          "nan_left": np.asarray(nan_left, np.uint8), "value": value})
        return cls(trees, task)

    def _flatten(self) -> dict[str, np.ndarray]:
        """Every tree's nodes in one set of arrays (child indices shifted by each tree's offset), so that
        all trees are walked together: one numpy step per depth level instead of one per tree and level."""
        if self._flat is None:
            sizes = np.array([len(t["left"]) for t in self.trees], dtype=np.int64)
            offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]])
            shift = lambda key: np.concatenate([np.where(t[key] == -1, -1, t[key] + off)  # noqa: E731
                                                for t, off in zip(self.trees, offsets)])
            self._flat = {"roots": offsets, "left": shift("left"), "right": shift("right"),
                          **{k: np.concatenate([t[k] for t in self.trees]) for k in ("feature", "threshold",
                                                                                     "nan_left", "value")}}
        return self._flat

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Value (regression) or P(class 1) (classification), shape (n,), float64: the mean over trees of
        each tree's leaf value, every (row, tree) pair walked down at once."""
        X = np.asarray(X, dtype=np.float32).astype(np.float64)
        if len(X) > self.CHUNK:                                  # bounded memory: (CHUNK, n_trees) at a time
            return np.concatenate([self.predict(X[i:i + self.CHUNK]) for i in range(0, len(X), self.CHUNK)])
        f = self._flatten()
        node = np.broadcast_to(f["roots"], (len(X), len(f["roots"]))).copy()   # (n_rows, n_trees)
        rows = np.arange(len(X))[:, None]
        while True:
            inner = f["left"][node] != -1
            if not inner.any():
                break
            x = X[rows, np.where(inner, f["feature"][node], 0)]
            left = np.where(np.isnan(x), f["nan_left"][node].astype(bool), x <= f["threshold"][node])
            node = np.where(inner, np.where(left, f["left"][node], f["right"][node]), node)
        out = f["value"][node].mean(axis=1)                                     # (n_rows, n_outputs)
        return out[:, 0] if self.task == "regression" else out[:, 1]

    def save(self, path: Path) -> None:
        arrays = {f"{i}_{k}": v for i, t in enumerate(self.trees) for k, v in t.items()}
        np.savez_compressed(path, n_trees=np.array(len(self.trees)), **arrays)

    @classmethod
    def load(cls, path: Path, task: str) -> ForestArrays:
        with np.load(path, allow_pickle=False) as z:
            n = int(z["n_trees"])
            keys = ("left", "right", "feature", "threshold", "nan_left", "value")
            return cls([{k: z[f"{i}_{k}"] for k in keys} for i in range(n)], task)


class _Loaded:
    """A member read back: ``predict(smiles) -> ndarray (n,)`` through its featurizer."""

    def __init__(self, kind: str, features: str | None, task: str, model):
        self.kind, self.features, self.task, self.model = kind, features, task, model

    def predict(self, smiles: Sequence[str], memo: dict[str, np.ndarray] | None = None) -> np.ndarray:
        """Predictions of shape (n,); ``memo`` (featurizer name -> feature block of ``smiles``) lets the
        members of one ensemble call featurise each block once."""
        if self.kind == "chemprop":
            return self.model.predict(smiles)
        if memo is None:
            X = featurize(smiles, self.features, cache=False)  # a library to screen: no process-wide cache
        else:
            for name in self.features.split("+"):
                if name not in memo:
                    memo[name] = featurize(smiles, name, cache=False)
            X = np.hstack([memo[name] for name in self.features.split("+")])
        if self.kind == "rf":
            return self.model.predict(X)
        raw = self.model.predict(X)  # LightGBM Booster: value, or P(class 1) for a binary objective
        return np.asarray(raw, np.float64)


def save_member(member, folder: Path, index: int) -> dict:
    """Write one fitted member (a :class:`~serendip.chem.models.FeatureModel` or a Chempropmodel) into
    ``folder``; returns its JSON entry ``{"kind", "features", "file"}``."""
    from serendip.chem.chemprop_backend import ChempropModel

    if isinstance(member, ChempropModel):
        name = f"member{index}-chemprop.pt"
        member.save(folder / name)
        return {"kind": "chemprop", "features": None, "file": name}
    if member.kind == "rf":
        name = f"member{index}-rf.npz"
        ForestArrays.from_sklearn(member.model_, member.task).save(folder / name)
    elif member.kind == "gbm":
        name = f"member{index}-gbm.txt"
        member.model_.booster_.save_model(str(folder / name))
    else:  # pragma: no cover - FeatureModel refuses other kinds when fitted
        raise DataError(f"cannot save a {member.kind!r} member")
    return {"kind": member.kind, "features": member.features, "file": name}


def load_member(entry: dict, folder: Path, task: str) -> _Loaded:
    """A member written by :func:`save_member`.

    Raises
    ------
    DataError
        The member's file is missing (names it).
    """
    path = folder / entry["file"]
    if not path.is_file():
        raise DataError(f"{path}: model file missing; train the model again")
    if entry["kind"] == "chemprop":
        from serendip.chem.chemprop_backend import ChempropModel

        return _Loaded("chemprop", None, task, ChempropModel.load(path, task))
    if entry["kind"] == "rf":
        return _Loaded("rf", entry["features"], task, ForestArrays.load(path, task))
    import lightgbm as lgb

    return _Loaded("gbm", entry["features"], task, lgb.Booster(model_file=str(path)))
