"""Benchmark rows in the format of ../shared/DESIGN.md, shared by every script in benchmarks/.

``row(...)`` builds one row; ``write(script, rows)`` merges the rows into
``benchmarks/results/<script>.json`` (a run's rows replace the stored rows with the same dataset, split,
method, metric, seed and n; other rows are kept, so a run on one task does not erase another task's
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
    """The identity of a row in results/<script>.json: (dataset, split, method, metric, seed, n)."""
    return (r["dataset"], r["split"], r["method"], r["metric"], r.get("seed"), r.get("n"))


def merge_rows(old: list[dict], new: list[dict]) -> list[dict]:
    """``old`` without the rows whose :func:`row_key` occurs in ``new``, then every row of ``new``
    (a run's rows replace all stored rows with the same keys, and none of its rows is dropped)."""
    fresh = {row_key(r) for r in new}
    return [r for r in old if row_key(r) not in fresh] + list(new)


def read_rows(path: Path) -> list[dict]:
    """The rows of a results/<script>.json ([] when it does not exist). Raises ValueError naming the
    file when it is not a JSON list of rows with the keys :func:`row_key` reads and a finite number
    (not a bool) as ``value``."""
    import math

    if not path.exists():
        return []
    try:
        rows = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(rows, list):
        raise ValueError(f"{path}: expected a JSON list of benchmark rows")  # noqa: TRY004 - a bad file
    for i, r in enumerate(rows):
        if not (isinstance(r, dict) and {"dataset", "split", "method", "metric", "value"} <= set(r)):
            raise ValueError(f"{path}: row {i} is not a benchmark row (dataset, split, method, metric, value)")
        v = r["value"]
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            raise ValueError(f"{path}: row {i} ({r['method']!r}, {r['metric']!r}) has value {v!r}, not a finite number")
    return rows


def dump_rows(rows: list[dict]) -> str:
    """The text of a results/<script>.json: a JSON list with one compact row per line (about 0.6 of
    the size of indented JSON, and a new run's rows are whole lines in a diff)."""
    return "[\n" + ",\n".join(json.dumps(r, ensure_ascii=False, separators=(",", ":")) for r in rows) + "\n]\n"


def write(script: str, rows: list[dict], wall_s: float | None = None) -> None:
    """Merge the rows into results/<script>.json (see :func:`merge_rows`) and append them to RESULTS.md,
    holding an exclusive lock on ``results/.write.lock`` (POSIX ``flock``) meanwhile. RESULTS.md is
    first moved to ``results/archive/RESULTS-NNN.md`` when the new table would take it past
    :data:`MAX_FILE_BYTES`; a JSON past it is written with a warning on stderr.

    Raises ValueError when ``rows`` is empty or holds a non-finite value, or the stored JSON is not a
    list of rows (see :func:`read_rows`); nothing is written then. The JSON is replaced atomically
    (written to a temporary file, then renamed)."""
    if not rows:
        raise ValueError(f"{script}: no result rows to write (nothing was run)")
    import math

    bad = [f"{r['method']!r} {r['metric']!r} = {r['value']!r}" for r in rows
           if not isinstance(r["value"], (int, float)) or not math.isfinite(r["value"])]
    if bad:  # NaN / inf are not JSON, and a reader could not tell them from a figure
        raise ValueError(f"{script}: {len(bad)} row(s) without a finite value, nothing written: {'; '.join(bad[:3])}")
    import fcntl

    (HERE / "results").mkdir(exist_ok=True)
    # runs often end side by side (seeds in parallel): one writer at a time, so the read-merge-replace
    # below never loses the other run's rows and RESULTS.md is appended and rotated whole
    with (HERE / "results" / ".write.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        _write_locked(script, rows, wall_s)


def _write_locked(script: str, rows: list[dict], wall_s: float | None) -> None:
    path = HERE / "results" / f"{script}.json"
    try:
        old = read_rows(path)
    except ValueError as exc:
        raise ValueError(f"{exc}; not overwriting it") from None
    tmp = path.with_name(f".{path.name}.tmp")
    text = dump_rows(merge_rows(old, rows))
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
    if len(text.encode()) > MAX_FILE_BYTES:
        import sys

        print(f"WARNING: {path} is now {len(text.encode()):,} bytes, over the {MAX_FILE_BYTES:,} "
              "bytes kept per committed file: drop superseded rows before committing it", file=sys.stderr)
    md = HERE / "RESULTS.md"
    lines = _md_table(script, rows, wall_s)
    if md.exists() and md.stat().st_size + len(lines.encode()) > MAX_FILE_BYTES - len(_MD_HEADER.encode()):
        import re

        archive = HERE / "results" / "archive"
        archive.mkdir(exist_ok=True)
        taken = [int(m.group(1)) for f in archive.iterdir() if (m := re.fullmatch(r"RESULTS-(\d+)\.md", f.name))]
        target = archive / f"RESULTS-{max(taken, default=0) + 1:03d}.md"  # never an existing name
        md.replace(target)
    if not md.exists():
        md.write_text(_MD_HEADER, encoding="utf-8")
    with md.open("a", encoding="utf-8") as fh:
        fh.write(lines)


_MD_HEADER = ("# Benchmark results\n\nRows are appended by the scripts in this folder; `results/<script>.json` "
              "holds the latest run of each; older tables are in `results/archive/RESULTS-NNN.md`.\n")


#: Largest committed results file (bytes): RESULTS.md is moved to results/archive/ before it would
#: pass this; a results/<script>.json past it gets a warning (it holds the latest row of every key)
MAX_FILE_BYTES = 900_000


def _md_table(script: str, rows: list[dict], wall_s: float | None) -> str:
    """The RESULTS.md section of one run: a heading (script, date, commit, hardware, wall s), a table."""
    lines = [f"\n## {script} — {rows[0]['date'] if rows else ''} — commit {git_sha()} — {hardware()}"
             + (f" — {wall_s:.0f} s" if wall_s else "") + "\n",
             "| dataset | split | n | method | metric | value | seed | baseline | anchor | wall_s | peak RSS MB |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        b = f"{r['baseline']['method']}: {r['baseline']['value']}" if r["baseline"] else "-"
        a = f"{r['anchor']['name']}: {r['anchor']['value']} ({r['anchor']['source']})" if r["anchor"] else "-"
        lines.append(f"| {r['dataset']} | {r['split']} | {r['n']} | {r['method']} | {r['metric']} | "
                     f"{r['value']} | {r['seed']} | {b} | {a} | {r['wall_s']} | {r['peak_rss_mb']} |")
    return "\n".join(lines) + "\n"


def positive_int(text: str) -> int:
    """argparse type: an integer >= 1 (``--subset 0`` would otherwise mean "everything")."""
    import argparse

    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def seed(text: str) -> int:
    """argparse type: a seed, a whole number in 0 .. 2**32 - 1 (numpy's and torch's range)."""
    import argparse

    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if not 0 <= value <= 2**32 - 1:
        raise argparse.ArgumentTypeError(f"a seed must be between 0 and 2**32 - 1, got {value}")
    return value


def int_list(text: str) -> list[int]:
    """argparse type: comma-separated distinct whole numbers >= 0 (seeds ``0,1,2``, grid indices),
    at least one; an empty item (``1,,2``) or a repeated one is refused, not dropped."""
    import argparse

    parts = [p.strip() for p in text.split(",")]
    if parts == [""]:
        raise argparse.ArgumentTypeError("expected at least one number")
    if "" in parts:
        raise argparse.ArgumentTypeError(f"empty item in {text!r}")
    values = [seed(p) for p in parts]
    repeated = sorted({v for v in values if values.count(v) > 1})
    if repeated:
        raise argparse.ArgumentTypeError(f"{repeated[0]} is given twice in {text!r}")
    return values


def finish(script: str, rows: list[dict], wall_s: float, *, no_write: bool = False) -> None:
    """The end of a benchmark run: print the total wall time (seconds) and peak RSS (MiB), then
    :func:`write` the rows unless ``no_write`` (``--no-write``: print only)."""
    print(f"total {wall_s:.0f} s, peak RSS {peak_rss_mb():.0f} MB")
    if not no_write:
        write(script, rows, wall_s=wall_s)


class UsageError(Exception):
    """A bad command-line choice found after parsing (unknown task, method or arm)."""


def run_main(main) -> None:
    """Call a script's ``main()``; a Serendip error (missing data mirror, bad dataset file, bad
    config) or a :class:`UsageError` ends the script with its one-line message on stderr and exit
    status 2 (as argparse's own errors), not a traceback. Other exceptions propagate (they are bugs
    and keep their traceback)."""
    import sys

    from serendip.errors import SerendipError

    try:
        main()
    except (SerendipError, UsageError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


def paired_bootstrap(metric, y_true, preds_a, preds_b, *, n_boot: int = 2000, seed: int = 0
                     ) -> dict[str, float]:
    """Paired percentile bootstrap over the evaluation rows of ``B - A``, where ``A`` is the mean of
    ``metric(y, p)`` over the arrays ``p`` in ``preds_a`` (e.g. the baseline; one array, or one per
    seed) and ``B`` the same over ``preds_b`` (the method, one array per training seed).

    ``y_true`` and every prediction array have shape (n,); ``metric(y, p) -> float`` (e.g.
    ``sklearn.metrics.matthews_corrcoef``). Each of ``n_boot`` resamples draws n row indices with
    replacement (numpy ``default_rng(seed)``) and scores every array on the same rows, so the spread is
    that of the test sample with the training seeds held fixed (Efron & Tibshirani 1993, ch. 13;
    paired, as in Koehn 2004). Returns ``diff`` (B - A on all rows), ``ci95_low`` / ``ci95_high`` (2.5th
    / 97.5th percentiles of the resampled differences) and ``frac_not_higher`` (share of resamples with
    B - A <= 0, a one-sided bootstrap p-value). Raises ValueError on empty or mismatched inputs."""
    import numpy as np

    y = np.asarray(y_true)
    groups = [[np.asarray(p) for p in preds] for preds in (preds_a, preds_b)]
    if not len(y) or not all(groups) or any(p.shape != y.shape for g in groups for p in g):
        raise ValueError(f"paired_bootstrap: need predictions of shape {y.shape} in both groups")

    def diff(idx):
        a, b = (float(np.mean([metric(y[idx], p[idx]) for p in g])) for g in groups)
        return b - a

    rng = np.random.default_rng(seed)
    boots = np.array([diff(rng.integers(0, len(y), len(y))) for _ in range(n_boot)])
    low, high = np.percentile(boots, [2.5, 97.5])
    return {"diff": diff(np.arange(len(y))), "ci95_low": float(low), "ci95_high": float(high),
            "frac_not_higher": float(np.mean(boots <= 0))}
