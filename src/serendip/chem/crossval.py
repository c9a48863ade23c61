"""Out-of-fold predictions of a property model on its own training molecules.

A model predicts the molecules it was fitted on far better than new ones (a forest's in-sample
prediction sits close to the measured value). A design objective scores *new* molecules, so the fair
"best training molecule" to beat is the one with the best prediction made *without* it: each training
molecule predicted by a model fitted on the other folds (k-fold cross-validation; Hastie, Tibshirani &
Friedman 2009, *The Elements of Statistical Learning*, section 7.10). The same estimate gives the
training set's cross-validated error.
"""
from __future__ import annotations

import csv
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from serendip.chem.models import make_model
from serendip.errors import ConfigError, DataError

__all__ = ["TRAIN_PREDICTIONS", "out_of_fold", "read_train_predictions", "write_train_predictions"]

#: the file of a model folder holding each training molecule's measured value and out-of-fold prediction
TRAIN_PREDICTIONS = "train_predictions.csv"
_HEADER = ["smiles", "measured", "out_of_fold"]


def out_of_fold(model: str, task: str, smiles: Sequence[str], y: np.ndarray, *, folds: int = 5, seed: int = 0,
                val_smiles: Sequence[str] = (), val_y: np.ndarray | None = None) -> np.ndarray:
    """Each molecule of ``smiles`` predicted by ``model`` fitted on the other ``folds - 1`` folds.

    Parameters
    ----------
    model : str
        A :data:`~serendip.chem.models.PROPERTY_MODELS` name; a fresh model (``seed``) per fold.
    task : {"regression", "classification"}
    smiles : sequence of str, length n
    y : ndarray of shape (n,)
        Targets (float; 0/1 for classification).
    folds : int, default 5
        Shuffled k-fold (scikit-learn ``KFold``, ``random_state=seed``).
    seed : int, default 0
    val_smiles, val_y : optional
        The validation split, passed to every fold's ``fit`` (early stopping of the boosted members);
        never predicted here.

    Returns
    -------
    ndarray of shape (n,), float64: the value (regression) or P(class 1) (classification).

    Raises
    ------
    ConfigError
        ``folds`` below 2 or above n; an unknown model or task.
    """
    from sklearn.model_selection import KFold

    smiles, y = list(smiles), np.asarray(y, dtype=np.float64)
    if len(smiles) != len(y):
        raise ConfigError(f"{len(smiles)} molecules but {len(y)} targets")
    if not 2 <= folds <= len(smiles):
        raise ConfigError(f"out-of-fold predictions need 2 <= folds <= {len(smiles)} (the molecules); got {folds}")
    out = np.full(len(smiles), np.nan)
    for fit_idx, held_idx in KFold(folds, shuffle=True, random_state=seed).split(smiles):
        fitted = make_model(model, task, seed).fit([smiles[i] for i in fit_idx], y[fit_idx], list(val_smiles), val_y)
        out[held_idx] = fitted.predict([smiles[i] for i in held_idx])
    return out


def write_train_predictions(path: Path, smiles: Sequence[str], measured: np.ndarray,
                            oof: np.ndarray | None) -> None:
    """``smiles,measured,out_of_fold`` one row per training molecule (``out_of_fold`` empty when not
    computed); values as Python's ``repr`` of the float64, so they read back exactly."""
    cell = lambda v: "" if v is None or not math.isfinite(v) else repr(float(v))  # noqa: E731
    with Path(path).open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(_HEADER)
        for i, smi in enumerate(smiles):
            w.writerow([smi, cell(measured[i]), cell(None if oof is None else oof[i])])


def read_train_predictions(folder: str | Path | None, meta: dict, train_smiles: Sequence[str]) -> dict[str, np.ndarray]:
    """``{"measured", "out_of_fold"}``, each shape (n,) float64 in ``train_smiles`` order (NaN where empty),
    from the model folder's :data:`TRAIN_PREDICTIONS`.

    Raises
    ------
    DataError
        No such file (a model trained before it was written: train again), another header, rows that
        do not match ``train.smi``, or a value that is not a finite number (naming the line).
    """
    if folder is None or not meta.get("train_predictions"):
        raise DataError(f"{folder or 'the model'}: no {TRAIN_PREDICTIONS}; train the model again with this version")
    path = Path(folder) / meta["train_predictions"]
    try:
        with path.open(newline="", encoding="utf-8") as fh:
            rows = list(csv.reader(fh))
    except OSError as exc:
        raise DataError(f"{path}: cannot read ({exc.strerror or exc})") from None
    if not rows or rows[0] != _HEADER:
        raise DataError(f"{path}, line 1: expected the header {','.join(_HEADER)}; got {rows[0] if rows else 'nothing'!r}")
    if len(rows) - 1 != len(train_smiles):
        body = [r[0] if r else "" for r in rows[1:]]
        i = next((i for i, (a, b) in enumerate(zip(body, train_smiles)) if a != b), min(len(body), len(train_smiles)))
        got = repr(rows[i + 1]) if i + 1 < len(rows) else "the end of the file"
        want = repr(train_smiles[i]) if i < len(train_smiles) else "the end of the file"
        raise DataError(f"{path}: {len(rows) - 1} rows for {len(train_smiles)} training molecules in train.smi; "
                        f"first difference at line {i + 2}: expected {want}, got {got}")
    out = {"measured": np.full(len(train_smiles), np.nan), "out_of_fold": np.full(len(train_smiles), np.nan)}
    for i, row in enumerate(rows[1:]):
        if len(row) != 3 or row[0] != train_smiles[i]:
            raise DataError(f"{path}, line {i + 2}: expected {train_smiles[i]!r} and two values; got {row!r}")
        try:
            for key, cell in zip(("measured", "out_of_fold"), row[1:]):
                out[key][i] = float(cell) if cell else np.nan
                if cell and not math.isfinite(out[key][i]):
                    raise ValueError(cell)
        except ValueError:
            raise DataError(f"{path}, line {i + 2}: not a finite number in {row[1:]!r} (an empty field is "
                            f"'not computed')") from None
    return out
