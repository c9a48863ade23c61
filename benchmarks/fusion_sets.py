"""Hybrid fusion settings on every registered retrieval set, default chosen by the mean over sets.

For each set of :data:`serendip.datasets.retrieval_sets.RETRIEVAL_SETS` (SciFact; BC5CDR-CID, built
from the BC5CDR corpus) and each of its two splits (``tune``, ``report``): BM25 (Lucene, k1=1.2,
b=0.75) and dense (all-MiniLM-L6-v2, the default "torch" encoder) runs of depth
``serendip.retrieval.searcher.DEFAULT_CANDIDATES`` (1000), then every fusion setting of the grid below
on those two runs; nDCG@10 and Recall@100 (ranx) per setting.

Grid: RRF (Cormack et al. 2009) with k in {10, 60, 100}; convex fusion (Bruch et al. 2023) with the
dense weight alpha in {0.3, 0.4, 0.45, 0.5, 0.6, 0.7, 0.8} (0.45 was the SciFact-only choice; 0.4 is the default chosen by this script) and each score
normalisation of ``fusion.NORMALISATIONS`` except "none" (raw BM25 scores, 0-60, against cosines in
[-1, 1] make the weight meaningless). The default is the setting with the highest MEAN over sets of
the tuning-split nDCG@10; report-split figures are never used to choose.

Dense indexes are cached under ``$SERENDIP_EMB_CACHE`` (``/tmp/serendip-emb``): SciFact's by
``benchmarks/_scifact_tune.py``, the others here, keyed by model weights, encoder and corpus text.

Usage::

    SERENDIP_DATA_MIRROR=/work/shared/data python benchmarks/fusion_sets.py [--sets scifact bc5cdr-cid]
"""
from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _rows  # noqa: E402
import _scifact_tune as sf  # noqa: E402

from serendip.datasets.retrieval_sets import RETRIEVAL_SETS, retrieval_set_names  # noqa: E402
from serendip.retrieval.bm25 import BM25Index  # noqa: E402
from serendip.retrieval.dense import MINILM_SHA256, DenseIndex  # noqa: E402
from serendip.retrieval.evaluate import evaluate_run  # noqa: E402
from serendip.retrieval.fusion import FUSION, NORMALISATIONS  # noqa: E402
from serendip.retrieval.searcher import (  # noqa: E402
    DEFAULT_ALPHA,
    DEFAULT_CANDIDATES,
    DEFAULT_FUSION,
    DEFAULT_NORM,
    DEFAULT_RRF_K,
)

BENCH = "fusion_sets"
METRICS = ("ndcg@10", "recall@100")
RRF_KS = (10, 60, 100)
ALPHAS = (0.3, 0.4, 0.45, 0.5, 0.6, 0.7, 0.8)


def grid() -> list[tuple[str, dict]]:
    """(fusion method, options) for every setting compared: RRF k, convex alpha x normalisation."""
    out: list[tuple[str, dict]] = [("rrf", {"k": k}) for k in RRF_KS]
    out += [("convex", {"alpha": a, "norm": n}) for n in NORMALISATIONS if n != "none" for a in ALPHAS]
    return out


def today() -> tuple[str, dict]:
    """Today's default hybrid setting, read from the searcher's defaults."""
    if DEFAULT_FUSION == "rrf":
        return "rrf", {"k": DEFAULT_RRF_K}
    return "convex", {"alpha": DEFAULT_ALPHA, "norm": DEFAULT_NORM}


def label(method: str, opts: dict) -> str:
    """Row label of one setting, e.g. ``hybrid-convex alpha=0.45 minmax``."""
    if method == "rrf":
        return f"hybrid-rrf k={opts['k']}"
    return f"hybrid-convex alpha={opts['alpha']} {opts['norm']}"


def fuse(method: str, opts: dict, lex: dict, sem: dict) -> dict:
    """Fused top-100 run ``{qid: {doc: score}}`` of two runs with one setting."""
    fn = FUSION.get(method)
    out = {}
    for q in lex:
        if method == "rrf":
            fused = fn([lex[q], sem[q]], k=opts["k"])
        else:
            fused = fn([lex[q], sem[q]], [1 - opts["alpha"], opts["alpha"]], norm=opts["norm"])
        out[q] = dict(list(fused.items())[:100])
    return out


def dense_for(name: str, data, log=print) -> tuple[DenseIndex, float, bool]:
    """The set's dense index (default model and encoder): from the cache, else embedded and cached."""
    if name == "scifact":
        return sf.dense_index(sf.mirror(), "space", log=log)
    h = hashlib.sha256(f"{MINILM_SHA256}|torch".encode())
    for i, t, a in zip(data.doc_ids, data.titles, data.abstracts):
        h.update(f"{i}\t{t}\t{a}\n".encode())
    cache = sf.EMB_CACHE / f"{name}-{h.hexdigest()[:16]}"
    if (cache / "build.json").is_file():
        return DenseIndex.load(cache), float(json.loads((cache / "build.json").read_text())["build_s"]), True
    index = DenseIndex()
    t0 = time.perf_counter()
    index.add(data.doc_ids, data.titles, data.abstracts, batch_size=64,
              progress=lambda d, n: log(f"  embedded {d}/{n}"))
    build_s = time.perf_counter() - t0
    index.save(cache)
    (cache / "build.json").write_text(json.dumps({"build_s": build_s, "docs": len(data.doc_ids)}))
    return index, build_s, False


def evaluate_set(name: str, log=print) -> tuple[dict, list[dict], dict]:
    """``{(split role, method label): metrics}``, rows, and set info for one registered set."""
    entry = RETRIEVAL_SETS.get(name)
    data = entry.load()
    texts = [f"{t} {a}".strip() for t, a in zip(data.titles, data.abstracts)]
    bm25 = BM25Index.build(data.doc_ids, texts)
    dense, build_s, cached = dense_for(name, data, log)
    log(f"{name}: {len(data.doc_ids)} docs; dense {build_s:.0f}s{' (cached)' if cached else ''}")
    depth = DEFAULT_CANDIDATES
    results, rows, info = {}, [], {"docs": len(data.doc_ids)}
    for role, split in (("tune", entry.tune), ("report", entry.report)):
        qids, qtexts, qrels = data.split(split)
        info[role] = (split, len(qids))
        t = time.perf_counter()
        lex = dict(zip(qids, (dict(r) for r in bm25.search_many(qtexts, depth))))
        sem = dict(zip(qids, (dict(r) for r in dense.search_vectors(dense.encode_queries(qtexts), depth))))
        settings = [("bm25", None, None), ("dense", None, None)] + [(label(m, o), m, o) for m, o in grid()]
        for lab, method, opts in settings:
            if method is None:
                run = {q: dict(list((lex if lab == "bm25" else sem)[q].items())[:100]) for q in qids}
            else:
                run = fuse(method, opts, lex, sem)
            results[(role, lab)] = evaluate_run(qrels, run, METRICS)
            stt = {"split_role": role, "candidates": depth, **({} if opts is None else opts)}
            for metric in METRICS:
                rows.append(_rows.row(BENCH, name, split, len(qids), lab.split(" ")[0], metric,
                                      results[(role, lab)][metric], settings=stt))
        log(f"  {name} {split} ({role}, {len(qids)} queries): {time.perf_counter() - t:.0f}s")
    return results, rows, info


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sets", nargs="+", default=retrieval_set_names(), choices=retrieval_set_names())
    args = ap.parse_args()
    t_all = time.perf_counter()
    per_set, rows, infos = {}, [], {}
    for name in args.sets:
        per_set[name], set_rows, infos[name] = evaluate_set(name)
        rows += set_rows
    labels = ["bm25", "dense"] + [label(m, o) for m, o in grid()]
    mean = {lab: sum(per_set[s][("tune", lab)]["ndcg@10"] for s in args.sets) / len(args.sets)
            for lab in labels}
    fused_labels = labels[2:]
    chosen = max(fused_labels, key=lambda lab: (round(mean[lab], 6), lab == label(*today())))
    current = label(*today())

    head = f"{'setting':34s} " + " ".join(f"{s + ' ' + r:>22s}" for s in args.sets for r in ("tune", "report"))
    print("\nnDCG@10 (Recall@100)   " + ", ".join(
        f"{s}: tune={infos[s]['tune'][0]} ({infos[s]['tune'][1]} q), report={infos[s]['report'][0]} "
        f"({infos[s]['report'][1]} q), {infos[s]['docs']} docs" for s in args.sets))
    print(head + f" {'mean tune':>10s}")
    for lab in labels:
        cells = " ".join(f"{per_set[s][(r, lab)]['ndcg@10']:>13.4f} ({per_set[s][(r, lab)]['recall@100']:.3f})"
                         for s in args.sets for r in ("tune", "report"))
        mark = " <- chosen" if lab == chosen else (" <- today" if lab == current else "")
        print(f"{lab:34s} {cells} {mean[lab]:10.4f}{mark}")
    for lab in labels:
        stt = {"sets": ",".join(args.sets), "candidates": DEFAULT_CANDIDATES}
        rows.append(_rows.row(BENCH, "mean-over-sets", "tune", len(args.sets), lab.split(" ")[0], "ndcg@10",
                              mean[lab], settings={**stt, **_settings_of(lab)}))
    print(f"\ndefault by mean tuning nDCG@10: {chosen} ({mean[chosen]:.4f}); today's: {current} "
          f"({mean[current]:.4f})")
    for s in args.sets:
        diff = per_set[s][("report", chosen)]["ndcg@10"] - per_set[s][("report", current)]["ndcg@10"]
        print(f"  {s} report split: chosen {per_set[s][('report', chosen)]['ndcg@10']:.4f}, today "
              f"{per_set[s][('report', current)]['ndcg@10']:.4f}, difference {diff:+.4f}")
    wall = time.perf_counter() - t_all
    _rows.write(BENCH, rows, wall_s=wall)
    print(f"{len(rows)} rows -> benchmarks/results/{BENCH}.json; {wall:.0f}s, peak RSS {_rows.peak_rss_mb():.0f} MB")


def _settings_of(lab: str) -> dict:
    """Settings dict of a row label made by :func:`label` (empty for bm25 / dense)."""
    for method, opts in grid():
        if label(method, opts) == lab:
            return dict(opts)
    return {}


if __name__ == "__main__":
    _rows.run_main(main)
