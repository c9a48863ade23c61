"""Validation and test figures of a property model, with every undefined figure named, never a number.

Regression: RMSE, MAE and R² (scikit-learn's ``r2_score``). R² divides by the variance of the targets:
on a split whose targets are all equal it is undefined (scikit-learn then returns 0.0 or 1.0 by
convention, ``force_finite=True``; a number that reads like a result), so it is ``None`` here with the
reason. Classification: accuracy at 0.5, ROC-AUC (``roc_auc_score``) and PR-AUC (average precision,
``average_precision_score``; Davis & Goadrich 2006). Both ranking figures need positives *and*
negatives in the split: with one class only they are ``None`` with the reason (scikit-learn raises or
warns and returns 0.0 / NaN).
"""
from __future__ import annotations

import numpy as np

__all__ = ["score_predictions"]


def _constant(y: np.ndarray) -> str | None:
    if len(y) < 2:
        return f"{len(y)} target value(s); R² needs at least 2"
    if np.ptp(y) == 0:
        return f"all {len(y)} targets equal {float(y[0]):g} (zero variance)"
    return None


def score_predictions(task: str, y: np.ndarray, pred: np.ndarray) -> tuple[dict[str, float | None], dict[str, str]]:
    """Figures of ``pred`` against ``y``.

    Parameters
    ----------
    task : {"regression", "classification"}
    y : ndarray of shape (n,), float64
        True values (classification: 0.0 or 1.0).
    pred : ndarray of shape (n,), float64
        Predicted values (classification: P(class 1)).

    Returns
    -------
    (dict of str to float or None, dict of str to str)
        The figures (regression: ``rmse``, ``mae``, ``r2``; classification: ``accuracy``, ``roc_auc``,
        ``pr_auc``), ``None`` where undefined; and, per undefined figure, the reason
        (``{"roc_auc": "no positives (all 12 labels are 0)"}``).

    Raises
    ------
    ValueError
        ``y`` and ``pred`` of different lengths, or empty.
    """
    from sklearn.metrics import (
        average_precision_score,
        mean_absolute_error,
        r2_score,
        roc_auc_score,
    )

    y, pred = np.asarray(y, np.float64), np.asarray(pred, np.float64)
    if len(y) != len(pred) or len(y) == 0:
        raise ValueError(f"cannot score {len(pred)} predictions against {len(y)} values")
    undefined: dict[str, str] = {}
    if task == "regression":
        out: dict[str, float | None] = {"rmse": float(np.sqrt(np.mean((y - pred) ** 2))),
                                        "mae": float(mean_absolute_error(y, pred)), "r2": None}
        reason = _constant(y)
        if reason:
            undefined["r2"] = reason
        else:
            out["r2"] = float(r2_score(y, pred))
        return out, undefined
    labels = y.astype(int)
    out = {"accuracy": float(np.mean((pred >= 0.5) == labels)), "roc_auc": None, "pr_auc": None}
    n_pos = int(labels.sum())
    if n_pos in (0, len(labels)):
        reason = (f"no positives (all {len(labels)} labels are 0)" if n_pos == 0 else
                  f"no negatives (all {len(labels)} labels are 1)")
        undefined.update(roc_auc=reason, pr_auc=reason)
    else:
        out["roc_auc"] = float(roc_auc_score(labels, pred))
        out["pr_auc"] = float(average_precision_score(labels, pred))
    return out, undefined
