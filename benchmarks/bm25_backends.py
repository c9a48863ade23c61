"""BM25 engines side by side: bm25s in memory vs Tantivy on disk (``serendip.retrieval.bm25_backends``).

For each engine and corpus, in a fresh child process each (so peak RSS is the engine's alone):

* **build**: wall time, peak RSS of the process (``ru_maxrss``; it includes the corpus texts held in
  memory and the imports, the same for both engines; ``rss_before_build_mb`` is recorded too), size of
  the saved index folder on disk;
* **open + first query**: another fresh process that loads the saved index and runs one query (wall
  time, peak RSS);
* **queries**: p50/p95 latency of ``search(query, k=10)`` one query at a time, and on SciFact the test
  nDCG@10, Recall@100 and MRR@10 (300 claims, ranx).

Corpora: SciFact (BEIR test, 5,183 abstracts) and the Cohen et al. 2006 review records of the mirror
(``cohen/records.jsonl.gz``, 13,938 titles + abstracts) replicated with new ids to ``--sizes`` records
(default 10,000 and 100,000; queries: 200 record titles). Replication repeats the texts, so the vocabulary
stops growing past 13,938 records while postings grow linearly, as in a bigger real corpus of that field.

The figures set ``serendip.retrieval.bm25_backends.TANTIVY_ABOVE``. On a shared machine the timings are
contended (the 1-minute load average is recorded); memory and sizes are not.

Run of 2026-12-05 (2 cores shared with other jobs, load about 5): SciFact test nDCG@10 bm25s 0.6814,
Tantivy 0.6796 (Recall@100 0.9209 both); Cohen replicated to 100,000 records: build 15.6 s / 9.0 s, peak
RSS 651 / 154 MB, index 76.7 / 15.5 MB on disk, query p50 0.35 / 0.62 ms (bm25s / Tantivy).

Usage::

    SERENDIP_DATA_MIRROR=/work/shared/data python benchmarks/bm25_backends.py [--sizes 10000 100000] [--no-write]
"""
from __future__ import annotations

import argparse
import gzip
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _rows  # noqa: E402

BENCH = "bm25_backends"
BACKENDS = ("bm25s", "tantivy")
METRICS = ("ndcg@10", "recall@100", "mrr@10")


def _mirror() -> Path:
    root = os.environ.get("SERENDIP_DATA_MIRROR")
    if not root or not Path(root).is_dir():
        sys.exit("set SERENDIP_DATA_MIRROR to the data mirror (e.g. /work/shared/data)")
    return Path(root)


def _corpus(name: str, n: int) -> tuple[list[str], list[str], list[str]]:
    """(ids, texts, queries) of corpus ``name`` ("scifact" or "cohen", replicated to ``n`` records)."""
    mirror = _mirror()
    if name == "scifact":
        from serendip.retrieval.evaluate import load_beir_qrels, load_beir_queries

        folder = mirror / "scifact"
        with gzip.open(folder / "corpus.jsonl.gz", "rt", encoding="utf-8") as fh:
            docs = [json.loads(line) for line in fh]
        queries = load_beir_queries(folder / "queries.jsonl")
        qrels = load_beir_qrels(folder / "qrels" / "test.tsv")
        return ([str(d["_id"]) for d in docs], [f"{d.get('title') or ''} {d.get('text') or ''}".strip()
                                                for d in docs], [queries[q] for q in qrels])
    with gzip.open(mirror / "cohen" / "records.jsonl.gz", "rt", encoding="utf-8") as fh:
        recs = [json.loads(line) for line in fh]
    base = [f"{r.get('title') or ''} {r.get('abstract') or ''}".strip() for r in recs]
    texts = [base[i % len(base)] for i in range(n)]
    queries = [r.get("title") or "" for r in recs[:200]]
    return [str(i) for i in range(n)], texts, queries


def _folder_mb(folder: Path) -> float:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 2**20


def child_build(backend: str, corpus: str, n: int, out: Path) -> dict:
    """Build, save, query: the figures of one engine on one corpus (run in a fresh process)."""
    from serendip.retrieval.bm25_backends import build_bm25

    ids, texts, queries = _corpus(corpus, n)
    rss0 = _rows.peak_rss_mb()
    t = time.perf_counter()
    index = build_bm25(ids, texts, backend, workdir=out.parent)
    index.save(out)
    build_s = time.perf_counter() - t
    rss_build = _rows.peak_rss_mb()
    for q in queries[:5]:
        index.search(q, 10)
    lat = []
    for q in queries:
        t = time.perf_counter()
        index.search(q, 10)
        lat.append((time.perf_counter() - t) * 1000)
    res = {"build_s": build_s, "rss_before_build_mb": rss0, "build_peak_rss_mb": rss_build,
           "index_size_mb": _folder_mb(out), "latency_p50_ms": float(np.percentile(lat, 50)),
           "latency_p95_ms": float(np.percentile(lat, 95)), "n_docs": len(ids), "n_queries": len(queries)}
    if corpus == "scifact":
        from serendip.retrieval.evaluate import (
            evaluate_run,
            load_beir_qrels,
            run_from_results,
        )

        qids = list(load_beir_qrels(_mirror() / "scifact" / "qrels" / "test.tsv"))
        res.update(evaluate_run(load_beir_qrels(_mirror() / "scifact" / "qrels" / "test.tsv"),
                                run_from_results(qids, index.search_many(queries, 100)), METRICS))
    return res


def child_open(folder: Path) -> dict:
    """Open a saved index and run one query (a fresh process: the cold path of a search)."""
    t = time.perf_counter()
    from serendip.retrieval.bm25_backends import load_bm25

    index = load_bm25(folder)
    index.search("effect of metformin on cancer risk", 10)
    return {"open_first_query_s": time.perf_counter() - t, "open_peak_rss_mb": _rows.peak_rss_mb()}


def _run_child(*args: str) -> dict:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [str(Path(__file__).resolve().parent.parent / "src"), os.environ.get("PYTHONPATH", "")]))
    out = subprocess.run([sys.executable, __file__, "--child", *args], capture_output=True, text=True, env=env,
                         check=False)
    if out.returncode != 0:
        raise RuntimeError(f"child {args} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def _print(corpus: str, backend: str, res: dict) -> None:
    print(f"{corpus:8s} n={res['n_docs']:>7,} {backend:8s} build {res['build_s']:6.1f}s "
          f"peak {res['build_peak_rss_mb']:6.0f} MB (before {res['rss_before_build_mb']:.0f}) "
          f"disk {res['index_size_mb']:6.1f} MB  open+1q {res['open_first_query_s']:.2f}s "
          f"{res['open_peak_rss_mb']:.0f} MB  p50 {res['latency_p50_ms']:.2f} ms"
          + (f"  nDCG@10 {res['ndcg@10']:.4f}" if "ndcg@10" in res else ""), flush=True)


def _case_rows(corpus: str, results: dict[str, dict]) -> list[dict]:
    """Rows of one corpus: every figure of each engine, Tantivy's with bm25s' as the baseline."""
    dataset = "scifact" if corpus == "scifact" else "cohen-replicated"
    split = "test" if corpus == "scifact" else "corpus"
    rows = []
    for backend, res in results.items():
        for metric in ("build_s", "build_peak_rss_mb", "rss_before_build_mb", "index_size_mb",
                       "open_first_query_s", "open_peak_rss_mb", "latency_p50_ms", "latency_p95_ms",
                       *[m for m in METRICS if m in res]):
            baseline = ("bm25-bm25s", results["bm25s"][metric]) if backend != "bm25s" else None
            rows.append(_rows.row(BENCH, dataset, split, res["n_docs"], f"bm25-{backend}", metric, res[metric],
                                  settings={"backend": backend, "k1": 1.2, "b": 0.75}, baseline=baseline,
                                  wall_s=res["build_s"] if metric == "build_s" else None))
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="*", default=[10_000, 100_000],
                    help="Cohen records replicated to these sizes")
    ap.add_argument("--no-write", action="store_true", help="print the rows, do not store them")
    ap.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        if args.child[0] == "open":
            print(json.dumps(child_open(Path(args.child[1]))))
        else:
            backend, corpus, n, out = args.child
            print(json.dumps(child_build(backend, corpus, int(n), Path(out))))
        return
    t_all = time.perf_counter()
    rows: list[dict] = []
    cases = [("scifact", 5183)] + [("cohen", n) for n in args.sizes]
    with tempfile.TemporaryDirectory() as tmp:
        for corpus, n in cases:
            results = {}
            for backend in BACKENDS:
                folder = Path(tmp) / f"{corpus}-{n}-{backend}"
                res = _run_child(backend, corpus, str(n), str(folder))
                res.update(_run_child("open", str(folder)))
                _print(corpus, backend, res)
                results[backend] = res
            rows += _case_rows(corpus, results)
    load1 = os.getloadavg()[0]
    print(f"1-minute load average at the end: {load1:.2f} on {os.cpu_count()} CPUs")
    rows.append(_rows.row(BENCH, "scifact", "test", 300, "machine", "load_avg_1min", load1))
    if args.no_write:
        print(json.dumps(rows, indent=1))
    else:
        _rows.write(BENCH, rows, wall_s=time.perf_counter() - t_all)


if __name__ == "__main__":
    _rows.run_main(main)
