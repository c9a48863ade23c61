"""Dense search backends by index size: exact product, FAISS HNSW and FAISS IVF-PQ, as Serendip runs them.

For each size n (default 10k, 100k, 1M vectors of dimension 384) and each backend, the index is built
and saved through :class:`serendip.retrieval.dense.DenseIndex` (its thresholds set so that the size
selects the backend; vectors handed in through its encoder injection, no model), then a fresh
subprocess opens it (:meth:`DenseIndex.load`: memory-mapped) and searches. Measured: build time (the
FAISS structure; 0 for exact), size on disk of the index folder, load time and RSS in the fresh
process, the first (cold) query, warm single-query latency p50/p95 at k=10 and p50 at k=1000 (the
depth hybrid search takes), and recall@10 against the exact top 10.

Vectors: real all-MiniLM-L6-v2 SciFact embeddings (the 5,183 rows of a SciFact workspace's
``indexes/dense/embeddings.npy``, given by ``--vectors``; ``serendip demo`` writes one) grown to n by
mixing: row ``i`` is ``normalise(v[a] + lam * v[b] + 0.02 * g)`` with ``a``, ``b`` random SciFact rows,
``lam ~ U(0, 0.5)`` and ``g`` standard normal (fixed seed), so the set keeps MiniLM's geometry
(topics, anisotropy) without thousands of exact copies; queries are 200 more rows drawn the same way.

Usage: ``python benchmarks/dense_backends.py --vectors WS/indexes/dense/embeddings.npy
[--sizes 10000,100000,1000000] [--skip hnsw@1000000]``. Wall times on a shared machine are contended
(the row settings say so when ``--contended`` is given).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _rows  # noqa: E402

N_QUERIES = 200
N_DEEP = 30  # queries timed at k=1000
THRESHOLDS = {"exact": (10**12, 10**12), "hnsw": (0, 10**12), "ivfpq": (0, 0)}  # (exact, ivfpq) thresholds

CHILD = r"""
import json, sys, time
import numpy as np

def vm(key):  # MiB; /proc, not getrusage: ru_maxrss keeps the forking parent's peak across exec
    for line in open("/proc/self/status"):
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024

t0 = time.perf_counter()
from serendip.retrieval.dense import DenseIndex
folder, exact_t, ivfpq_t = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
q = np.load(sys.argv[4]); truth = np.load(sys.argv[5])
t = time.perf_counter()
idx = DenseIndex.load(folder, exact_threshold=exact_t, ivfpq_threshold=ivfpq_t)
load_s = time.perf_counter() - t
rss_load = vm("VmRSS")
t = time.perf_counter(); idx.search_vectors(q[:1], 10); cold_s = time.perf_counter() - t
lat, hits = [], []
for row in q:
    t = time.perf_counter(); res = idx.search_vectors(row[None], 10)[0]; lat.append(time.perf_counter() - t)
    hits.append([int(d) for d, _ in res])
deep = []
for row in q[:%d]:
    t = time.perf_counter(); idx.search_vectors(row[None], 1000); deep.append(time.perf_counter() - t)
recall = float(np.mean([len(set(h) & set(tr.tolist())) / 10 for h, tr in zip(hits, truth)]))
print(json.dumps({"backend": idx.backend, "load_s": load_s, "import_s": t - t0, "cold_query_s": cold_s,
                  "p50_ms": 1000 * float(np.percentile(lat, 50)), "p95_ms": 1000 * float(np.percentile(lat, 95)),
                  "p50_k1000_ms": 1000 * float(np.percentile(deep, 50)), "recall10": recall,
                  "rss_after_load_mb": rss_load,
                  "rss_after_queries_mb": vm("VmRSS"), "peak_rss_mb": vm("VmHWM")}))
""" % N_DEEP


def grow(base: np.ndarray, n: int, seed: int) -> np.ndarray:
    """``n`` float32 rows mixed from ``base`` (see the module docstring), L2-normalised, made in chunks."""
    rng = np.random.default_rng(seed)
    out = np.empty((n, base.shape[1]), dtype=np.float32)
    for start in range(0, n, 100_000):
        m = min(100_000, n - start)
        a, b = rng.integers(0, len(base), m), rng.integers(0, len(base), m)
        lam = rng.uniform(0, 0.5, (m, 1)).astype(np.float32)
        v = base[a] + lam * base[b] + 0.02 * rng.standard_normal((m, base.shape[1]), dtype=np.float32)
        out[start:start + m] = v / np.linalg.norm(v, axis=1, keepdims=True)
    return out


def exact_top10(x: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Row indices of the 10 largest inner products per query, (n_queries, 10)."""
    best_s = np.full((q.shape[0], 0), -np.inf, dtype=np.float32)
    best_i = np.zeros((q.shape[0], 0), dtype=np.int64)
    for start in range(0, x.shape[0], 200_000):
        s = q @ x[start:start + 200_000].T
        i = np.argpartition(-s, 10, axis=1)[:, :10]
        best_s = np.hstack([best_s, np.take_along_axis(s, i, 1)])
        best_i = np.hstack([best_i, i + start])
        keep = np.argsort(-best_s, axis=1)[:, :10]
        best_s, best_i = np.take_along_axis(best_s, keep, 1), np.take_along_axis(best_i, keep, 1)
    return best_i


def build(x: np.ndarray, backend: str, folder: Path) -> float:
    """Build and save an index of ``x`` with ``backend`` into ``folder``; seconds spent on the structure."""
    from serendip.retrieval.dense import DenseIndex

    exact_t, ivfpq_t = THRESHOLDS[backend]
    idx = DenseIndex(encoder=lambda texts, bs: x[[int(t) for t in texts]], exact_threshold=exact_t,
                     ivfpq_threshold=ivfpq_t)
    ids = [str(i) for i in range(x.shape[0])]
    idx.add(ids, ids, [None] * len(ids), batch_size=4096)
    assert idx.backend == backend, (idx.backend, backend)
    t = time.perf_counter()
    idx.ann_index()
    build_s = time.perf_counter() - t
    idx.save(folder)
    return build_s


def measure(folder: Path, backend: str, qfile: Path, tfile: Path) -> dict:
    exact_t, ivfpq_t = THRESHOLDS[backend]
    out = subprocess.run([sys.executable, "-c", CHILD, str(folder), str(exact_t), str(ivfpq_t), str(qfile),
                          str(tfile)], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--vectors", type=Path, required=True, help="SciFact embeddings.npy (float32, (5183, 384))")
    ap.add_argument("--sizes", default="10000,100000,1000000")
    ap.add_argument("--backends", default="exact,hnsw,ivfpq")
    ap.add_argument("--skip", default="", help="backend@size pairs not run, e.g. hnsw@1000000")
    ap.add_argument("--contended", action="store_true", help="note in each row that wall times are contended")
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()
    base = np.load(args.vectors).astype(np.float32)
    skip = {s for s in args.skip.split(",") if s}
    t_all = time.perf_counter()
    rows, report = [], []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        q = grow(base, N_QUERIES, seed=2)
        qfile = tmp / "queries.npy"
        np.save(qfile, q)
        for n in (int(s) for s in args.sizes.split(",")):
            x = grow(base, n, seed=1)
            tfile = tmp / f"truth-{n}.npy"
            np.save(tfile, exact_top10(x, q))
            for backend in args.backends.split(","):
                if f"{backend}@{n}" in skip:
                    continue
                folder = tmp / f"{backend}-{n}"
                build_s = build(x, backend, folder)
                size_mb = sum(p.stat().st_size for p in folder.iterdir()) / 2**20
                res = measure(folder, backend, qfile, tfile)
                shutil.rmtree(folder)
                res.update(n=n, build_s=build_s, disk_mb=size_mb)
                report.append(res)
                print(json.dumps(res), flush=True)
                settings = {"dim": 384, "vectors": "SciFact MiniLM, mixed (see script)",
                            "queries": N_QUERIES, "threads": os.cpu_count()}
                if args.contended:
                    settings["wall_times"] = "contended (shared 2-core machine)"
                for metric, value in (("recall@10", res["recall10"]), ("query_p50_ms", res["p50_ms"]),
                                      ("query_p95_ms", res["p95_ms"]), ("query_p50_k1000_ms", res["p50_k1000_ms"]),
                                      ("build_s", build_s), ("load_s", res["load_s"]),
                                      ("cold_query_s", res["cold_query_s"]), ("disk_mb", size_mb),
                                      ("rss_after_load_mb", res["rss_after_load_mb"]),
                                      ("rss_after_queries_mb", res["rss_after_queries_mb"])):
                    rows.append(_rows.row("dense_backends", "scifact-minilm-mixed", "all", n, f"dense-{backend}",
                                          metric, value, settings=settings, peak_rss_mb=res["peak_rss_mb"]))
            del x
    if not args.no_write:
        _rows.write("dense_backends", rows, wall_s=time.perf_counter() - t_all)
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    _rows.run_main(main)
