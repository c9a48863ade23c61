"""Retrieval evaluation: BEIR qrels/queries readers, ranx metrics, and published SciFact anchors.

Metrics are computed by ranx (Bassani 2022, "ranx: A Blazing-Fast Python Library for Ranking Evaluation
and Comparison", ECIR), whose nDCG uses linear gain (``rel / log2(rank + 1)``), as trec_eval and BEIR do.
"""
from __future__ import annotations

import json
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path

from serendip.errors import DataError, ParseError
from serendip.retrieval.modes import RETRIEVAL_MODES

__all__ = ["ANCHORS", "anchors_for", "results_rows", "evaluate_run", "load_beir_qrels", "load_beir_queries", "run_from_results"]

#: Published SciFact (BEIR test split, 300 queries) nDCG@10 figures to compare our runs against.
ANCHORS: dict[str, dict[str, object]] = {
    "bm25_beir_multifield": {
        "value": 0.665,
        "source": "Thakur et al. 2021, BEIR (NeurIPS Datasets & Benchmarks), Table 2: BM25 "
                  "(Elasticsearch, title and text as separate fields) on SciFact",
    },
    "bm25_anserini_flat": {
        "value": 0.6789,
        "source": "Anserini regression beir-v1.0.0-scifact.flat (Lucene BM25 k1=0.9 b=0.4, title+text "
                  "in one field), castorini/anserini docs/regressions/regressions-beir-v1.0.0-scifact.flat.md",
    },
    "bm25s_lucene_k1.2_b0.75": {
        "value": 0.680,
        "source": "Lù 2024, BM25S (arXiv:2407.03618); xhluca/bm25-benchmarks README, NDCG@10 table, "
                  "row 'k1=1.2 b=0.75 Lucene', column SF",
    },
    "all-MiniLM-L6-v2": {
        "value": 0.645,
        "source": "MTEB leaderboard (Muennighoff et al. 2023, EACL), sentence-transformers/all-MiniLM-L6-v2, "
                  "SciFact nDCG@10 64.5 (quoted from the leaderboard, not re-derived from a results file)",
    },
}


#: short display label and source of each anchor (which mode an anchor stands beside is the mode's own
#: ``anchors`` field, see :mod:`serendip.retrieval.modes`)
_LABELS = {"bm25_beir_multifield": ("BM25, BEIR paper", "Thakur et al. 2021"),
           "bm25_anserini_flat": ("BM25 flat, Anserini", "Anserini regressions"),
           "bm25s_lucene_k1.2_b0.75": ("BM25S Lucene", "Lù 2024"),
           "all-MiniLM-L6-v2": ("all-MiniLM-L6-v2, MTEB", "Muennighoff et al. 2023")}


def anchors_for(dataset: str, mode: str) -> list[dict[str, object]]:
    """Published nDCG@10 figures to show beside ``mode`` on ``dataset``: dicts with name, value,
    source (short). Empty where none is published for that exact method.

    Raises
    ------
    ConfigError
        If ``mode`` is not a registered retrieval mode.
    """
    out = []
    for name in RETRIEVAL_MODES.get(mode).anchors.get(dataset, ()):
        a = ANCHORS[name]
        label, short = _LABELS.get(name, (name, str(a["source"]).split(",")[0]))
        out.append({"name": label, "value": a["value"], "source": short})
    return out


def results_rows(results: Mapping[str, Mapping[str, float]], dataset: str) -> list[dict[str, object]]:
    """One row per evaluated mode: ``{"mode", "ndcg@10", "recall@100", "mrr@10", "anchors"}`` with the
    published figures of :func:`anchors_for` beside the measured ones, in the order of ``results``."""
    return [{"mode": mode, **{m: float(metrics[m]) for m in ("ndcg@10", "recall@100", "mrr@10")},
             "anchors": anchors_for(dataset, mode)} for mode, metrics in results.items()]


def load_beir_qrels(path: str | Path) -> dict[str, dict[str, int]]:
    """Read a BEIR qrels TSV (``query-id<TAB>corpus-id<TAB>score``).

    A header line (first field ``query-id``) is skipped; CRLF or LF line ends; blank lines ignored.

    Parameters
    ----------
    path : str or Path

    Returns
    -------
    dict
        ``{query_id: {doc_id: relevance (int)}}``, judgements with score 0 included.

    Raises
    ------
    ParseError
        On a line without three fields or with a non-integer score (names file and line).
    """
    path = Path(path)
    qrels: dict[str, dict[str, int]] = {}
    with path.open("r", encoding="utf-8", newline="") as fh:
        for lineno, raw in enumerate(fh, 1):
            line = raw.rstrip("\r\n")
            if not line.strip():
                continue
            parts = line.split("\t")
            if lineno == 1 and parts[0].strip().lower() in ("query-id", "query_id", "qid"):
                continue
            if len(parts) < 3:
                raise ParseError(f"expected 3 tab-separated fields, got {len(parts)}", file=str(path),
                                 line=lineno)
            qid, did, score = parts[0].strip(), parts[1].strip(), parts[2].strip()
            try:
                rel = int(float(score))
            except ValueError:
                raise ParseError(f"relevance {score!r} is not a number", file=str(path), line=lineno) from None
            qrels.setdefault(qid, {})[did] = rel
    return qrels


def load_beir_queries(path: str | Path) -> dict[str, str]:
    """Read BEIR ``queries.jsonl`` (``{"_id", "text", ...}`` per line) into ``{query_id: text}``.

    Raises
    ------
    ParseError
        On invalid JSON or a line missing ``_id``/``text`` (names file and line).
    """
    path = Path(path)
    out: dict[str, str] = {}
    with path.open("r", encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
                out[str(obj["_id"])] = obj["text"]
            except KeyError as exc:
                raise ParseError(f"a query line needs \"_id\" and \"text\"; this one has no {exc}",
                                 file=str(path), line=lineno) from None
            except (json.JSONDecodeError, TypeError) as exc:
                raise ParseError(f"bad query line: {exc}", file=str(path), line=lineno) from None
    return out


def run_from_results(query_ids: Sequence[str],
                     results: Sequence[Sequence[tuple[str, float]]]) -> dict[str, dict[str, float]]:
    """Turn per-query result lists (as returned by ``Searcher.search_batch``) into a run dict."""
    if len(query_ids) != len(results):
        raise DataError(f"{len(query_ids)} query ids but {len(results)} result lists")
    return {q: {d: float(s) for d, s in res} for q, res in zip(query_ids, results)}


def evaluate_run(qrels: Mapping[str, Mapping[str, int]], run: Mapping[str, Mapping[str, float]],
                 metrics: Sequence[str] = ("ndcg@10", "recall@100", "mrr@10")) -> dict[str, float]:
    """Mean of each metric over the queries in ``qrels``.

    Parameters
    ----------
    qrels : mapping
        ``{query_id: {doc_id: relevance}}``; queries without any positive judgement are ignored (as BEIR).
    run : mapping
        ``{query_id: {doc_id: score}}``; a judged query absent from the run (or with no results) scores 0;
        run queries that are not judged are ignored.
    metrics : sequence of str
        ranx metric names ("ndcg@10", "recall@100", "mrr@10", "map@100", "precision@10" ...).

    Returns
    -------
    dict
        ``{metric: mean value}`` as floats in [0, 1].

    Raises
    ------
    DataError
        If ``qrels`` holds no positive judgement.
    """
    from ranx import Qrels, Run, evaluate

    q = {qid: {d: int(r) for d, r in docs.items()} for qid, docs in qrels.items()
         if any(int(r) > 0 for r in docs.values())}
    if not q:
        raise DataError("qrels hold no positive relevance judgement")
    r = {}
    for qid in q:
        docs = run.get(qid) or {}
        # ranx needs at least one entry per query; a sentinel with score -inf never matches a judged doc
        r[qid] = {str(d): float(s) for d, s in docs.items()} or {"\x00no-result": float("-inf")}
    with warnings.catch_warnings():
        # ranx's numba kernels warn about a harmless uint64 -> int64 cast of ranks
        warnings.filterwarnings("ignore", message="unsafe cast from uint64 to int64")
        res = evaluate(Qrels(q), Run(r), list(metrics), make_comparable=False)
    if isinstance(res, dict):
        return {m: float(v) for m, v in res.items()}
    return {metrics[0]: float(res)}
