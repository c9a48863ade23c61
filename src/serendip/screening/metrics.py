"""Screening metrics of one simulated screening order.

Every function takes ``labels``: int array of shape (n,), the labels of the records in the order they
were (or would be) screened, prior knowledge left out, every record present (a simulation that stopped
at the last include is padded with excludes, as asreview-insights pads it). ``P`` = includes in it.

* **Recall curve** (:func:`recall_curve`): recall after each record screened.
* **WSS@R** (:func:`wss`), work saved over sampling at recall R, Cohen, Hersh, Peterson & Yen 2006
  (JAMIA 13(2):206-219): ``WSS@R = (TN + FN) / N - (1 - R)``, the records left unscreened when recall
  first reaches R (the ``ceil(R * P)``-th include is found after ``m`` records: ``(N - m) / N``) minus
  the share random screening would leave for the same recall. (asreview-insights interpolates against a
  rounded random curve instead; the two differ by at most about 1 / P.)
* **RRF@x** (:func:`rrf`), relevant records found: recall after screening ``floor(x * N)`` records
  (asreview-insights ``recall`` at intercept x; Ferdinands et al. 2023, Systematic Reviews 12:100).
* **ATD** (:func:`atd`), average time to discovery: the mean, over the includes, of the number of
  records screened up to and including it (asreview-insights ``average_time_to_discovery``;
  Ferdinands et al. 2023 report it as a share of N: :func:`screening_metrics` gives both).
"""
from __future__ import annotations

import math

import numpy as np

from serendip.errors import DataError

__all__ = ["atd", "recall_curve", "rrf", "screening_metrics", "wss"]


def _check(labels) -> np.ndarray:
    y = np.asarray(labels)
    if y.ndim != 1 or not len(y):
        raise DataError("screening metrics need a non-empty 1-d sequence of 0/1 labels")
    if not np.isin(y, (0, 1)).all():
        raise DataError("screening metrics need labels 0 or 1")
    if not y.any():
        raise DataError("screening metrics need at least one include among the screened records")
    return y.astype(np.int64)


def recall_curve(labels) -> tuple[np.ndarray, np.ndarray]:
    """(records screened 1..N as int64, recall after each as float64), both of shape (N,)."""
    y = _check(labels)
    return np.arange(1, len(y) + 1), np.cumsum(y) / y.sum()


def _needed(recall: float, n_pos: int) -> int:
    """Smallest k with k / n_pos >= recall (rounded to 9 decimals first, so 0.95 * 20 is 19)."""
    return max(1, math.ceil(round(recall * n_pos, 9)))


def wss(labels, recall: float = 0.95) -> float:
    """WSS@``recall`` (a fraction; see the module docstring). Raises DataError on bad labels and
    ValueError unless 0 < recall <= 1."""
    if not 0 < recall <= 1:
        raise ValueError(f"recall must be in (0, 1], got {recall}")
    y = _check(labels)
    k = _needed(recall, int(y.sum()))
    m = int(np.searchsorted(np.cumsum(y), k)) + 1  # records screened when the k-th include is found
    return (len(y) - m) / len(y) - (1 - recall)


def rrf(labels, share: float = 0.10) -> float:
    """RRF@``share``: recall after screening ``floor(share * N)`` records (0 when that is none)."""
    if not 0 <= share <= 1:
        raise ValueError(f"share must be in [0, 1], got {share}")
    y = _check(labels)
    m = math.floor(round(share * len(y), 9))
    return float(y[:m].sum() / y.sum())


def atd(labels) -> float:
    """Average time to discovery in records: mean 1-based position of the includes."""
    y = _check(labels)
    return float(np.mean(np.flatnonzero(y) + 1))


def screening_metrics(labels) -> dict[str, float]:
    """``wss@95``, ``wss@100``, ``rrf@10`` (fractions), ``atd`` (records) and ``atd_share`` (atd / N)."""
    y = _check(labels)
    a = atd(y)
    return {"wss@95": wss(y, 0.95), "wss@100": wss(y, 1.0), "rrf@10": rrf(y, 0.10), "atd": a,
            "atd_share": a / len(y)}
