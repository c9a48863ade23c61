"""Benchmark rows in the format of ../shared/DESIGN.md, shared by every script in benchmarks/.

``row(...)`` builds one row; ``write(script, rows)`` merges the rows into
``benchmarks/results/<script>.json`` (a run's rows replace the stored rows with the same key, see
:func:`row_key`; other rows are kept, so a run on one task does not erase another task's figures),
moves per-seed detail that a pooled row now summarises to ``results/archive/<script>-per-seed.json.gz``
and regenerates ``benchmarks/RESULTS.md`` from all the results files (:mod:`results_page`).

Configuration lives in row fields: ``method`` names the method, ``settings`` holds its options
(model size, budgets, learning rate, subset...), ``seeds`` the seeds a pooled row (mean over seeds,
paired difference) summarises and ``sd`` the standard deviation over them; a label that still packs
its configuration (``"cnn-3conv ce (select dev PR-AUC) [seed 0]"``) is split into those fields by
:func:`_row_fields.normalise` when written.
"""
from __future__ import annotations

import datetime as _dt
import json
import os
import resource
import subprocess
from collections.abc import Sequence
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _head() -> str:
    if os.environ.get("SERENDIP_BENCH_COMMIT"):
        return os.environ["SERENDIP_BENCH_COMMIT"]
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=HERE, capture_output=True,
                              text=True, check=True).stdout.strip()
    except Exception:  # noqa: BLE001 - not a git checkout
        return "unknown"


#: The commit checked out when the script started (this module is imported first): the code it runs,
#: even when a commit lands while a long benchmark is still going
_COMMIT_AT_START = _head()


def git_sha() -> str:
    """The short commit of the checkout when the script started (``$SERENDIP_BENCH_COMMIT`` where a
    copy without ``.git`` runs the script, e.g. on a GPU machine), or "unknown"."""
    return _COMMIT_AT_START


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far, in MiB (Linux ru_maxrss is in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def hardware() -> str:
    """The machine a row was measured on: the CPU core count, and the GPU where the run used one (torch
    imported and CUDA available)."""
    import sys

    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_available():
        return f"1 {torch.cuda.get_device_name(0)} GPU + {os.cpu_count()} CPU cores"
    return f"{os.cpu_count()} CPU cores"


def row(benchmark: str, dataset: str, split: str, n: int, method: str, metric: str, value: float, *,
        settings: dict | None = None, baseline: tuple[str, float] | None = None,
        anchor: tuple[str, float, str] | None = None, seed: int | None = 0, seeds: list[int] | None = None,
        sd: float | None = None, wall_s: float | None = None, peak_rss_mb: float | None = None) -> dict:
    """One result row; ``settings`` = the method's options (str -> str / number / bool; None: not
    given, the label is split when written, see :func:`_row_fields.normalise`); ``baseline`` = (method,
    value) run in the same script; ``anchor`` = (name, value, source) of a published figure, or None
    where none is published; ``seeds`` = the seeds a pooled row summarises (``seed`` is then None) and
    ``sd`` the sample standard deviation of the metric over them."""
    r = {"benchmark": benchmark, "dataset": dataset, "split": split, "n": n, "method": method}
    if settings is not None:
        r["settings"] = dict(settings)
    r.update({
        "metric": metric, "value": round(float(value), 4), "sd": None if sd is None else round(float(sd), 4),
        "seed": None if seeds else seed, "seeds": None if seeds is None else [int(s) for s in seeds],
        "baseline": None if baseline is None else {"method": baseline[0], "value": round(float(baseline[1]), 4)},
        "anchor": None if anchor is None else {"name": anchor[0], "value": anchor[1], "source": anchor[2]},
        "hardware": hardware(), "wall_s": None if wall_s is None else round(wall_s, 2),
        "peak_rss_mb": round(peak_rss_mb if peak_rss_mb is not None else globals()["peak_rss_mb"](), 1),
        "commit": git_sha(), "date": _dt.date.today().isoformat(),
    })
    return r


def settings_key(r: dict) -> str:
    """A row's ``settings`` as canonical JSON text (sorted keys; ``{}`` when it has none)."""
    return json.dumps(r.get("settings") or {}, sort_keys=True)


def config_key(r: dict) -> tuple:
    """What a row measured, seeds aside: (benchmark, dataset, method, settings)."""
    return (r.get("benchmark"), r["dataset"], r["method"], settings_key(r))


def row_key(r: dict) -> tuple:
    """The identity of a row in results/<script>.json: (dataset, split, method, settings, metric, seed,
    seeds, n)."""
    seeds = r.get("seeds")
    return (r["dataset"], r["split"], r["method"], settings_key(r), r["metric"], r.get("seed"),
            None if seeds is None else tuple(seeds), r.get("n"))


def merge_rows(old: list[dict], new: list[dict]) -> list[dict]:
    """``old`` without the rows whose :func:`row_key` occurs in ``new``, then every row of ``new``
    (a run's rows replace all stored rows with the same keys, and none of its rows is dropped)."""
    fresh = {row_key(r) for r in new}
    return [r for r in old if row_key(r) not in fresh] + list(new)


def _finite(v) -> bool:
    import math

    return not isinstance(v, bool) and isinstance(v, (int, float)) and math.isfinite(v)


def _row_problem(r) -> str | None:
    """Why ``r`` is not a valid stored row, or None."""
    if not (isinstance(r, dict) and {"dataset", "split", "method", "metric", "value"} <= set(r)):
        return "is not a benchmark row (dataset, split, method, metric, value)"
    what = f"({r['method']!r}, {r['metric']!r})"
    if not _finite(r["value"]):
        return f"{what} has value {r['value']!r}, not a finite number"
    settings = r.get("settings")
    if settings is not None and not (isinstance(settings, dict) and all(
            isinstance(k, str) and (v is None or isinstance(v, (str, int, float, bool))) for k, v in settings.items())):
        return f"{what} has settings {settings!r}, not an object of names to plain values"
    seeds = r.get("seeds")
    if seeds is not None and not (isinstance(seeds, list) and seeds
                                  and all(isinstance(s, int) and not isinstance(s, bool) for s in seeds)):
        return f"{what} has seeds {seeds!r}, not a list of whole numbers"
    if r.get("sd") is not None and not _finite(r["sd"]):
        return f"{what} has sd {r['sd']!r}, not a finite number"
    return None


def read_rows(path: Path) -> list[dict]:
    """The rows of a results/<script>.json, or of a gzip'ed JSON list such as
    ``results/archive/<script>-per-seed.json.gz`` ([] when it does not exist). Raises ValueError
    naming the file when it is not a JSON list of rows with the keys :func:`row_key` reads, a finite
    number (not a bool) as ``value`` and, where present, ``settings`` an object of plain values,
    ``seeds`` a non-empty list of whole numbers and ``sd`` a finite number."""
    if not path.exists():
        return []
    try:
        raw = path.read_bytes()
        if path.suffix == ".gz":
            import gzip

            raw = gzip.decompress(raw)
        rows = json.loads(raw.decode("utf-8"))
    except (OSError, EOFError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(rows, list):
        raise ValueError(f"{path}: expected a JSON list of benchmark rows")  # noqa: TRY004 - a bad file
    for i, r in enumerate(rows):
        problem = _row_problem(r)
        if problem:
            raise ValueError(f"{path}: row {i} {problem}")
    return rows


def dump_rows(rows: list[dict]) -> str:
    """The text of a results/<script>.json: a JSON list with one compact row per line (about 0.6 of
    the size of indented JSON, and a new run's rows are whole lines in a diff)."""
    return "[\n" + ",\n".join(json.dumps(r, ensure_ascii=False, separators=(",", ":")) for r in rows) + "\n]\n"


def write_gzip_rows(path: Path, rows: list[dict]) -> None:
    """``rows`` as :func:`dump_rows` text, gzip'ed reproducibly (no name, mtime 0), replacing ``path``
    atomically."""
    import gzip

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(gzip.compress(dump_rows(rows).encode("utf-8"), compresslevel=9, mtime=0))
    tmp.replace(path)


def archive_path(script: str) -> Path:
    """``results/archive/<script>-per-seed.json.gz``: per-seed rows a pooled row summarises."""
    return HERE / "results" / "archive" / f"{script}-per-seed.json.gz"


def split_detail(rows: list[dict]) -> tuple[list[dict], list[dict]]:
    """``rows`` as (kept, detail): a one-seed row is detail when a pooled row of the same
    :func:`config_key` (any split or metric) lists its seed in ``seeds``; the order is kept."""
    pooled: dict[tuple, set[int]] = {}
    for r in rows:
        if r.get("seeds"):
            pooled.setdefault(config_key(r), set()).update(r["seeds"])
    kept, detail = [], []
    for r in rows:
        is_detail = not r.get("seeds") and r.get("seed") in pooled.get(config_key(r), ())
        (detail if is_detail else kept).append(r)
    return kept, detail


def read_all_rows(script: str) -> list[dict]:
    """Every stored row of ``script``: the archived per-seed rows, then results/<script>.json (a row of
    the JSON replaces an archived one with the same :func:`row_key`). Raises ValueError as
    :func:`read_rows`."""
    return merge_rows(read_rows(archive_path(script)), read_rows(HERE / "results" / f"{script}.json"))


def moved_out_rows(names: Sequence[str]) -> dict[tuple, dict]:
    """The rows of the archive files ``names`` (under ``results/archive/``), by :func:`row_key`: rows
    moved out of a live results file by hand to keep it small, not superseded (each file's entry in
    ``results/archive/README.md`` says so). Raises FileNotFoundError naming a missing file, ValueError
    as :func:`read_rows`."""
    out: dict[tuple, dict] = {}
    for name in names:
        path = HERE / "results" / "archive" / name
        if not path.is_file():
            err = FileNotFoundError(f"{path}: no such archive of moved-out rows")
            err.filename = str(path)
            raise err
        out.update((row_key(r), r) for r in read_rows(path))
    return out


def _same_figure(a: dict, b: dict) -> bool:
    return all(a.get(k) == b.get(k) for k in ("value", "sd", "baseline", "anchor"))


def write(script: str, rows: list[dict], wall_s: float | None = None, moved_out: Sequence[str] = ()) -> None:
    """Merge the rows into results/<script>.json (see :func:`merge_rows`; every row normalised by
    :func:`_row_fields.normalise` first; a row whose key and figures (value, sd, baseline, anchor) equal a
    row of the archives ``moved_out`` (:func:`moved_out_rows`) is not written back, the archived row
    standing for it, and their count is printed on stderr), move per-seed detail (:func:`split_detail`) to
    :func:`archive_path`, then regenerate RESULTS.md (:func:`results_page.write_page`), holding an
    exclusive lock on ``results/.write.lock`` (POSIX ``flock``) meanwhile. A JSON past
    :data:`MAX_JSON_BYTES` is written with a warning on stderr. ``wall_s`` is printed by
    :func:`finish` and kept for callers; the rows carry their own times.

    Raises ValueError when ``rows`` is empty or holds a non-finite value, or the stored JSON is not a
    list of rows (see :func:`read_rows`); nothing is written then. The JSON is replaced atomically
    (written to a temporary file, then renamed)."""
    if not rows:
        raise ValueError(f"{script}: no result rows to write (nothing was run)")
    bad = [f"{r['method']!r} {r['metric']!r} = {r['value']!r}" for r in rows if not _finite(r["value"])]
    if bad:  # NaN / inf are not JSON, and a reader could not tell them from a figure
        raise ValueError(f"{script}: {len(bad)} row(s) without a finite value, nothing written: {'; '.join(bad[:3])}")
    import fcntl

    import _row_fields

    rows = [_row_fields.normalise(r) for r in rows]
    if moved_out:
        moved = moved_out_rows(moved_out)
        kept = [r for r in rows if not (row_key(r) in moved and _same_figure(r, moved[row_key(r)]))]
        if len(kept) < len(rows):
            import sys

            print(f"{len(rows) - len(kept)} rows equal to rows moved to results/archive/ ({', '.join(moved_out)}) "
                  "not written again", file=sys.stderr)
        rows = kept
        if not rows:
            return
    (HERE / "results").mkdir(exist_ok=True)
    # runs often end side by side (seeds in parallel): one writer at a time, so the read-merge-replace
    # below never loses the other run's rows
    with (HERE / "results" / ".write.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        _write_locked(script, rows)


def _write_locked(script: str, rows: list[dict]) -> None:
    import results_page

    path = HERE / "results" / f"{script}.json"
    try:
        old = read_rows(path)
        archived = read_rows(archive_path(script))
    except ValueError as exc:
        raise ValueError(f"{exc}; not overwriting it") from None
    kept, detail = split_detail(merge_rows(old, rows))
    if detail:
        write_gzip_rows(archive_path(script), merge_rows(archived, detail))
    tmp = path.with_name(f".{path.name}.tmp")
    text = dump_rows(kept)
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
    if len(text.encode()) > MAX_JSON_BYTES:
        import sys

        print(f"WARNING: {path} is now {len(text.encode()):,} bytes, over the {MAX_JSON_BYTES:,} "
              "bytes kept per committed results file: pool the per-seed rows (their pooled rows move "
              "them to results/archive/) or drop superseded rows before committing it", file=sys.stderr)
    results_page.write_page(HERE)


#: Largest committed results/<script>.json (bytes); a JSON past it gets a warning when written
MAX_JSON_BYTES = 200_000


def finished_run_config(run_dir: Path, given: dict) -> dict:
    """The ``config`` of the fine-tuning run in ``run_dir`` (its ``run.json``), checked against the
    settings a script's rows will name: ``given`` maps ``backbone``, ``epochs``, ``lr``, ``batch_size``,
    ``max_length``, ``seed`` (the run's backbone name and training section) or any key of the run's
    data options to the value the script was given.

    Raises DataError (:mod:`serendip.errors`) when the folder holds no ``metrics.json``, ``history.json``
    or ``run.json`` (not a finished run), or a recorded setting differs from ``given`` (the rows would
    name settings the run was not trained with), listing each difference."""
    from serendip.errors import DataError

    try:
        for name in ("metrics.json", "history.json"):
            json.loads((run_dir / name).read_text())
        config = json.loads((run_dir / "run.json").read_text())["config"]
        training, options = config["training"], config["data"].get("options") or {}
        recorded = {"backbone": config["backbone"]["name"], **{k: training[k] for k in
                                                                ("epochs", "lr", "batch_size", "max_length", "seed")}}
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise DataError(f"{run_dir}: not a finished fine-tuning run ({e})") from e
    recorded = {k: recorded[k] if k in recorded else options.get(k) for k in given}
    if recorded != given:
        diff = ", ".join(f"{k}: run {recorded[k]!r}, given {given[k]!r}" for k in given if recorded[k] != given[k])
        raise DataError(f"{run_dir} was trained with other settings than these ({diff})")
    return config


def check_training_file(run_dir: Path, path: Path) -> None:
    """Raise DataError (:mod:`serendip.errors`) unless the run in ``run_dir`` was trained on the bytes of
    ``path``: the sha256 its ``data_files.json`` recorded for ``train`` against the file's now (a run
    trained on a ``--smoke`` subset, or on another file, would otherwise be scored as the full model)."""
    import hashlib

    from serendip.errors import DataError

    try:
        recorded = json.loads((run_dir / "data_files.json").read_text())["train"]["sha256"]
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise DataError(f"{run_dir}: no training-file checksum in data_files.json ({type(e).__name__}: {e})") from e
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    if digest.hexdigest() != recorded:
        raise DataError(f"{run_dir} was trained on another file than {path} (sha256 {recorded[:12]}, the file's "
                        f"{digest.hexdigest()[:12]}): a --smoke run, or other data")


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


def finish(script: str, rows: list[dict], wall_s: float, *, no_write: bool = False,
           moved_out: Sequence[str] = ()) -> None:
    """The end of a benchmark run: print the total wall time (seconds) and peak RSS (MiB), then
    :func:`write` the rows unless ``no_write`` (``--no-write``: print only); ``moved_out`` as in
    :func:`write`."""
    print(f"total {wall_s:.0f} s, peak RSS {peak_rss_mb():.0f} MB")
    if not no_write:
        write(script, rows, wall_s=wall_s, moved_out=moved_out)


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
