"""Choosing a reranker run's search settings on held-out queries: the rerank depth (candidates
re-scored) and its weight in a convex fusion with the first stage (:func:`serendip.retrieval.rerank.rerank`).

The reranker scores each held-out query's first-stage top ``max(DEPTHS)`` once; every (depth, weight)
of the grid is then the first stage's top ``depth`` re-ordered by :func:`~serendip.retrieval.rerank.rerank`
with those scores, the rest kept in first-stage order, and scored by nDCG@10 (ranx, through
:func:`serendip.retrieval.evaluate.evaluate_run`). The best wins; ties go to the smaller depth, then the
larger weight. The same grid as ``benchmarks/evidence_rerank.py`` (where it was chosen on SciFact).
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

__all__ = ["DEPTHS", "WEIGHTS", "fused_run", "tune_settings"]

#: rerank depths tried
DEPTHS = (10, 20, 30, 50)
#: reranker weights tried (1.0: the reranker alone; 0.0: the first stage alone)
WEIGHTS = (1.0, 0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1, 0.0)

Scored = Sequence[tuple[str, float]]


class _Given:
    """A reranker that hands back scores computed once (for the grid)."""

    description = "precomputed scores"

    def __init__(self, scores: np.ndarray):
        self.scores = scores

    def score(self, query: str, texts: Sequence[str]) -> np.ndarray:
        return self.scores


def fused_run(cands: Mapping[str, Scored], scores: Mapping[str, np.ndarray], depth: int,
              weight: float) -> dict[str, dict[str, float]]:
    """A ranx run: per query, the first ``depth`` candidates re-ordered by :func:`rerank` with the
    reranker's ``scores`` (float64, one per candidate, in candidate order) and ``weight``, then the
    rest in first-stage order; each doc's run score is ``len(ranking) - position``."""
    from serendip.retrieval.rerank import rerank

    run = {}
    for q, cand in cands.items():
        head = list(cand[:depth])
        top = rerank(_Given(np.asarray(scores[q][:len(head)])), "", head, [""] * len(head), max(1, len(head)),
                     weight) if head else []
        ordered = [d for d, _ in top] + [d for d, _ in cand[depth:]]
        run[q] = {d: float(len(ordered) - i) for i, d in enumerate(ordered)}
    return run


def tune_settings(cands: Mapping[str, Scored], scores: Mapping[str, np.ndarray],
                  qrels: Mapping[str, Mapping[str, int]]) -> tuple[int, float, float, dict[str, float]]:
    """The best (depth, weight) on the held-out queries.

    Parameters
    ----------
    cands : mapping
        query id -> the first stage's (doc id, score), best first (at least ``max(DEPTHS)`` when the
        corpus has them).
    scores : mapping
        query id -> the reranker's scores of those candidates (float64, same order).
    qrels : mapping
        query id -> {doc id: relevance}; queries without a positive are ignored (BEIR).

    Returns
    -------
    (depth, weight, ndcg@10, grid)
        ``grid`` maps ``"depth@weight"`` to its nDCG@10 (rounded to 4 places).
    """
    from serendip.retrieval.evaluate import evaluate_run

    grid = {}
    for depth in DEPTHS:
        for weight in WEIGHTS:
            grid[(depth, weight)] = evaluate_run(qrels, fused_run(cands, scores, depth, weight),
                                                 ("ndcg@10",))["ndcg@10"]
    best = max(grid, key=lambda dw: (round(grid[dw], 4), -dw[0], dw[1]))
    return best[0], best[1], float(grid[best]), {f"{d}@{w}": round(v, 4) for (d, w), v in grid.items()}
