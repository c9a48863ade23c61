"""Fusion of ranked runs (e.g. BM25 + dense) into one ranking.

A *run* is ``{doc_id: score}`` for one query (higher is better). Every fusion method has the one
signature ``fuse(runs, weights=None, **options) -> {doc_id: fused score}``: ``weights`` holds one
non-negative weight per run (None: equal weights) and ``options`` the method's own settings (RRF's
``k``, convex's ``norm``). The result is ordered best first (ties by doc id), so ``list(result)[:k]``
is the top k. Methods are :class:`FusionMethod` entries of :data:`FUSION` (aliases allowed);
:func:`fusion_names` lists the canonical names.

* ``rrf`` — Reciprocal Rank Fusion, Cormack, Clarke & Büttcher 2009, "Reciprocal rank fusion outperforms
  Condorcet and individual rank learning methods" (SIGIR): ``sum_r w_r / (k + rank_r(d))`` with 1-based
  ranks, k = 60 and ``w_r`` = 1 (weights, when given, are rescaled to average 1: weighted RRF as in
  Elasticsearch/OpenSearch). A document absent from a run contributes nothing for that run.
* ``convex`` — convex combination of normalised scores, Bruch, Gai & Ingber 2023, "An Analysis of Fusion
  Functions for Hybrid Retrieval" (ACM TOIS): ``sum_r w_r * phi_r(s_r(d))`` with ``phi`` = min-max over
  the run's returned documents (default), or ``norm="zscore"`` (``(s - mean) / sd`` over the run, as
  compared in Bruch et al. 2023, Sec. 4) or ``"none"``. A document absent from a run scores that run's
  lowest normalised score (0 with min-max). A run whose scores are all equal normalises to 1 (min-max)
  or 0 (z-score) for each of its documents.

:data:`NORMALISATIONS` lists the score normalisations ``convex`` accepts.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from serendip.errors import ConfigError
from serendip.registry import Registry

__all__ = ["FUSION", "NORMALISATIONS", "FusionMethod", "Run", "convex", "fusion_names", "normalise", "register_fusion", "rrf"]

Run = Mapping[str, float]
#: ``fuse(runs, weights=None, **options) -> {doc_id: fused score}``, best first
FuseFn = Callable[..., dict[str, float]]


@dataclass(frozen=True)
class FusionMethod:
    """One fusion method: its canonical ``name``, the ``fuse`` function (the one signature above) and
    the ``reference`` (paper) it implements."""

    name: str
    fuse: FuseFn
    reference: str

    def __call__(self, runs: Sequence[Run], weights: Sequence[float] | None = None,
                 **options) -> dict[str, float]:
        return self.fuse(runs, weights, **options)


#: name (or alias) -> :class:`FusionMethod`
FUSION: Registry[FusionMethod] = Registry("fusion method")


def register_fusion(name: str, *aliases: str, reference: str) -> Callable[[FuseFn], FuseFn]:
    """Decorator: register ``fuse`` under ``name`` (and ``aliases``) in :data:`FUSION`; returns the
    function unchanged."""
    def deco(fn: FuseFn) -> FuseFn:
        FUSION.register(name, *aliases)(FusionMethod(name.lower(), fn, reference))
        return fn

    return deco


def fusion_names() -> list[str]:
    """Canonical names of the registered fusion methods (no aliases), sorted."""
    return sorted({method.name for _, method in FUSION.items()})


def _check_weights(weights: Sequence[float] | None, n_runs: int, method: str) -> list[float]:
    """``weights`` as floats (all 1.0 when None); ConfigError on a wrong count, a negative weight or
    all zeros."""
    if weights is None:
        return [1.0] * n_runs
    if len(weights) != n_runs:
        raise ConfigError(f"{method} fusion: {len(weights)} weights for {n_runs} runs")
    if any(w < 0 for w in weights) or (n_runs and sum(weights) <= 0):
        raise ConfigError(f"{method} fusion weights must be >= 0 and not all 0, got {list(weights)}")
    return [float(w) for w in weights]


def _ordered(scores: dict[str, float]) -> dict[str, float]:
    return dict(sorted(scores.items(), key=lambda kv: (-kv[1], kv[0])))


def _ranked_ids(run: Run) -> list[str]:
    return [d for d, _ in sorted(run.items(), key=lambda kv: (-kv[1], kv[0]))]


@register_fusion("rrf", "reciprocal-rank", reference="Cormack, Clarke & Büttcher 2009 (SIGIR)")
def rrf(runs: Sequence[Run], weights: Sequence[float] | None = None, k: int = 60) -> dict[str, float]:
    """Reciprocal Rank Fusion (Cormack et al. 2009).

    Parameters
    ----------
    runs : sequence of mapping
        Each ``{doc_id: score}``; only the order within a run matters (descending score, ties by id).
    weights : sequence of float, optional
        One non-negative weight per run, rescaled to average 1 (default: all 1, the paper's RRF).
    k : int
        Rank constant, 60 as in the paper; must be >= 0.

    Returns
    -------
    dict
        ``{doc_id: sum of 1 / (k + rank)}`` over the runs containing the doc, best first.

    Raises
    ------
    ConfigError
        If ``k`` is negative, or on a wrong number of weights, a negative weight or all zeros.
    """
    if k < 0:
        raise ConfigError(f"rrf k must be >= 0, got {k}")
    ws = _check_weights(weights, len(runs), "rrf")
    mean = (sum(ws) / len(ws)) if ws else 1.0
    fused: dict[str, float] = {}
    for run, w in zip(runs, ws):
        w = w / mean
        for rank, doc in enumerate(_ranked_ids(run), 1):
            fused[doc] = fused.get(doc, 0.0) + w / (k + rank)
    return _ordered(fused)


#: score normalisations of :func:`normalise` (and ``convex``'s ``norm``)
NORMALISATIONS = ("minmax", "zscore", "none")


def normalise(run: Run, norm: str = "minmax") -> dict[str, float]:
    """Normalise one run's scores.

    Parameters
    ----------
    run : mapping
        ``{doc_id: score}``.
    norm : {"minmax", "zscore", "none"}
        "minmax": ``(s - min) / (max - min)`` over the run (all 1.0 when max == min); "zscore":
        ``(s - mean) / sd`` with the population standard deviation over the run (all 0.0 when sd == 0);
        "none": unchanged.

    Raises
    ------
    ConfigError
        On an unknown ``norm``.
    """
    if norm not in NORMALISATIONS:
        raise ConfigError(f"unknown score normalisation {norm!r}; expected one of: {', '.join(NORMALISATIONS)}")
    if norm == "none" or not run:
        return {d: float(s) for d, s in run.items()}
    values = [float(s) for s in run.values()]
    if norm == "zscore":
        mean = sum(values) / len(values)
        sd = (sum((v - mean) ** 2 for v in values) / len(values)) ** 0.5
        return {d: ((float(s) - mean) / sd if sd > 0 else 0.0) for d, s in run.items()}
    lo, hi = min(values), max(values)
    if hi == lo:
        return {d: 1.0 for d in run}
    span = hi - lo
    return {d: (float(s) - lo) / span for d, s in run.items()}


@register_fusion("convex", "linear", reference="Bruch, Gai & Ingber 2023 (ACM TOIS)")
def convex(runs: Sequence[Run], weights: Sequence[float] | None = None, norm: str = "minmax") -> dict[str, float]:
    """Convex combination of normalised scores (Bruch et al. 2023).

    Parameters
    ----------
    runs : sequence of mapping
        Each ``{doc_id: score}``.
    weights : sequence of float, optional
        One non-negative weight per run, not all zero; rescaled to sum to 1. Default: equal weights.
        For (BM25, dense) with the dense weight ``alpha`` pass ``[1 - alpha, alpha]``.
    norm : str
        Per-run normalisation, see :func:`normalise`.

    Returns
    -------
    dict
        ``{doc_id: fused score}`` (in [0, 1] with "minmax"), best first; a doc missing from a run gets
        that run's lowest normalised score (0 with "minmax").

    Raises
    ------
    ConfigError
        If the number of weights differs from the number of runs, a weight is negative, or all are 0,
        or on an unknown ``norm``.
    """
    weights = _check_weights(weights, len(runs), "convex")
    total = float(sum(weights)) or 1.0
    normed = [normalise(run, norm) for run in runs]
    floors = [min(n.values(), default=0.0) for n in normed]
    docs = dict.fromkeys(d for n in normed for d in n)
    fused = {doc: sum(w / total * n.get(doc, floor) for n, w, floor in zip(normed, weights, floors))
             for doc in docs}
    return _ordered(fused)
