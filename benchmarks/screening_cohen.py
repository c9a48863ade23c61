"""Screening prioritisation on the Cohen 2006 drug-class reviews: Serendip's models beside ASReview 3.0.8.

Data: ``cohen-2006`` of the mirror (``cohen/records.jsonl.gz``, ``cohen/labels.tsv``; Cohen, Hersh,
Peterson & Yen 2006, JAMIA 13(2):206), the 14 reviews there (Statins is missing from the mirror),
abstract-level labels, records in the labels file's order; abstracts given as the text "NA" read as missing
(as pandas, and so ASReview, reads them).

Per seed (0-4 by default) every system gets the same prior knowledge: 1 include and 1 exclude drawn as
``asreview simulate --n-prior-included 1 --n-prior-excluded 1 --prior-seed SEED`` draws them; then one
record at a time, the model refitted after each label, until the last include
(:mod:`serendip.screening.simulate`).

Systems: ASReview 3.0.8 ``asreview simulate`` with its default model (``elas_u4``), run here on a CSV of
the same records and labels (``--seed SEED``), its screening order read from the project's ``results``
table and scored by Serendip's metrics (asreview-insights is not used: it downgrades asreview); Serendip's
simple models (``tfidf-nb``, ``tfidf-svm``: elas_u4 rebuilt, ``minilm-logreg``) and its own
(:data:`CANDIDATES`: ``tfidf-mesh-svm``, with the records' MeSH headings, ``fused-mesh-mean``, that
SVM fused with MiniLM embeddings, ``fused-mesh-wmean``, the same fusion weighted 3:1 towards the SVM,
``fused-auc3``, three models weighted by their prequential ROC-AUC on each review's labels, and
``fused-mesh-auc``, the two models of ``fused-mesh-wmean`` with its 3:1 weights scaled by that AUC, and
``fused-lr3``, the three models of ``fused-auc3`` weighted by a logistic regression on those prequential
scores, and ``fused-mesh-pick``, ``fused-mesh-wmean`` whose SVM is the MeSH one or the text one, whichever
has the higher prequential ROC-AUC, and ``fused-wmean3``, ``fused-mesh-wmean`` with the text SVM as a third part,
weights 3 : 1.5 : 1). ``tfidf-logreg`` and ``fused-mean`` run with ``--models`` (left out of
the default run: on 2 cores they doubled its time, about 3 hours for 14 reviews x 5 seeds). **serendip** is Serendip's best model chosen honestly: for each
review, the candidate with the highest mean WSS@95 over the *other* 13 reviews (leave-one-review-out; the
same seeds), so the review scored never takes part in choosing the model that scores it.

``--adapted-model PATH`` (a ``serendip pretrain`` checkpoint, mean-pooled, or a sentence-transformers folder:
:mod:`serendip.screening.embedding_source`) also runs ``minilm-logreg`` and ``fused-mesh-wmean`` on that encoder's
embeddings in place of MiniLM's (systems ``NAME@adapted``; the encoder's folder and a digest of its weights in
the rows' settings), the fusion among the candidates: the issue's "domain-adapted encoder where it exists".

Metrics (fractions; :mod:`serendip.screening.metrics`): WSS@95 and WSS@100 (Cohen et al. 2006), RRF@10
and ATD in records (asreview-insights; Ferdinands et al. 2023), computed without the priors; for each
stopping rule (:mod:`serendip.screening.stopping`) the recall it reached and the share of records it left
unread. Per review rows (WSS@95, RRF@10, ATD; WSS@100 and the stopping rules printed) are means over
the seeds with their sd; the baseline beside a Serendip model is ASReview on the same seeds (beside
ASReview: ``tfidf-nb``); the anchor is the ASReview figure issue 17 quotes (a measurement by a Serendip
session, not a publication). Summary rows (dataset ``cohen-2006/14-reviews``): mean WSS@95 and WSS@100
over the reviews per system, the reviews where ``serendip`` beats ASReview, and per stopping rule the
share of the review x seed runs reaching 95 % recall and the mean share of records left unread.

Runs are spread over ``--jobs`` worker processes (one task = one review, system and seed) and each
finished run is appended to ``--runs-file`` (JSON lines, keyed by the review's data, the system, the seed
and a hash of the source of the ``serendip/screening`` modules a simulation runs), so a killed benchmark
resumes where it stopped. ``--carry-runs OLD`` reuses the runs of a file written by older code system by
system, each system only after its reruns on the two smallest reviews reproduce the stored screening
orders exactly (:mod:`_screening_carry`); carried lines keep the code hash they ran under.

Usage::

    SERENDIP_DATA_MIRROR=/work/shared/data python benchmarks/screening_cohen.py \\
        --asreview /path/to/venv/bin/asreview --jobs 2 [--reviews Antihistamines ...] [--seeds 0,1,2,3,4]

Time on 2 cores with ``--jobs 2`` (2026-12-06, one BLAS thread per worker): 3,873 s for every system of
the default run but ``fused-lr3`` (630 runs, ASReview's included; ACEInhibitors, the largest review, about
18 min of it, read off the progress log), 879 s more for ``fused-lr3``, 837 s for ``fused-wmean3`` (70 runs, every
other system's runs carried), 1,049 s for ``minilm-logreg@adapted`` and ``fused-mesh-wmean@adapted`` (140 runs and
the other systems' carry checks; the adapted encoder's embeddings of 5 reviews cached by an earlier run, the other 9
computed in the workers).

ASReview: ``pip install 'serendip[peers]'`` (asreview==3.0.8) or any virtual environment holding it, named
by ``--asreview`` or ``$SERENDIP_ASREVIEW``; ``--no-asreview`` runs Serendip's models only. Each ASReview
run is kept under ``$SERENDIP_CACHE/screening-asreview`` (order and wall time) and reused by a later run
(``--no-asreview-cache``: run it again).
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import statistics
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict
from pathlib import Path

# One BLAS thread per process, set before NumPy is first imported: a worker forked afterwards keeps the thread
# pool the parent opened, and two workers x two threads on 2 cores ran MiniLM's logistic regression fits about
# 10 times slower (ACEInhibitors: 16 s a seed against 145-177 s). ASReview's runs get the same setting.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))
import _rows  # noqa: E402
import _screening_carry  # noqa: E402
from _screening_adapted import (  # noqa: E402
    _ADAPTED,
    ADAPTED_ENV,
    ADAPTED_MODELS,
    adapted_systems,
    model_of,
    shown_name,
)
from _screening_asreview import (  # noqa: E402
    ASREVIEW,
    asreview_cache_dir,
    asreview_run,
    find_asreview,
)
from _screening_carry import code_hash, set_hash, simulation_modules  # noqa: E402,F401 (keys of stored runs)
from _screening_report import (  # noqa: E402
    BENCH,
    DATASET,
    pooled,
    print_summary,
    show,
    summary_rows,
)

SIMPLE = ("tfidf-nb", "tfidf-svm", "minilm-logreg")
#: Serendip's combinations, among which ``serendip`` is chosen per review on the other reviews
CANDIDATES = ("tfidf-mesh-svm", "fused-mesh-mean", "fused-mesh-wmean", "fused-auc3", "fused-mesh-auc",
              "fused-lr3", "fused-mesh-pick", "fused-wmean3")
CHOSEN = "serendip"
#: archives of per-review RRF@10 / ATD rows moved out of results/screening_cohen.json to keep it under
#: 200 kB (``results/archive/README.md``); a rerun that reproduces one of their rows does not write it back
MOVED_OUT = ("screening_cohen-rrf-atd-simple-2026-12-06.json.gz", "screening_cohen-rrf-atd-auc-lr3-2026-12-06.json.gz",
             "screening_cohen-rrf-atd-pick-wmean3-2026-12-06.json.gz", "screening_cohen-rrf-atd-adapted-mesh-2026-12-06.json.gz")
#: per review rows (the issue's three; WSS@100 is printed per review and summarised over the reviews)
ROW_METRICS = ("wss@95", "rrf@10", "atd")
#: WSS@95 mean and sd over seeds 0-2 of ASReview 3.0.8 elas_u4 quoted by issue 17
ISSUE_WSS95 = {"Antihistamines": (0.225, 0.007), "CalciumChannelBlockers": (0.275, 0.009),
               "ACEInhibitors": (0.312, 0.002)}

_SETS: dict = {}


def review_names() -> list[str]:
    """The reviews in the mirror's Cohen labels file, sorted."""
    from serendip import datasets

    with open(datasets.resolve(DATASET)["cohen/labels.tsv"], encoding="utf-8", newline="") as fh:
        return sorted({row["review"] for row in csv.DictReader(fh, delimiter="\t")})


def load_set(review: str):
    """The :class:`~serendip.screening.data.ScreeningSet` of ``review`` (read once per process)."""
    if review not in _SETS:
        from serendip import datasets
        from serendip.screening import load_screening_set

        files = datasets.resolve(DATASET)
        _SETS[review] = load_screening_set(files["cohen/records.jsonl.gz"], files["cohen/labels.tsv"], review)
    return _SETS[review]


def run_task(review: str, system: str, seed: int, asreview: str | None, cache: str | None) -> tuple:
    """One simulation in a worker: (review, system, seed, run as a dict, note)."""
    ds = load_set(review)
    if system == ASREVIEW:
        run, note = asreview_run(ds, asreview, seed, Path(cache) if cache else None)
        return review, system, seed, asdict(run), note
    from serendip.screening.embedding_source import embedding_context
    from serendip.screening.features import FeatureContext, FeatureStore
    from serendip.screening.simulate import simulate

    adapted = "@adapted" in system
    key = (review, "adapted" if adapted else "store")
    if key not in _SETS:
        ctx = embedding_context(os.environ[ADAPTED_ENV]) if adapted else FeatureContext(encoder="onnx", threads=1)
        _SETS[key] = FeatureStore(ds, ctx)
    res = simulate(ds, model_of(system), "max", [seed], store=_SETS[key])
    run = res.runs[0]
    return review, system, seed, asdict(run), f"{system} seed {seed}: {run.wall_s:.0f} s"


def _run_from(d: dict):
    from serendip.screening.simulate import SimulationRun, StopOutcome

    d = dict(d)
    d["stops"] = {k: StopOutcome(**v) for k, v in d["stops"].items()}
    return SimulationRun(**d)


def read_done(path: Path, keys: dict) -> dict:
    """Stored runs of ``path`` whose data and code keys match: (review, system, seed) -> run dict.
    Raises UsageError naming the file and line of a line that is not a stored run."""
    done = {}
    if path.is_file():
        try:
            for _, got in _screening_carry.read_lines(path):
                if got["key"] == keys.get(got["review"]):
                    done[(got["review"], got["system"], got["seed"])] = got["run"]
        except (OSError, ValueError) as exc:
            raise _rows.UsageError(f"--runs-file: {exc}") from None
    return done


def _run_tasks(pool, tasks: list, args, out, keys: dict, label: str = "") -> dict:
    """Run ``tasks`` (review, system, seed) on ``pool``, appending each finished run to ``out``:
    {task: run dict}."""
    futures = [pool.submit(run_task, r, s, seed, args.asreview_exe, args.asreview_cache_dir)
               for r, s, seed in tasks]
    got = {}
    for i, fut in enumerate(as_completed(futures), 1):
        review, system, seed, run, note = fut.result()
        got[(review, system, seed)] = run
        out.write(json.dumps({"key": keys[review], "review": review, "system": system, "seed": seed,
                              "run": run}) + "\n")
        out.flush()
        print(f"{label}[{i}/{len(tasks)}] {review}: {note}", flush=True)
    return got


def _carry_stale(args, pool, out, keys: dict, todo: list, stale: dict) -> dict:
    """Runs of ``--carry-runs`` under older code, checked and carried (:mod:`_screening_carry`), written to
    ``out`` with their provenance: {task: run dict} (the check's reruns included)."""
    sizes = {r: len(load_set(r)) for r in {t[0] for t in todo}}
    reruns, carried, lines = _screening_carry.carry(
        stale, todo, sizes, lambda tasks: _run_tasks(pool, tasks, args, out, keys, "check "))
    for (review, system, seed), run in carried.items():
        out.write(json.dumps({"key": keys[review], "review": review, "system": system, "seed": seed, "run": run,
                              "carried_from": stale[(review, system, seed)][0]}) + "\n")
    out.flush()
    for line in lines:
        print(f"carry: {line}", flush=True)
    return {**reruns, **carried}


def run_all(args, systems: list[str], reviews: list[str]) -> dict:
    """Every (review, system, seed) run, from ``--runs-file`` where stored (or carried from ``--carry-runs``
    after a check), the rest computed with ``--jobs`` workers, largest review first:
    {(review, system): [SimulationRun per seed]}."""
    code = code_hash()
    keys = {r: f"{set_hash(load_set(r))}:{code}" for r in reviews}
    runs_file = Path(args.runs_file)
    done = read_done(runs_file, keys)
    todo = [(r, s, seed) for r in sorted(reviews, key=lambda r: -len(load_set(r))) for s in systems
            for seed in args.seeds if (r, s, seed) not in done]
    print(f"{len(done)} runs stored in {runs_file}, {len(todo)} to run with {args.jobs} workers", flush=True)
    runs_file.parent.mkdir(parents=True, exist_ok=True)
    stale = {}
    if args.carry_runs and todo:
        try:
            stale = _screening_carry.stale_runs(Path(args.carry_runs), keys)
        except (OSError, ValueError) as exc:
            raise _rows.UsageError(f"--carry-runs: {exc}") from None
    with ProcessPoolExecutor(max_workers=args.jobs) as pool, runs_file.open("a", encoding="utf-8") as out:
        if stale:
            done.update(_carry_stale(args, pool, out, keys, todo, stale))
            todo = [t for t in todo if t not in done]
            print(f"{len(todo)} runs left to run", flush=True)
        done.update(_run_tasks(pool, todo, args, out, keys))
    return {(r, s): [_run_from(done[(r, s, seed)]) for seed in args.seeds] for r in reviews for s in systems}


def result_of(review: str, system: str, runs: list, model: str | None = None):
    """The :class:`SimulationResult` of ``system``'s ``runs`` on ``review``; its balancer is that of the
    registered model ``model`` (default: ``system``), ``balanced`` for ASReview's elas_u4."""
    from serendip.screening.models import SCREENING_MODELS
    from serendip.screening.simulate import SimulationResult

    ds = load_set(review)
    model = model or model_of(system)
    balance = "balanced" if model == ASREVIEW else SCREENING_MODELS.get(model).balance[0]
    return SimulationResult(review, len(ds), ds.n_includes, system, "max", balance, 1, runs)


def choose_loro(results: dict, reviews: list[str], candidates=None) -> dict[str, tuple[str, dict[str, float]]]:
    """review -> (candidate with the highest mean WSS@95 over the other reviews, {candidate: that mean});
    ``candidates`` default :data:`CANDIDATES`."""
    candidates = candidates or CANDIDATES
    wss = {(r, c): results[(r, c)].summary()["wss@95"][0] for r in reviews for c in candidates}
    out = {}
    for review in reviews:
        others = [r for r in reviews if r != review]
        means = {c: statistics.fmean(wss[(r, c)] for r in others) for c in candidates}
        out[review] = (max(candidates, key=lambda c: means[c]), means)
    return out


def rows_for(review: str, results: dict, seeds, chosen: str | None) -> list[dict]:
    """Pooled rows (mean ± sd over ``seeds``) per system and metric (the stopping rules are summarised over
    every review by :func:`summary_rows`; per review they are printed)."""
    rows = []
    settings = {"strategy": "max", "priors": "1+1", "labels": "abstract"}  # refitted after every label
    for method, res in results.items():
        base = "tfidf-nb" if method == ASREVIEW else ASREVIEW
        s = dict(settings, balance=res.balance)
        if method == CHOSEN:
            s["chosen"] = f"{shown_name(chosen)} (on the other reviews)"
        if "@adapted" in method or (method == CHOSEN and "@adapted" in (chosen or "")):
            s["embedding_model"] = _ADAPTED["label"]
        for key in ROW_METRICS:
            mean, sd = pooled(res, key)
            b = results.get(base)
            anchor = None
            if key == "wss@95" and review in ISSUE_WSS95:
                anchor = (f"ASReview 3.0.8 elas_u4, {review}", ISSUE_WSS95[review][0], "issue 17, not published")
            rows.append(_rows.row(BENCH, f"{DATASET}/{review}", "test", res.n, method,
                                  key, mean, settings=s, seed=None,
                                  seeds=list(seeds), sd=sd, baseline=(base, pooled(b, key)[0]) if b else None,
                                  anchor=anchor, wall_s=sum(r.wall_s for r in res.runs)))
    return rows


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reviews", nargs="+", help="Cohen reviews (default: every review in the mirror)")
    ap.add_argument("--seeds", type=_rows.int_list, default=[0, 1, 2, 3, 4],
                    help="comma-separated seeds; each draws the priors and seeds every system (default 0-4)")
    ap.add_argument("--models", nargs="*", default=[*SIMPLE, *CANDIDATES],
                    help="Serendip models (none: ASReview only); serendip is chosen when every candidate runs")
    ap.add_argument("--jobs", type=_rows.positive_int, default=1, help="worker processes")
    ap.add_argument("--runs-file", default=None,
                    help="JSON lines of finished runs, reused on a rerun (default: "
                         "$SERENDIP_CACHE/screening-runs/screening_cohen.jsonl)")
    ap.add_argument("--carry-runs", type=Path, default=None,
                    help="a runs file of older code: each system's runs there are reused after its reruns on the "
                         "two smallest reviews reproduce them exactly (see _screening_carry)")
    ap.add_argument("--asreview-cache", type=Path, default=None,
                    help="keep ASReview's runs here and reuse them (default: $SERENDIP_CACHE/screening-asreview)")
    ap.add_argument("--no-asreview-cache", action="store_true", help="run ASReview again, cached runs unused")
    ap.add_argument("--asreview", help="asreview 3.0.8 executable")
    ap.add_argument("--no-asreview", action="store_true", help="Serendip's models only")
    ap.add_argument("--adapted-model", type=Path, default=None,
                    help="a domain-adapted encoder (a `serendip pretrain` checkpoint or a sentence-transformers "
                         f"folder): also run {', '.join(ADAPTED_MODELS)} on its embeddings (NAME@adapted), the "
                         "fusion among the candidates")
    ap.add_argument("--no-write", action="store_true", help="print, do not write rows")
    return ap.parse_args()


def main() -> None:
    args = parse_args()
    t_all = time.perf_counter()
    names = review_names()
    reviews = args.reviews or names
    unknown = sorted(set(reviews) - set(names))
    if unknown:
        raise _rows.UsageError(f"unknown review {', '.join(unknown)}; reviews: {', '.join(names)}")
    from serendip.screening.models import model_names

    unknown = sorted(set(args.models) - set(model_names()))
    if unknown:  # refused before any file is written or any run starts
        raise _rows.UsageError(f"unknown model {', '.join(unknown)}; models: {', '.join(model_names())}")
    args.asreview_exe = None if args.no_asreview else find_asreview(args.asreview)
    cache = None if args.no_asreview_cache else args.asreview_cache or asreview_cache_dir()
    args.asreview_cache_dir = str(cache) if cache else None
    base = Path(os.environ.get("SERENDIP_CACHE", "").strip() or Path.home() / ".cache" / "serendip").expanduser()
    args.runs_file = args.runs_file or str(base / "screening-runs" / f"{BENCH}.jsonl")
    if args.carry_runs and not args.carry_runs.is_file():
        what = "a folder, not a runs file" if args.carry_runs.is_dir() else "no such file"
        raise _rows.UsageError(f"--carry-runs {args.carry_runs}: {what}")
    adapted = adapted_systems(args.adapted_model)
    systems = list(args.models) + adapted + ([ASREVIEW] if args.asreview_exe else [])
    runs = run_all(args, systems, reviews)
    candidates = (*CANDIDATES, *[s for s in adapted if model_of(s) in CANDIDATES])
    loro = choose_loro({k: result_of(*k, v) for k, v in runs.items()}, reviews, candidates) \
        if set(CANDIDATES) <= set(args.models) and len(reviews) > 1 else {}
    per_review, rows = {}, []
    for review in reviews:
        results = {shown_name(s): result_of(review, s, runs[(review, s)]) for s in systems}
        if review in loro:
            chosen, means = loro[review]
            results[CHOSEN] = result_of(review, CHOSEN, runs[(review, chosen)], model_of(chosen))
            print(f"{review}: serendip = {shown_name(chosen)} (mean WSS@95 on the other reviews: "
                  + ", ".join(f"{shown_name(c)} {100 * m:.2f}" for c, m in means.items()) + ")")
        show(review, results)
        per_review[review] = results
        rows += rows_for(review, results, args.seeds, loro.get(review, (None,))[0])
    if len(reviews) > 1:
        print_summary(per_review)
        rows += summary_rows(per_review, args.seeds)
    _rows.finish(BENCH, rows, time.perf_counter() - t_all, no_write=args.no_write, moved_out=MOVED_OUT)


if __name__ == "__main__":
    _rows.run_main(main)
