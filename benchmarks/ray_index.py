"""Embedding through Ray against the local path: the same documents, the same encoder, the same vectors.

``--sample`` SciFact corpus documents (seed 0) are embedded three ways, each through
:meth:`DenseIndex.add` exactly as ``serendip index`` does (chunks of 512 texts, batch 64):

- ``local``: in this process (PyTorch with ``--threads`` intra-op threads);
- ``ray``: through :func:`serendip.retrieval.ray_embed.ray_chunk_runner` on a Ray cluster of
  ``--nodes`` nodes of one CPU each, all on loopback on this machine (``ray.cluster_utils.Cluster``),
  each task with the driver's thread count (so the vectors are the same);
- the Ray cluster's start-up and the workers' model loading are timed apart (a warm-up pass of one
  chunk per node), so ``docs/s`` compares embedding alone.

Reported: docs/s of each, their ratio, and whether the vectors are bit-for-bit equal. On a 2-core
machine Ray cannot win: its tasks share the same two cores (and with two threads each, oversubscribe
them); the figure says what Ray's scheduling and serialisation cost, not what a cluster gains. A
cluster of n machines embeds about n times the local rate, the chunks being independent.

Usage: ``python benchmarks/ray_index.py [--sample 1024] [--nodes 2] [--threads 2] [--contended]``.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")  # loopback cluster: see the test

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _rows  # noqa: E402
import _scifact_tune as sf  # noqa: E402

BENCH = "ray_index"


def _sample(n: int):
    """A fixed sample (seed 0) of ``n`` SciFact corpus documents: (ids, titles, abstracts)."""
    ids, titles, abstracts = sf.load_corpus(sf.mirror())
    pick = np.sort(np.random.default_rng(0).choice(len(ids), size=min(n, len(ids)), replace=False))
    return [ids[i] for i in pick], [titles[i] for i in pick], [abstracts[i] for i in pick]


def _embed(ids, titles, abstracts, runner=None):
    from serendip.retrieval.dense import DenseIndex

    index = DenseIndex()
    t = time.perf_counter()
    index.add(ids, titles, abstracts, chunk_runner=runner)
    return index.embeddings, time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sample", type=int, default=1024)
    ap.add_argument("--nodes", type=int, default=2)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--contended", action="store_true", help="note that wall times were taken on a shared machine")
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()
    import ray
    import torch
    from ray.cluster_utils import Cluster

    from serendip.retrieval.ray_embed import ray_chunk_runner

    torch.set_num_threads(args.threads)
    t_all = time.perf_counter()
    ids, titles, abstracts = _sample(args.sample)
    _embed(ids[:64], titles[:64], abstracts[:64])  # load the model locally before timing
    local, local_s = _embed(ids, titles, abstracts)
    print(f"local: {len(ids) / local_s:.1f} docs/s ({local_s:.1f} s)", flush=True)
    t = time.perf_counter()
    node = {"num_cpus": 1, "object_store_memory": 100 * 1024 * 1024, "node_ip_address": "127.0.0.1"}
    cluster = Cluster(initialize_head=True, head_node_args={**node, "include_dashboard": False})
    for _ in range(args.nodes - 1):
        cluster.add_node(**node)
    runner = ray_chunk_runner(cluster.address, "torch", "sentence-transformers/all-MiniLM-L6-v2",
                              threads=args.threads)
    list(runner([[f"warm-up {i}"] * 512 for i in range(args.nodes)], 64))  # each worker loads its model
    start_s = time.perf_counter() - t
    print(f"ray: cluster of {args.nodes} started and workers warmed in {start_s:.1f} s", flush=True)
    try:
        remote, ray_s = _embed(ids, titles, abstracts, runner)
    finally:
        ray.shutdown()
        cluster.shutdown()
    equal = bool(np.array_equal(local, remote))
    print(f"ray: {len(ids) / ray_s:.1f} docs/s ({ray_s:.1f} s), {len(ids) / ray_s / (len(ids) / local_s):.2f}x "
          f"local; vectors bit-for-bit equal: {equal}")
    settings = {"model": "all-MiniLM-L6-v2", "encoder": "torch", "threads": args.threads, "batch_size": 64,
                "nodes": args.nodes, "cpus_per_node": 1, "machine": f"{os.cpu_count()} cores, loopback cluster",
                "contended": args.contended}
    rows = [
        _rows.row(BENCH, "scifact", "corpus-sample", len(ids), "embed-local", "docs_per_s", len(ids) / local_s,
                  settings=settings, wall_s=local_s),
        _rows.row(BENCH, "scifact", "corpus-sample", len(ids), "embed-ray", "docs_per_s", len(ids) / ray_s,
                  settings=settings, baseline=("embed-local", len(ids) / local_s), wall_s=ray_s),
        _rows.row(BENCH, "scifact", "corpus-sample", len(ids), "embed-ray", "ratio_vs_local",
                  local_s / ray_s, settings=settings),
        _rows.row(BENCH, "scifact", "corpus-sample", len(ids), "embed-ray", "vectors_equal_local", float(equal),
                  settings=settings),
        _rows.row(BENCH, "scifact", "corpus-sample", len(ids), "embed-ray", "cluster_start_s", start_s,
                  settings=settings),
    ]
    _rows.finish(BENCH, rows, time.perf_counter() - t_all, no_write=args.no_write)


if __name__ == "__main__":
    main()
