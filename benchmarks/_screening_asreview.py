"""ASReview 3.0.8 run as a peer by ``benchmarks/screening_cohen.py``: find the executable, write the CSV it
reads, run ``asreview simulate`` (default model ``elas_u4``, 1 prior include and 1 prior exclude drawn with the
seed) and read its screening order back from the project's ``results`` table, keeping each run in a cache
(``$SERENDIP_CACHE/screening-asreview``, keyed by the CSV's sha256 and the seed) that a later run reuses."""
from __future__ import annotations

import csv
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import _rows

ASREVIEW = "asreview-elas_u4"


def find_asreview(given: str | None) -> str:
    """The ``asreview`` executable: ``--asreview``, ``$SERENDIP_ASREVIEW``, this Python's bin folder, PATH."""
    for cand in (given, os.environ.get("SERENDIP_ASREVIEW"), str(Path(sys.executable).parent / "asreview"),
                 shutil.which("asreview")):
        if cand and Path(cand).is_file():
            out = subprocess.run([cand, "--version"], capture_output=True, text=True,
                                 cwd=tempfile.gettempdir())  # its synergy_cache.sqlite lands there
            if "3.0.8" not in out.stdout + out.stderr:
                raise _rows.UsageError(f"{cand} is not asreview 3.0.8 ({(out.stdout + out.stderr).strip()})")
            return cand
    raise _rows.UsageError("asreview 3.0.8 not found: pip install 'serendip[peers]' (or asreview==3.0.8 in "
                           "another virtual environment) and give --asreview PATH, or run with --no-asreview")


def asreview_cache_dir() -> Path:
    """``$SERENDIP_CACHE/screening-asreview`` (default ``~/.cache/serendip/screening-asreview``)."""
    base = os.environ.get("SERENDIP_CACHE", "").strip()
    return (Path(base).expanduser() if base else Path.home() / ".cache" / "serendip") / "screening-asreview"


def write_asreview_csv(ds, folder: Path) -> Path:
    """The set as the CSV ASReview reads (title, abstract, included; rows in the set's order)."""
    path = folder / f"{ds.name}.csv"
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["pmid", "title", "abstract", "included"])
        for row in zip(ds.ids, ds.titles, ds.abstracts, ds.labels.tolist()):
            w.writerow(row)
    return path


def run_asreview(exe: str, data_csv: Path, seed: int, folder: Path) -> tuple[list[int], list[tuple], float]:
    """``asreview simulate`` (default model, 1 prior include and exclude drawn with ``seed``): (record
    indices in labelling order, the (title, abstract) ASReview stored per record, wall seconds)."""
    project = folder / f"{data_csv.stem}-{seed}.asreview"
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    t = time.perf_counter()
    proc = subprocess.run([exe, "simulate", str(data_csv), "--n-prior-included", "1", "--n-prior-excluded", "1",
                           "--prior-seed", str(seed), "--seed", str(seed), "-o", str(project)],
                          capture_output=True, text=True, env=env, cwd=folder)  # its caches land there
    wall = time.perf_counter() - t
    if proc.returncode != 0:
        raise RuntimeError(f"asreview simulate failed ({proc.returncode}): {proc.stderr.strip()[-500:]}")
    with zipfile.ZipFile(project) as z:
        z.extract("results.db", folder / f"x{seed}")
    con = sqlite3.connect(folder / f"x{seed}" / "results.db")
    try:
        order = [int(r) for (r,) in con.execute("SELECT record_id FROM results ORDER BY rowid")]
        texts = con.execute("SELECT title, abstract FROM record ORDER BY record_id").fetchall()
    finally:
        con.close()
    return order, texts, wall


def cached_asreview(exe: str, data_csv: Path, seed: int, folder: Path, cache: Path | None):
    """:func:`run_asreview`, its result kept in ``cache`` (a JSON file per CSV sha256 and seed, written
    once): a rerun of the benchmark reuses ASReview's order and the wall time measured when it ran.
    Returns (order, texts, wall seconds, whether it came from the cache)."""
    import hashlib
    import json

    if cache is None:
        return (*run_asreview(exe, data_csv, seed, folder), False)
    key = hashlib.sha256(data_csv.read_bytes()).hexdigest()[:24]
    path = cache / f"{data_csv.stem}-{key}-seed{seed}.json"
    if path.is_file():
        got = json.loads(path.read_text(encoding="utf-8"))
        return got["order"], [tuple(t) for t in got["texts"]], got["wall_s"], True
    order, texts, wall = run_asreview(exe, data_csv, seed, folder)
    cache.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"asreview": "3.0.8", "order": order, "texts": texts, "wall_s": wall}),
                    encoding="utf-8")
    return order, texts, wall, False


def asreview_run(ds, exe: str, seed: int, cache: Path | None = None):
    """One ASReview simulation of ``ds`` with ``seed``, scored by Serendip's metrics and stopping rules:
    (:class:`~serendip.screening.simulate.SimulationRun` with ASReview's wall seconds, a line saying
    whether it came from the cache and whether ASReview read the same texts and drew the same priors
    as Serendip). ``cache``: see :func:`cached_asreview`."""
    import tempfile

    from serendip.screening.simulate import choose_priors, evaluate_order

    with tempfile.TemporaryDirectory(prefix="asreview-") as tmp:
        data_csv = write_asreview_csv(ds, Path(tmp))
        order, texts, wall, hit = cached_asreview(exe, data_csv, seed, Path(tmp), cache)
    differ = sum((t or "", a or "") != (t2, a2) for (t, a), t2, a2 in zip(texts, ds.titles, ds.abstracts))
    same_priors = order[:2] == choose_priors(ds.labels, seed)
    note = (f"asreview seed {seed}: {wall:.0f} s{' (cached run)' if hit else ''}; texts differing from "
            f"Serendip's: {differ}; same priors: {same_priors}")
    run = evaluate_order(ds.labels, order[:2], order[2:], seed)
    run.wall_s = wall
    return run, note
