"""Link prediction on a co-occurrence graph: neighbourhood scorers, baselines and a learned scorer.

Every scorer gives a pair of nodes ``(x, y)`` a score, higher meaning "more likely to be linked next".
With ``Γ(x)`` the neighbours of ``x`` and ``k_x = |Γ(x)|`` its degree (Liben-Nowell & Kleinberg, "The
link-prediction problem for social networks", JASIST 58(7), 2007; Zhou, Lü & Zhang, "Predicting missing
links via local information", Eur. Phys. J. B 71, 2009):

* ``common-neighbours``: ``|Γ(x) ∩ Γ(y)|``;
* ``jaccard``: ``|Γ(x) ∩ Γ(y)| / |Γ(x) ∪ Γ(y)|`` (0 when both are isolated, as networkx);
* ``adamic-adar``: ``Σ_{z ∈ Γ(x) ∩ Γ(y)} 1 / log k_z``;
* ``resource-allocation``: ``Σ_{z ∈ Γ(x) ∩ Γ(y)} 1 / k_z``;
* ``preferential-attachment`` (a baseline): ``k_x k_y``;
* ``random`` (a baseline): a uniform number in [0, 1) fixed by the pair and a seed (a hash, so the
  same pair gets the same score in every call);
* ``learned``: a classifier over the pair features of :func:`pair_features` (the scores above, logged
  where heavy-tailed, and the two degrees), fitted by :func:`fit_learned` on an earlier graph.

The scores are computed block by block of rows from the sparse adjacency matrix
(``A[rows] @ diag(w) @ A``), so memory stays ``O(block * n)``; they agree with networkx's
``adamic_adar_index``, ``resource_allocation_index``, ``jaccard_coefficient`` and
``preferential_attachment`` (checked in the tests).
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

from serendip.kg.graph import GraphMatrix
from serendip.registry import Registry

__all__ = ["FEATURES", "LINK_SCORERS", "LinkScorer", "NeighbourBlock", "fit_learned", "iter_blocks",
           "pair_features", "score_pairs", "score_rows"]


@dataclass(frozen=True)
class NeighbourBlock:
    """Pair statistics of the rows ``rows`` (int ndarray of shape (b,)) against every node: ``cn``,
    ``aa``, ``ra`` (float64 ndarrays of shape (b, n): common neighbours, Adamic–Adar, resource
    allocation), ``deg_rows`` (shape (b, 1)) and ``deg`` (shape (n,)) degrees."""

    rows: np.ndarray
    cn: np.ndarray
    aa: np.ndarray
    ra: np.ndarray
    deg_rows: np.ndarray
    deg: np.ndarray


def iter_blocks(gm: GraphMatrix, rows: np.ndarray, block: int = 256) -> Iterator[NeighbourBlock]:
    """:class:`NeighbourBlock` for ``rows`` (int ndarray) in consecutive chunks of ``block`` rows."""
    import scipy.sparse as sp

    deg = np.asarray(gm.degree, dtype=np.float64)
    with np.errstate(divide="ignore"):
        w_aa = np.where(deg >= 2, 1.0 / np.log(np.maximum(deg, 2)), 0.0)  # a shared neighbour has k >= 2
    w_ra = np.where(deg >= 1, 1.0 / np.maximum(deg, 1), 0.0)
    adj = sp.csr_array(gm.adj)
    a_aa, a_ra = sp.csr_array(adj.multiply(w_aa[:, None])), sp.csr_array(adj.multiply(w_ra[:, None]))
    for start in range(0, len(rows), block):
        r = np.asarray(rows[start:start + block])
        sub = adj[r]
        yield NeighbourBlock(r, (sub @ adj).toarray(), (sub @ a_aa).toarray(), (sub @ a_ra).toarray(),
                             deg[r][:, None], deg)


def _jaccard(b: NeighbourBlock) -> np.ndarray:
    union = b.deg_rows + b.deg[None, :] - b.cn
    return np.divide(b.cn, union, out=np.zeros_like(b.cn), where=union > 0)


def _hash_uniform(i: np.ndarray, j: np.ndarray, seed: int) -> np.ndarray:
    """Uniform [0, 1) numbers fixed by the unordered pair (i, j) and ``seed`` (splitmix64 finaliser,
    Steele, Lea & Flood 2014)."""
    lo, hi = np.minimum(i, j).astype(np.uint64), np.maximum(i, j).astype(np.uint64)
    with np.errstate(over="ignore"):
        z = (hi << np.uint64(32)) ^ lo ^ (np.uint64(seed) * np.uint64(0x9E3779B97F4A7C15))
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    return (z >> np.uint64(11)).astype(np.float64) / float(1 << 53)


#: Names of the columns of :func:`pair_features`, in order
FEATURES = ("log1p_cn", "jaccard", "adamic_adar", "resource_allocation", "log1p_pa", "log1p_deg_min",
            "log1p_deg_max")


def pair_features(b: NeighbourBlock) -> np.ndarray:
    """The learned scorer's inputs for every (row, node) pair of ``b``: float64 ndarray of shape
    (b, n, len(:data:`FEATURES`))."""
    deg_row = np.broadcast_to(b.deg_rows, b.cn.shape)
    deg_col = np.broadcast_to(b.deg[None, :], b.cn.shape)
    return np.stack([np.log1p(b.cn), _jaccard(b), b.aa, b.ra, np.log1p(deg_row * deg_col),
                     np.log1p(np.minimum(deg_row, deg_col)), np.log1p(np.maximum(deg_row, deg_col))], axis=-1)


@dataclass(frozen=True)
class LinkScorer:
    """One scorer: ``name``, ``score(block, seed, model) -> ndarray of shape (b, n)`` and the
    ``reference`` it follows; ``needs_model`` when it must be fitted first (:func:`fit_learned`)."""

    name: str
    score: Callable[..., np.ndarray]
    reference: str
    needs_model: bool = False


LINK_SCORERS: Registry[LinkScorer] = Registry("link scorer")
_LNK = "Liben-Nowell & Kleinberg 2007 (JASIST 58(7))"


def _register(name: str, reference: str, *, needs_model: bool = False):
    def deco(fn):
        LINK_SCORERS.add(name, LinkScorer(name, fn, reference, needs_model))
        return fn
    return deco


@_register("common-neighbours", _LNK)
def _cn(b, seed, model):
    return b.cn


@_register("jaccard", _LNK)
def _jc(b, seed, model):
    return _jaccard(b)


@_register("adamic-adar", f"Adamic & Adar 2003 (Social Networks 25(3)); {_LNK}")
def _aa(b, seed, model):
    return b.aa


@_register("resource-allocation", "Zhou, Lü & Zhang 2009 (Eur. Phys. J. B 71)")
def _ra(b, seed, model):
    return b.ra


@_register("preferential-attachment", f"Barabási & Albert 1999; {_LNK} (baseline)")
def _pa(b, seed, model):
    return b.deg_rows * b.deg[None, :]


@_register("random", "baseline: a seeded uniform score per pair")
def _random(b, seed, model):
    i = np.broadcast_to(b.rows[:, None], b.cn.shape)
    j = np.broadcast_to(np.arange(b.cn.shape[1])[None, :], b.cn.shape)
    return _hash_uniform(i, j, seed)


@_register("learned", "a classifier over pair features (scikit-learn), fitted on an earlier slice",
           needs_model=True)
def _learned(b, seed, model):
    x = pair_features(b)
    return model.predict_proba(x.reshape(-1, x.shape[-1]))[:, 1].reshape(b.cn.shape)


def _scorer(name: str, model) -> LinkScorer:
    scorer = LINK_SCORERS.get(name)
    if scorer.needs_model and model is None:
        raise ValueError(f"link scorer {name!r} needs a fitted model (fit_learned)")
    return scorer


def score_pairs(gm: GraphMatrix, pairs: np.ndarray, scorer: str, *, seed: int = 0, model=None,
                block: int = 256) -> np.ndarray:
    """Scores of node-index pairs ``pairs`` (int ndarray of shape (m, 2)) by the scorer named
    ``scorer`` (see :data:`LINK_SCORERS`): float64 ndarray of shape (m,). ``model`` is the fitted
    classifier of the ``learned`` scorer. Raises ConfigError for an unknown scorer, ValueError when
    ``learned`` has no model or a pair index is out of range."""
    fn = _scorer(scorer, model)
    pairs = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
    n = len(gm.nodes)
    if pairs.size and (pairs.min() < 0 or pairs.max() >= n):
        raise ValueError(f"score_pairs: pair indices must lie in [0, {n}), got {pairs.min()}..{pairs.max()}")
    return _gather(gm, pairs, lambda blk: fn.score(blk, seed, model), block)


def score_rows(gm: GraphMatrix, rows: np.ndarray, scorer: str, *, seed: int = 0, model=None,
               block: int = 256) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """``(rows_block, scores)`` per chunk of ``rows``: scores a float64 ndarray of shape (b, n), the
    score of each row node with every node (self and neighbours included: the caller masks them)."""
    fn = _scorer(scorer, model)
    for b in iter_blocks(gm, np.asarray(rows, dtype=np.int64), block):
        yield b.rows, fn.score(b, seed, model)


def fit_learned(gm: GraphMatrix, pairs: np.ndarray, labels: np.ndarray, *, kind: str = "gb", seed: int = 0):
    """Fit the ``learned`` scorer on an earlier graph: features of ``pairs`` (int ndarray (m, 2)) in
    ``gm`` (:func:`pair_features`), ``labels`` (0/1 ndarray (m,): linked later or not).

    ``kind = "gb"``: scikit-learn ``HistGradientBoostingClassifier`` (Ke et al. 2017's histogram
    boosting) with its defaults, ``random_state=seed``; ``"logreg"``: standardised features into
    ``LogisticRegression`` (L2, C = 1). Returns the fitted estimator (``predict_proba``). Raises
    ValueError for another ``kind`` or labels of one class only."""
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    labels = np.asarray(labels)
    if len(np.unique(labels)) != 2:
        raise ValueError("fit_learned: labels must hold both classes (0 and 1)")
    x = _gather(gm, np.asarray(pairs, dtype=np.int64).reshape(-1, 2), pair_features)
    if kind == "gb":
        model = HistGradientBoostingClassifier(random_state=seed)
    elif kind == "logreg":
        model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    else:
        raise ValueError(f"fit_learned: kind must be 'gb' or 'logreg', got {kind!r}")
    return model.fit(x, labels)


def _gather(gm: GraphMatrix, pairs: np.ndarray, compute: Callable[[NeighbourBlock], np.ndarray],
            block: int = 256) -> np.ndarray:
    """``compute(block)[k, j]`` for every pair ``(rows[k], j)`` of ``pairs`` (m, 2): shape (m, ...),
    each row of the graph computed once."""
    order = np.argsort(pairs[:, 0], kind="stable")
    rows, starts = np.unique(pairs[order, 0], return_index=True)
    ends = np.append(starts[1:], len(order))
    out, done = None, 0
    for b in iter_blocks(gm, rows, block):
        values = compute(b)
        if out is None:
            out = np.empty((len(pairs), *values.shape[2:]))
        for k in range(len(b.rows)):
            sel = order[starts[done + k]:ends[done + k]]
            out[sel] = values[k, pairs[sel, 1]]
        done += len(b.rows)
    return np.empty((0,)) if out is None else out
