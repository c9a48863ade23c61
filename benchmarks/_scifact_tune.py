"""SciFact tuning of retrieval defaults (TRAIN qrels only), with a final report on TEST.

Decisions it informs (constants in ``src/serendip/retrieval``):

* dense document text: "title abstract" (BEIR) vs "title. abstract" (period added when the title does
  not already end with punctuation);
* hybrid fusion: RRF (k=60) vs convex combination of min-max normalised scores with weight ``alpha`` on
  the dense run, alpha chosen on TRAIN over a 0.05 grid; candidate depth N per run.

Embeddings are cached under ``$SERENDIP_EMB_CACHE`` (default ``/tmp/serendip-emb``), keyed by model
weights, corpus file and text variant, so the 5,183-document corpus is embedded once per variant.

Usage::

    SERENDIP_DATA_MIRROR=/work/shared/data python benchmarks/_scifact_tune.py
"""
from __future__ import annotations

import gzip
import hashlib
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

from serendip.retrieval.dense import MINILM_SHA256, DenseIndex
from serendip.retrieval.evaluate import evaluate_run, load_beir_qrels, load_beir_queries

EMB_CACHE = Path(os.environ.get("SERENDIP_EMB_CACHE", "/tmp/serendip-emb"))
VARIANTS = ("space", "period")


def mirror() -> Path:
    """The SciFact folder of the data mirror (``$SERENDIP_DATA_MIRROR/scifact``)."""
    root = os.environ.get("SERENDIP_DATA_MIRROR")
    if not root:
        sys.exit("set SERENDIP_DATA_MIRROR to the data mirror (e.g. /work/shared/data)")
    return Path(root) / "scifact"


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def load_corpus(folder: Path) -> tuple[list[str], list[str], list[str]]:
    """ids, titles, abstracts of the BEIR corpus (in file order)."""
    ids, titles, abstracts = [], [], []
    with gzip.open(folder / "corpus.jsonl.gz", "rt", encoding="utf-8") as fh:
        for line in fh:
            d = json.loads(line)
            ids.append(str(d["_id"]))
            titles.append(d.get("title") or "")
            abstracts.append(d.get("text") or "")
    return ids, titles, abstracts


def variant_titles(titles: list[str], variant: str) -> list[str]:
    """Titles as passed to ``DenseIndex.add`` so that its " " separator yields the variant's text."""
    if variant == "space":
        return titles
    if variant == "period":
        return [t if not t.strip() or t.rstrip()[-1] in ".?!:;" else t.rstrip() + "." for t in titles]
    raise ValueError(variant)


def dense_index(folder: Path, variant: str = "space", log=print,
                force: bool = False) -> tuple[DenseIndex, float, bool]:
    """The SciFact dense index for ``variant``: from the cache (unless ``force``), else embedded and cached.

    Returns (index, build seconds, from_cache); for a cached index the build time is the one measured
    when it was computed (stored in ``build.json``).
    """
    key = hashlib.sha256(
        f"{MINILM_SHA256}|{file_sha256(folder / 'corpus.jsonl.gz')}|{variant}".encode()).hexdigest()[:16]
    cache = EMB_CACHE / f"scifact-{variant}-{key}"
    if (cache / "build.json").is_file() and not force:
        info = json.loads((cache / "build.json").read_text())
        return DenseIndex.load(cache), float(info["build_s"]), True
    ids, titles, abstracts = load_corpus(folder)
    index = DenseIndex()
    t0 = time.perf_counter()
    index.add(ids, variant_titles(titles, variant), abstracts, batch_size=64,
              progress=lambda d, n: log(f"  embedded {d}/{n}"))
    build_s = time.perf_counter() - t0
    index.save(cache)
    (cache / "build.json").write_text(json.dumps({"build_s": build_s, "variant": variant}))
    return index, build_s, False


def main() -> None:
    from serendip.retrieval.bm25 import BM25Index
    from serendip.retrieval.fusion import convex, rrf

    folder = mirror()
    queries = load_beir_queries(folder / "queries.jsonl")
    qrels = {s: load_beir_qrels(folder / "qrels" / f"{s}.tsv") for s in ("train", "test")}
    ids, titles, abstracts = load_corpus(folder)
    bm25 = BM25Index.build(ids, [f"{t} {a}".strip() for t, a in zip(titles, abstracts)])
    depth = 1000

    def runs_for(index: DenseIndex, split: str):
        qids = list(qrels[split])
        qv = index.encode_queries([queries[q] for q in qids])
        dense = dict(zip(qids, ({d: s for d, s in r} for r in index.search_vectors(qv, depth))))
        lex = dict(zip(qids, ({d: s for d, s in r} for r in bm25.search_many([queries[q] for q in qids],
                                                                                 depth))))
        return lex, dense

    def top(run: dict[str, dict[str, float]], n: int) -> dict[str, dict[str, float]]:
        return {q: dict(sorted(r.items(), key=lambda x: -x[1])[:n]) for q, r in run.items()}

    results = {}
    dense_runs = {}
    for variant in VARIANTS:
        index, build_s, cached = dense_index(folder, variant)
        print(f"dense variant {variant}: n={len(index)} build {build_s:.1f}s cached={cached}")
        for split in ("train", "test"):
            lex, dense = runs_for(index, split)
            dense_runs[(variant, split)] = (lex, dense)
            m = evaluate_run(qrels[split], top(dense, 100))
            results[("dense", variant, split)] = m
            print(f"  dense[{variant}] {split}: {m}")
    best_variant = max(VARIANTS, key=lambda v: results[("dense", v, "train")]["ndcg@10"])
    print(f"best dense text variant on TRAIN: {best_variant}")

    for split in ("train", "test"):
        lex, _ = dense_runs[(best_variant, split)]
        print(f"bm25 {split}: {evaluate_run(qrels[split], top(lex, 100))}")

    # fusion on TRAIN
    tune = {}
    for n in (100, 1000):
        lex, dense = dense_runs[(best_variant, "train")]
        lex_n, dense_n = top(lex, n), top(dense, n)
        fused = {q: rrf([lex_n[q], dense_n[q]]) for q in lex}
        tune[("rrf", n, None)] = evaluate_run(qrels["train"], top(fused, 100))["ndcg@10"]
        for alpha in np.round(np.arange(0.0, 1.0001, 0.05), 2):
            fused = {q: convex([lex_n[q], dense_n[q]], [1 - alpha, alpha]) for q in lex}
            tune[("convex", n, float(alpha))] = evaluate_run(qrels["train"], top(fused, 100))["ndcg@10"]
    for key, val in sorted(tune.items(), key=lambda kv: -kv[1])[:8]:
        print(f"  TRAIN fusion {key}: ndcg@10={val:.4f}")
    print(f"  TRAIN rrf N=100: {tune[('rrf', 100, None)]:.4f}  N=1000: {tune[('rrf', 1000, None)]:.4f}")
    best_convex = max((k for k in tune if k[0] == "convex"), key=lambda k: tune[k])
    best_rrf = max((k for k in tune if k[0] == "rrf"), key=lambda k: tune[k])
    print(f"best convex on TRAIN: {best_convex} {tune[best_convex]:.4f}; best rrf: {best_rrf} "
          f"{tune[best_rrf]:.4f}")

    lex, dense = dense_runs[(best_variant, "test")]
    for method, n, alpha in (best_rrf, best_convex):
        lex_n, dense_n = top(lex, n), top(dense, n)
        if method == "rrf":
            fused = {q: rrf([lex_n[q], dense_n[q]]) for q in lex}
        else:
            fused = {q: convex([lex_n[q], dense_n[q]], [1 - alpha, alpha]) for q in lex}
        print(f"TEST hybrid {method} N={n} alpha={alpha}: {evaluate_run(qrels['test'], top(fused, 100))}")


if __name__ == "__main__":
    main()
