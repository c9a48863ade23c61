"""One entry point for BM25, dense and hybrid search over a :class:`BM25Index` and a :class:`DenseIndex`.

Hybrid search takes the top ``candidates`` documents of each index and fuses them (:mod:`.fusion`).

Defaults were chosen on SciFact TRAIN qrels only (809 claims; ``benchmarks/_scifact_tune.py``), with
all-MiniLM-L6-v2 and Lucene BM25 (k1=1.2, b=0.75): convex fusion of min-max normalised scores
(Bruch et al. 2023) beat RRF k=60 (Cormack et al. 2009), nDCG@10 0.7313 vs 0.7115; the dense weight
alpha was taken from a 0.05 grid (best 0.45, tied with 0.50 at four decimals) at candidate depth 1000
(0.7313; depth 100: 0.7297). On TEST (300 claims) that gives nDCG@10 0.732 (RRF: 0.715; BM25 0.681;
dense 0.645); see ``benchmarks/RESULTS.md``.
"""
from __future__ import annotations

from collections.abc import Sequence

from serendip.errors import ConfigError, IndexNotBuilt
from serendip.retrieval.bm25 import BM25Index
from serendip.retrieval.dense import DenseIndex
from serendip.retrieval.fusion import FUSION

__all__ = ["MODES", "DEFAULT_FUSION", "DEFAULT_ALPHA", "DEFAULT_CANDIDATES", "Searcher"]

MODES = ("bm25", "dense", "hybrid")
#: Default hybrid fusion; chosen on SciFact TRAIN (see module docstring).
DEFAULT_FUSION = "convex"
#: Weight of the dense run in convex fusion (BM25 gets 1 - alpha); tuned on SciFact TRAIN.
DEFAULT_ALPHA = 0.45
#: Documents pulled from each index before fusion.
DEFAULT_CANDIDATES = 1000


class Searcher:
    """Search a BM25 index, a dense index, or both.

    Parameters
    ----------
    bm25 : BM25Index
    dense : DenseIndex or None
        Needed for "dense" and "hybrid" modes.
    fusion : str
        Default fusion method for hybrid mode ("rrf" or "convex"; see :data:`fusion.FUSION`).
    alpha : float
        Dense weight for convex fusion, in [0, 1].
    candidates : int
        Depth taken from each index in hybrid mode.
    rrf_k : int
        RRF rank constant (60, Cormack et al. 2009).

    Raises
    ------
    ConfigError
        On an unknown fusion name, alpha outside [0, 1] or candidates < 1.
    """

    def __init__(self, bm25: BM25Index, dense: DenseIndex | None = None, *, fusion: str = DEFAULT_FUSION,
                 alpha: float = DEFAULT_ALPHA, candidates: int = DEFAULT_CANDIDATES, rrf_k: int = 60):
        FUSION.get(fusion)
        if not 0.0 <= alpha <= 1.0:
            raise ConfigError(f"alpha must be in [0, 1], got {alpha}")
        if candidates < 1:
            raise ConfigError(f"candidates must be >= 1, got {candidates}")
        self.bm25 = bm25
        self.dense = dense
        self.fusion = fusion
        self.alpha = float(alpha)
        self.candidates = int(candidates)
        self.rrf_k = int(rrf_k)

    # -- helpers ----------------------------------------------------------------------------------------
    def _check(self, mode: str) -> None:
        if mode not in MODES:
            raise ConfigError(f"unknown search mode {mode!r}; expected one of: {', '.join(MODES)}")
        if mode != "bm25" and self.dense is None:
            raise IndexNotBuilt(f"{mode} search needs the dense index (run `serendip index --dense`)")

    def _fuse(self, lex: list[tuple[str, float]], sem: list[tuple[str, float]], k: int,
              fusion: str | None) -> list[tuple[str, float]]:
        name = (fusion or self.fusion).lower()
        fn = FUSION.get(name)
        runs = [dict(lex), dict(sem)]
        if fn is FUSION.get("rrf"):
            fused = fn(runs, k=self.rrf_k)
        else:
            fused = fn(runs, [1.0 - self.alpha, self.alpha])
        return list(fused.items())[:k]

    # -- API --------------------------------------------------------------------------------------------
    def search(self, query: str, mode: str = "bm25", k: int = 10,
               fusion: str | None = None) -> list[tuple[str, float]]:
        """Top-``k`` (doc_id, score) for ``query``, best first.

        Parameters
        ----------
        query : str
        mode : {"bm25", "dense", "hybrid"}
        k : int
        fusion : str, optional
            Overrides the searcher's fusion method for this call (hybrid only).

        Returns
        -------
        list of (doc_id, score)
            Scores are BM25 scores, cosines, or fused scores depending on ``mode``.

        Raises
        ------
        ConfigError
            Unknown mode or fusion.
        IndexNotBuilt
            Dense or hybrid mode without a dense index.
        """
        self._check(mode)
        if mode == "bm25":
            return self.bm25.search(query, k)
        if mode == "dense":
            return self.dense.search(query, k)
        n = max(self.candidates, k)
        qv = self.dense.encode_queries([query])
        return self._fuse(self.bm25.search(query, n), self.dense.search_vectors(qv, n)[0], k, fusion)

    def search_batch(self, queries: Sequence[str], mode: str = "bm25", k: int = 10,
                     fusion: str | None = None, batch_size: int = 64) -> list[list[tuple[str, float]]]:
        """:meth:`search` for many queries; dense query embeddings are computed in batches.

        Returns
        -------
        list of list of (doc_id, score)
            One result list per query, in input order.
        """
        self._check(mode)
        queries = list(queries)
        if mode == "bm25":
            return self.bm25.search_many(queries, k)
        qv = self.dense.encode_queries(queries, batch_size=batch_size)
        if mode == "dense":
            return self.dense.search_vectors(qv, k)
        n = max(self.candidates, k)
        sem = self.dense.search_vectors(qv, n)
        lex = self.bm25.search_many(queries, n)
        return [self._fuse(a, b, k, fusion) for a, b in zip(lex, sem)]
