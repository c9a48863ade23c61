"""The main job, end to end on SciFact, as one function: :func:`run` -> :class:`DemoReport`.

Resolve the dataset (mirror, cache, then download), ingest its abstracts into a workspace, build the
BM25 and dense indexes, evaluate every registered retrieval mode on the test claims (nDCG@10,
Recall@100, MRR@10 beside the published figures), run three example searches, answer one question with
cited passages, and simulate screening one Cohen (2006) review with ASReview's default model and
Serendip's (:mod:`serendip.screening.demo_step`). ``serendip demo`` prints the report; a notebook can call
:func:`run` the same way.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from serendip.workspace.paths import DEMO_DIR

__all__ = ["DEMO_SPLIT", "DemoReport", "EXAMPLE_MODE", "EXAMPLE_QUERIES", "EXAMPLE_QUESTION", "run"]

#: the example searches run at the end of the demo
EXAMPLE_QUERIES = [
    "vitamin D supplementation and risk of fractures",
    "TNF-α signalling in rheumatoid arthritis",
    "CRISPR off-target effects in human cells",
]
#: the mode of the example searches
EXAMPLE_MODE = "hybrid"
#: the example question answered with citations (``serendip ask``, extractive backend)
EXAMPLE_QUESTION = "Does vitamin D supplementation reduce the risk of fractures?"
#: the split evaluated (BEIR test qrels)
DEMO_SPLIT = "test"
#: the demo's dense encoder: all-MiniLM-L6-v2 exported to ONNX (fp32), the same vectors as PyTorch's
#: (cosine >= 0.9999; SciFact test nDCG@10 0.6451 both) at 2.25x the documents/s on 2 cores
#: (``benchmarks/encoder_speed.py``); exported once on first use and cached
DEMO_ENCODER = "onnx"

#: ``progress(stage, n)``: ``n`` more items done in ``stage`` ("ingest" or "embed")
Progress = Callable[[str, int], None]
#: ``on_total(stage, total)``: the number of items ``stage`` will process, once known
OnTotal = Callable[[str, int], None]


@dataclass
class DemoReport:
    """What :func:`run` did.

    Attributes
    ----------
    dataset, split : str
    corpus : Path
        The corpus file ingested.
    workspace : Path
        The demo workspace folder.
    ingested, duplicates, failed : int
        The ingest report's counts; ``records`` the records stored afterwards.
    bm25_docs, dense_total, dense_added : int
        Records in the BM25 index, vectors in the dense index, vectors embedded by this run.
    index_s : float
        Seconds the index step took (as :class:`~serendip.workbench.IndexReport` measured it).
    queries : int
        Judged queries of ``split`` evaluated (300 for SciFact test).
    rows : list of dict
        One per mode: ``mode``, ``ndcg@10``, ``recall@100``, ``mrr@10`` (floats in [0, 1]) and
        ``anchors`` (published figures: name, value, source); see
        :func:`serendip.retrieval.evaluate.results_rows`.
    examples : list of (str, list of Hit)
        Each example query with its top 3 hits in :data:`EXAMPLE_MODE`.
    answer : serendip.evidence.answer.Answer
        :data:`EXAMPLE_QUESTION` answered by the extractive backend (cited passages, or "no evidence
        found").
    screening : serendip.screening.demo_step.ScreeningDemo
        The simulated screening (or why it was skipped); None when ``screening=False``.
    timings : dict
        Wall seconds per step: ``ingest``, ``index``, ``evaluate``, ``examples`` (searches and the
        answer), ``screening``, ``total``.
    """

    dataset: str
    split: str
    corpus: Path
    workspace: Path
    ingested: int
    duplicates: int
    failed: int
    records: int
    bm25_docs: int
    dense_total: int
    dense_added: int
    index_s: float
    queries: int
    rows: list[dict[str, Any]] = field(default_factory=list)
    examples: list[tuple[str, list[Any]]] = field(default_factory=list)
    answer: Any = None
    screening: Any = None
    timings: dict[str, float] = field(default_factory=dict)


def run(workspace: str | Path = DEMO_DIR, dataset: str = "scifact", *, progress: Progress | None = None,
        on_total: OnTotal | None = None, example_queries: list[str] | None = None,
        k: int = 3, screening: bool = True) -> DemoReport:
    """Run the demo on ``dataset`` in the workspace folder ``workspace`` (created if needed).

    Parameters
    ----------
    workspace : str or Path, default="serendip-demo"
    dataset : str, default="scifact"
        A BEIR dataset of the registry (``serendip datasets list``).
    progress, on_total : callable, optional
        Progress hooks, called with the stage name ("ingest", "embed") and a count; ``on_total`` tells
        the ingest's total (the records it handled) when the ingest ends, so that its bar is finished
        before the embedding starts.
    example_queries : list of str, optional
        Example searches (default: :data:`EXAMPLE_QUERIES`); ``k`` hits each.
    screening : bool, default True
        Simulate screening a Cohen review (:func:`serendip.screening.demo_step.run_screening_demo`, about
        10 s; skipped with the reason when the collection is not in the data mirror).

    Returns
    -------
    DemoReport

    Raises
    ------
    DatasetNotFound, DataError, ConfigError, WorkspaceError
        From resolving the dataset, ingesting, or opening the workspace.
    """
    from serendip.datasets import beir_files
    from serendip.retrieval.evaluate import (
        load_beir_qrels,
        load_beir_queries,
        results_rows,
    )
    from serendip.workbench import Workspace

    t0 = time.perf_counter()
    corpus, queries_path, qrels_path = beir_files(dataset, DEMO_SPLIT)
    questions = load_beir_queries(queries_path)
    n_queries = sum(1 for q in load_beir_qrels(qrels_path) if q in questions)
    ws = Workspace.init(workspace)
    try:
        handled = [0]  # records the ingest handled: its stage's total, told when it ends

        def ingest_progress(n: int) -> None:
            handled[0] += n
            if progress is not None:
                progress("ingest", n)

        rep = ws.ingest([corpus], fmt="beir", progress=ingest_progress)
        if on_total is not None:  # the ingest is over: a bar of it is finished now, not after the others
            on_total("ingest", handled[0])
        t_ingest = time.perf_counter()
        irep = ws.index(progress=_stage(progress, "embed"), on_total=_stage(on_total, "embed"),
                        encoder=DEMO_ENCODER)
        t_index = time.perf_counter()
        results = ws.evaluate(dataset, split=DEMO_SPLIT)
        t_eval = time.perf_counter()
        examples = [(q, ws.search(q, mode=EXAMPLE_MODE, k=k)) for q in (example_queries or EXAMPLE_QUERIES)]
        from serendip.evidence.answer import ask

        answer = ask(ws, EXAMPLE_QUESTION, verifier=None)  # extractive: no model to train first
        t_examples = time.perf_counter()
        screened = None
        if screening:
            from serendip.screening.demo_step import run_screening_demo

            screened = run_screening_demo()
        t_end = time.perf_counter()
        return DemoReport(
            dataset, DEMO_SPLIT, Path(corpus), ws.path, rep.ingested, rep.duplicates, rep.failed,
            ws.count(), irep.bm25_docs, irep.dense_total, irep.dense_added, irep.seconds, n_queries,
            rows=results_rows(results, dataset), examples=examples, answer=answer, screening=screened,
            timings={"ingest": t_ingest - t0, "index": t_index - t_ingest, "evaluate": t_eval - t_index,
                     "examples": t_examples - t_eval, "screening": t_end - t_examples, "total": t_end - t0})
    finally:
        ws.close()


def _stage(hook: Callable[[str, int], None] | None, stage: str) -> Callable[[int], None] | None:
    """``hook`` with its stage name bound, or None."""
    if hook is None:
        return None
    return lambda n: hook(stage, n)
