"""Benchmark rows in the format of ../shared/DESIGN.md, shared by every script in benchmarks/.

``row(...)`` builds one row; ``write(script, rows)`` merges the rows into
``benchmarks/results/<script>.json`` (a row replaces the stored row with the same dataset, split, method and
metric; rows of other datasets or methods are kept, so a run on one task does not erase another task's
figures) and appends the rows as a table to ``benchmarks/RESULTS.md``.
"""
from __future__ import annotations

import datetime as _dt
import json
import os
import resource
import subprocess
from pathlib import Path

HERE = Path(__file__).resolve().parent


def git_sha() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=HERE, capture_output=True,
                              text=True, check=True).stdout.strip()
    except Exception:  # noqa: BLE001 - not a git checkout
        return "unknown"


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far, in MiB (Linux ru_maxrss is in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def hardware() -> str:
    return f"{os.cpu_count()} CPU cores"


def row(benchmark: str, dataset: str, split: str, n: int, method: str, metric: str, value: float, *,
        baseline: tuple[str, float] | None = None, anchor: tuple[str, float, str] | None = None,
        seed: int = 0, wall_s: float | None = None, peak_rss_mb: float | None = None) -> dict:
    """One result row; ``baseline`` = (method, value) run in the same script; ``anchor`` = (name, value,
    source) of a published figure, or None where none is published."""
    return {
        "benchmark": benchmark, "dataset": dataset, "split": split, "n": n, "method": method,
        "metric": metric, "value": round(float(value), 4), "seed": seed,
        "baseline": None if baseline is None else {"method": baseline[0], "value": round(float(baseline[1]), 4)},
        "anchor": None if anchor is None else {"name": anchor[0], "value": anchor[1], "source": anchor[2]},
        "hardware": hardware(), "wall_s": None if wall_s is None else round(wall_s, 2),
        "peak_rss_mb": round(peak_rss_mb if peak_rss_mb is not None else globals()["peak_rss_mb"](), 1),
        "commit": git_sha(), "date": _dt.date.today().isoformat(),
    }


def row_key(r: dict) -> tuple:
    """The identity of a row in results/<script>.json: (dataset, split, method, metric)."""
    return (r["dataset"], r["split"], r["method"], r["metric"])


def merge_rows(old: list[dict], new: list[dict]) -> list[dict]:
    """``old`` with every row whose :func:`row_key` is in ``new`` replaced, then the other new rows
    appended (order of first appearance kept)."""
    fresh = {row_key(r): r for r in new}
    out = [fresh.pop(row_key(r), r) for r in old]
    return out + [r for r in new if row_key(r) in fresh]


def write(script: str, rows: list[dict], wall_s: float | None = None) -> None:
    """Merge the rows into results/<script>.json (see :func:`merge_rows`) and append them to RESULTS.md.

    Raises ValueError when the stored JSON is not a list of rows (it is never overwritten then)."""
    (HERE / "results").mkdir(exist_ok=True)
    path = HERE / "results" / f"{script}.json"
    old = json.loads(path.read_text(encoding="utf-8")) if path.exists() else []
    if not isinstance(old, list):
        raise ValueError(f"{path}: expected a JSON list of benchmark rows; not overwriting it")
    path.write_text(json.dumps(merge_rows(old, rows), indent=2) + "\n", encoding="utf-8")
    md = HERE / "RESULTS.md"
    if not md.exists():
        md.write_text("# Benchmark results\n\nRows are appended by the scripts in this folder; "
                      "`results/<script>.json` holds the latest run of each.\n", encoding="utf-8")
    lines = [f"\n## {script} — {rows[0]['date'] if rows else ''} — commit {git_sha()} — {hardware()}"
             + (f" — {wall_s:.0f} s" if wall_s else "") + "\n",
             "| dataset | split | n | method | metric | value | seed | baseline | anchor | wall_s | peak RSS MB |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        b = f"{r['baseline']['method']}: {r['baseline']['value']}" if r["baseline"] else "-"
        a = f"{r['anchor']['name']}: {r['anchor']['value']} ({r['anchor']['source']})" if r["anchor"] else "-"
        lines.append(f"| {r['dataset']} | {r['split']} | {r['n']} | {r['method']} | {r['metric']} | "
                     f"{r['value']} | {r['seed']} | {b} | {a} | {r['wall_s']} | {r['peak_rss_mb']} |")
    with md.open("a", encoding="utf-8") as fh:
        fh.write("\n".join(lines) + "\n")
