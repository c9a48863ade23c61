"""Dense encoders side by side on SciFact: documents/s, cosine to the PyTorch vectors, nDCG@10.

Every registered encoder (:data:`serendip.retrieval.encoders.ENCODERS`: ``torch`` = sentence-transformers
on PyTorch, today's path; ``onnx`` = ONNX Runtime fp32; ``onnx-int8`` = dynamic int8; ``openvino-int8`` =
OpenVINO static int8, when the ``openvino`` extra is installed) embeds the same
fixed sample of SciFact corpus documents (``--sample`` documents drawn with seed 0, text =
``title + " " + abstract`` as the dense index) with the same thread count (``--threads``, default 2; torch's intra-op pool is set to it and printed) and
batch size. The sample is cut into chunks and the encoders take turns on each chunk (rotating order),
so a load change on a shared machine falls on all of them alike; documents/s = sample size / summed
encode time, and the ratio to torch is the headline. The export (first use) and model load are timed
apart, after one warm-up batch, and not counted.

Quality: each encoder embeds the whole corpus (5,183 documents) and the 300 TEST claims; nDCG@10 of
exact cosine search (dense mode), beside torch's (``--no-torch-ndcg`` skips torch's full-corpus pass,
about 5 min on 2 cores) and the MTEB anchor. Also reported: the least and mean cosine of each encoder's
sample vectors to torch's.

Run of 2026-12-05 (2 threads, sample 1,000, batch 64; the machine shared with other jobs, load 4-10,
falling on every encoder alike through the turns): documents/s torch 16.4, onnx 37.0 (2.25x), onnx-int8
60.3 (3.67x), openvino-int8 131.6 (8.00x); least cosine to torch 1.00000 / 0.9904 / 0.9761; SciFact
test nDCG@10 torch 0.6451, onnx 0.6451, onnx-int8 0.6410, openvino-int8 0.6514 (MTEB anchor 0.6451).

Usage::

    SERENDIP_DATA_MIRROR=/work/shared/data python benchmarks/encoder_speed.py [--no-write]
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _rows  # noqa: E402
import _scifact_tune as sf  # noqa: E402

from serendip.retrieval.dense import DEFAULT_MODEL, DenseIndex, doc_text, resolve_model  # noqa: E402
from serendip.retrieval.encoders import ENCODERS, OnnxEncoder, TorchEncoder  # noqa: E402
from serendip.retrieval.evaluate import (  # noqa: E402
    ANCHORS,
    evaluate_run,
    load_beir_qrels,
    load_beir_queries,
    run_from_results,
)

BENCH = "encoder_speed"
MODEL = "all-MiniLM-L6-v2"


def make_encoder(name: str, folder: str, threads: int):
    """A fresh encoder ``name`` pinned to ``threads`` threads (torch's intra-op pool, or ONNX Runtime's)."""
    if name == "torch":
        import torch

        torch.set_num_threads(threads)
        print(f"torch: {torch.get_num_threads()} intra-op threads", flush=True)
        return TorchEncoder(folder)
    if name in ("onnx", "onnx-int8"):
        return OnnxEncoder(folder, "int8" if name.endswith("int8") else "fp32", threads=threads)
    if name == "openvino-int8":
        from serendip.retrieval.openvino_encoder import OpenVinoEncoder

        return OpenVinoEncoder(folder, threads=threads)
    return ENCODERS.get(name).load(folder)  # another registered backend, its own threading


def sample_texts(n: int, seed: int = 0) -> tuple[list[str], list[str]]:
    """(all corpus texts, a fixed sample of ``n`` of them), texts as the dense index embeds them."""
    ids, titles, abstracts = sf.load_corpus(sf.mirror())
    texts = [doc_text(t, a) or "" for t, a in zip(titles, abstracts)]
    pick = np.sort(np.random.default_rng(seed).choice(len(texts), size=min(n, len(texts)), replace=False))
    return texts, [texts[i] for i in pick]


def time_side_by_side(encoders: dict, texts: list[str], chunk: int, batch_size: int):
    """Encode ``texts`` with every encoder, chunk by chunk in rotating order.

    Returns ({name: summed seconds}, {name: float32 array (len(texts), dim)}).
    """
    names = list(encoders)
    seconds = dict.fromkeys(names, 0.0)
    parts: dict[str, list[np.ndarray]] = {n: [] for n in names}
    for k, start in enumerate(range(0, len(texts), chunk)):
        part = texts[start:start + chunk]
        for name in names[k % len(names):] + names[:k % len(names)]:
            t = time.perf_counter()
            vecs = np.asarray(encoders[name].encode(part, batch_size), dtype=np.float32)
            seconds[name] += time.perf_counter() - t
            parts[name].append(vecs)
        print(f"  chunk {k + 1}: " + ", ".join(f"{n} {(start + len(part)) / seconds[n]:.1f} docs/s"
                                              for n in names), flush=True)
    return seconds, {n: np.vstack(v) for n, v in parts.items()}


def ndcg_of(encoder, batch_size: int) -> tuple[float, float, int]:
    """(SciFact TEST nDCG@10 of dense search with ``encoder``, seconds to embed the corpus, queries)."""
    folder = sf.mirror()
    ids, titles, abstracts = sf.load_corpus(folder)
    queries = load_beir_queries(folder / "queries.jsonl")
    qrels = load_beir_qrels(folder / "qrels" / "test.tsv")
    qids = list(qrels)
    index = DenseIndex(encoder=lambda texts, bs: encoder.encode(texts, bs))
    t = time.perf_counter()
    index.add(ids, titles, abstracts, batch_size=batch_size)
    build_s = time.perf_counter() - t
    results = index.search_vectors(index.encode_queries([queries[q] for q in qids]), 100)
    return evaluate_run(qrels, run_from_results(qids, results))["ndcg@10"], build_s, len(qids)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sample", type=int, default=1000, help="corpus documents timed (seed 0)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch-size", type=int, default=64, help="as `serendip index`")
    ap.add_argument("--chunk", type=int, default=250, help="documents per turn of each encoder")
    ap.add_argument("--encoders", default=",".join(n for n, _ in ENCODERS.canonical_items()))
    ap.add_argument("--no-ndcg", action="store_true", help="skip the full-corpus nDCG@10 passes")
    ap.add_argument("--no-torch-ndcg", action="store_true", help="skip torch's full-corpus pass (~5 min)")
    ap.add_argument("--no-write", action="store_true", help="print only (e.g. on a contended machine)")
    args = ap.parse_args()
    t_all = time.perf_counter()
    names = [n.strip() for n in args.encoders.split(",") if n.strip()]
    if "torch" not in names:
        sys.exit("--encoders must include torch (the reference)")
    folder = resolve_model(DEFAULT_MODEL)
    corpus, sample = sample_texts(args.sample)
    settings = {"model": MODEL, "threads": args.threads, "batch_size": args.batch_size}

    encoders, load_s = {}, {}
    for name in names:
        t = time.perf_counter()
        encoders[name] = make_encoder(name, folder, args.threads)
        encoders[name].encode(sample[:args.batch_size], args.batch_size)  # warm-up
        load_s[name] = time.perf_counter() - t
        print(f"{name}: export/load + warm-up {load_s[name]:.1f} s", flush=True)
    seconds, vecs = time_side_by_side(encoders, sample, args.chunk, args.batch_size)
    rate = {n: len(sample) / s for n, s in seconds.items()}
    rows = []
    for name in names:
        cos = (vecs[name] * vecs["torch"]).sum(axis=1)
        print(f"{name}: {rate[name]:.1f} docs/s ({rate[name] / rate['torch']:.2f}x torch); cosine to torch "
              f"min {cos.min():.5f} mean {cos.mean():.5f}")
        s = {**settings, "encoder": name}
        base = None if name == "torch" else ("encoder-torch", rate["torch"])
        rows.append(_rows.row(BENCH, "scifact", "corpus-sample", len(sample), f"encoder-{name}", "docs_per_s",
                              rate[name], settings=s, baseline=base, wall_s=seconds[name]))
        if name != "torch":
            rows.append(_rows.row(BENCH, "scifact", "corpus-sample", len(sample), f"encoder-{name}",
                                  "speedup_vs_torch", rate[name] / rate["torch"], settings=s))
            rows.append(_rows.row(BENCH, "scifact", "corpus-sample", len(sample), f"encoder-{name}",
                                  "min_cosine_vs_torch", float(cos.min()), settings=s))
    if not args.no_ndcg:
        anchor = ANCHORS[MODEL]
        ndcg, build_s = {}, {}
        for name in sorted(names, key=lambda n: -rate[n]):  # fastest first: a cut-short run says most
            if name == "torch" and args.no_torch_ndcg:
                continue
            ndcg[name], build_s[name], n_queries = ndcg_of(encoders[name], args.batch_size)
            print(f"{name}: SciFact test nDCG@10 {ndcg[name]:.4f} (corpus of {len(corpus)} embedded in "
                  f"{build_s[name]:.0f} s, {len(corpus) / build_s[name]:.1f} docs/s)", flush=True)
        for name in ndcg:
            base = ("encoder-torch", ndcg["torch"]) if name != "torch" and "torch" in ndcg else None
            rows.append(_rows.row(BENCH, "scifact", "test", n_queries, f"encoder-{name}", "ndcg@10", ndcg[name],
                                  settings={**settings, "encoder": name}, baseline=base,
                                  anchor=(MODEL, anchor["value"], anchor["source"]), wall_s=build_s[name]))
    _rows.finish(BENCH, rows, time.perf_counter() - t_all, no_write=args.no_write)


if __name__ == "__main__":
    main()
