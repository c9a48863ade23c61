"""Stopping rules, in the :data:`STOPPING_RULES` registry: at any point of a screening, whether to stop
and the recall the rule estimates.

Each rule reads ``labels``, the labels of the records screened so far in screening order (prior
knowledge included: the reviewer has read it), and ``n_total``, the records in the set.

* ``consecutive-excludes`` (:class:`ConsecutiveExcludes`, the heuristic): stop once the last ``n``
  records screened (n = 50 by default) were all excludes (ASReview 3.0.8 ``NConsecutiveIrrelevant``,
  ``asreview/models/stoppers.py``; the consecutive-irrelevant rule of the SAFE procedure, Boetje & van
  de Schoot 2024, Systematic Reviews 13:81). Its recall estimate is a point estimate, not a bound:
  the includes still unscreened are guessed as the unscreened count times the include rate of the last
  ``n`` records, smoothed by Laplace's rule of succession ((k + 1) / (n + 2)).
* ``hypergeometric`` (:class:`Hypergeometric`, the statistical rule): Callaghan & Mueller-Hansen 2020,
  "Statistical stopping criteria for automated screening in systematic reviews", Systematic Reviews
  9:273. Each tail of the screening (the last 1, 2, ... records) is treated as a random sample drawn
  without replacement from the records unscreened before it; under H0 "recall < target" the urn held
  at least ``floor(r_seen / target) + 1 - r_before`` includes; the p-value is the smallest, over the
  tails, hypergeometric probability of seeing as few includes as were seen. Stop when p < alpha
  (default target 0.95, alpha 0.05). For each count of includes only the longest tail holding that many
  is evaluated (:func:`_tails`; the same minimum, checked against every tail in the tests), so a
  check costs r_seen + 1 hypergeometric terms, not one per record screened. Its recall estimate is the lower confidence bound that the same
  test gives: ``r_seen / R_hi`` with ``R_hi`` the largest total number of includes not rejected at
  level alpha.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from serendip.registry import Registry

__all__ = ["STOPPING_RULES", "ConsecutiveExcludes", "Hypergeometric", "StopCheck", "hypergeometric_p"]


@dataclass(frozen=True)
class StopCheck:
    """A rule's answer now: ``stop`` and ``recall_estimate`` (a fraction in [0, 1])."""

    stop: bool
    recall_estimate: float


def _labels(labels) -> np.ndarray:
    y = np.asarray(labels, dtype=np.int64)
    if y.ndim != 1 or not np.isin(y, (0, 1)).all():
        raise ValueError("labels must be a 1-d sequence of 0 and 1")
    return y


@dataclass(frozen=True)
class ConsecutiveExcludes:
    """Stop after ``n`` excludes in a row (see the module docstring)."""

    n: int = 50
    name: str = "consecutive-excludes"
    reference: str = ("ASReview 3.0.8 NConsecutiveIrrelevant (asreview/models/stoppers.py); Boetje & van de "
                      "Schoot 2024 (Syst Rev 13:81)")

    def check(self, labels, n_total: int) -> StopCheck:
        y = _labels(labels)
        left = n_total - len(y)
        stop = left == 0 or (len(y) > self.n and not y[-self.n:].any())
        return StopCheck(bool(stop), self._estimate(y, left))

    def _estimate(self, y: np.ndarray, left: int) -> float:
        found = int(y.sum())
        if left == 0:
            return 1.0
        if found == 0:
            return 0.0
        tail = y[-self.n:]
        missing = (tail.sum() + 1) / (len(tail) + 2) * left
        return float(found / (found + missing))

    def first_stop(self, labels, n_total: int) -> int | None:
        """Records screened when the rule first says stop on this full screening order (None: never)."""
        y = _labels(labels)
        run = 0
        for m, label in enumerate(y.tolist(), 1):
            run = 0 if label else run + 1
            if (m > self.n and run >= self.n) or m == n_total:
                return m
        return None


def _tails(y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(includes k, length w) of the longest tail of ``y`` holding exactly k includes, k = 0..r_seen
    (tails of length 0 left out). With k fixed, a longer tail of excludes only lowers the probability
    of seeing k or fewer includes (one more exclude in the urn, the same number left unscreened), so the
    smallest p over all tails is the smallest over these: r_seen + 1 tails instead of len(y)."""
    pos = np.flatnonzero(y[::-1])             # records after each include, newest include first
    w = np.append(pos, len(y))
    k = np.arange(len(w))
    keep = w > 0
    return k[keep], w[keep]


def hypergeometric_p(labels, n_total: int, total_includes: int) -> float:
    """The smallest, over the tails of ``labels``, hypergeometric probability of seeing at most the
    includes seen in the tail if the set held ``total_includes`` includes (Callaghan & Mueller-Hansen
    2020, see the module docstring). 0 when no such set is possible, 1 when nothing was screened."""
    from scipy.stats import hypergeom

    y = _labels(labels)
    if len(y) == 0:
        return 1.0
    missing = total_includes - int(y.sum())   # includes still unscreened under H0
    left = n_total - len(y)
    if missing > left:
        return 0.0
    k, w = _tails(y)
    urn = left + w                            # records unscreened before each tail
    return float(hypergeom.cdf(k, urn, missing + k, w).min())


@dataclass(frozen=True)
class Hypergeometric:
    """Stop when H0 "recall < target" is rejected at level alpha (see the module docstring)."""

    target: float = 0.95
    alpha: float = 0.05
    name: str = "hypergeometric"
    reference: str = "Callaghan & Mueller-Hansen 2020 (Syst Rev 9:273)"

    def p_value(self, labels, n_total: int) -> float:
        y = _labels(labels)
        return hypergeometric_p(y, n_total, math.floor(round(y.sum() / self.target, 9)) + 1)

    def check(self, labels, n_total: int) -> StopCheck:
        y = _labels(labels)
        stop = len(y) == n_total or self.p_value(y, n_total) < self.alpha
        return StopCheck(bool(stop), self.recall_bound(y, n_total))

    def recall_bound(self, labels, n_total: int) -> float:
        """Lower confidence bound on recall at level alpha: ``r_seen / R_hi`` (0 before any include)."""
        y = _labels(labels)
        found, left = int(y.sum()), n_total - len(y)
        if left == 0:
            return 1.0
        if found == 0:
            return 0.0
        lo, hi = found, found + left + 1  # p(lo) = 1 (not rejected), p(hi) = 0 (impossible: rejected)
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if hypergeometric_p(y, n_total, mid) < self.alpha:
                hi = mid
            else:
                lo = mid
        return found / lo

    def first_stop(self, labels, n_total: int) -> int | None:
        """Records screened when the rule first says stop on this full screening order (None: never)."""
        y = _labels(labels)
        for m in range(1, len(y) + 1):
            if m == n_total or self.p_value(y[:m], n_total) < self.alpha:
                return m
        return None


STOPPING_RULES: Registry = Registry("stopping rule")
STOPPING_RULES.add("consecutive-excludes", ConsecutiveExcludes())
STOPPING_RULES.add("hypergeometric", Hypergeometric())
