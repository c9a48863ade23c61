"""Fusion of ranked runs (e.g. BM25 + dense) into one ranking.

A *run* is ``{doc_id: score}`` for one query (higher is better). Every function returns
``{doc_id: fused score}`` ordered best first (ties by doc id), so ``list(result)[:k]`` is the top k.

* ``rrf`` — Reciprocal Rank Fusion, Cormack, Clarke & Büttcher 2009, "Reciprocal rank fusion outperforms
  Condorcet and individual rank learning methods" (SIGIR): ``sum_r 1 / (k + rank_r(d))`` with 1-based
  ranks and k = 60. A document absent from a run contributes nothing for that run.
* ``convex`` — convex combination of normalised scores, Bruch, Gai & Ingber 2023, "An Analysis of Fusion
  Functions for Hybrid Retrieval" (ACM TOIS): ``sum_r w_r * phi_r(s_r(d))`` with ``phi`` = min-max over
  the run's returned documents. A document absent from a run scores 0 for that run (the normalised
  minimum). A run whose scores are all equal normalises to 1 for each of its documents.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

from serendip.errors import ConfigError
from serendip.registry import Registry

__all__ = ["FUSION", "convex", "rrf", "normalise"]

FUSION: Registry = Registry("fusion method")

Run = Mapping[str, float]


def _ordered(scores: dict[str, float]) -> dict[str, float]:
    return dict(sorted(scores.items(), key=lambda kv: (-kv[1], kv[0])))


def _ranked_ids(run: Run) -> list[str]:
    return [d for d, _ in sorted(run.items(), key=lambda kv: (-kv[1], kv[0]))]


@FUSION.register("rrf", "reciprocal-rank")
def rrf(runs: Sequence[Run], k: int = 60) -> dict[str, float]:
    """Reciprocal Rank Fusion (Cormack et al. 2009).

    Parameters
    ----------
    runs : sequence of mapping
        Each ``{doc_id: score}``; only the order within a run matters (descending score, ties by id).
    k : int
        Rank constant, 60 as in the paper; must be >= 0.

    Returns
    -------
    dict
        ``{doc_id: sum of 1 / (k + rank)}`` over the runs containing the doc, best first.

    Raises
    ------
    ConfigError
        If ``k`` is negative.
    """
    if k < 0:
        raise ConfigError(f"rrf k must be >= 0, got {k}")
    fused: dict[str, float] = {}
    for run in runs:
        for rank, doc in enumerate(_ranked_ids(run), 1):
            fused[doc] = fused.get(doc, 0.0) + 1.0 / (k + rank)
    return _ordered(fused)


def normalise(run: Run, norm: str = "minmax") -> dict[str, float]:
    """Normalise one run's scores.

    Parameters
    ----------
    run : mapping
        ``{doc_id: score}``.
    norm : {"minmax", "none"}
        "minmax": ``(s - min) / (max - min)`` over the run (all 1.0 when max == min); "none": unchanged.

    Raises
    ------
    ConfigError
        On an unknown ``norm``.
    """
    if norm == "none":
        return {d: float(s) for d, s in run.items()}
    if norm != "minmax":
        raise ConfigError(f"unknown score normalisation {norm!r}; expected 'minmax' or 'none'")
    if not run:
        return {}
    lo, hi = min(run.values()), max(run.values())
    if hi == lo:
        return {d: 1.0 for d in run}
    span = hi - lo
    return {d: (float(s) - lo) / span for d, s in run.items()}


@FUSION.register("convex", "linear")
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
        ``{doc_id: fused score in [0, 1]}`` (with "minmax"), best first; a doc missing from a run gets 0
        for that run.

    Raises
    ------
    ConfigError
        If the number of weights differs from the number of runs, a weight is negative, or all are 0.
    """
    if weights is None:
        weights = [1.0] * len(runs)
    if len(weights) != len(runs):
        raise ConfigError(f"convex fusion: {len(weights)} weights for {len(runs)} runs")
    if any(w < 0 for w in weights) or (runs and sum(weights) <= 0):
        raise ConfigError(f"convex fusion weights must be >= 0 and not all 0, got {list(weights)}")
    total = float(sum(weights)) or 1.0
    fused: dict[str, float] = {}
    for run, w in zip(runs, weights):
        w = w / total
        for doc, s in normalise(run, norm).items():
            fused[doc] = fused.get(doc, 0.0) + w * s
    return _ordered(fused)
