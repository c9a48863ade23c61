"""Cold BM25 search: ``serendip search --mode bm25`` in a fresh process against a bare bm25s script.

Both run the same query over the same workspace's BM25 index, each in a fresh Python process, timed
from process start to exit (wall, ``time.perf_counter`` around ``subprocess.run``); the two alternate,
``--repeats`` times each (default 5), and the median of each is reported with their ratio.

- serendip: ``python -m serendip.cli.app search QUERY --mode bm25 -k 10 --json -w WS`` (opens the
  workspace and its database, checks the schema and the index's freshness, prints the 10 hits with
  their display fields).
- bare bm25s: ``import bm25s``, ``bm25s.BM25.load(WS/indexes/bm25)``, the query lower-cased, split into
  words and Snowball-stemmed (PyStemmer), ``get_scores_from_ids``, top 10 by ``numpy.argsort``, ids
  printed (no database, so no titles: less work than the CLI).

Usage: ``python benchmarks/cold_start.py --workspace WS [--query TEXT] [--repeats 5]``; the workspace
needs a BM25 index (``serendip index``); SciFact: ``serendip demo`` writes one. ``--contended`` notes in
the rows that wall times were taken on a shared machine.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _rows  # noqa: E402

BARE = r"""
import json, re, sys
import numpy as np
import bm25s, Stemmer
folder, query = sys.argv[1], sys.argv[2]
retriever = bm25s.BM25.load(folder, show_progress=False)
ids = json.load(open(folder + "/ids.json"))
stem = Stemmer.Stemmer("english")
vocab = retriever.vocab_dict
tids = [vocab[t] for t in (stem.stemWord(w) for w in re.findall(r"\w+", query.lower())) if t in vocab]
scores = retriever.get_scores_from_ids(tids)
print(json.dumps([ids[i] for i in np.argsort(-scores)[:10].tolist()]))
"""


def timed(cmd: list[str], env: dict) -> float:
    t = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True, env=env)
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workspace", type=Path, required=True)
    ap.add_argument("--query", default="aspirin lowers the risk of colorectal cancer")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--contended", action="store_true")
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()
    ws = args.workspace.resolve()
    src = Path(__file__).resolve().parents[1] / "src"
    env = {**os.environ, "PYTHONPATH": str(src)}
    cli = [sys.executable, "-m", "serendip.cli.app", "search", args.query, "--mode", "bm25", "-k", "10",
           "--json", "-w", str(ws)]
    bare = [sys.executable, "-c", BARE, str(ws / "indexes" / "bm25"), args.query]
    timed(cli, env), timed(bare, env)  # warm the page cache and the .pyc files, not measured
    t_all = time.perf_counter()
    cli_s, bare_s = [], []
    for _ in range(args.repeats):
        cli_s.append(timed(cli, env))
        bare_s.append(timed(bare, env))
    med_cli, med_bare = statistics.median(cli_s), statistics.median(bare_s)
    print(f"serendip search --mode bm25: median {med_cli:.3f} s {[round(x, 3) for x in cli_s]}")
    print(f"bare bm25s script:           median {med_bare:.3f} s {[round(x, 3) for x in bare_s]}")
    print(f"ratio {med_cli / med_bare:.2f}")
    n_docs = sum(1 for _ in open(ws / "indexes" / "bm25" / "ids.json").read().split(","))
    settings = {"repeats": args.repeats, "k": 10}
    if args.contended:
        settings["wall_times"] = "contended (shared 2-core machine)"
    rows = [_rows.row("cold_start", ws.name, "all", n_docs, "serendip-search-bm25-cold", "wall_s_median", med_cli,
                      settings=settings, baseline=("bare-bm25s-script", med_bare), wall_s=med_cli),
            _rows.row("cold_start", ws.name, "all", n_docs, "serendip-search-bm25-cold", "ratio_vs_bare_bm25s",
                      med_cli / med_bare, settings=settings, baseline=("bare-bm25s-script", 1.0))]
    if not args.no_write:
        _rows.write("cold_start", rows, wall_s=time.perf_counter() - t_all)


if __name__ == "__main__":
    _rows.run_main(main)
