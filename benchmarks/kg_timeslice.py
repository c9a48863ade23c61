"""Time-sliced link prediction on the Cohen PubMed records, MeSH headings as entities.

Data: ``cohen-2006`` of the mirror (``cohen/records.jsonl.gz``: 13,938 PubMed records, 1991–2003; Cohen
et al., JAMIA 2006), read by :func:`serendip.kg.graph.read_mesh_records`. Entities are MeSH descriptor
names; the MeSH check tags (:data:`serendip.kg.graph.CHECK_TAGS`: Humans, Animals, sexes, age groups,
pregnancy, historical periods, from NLM's definition) are left out. Records without MeSH (the
ACEInhibitors review) or without a year are counted and printed, and are on neither side of the split.

Protocol (:mod:`serendip.kg.timeslice`), settings fixed before any test figure was seen:

* test: graph of the records with year <= T = 2000; candidates = pairs of entities both present by
  2000 and not co-occurring by then; positives = candidates that co-occur in a record of 2001–2003;
  scored pairs = every positive plus ``--neg-ratio`` (10) negatives per positive drawn uniformly from
  the other candidates (numpy seed 0);
* learned scorers: trained on the earlier slice, graph <= T - Δ = 1998 (Δ = 2) and positives new in
  1999–2000, negatives drawn the same way (seed 0), so nothing after T is used; ``learned-gb`` (the
  method chosen in advance: histogram gradient boosting, scikit-learn defaults) and ``learned-logreg``
  (logistic regression) over the pair features of :func:`serendip.kg.linkpred.pair_features`;
* neighbourhood scorers on the test graph: common neighbours, Jaccard, Adamic–Adar, resource allocation
  (Liben-Nowell & Kleinberg 2007; Zhou, Lü & Zhang 2009); baselines preferential attachment and random.

Metrics: ROC-AUC; Hits@100 as OGB defines it (Hu et al. 2020: the share of positives scored above the
100th-highest negative, here among the sampled negatives); MRR over query entities (each entity with a
positive ranks all its candidates; reciprocal rank of its first positive). 95 % percentile bootstrap
intervals: 1,000 replicates (seed 0) resampling positives and negatives separately (queries for MRR);
the same resamples for every scorer, so each scorer's difference with preferential attachment gets a
paired interval (rows ``<metric>_minus_pa``). Rows: ``n`` = pairs scored (queries for MRR); the
baseline beside each method is preferential attachment (random beside preferential attachment). No published figure
exists for this split: no anchor.

Usage::

    SERENDIP_DATA_MIRROR=/work/shared/data OMP_NUM_THREADS=1 python benchmarks/kg_timeslice.py [--no-write]
    python benchmarks/kg_timeslice.py --n-boot 50 --no-write      # a quick check
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _rows  # noqa: E402

BENCH = "kg_timeslice"
DATASET = "cohen-2006"
HEURISTICS = ("common-neighbours", "jaccard", "adamic-adar", "resource-allocation",
              "preferential-attachment", "random")
LEARNED = {"learned-gb": "gb", "learned-logreg": "logreg"}
BASELINE = "preferential-attachment"


def eval_pairs(ts, ratio: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(pairs (m, 2), labels (m,)): every positive of ``ts`` then ``ratio`` sampled negatives each."""
    from serendip.kg.timeslice import sample_negatives

    neg = sample_negatives(ts, ratio * len(ts.positives), seed=seed)
    return np.concatenate([ts.positives, neg]), np.r_[np.ones(len(ts.positives)), np.zeros(len(neg))]


def train_models(records, args) -> dict:
    """The learned scorers fitted on the slice <= T - Δ with positives in (T - Δ, T]."""
    from serendip.kg.graph import CHECK_TAGS
    from serendip.kg.linkpred import fit_learned
    from serendip.kg.timeslice import make_slice

    t = time.perf_counter()
    train = make_slice(records, args.T - args.delta, end=args.T, exclude=CHECK_TAGS)
    assert train.end == args.T and train.graph.graph["until"] == args.T - args.delta  # nothing after T
    pairs, labels = eval_pairs(train, args.neg_ratio, args.seed)
    print(f"train slice: graph <= {train.until} ({len(train.matrix.nodes)} entities, "
          f"{train.graph.number_of_edges()} edges, {train.graph.graph['n_docs']} records), positives "
          f"{train.until + 1}-{args.T}: {len(train.positives)} from {train.n_future_records} records; "
          f"negatives {len(pairs) - len(train.positives)}", flush=True)
    models = {name: fit_learned(train.matrix, pairs, labels, kind=kind, seed=args.seed)
              for name, kind in LEARNED.items()}
    print(f"fitted {', '.join(models)} in {time.perf_counter() - t:.0f} s", flush=True)
    return models


def score_all(ts, pairs, labels, models: dict, args) -> dict:
    """``{method: {"summary": bootstrap dict, "values": (3,), "boots": (n_boot, 3), "scores": (m,),
    "wall_s", "n_queries"}}`` for every scorer on the test slice (the same resamples for each)."""
    from serendip.kg.linkpred import score_pairs
    from serendip.kg.timeslice import (
        bootstrap_replicates,
        query_reciprocal_ranks,
        summarise,
    )

    out = {}
    for method in (*LEARNED, *HEURISTICS):
        t = time.perf_counter()
        scorer, model = ("learned", models[method]) if method in LEARNED else (method, None)
        s = score_pairs(ts.matrix, pairs, scorer, seed=args.seed, model=model)
        _, rr = query_reciprocal_ranks(ts, scorer, seed=args.seed, model=model)
        values, boots = bootstrap_replicates(s[labels == 1], s[labels == 0], rr, k=args.k, n_boot=args.n_boot,
                                             seed=args.seed)
        res = out[method] = {"summary": summarise(values, boots, args.k), "values": values, "boots": boots,
                             "scores": s, "wall_s": time.perf_counter() - t, "n_queries": len(rr)}
        print(f"{method:24s} " + _line(res["summary"]) + f"  ({res['wall_s']:.0f} s)", flush=True)
    for method, res in out.items():
        if method not in (BASELINE, "random"):
            base = out[BASELINE]
            res["minus_pa"] = summarise(res["values"] - base["values"], res["boots"] - base["boots"], args.k)
            print(f"{method + ' - PA':24s} " + _line(res["minus_pa"], share=True), flush=True)
    return out


def _line(summary: dict, share: bool = False) -> str:
    return "  ".join(f"{m} {v['value']:+.4f} [{v['ci95_low']:+.4f}, {v['ci95_high']:+.4f}]"
                     + (f" (<=0 in {v['frac_not_above_0']:.3f})" if share else "") for m, v in summary.items())


def show_discoveries(ts, pairs, labels, scores, n: int = 5) -> None:
    """Print the ``n`` top-scored candidate pairs with their best A–B–C paths and evidence PMIDs."""
    from serendip.kg.discovery import best_paths

    g, nodes = ts.graph, ts.matrix.nodes
    for idx in np.argsort(-scores, kind="stable")[:n]:
        a, c = nodes[pairs[idx, 0]], nodes[pairs[idx, 1]]
        print(f"  {a} -- {c}: score {scores[idx]:.4f}, {'linked' if labels[idx] else 'not linked'} "
              f"after {ts.until}", flush=True)
        for p in best_paths(g, a, c, k=2):
            print(f"    NPMI {p.score:.3f}: {p.describe()}")


def rows_for(results: dict, ts, pairs, args) -> list[dict]:
    """Rows per scorer and metric: value, 95 % interval bounds and, beside preferential attachment, the
    paired difference with it (``<metric>_minus_pa`` and its bounds)."""
    settings = {"T": args.T, "delta": args.delta, "neg_per_pos": args.neg_ratio, "stop": "check-tags",
                "positives": len(ts.positives)}
    split = f"test-{args.T + 1}-{ts.end}"
    rows = []
    for method, res in results.items():
        s = dict(settings, model=LEARNED[method]) if method in LEARNED else settings
        base = {"preferential-attachment": "random", "random": None}.get(method, BASELINE)
        for metric in ("roc_auc", f"hits@{args.k}", "mrr"):
            n = res["n_queries"] if metric == "mrr" else len(pairs)
            parts = [(metric, res["summary"][metric])]
            if "minus_pa" in res:
                parts.append((f"{metric}_minus_pa", res["minus_pa"][metric]))
            for name, summary in parts:
                for suffix, key in (("", "value"), ("_ci95_low", "ci95_low"), ("_ci95_high", "ci95_high")):
                    head = name == metric and not suffix and base is not None
                    rows.append(_rows.row(
                        BENCH, DATASET, split, n, method, name + suffix, summary[key], settings=s, seed=args.seed,
                        wall_s=res["wall_s"],
                        baseline=(base, results[base]["summary"][metric]["value"]) if head else None))
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--T", type=int, default=2000, help="last year of the test graph")
    ap.add_argument("--delta", type=_rows.positive_int, default=2, help="years between the train and test graphs")
    ap.add_argument("--end", type=int, default=2003, help="last year counted for positives")
    ap.add_argument("--neg-ratio", type=_rows.positive_int, default=10, help="sampled negatives per positive")
    ap.add_argument("--k", type=_rows.positive_int, default=100, help="K of Hits@K")
    ap.add_argument("--n-boot", type=_rows.positive_int, default=1000)
    ap.add_argument("--seed", type=_rows.seed, default=0)
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()
    from serendip import datasets
    from serendip.kg.graph import CHECK_TAGS, read_mesh_records
    from serendip.kg.timeslice import make_slice

    t_all = time.perf_counter()
    path = datasets.resolve(DATASET)["cohen/records.jsonl.gz"]
    records, report = read_mesh_records(path)
    print(f"{path}: {report.summary()}", flush=True)
    for issue in report.issues[:10]:
        print(f"  skipped: {issue}")
    models = train_models(records, args)
    ts = make_slice(records, args.T, end=args.end, exclude=CHECK_TAGS)
    pairs, labels = eval_pairs(ts, args.neg_ratio, args.seed)
    print(f"test slice: graph <= {ts.until} ({len(ts.matrix.nodes)} entities, {ts.graph.number_of_edges()} "
          f"edges, {ts.graph.graph['n_docs']} records); candidates {ts.n_candidates}; positives "
          f"{ts.until + 1}-{ts.end}: {len(ts.positives)} from {ts.n_future_records} records; sampled "
          f"negatives {len(pairs) - len(ts.positives)} ({args.neg_ratio} per positive, seed {args.seed}); "
          f"records on neither side: {ts.left_out}", flush=True)
    results = score_all(ts, pairs, labels, models, args)
    print("top candidate pairs by learned-gb, with their best paths (PMIDs: the evidence):")
    show_discoveries(ts, pairs, labels, results["learned-gb"]["scores"])
    rows = rows_for(results, ts, pairs, args)
    _rows.finish(BENCH, rows, time.perf_counter() - t_all, no_write=args.no_write)


if __name__ == "__main__":
    _rows.run_main(main)
