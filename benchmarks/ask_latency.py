"""``serendip ask`` latency on SciFact: passages embedded per question vs read from stored passage vectors.

Workspace: the SciFact corpus of the mirror (BEIR layout, 5,183 abstracts) ingested and indexed (BM25 +
dense, ``--encoder``, default onnx), then ``Workspace.index(passage_vectors=True)``: the passage index
(pySBD sentences) and every passage's embedding by the same encoder (its wall time is a row). Questions:
``--questions`` SciFact TRAIN claims (seed 0; never dev or test), asked with the extractive backend and
no verifier (``verifier=None``: the latency of retrieval + passage scoring + MMR, which is what the
stored vectors change). Both ways are timed per question in turn, after one warm-up question each;
p50/p95 of the whole ``ask`` call, and whether both gave the same answer sentences.

Baseline: the same ``ask`` with the stored vectors ignored (every passage of the top-``k`` records
embedded per question, as without ``--passage-vectors``).

Run of 2026-12-05 (2 cores shared with other jobs, load about 7; onnx encoder, k=10, 50 train claims):
p50 22 ms (p95 40) with stored vectors against 701 ms (p95 1,452) embedding per question, the same
answer sentences for 50 of 50. Storing the vectors (``serendip index --passage-vectors``): 50,749
passages in 308.5 s at load about 9 (run through the CLI on the same workspace before this script reused it).

Usage::

    SERENDIP_DATA_MIRROR=/work/shared/data python benchmarks/ask_latency.py [--workdir DIR] [--no-write]
"""
from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _rows  # noqa: E402

BENCH = "ask_latency"


def _claims(n: int) -> list[str]:
    """``n`` SciFact train claims (seed 0)."""
    import gzip
    import json

    from serendip import datasets

    files = datasets.resolve("scifact-claims")
    path = files["scifact/claims/claims_train.jsonl"]
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as fh:
        claims = [json.loads(line)["claim"] for line in fh if line.strip()]
    return random.Random(0).sample(claims, n)


def workspace(workdir: Path, encoder: str):
    """The indexed SciFact workspace in ``workdir`` (made when absent) and the passage vectors' seconds."""
    from serendip import datasets
    from serendip.workbench import Workspace

    path = workdir / "ws"
    ws = Workspace.open(path) if path.exists() else Workspace.init(path)
    ws.ingest([datasets.resolve("scifact")["scifact/corpus.jsonl.gz"]], fmt="beir")
    ws.index(encoder=encoder)
    t = time.perf_counter()
    rep = ws.index(encoder=encoder, passage_vectors=True).passage_vectors
    print(f"passage vectors: {rep.passages:,} passages of {rep.records:,} records, {rep.embedded_passages:,} "
          f"embedded now in {time.perf_counter() - t:.1f} s", flush=True)
    return ws, rep


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workdir", type=Path, default=None, help="reuse the workspace there (default: a temp folder)")
    ap.add_argument("--encoder", default="onnx")
    ap.add_argument("--questions", type=_rows.positive_int, default=50)
    ap.add_argument("-k", type=_rows.positive_int, default=10)
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()
    from serendip.evidence import answer

    t_all = time.perf_counter()
    ws, built = workspace(args.workdir or Path(tempfile.mkdtemp(prefix="ask_latency-")), args.encoder)
    questions = _claims(args.questions + 1)
    stored_fn = answer._passage_vectors
    ways = {"stored": stored_fn, "embedded": lambda ws, dense: None}
    for fn in ways.values():  # warm-up: models loaded, files mapped
        answer._passage_vectors = fn
        answer.ask(ws, questions[0], k=args.k, verifier=None)
    times: dict[str, list[float]] = {w: [] for w in ways}
    same = 0
    for q in questions[1:]:
        got = {}
        for way, fn in ways.items():
            answer._passage_vectors = fn
            t = time.perf_counter()
            got[way] = [s["text"] for s in answer.ask(ws, q, k=args.k, verifier=None).to_dict()["sentences"]]
            times[way].append(time.perf_counter() - t)
        same += got["stored"] == got["embedded"]
    answer._passage_vectors = stored_fn
    load = os.getloadavg()[0]
    n = len(questions) - 1

    def pct(v, p):
        return 1000 * statistics.quantiles(v, n=100)[p - 1] if len(v) > 1 else 1000 * v[0]

    settings = {"encoder": args.encoder, "k": args.k, "backend": "extractive", "verifier": "none",
                "questions": "SciFact train claims (seed 0)", "load_avg_1min": round(load, 2)}
    rows = []
    for way, label in (("stored", "ask-stored-passage-vectors"), ("embedded", "ask-embed-per-question")):
        p50, p95 = pct(times[way], 50), pct(times[way], 95)
        print(f"{label}: p50 {p50:.0f} ms, p95 {p95:.0f} ms over {n} questions", flush=True)
        base = None if way == "embedded" else ("ask-embed-per-question", pct(times["embedded"], 50))
        rows += [_rows.row(BENCH, "scifact", "train-claims", n, label, "latency_p50_ms", p50, settings=settings,
                           baseline=base),
                 _rows.row(BENCH, "scifact", "train-claims", n, label, "latency_p95_ms", p95, settings=settings)]
    rows.append(_rows.row(BENCH, "scifact", "train-claims", n, "ask-stored-passage-vectors", "same_answer_share",
                          same / n, settings=settings))
    if built.embedded_passages == built.passages:  # built here, not kept from an earlier run
        rows.append(_rows.row(BENCH, "scifact", "corpus", built.records, "serendip-index-passage-vectors",
                              "build_s", built.seconds, settings={"encoder": args.encoder, "passages": built.passages},
                              wall_s=built.seconds))
    print(f"same answer sentences {same}/{n}; load average {load:.2f}", flush=True)
    ws.close()
    _rows.finish(BENCH, rows, time.perf_counter() - t_all, no_write=args.no_write)


if __name__ == "__main__":
    _rows.run_main(main)
