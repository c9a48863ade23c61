"""Evaluation metrics for the engine's tasks, registered in :data:`~serendip.models.registries.METRICS`.

Four metric *bundles*, one per kind of task, each a pure function returning a dict of plain Python
floats (and ints / strings / lists of notes), so the result can be written to JSON or logged to MLflow
as it is:

* ``"classification"`` -> :func:`classification_metrics` (binary, multi-class and pair tasks)
* ``"multilabel"`` -> :func:`multilabel_metrics`
* ``"regression"`` -> :func:`regression_metrics`
* ``"token"`` -> :func:`token_metrics` (strict entity-level F1, seqeval, IOB2)

An undefined value (a class absent from ``y_true`` has no recall; ROC-AUC needs both classes) is
``float("nan")`` with a sentence in the dict's ``"notes"`` list saying why - never a crash and never a
silent 0. ``json.dumps`` writes NaN as the non-standard token ``NaN``; :func:`json_safe` turns NaN
into ``None`` for strict JSON, and :func:`flatten_metrics` gives ``{"per_class/<name>/f1": ...}`` keys
for loggers that take one float per key.

References
----------
.. [1] B. W. Matthews, "Comparison of the predicted and observed secondary structure of T4 phage
   lysozyme", Biochim. Biophys. Acta 405 (1975) 442-451. (MCC)
.. [2] J. Gorodkin, "Comparing two K-category assignments by a K-category correlation coefficient",
   Comput. Biol. Chem. 28 (2004) 367-374. (multi-class MCC, as computed by scikit-learn)
.. [3] D. Chicco and G. Jurman, "The advantages of the Matthews correlation coefficient (MCC) over F1
   score and accuracy in binary classification evaluation", BMC Genomics 21 (2020) 6.
.. [4] H. Nakayama, seqeval (https://github.com/chakki-works/seqeval): CoNLL-style entity-level
   precision, recall and F1; ``mode="strict", scheme=IOB2`` counts an entity only when its type and
   both boundaries match exactly.
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from serendip.errors import DataError
from serendip.models._metric_parts import NAN, _check_lengths, _f
from serendip.models.registries import METRICS
from serendip.models.token_metrics import token_metrics

__all__ = [
    "classification_metrics",
    "flatten_metrics",
    "json_safe",
    "multilabel_metrics",
    "regression_metrics",
    "token_metrics",
]

def _positive_scores(y_score: np.ndarray, n_classes: int) -> np.ndarray:
    """Scores as an array of shape (n, K); a binary (n,) score is the positive class's."""
    y_score = np.asarray(y_score, dtype=float)
    if n_classes == 2 and (y_score.ndim == 1 or y_score.shape[1] == 1):
        pos = y_score.reshape(-1)
        return np.stack([1.0 - pos, pos], axis=1)
    if y_score.ndim != 2 or y_score.shape[1] != n_classes:
        raise DataError(f"y_score has shape {y_score.shape}; expected (n, {n_classes}) "
                        f"(one column per label, in the order of `labels`)")
    return y_score


def _prf(tp: np.ndarray, fp: np.ndarray, fn: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-class precision, recall, F1; NaN where a denominator is 0."""
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.where(tp + fp > 0, tp / np.maximum(tp + fp, 1), np.nan)
        recall = np.where(tp + fn > 0, tp / np.maximum(tp + fn, 1), np.nan)
        denom = 2 * tp + fp + fn
        f1 = np.where(denom > 0, 2 * tp / np.maximum(denom, 1), np.nan)
    return precision, recall, f1


def _macro(values: np.ndarray, present: np.ndarray) -> float:
    """Mean over classes present in y_true; NaN (precision of a never-predicted class) counts 0.

    This equals scikit-learn's ``average="macro"`` restricted to the labels present in ``y_true``
    with ``zero_division=0``.
    """
    if not present.any():
        return NAN
    return _f(np.mean(np.nan_to_num(values[present], nan=0.0)))


def _per_class(labels: Sequence[str], precision: np.ndarray, recall: np.ndarray, f1: np.ndarray,
               support: np.ndarray, ranking: tuple[np.ndarray, np.ndarray] | None
               ) -> dict[str, dict[str, Any]]:
    """``{label: {precision, recall, f1, support[, roc_auc, pr_auc]}}`` from per-class arrays."""
    return {
        lab: {"precision": _f(precision[j]), "recall": _f(recall[j]), "f1": _f(f1[j]),
              "support": int(support[j]),
              **({"roc_auc": _f(ranking[0][j]), "pr_auc": _f(ranking[1][j])}
                 if ranking is not None else {})}
        for j, lab in enumerate(labels)
    }


def _indicator_matrices(y_true: Any, y_pred: Any) -> tuple[np.ndarray, np.ndarray]:
    """``y_true`` and ``y_pred`` as boolean (n, K) arrays (DataError unless both are 0/1 of one
    shape with n > 0)."""
    t = np.asarray(y_true)
    p = np.asarray(y_pred)
    if t.ndim != 2 or t.shape != p.shape:
        raise DataError(f"y_true {t.shape} and y_pred {p.shape} must both have shape (n, K)")
    if t.shape[0] == 0:
        raise DataError("cannot compute metrics on 0 examples")
    for name, a in (("y_true", t), ("y_pred", p)):
        if not np.isin(a, (0, 1)).all():
            raise DataError(f"{name} must hold only 0 and 1 (a label indicator matrix)")
    return t.astype(bool), p.astype(bool)


def _ranking_metrics(y_score: Any, t: np.ndarray, k: int, out: dict[str, Any],
                     notes: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Per-class ROC-AUC and average precision (NaN where undefined) of the class ids ``t`` given
    ``y_score`` (None: all NaN); sets ``out["roc_auc"]`` / ``out["pr_auc"]`` (the positive class's
    for K=2, the mean over defined classes otherwise)."""
    from sklearn.metrics import average_precision_score, roc_auc_score

    roc = np.full(k, np.nan)
    ap = np.full(k, np.nan)
    if y_score is None:
        return roc, ap
    scores = _positive_scores(y_score, k)
    if len(scores) != len(t):
        raise DataError(f"y_score has {len(scores)} rows; y_true has {len(t)}")
    for i in range(k):
        positives = t == i
        if positives.any():
            ap[i] = average_precision_score(positives, scores[:, i])
        if positives.any() and not positives.all():
            roc[i] = roc_auc_score(positives, scores[:, i])
    if k == 2:
        out["roc_auc"] = _f(roc[1])
        out["pr_auc"] = _f(ap[1])
        if np.isnan(roc[1]):
            notes.append("ROC-AUC is undefined: y_true holds one class only")
    else:
        defined = ~np.isnan(roc)
        out["roc_auc"] = _f(np.mean(roc[defined])) if defined.any() else NAN
        defined = ~np.isnan(ap)
        out["pr_auc"] = _f(np.mean(ap[defined])) if defined.any() else NAN
    return roc, ap


@METRICS.register("classification")
def classification_metrics(y_true: Sequence, y_pred: Sequence, y_score: Any = None,
                           labels: Sequence | None = None) -> dict[str, Any]:
    """Metrics of a single-label (binary or multi-class) classification.

    Parameters
    ----------
    y_true, y_pred : sequence of length n
        True and predicted labels (class names or ids), each a value of ``labels``.
    y_score : array-like of shape (n, K) or (n,), optional
        Class probabilities or scores, one column per entry of ``labels`` in that order. For a
        binary task a 1-D array is the score of the positive class, ``labels[1]``. Without it
        ROC-AUC and PR-AUC are omitted.
    labels : sequence of length K, optional
        All classes, in score-column order. Default: the sorted union of ``y_true`` and ``y_pred``.
        A class in ``labels`` that is absent from ``y_true`` gets NaN recall, F1, ROC-AUC and PR-AUC
        and a note; it is left out of the macro averages (so they equal scikit-learn's
        ``average="macro", labels=<classes present in y_true>, zero_division=0``).

    Returns
    -------
    dict
        ``n``, ``accuracy``, ``precision_macro``, ``recall_macro``, ``f1_macro``, ``mcc`` (Matthews
        1975; the multi-class form of Gorodkin 2004 as in scikit-learn; 0.0 when undefined, e.g. one
        class only - see Chicco & Jurman 2020), ``roc_auc`` and ``pr_auc`` (average precision; for
        K=2 those of the positive class ``labels[1]``, for K>2 the one-vs-rest macro mean over
        classes present in ``y_true``), ``per_class`` ``{label: {precision, recall, f1, support,
        roc_auc, pr_auc}}``, ``confusion_matrix`` (K x K list of ints, rows = true) and ``notes``.

    Raises
    ------
    DataError
        Inputs of different lengths, no examples, a label not in ``labels``, or ``y_score`` of the
        wrong shape.
    """
    from sklearn.metrics import matthews_corrcoef

    n = _check_lengths(y_true=y_true, y_pred=y_pred)
    if labels is None:
        labels = sorted(set(y_true) | set(y_pred), key=str)
    labels = list(labels)
    index = {lab: i for i, lab in enumerate(labels)}
    try:
        t = np.array([index[v] for v in y_true], dtype=np.int64)
        p = np.array([index[v] for v in y_pred], dtype=np.int64)
    except KeyError as exc:
        raise DataError(f"label {exc.args[0]!r} is not one of the labels {labels}") from None
    k = len(labels)
    cm = np.zeros((k, k), dtype=np.int64)
    np.add.at(cm, (t, p), 1)
    tp = np.diag(cm).astype(float)
    fp = cm.sum(axis=0) - tp
    fn = cm.sum(axis=1) - tp
    support = cm.sum(axis=1)
    present = support > 0
    precision, recall, f1 = _prf(tp, fp, fn)
    notes: list[str] = []
    for i in np.flatnonzero(~present):
        f1[i] = NAN  # no true examples: recall undefined, so F1 is too
        notes.append(f"class {labels[i]!r} is absent from y_true: its recall, F1, ROC-AUC and PR-AUC "
                     f"are NaN and it is left out of the macro averages")
    never_predicted = [labels[i] for i in np.flatnonzero(present & (tp + fp == 0))]
    if never_predicted:
        notes.append(f"class(es) {never_predicted} never predicted: precision undefined, counted as 0 "
                     f"in precision_macro")
    mcc = _f(matthews_corrcoef(t, p)) if k > 1 else 0.0
    if len(np.unique(t)) < 2 or len(np.unique(p)) < 2:
        notes.append("MCC is undefined when y_true or y_pred holds one class only; reported as 0.0 "
                     "(scikit-learn's convention)")
    out: dict[str, Any] = {
        "n": int(n),
        "accuracy": _f(np.mean(t == p)),
        "precision_macro": _macro(precision, present),
        "recall_macro": _macro(recall, present),
        "f1_macro": _macro(f1, present),
        "mcc": mcc,
    }
    roc, ap = _ranking_metrics(y_score, t, k, out, notes)
    out["per_class"] = _per_class([str(lab) for lab in labels], precision, recall, f1, support,
                                  (roc, ap) if y_score is not None else None)
    out["confusion_matrix"] = cm.tolist()
    out["labels"] = [str(lab) for lab in labels]
    out["notes"] = notes
    return out


@METRICS.register("multilabel")
def multilabel_metrics(y_true: Any, y_pred: Any, y_score: Any = None,
                       labels: Sequence | None = None) -> dict[str, Any]:
    """Metrics of a multi-label classification.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n, K), 0/1
        Label indicator matrices (column j is ``labels[j]``).
    y_score : array-like of shape (n, K), optional
        Per-label probabilities (sigmoid outputs), for ROC-AUC and PR-AUC.
    labels : sequence of length K, optional
        Label names; default ``"0" .. "K-1"``.

    Returns
    -------
    dict
        ``n``, ``subset_accuracy`` (exact match of the whole label set), ``hamming_loss``,
        ``precision_micro``/``recall_micro``/``f1_micro``, ``precision_macro``/``recall_macro``/
        ``f1_macro`` (mean over labels that occur in ``y_true``; a never-predicted label counts 0
        precision), ``roc_auc``/``pr_auc`` (macro over labels both present and absent somewhere in
        ``y_true``), ``per_class`` and ``notes``.

    Raises
    ------
    DataError
        Shapes differ, not 2-D, or values other than 0/1.
    """
    from sklearn.metrics import average_precision_score, roc_auc_score

    t, p = _indicator_matrices(y_true, y_pred)
    n, k = t.shape
    labels = [str(x) for x in labels] if labels is not None else [str(j) for j in range(k)]
    if len(labels) != k:
        raise DataError(f"{len(labels)} labels given for {k} columns")
    tp = (t & p).sum(axis=0).astype(float)
    fp = (~t & p).sum(axis=0).astype(float)
    fn = (t & ~p).sum(axis=0).astype(float)
    support = t.sum(axis=0)
    present = support > 0
    precision, recall, f1 = _prf(tp, fp, fn)
    notes: list[str] = []
    for j in np.flatnonzero(~present):
        f1[j] = NAN
        notes.append(f"label {labels[j]!r} never occurs in y_true: its recall and F1 are NaN and it is "
                     f"left out of the macro averages")
    mp, mr, mf = _prf(tp.sum(keepdims=True), fp.sum(keepdims=True), fn.sum(keepdims=True))
    out: dict[str, Any] = {
        "n": int(n),
        "subset_accuracy": _f(np.mean((t == p).all(axis=1))),
        "hamming_loss": _f(np.mean(t != p)),
        "precision_micro": _f(np.nan_to_num(mp[0], nan=0.0)),
        "recall_micro": _f(mr[0]),
        "f1_micro": _f(mf[0]),
        "precision_macro": _macro(precision, present),
        "recall_macro": _macro(recall, present),
        "f1_macro": _macro(f1, present),
    }
    roc = np.full(k, np.nan)
    ap = np.full(k, np.nan)
    if y_score is not None:
        s = np.asarray(y_score, dtype=float)
        if s.shape != t.shape:
            raise DataError(f"y_score has shape {s.shape}; expected {t.shape}")
        for j in range(k):
            if present[j]:
                ap[j] = average_precision_score(t[:, j], s[:, j])
            if present[j] and not t[:, j].all():
                roc[j] = roc_auc_score(t[:, j], s[:, j])
        out["roc_auc"] = _f(np.nanmean(roc)) if (~np.isnan(roc)).any() else NAN
        out["pr_auc"] = _f(np.nanmean(ap)) if (~np.isnan(ap)).any() else NAN
    out["per_class"] = _per_class(labels, precision, recall, f1, support,
                                  (roc, ap) if y_score is not None else None)
    out["labels"] = labels
    out["notes"] = notes
    return out


@METRICS.register("regression")
def regression_metrics(y_true: Any, y_pred: Any) -> dict[str, Any]:
    """Metrics of a regression.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n,), float
        True and predicted values (same units).

    Returns
    -------
    dict
        ``n``; ``rmse`` and ``mae`` (units of y); ``r2`` (coefficient of determination, 1 -
        SS_res/SS_tot; NaN if y_true is constant); ``pearson`` and ``spearman`` (scipy.stats
        ``pearsonr``/``spearmanr``; NaN with a note when either input is constant or n < 2);
        ``notes``.

    Raises
    ------
    DataError
        Lengths differ, no examples, or a value is not finite.
    """
    from scipy import stats

    t = np.asarray(y_true, dtype=float).reshape(-1)
    p = np.asarray(y_pred, dtype=float).reshape(-1)
    n = _check_lengths(y_true=t, y_pred=p)
    for name, a in (("y_true", t), ("y_pred", p)):
        bad = np.flatnonzero(~np.isfinite(a))
        if bad.size:
            raise DataError(f"{name} holds a non-finite value ({a[bad[0]]}) at position {bad[0]}")
    notes: list[str] = []
    err = p - t
    ss_tot = float(np.sum((t - t.mean()) ** 2))
    r2 = 1.0 - float(np.sum(err ** 2)) / ss_tot if ss_tot > 0 else NAN
    if ss_tot == 0:
        notes.append("R² is undefined: y_true is constant")
    if n < 2 or np.ptp(t) == 0 or np.ptp(p) == 0:
        pearson = spearman = NAN
        notes.append("Pearson and Spearman correlations are undefined: fewer than 2 values or a "
                     "constant input")
    else:
        pearson = _f(stats.pearsonr(t, p).statistic)
        spearman = _f(stats.spearmanr(t, p).statistic)
    return {"n": int(n), "rmse": _f(np.sqrt(np.mean(err ** 2))), "mae": _f(np.mean(np.abs(err))),
            "r2": _f(r2), "pearson": pearson, "spearman": spearman, "notes": notes}


def json_safe(value: Any) -> Any:
    """A copy of a metrics dict with NaN and infinities replaced by None (strict JSON)."""
    if isinstance(value, Mapping):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    return value


def flatten_metrics(metrics: Mapping[str, Any], prefix: str = "") -> dict[str, float]:
    """Numeric entries of a (nested) metrics dict as ``{"a/b/c": float}``, for MLflow/TensorBoard.

    Lists (confusion matrix, notes, labels) and strings are left out; NaN is kept.
    """
    flat: dict[str, float] = {}
    for key, value in metrics.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(flatten_metrics(value, prefix=f"{name}/"))
        elif isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
            flat[name] = float(value)
    return flat
