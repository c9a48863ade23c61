"""Reranking on SciFact (BEIR test split, 300 queries, 5,183 abstracts): hybrid + cross-encoder vs hybrid.

The reranker is the offline all-MiniLM-L6-v2 fine-tuned through the engine's ``pair`` task
(:func:`serendip.evidence.rerank.reranker_config` + :func:`serendip.models.train.finetune`) on (claim,
title + abstract) pairs of the BEIR SciFact **train** queries (809 claims, ``qrels/train.tsv``): each
judged-relevant abstract, and ``--negatives`` hard negatives drawn (seed 0) from the top ``--mine-depth``
of Serendip's own hybrid retrieval for the claim (:mod:`serendip.evidence.rerank_data`). The train
claims are split by claim (seed 0): 90 % fit, 10 % held out. The held-out claims choose, by nDCG@10,
the rerank depth (candidates re-scored) and the reranker's weight in a convex fusion with the hybrid
score (:func:`serendip.retrieval.rerank.rerank`); the **test** claims (BEIR test = SciFact dev) are
scored once, with that choice. Test queries are refused as training queries in code.

Search cost: ``--lengths`` tries search-time pair lengths (tokens per (claim, abstract) pair, the
abstract cut first; default: the training length) and ``--budget-ms`` keeps only the (length, depth)
whose p50 latency of hybrid + rerank, timed one held-out claim at a time as the test pass times it, is
within the budget; the held-out nDCG@10 then chooses among those. The chosen length is written beside
the run too. ``--layers N`` trains on the backbone's first N layers only (the engine's
``backbone.layers``): a cheaper cross-encoder per pair.

Training recipe (defaults): 3 epochs over the pairs at 128 tokens, lr 1e-4, class-weighted loss, 5 mined
negatives per claim (4,467 pairs). With it the full 6-layer model (OpenVINO int8, depth 30 and weight 0.4
chosen on the held-out claims within 150 ms) scored SciFact test nDCG@10 0.7626 (hybrid 0.7353) at p50
112 ms (2026-12-05; 3,003 s of training on 2 shared cores); 3 negatives gave 0.752 at depth 50. A
first recipe (1 epoch at 256 tokens, lr 5e-5, unweighted: 189 steps, 56 min on 2 shared cores) did not
learn: ROC-AUC 0.57 on the held-out claims' pairs, where the bi-encoder's own cosine gives 0.79; the
defaults trade context for optimizer steps.

Measured in the same run: today's hybrid (the default ``hybrid`` mode) on the same split; nDCG@10 and
MRR@10 (ranx); per-query latency of hybrid + rerank, one query at a time (p50 / p95 ms, on the
machine's cores; the 1-minute load average is recorded and ``--contended`` marks a shared machine);
the training wall time (with ``--reuse``, the one the run recorded). The chosen depth and weight are
written beside the run's model (``reranker.json``), so ``serendip search --rerank RUN`` uses them.

``--backend`` runs the reranker by PyTorch (``torch``), ONNX Runtime (``onnx``: fp32; ``onnx-int8``:
int8 weights) or OpenVINO (``openvino-int8``: int8 weights and activations, the ``openvino`` extra;
:mod:`serendip.evidence.rerank`; default: the search default, onnx-int8 where onnxruntime is
installed), for tuning and test alike; ``--threads`` sets ONNX Runtime's intra-op threads (OpenVINO:
its threads, one stream each). Both are
recorded in the rows' settings. ``--reuse RUN`` skips training and the training pairs (the first stage
is then run for the held-out claims only); the recipe recorded in the rows is the run's own.

Published anchors (nDCG@10, SciFact test), cited constants:

- BM25 + CE 0.688: Thakur et al. 2021, BEIR (NeurIPS Datasets & Benchmarks), Table 2, "BM25+CE": BM25
  top-100 reranked by the MS MARCO cross-encoder ms-marco-MiniLM-L-6-v2 (6 layers, 384-d: our size);
- bge-small-en-v1.5 0.713: MTEB leaderboard (Muennighoff et al. 2023), BAAI/bge-small-en-v1.5, SciFact
  nDCG@10 71.3 (Xiao et al. 2023, C-Pack, arXiv:2309.07597), quoted from the leaderboard.

Usage::

    SERENDIP_DATA_MIRROR=/work/shared/data python benchmarks/evidence_rerank.py [--workdir /tmp/rerank]
        [--epochs 3] [--max-length 128] [--lr 1e-4] [--negatives 5] [--reuse RUN_DIR] [--contended]
        [--backend torch|onnx|onnx-int8|openvino-int8] [--threads N] [--depths 10,20,30,50]
        [--layers N] [--lengths 128,96,64] [--budget-ms 150]
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _rows  # noqa: E402
import _scifact_tune as sf  # noqa: E402

from serendip.retrieval.evaluate import evaluate_run, load_beir_qrels, load_beir_queries  # noqa: E402

BENCH = "evidence_rerank"
METRICS = ("ndcg@10", "mrr@10")
BM25_CE = ("BM25+CE (MiniLM-L6 cross-encoder), BEIR paper", 0.688, "Thakur et al. 2021, BEIR, Table 2")
BGE_SMALL = ("bge-small-en-v1.5, MTEB", 0.713, "MTEB leaderboard; Xiao et al. 2023 (C-Pack)")
from serendip.evidence.rerank_tune import DEPTHS, WEIGHTS  # noqa: E402  (the grid rerank-train uses)


def _first_stage(searcher, queries: dict, qids: list[str], depth: int) -> dict[str, list[tuple[str, float]]]:
    """The default hybrid mode's top ``depth`` (doc id, score) per query, batched."""
    res = searcher.search_batch([queries[q] for q in qids], mode="hybrid", k=depth)
    return dict(zip(qids, res))


def _train(args, rows_fit: list[dict], rows_held: list[dict]) -> tuple[Path, float]:
    from serendip.evidence.rerank import reranker_config
    from serendip.evidence.scifact_data import write_jsonl
    from serendip.models.train import finetune

    wd = args.workdir
    cfg = reranker_config(write_jsonl(rows_fit, wd / "rerank_fit.jsonl"), write_jsonl(rows_held, wd / "rerank_held.jsonl"),
                          wd / "runs", epochs=args.epochs, max_length=args.max_length, batch_size=16, lr=args.lr,
                          imbalance=args.imbalance, seed=0, layers=args.layers)
    t = time.perf_counter()

    def progress(done, total, info):
        if done % 20 == 0 or done == total:
            print(f"  step {done}/{total} {json.dumps({k: v for k, v in info.items() if k != 'dev'})}", flush=True)

    result = finetune(cfg, progress=progress)
    wall = time.perf_counter() - t
    print(f"reranker run {result.run_dir}: {len(rows_fit)} pairs x {args.epochs} epoch(s) in {wall:.0f} s; "
          f"held-out pairs {json.dumps(result.metrics.get('best'))[:200]}", flush=True)
    return result.run_dir, wall


def _scores(reranker, queries: dict, cands: dict, texts: dict) -> dict[str, np.ndarray]:
    out = {}
    for n, (q, cand) in enumerate(cands.items(), 1):
        out[q] = reranker.score(queries[q], [texts[d] for d, _ in cand])
        if n % 25 == 0:
            print(f"  scored {n}/{len(cands)} queries", flush=True)
    return out


def _fused_run(cands: dict, scores: dict, depth: int, weight: float) -> dict[str, dict[str, float]]:
    """Per query: the top ``depth`` re-ordered by :func:`rerank` (weight), then the rest in hybrid order."""
    from serendip.retrieval.rerank import rerank

    class _Given:  # the scores computed once, handed to rerank
        description = "precomputed"

        def __init__(self, s):
            self.s = s

        def score(self, query, texts):
            return self.s

    run = {}
    for q, cand in cands.items():
        head = rerank(_Given(scores[q][:depth]), "", cand[:depth], [""] * len(cand[:depth]), depth, weight)
        ordered = [d for d, _ in head] + [d for d, _ in cand[depth:]]
        run[q] = {d: float(len(ordered) - i) for i, d in enumerate(ordered)}
    return run


def _tune(cands: dict, scores: dict, qrels: dict, depths: tuple[int, ...], p50: dict
          ) -> tuple[tuple, dict]:
    """The (length, depth, weight) of the lengths of ``scores`` x ``depths`` x :data:`WEIGHTS` with the
    best held-out nDCG@10, among those with a held-out p50 (``p50[(length, depth)]``, ms) when the budget
    kept them (ties: the smaller depth, the shorter length, the larger weight); every figure of the grid."""
    grid = {}
    for length, by_q in scores.items():
        for depth in depths:
            if (length, depth) not in p50:
                continue
            for weight in WEIGHTS:
                grid[(length, depth, weight)] = evaluate_run(qrels, _fused_run(cands, by_q, depth, weight),
                                                             ("ndcg@10",))["ndcg@10"]
            print(f"  length {length} depth {depth:2d} (p50 {p50[(length, depth)]:.0f} ms): "
                  + " ".join(f"w{w}={grid[(length, depth, w)]:.4f}" for w in WEIGHTS))
    if not grid:
        raise SystemExit("no (length, depth) within --budget-ms on the held-out claims: raise the budget")
    best = max(grid, key=lambda ldw: (round(grid[ldw], 4), -ldw[1], -ldw[0], ldw[2]))
    return best, {f"{ln}/{d}@{w}": round(v, 4) for (ln, d, w), v in grid.items()}


def _latency(searcher, reranker, queries: dict, qids: list[str], texts: dict, depth: int) -> float:
    """p50 ms of hybrid top ``depth`` + rerank, one query at a time (3 warm-ups), as :func:`_test_pass`."""
    from serendip.retrieval.rerank import rerank

    times = []
    for q in qids[:3] + qids:
        t0 = time.perf_counter()
        cand = searcher.search(queries[q], mode="hybrid", k=depth)
        rerank(reranker, queries[q], cand, [texts[d] for d, _ in cand], depth, 0.5)
        times.append((time.perf_counter() - t0) * 1000)
    return float(np.percentile(times[3:], 50))


def _held_out(args, searcher, run_dir: Path, queries: dict, held: list[str], mined: dict, texts: dict) -> dict:
    """Per search-time length: the reranker, its scores of the held-out claims' candidates and (with
    ``--budget-ms``) the held-out p50 of each depth."""
    out = {}
    for length in args.lengths or (None,):
        reranker = _load_reranker(run_dir, args.backend, args.threads, length)
        length = reranker.max_length
        print(f"reranker: {reranker.description}", flush=True)
        cands = {q: mined[q][:max(args.depths)] for q in held}
        t = time.perf_counter()
        scores = _scores(reranker, queries, cands, texts)
        print(f"held-out claims scored in {time.perf_counter() - t:.0f} s", flush=True)
        p50 = {}
        for depth in args.depths:
            p50[depth] = _latency(searcher, reranker, queries, held, texts, depth) if args.budget_ms else 0.0
            print(f"  length {length} depth {depth}: held-out p50 {p50[depth]:.1f} ms (load average "
                  f"{os.getloadavg()[0]:.2f})", flush=True)
        out[length] = (reranker, scores, p50)
    return out


def _test_pass(searcher, reranker, queries: dict, qids: list[str], texts: dict, depth: int, weight: float):
    """One query at a time: hybrid top ``depth``, then reranked; per-query wall times (ms) of the hybrid
    step and of the whole, and the two runs (hybrid alone, reranked)."""
    from serendip.retrieval.rerank import rerank

    for q in qids[:3]:  # warm-up
        cand = searcher.search(queries[q], mode="hybrid", k=depth)
        rerank(reranker, queries[q], cand, [texts[d] for d, _ in cand], depth, weight)
    hyb_ms, all_ms, run_r = [], [], {}
    for n, q in enumerate(qids, 1):
        t0 = time.perf_counter()
        cand = searcher.search(queries[q], mode="hybrid", k=depth)
        t1 = time.perf_counter()
        top = rerank(reranker, queries[q], cand, [texts[d] for d, _ in cand], depth, weight)
        t2 = time.perf_counter()
        hyb_ms.append((t1 - t0) * 1000)
        all_ms.append((t2 - t0) * 1000)
        run_r[q] = {d: float(len(top) - i) for i, (d, _) in enumerate(top)}
        if n % 25 == 0:
            print(f"  test {n}/{len(qids)}: p50 so far {np.percentile(all_ms, 50):.0f} ms", flush=True)
    run_h = {q: dict(r) for q, r in _first_stage(searcher, queries, qids, 10).items()}
    return run_h, run_r, np.array(hyb_ms), np.array(all_ms)


def _depths(text: str) -> tuple[int, ...]:
    """``"10,20,30,50"`` -> (10, 20, 30, 50): rerank depths, each >= 1, sorted, distinct."""
    try:
        depths = tuple(sorted({int(x) for x in text.split(",") if x.strip()}))
    except ValueError:
        raise argparse.ArgumentTypeError(f"--depths: comma-separated integers, got {text!r}") from None
    if not depths or depths[0] < 1:
        raise argparse.ArgumentTypeError(f"--depths: integers >= 1, got {text!r}")
    return depths


def _load_reranker(run_dir: Path, backend: str | None, threads: int | None, max_length: int | None = None):
    """The reranker of ``run_dir`` run by ``backend`` (None: the search default) at ``max_length``
    tokens per pair (None: the run's training length; the run's ``reranker.json`` is not read)."""
    from serendip.evidence.rerank import CrossEncoderReranker

    length = max_length or json.loads((run_dir / "label_space.json").read_text())["max_length"]
    return CrossEncoderReranker.load(run_dir, backend=backend, threads=threads, max_length=int(length))


def _recipe(args, run_dir: Path, train_pairs: int | None) -> dict:
    """The training recipe for the rows: the arguments', or (``--reuse``) the one the run recorded."""
    if not args.reuse:
        return {"max_length": args.max_length, "epochs": args.epochs, "lr": args.lr, "imbalance": args.imbalance,
                "negatives": args.negatives, "mine_depth": args.mine_depth, "train_pairs": train_pairs,
                "layers": args.layers}
    cfg = json.loads((run_dir / "config.resolved.json").read_text())
    sizes = json.loads((run_dir / "metrics.json").read_text()).get("sizes") or {}
    return {"max_length": cfg["training"]["max_length"], "epochs": cfg["training"]["epochs"],
            "lr": cfg["training"]["lr"], "imbalance": cfg["imbalance"]["method"], "train_pairs": sizes.get("train"),
            "layers": cfg["backbone"].get("layers"), "reused_run": str(run_dir)}


def _args(argv: list[str] | None = None):
    from serendip.evidence.rerank import BACKENDS

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/serendip-rerank"))
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--max-length", type=int, default=128)
    ap.add_argument("--lr", type=float, default=1e-4)
    ap.add_argument("--imbalance", default="class_weight", help="engine imbalance method of the training loss")
    ap.add_argument("--negatives", type=int, default=5, help="hard negatives per training claim")
    ap.add_argument("--mine-depth", type=int, default=50, help="negatives are drawn from the hybrid top N")
    ap.add_argument("--reuse", type=Path, help="a reranker run folder: skip training")
    ap.add_argument("--contended", action="store_true", help="the machine is shared (noted in the rows)")
    ap.add_argument("--backend", choices=list(BACKENDS), help="what runs the reranker (default: the search "
                    "default, onnx-int8 where onnxruntime is installed)")
    ap.add_argument("--threads", type=int, help="ONNX Runtime intra-op threads, or OpenVINO threads "
                    "(default: the runtime's own choice)")
    ap.add_argument("--depths", type=_depths, default=DEPTHS, help="rerank depths tried on the held-out claims, "
                    "comma-separated (default %(default)s)")
    ap.add_argument("--layers", type=int, help="train on the backbone's first N transformer layers only")
    ap.add_argument("--lengths", type=_depths, help="search-time tokens per pair tried on the held-out claims, "
                    "comma-separated (default: the training length)")
    ap.add_argument("--budget-ms", type=float, help="keep only (length, depth) whose held-out p50 latency of "
                    "hybrid + rerank is within this (ms)")
    ap.add_argument("--train-only", action="store_true", help="stop after training (no tuning, no test pass)")
    ap.add_argument("--no-write", action="store_true")
    return ap.parse_args(argv)


def main() -> None:
    args = _args()
    from serendip.evidence.rerank import write_reranker_settings
    from serendip.evidence.rerank_data import reranker_examples, split_queries
    from serendip.retrieval.bm25 import BM25Index
    from serendip.retrieval.modes import RETRIEVAL_MODES
    from serendip.retrieval.searcher import Searcher

    t_all = time.perf_counter()
    folder = sf.mirror()
    queries = load_beir_queries(folder / "queries.jsonl")
    train_qrels = load_beir_qrels(folder / "qrels" / "train.tsv")
    test_qrels = load_beir_qrels(folder / "qrels" / "test.tsv")
    ids, titles, abstracts = sf.load_corpus(folder)
    texts = {d: f"{t} {a}".strip() for d, t, a in zip(ids, titles, abstracts)}
    dense, _, _ = sf.dense_index(folder, "space")
    searcher = Searcher(BM25Index.build(ids, [texts[d] for d in ids]), dense)
    hybrid_label = RETRIEVAL_MODES.get("hybrid").bench_label(searcher)
    fit, held = split_queries(train_qrels, 0.1, seed=0)
    print(f"train claims: {len(fit)} fit, {len(held)} held out; test claims: {len(test_qrels)}", flush=True)
    depths = args.depths
    mined = _first_stage(searcher, queries, held if args.reuse else fit + held, max(args.mine_depth, max(depths)))
    train_pairs = None
    if args.reuse:  # no training pairs; the training wall time is the one the run recorded
        run_dir = args.reuse
        train_s = json.loads((run_dir / "metrics.json").read_text())["wall_s"]
    else:
        ranked = {q: [d for d, _ in r] for q, r in mined.items()}
        common = dict(negatives=args.negatives, depth=args.mine_depth, seed=0, exclude=set(test_qrels))
        rows_fit = reranker_examples(queries, train_qrels, ranked, texts, fit, **common)
        rows_held = reranker_examples(queries, train_qrels, ranked, texts, held, **common)
        train_pairs = len(rows_fit)
        run_dir, train_s = _train(args, rows_fit, rows_held)
        if args.train_only:
            return
    held_qrels = {q: train_qrels[q] for q in held}
    held_cands = {q: mined[q][:max(depths)] for q in held}
    by_length = _held_out(args, searcher, run_dir, queries, held, mined, texts)
    base_held = evaluate_run(held_qrels, {q: dict(c) for q, c in held_cands.items()}, ("ndcg@10",))["ndcg@10"]
    budget = args.budget_ms or float("inf")
    held_p50 = {(ln, d): ms for ln, (_, _, by_d) in by_length.items() for d, ms in by_d.items() if ms <= budget}
    (length, depth, weight), grid = _tune(held_cands, {ln: sc for ln, (_, sc, _) in by_length.items()},
                                          held_qrels, depths, held_p50)
    reranker = by_length[length][0]
    held_ndcg = grid[f"{length}/{depth}@{weight}"]
    print(f"held-out: hybrid nDCG@10 {base_held:.4f}; chosen length {length}, depth {depth}, weight {weight} "
          f"-> {held_ndcg}", flush=True)
    write_reranker_settings(run_dir, rerank_k=depth, weight=weight, ndcg_at_10=held_ndcg, max_length=length,
                            tuned_on=f"SciFact train claims held out of training: {len(held)} (seed 0), nDCG@10, "
                                     f"scored by the {reranker.backend} backend"
                                     + (f", p50 within {budget:.0f} ms" if args.budget_ms else ""))

    qids = list(test_qrels)
    t = time.perf_counter()
    run_h, run_r, hyb_ms, all_ms = _test_pass(searcher, reranker, queries, qids, texts, depth, weight)
    wall = time.perf_counter() - t
    load1 = os.getloadavg()[0]
    hybrid, ours = evaluate_run(test_qrels, run_h, METRICS), evaluate_run(test_qrels, run_r, METRICS)
    p50, p95, h50 = (float(np.percentile(all_ms, 50)), float(np.percentile(all_ms, 95)),
                     float(np.percentile(hyb_ms, 50)))
    print(f"test: hybrid {hybrid}; hybrid + cross-encoder {ours}; p50 {p50:.0f} ms p95 {p95:.0f} ms "
          f"(hybrid alone p50 {h50:.1f} ms); load average {load1:.1f}", flush=True)

    settings = {"model": "all-MiniLM-L6-v2 cross-encoder (engine pair task)", "rerank_k": depth,
                "rerank_weight": weight, **_recipe(args, run_dir, train_pairs), "backend": reranker.backend,
                "threads": args.threads, "depths": ",".join(map(str, depths)),
                "tuned_on": f"{len(held)} held-out train claims (seed 0)", "first_stage": hybrid_label,
                "rerank_max_length": length, "lengths": ",".join(map(str, args.lengths or (length,))),
                "budget_ms": args.budget_ms, "heldout_p50_ms": round(held_p50[(length, depth)], 1),
                "load_avg_1min": round(load1, 2), "contended": args.contended}
    method = "hybrid+cross-encoder"
    n = len(qids)
    rows = [_rows.row(BENCH, "scifact", "test", n, method, m, ours[m], settings=settings,
                      baseline=(hybrid_label, hybrid[m]), anchor=BM25_CE if m == "ndcg@10" else None, wall_s=wall)
            for m in METRICS]
    rows.append(_rows.row(BENCH, "scifact", "test", n, hybrid_label, "ndcg@10", hybrid["ndcg@10"], anchor=BGE_SMALL))
    for metric, value, base in (("latency_p50_ms", p50, h50), ("latency_p95_ms", p95, float(np.percentile(hyb_ms, 95)))):
        rows.append(_rows.row(BENCH, "scifact", "test", n, method, metric, value, settings=settings,
                              baseline=(f"{hybrid_label} alone", base)))
    rows.append(_rows.row(BENCH, "scifact", "train", len(fit), method, "train_wall_s", train_s,
                          settings=settings, wall_s=train_s))
    rows.append(_rows.row(BENCH, "scifact", "train-heldout", len(held), method, "ndcg@10", held_ndcg,
                          settings=settings, baseline=(hybrid_label, base_held)))
    print(json.dumps({"grid_heldout_ndcg@10": grid}))
    _rows.finish(BENCH, rows, time.perf_counter() - t_all, no_write=args.no_write)


if __name__ == "__main__":
    _rows.run_main(main)
