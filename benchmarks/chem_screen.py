"""Screening throughput, flat memory and resume-after-kill of ``serendip.chem.screen.screen_library``.

    SERENDIP_DATA_MIRROR=/work/shared/data python benchmarks/chem_screen.py [--sizes 100000,1000000] \\
        [--top 1000] [--chunk 5000] [--no-write]

Library: the SMILES of the MOSES files in the data mirror (``moses/train_subset_250k_seed0.csv.gz``, then
``test.csv.gz`` and ``test_scaffolds.csv.gz``; about 600k molecules), one ``SMILES<TAB>name`` line each,
**repeated from the start** when a size asks for more lines than that: repeated lines are duplicates
(parsed, standardised and counted, not predicted), and the row's ``settings.unique_lines`` says how many
lines were unique. Files are built once under ``$SERENDIP_CACHE/chem_screen``. Model: a random forest on
Morgan bits (``rf-morgan``) trained on ESOL (``moleculenet/delaney-processed.csv``, random split, seed 0),
also cached there. No per-SMILES cache is used: every line is parsed and standardised.

Per size, each run in its own process (peak RSS is the child's ``ru_maxrss``): an uninterrupted run
(lines/s of wall time and of CPU time, peak RSS), then, at the largest size, a run killed with SIGKILL
once half the lines are done and resumed in a new process; ``resume_equal`` is 1 when its
candidates.csv, issues.csv, duplicates.csv and counts equal the uninterrupted run's. Rows go to
``benchmarks/results/chem_screen.json`` (RESULTS.md is not regenerated here).
"""
from __future__ import annotations

import argparse
import gzip
import json
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _rows  # noqa: E402

BENCH = "chem_screen"
HERE = Path(__file__).resolve().parent
MOSES = ("train_subset_250k_seed0.csv.gz", "test.csv.gz", "test_scaffolds.csv.gz")
ESOL = ("moleculenet/delaney-processed.csv", "measured log solubility in mols per litre")


def cache() -> Path:
    base = os.environ.get("SERENDIP_CACHE", "").strip()
    root = Path(base).expanduser() if base else Path.home() / ".cache" / "serendip"
    (root / BENCH).mkdir(parents=True, exist_ok=True)
    return root / BENCH


def mirror() -> Path:
    from serendip.errors import DatasetNotFound

    root = os.environ.get("SERENDIP_DATA_MIRROR", "").strip()
    if not root or not (Path(root) / "moses").is_dir():
        raise DatasetNotFound("set SERENDIP_DATA_MIRROR to a folder holding moses/ and moleculenet/ "
                              "(../shared/data)")
    return Path(root)


def library(n: int) -> tuple[Path, int]:
    """A file of ``n`` lines (built once) and the number of unique SMILES lines in it."""
    pool: list[str] = []
    for name in MOSES:
        with gzip.open(mirror() / "moses" / name, "rt") as fh:
            pool += [ln.split(",")[0].strip() for ln in fh.read().splitlines()[1:] if ln.strip()]
    path = cache() / f"library-{n}.smi"
    if not path.exists():
        tmp = path.with_suffix(".tmp")
        with tmp.open("w") as fh:
            for i in range(n):
                fh.write(f"{pool[i % len(pool)]}\tmoses{i % len(pool)}\n")
        tmp.replace(path)
    return path, min(n, len(set(pool)))


def model() -> Path:
    folder = cache() / "esol-rf-morgan"
    if not (folder / "model.json").exists():
        from serendip.chem.api import train

        train(mirror() / ESOL[0], ESOL[1], model="rf-morgan", split="random", seed=0, out=folder)
    return folder


def child(args) -> None:
    """One screening run in this process; prints a JSON line (report counts, wall, CPU, peak RSS)."""
    import resource
    import signal

    from serendip.chem.screen import screen_library

    def maybe_kill(p: dict) -> None:
        if args.kill_at and p["lines"] >= args.kill_at:
            os.kill(os.getpid(), signal.SIGKILL)

    t, cpu = time.perf_counter(), time.process_time()
    rep = screen_library(args.model, args.lib, args.out, top_k=args.top, chunk_size=args.chunk, write_sdf=False,
                         progress=maybe_kill, resume=not args.fresh)
    print(json.dumps({"counts": rep.counts, "wall_s": time.perf_counter() - t, "cpu_s": time.process_time() - cpu,
                      "lines_this_run": rep.counts["lines"] - (rep.resumed_at_line or 0),
                      "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))


def run_child(model_dir: Path, lib: Path, out: Path, top: int, chunk: int, kill_at: int = 0,
              fresh: bool = True) -> dict | None:
    """One screening process: a fresh run (``fresh``; killed at ``kill_at`` lines when > 0) or a resume."""
    cmd = [sys.executable, __file__, "--child", "--model", str(model_dir), "--lib", str(lib), "--out", str(out),
           "--top", str(top), "--chunk", str(chunk), "--kill-at", str(kill_at)] + (["--fresh"] if fresh else [])
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if kill_at:
        if proc.returncode != -9:
            raise RuntimeError(f"the run to be killed ended with status {proc.returncode}: {proc.stderr[-2000:]}")
        return None
    if proc.returncode != 0:
        raise RuntimeError(f"screening run failed ({proc.returncode}): {proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def same_result(a: Path, b: Path) -> bool:
    names = ("candidates.csv", "issues.csv", "duplicates.csv")
    counts = [json.loads((d / "report.json").read_text())["counts"] for d in (a, b)]
    return counts[0] == counts[1] and all((a / n).read_bytes() == (b / n).read_bytes() for n in names)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--sizes", type=_rows.int_list, default=[100_000, 1_000_000])
    p.add_argument("--top", type=_rows.positive_int, default=1000)
    p.add_argument("--chunk", type=_rows.positive_int, default=5000)
    p.add_argument("--no-write", action="store_true")
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--model", help=argparse.SUPPRESS)
    p.add_argument("--lib", help=argparse.SUPPRESS)
    p.add_argument("--out", help=argparse.SUPPRESS)
    p.add_argument("--kill-at", type=int, default=0, help=argparse.SUPPRESS)
    p.add_argument("--fresh", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        return child(args)
    t0, rows = time.perf_counter(), []
    model_dir = model()
    settings = {"model": "rf-morgan (ESOL, random split seed 0)", "top_k": args.top, "chunk_size": args.chunk}
    for n in sorted(args.sizes):
        lib, unique = library(n)
        whole = cache() / f"out-{n}-whole"
        got = run_child(model_dir, lib, whole, args.top, args.chunk)
        s = {**settings, "lines": n, "unique_lines": unique}
        common = {"settings": s, "wall_s": got["wall_s"], "peak_rss_mb": got["peak_rss_mb"], "seed": None}
        rows.append(_rows.row(BENCH, "moses-smiles", "all", n, "screen_library", "lines_per_s",
                              got["lines_this_run"] / got["wall_s"], **common))
        rows.append(_rows.row(BENCH, "moses-smiles", "all", n, "screen_library", "lines_per_cpu_s",
                              got["lines_this_run"] / got["cpu_s"], **common))
        rows.append(_rows.row(BENCH, "moses-smiles", "all", n, "screen_library", "peak_rss_mb",
                              got["peak_rss_mb"], **common))
        print(f"{n:,} lines: {got['lines_this_run'] / got['wall_s']:,.0f} lines/s wall, "
              f"{got['lines_this_run'] / got['cpu_s']:,.0f} lines/CPU-s, peak RSS {got['peak_rss_mb']:.0f} MB, "
              f"counts {got['counts']}", flush=True)
    cut = cache() / f"out-{n}-cut"
    run_child(model_dir, lib, cut, args.top, args.chunk, kill_at=n // 2)
    resumed = run_child(model_dir, lib, cut, args.top, args.chunk, fresh=False)
    equal = same_result(whole, cut)
    rows.append(_rows.row(BENCH, "moses-smiles", "all", n, "screen_library (killed at 50%, resumed)",
                          "resume_equal", float(equal), settings=s, seed=None, wall_s=resumed["wall_s"],
                          peak_rss_mb=resumed["peak_rss_mb"]))
    print(f"killed at {n // 2:,} lines, resumed: {'same' if equal else 'DIFFERENT'} result as the uninterrupted run")
    print(f"total {time.perf_counter() - t0:.0f} s")
    if not args.no_write:
        path = HERE / "results" / f"{BENCH}.json"
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_text(_rows.dump_rows(rows), encoding="utf-8")
        tmp.replace(path)


if __name__ == "__main__":
    _rows.run_main(main)
