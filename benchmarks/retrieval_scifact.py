"""Retrieval on SciFact (BEIR test split, 300 queries, 5,183 abstracts): quality, speed, memory.

Measured per registered retrieval mode (bm25, dense, hybrid with the default fusion; the list comes from
``serendip.retrieval.modes.RETRIEVAL_MODES``) and hybrid with each other fusion method explicitly:
nDCG@10, Recall@100, MRR@10 (ranx), query throughput (q/s, one query at a time through
``Searcher.search``, k=10), p50/p95 latency (median of 3 rounds; the 1-minute load average is
recorded because the machine may be shared), index build time and peak RSS. BM25 query throughput through our
``BM25Index`` is measured side by side with bare bm25s (its own default tokenizer, ``stopwords="en"``,
the same PyStemmer English stemmer, same k1/b/method, numpy backend) and reported as a ratio, both
one query at a time and as a batch.

The dense index is built from the mirror's corpus and cached under ``$SERENDIP_EMB_CACHE``
(``/tmp/serendip-emb``) by ``benchmarks/_scifact_tune.py``; a cached index reports the build time
measured when it was computed (``--no-cache`` recomputes).

Usage::

    SERENDIP_DATA_MIRROR=/work/shared/data python benchmarks/retrieval_scifact.py
"""
from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _rows  # noqa: E402
import _scifact_tune as sf  # noqa: E402

from serendip.retrieval.bm25 import BM25Index  # noqa: E402
from serendip.retrieval.evaluate import (  # noqa: E402
    ANCHORS,
    evaluate_run,
    load_beir_qrels,
    load_beir_queries,
    run_from_results,
)
from serendip.retrieval.fusion import fusion_names  # noqa: E402
from serendip.retrieval.modes import RETRIEVAL_MODES, mode_names  # noqa: E402
from serendip.retrieval.searcher import Searcher  # noqa: E402

BENCH = "retrieval_scifact"
METRICS = ("ndcg@10", "recall@100", "mrr@10")


def _anchor(name: str) -> tuple[str, float, str]:
    a = ANCHORS[name]
    return (name, a["value"], a["source"])


def _latencies(fn, queries: list[str], rounds: int = 3) -> tuple[float, float, float]:
    """(q/s, p50 ms, p95 ms) calling ``fn(query)`` once per query, after a warm-up of 5 queries.

    The loop runs ``rounds`` times; each figure is the median over rounds (the machine is shared, so a
    single round can be dominated by another process; the 1-minute load average is recorded too).
    """
    for q in queries[:5]:
        fn(q)
    qps, p50, p95 = [], [], []
    for _ in range(rounds):
        lat = []
        t0 = time.perf_counter()
        for q in queries:
            t = time.perf_counter()
            fn(q)
            lat.append(time.perf_counter() - t)
        qps.append(len(lat) / (time.perf_counter() - t0))
        lat_ms = np.array(lat) * 1000
        p50.append(float(np.percentile(lat_ms, 50)))
        p95.append(float(np.percentile(lat_ms, 95)))
    return statistics.median(qps), statistics.median(p50), statistics.median(p95)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--no-cache", action="store_true", help="re-embed the corpus (about 5 min on 2 cores)")
    ap.add_argument("--speed-rounds", type=int, default=5, help="best-of rounds for the bm25s ratio")
    args = ap.parse_args()
    t_all = time.perf_counter()

    folder = sf.mirror()
    queries = load_beir_queries(folder / "queries.jsonl")
    qrels = load_beir_qrels(folder / "qrels" / "test.tsv")
    qids = list(qrels)
    qtexts = [queries[q] for q in qids]
    ids, titles, abstracts = sf.load_corpus(folder)
    texts = [f"{t} {a}".strip() for t, a in zip(titles, abstracts)]
    n_docs = len(ids)
    rows: list[dict] = []

    # -- indexes -----------------------------------------------------------------------------------------
    t = time.perf_counter()
    bm25 = BM25Index.build(ids, texts)
    bm25_build = time.perf_counter() - t
    dense, dense_build, cached = sf.dense_index(folder, "space", force=args.no_cache)
    searcher = Searcher(bm25, dense)
    print(f"BM25 index: {n_docs} docs in {bm25_build:.2f}s; dense index: {len(dense)} vectors, "
          f"{dense_build:.1f}s{' (cached)' if cached else ''}")
    rows.append(_rows.row(BENCH, "scifact", "corpus", n_docs, "bm25", "index_build_s", bm25_build,
                          wall_s=bm25_build))
    dense_label = "dense-all-MiniLM-L6-v2" + (" (embedded earlier, cached)" if cached else "")
    rows.append(_rows.row(BENCH, "scifact", "corpus", n_docs, dense_label, "index_build_s",
                          dense_build, wall_s=dense_build))

    # -- bare bm25s, side by side ---------------------------------------------------------------------------
    import bm25s
    import Stemmer

    stemmer = Stemmer.Stemmer("english")
    t = time.perf_counter()
    bare = bm25s.BM25(k1=bm25.k1, b=bm25.b, method=bm25.method)
    bare.index(bm25s.tokenize(texts, stopwords="en", stemmer=stemmer, show_progress=False),
               show_progress=False)
    bare_build = time.perf_counter() - t

    def bare_batch(qs: list[str], k: int):
        toks = bm25s.tokenize(qs, stopwords="en", stemmer=stemmer, show_progress=False, return_ids=False)
        docs, scores = bare.retrieve(toks, k=k, show_progress=False)
        return docs, scores

    def bare_one(q: str):
        return bare_batch([q], 10)

    docs, scores = bare_batch(qtexts, 100)
    bare_run = {q: {ids[int(d)]: float(s) for d, s in zip(dr, sr) if s > 0}
                for q, dr, sr in zip(qids, docs, scores)}
    bare_metrics = evaluate_run(qrels, bare_run, METRICS)
    print(f"bare bm25s (default tokenizer): {bare_metrics}")
    rows.append(_rows.row(BENCH, "scifact", "corpus", n_docs, "bm25s-bare", "index_build_s", bare_build,
                          wall_s=bare_build))

    # -- quality per mode ---------------------------------------------------------------------------------
    quality = {}
    # every registered retrieval mode (hybrid with the searcher's default fusion), then hybrid with each
    # other fusion method explicitly
    modes = [(RETRIEVAL_MODES.get(name).bench_label(searcher), name, None) for name in mode_names()]
    modes += [(f"hybrid-{other} (N={searcher.candidates})", "hybrid", other)
              for other in fusion_names() if other != searcher.fusion]
    for label, mode, fusion in modes:
        t = time.perf_counter()
        res = searcher.search_batch(qtexts, mode=mode, k=100, fusion=fusion)
        wall = time.perf_counter() - t
        quality[label] = evaluate_run(qrels, run_from_results(qids, res), METRICS)
        print(f"{label:36s} {quality[label]}  ({wall:.1f}s for {len(qids)} queries, batched)")
        for metric in METRICS:
            baseline = ("bm25s-bare", bare_metrics[metric]) if label == "bm25" else ("bm25", quality["bm25"][metric])
            published = RETRIEVAL_MODES.get(mode).anchors.get("scifact", ()) if fusion is None else ()
            anchor = _anchor(published[0]) if metric == "ndcg@10" and published else None
            rows.append(_rows.row(BENCH, "scifact", "test", len(qids), label, metric, quality[label][metric],
                                  baseline=baseline, anchor=anchor, wall_s=wall))
    rows.append(_rows.row(BENCH, "scifact", "test", len(qids), "bm25s-bare", "ndcg@10",
                          bare_metrics["ndcg@10"], anchor=_anchor("bm25s_lucene_k1.2_b0.75")))

    # -- latency per mode (one query at a time, k=10) -------------------------------------------------------
    for label, mode, fusion in modes[:len(mode_names())]:
        qps, p50, p95 = _latencies(lambda q: searcher.search(q, mode=mode, k=10, fusion=fusion), qtexts)
        print(f"{label:36s} {qps:8.1f} q/s  p50 {p50:6.2f} ms  p95 {p95:6.2f} ms")
        for metric, value in (("queries_per_s", qps), ("latency_p50_ms", p50), ("latency_p95_ms", p95)):
            rows.append(_rows.row(BENCH, "scifact", "test", len(qids), label, metric, value))

    # -- BM25 throughput: ours vs bare bm25s, best of N rounds, same queries (all 1,109 claims) ---------
    all_q = list(queries.values())
    gc.collect()
    best = {"ours_one": 0.0, "bare_one": 0.0, "ours_batch": 0.0, "bare_batch": 0.0}
    for _ in range(args.speed_rounds):
        t = time.perf_counter()
        for q in all_q:
            bm25.search(q, 10)
        best["ours_one"] = max(best["ours_one"], len(all_q) / (time.perf_counter() - t))
        t = time.perf_counter()
        for q in all_q:
            bare_one(q)
        best["bare_one"] = max(best["bare_one"], len(all_q) / (time.perf_counter() - t))
        t = time.perf_counter()
        bm25.search_many(all_q, 10)
        best["ours_batch"] = max(best["ours_batch"], len(all_q) / (time.perf_counter() - t))
        t = time.perf_counter()
        bare_batch(all_q, 10)
        best["bare_batch"] = max(best["bare_batch"], len(all_q) / (time.perf_counter() - t))
    # cold: our tokenizer's word cache emptied first (bm25s keeps no cache), one round
    bm25.tokenizer._cache.clear()
    t = time.perf_counter()
    for q in all_q:
        bm25.search(q, 10)
    cold = len(all_q) / (time.perf_counter() - t)
    print(f"BM25 q/s (one, cold tokenizer cache): ours {cold:,.0f}  bare bm25s {best['bare_one']:,.0f}  "
          f"ratio {cold / best['bare_one']:.2f}")
    rows.append(_rows.row(BENCH, "scifact", "all-queries", len(all_q), "bm25-serendip (one query, cold cache)",
                          "throughput_ratio_vs_bm25s", cold / best["bare_one"],
                          baseline=("bm25s-bare (one query)", 1.0)))
    for kind in ("one", "batch"):
        ours, ref = best[f"ours_{kind}"], best[f"bare_{kind}"]
        print(f"BM25 q/s ({kind}): ours {ours:,.0f}  bare bm25s {ref:,.0f}  ratio {ours / ref:.2f}")
        rows.append(_rows.row(BENCH, "scifact", "all-queries", len(all_q), f"bm25-serendip ({kind} query)",
                              "queries_per_s", ours, baseline=(f"bm25s-bare ({kind} query)", ref)))
        rows.append(_rows.row(BENCH, "scifact", "all-queries", len(all_q), f"bm25-serendip ({kind} query)",
                              "throughput_ratio_vs_bm25s", ours / ref,
                              baseline=(f"bm25s-bare ({kind} query)", 1.0)))

    # -- BM25 through the Workspace API (index lookup + record metadata from the database) --------------
    import tempfile

    from serendip.workbench import Workspace

    with tempfile.TemporaryDirectory() as tmp:
        ws = Workspace.init(Path(tmp) / "ws")
        ws.ingest([folder / "corpus.jsonl.gz"], fmt="beir")
        ws.index(dense=False)
        ws.search(all_q[0], mode="bm25", k=10)  # load the index once
        best_ws = 0.0
        for _ in range(args.speed_rounds):
            t = time.perf_counter()
            for q in all_q:
                ws.search(q, mode="bm25", k=10)
            best_ws = max(best_ws, len(all_q) / (time.perf_counter() - t))
        ws.close()
    print(f"BM25 q/s through Workspace.search (hits with title/year/ids from the database): "
          f"{best_ws:,.0f}  bare bm25s {best['bare_one']:,.0f}  ratio {best_ws / best['bare_one']:.2f}")
    rows.append(_rows.row(BENCH, "scifact", "all-queries", len(all_q), "Workspace.search(mode=bm25)",
                          "queries_per_s", best_ws, baseline=("bm25s-bare (one query)", best["bare_one"])))
    rows.append(_rows.row(BENCH, "scifact", "all-queries", len(all_q), "Workspace.search(mode=bm25)",
                          "throughput_ratio_vs_bm25s", best_ws / best["bare_one"],
                          baseline=("bm25s-bare (one query)", 1.0)))

    load1 = os.getloadavg()[0]
    print(f"1-minute load average at the end: {load1:.2f} on {os.cpu_count()} CPUs")
    rows.append(_rows.row(BENCH, "scifact", "test", len(qids), "machine", "load_avg_1min", load1))
    wall_all = time.perf_counter() - t_all
    rows.append(_rows.row(BENCH, "scifact", "test", len(qids), "whole benchmark", "peak_rss_mb",
                          _rows.peak_rss_mb(), wall_s=wall_all))
    _rows.write(BENCH, rows, wall_s=wall_all)
    print(f"peak RSS {_rows.peak_rss_mb():.0f} MB; {wall_all:.0f}s; rows -> benchmarks/results/{BENCH}.json")
    print(json.dumps({r["method"] + " " + r["metric"]: r["value"] for r in rows}, indent=1))


if __name__ == "__main__":
    _rows.run_main(main)
