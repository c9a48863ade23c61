"""Time-sliced link prediction: build the graph up to year T, score the pairs that first co-occur later.

Protocol (after Liben-Nowell & Kleinberg 2007, who train on one period of a co-authorship network and
score the links new in the next, and OGB's ``ogbl-collab``, Hu et al., "Open Graph Benchmark", NeurIPS
2020, a graph split by year and scored with Hits@K against a fixed random sample of negative pairs):

* graph ``G_T``: the co-occurrence graph of the records with ``year <= T`` (:func:`make_slice`);
* candidates: pairs of nodes of ``G_T`` (both present by T) not linked in ``G_T``;
* positives: candidates that co-occur in a record with ``T < year <= end``; every other candidate is a
  negative. Records without a year are in neither side (counted in :attr:`TimeSlice.left_out`);
* the pairs scored: every positive and a uniform fixed-seed sample of negatives
  (:func:`sample_negatives`).

Metrics (higher is better): ROC-AUC (the probability a positive outscores a negative, ties counting
one half: Mann–Whitney; Hanley & McNeil 1982), Hits@K as OGB defines it (the share of positives scored
strictly above the K-th highest negative score; 1.0 when there are fewer than K negatives, as OGB's
evaluator) and MRR over query nodes: every node with a positive ranks all its candidates (the full
row, no sampling), the reciprocal rank of its best-ranked positive is averaged over the nodes
(Voorhees, TREC-8 QA track 1999), ties counted half (OGB's optimistic/pessimistic mean).
:func:`bootstrap` gives percentile intervals (Efron & Tibshirani 1993): positives and negatives
resampled separately (the ratio kept), query nodes for MRR; the same resamples for every scorer.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from serendip.kg.graph import EntityRecord, GraphMatrix, build_graph, graph_matrix
from serendip.kg.linkpred import score_rows

__all__ = ["TimeSlice", "bootstrap", "bootstrap_replicates", "hits_at_k", "make_slice",
           "query_reciprocal_ranks", "roc_auc", "sample_negatives", "summarise"]


@dataclass
class TimeSlice:
    """A graph up to ``until`` and the pairs new after it.

    Attributes
    ----------
    until, end : int, int or None
        Last year in the graph; last year counted for positives (None: every later year).
    graph : networkx.Graph
        :func:`~serendip.kg.graph.build_graph` of the records with ``year <= until``.
    matrix : GraphMatrix
        Its adjacency matrix; node indices below refer to ``matrix.nodes``.
    positives : ndarray of shape (m, 2), int64
        Node-index pairs ``i < j``, not linked in ``graph``, first co-occurring after ``until``.
    linked_codes : ndarray of shape (e,), int64
        Sorted codes ``i * n + j`` (``i < j``) of the pairs linked in ``graph``.
    n_future_records : int
        Records with ``until < year <= end`` and entities (the source of the positives).
    left_out : dict of str to int
        Records in neither side: ``no_entities`` (no MeSH), ``no_year``, ``after_end``.
    """

    until: int
    end: int | None
    graph: object
    matrix: GraphMatrix
    positives: np.ndarray
    linked_codes: np.ndarray
    n_future_records: int
    left_out: dict

    @property
    def n_candidates(self) -> int:
        """Pairs of nodes present by ``until`` and not linked then."""
        n = len(self.matrix.nodes)
        return n * (n - 1) // 2 - len(self.linked_codes)


def _codes(i: np.ndarray, j: np.ndarray, n: int) -> np.ndarray:
    i, j = np.asarray(i, dtype=np.int64), np.asarray(j, dtype=np.int64)
    return np.minimum(i, j) * n + np.maximum(i, j)


def make_slice(records: Iterable[EntityRecord], until: int, *, end: int | None = None,
               exclude: Iterable[str] = ()) -> TimeSlice:
    """The :class:`TimeSlice` of ``records`` at year ``until`` (positives from ``until < year <= end``),
    entities in ``exclude`` left out on both sides.

    Raises ValueError when ``end`` is not after ``until``; RuntimeError if a leak check fails (an edge
    of the graph first seen after ``until``, or a positive already linked): a bug, never data.
    """
    if end is not None and end <= until:
        raise ValueError(f"make_slice: end ({end}) must be after until ({until})")
    records = list(records)
    exclude = frozenset(exclude)
    graph = build_graph(records, until=until, exclude=exclude)
    gm = graph_matrix(graph)
    n = len(gm.nodes)
    late = [y for _, _, y in graph.edges(data="first_year") if y is not None and y > until]
    if late or any(y is not None and y > until for _, y in graph.nodes(data="first_year")):
        raise RuntimeError(f"time slice {until}: the graph holds edges or nodes first seen after {until}")
    coo = gm.adj.tocoo()
    keep = coo.row < coo.col
    linked = np.sort(_codes(coo.row[keep], coo.col[keep], n))
    future, left_out = _future_records(records, until, end)
    codes = []
    for rec in future:
        a = np.asarray(sorted({gm.index[e] for e in rec.entities if e in gm.index}), dtype=np.int64)
        ii, jj = np.triu_indices(len(a), k=1)
        codes.append(a[ii] * n + a[jj])
    new = np.unique(np.concatenate(codes)) if codes else np.empty(0, dtype=np.int64)
    new = new[~np.isin(new, linked, assume_unique=True)]
    positives = np.stack([new // n, new % n], axis=1) if len(new) else np.empty((0, 2), dtype=np.int64)
    if len(positives) and gm.adj[positives[:, 0], positives[:, 1]].any():  # checked on the matrix itself
        raise RuntimeError(f"time slice {until}: a positive pair is already linked by {until}")
    return TimeSlice(until, end, graph, gm, positives, linked, len(future), left_out)


def _future_records(records: list[EntityRecord], until: int, end: int | None):
    """(records with entities and ``until < year <= end``, counts of records on neither side)."""
    future, left_out = [], {"no_entities": 0, "no_year": 0, "after_end": 0}
    for rec in records:
        if rec.entities is None:
            left_out["no_entities"] += 1
        elif rec.year is None:
            left_out["no_year"] += 1
        elif rec.year > until and (end is None or rec.year <= end):
            future.append(rec)
        elif rec.year > until:
            left_out["after_end"] += 1
    return future, left_out


def sample_negatives(ts: TimeSlice, size: int, *, seed: int = 0) -> np.ndarray:
    """``size`` distinct candidate pairs that are not positives, drawn uniformly (numpy
    ``default_rng(seed)``, rejection of linked, positive and repeated pairs): int64 ndarray of shape
    (size, 2), ``i < j``, sorted by code. Raises ValueError when fewer such pairs exist."""
    n = len(ts.matrix.nodes)
    available = ts.n_candidates - len(ts.positives)
    if size > available:
        raise ValueError(f"sample_negatives: {size} asked, only {available} negative pairs exist")
    taken = np.union1d(ts.linked_codes, _codes(ts.positives[:, 0], ts.positives[:, 1], n))
    rng = np.random.default_rng(seed)
    got = np.empty(0, dtype=np.int64)
    while len(got) < size:
        i, j = rng.integers(0, n, size=(2, 2 * (size - len(got)) + 16))
        c = _codes(i[i != j], j[i != j], n)
        c = np.unique(c[~np.isin(c, taken)])
        c = c[~np.isin(c, got)]
        rng.shuffle(c)
        got = np.concatenate([got, c[:size - len(got)]])
    got = np.sort(got)
    return np.stack([got // n, got % n], axis=1)


def _auc_weighted(groups_pos, groups_neg, n_groups, w_pos, w_neg) -> float:
    neg_g = np.bincount(groups_neg, weights=w_neg, minlength=n_groups)
    below = np.cumsum(neg_g) - neg_g
    return float(np.dot(w_pos, below[groups_pos] + 0.5 * neg_g[groups_pos]) / (w_pos.sum() * w_neg.sum()))


def _tie_groups(pos: np.ndarray, neg: np.ndarray):
    _, g = np.unique(np.concatenate([pos, neg]), return_inverse=True)
    return g[:len(pos)], g[len(pos):], int(g.max()) + 1 if len(g) else 0


def roc_auc(pos: np.ndarray, neg: np.ndarray) -> float:
    """ROC-AUC of positive scores ``pos`` (shape (p,)) against negative scores ``neg`` (shape (q,)):
    P(pos > neg) + P(pos = neg) / 2 (Mann–Whitney U / pq; equals scikit-learn's ``roc_auc_score``).
    Raises ValueError when either is empty."""
    pos, neg = np.asarray(pos, dtype=np.float64), np.asarray(neg, dtype=np.float64)
    if not len(pos) or not len(neg):
        raise ValueError("roc_auc: need at least one positive and one negative score")
    gp, gn, ng = _tie_groups(pos, neg)
    return _auc_weighted(gp, gn, ng, np.ones(len(pos)), np.ones(len(neg)))


def _hits_weighted(pos_sorted, w_pos_sorted, neg_desc, w_neg_desc, k: int) -> float:
    cum = np.cumsum(w_neg_desc)
    if not len(cum) or cum[-1] < k:
        return 1.0
    kth = neg_desc[np.searchsorted(cum, k)]
    above = np.searchsorted(pos_sorted, kth, side="right")
    return float(w_pos_sorted[above:].sum() / w_pos_sorted.sum())


def hits_at_k(pos: np.ndarray, neg: np.ndarray, k: int = 100) -> float:
    """OGB's Hits@K (Hu et al. 2020; ``ogb.linkproppred.Evaluator``): the share of positive scores
    strictly above the K-th highest negative score; 1.0 when there are fewer than ``k`` negatives.
    Raises ValueError when ``pos`` is empty or ``k < 1``."""
    pos, neg = np.sort(np.asarray(pos, dtype=np.float64)), -np.sort(-np.asarray(neg, dtype=np.float64))
    if not len(pos) or k < 1:
        raise ValueError("hits_at_k: need at least one positive score and k >= 1")
    return _hits_weighted(pos, np.ones(len(pos)), neg, np.ones(len(neg)), k)


def query_reciprocal_ranks(ts: TimeSlice, scorer: str, *, seed: int = 0, model=None,
                           block: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """Per query node (every node with at least one positive): the reciprocal rank of its best-ranked
    positive among all its candidates (nodes other than itself not linked to it by ``until``), rank
    ``1 + #(negatives above) + #(negatives tied) / 2``. Returns (query node indices, int64 (q,);
    reciprocal ranks, float64 (q,)); MRR is their mean."""
    import scipy.sparse as sp

    n = len(ts.matrix.nodes)
    p = ts.positives
    pos = sp.csr_array((np.ones(2 * len(p)), (np.r_[p[:, 0], p[:, 1]], np.r_[p[:, 1], p[:, 0]])), shape=(n, n))
    queries = np.unique(p.ravel())
    rr = np.empty(len(queries))
    done = 0
    for rows, s in score_rows(ts.matrix, queries, scorer, seed=seed, model=model, block=block):
        is_pos = pos[rows].toarray() > 0
        is_neg = (ts.matrix.adj[rows].toarray() == 0) & ~is_pos
        is_neg[np.arange(len(rows)), rows] = False
        best = np.where(is_pos, s, -np.inf).max(axis=1)[:, None]
        rank = 1 + ((s > best) & is_neg).sum(axis=1) + 0.5 * ((s == best) & is_neg).sum(axis=1)
        rr[done:done + len(rows)] = 1.0 / rank
        done += len(rows)
    return queries, rr


def bootstrap_replicates(pos: np.ndarray, neg: np.ndarray, rr: np.ndarray, *, k: int = 100,
                         n_boot: int = 1000, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """ROC-AUC, Hits@``k`` and MRR on all the data and on ``n_boot`` bootstrap replicates.

    ``pos`` (p,) and ``neg`` (q,) are the scores of the positive and sampled negative pairs, ``rr``
    (r,) the per-query reciprocal ranks (:func:`query_reciprocal_ranks`). Each replicate draws p
    positives, q negatives and r queries with replacement (numpy ``default_rng(seed)``, in that order),
    so two scorers scored on the same pairs get the same resamples and their replicates can be
    subtracted (a paired bootstrap). Returns (values, float64 (3,); replicates, float64 (n_boot, 3)),
    columns in the order ROC-AUC, Hits@k, MRR."""
    pos, neg, rr = (np.asarray(a, dtype=np.float64) for a in (pos, neg, rr))
    gp, gn, ng = _tie_groups(pos, neg)
    po, no = np.argsort(pos, kind="stable"), np.argsort(-neg, kind="stable")
    rng = np.random.default_rng(seed)
    boots = np.empty((n_boot, 3))
    for b in range(n_boot):
        wp = np.bincount(rng.integers(0, len(pos), len(pos)), minlength=len(pos)).astype(np.float64)
        wn = np.bincount(rng.integers(0, len(neg), len(neg)), minlength=len(neg)).astype(np.float64)
        boots[b] = (_auc_weighted(gp, gn, ng, wp, wn), _hits_weighted(pos[po], wp[po], neg[no], wn[no], k),
                    rr[rng.integers(0, len(rr), len(rr))].mean())
    return np.array([roc_auc(pos, neg), hits_at_k(pos, neg, k), float(rr.mean())]), boots


def summarise(values: np.ndarray, boots: np.ndarray, k: int = 100) -> dict[str, dict[str, float]]:
    """``{"roc_auc" | "hits@k" | "mrr": {"value", "ci95_low", "ci95_high", "frac_not_above_0"}}`` from
    :func:`bootstrap_replicates` output (or a difference of two): the 2.5th and 97.5th percentiles of
    the replicates (Efron & Tibshirani 1993), and the share of replicates <= 0 (for a difference: a
    one-sided bootstrap p-value)."""
    low, high = np.percentile(boots, [2.5, 97.5], axis=0)
    return {name: {"value": float(v), "ci95_low": float(lo), "ci95_high": float(hi),
                   "frac_not_above_0": float(np.mean(col <= 0))}
            for name, v, lo, hi, col in zip(("roc_auc", f"hits@{k}", "mrr"), values, low, high, boots.T)}


def bootstrap(pos: np.ndarray, neg: np.ndarray, rr: np.ndarray, *, k: int = 100, n_boot: int = 1000,
              seed: int = 0) -> dict[str, dict[str, float]]:
    """Point values and 95 % percentile bootstrap intervals of ROC-AUC, Hits@``k`` and MRR:
    :func:`summarise` of :func:`bootstrap_replicates` (same arguments)."""
    return summarise(*bootstrap_replicates(pos, neg, rr, k=k, n_boot=n_boot, seed=seed), k=k)
