"""One entry point for every retrieval mode (:mod:`.modes`) over a :class:`BM25Index` and a :class:`DenseIndex`.

Hybrid search takes the top ``candidates`` documents of each index and fuses them (:mod:`.fusion`).

Defaults were chosen on SciFact TRAIN qrels only (809 claims; ``benchmarks/_scifact_tune.py``), with
all-MiniLM-L6-v2 and Lucene BM25 (k1=1.2, b=0.75): convex fusion of min-max normalised scores
(Bruch et al. 2023) beat RRF k=60 (Cormack et al. 2009), nDCG@10 0.7313 vs 0.7115; the dense weight
alpha was taken from a 0.05 grid (best 0.45, tied with 0.50 at four decimals) at candidate depth 1000
(0.7313; depth 100: 0.7297). On TEST (300 claims) that gives nDCG@10 0.732 (RRF: 0.715; BM25 0.681;
dense 0.645); see ``benchmarks/RESULTS.md``.

``benchmarks/fusion_sets.py`` compares RRF (k 10/60/100) and convex fusion (alpha 0.3-0.8, min-max and
z-score normalisation) on every registered retrieval set (SciFact; BC5CDR-CID, built from BC5CDR, see
:mod:`serendip.datasets.retrieval_sets`) and picks a setting by the mean over sets of the tuning-split
nDCG@10, so that the default is not tuned to one collection: convex min-max with alpha 0.4 (the
SciFact-only choice was 0.45; see :data:`DEFAULT_ALPHA`).
"""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from serendip.errors import ConfigError, IndexNotBuilt
from serendip.retrieval.bm25 import BM25Index
from serendip.retrieval.dense import DenseIndex
from serendip.retrieval.fusion import FUSION, NORMALISATIONS
from serendip.retrieval.modes import RETRIEVAL_MODES, RetrievalMode

__all__ = ["DEFAULT_FUSION", "DEFAULT_ALPHA", "DEFAULT_CANDIDATES", "DEFAULT_NORM", "DEFAULT_RRF_K", "Searcher"]

#: Default hybrid fusion; chosen on SciFact TRAIN (see module docstring).
DEFAULT_FUSION = "convex"
#: Weight of the dense run in convex fusion (BM25 gets 1 - alpha): the best mean tuning-split nDCG@10
#: over SciFact TRAIN and BC5CDR-CID tune (``benchmarks/fusion_sets.py``: 0.8462 vs 0.8448 for 0.45,
#: the SciFact-only choice); SciFact TEST 0.7353 (0.45: 0.7322), BC5CDR-CID test 0.9387 (0.45: 0.9313).
DEFAULT_ALPHA = 0.4
#: Score normalisation of convex fusion (a name of :data:`fusion.NORMALISATIONS`).
DEFAULT_NORM = "minmax"
#: RRF rank constant (Cormack et al. 2009).
DEFAULT_RRF_K = 60
#: Documents pulled from each index before fusion.
DEFAULT_CANDIDATES = 1000


class Searcher:
    """Search a BM25 index, a dense index, or both, with any registered retrieval mode.

    Parameters
    ----------
    bm25 : BM25Index (or a Tantivy one), or a callable returning one
        Needed by the modes whose ``needs`` name "bm25" ("bm25" and "hybrid"). A callable is called on
        the first use of :attr:`bm25` (once), so a dense search is not stopped by a damaged BM25 index.
    dense : DenseIndex, or a callable returning one, or None
        Needed by the modes whose ``needs`` name "dense" ("dense" and "hybrid"). A callable is called
        on the first use of :attr:`dense` (once), so a BM25 search never loads the dense index (nor its
        model) and is not stopped by a damaged one.
    missing : mapping of str to str, optional
        Index part -> why it is absent (one sentence, said by :meth:`mode` to a mode that needs it);
        default: run ``serendip index`` without ``--no-<part>``.
    fusion : str
        Default fusion method for hybrid mode (a name of :data:`fusion.FUSION`).
    alpha : float
        Dense weight for convex fusion, in [0, 1] (weights ``[1 - alpha, alpha]`` for (BM25, dense)).
    candidates : int
        Depth taken from each index in hybrid mode.
    rrf_k : int
        RRF rank constant (60, Cormack et al. 2009).
    norm : str
        Score normalisation for convex fusion ("minmax", "zscore", "none").

    Raises
    ------
    ConfigError
        On an unknown fusion name or normalisation, alpha outside [0, 1] or candidates < 1.
    """

    def __init__(self, bm25: BM25Index | Callable[[], BM25Index],
                 dense: DenseIndex | Callable[[], DenseIndex] | None = None, *,
                 fusion: str = DEFAULT_FUSION,
                 alpha: float = DEFAULT_ALPHA, candidates: int = DEFAULT_CANDIDATES, rrf_k: int = DEFAULT_RRF_K,
                 norm: str = DEFAULT_NORM, missing: Mapping[str, str] | None = None):
        FUSION.get(fusion)
        if norm not in NORMALISATIONS:
            raise ConfigError(f"unknown score normalisation {norm!r}; expected one of: {', '.join(NORMALISATIONS)}")
        if not 0.0 <= alpha <= 1.0:
            raise ConfigError(f"alpha must be in [0, 1], got {alpha}")
        if candidates < 1:
            raise ConfigError(f"candidates must be >= 1, got {candidates}")
        self._bm25 = bm25
        self._dense = dense
        self.missing = dict(missing or {})
        self.fusion = FUSION.get(fusion).name
        self.alpha = float(alpha)
        self.candidates = int(candidates)
        self.rrf_k = int(rrf_k)
        self.norm = norm
        #: per fusion method, the options passed with the (BM25, dense) runs
        self.fusion_options: dict[str, dict] = {"convex": {"weights": [1.0 - self.alpha, self.alpha],
                                                           "norm": self.norm},
                                                "rrf": {"k": self.rrf_k}}

    @property
    def bm25(self) -> BM25Index:
        """The BM25 index, loaded now if it was given as a callable (IndexDamaged etc. raise here)."""
        if not hasattr(self._bm25, "search"):
            self._bm25 = self._bm25()
        return self._bm25

    @property
    def bm25_loaded(self) -> bool:
        """Whether the BM25 index is in memory (False while it is a loader not yet called)."""
        return hasattr(self._bm25, "search")

    @property
    def dense(self) -> DenseIndex | None:
        """The dense index, loaded now if it was given as a callable (IndexDamaged etc. raise here)."""
        if callable(self._dense) and not isinstance(self._dense, DenseIndex):
            self._dense = self._dense()
        return self._dense

    @property
    def dense_loaded(self) -> bool:
        """Whether the dense index is in memory (False while it is a loader not yet called, or absent)."""
        return isinstance(self._dense, DenseIndex)

    # -- helpers ----------------------------------------------------------------------------------------
    def parts(self) -> set[str]:
        """The index parts present: "bm25", and "dense" when a dense index (or its loader) is given."""
        return {"bm25"} | ({"dense"} if self._dense is not None else set())

    def mode(self, mode: str) -> RetrievalMode:
        """The registered mode ``mode``, checked against the loaded index parts.

        Raises
        ------
        ConfigError
            Unknown mode (the message lists the registered ones).
        IndexNotBuilt
            The mode needs an index part that is not there (the reason given in ``missing``, if any).
        """
        found = RETRIEVAL_MODES.get(mode)
        missing = sorted(set(found.needs) - self.parts())
        if missing:
            why = self.missing.get(missing[0], f"run `serendip index` without --no-{missing[0]}")
            raise IndexNotBuilt(f"{found.name} search needs the {' and '.join(missing)} index ({why})")
        return found

    def fuse(self, lex: list[tuple[str, float]], sem: list[tuple[str, float]], k: int,
             fusion: str | None = None) -> list[tuple[str, float]]:
        """Fuse a BM25 run and a dense run with ``fusion`` (default: the searcher's); top ``k``."""
        method = FUSION.get(fusion or self.fusion)
        fused = method([dict(lex), dict(sem)], **self.fusion_options.get(method.name, {}))
        return list(fused.items())[:k]

    # -- API --------------------------------------------------------------------------------------------
    def search(self, query: str, mode: str = "bm25", k: int = 10,
               fusion: str | None = None) -> list[tuple[str, float]]:
        """Top-``k`` (doc_id, score) for ``query``, best first.

        Parameters
        ----------
        query : str
        mode : str
            A name of :data:`serendip.retrieval.modes.RETRIEVAL_MODES` ("bm25", "dense", "hybrid", ...).
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
            A mode that needs the dense index without one.
        """
        return self.mode(mode).run(self, query, k, fusion=fusion)

    def search_batch(self, queries: Sequence[str], mode: str = "bm25", k: int = 10,
                     fusion: str | None = None, batch_size: int = 64) -> list[list[tuple[str, float]]]:
        """:meth:`search` for many queries; dense query embeddings are computed in batches.

        Returns
        -------
        list of list of (doc_id, score)
            One result list per query, in input order.
        """
        return self.mode(mode).run_batch(self, list(queries), k, fusion=fusion, batch_size=batch_size)
