"""Training plots as PNG files: loss and metric curves, confusion matrix, ROC and precision-recall.

Figures are drawn with matplotlib's object API (``matplotlib.figure.Figure``, rendered by the Agg
backend) - never ``pyplot`` - so no window opens, no global backend is switched and nothing leaks
between calls. matplotlib is imported inside the functions. Each function writes one PNG into
``out_dir`` (created if needed) and returns its :class:`~pathlib.Path`.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from serendip.errors import DataError

__all__ = ["plot_confusion_matrix", "plot_history", "plot_pr", "plot_roc"]

_DPI = 120


def _figure(width: float = 6.0, height: float = 4.5) -> Any:
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=_DPI, layout="constrained")


def _save(fig: Any, out_dir: str | Path, filename: str) -> Path:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    path = out / filename
    fig.savefig(path, format="png")
    return path


def plot_history(history: Sequence[Mapping[str, Any]], out_dir: str | Path, *,
                 metrics: Sequence[str] | None = None, x: str | None = None,
                 filename: str = "curves.png") -> Path:
    """Loss curves (left) and metric curves (right) over training.

    Parameters
    ----------
    history : sequence of dict
        One row per evaluation, e.g. ``{"epoch": 1, "step": 40, "train_loss": 0.61, "eval_loss":
        0.58, "eval_mcc": 0.31}``. Keys containing ``"loss"`` go to the loss panel; other numeric
        keys (or those in ``metrics``) to the metric panel. A key missing from some rows is drawn
        where present.
    out_dir : path
    metrics : sequence of str, optional
        Metric keys to draw (default: every numeric non-loss key except the x axis, "epoch", "step").
    x : str, optional
        The x-axis key; default "epoch" if present, else "step", else the row number.
    filename : str, default "curves.png"

    Returns
    -------
    Path of the PNG.

    Raises
    ------
    DataError
        Empty history.
    """
    if not history:
        raise DataError("no training history to plot")
    if x is None:
        x = "epoch" if any("epoch" in r for r in history) else (
            "step" if any("step" in r for r in history) else None)
    numeric = [k for r in history for k, v in r.items()
               if isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)]
    keys = list(dict.fromkeys(numeric))
    skip = {x, "epoch", "step"}
    losses = [k for k in keys if "loss" in k and k not in skip]
    others = list(metrics) if metrics is not None else [
        k for k in keys if "loss" not in k and k not in skip]
    from matplotlib.ticker import MaxNLocator

    fig = _figure(11, 4.2)
    ax_loss, ax_metric = fig.subplots(1, 2)
    for ax, series, title in ((ax_loss, losses, "loss"), (ax_metric, others, "metrics")):
        for key in series:
            pts = [(r.get(x, i) if x else i, r[key]) for i, r in enumerate(history)
                   if key in r and r[key] is not None and np.isfinite(r[key])]
            if pts:
                xs, ys = zip(*pts)
                ax.plot(xs, ys, marker="o", markersize=3, label=key)
        ax.set_title(title)
        ax.set_xlabel(x or "evaluation")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=8)
    return _save(fig, out_dir, filename)


def plot_confusion_matrix(y_true: Sequence, y_pred: Sequence, labels: Sequence, out_dir: str | Path,
                          *, normalize: bool = False, filename: str = "confusion_matrix.png") -> Path:
    """Confusion matrix (rows: true class, columns: predicted class).

    Parameters
    ----------
    y_true, y_pred : sequence of length n
        Class labels, each a value of ``labels``.
    labels : sequence of length K
        Class order of the axes.
    out_dir : path
    normalize : bool, default False
        Divide each row by its total (recall per class on the diagonal); rows without examples
        stay 0.
    filename : str

    Returns
    -------
    Path of the PNG.

    Raises
    ------
    DataError
        Lengths differ, no examples, or a label not in ``labels``.
    """
    if len(y_true) != len(y_pred) or not len(y_true):
        raise DataError(f"y_true ({len(y_true)}) and y_pred ({len(y_pred)}) must be non-empty and "
                        f"of equal length")
    labels = list(labels)
    index = {lab: i for i, lab in enumerate(labels)}
    k = len(labels)
    cm = np.zeros((k, k), dtype=np.float64)
    for t, p in zip(y_true, y_pred):
        if t not in index or p not in index:
            raise DataError(f"label {t if t not in index else p!r} is not one of {labels}")
        cm[index[t], index[p]] += 1
    shown = cm
    if normalize:
        totals = cm.sum(axis=1, keepdims=True)
        shown = np.divide(cm, totals, out=np.zeros_like(cm), where=totals > 0)
    size = max(4.0, 0.6 * k + 2.5)
    fig = _figure(size + 1, size)
    ax = fig.subplots()
    im = ax.imshow(shown, cmap="Blues", vmin=0)
    fig.colorbar(im, ax=ax, shrink=0.8)
    ax.set_xticks(range(k), [str(lab) for lab in labels], rotation=45, ha="right")
    ax.set_yticks(range(k), [str(lab) for lab in labels])
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title("confusion matrix" + (" (row-normalised)" if normalize else ""))
    if k <= 30:
        top = shown.max() if shown.size else 0
        for i in range(k):
            for j in range(k):
                text = f"{shown[i, j]:.2f}" if normalize else f"{int(cm[i, j])}"
                ax.text(j, i, text, ha="center", va="center", fontsize=8,
                        color="white" if top and shown[i, j] > top / 2 else "black")
    return _save(fig, out_dir, filename)


def _curves(y_true: Sequence, y_score: Any, labels: Sequence) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """(class name, binary truth, score) per class to draw; binary: the positive class only."""
    labels = list(labels)
    y_true = list(y_true)
    if len(y_true) == 0:
        raise DataError("no examples to plot")
    scores = np.asarray(y_score, dtype=np.float64)
    k = len(labels)
    if k == 2 and (scores.ndim == 1 or scores.shape[1] == 1):
        scores = scores.reshape(-1)
        scores = np.stack([1 - scores, scores], axis=1)
    if scores.ndim != 2 or scores.shape != (len(y_true), k):
        raise DataError(f"y_score has shape {scores.shape}; expected ({len(y_true)}, {k}) or, for "
                        f"two classes, ({len(y_true)},)")
    columns = [1] if k == 2 else range(k)
    out = []
    for j in columns:
        truth = np.array([t == labels[j] for t in y_true])
        if truth.any() and not truth.all():
            out.append((str(labels[j]), truth, scores[:, j]))
    return out


def plot_roc(y_true: Sequence, y_score: Any, labels: Sequence, out_dir: str | Path, *,
             filename: str = "roc.png") -> Path:
    """ROC curves: the positive class (``labels[1]``) for two classes, one-vs-rest per class otherwise.

    Parameters
    ----------
    y_true : sequence of length n
        Class labels.
    y_score : array-like of shape (n, K), or (n,) for two classes (score of ``labels[1]``)
    labels : sequence of length K
        Class order of the score columns.
    out_dir : path
    filename : str

    Returns
    -------
    Path of the PNG. A class with no positive or no negative example has no curve and is named in
    the title.
    """
    from sklearn.metrics import auc, roc_curve

    curves = _curves(y_true, y_score, labels)
    fig = _figure()
    ax = fig.subplots()
    for name, truth, score in curves:
        fpr, tpr, _ = roc_curve(truth, score)
        ax.plot(fpr, tpr, label=f"{name} (AUC {auc(fpr, tpr):.3f})")
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", linewidth=0.8)
    ax.set_xlabel("false positive rate")
    ax.set_ylabel("true positive rate")
    drawn = {c[0] for c in curves}
    skipped = [str(lab) for lab in (list(labels)[1:] if len(labels) == 2 else labels)
               if str(lab) not in drawn]
    ax.set_title("ROC" + (f" (no curve for {', '.join(skipped)}: one class only)" if skipped else ""),
                 fontsize=10)
    ax.grid(alpha=0.3)
    if curves:
        ax.legend(fontsize=8, loc="lower right")
    return _save(fig, out_dir, filename)


def plot_pr(y_true: Sequence, y_score: Any, labels: Sequence, out_dir: str | Path, *,
            filename: str = "pr.png") -> Path:
    """Precision-recall curves (with average precision), as :func:`plot_roc`.

    A dashed line per class marks its prevalence, the precision of a random classifier.
    """
    from sklearn.metrics import average_precision_score, precision_recall_curve

    curves = _curves(y_true, y_score, labels)
    fig = _figure()
    ax = fig.subplots()
    for name, truth, score in curves:
        precision, recall, _ = precision_recall_curve(truth, score)
        line, = ax.plot(recall, precision, drawstyle="steps-post",
                        label=f"{name} (AP {average_precision_score(truth, score):.3f})")
        ax.axhline(truth.mean(), linestyle="--", linewidth=0.8, color=line.get_color())
    ax.set_xlabel("recall")
    ax.set_ylabel("precision")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    ax.set_title("precision-recall", fontsize=10)
    ax.grid(alpha=0.3)
    if curves:
        ax.legend(fontsize=8, loc="lower left")
    return _save(fig, out_dir, filename)
