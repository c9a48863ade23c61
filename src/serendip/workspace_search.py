"""Searching a workspace: the work behind :meth:`Workspace.search <serendip.workbench.Workspace.search>`
(``serendip search``): the arguments checked, the reranker loaded (:mod:`serendip.reranking`), the index
brought up to date or its staleness warned of (:func:`ensure_fresh`), and the hits' display fields read
from the database (:func:`read_hits`). ``ws`` is always a :class:`~serendip.workbench.Workspace`.
"""
from __future__ import annotations

import warnings
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select

from serendip import indexing
from serendip.errors import ConfigError, StaleIndexWarning
from serendip.index_status import IndexStatus
from serendip.retrieval.modes import RETRIEVAL_MODES
from serendip.retrieval.rerank import DEFAULT_RERANKER
from serendip.workspace.config import CONFIG_NAME
from serendip.workspace.schema import records

__all__ = ["Hit", "ensure_fresh", "read_hits", "search_workspace"]

_HIT_COLUMNS = (records.c.id, records.c.title, records.c.year, records.c.journal, records.c.pmid,
                records.c.doi, records.c.source_id)


@dataclass(slots=True)
class Hit:
    """One search result. ``score`` is the mode's score (BM25, cosine, or fused), higher is better."""

    rank: int
    record_id: int
    score: float
    title: str | None
    year: int | None
    journal: str | None
    pmid: str | None
    doi: str | None
    source_id: str | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def ensure_fresh(ws, mode: str, stacklevel: int = 2) -> IndexStatus | None:
    """Before a search in ``mode``: index first (``retrieval.auto_index``, writable workspace) when
    records were ingested, changed or deleted after the index part the mode reads (BM25 if it reads
    it, else the dense index) was built, or none was; else warn (:class:`StaleIndexWarning`, at
    ``stacklevel`` counted from here) and return the stale status (None when that part is fresh)."""
    auto = ws.config.retrieval.auto_index and not ws.store.read_only
    if auto and not (ws.index_dir / "bm25").exists():
        ws.index(dense=True)
        return None
    searcher = ws.searcher()
    needs = searcher.mode(mode).needs  # IndexNotBuilt for a part that is not there
    part = "bm25" if "bm25" in needs or not needs else next(iter(sorted(needs)))
    if part == "bm25":
        searcher.bm25  # noqa: B018  (loaded first: the status then reads its ids from memory)
    status = ws.index_status(part)
    if status.fresh:
        return None
    if auto:
        ws.index(dense=indexing.has_index(ws.index_dir / "dense"))
        return None
    warnings.warn(StaleIndexWarning(
        f"{status.describe()}; run `serendip index` (or set retrieval.auto_index = true in "
        f"{CONFIG_NAME})"), stacklevel=stacklevel)
    return status


def _check_rerank_options(rerank_k, rerank_weight, rerank_backend, reranker: str) -> None:
    given = [name for name, value in (("rerank_k", rerank_k), ("rerank_weight", rerank_weight),
                                      ("rerank_backend", rerank_backend)) if value is not None]
    given += ["reranker"] if reranker != DEFAULT_RERANKER else []
    if given:
        named = ", ".join(f"{name} (--{name.replace('_', '-')})" for name in given)
        verb = "applies" if len(given) == 1 else "apply"
        raise ConfigError(f"{named} {verb} only when reranking: give rerank (--rerank RUN_OR_PATH) too")


def search_workspace(ws, query: str, mode: str | None = None, k: int = 10, *, rerank: str | Path | None = None,
                     rerank_k: int | None = None, reranker: str = DEFAULT_RERANKER,
                     rerank_weight: float | None = None, rerank_backend: str | None = None) -> list[Hit]:
    """See :meth:`serendip.workbench.Workspace.search` (parameters, returns, errors)."""
    mode = mode or ws.config.retrieval.default_mode
    RETRIEVAL_MODES.get(mode)
    if k < 1:
        raise ConfigError(f"k must be >= 1, got {k}")
    if not any(ch.isalnum() for ch in query):
        raise ConfigError(f"query {query[:40]!r} has no searchable terms (letters or digits)")
    if rerank is None:
        _check_rerank_options(rerank_k, rerank_weight, rerank_backend, reranker)
    step = None
    if rerank is not None:  # loaded (once per workspace object) before the search: a bad run fails first
        from serendip.reranking import rerank_step

        from_config = rerank_backend is None and ws.config.retrieval.rerank_backend is not None
        step = rerank_step(ws, rerank, reranker, rerank_k, rerank_weight,
                           rerank_backend or ws.config.retrieval.rerank_backend,
                           f"retrieval.rerank_backend in {ws.path / 'serendip.toml'}" if from_config else None)
    stale = ensure_fresh(ws, mode, stacklevel=4)  # the warning names the caller of Workspace.search
    # a deleted record the index still holds is dropped from the hits: ask for as many more (capped)
    extra = min(stale.changed, 1000) if stale is not None else 0
    depth = max(k, step.k) if step is not None else k
    scored = ws.searcher().search(query, mode=mode, k=depth + extra)
    if step is not None:
        scored = step.apply(ws, query, scored)
    return read_hits(ws, scored)[:k]


def read_hits(ws, scored: list[tuple[str, float]]) -> list[Hit]:
    """The hits' display fields, read for those records only (one primary-key lookup query), so
    the cost of a search does not grow with the number of records."""
    if not scored:
        return []
    wanted = [int(i) for i, _ in scored]
    meta: dict[int, tuple] = {}
    with ws.engine.connect() as conn:
        for start in range(0, len(wanted), 900):  # under SQLite's bound-parameter limit
            meta.update((r[0], tuple(r[1:])) for r in conn.execute(
                select(*_HIT_COLUMNS).where(records.c.id.in_(wanted[start:start + 900]))))
    hits = []
    for rid, score in scored:
        row = meta.get(int(rid))
        if row is None:  # index is older than the database (record deleted): skip, never invent
            continue
        hits.append(Hit(len(hits) + 1, int(rid), float(score), *row))
    return hits
