"""Simulated screening on labelled data: active learning with an oracle, as ``asreview simulate`` runs it.

Per seed (ASReview 3.0.8 ``asreview/simulation/cli.py`` and ``simulate.py`` read for each step):

1. Prior knowledge: 1 include and 1 exclude, drawn as ``asreview simulate --n-prior-included 1
   --n-prior-excluded 1 --prior-seed SEED`` draws them: ``RandomState(seed).choice(includes, 1)`` and a
   fresh ``RandomState(seed).choice(excludes, 1)`` over record indices in file order. The same seed
   gives the same priors to every model.
2. Until every include is found (ASReview's default ``LastRelevant`` stop): fit the model on the
   labelled records (labelling order; the balancer reweights or resamples them), score the unlabelled
   ones, show the one the query strategy picks, label it from the oracle. The model is refitted after
   every label (``retrain_every=1``, ASReview's ``n_query=1`` cadence); ``retrain_every=k`` refits
   every k labels and takes the next k records from one scoring (a cheaper approximation, recorded in
   the result).
3. The screening order after the last include is all excludes whatever the model, so it is padded with
   excludes; metrics (:mod:`.metrics`) are computed on the order without the priors, as
   asreview-insights computes them by default; stopping rules (:mod:`.stopping`) read the order with the
   priors (the reviewer has read them) and report the recall they reached and the share of records left
   unscreened.
"""
from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field

import numpy as np

from serendip.core.progress import Steps, start_step
from serendip.errors import ConfigError, DataError
from serendip.screening.data import MIN_INCLUDES, SIMULATION_NEEDS, ScreeningSet
from serendip.screening.features import FeatureContext, FeatureStore
from serendip.screening.metrics import screening_metrics
from serendip.screening.models import SCREENING_MODELS
from serendip.screening.stopping import STOPPING_RULES
from serendip.screening.strategies import BALANCERS, QUERY_STRATEGIES

__all__ = ["MIN_INCLUDES", "SimulationResult", "SimulationRun", "StopOutcome", "check_simulable", "choose_priors",
           "evaluate_order", "simulate", "simulate_seed"]


@dataclass
class StopOutcome:
    """Where a stopping rule stopped: records screened (priors included), the recall reached there,
    the share of the set left unscreened and the recall the rule estimated when it stopped."""

    screened: int
    recall: float
    saved: float
    recall_estimate: float


@dataclass
class SimulationRun:
    """One seed's simulation.

    Attributes
    ----------
    seed : int
    priors : list of int
        Record indices labelled first (include, then exclude).
    order : list of int
        Record indices in the order they were shown, up to the last include.
    metrics : dict
        :func:`~serendip.screening.metrics.screening_metrics` of the padded order without priors.
    stops : dict of str to StopOutcome
    wall_s : float
        Seconds of the screening loop (fits, scoring, picks); the features, computed once per set
        (:attr:`SimulationResult.features_s`), and the stopping rules' evaluation are not counted.
    """

    seed: int
    priors: list[int]
    order: list[int]
    metrics: dict[str, float]
    stops: dict[str, StopOutcome] = field(default_factory=dict)
    wall_s: float = 0.0

    def labels_after_priors(self, labels: np.ndarray, n_total: int) -> np.ndarray:
        """Labels in screening order without the priors, padded with excludes: int64 (n_total - priors,)."""
        out = np.zeros(n_total - len(self.priors), dtype=np.int64)
        out[:len(self.order)] = labels[self.order]
        return out


@dataclass
class SimulationResult:
    """The simulations of one (set, model, strategy, balancer) over several seeds."""

    dataset: str
    n: int
    n_includes: int
    model: str
    strategy: str
    balance: str
    retrain_every: int
    runs: list[SimulationRun]
    features_s: float = 0.0

    def summary(self) -> dict[str, tuple[float, float | None]]:
        """metric -> (mean, sample sd over seeds; None for one seed), stopping rules as
        ``stop:<rule>:recall`` and ``stop:<rule>:saved``."""
        values: dict[str, list[float]] = {}
        for run in self.runs:
            for key, v in run.metrics.items():
                values.setdefault(key, []).append(v)
            for rule, out in run.stops.items():
                values.setdefault(f"stop:{rule}:recall", []).append(out.recall)
                values.setdefault(f"stop:{rule}:saved", []).append(out.saved)
        return {k: (statistics.fmean(v), statistics.stdev(v) if len(v) > 1 else None) for k, v in values.items()}

    def to_dict(self) -> dict:
        """Plain JSON-able dict: settings, per-seed runs (orders included) and the summary."""
        out = asdict(self)
        out["summary"] = {k: {"mean": m, "sd": s} for k, (m, s) in self.summary().items()}
        return out


def choose_priors(labels: np.ndarray, seed: int) -> list[int]:
    """[include, exclude] record indices drawn as ``asreview simulate --n-prior-included 1
    --n-prior-excluded 1 --prior-seed seed`` draws them (see the module docstring)."""
    inc = np.random.RandomState(seed).choice(np.flatnonzero(labels == 1), 1, replace=False)
    exc = np.random.RandomState(seed).choice(np.flatnonzero(labels == 0), 1, replace=False)
    return [int(inc[0]), int(exc[0])]


def check_simulable(data: ScreeningSet) -> None:
    """Raise a DataError naming ``data``'s source, review and counts unless it has at least
    :data:`MIN_INCLUDES` includes and one exclude: the priors take one include and one exclude, and the
    screening metrics (:mod:`.metrics`) need an include left to find after them."""
    n_inc = data.n_includes
    if n_inc < MIN_INCLUDES or n_inc == len(data):
        raise DataError(f"{data.source}: review {data.name!r} has {n_inc} include(s) and {len(data) - n_inc} "
                        f"exclude(s) among its {len(data)} labelled records; {SIMULATION_NEEDS}")


def simulate_seed(store: FeatureStore, model: str, strategy: str, seed: int, *, balance: str | None = None,
                  retrain_every: int = 1, stop_rules: Sequence[str] = tuple(STOPPING_RULES.keys()),
                  advance: Callable[[int], None] = lambda n: None) -> SimulationRun:
    """Simulate one seed on ``store``'s set (see the module docstring).

    Parameters
    ----------
    store : FeatureStore
    model, strategy : str
        Names in :data:`~serendip.screening.models.SCREENING_MODELS` and
        :data:`~serendip.screening.strategies.QUERY_STRATEGIES`.
    seed : int
        Seeds the priors, the model's random state and the strategy's and balancer's generator.
    balance : str, optional
        A :data:`~serendip.screening.strategies.BALANCERS` name (default: the model's own, with its params).
    retrain_every : int, default 1
    stop_rules : sequence of str
        :data:`~serendip.screening.stopping.STOPPING_RULES` to evaluate.
    advance : callable
        ``advance(n)``: n more records labelled (a progress bar).

    Raises
    ------
    ConfigError
        Unknown name, ``retrain_every < 1``, or a strategy the model cannot serve.
    DataError
        Fewer than :data:`MIN_INCLUDES` includes or no exclude (:func:`check_simulable`).
    """
    if retrain_every < 1:
        raise ConfigError(f"retrain_every must be at least 1, got {retrain_every}")
    spec, pick = SCREENING_MODELS.get(model), QUERY_STRATEGIES.get(strategy).pick
    bal_name = spec.balance[0] if balance is None else balance
    bal_params = spec.balance[1] if bal_name == spec.balance[0] else {}
    balancer = BALANCERS.get(bal_name).balance
    for name in stop_rules:
        STOPPING_RULES.get(name)
    check_simulable(store.data)
    y = store.data.labels
    n, total = len(y), int(y.sum())
    start = time.perf_counter()
    priors = choose_priors(y, seed)
    learner = spec.build(store, seed)
    rng = np.random.default_rng(seed)
    labelled = list(priors)
    unlabelled = np.ones(n, dtype=bool)
    unlabelled[priors] = False
    found = int(y[priors].sum())
    while found < total:
        rows = np.asarray(labelled, dtype=np.int64)
        fit_rows, fit_y, weight = balancer(rows, y[rows], rng, **bal_params)
        learner.fit(fit_rows, fit_y, weight)
        pool = np.flatnonzero(unlabelled)
        scores = learner.score(pool)
        for _ in range(min(retrain_every, len(pool))):
            i = pick(scores, learner.midpoint, rng)
            record = int(pool[i])
            pool, scores = np.delete(pool, i), np.delete(scores, i)
            labelled.append(record)
            unlabelled[record] = False
            found += int(y[record])
            advance(1)
            if found == total:
                break
    loop_s = time.perf_counter() - start
    run = evaluate_order(y, priors, labelled[len(priors):], seed, stop_rules)
    run.wall_s = loop_s
    advance(n - len(labelled))
    return run


def evaluate_order(labels: np.ndarray, priors: Sequence[int], order: Sequence[int], seed: int,
                   stop_rules: Sequence[str] = tuple(STOPPING_RULES.keys())) -> SimulationRun:
    """A :class:`SimulationRun` of a screening order, however it was produced (Serendip's loop, or an
    ASReview project's results table).

    Parameters
    ----------
    labels : ndarray of shape (n,)
        The set's labels (0/1).
    priors : sequence of int
        Record indices labelled first.
    order : sequence of int
        Record indices screened after the priors, in order, at least up to the last include.
    seed : int
    stop_rules : sequence of str
        :data:`~serendip.screening.stopping.STOPPING_RULES` to score on the order.

    Raises
    ------
    DataError
        A record is screened twice, or an include is never screened.
    """
    y = np.asarray(labels)
    n, total = len(y), int(y.sum())
    seen = [*priors, *order]
    if len(set(seen)) != len(seen) or int(y[seen].sum()) != total:
        raise DataError(f"a screening order must list each record at most once and reach every include "
                        f"({len(seen)} records listed, {len(set(seen))} distinct, {int(y[seen].sum())} of "
                        f"{total} includes)")
    run = SimulationRun(int(seed), [int(i) for i in priors], [int(i) for i in order], {})
    run.metrics = screening_metrics(run.labels_after_priors(y, n))
    full = np.zeros(n, dtype=np.int64)
    full[:len(seen)] = y[seen]
    for name in stop_rules:
        rule = STOPPING_RULES.get(name)
        m = rule.first_stop(full, n)
        m = n if m is None else m
        run.stops[name] = StopOutcome(m, float(full[:m].sum() / total), (n - m) / n,
                                      rule.check(full[:m], n).recall_estimate)
    return run


def simulate(data: ScreeningSet, model: str = "tfidf-svm", strategy: str = "max", seeds: Sequence[int] = (0,), *,
             balance: str | None = None, retrain_every: int = 1,
             stop_rules: Sequence[str] = tuple(STOPPING_RULES.keys()), context: FeatureContext | None = None,
             store: FeatureStore | None = None, steps: Steps | None = None) -> SimulationResult:
    """Simulate screening ``data`` once per seed with one model and strategy (see the module docstring).

    Parameters
    ----------
    data : ScreeningSet
    model, strategy, balance, retrain_every, stop_rules
        As :func:`simulate_seed`.
    seeds : sequence of int
        One simulation each; the seed fixes the priors, so every model sees the same priors per seed.
    context : FeatureContext, optional
        How embeddings are made (models that use them).
    store : FeatureStore, optional
        Features already computed for ``data`` (shared between calls).
    steps : callable, optional
        Progress: ``steps("simulate <set>", total)`` returns ``advance(n)``; total = seeds x (records - 2).

    Returns
    -------
    SimulationResult

    Raises
    ------
    ConfigError
        Unknown model, strategy, balancer or stopping rule; no seed.
    DataError
        Fewer than :data:`MIN_INCLUDES` includes or no exclude (:func:`check_simulable`).
    """
    if not seeds:
        raise ConfigError("give at least one seed")
    spec = SCREENING_MODELS.get(model)
    QUERY_STRATEGIES.get(strategy)
    if balance is not None:
        BALANCERS.get(balance)
    for name in stop_rules:
        STOPPING_RULES.get(name)
    check_simulable(data)
    store = store or FeatureStore(data, context or FeatureContext(), steps=steps)
    t0 = time.perf_counter()
    spec.build(store, 0)  # features once, timed apart from the runs
    features_s = time.perf_counter() - t0
    advance = start_step(steps, f"simulate {data.name}", len(seeds) * (len(data) - 2))
    runs = [simulate_seed(store, model, strategy, int(s), balance=balance, retrain_every=retrain_every,
                          stop_rules=stop_rules, advance=advance) for s in seeds]
    label = model if spec.name == model else f"{model} ({spec.name})"
    return SimulationResult(data.name, len(data), data.n_includes, label, strategy,
                            balance or spec.balance[0], retrain_every, runs, features_s)
