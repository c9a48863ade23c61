"""Retrieval modes: one registry, :data:`RETRIEVAL_MODES`, that everything else reads.

A mode is a :class:`RetrievalMode`: the index parts it needs (``"bm25"``, ``"dense"``), how it searches
one query and a batch of queries on a :class:`~serendip.retrieval.searcher.Searcher`, and the published
figures (anchors, names of :data:`serendip.retrieval.evaluate.ANCHORS`) that stand beside it in an
evaluation. The workbench's ``search``, the workspace config check, the CLI's ``--mode`` choices and
help, ``serendip eval retrieval``, the demo and ``benchmarks/retrieval_scifact.py`` all take the list of
modes from here, so a new mode is one registration::

    from serendip.retrieval.modes import RetrievalMode, register_mode

    register_mode(RetrievalMode("title-bm25", needs=frozenset({"bm25"}), search=my_search,
                                description="BM25 over titles only"))

Built in: ``bm25`` (Lucene BM25, k1=1.2, b=0.75), ``dense`` (cosine over all-MiniLM-L6-v2
embeddings), ``hybrid`` (both runs fused; fusion and depth chosen on SciFact TRAIN, the weight over
SciFact and BC5CDR-CID, see :mod:`serendip.retrieval.searcher`).
"""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from serendip.registry import Registry

if TYPE_CHECKING:  # pragma: no cover
    from serendip.retrieval.searcher import Searcher

__all__ = ["INDEX_PARTS", "RETRIEVAL_MODES", "RetrievalMode", "mode_names", "register_mode"]

#: the index parts a workspace builds (``serendip index``; ``--no-dense`` skips the dense one)
INDEX_PARTS = ("bm25", "dense")

Scored = list[tuple[str, float]]
#: ``search(searcher, query, k, **options) -> [(doc_id, score), ...]`` best first
SearchOne = Callable[..., Scored]
#: ``search_batch(searcher, queries, k, **options) -> one result list per query``
SearchMany = Callable[..., list[Scored]]


@dataclass(frozen=True)
class RetrievalMode:
    """One retrieval mode.

    Parameters
    ----------
    name : str
        Lower-case name used by ``--mode`` and ``retrieval.default_mode``.
    needs : frozenset of str
        Index parts the mode reads, a subset of :data:`INDEX_PARTS`.
    search : callable
        ``search(searcher, query, k, **options)`` -> list of (doc_id, score), at most ``k``, best first.
    search_batch : callable, optional
        ``search_batch(searcher, queries, k, **options)`` -> one such list per query, in input order;
        default: :attr:`search` once per query.
    anchors : mapping, optional
        ``{dataset: (anchor name, ...)}``: published nDCG@10 figures shown beside the mode (names of
        :data:`serendip.retrieval.evaluate.ANCHORS`); the first is the one benchmarks record.
    description : str
        One line for ``--help``.
    label : callable, optional
        ``label(searcher) -> str``: the method name a benchmark row uses (default: ``name``).
    """

    name: str
    needs: frozenset[str]
    search: SearchOne
    search_batch: SearchMany | None = None
    anchors: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    description: str = ""
    label: Callable[[Any], str] | None = None

    def __post_init__(self) -> None:
        unknown = set(self.needs) - set(INDEX_PARTS)
        if unknown:
            raise ValueError(f"retrieval mode {self.name!r} needs unknown index parts {sorted(unknown)}; "
                             f"expected some of: {', '.join(INDEX_PARTS)}")

    def run(self, searcher: "Searcher", query: str, k: int, **options) -> Scored:
        """Top-``k`` (doc_id, score) for one query."""
        return self.search(searcher, query, k, **options)

    def run_batch(self, searcher: "Searcher", queries: Sequence[str], k: int, **options) -> list[Scored]:
        """Top-``k`` (doc_id, score) for each query, in input order."""
        if self.search_batch is None:
            return [self.search(searcher, q, k, **options) for q in queries]
        return self.search_batch(searcher, list(queries), k, **options)

    def bench_label(self, searcher: "Searcher") -> str:
        """The method name a benchmark row uses for this mode with ``searcher``'s settings."""
        return self.label(searcher) if self.label is not None else self.name


#: name -> :class:`RetrievalMode`
RETRIEVAL_MODES: Registry[RetrievalMode] = Registry("retrieval mode")


def register_mode(mode: RetrievalMode) -> RetrievalMode:
    """Add ``mode`` to :data:`RETRIEVAL_MODES` under its name; ValueError if the name is taken."""
    RETRIEVAL_MODES.add(mode.name, mode)
    return mode


def mode_names() -> list[str]:
    """Names of the registered retrieval modes, sorted (read at call time, so late registrations show)."""
    return sorted({mode.name for _, mode in RETRIEVAL_MODES.items()})


# -- built-in modes ------------------------------------------------------------------------------------
def _bm25(searcher: "Searcher", query: str, k: int, **_options) -> Scored:
    return searcher.bm25.search(query, k)


def _bm25_batch(searcher: "Searcher", queries: list[str], k: int, batch_size: int = 64,
                **_options) -> list[Scored]:
    return searcher.bm25.search_many(queries, k)


def _dense(searcher: "Searcher", query: str, k: int, **_options) -> Scored:
    return searcher.dense.search(query, k)


def _dense_batch(searcher: "Searcher", queries: list[str], k: int, batch_size: int = 64,
                 **_options) -> list[Scored]:
    return searcher.dense.search_vectors(searcher.dense.encode_queries(queries, batch_size=batch_size), k)


def _hybrid(searcher: "Searcher", query: str, k: int, fusion: str | None = None, **_options) -> Scored:
    n = max(searcher.candidates, k)
    qv = searcher.dense.encode_queries([query])
    return searcher.fuse(searcher.bm25.search(query, n), searcher.dense.search_vectors(qv, n)[0], k, fusion)


def _hybrid_batch(searcher: "Searcher", queries: list[str], k: int, fusion: str | None = None,
                  batch_size: int = 64, **_options) -> list[Scored]:
    qv = searcher.dense.encode_queries(queries, batch_size=batch_size)
    n = max(searcher.candidates, k)
    sem = searcher.dense.search_vectors(qv, n)
    lex = searcher.bm25.search_many(queries, n)
    return [searcher.fuse(a, b, k, fusion) for a, b in zip(lex, sem)]


def _hybrid_label(searcher: "Searcher") -> str:
    alpha = f", alpha={searcher.alpha}" if searcher.fusion == "convex" else ""
    if searcher.fusion == "convex" and getattr(searcher, "norm", "minmax") != "minmax":
        alpha += f", norm={searcher.norm}"
    if searcher.fusion == "rrf":
        alpha = f", k={searcher.rrf_k}"
    return f"hybrid-{searcher.fusion} (default{alpha}, N={searcher.candidates})"


register_mode(RetrievalMode(
    "bm25", frozenset({"bm25"}), _bm25, _bm25_batch,
    anchors={"scifact": ("bm25_beir_multifield", "bm25_anserini_flat", "bm25s_lucene_k1.2_b0.75")},
    description="BM25 (Lucene, k1=1.2, b=0.75) over title and abstract"))
register_mode(RetrievalMode(
    "dense", frozenset({"dense"}), _dense, _dense_batch, anchors={"scifact": ("all-MiniLM-L6-v2",)},
    description="cosine similarity of sentence embeddings (all-MiniLM-L6-v2)"))
register_mode(RetrievalMode(
    "hybrid", frozenset({"bm25", "dense"}), _hybrid, _hybrid_batch, anchors={"scifact": ()},
    description="BM25 and dense runs fused (convex min-max, alpha=0.4, chosen over SciFact and BC5CDR-CID)",
    label=_hybrid_label))
