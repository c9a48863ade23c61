"""Query strategies (which unlabelled record is shown next) and balancers (how the labelled records are
weighted or resampled before each fit), each in a registry.

Query strategies, :data:`QUERY_STRATEGIES` (``pick(scores, midpoint, rng) -> position``; ``scores`` of
the unlabelled records in record order, higher = more likely an include):

* ``max``: the highest score, ties to the first record (ASReview ``Max``: ``argsort(-p, kind="stable")``).
* ``uncertainty``: the score nearest the model's undecided value (0.5 for probabilities, 0 for a
  margin; ASReview ``Uncertainty``), ties to the first record.
* ``mixed``: ``max`` with probability 0.95, else a uniformly random record (ASReview 3 ``max_random``,
  "Mixed (95% Maximum and 5% Random)").
* ``random``: a uniformly random record (the baseline every screening order is measured against).

Balancers, :data:`BALANCERS` (``balance(rows, y, rng, **params) -> (rows, y, sample_weight)``):

* ``none``: the labelled records as they are.
* ``balanced``: ASReview 3.0.8 ``Balanced(ratio)`` sample weights: weight 1 per include and
  ``n_inc / (ratio * n_exc)`` per exclude, rescaled to sum to the number of records, so the includes
  weigh ``ratio`` times the excludes in total (``asreview/models/balancers.py``; ``elas_u4`` uses
  ratio 9.8).
* ``double``: ASReview 0.x-1.x ``DoubleBalance`` (the default of its naive Bayes model; van de Schoot
  et al. 2021, Nature Machine Intelligence 3:125-133, and ``asreview/models/balance/double.py``):
  a training set of the same size resampled so includes get weight ``a * (n_inc / n_exc) ** -alpha``
  and excludes ``1 - (1 - b) * (1 + ln n) ** -beta`` (a=2.155, alpha=0.94, b=0.789, beta=1.0), includes
  tiled then drawn without replacement for the remainder, excludes likewise, the result shuffled.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from serendip.errors import ConfigError
from serendip.registry import Registry

__all__ = ["BALANCERS", "QUERY_STRATEGIES", "Balancer", "QueryStrategy"]


@dataclass(frozen=True)
class QueryStrategy:
    """A query strategy: ``pick(scores, midpoint, rng) -> int``, the position in ``scores`` (float64
    array of the unlabelled records) of the record to show next; ``midpoint`` is the model's undecided
    score (None when it has none); ``rng`` a ``numpy.random.Generator``."""

    name: str
    pick: Callable[[np.ndarray, float | None, np.random.Generator], int]
    description: str
    reference: str


QUERY_STRATEGIES: Registry[QueryStrategy] = Registry("query strategy")


def _max(scores: np.ndarray, midpoint: float | None, rng: np.random.Generator) -> int:
    return int(np.argmax(scores))


def _uncertainty(scores: np.ndarray, midpoint: float | None, rng: np.random.Generator) -> int:
    if midpoint is None:
        raise ConfigError("query strategy 'uncertainty' needs a model whose scores have an undecided value "
                          "(a probability or a margin); this model ranks only: use max or mixed")
    return int(np.argmin(np.abs(scores - midpoint)))


def _mixed(scores: np.ndarray, midpoint: float | None, rng: np.random.Generator) -> int:
    if rng.random() < 0.95:
        return int(np.argmax(scores))
    return int(rng.integers(len(scores)))


def _random(scores: np.ndarray, midpoint: float | None, rng: np.random.Generator) -> int:
    return int(rng.integers(len(scores)))


_ASR = "ASReview 3.0.8, asreview/models/queriers.py"
QUERY_STRATEGIES.add("max", QueryStrategy("max", _max, "the record most likely an include", _ASR + " (Max)"))
QUERY_STRATEGIES.add("uncertainty", QueryStrategy("uncertainty", _uncertainty, "the record the model is least "
                                                  "sure of", _ASR + " (Uncertainty)"))
QUERY_STRATEGIES.add("mixed", QueryStrategy("mixed", _mixed, "max 95% of the time, a random record 5%",
                                            _ASR + " (HybridMaxRandom, probability 0.95)"))
QUERY_STRATEGIES.add("random", QueryStrategy("random", _random, "a random record (baseline)", _ASR + " (Random)"))


@dataclass(frozen=True)
class Balancer:
    """A balancer: ``balance(rows, y, rng, **params) -> (rows, y, sample_weight or None)``; ``rows``
    int64 record indices of the labelled records (labelling order), ``y`` their int8 labels (both
    classes present), ``rng`` a ``numpy.random.Generator``."""

    name: str
    balance: Callable[..., tuple[np.ndarray, np.ndarray, np.ndarray | None]]
    description: str
    reference: str


BALANCERS: Registry[Balancer] = Registry("balancer")


def _none(rows: np.ndarray, y: np.ndarray, rng: np.random.Generator):
    return rows, y, None


def _balanced(rows: np.ndarray, y: np.ndarray, rng: np.random.Generator, ratio: float = 1.0):
    n_inc, n_exc = int((y == 1).sum()), int((y == 0).sum())
    weight = np.where(y == 1, 1.0, n_inc / (ratio * n_exc))
    # summed left to right, as ASReview's builtin sum(): numpy's pairwise sum differs in the last bits,
    # enough to reorder near-ties of the SVM a hundred labels on
    return rows, y, weight * (len(y) / sum(weight.tolist()))


def _fill(src: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` indices from ``src``: whole copies, then the remainder drawn without replacement."""
    copies = n // len(src)
    return np.concatenate([np.tile(src, copies), rng.choice(src, n - copies * len(src), replace=False)])


def _double(rows: np.ndarray, y: np.ndarray, rng: np.random.Generator, a: float = 2.155, alpha: float = 0.94,
            b: float = 0.789, beta: float = 1.0):
    ones, zeros = rows[y == 1], rows[y == 0]
    n = len(rows)
    w_one = a * (len(ones) / len(zeros)) ** (-alpha)
    w_zero = 1 - (1 - b) * (1 + math.log(n)) ** (-beta)
    want = w_one * len(ones) * n / (w_one * len(ones) + w_zero * len(zeros))
    n_one = math.floor(want) + (rng.random() < want - math.floor(want))
    n_one = max(1, min(n - 2, n_one))
    picked = np.concatenate([_fill(ones, n_one, rng), _fill(zeros, n - n_one, rng)])
    rng.shuffle(picked)
    label = dict(zip(rows.tolist(), y.tolist()))
    return picked, np.array([label[r] for r in picked.tolist()], dtype=np.int8), None


BALANCERS.add("none", Balancer("none", _none, "no balancing", "-"))
BALANCERS.add("balanced", Balancer("balanced", _balanced, "sample weights: includes weigh `ratio` times the "
                                   "excludes in total", "ASReview 3.0.8, asreview/models/balancers.py (Balanced)"))
BALANCERS.add("double", Balancer("double", _double, "resampled training set (ASReview 1 double balance)",
                                 "van de Schoot et al. 2021 (Nat Mach Intell 3:125); ASReview 1.x "
                                 "asreview/models/balance/double.py (DoubleBalance)"))
