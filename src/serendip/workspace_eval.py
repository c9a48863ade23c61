"""Retrieval evaluation of a workspace on a BEIR dataset of the registry (:meth:`Workspace.evaluate
<serendip.workbench.Workspace.evaluate>`): the corpus ingested and indexed when needed, each judged
query of the split run with k=100 per mode, nDCG@10, Recall@100 and MRR@10 computed with ranx
(Bassani 2022, "ranx: A Blazing-Fast Python Library for Ranking Evaluation and Comparison")."""
from __future__ import annotations

from collections.abc import Callable, Iterable

from sqlalchemy import select

from serendip.errors import IndexNotBuilt
from serendip.retrieval.modes import RETRIEVAL_MODES, mode_names
from serendip.workspace.schema import records

__all__ = ["evaluate_workspace"]


def evaluate_workspace(ws, dataset: str = "scifact", split: str = "test",
                       modes: Iterable[str] | None = None, progress: Callable[[int], None] | None = None,
                       on_total: Callable[[int], None] | None = None) -> dict[str, dict[str, float]]:
    """See :meth:`serendip.workbench.Workspace.evaluate` (parameters, returns, errors); ``ws`` is that
    workspace (a facade helper, as :mod:`serendip.indexing`)."""
    from serendip.datasets import beir_files
    from serendip.retrieval.evaluate import (
        evaluate_run,
        load_beir_qrels,
        load_beir_queries,
    )

    modes = list(modes) if modes is not None else mode_names()
    for mode in modes:
        RETRIEVAL_MODES.get(mode)  # an unknown name fails before the corpus is ingested
    corpus, queries_path, qrels_path = beir_files(dataset, split)
    if ws.store.read_only:  # evaluate what is there, if it is complete
        try:
            fresh = ws.index_status().fresh
        except IndexNotBuilt:
            ws.store.require_writable(f"evaluate (ingesting and indexing {dataset})")
        if not fresh:
            ws.store.require_writable("evaluate (indexing the records ingested after the last index)")
    else:
        ws.ingest([corpus], fmt="beir")
        ws.index(progress=progress, on_total=on_total)
    qrels = load_beir_qrels(qrels_path)
    queries = load_beir_queries(queries_path)
    qids = [q for q in qrels if q in queries]
    with ws.engine.connect() as conn:
        to_doc = {str(rid): sid.split(":", 1)[1] for rid, sid in conn.execute(
            select(records.c.id, records.c.source_id).where(records.c.source_id.like("beir:%")))}
    if not to_doc:
        ws.store.require_writable(f"evaluate (ingesting the {dataset} corpus)")
    searcher = ws.searcher()
    results: dict[str, dict[str, float]] = {}
    for mode in modes:
        ranked = searcher.search_batch([queries[q] for q in qids], mode=mode, k=100)
        run = {q: {to_doc[d]: float(s) for d, s in hits if d in to_doc} for q, hits in zip(qids, ranked)}
        results[mode] = evaluate_run(qrels, run)
    return results
