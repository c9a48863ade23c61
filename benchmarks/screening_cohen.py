"""Screening prioritisation on the Cohen 2006 drug-class reviews: Serendip's models beside ASReview 3.0.8.

Data: ``cohen-2006`` of the mirror (``cohen/records.jsonl.gz``, ``cohen/labels.tsv``; Cohen, Hersh,
Peterson & Yen 2006, JAMIA 13(2):206), abstract-level labels, records in the labels file's order;
abstracts given as the text "NA" read as missing (as pandas, and so ASReview, reads them).

Scored reviews: Antihistamines (310 records), CalciumChannelBlockers (1,218), ACEInhibitors (2,544), seeds
0-2. Per seed every system gets the same prior knowledge: 1 include and 1 exclude drawn as ``asreview
simulate --n-prior-included 1 --n-prior-excluded 1 --prior-seed SEED`` draws them; then one record at a
time, the model refitted after each label, until the last include (:mod:`serendip.screening.simulate`).

Systems: Serendip's ``fused`` (the combination chosen by ``--select``, never on the scored reviews) and
the simple models ``tfidf-nb``, ``tfidf-svm``, ``tfidf-logreg``, ``minilm-logreg``; ASReview 3.0.8
``asreview simulate`` with its default model (``elas_u4``) run here on a CSV of the same records and
labels (``--seed SEED``), its screening order read from the project's ``results`` table and scored by
Serendip's metrics (asreview-insights is not used: it downgrades asreview).

``--select``: the ``fused-*`` candidates and ``tfidf-svm`` on the 11 other Cohen reviews (seeds
``--select-seeds``); the candidate with the highest mean WSS@95 there is Serendip's ``fused``
(:data:`serendip.screening.models.FUSED_CHOICE` must name it; the script says when it does not).

Metrics (fractions; :mod:`serendip.screening.metrics`): WSS@95 and WSS@100 (Cohen et al. 2006), RRF@10
and ATD in records (asreview-insights; Ferdinands et al. 2023), computed without the priors; for each
stopping rule (:mod:`serendip.screening.stopping`) the recall it reached and the share of records it left
unread. Rows are means over the seeds with their sd; the baseline beside a Serendip model is ASReview on
the same seeds (beside ASReview: ``tfidf-nb``); the anchor is the ASReview figure issue 17 quotes (a
measurement by a Serendip session, not a publication).

Usage::

    SERENDIP_DATA_MIRROR=/work/shared/data OMP_NUM_THREADS=1 python benchmarks/screening_cohen.py \\
        --asreview /path/to/venv/bin/asreview [--reviews Antihistamines] [--no-write]
    python benchmarks/screening_cohen.py --select --select-seeds 0    # choose fused (11 other reviews)

ASReview: ``pip install 'serendip[peers]'`` (asreview==3.0.8) or any virtual environment holding it,
named by ``--asreview`` or ``$SERENDIP_ASREVIEW``; ``--no-asreview`` runs Serendip's models only. Each
ASReview run is kept under ``$SERENDIP_CACHE/screening-asreview`` (order and wall time, keyed by the CSV's
sha256 and the seed) and reused by a later run (``--no-asreview-cache``: run it again); ``--models``
with no name runs ASReview alone.
"""
from __future__ import annotations

import argparse
import csv
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _rows  # noqa: E402

BENCH = "screening_cohen"
DATASET = "cohen-2006"
SCORED = ("Antihistamines", "CalciumChannelBlockers", "ACEInhibitors")
SIMPLE = ("tfidf-nb", "tfidf-svm", "tfidf-logreg", "minilm-logreg")
CANDIDATES = ("fused-stack", "fused-rrf", "fused-mean")
ASREVIEW = "asreview-elas_u4"
METRICS = ("wss@95", "wss@100", "rrf@10", "atd")
#: WSS@95 mean and sd over seeds 0-2 of ASReview 3.0.8 elas_u4 quoted by issue 17
ISSUE_WSS95 = {"Antihistamines": (0.225, 0.007), "CalciumChannelBlockers": (0.275, 0.009),
               "ACEInhibitors": (0.312, 0.002)}


def load_sets(reviews) -> dict:
    """review -> ScreeningSet, read from the mirror's Cohen files."""
    from serendip import datasets
    from serendip.screening import load_screening_set

    files = datasets.resolve(DATASET)
    return {r: load_screening_set(files["cohen/records.jsonl.gz"], files["cohen/labels.tsv"], r) for r in reviews}


def other_reviews() -> list[str]:
    """The Cohen reviews in the labels file that are not scored here."""
    from serendip import datasets

    with open(datasets.resolve(DATASET)["cohen/labels.tsv"], encoding="utf-8", newline="") as fh:
        names = {row["review"] for row in csv.DictReader(fh, delimiter="\t")}
    return sorted(names - set(SCORED))


def find_asreview(given: str | None) -> str:
    """The ``asreview`` executable: ``--asreview``, ``$SERENDIP_ASREVIEW``, this Python's bin folder, PATH."""
    for cand in (given, os.environ.get("SERENDIP_ASREVIEW"), str(Path(sys.executable).parent / "asreview"),
                 shutil.which("asreview")):
        if cand and Path(cand).is_file():
            out = subprocess.run([cand, "--version"], capture_output=True, text=True)
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


def asreview_result(ds, exe: str, seeds, folder: Path, cache: Path | None = None):
    """ASReview's simulations of ``ds`` scored as a :class:`SimulationResult`; checks that it read the
    same texts and drew the same priors as Serendip (printed). ``cache``: see :func:`cached_asreview`."""
    from serendip.screening.simulate import (
        SimulationResult,
        choose_priors,
        evaluate_order,
    )

    data_csv = write_asreview_csv(ds, folder)
    runs = []
    for seed in seeds:
        order, texts, wall, hit = cached_asreview(exe, data_csv, seed, folder, cache)
        differ = sum((t or "", a or "") != (t2, a2) for (t, a), t2, a2 in zip(texts, ds.titles, ds.abstracts))
        same_priors = order[:2] == choose_priors(ds.labels, seed)
        print(f"  asreview seed {seed}: {wall:.0f} s{' (cached run)' if hit else ''}; texts differing from "
              f"Serendip's: {differ}; same priors: {same_priors}", flush=True)
        run = evaluate_order(ds.labels, order[:2], order[2:], seed)
        run.wall_s = wall
        runs.append(run)
    return SimulationResult(ds.name, len(ds), ds.n_includes, ASREVIEW, "max", "balanced", 1, runs)


def pooled(result, key: str) -> tuple[float, float | None]:
    """(mean, sd) over seeds of a metric (``stop:<rule>:recall`` / ``saved`` for stopping rules)."""
    return result.summary()[key]


def show(results: dict) -> None:
    """One line per system: metrics as mean ± sd over seeds, and wall seconds per seed."""
    for res in results.values():
        parts = []
        for key in METRICS:
            m, sd = pooled(res, key)
            scale = 1 if key == "atd" else 100
            parts.append(f"{key} {scale * m:.1f}±{scale * (sd or 0):.1f}")
        for rule in res.runs[0].stops:
            parts.append(f"{rule}: recall {100 * pooled(res, f'stop:{rule}:recall')[0]:.1f} "
                         f"saved {100 * pooled(res, f'stop:{rule}:saved')[0]:.1f}")
        wall = statistics.fmean(r.wall_s for r in res.runs)
        print(f"  {res.model:30s} " + "  ".join(parts) + f"  ({wall:.0f} s/seed)", flush=True)


def rows_for(review: str, results: dict, seeds, split: str = "test") -> list[dict]:
    """Pooled rows (mean ± sd over ``seeds``) per system and metric, stopping rules included."""
    rows = []
    settings = {"strategy": "max", "priors": "1+1", "labels": "abstract"}  # refitted after every label
    for method, res in results.items():
        base = "tfidf-nb" if method == ASREVIEW else ASREVIEW
        s = dict(settings, balance=res.balance, combination=res.model.split("(")[-1].rstrip(")")) \
            if method == "fused" else dict(settings, balance=res.balance)
        keys = list(METRICS) + [f"stop:{rule}:{what}" for rule in res.runs[0].stops for what in ("recall", "saved")]
        for key in keys:
            mean, sd = pooled(res, key)
            metric = key.replace("stop:", "stop_").replace(":", "_")
            b = results.get(base)
            anchor = None
            if key == "wss@95" and review in ISSUE_WSS95:
                anchor = (f"ASReview 3.0.8 elas_u4, {review}", ISSUE_WSS95[review][0], "issue 17, not published")
            rows.append(_rows.row(BENCH, f"{DATASET}/{review}", split, res.n, method, metric, mean, settings=s,
                                  seed=None, seeds=list(seeds), sd=sd,
                                  baseline=(base, pooled(b, key)[0]) if b is not None else None,
                                  anchor=anchor, wall_s=sum(r.wall_s for r in res.runs)))
    return rows


def select(args, ctx) -> list[dict]:
    """The fused candidates (and tfidf-svm) on the reviews not scored; rows on split ``dev``."""
    from serendip.screening import simulate
    from serendip.screening.features import FeatureStore
    from serendip.screening.models import FUSED_CHOICE

    reviews = args.select_reviews or other_reviews()
    wss = {m: [] for m in (*CANDIDATES, "tfidf-svm")}
    rows = []
    for review, ds in load_sets(reviews).items():
        store = FeatureStore(ds, ctx)
        print(f"{review}: {len(ds)} records, {ds.n_includes} includes", flush=True)
        for model in wss:
            res = simulate(ds, model, "max", args.select_seeds, store=store, stop_rules=())
            mean = pooled(res, "wss@95")[0]
            wss[model].append(mean)
            print(f"  {model:12s} WSS@95 {100 * mean:.1f}  ({sum(r.wall_s for r in res.runs):.0f} s)", flush=True)
            rows.append(_rows.row(BENCH, f"{DATASET}/{review}", "dev", len(ds), model, "wss@95", mean,
                                  settings={"strategy": "max", "balance": res.balance, "labels": "abstract"},
                                  seed=None, seeds=list(args.select_seeds), sd=pooled(res, "wss@95")[1],
                                  wall_s=sum(r.wall_s for r in res.runs)))
    for model, values in wss.items():
        rows.append(_rows.row(BENCH, f"{DATASET}/{len(reviews)}-other-reviews", "dev", len(values), model,
                              "wss@95_mean_over_reviews", statistics.fmean(values),
                              settings={"strategy": "max", "labels": "abstract", "reviews": len(values)},
                              seed=None, seeds=list(args.select_seeds), sd=statistics.stdev(values)))
        print(f"{model:12s} mean WSS@95 over {len(values)} reviews: {100 * statistics.fmean(values):.2f}")
    chosen = max(CANDIDATES, key=lambda m: statistics.fmean(wss[m]))
    same = "as" if chosen == FUSED_CHOICE["chosen"] else "NOT as"
    print(f"chosen: {chosen} ({same} FUSED_CHOICE in serendip.screening.models says)")
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reviews", nargs="+", choices=SCORED, default=list(SCORED))
    ap.add_argument("--seeds", type=_rows.int_list, default=[0, 1, 2])
    ap.add_argument("--models", nargs="*", default=["fused", *SIMPLE], help="Serendip models (none: ASReview only)")
    ap.add_argument("--asreview-cache", type=Path, default=None,
                    help="keep ASReview's runs here and reuse them (default: $SERENDIP_CACHE/screening-asreview)")
    ap.add_argument("--no-asreview-cache", action="store_true")
    ap.add_argument("--asreview", help="asreview 3.0.8 executable")
    ap.add_argument("--no-asreview", action="store_true")
    ap.add_argument("--select", action="store_true", help="choose fused on the other reviews (no scoring)")
    ap.add_argument("--select-seeds", type=_rows.int_list, default=[0])
    ap.add_argument("--select-reviews", nargs="+")
    ap.add_argument("--threads", type=_rows.positive_int, default=1, help="ONNX Runtime threads (embeddings)")
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()
    from serendip.screening import simulate
    from serendip.screening.features import FeatureContext, FeatureStore

    t_all = time.perf_counter()
    ctx = FeatureContext(encoder="onnx", threads=args.threads)
    if args.select:
        _rows.finish(BENCH, select(args, ctx), time.perf_counter() - t_all, no_write=args.no_write)
        return
    exe = None if args.no_asreview else find_asreview(args.asreview)
    cache = None if args.no_asreview_cache else args.asreview_cache or asreview_cache_dir()
    rows = []
    for review, ds in load_sets(args.reviews).items():
        print(f"{review}: {len(ds)} records, {ds.n_includes} includes, {ds.n_marked_missing} 'NA' texts read "
              "as missing", flush=True)
        store, results = FeatureStore(ds, ctx), {}
        for model in args.models:
            results[model] = simulate(ds, model, "max", args.seeds, store=store)
            print(f"  {model}: features {results[model].features_s:.0f} s", flush=True)
        if exe:
            with tempfile.TemporaryDirectory(prefix="asreview-") as tmp:
                results[ASREVIEW] = asreview_result(ds, exe, args.seeds, Path(tmp), cache)
            if "tfidf-svm" in results:
                same = sum(a.order == b.order for a, b in zip(results["tfidf-svm"].runs, results[ASREVIEW].runs))
                print(f"  tfidf-svm screened in ASReview's order in {same} of {len(args.seeds)} seeds", flush=True)
        show(results)
        rows += rows_for(review, results, args.seeds)
    _rows.finish(BENCH, rows, time.perf_counter() - t_all, no_write=args.no_write)


if __name__ == "__main__":
    _rows.run_main(main)
