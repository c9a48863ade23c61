"""PMO-style goal-directed design: AUC top-10 per oracle within a budget of oracle calls.

    SERENDIP_DATA_MIRROR=/work/shared/data python benchmarks/design_pmo.py [--budget 10000] \\
        [--seeds 0,1,2] [--oracles qed,median1] [--methods graph_ga,surrogate_ga,best_in_training_set]

Scored as the PMO benchmark (Gao, Fu, Sun & Coley 2022, "Sample Efficiency Matters: A Benchmark for
Practical Molecular Optimization", NeurIPS Datasets and Benchmarks; ``wenhao-gao/mol_opt``): each
run may score ``--budget`` unique molecules; AUC top-10 is the area under the mean-top-10 curve read
every 100 calls, normalised by the budget, with the tail filled when a run stops early
(:func:`serendip.chem.design.top_auc`). The oracles are the GuacaMol objectives of PMO that are defined
offline (:data:`serendip.chem.design.PMO_ORACLES`; PMO's drd2, gsk3b, jnk3, deco_hop and scaffold_hop
are not run). Methods, all started from the MOSES 250k train subset (PMO starts from ZINC 250k):
Jensen's graph GA with PMO's settings, Serendip's surrogate GA, and "best in training set" (PMO's
screening). Rows: per oracle and method the mean ± sd over seeds (baseline: the graph GA), and the sum
over the oracles every method and seed finished (``auc_top10_sum``, sd over per-seed sums).

Every row carries ``code``, a fingerprint of the modules a run executes (:func:`code_fingerprint`).
A finished run is kept as JSON under ``$SERENDIP_CACHE/design_pmo/budget-<B>/<code>/``, and its
per-seed row in ``results/design_pmo.json``; both are reused while the fingerprint is unchanged, so
invocations over oracle subsets, in parallel or in later sessions on another machine, add up to the
sum, which a final invocation over all oracles writes. A stored run is never written again (its row
keeps the commit that ran it).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _rows  # noqa: E402

BENCH = "design_pmo"
BASELINE = "graph_ga"
METHODS = ("graph_ga", "surrogate_ga", "best_in_training_set")
POOL_NAME = "moses-train-250k-seed0"


#: the modules of ``serendip.chem.design`` that a PMO run executes (the property-model oracles are not used)
RUN_MODULES = ("api.py", "budget.py", "graph_ops.py", "methods.py", "oracles.py", "scoring.py")


def code_fingerprint() -> str:
    """The first 12 hex digits of the SHA-256 of :data:`RUN_MODULES` (name and bytes of each): runs
    with the same fingerprint ran the same code and are reused; any edit to those files starts afresh."""
    import hashlib

    import serendip.chem.design as design

    root, digest = Path(design.__file__).parent, hashlib.sha256()
    for name in RUN_MODULES:
        digest.update(name.encode() + b"\0" + (root / name).read_bytes())
    return digest.hexdigest()[:12]


def cache_dir(budget: int, code: str) -> Path:
    """``$SERENDIP_CACHE/design_pmo/budget-<budget>/<code>`` (default under ``~/.cache/serendip``)."""
    base = os.environ.get("SERENDIP_CACHE", "").strip()
    root = Path(base).expanduser() if base else Path.home() / ".cache" / "serendip"
    return root / BENCH / f"budget-{budget}" / code


def stored_runs(rows: list[dict], budget: int, code: str) -> dict:
    """``{(oracle, method, seed): run}`` from per-seed ``auc_top10`` rows of this budget and code
    fingerprint (runs a script stored earlier, here or on another machine)."""
    runs = {}
    for r in rows:
        settings = r.get("settings") or {}
        if (r["metric"] != "auc_top10" or r.get("seed") is None or settings.get("budget") != budget
                or settings.get("code") != code):
            continue
        oracle = r["dataset"].removeprefix("pmo/")
        runs[(oracle, r["method"], r["seed"])] = {"oracle": oracle, "method": r["method"], "seed": r["seed"],
                                                  "budget": budget, "auc_top10": r["value"], "calls": r["n"],
                                                  "wall_s": r["wall_s"]}
    return runs


def run_one(oracle: str, method: str, seed: int, budget: int, pool: list[str], code: str) -> dict:
    """One run (cached): auc_top10, calls, final top-10 mean, best molecule, wall seconds."""
    path = cache_dir(budget, code) / f"{oracle}--{method}--{seed}.json"
    if path.exists():
        out = json.loads(path.read_text(encoding="utf-8"))
        print(f"{oracle:26s} {method:22s} seed {seed}: AUC top-10 {out['auc_top10']:.4f} (from the cache, {path})",
              flush=True)
        return out
    from serendip.chem.design import optimize

    res = optimize(oracle, method, budget=budget, seed=seed, pool=pool)
    out = {"oracle": oracle, "method": method, "seed": seed, "budget": budget, "auc_top10": res.auc_top10,
           "calls": res.calls, "top10_mean": statistics.fmean(v for _, v in res.top10),
           "best": list(res.top10[0]), "wall_s": res.wall_s}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(out), encoding="utf-8")
    tmp.replace(path)
    print(f"{oracle:26s} {method:22s} seed {seed}: AUC top-10 {res.auc_top10:.4f} "
          f"({res.calls} calls, best {res.top10[0][1]:.3f}, {res.wall_s:.0f} s)", flush=True)
    return out


def _settings(budget: int, code: str) -> dict:
    return {"budget": budget, "start_pool": POOL_NAME, "auc": "top-10, every 100 calls", "code": code}


def _oracle_set(names: list[str]) -> str:
    """``"pmo-<n>"`` for the whole offline PMO set (:data:`PMO_ORACLES`), else the names joined by commas."""
    from serendip.chem.design import PMO_ORACLES

    return f"pmo-{len(names)}" if sorted(names) == sorted(PMO_ORACLES) else ",".join(names)


def build_rows(runs: dict, oracles: list[str], methods: list[str], seeds: list[int], budget: int, code: str,
               with_sum: bool = True, fresh: set | None = None) -> list[dict]:
    """Per-seed rows of the runs in ``fresh`` (all when None: a stored run keeps its row), pooled rows
    per (oracle, method), and (``with_sum``) the sum over the oracles every method and seed finished."""
    rows = []
    complete = [o for o in oracles if all((o, m, s) in runs for m in methods for s in seeds)]
    for oracle in oracles:
        for method in methods:
            done = [runs[(oracle, method, s)] for s in seeds if (oracle, method, s) in runs]
            if not done:
                continue
            vals = [r["auc_top10"] for r in done]
            base = [runs[(oracle, BASELINE, r["seed"])]["auc_top10"] for r in done
                    if (oracle, BASELINE, r["seed"]) in runs]
            baseline = (BASELINE, statistics.fmean(base)) if method != BASELINE and len(base) == len(done) else None
            common = dict(settings=_settings(budget, code), baseline=baseline)
            for r in done:
                if fresh is not None and (oracle, method, r["seed"]) not in fresh:
                    continue
                rows.append(_rows.row(BENCH, f"pmo/{oracle}", "goal-directed", r["calls"], method, "auc_top10",
                                      r["auc_top10"], seed=r["seed"], wall_s=r["wall_s"], **common))
            if len(done) > 1:
                rows.append(_rows.row(BENCH, f"pmo/{oracle}", "goal-directed", budget, method, "auc_top10",
                                      statistics.fmean(vals), seed=None, seeds=[r["seed"] for r in done],
                                      sd=statistics.stdev(vals), wall_s=sum(r["wall_s"] for r in done), **common))
    if not complete or not with_sum:
        return rows
    sums = {m: [sum(runs[(o, m, s)]["auc_top10"] for o in complete) for s in seeds] for m in methods}
    for method in methods:
        base = (BASELINE, statistics.fmean(sums[BASELINE])) if method != BASELINE and BASELINE in sums else None
        rows.append(_rows.row(BENCH, f"pmo/sum-{len(complete)}-oracles", "goal-directed", budget, method,
                              "auc_top10_sum", statistics.fmean(sums[method]), seed=None if len(seeds) > 1 else seeds[0],
                              seeds=list(seeds) if len(seeds) > 1 else None,
                              sd=statistics.stdev(sums[method]) if len(seeds) > 1 else None,
                              settings={**_settings(budget, code), "oracles": _oracle_set(complete)}, baseline=base))
        print(f"sum over {len(complete)} oracles, {method:22s}: {statistics.fmean(sums[method]):.3f} "
              f"(per seed {', '.join(f'{v:.3f}' for v in sums[method])})")
    return rows


def main() -> None:
    from serendip.chem.design import PMO_ORACLES

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--budget", type=_rows.positive_int, default=10_000, help="unique oracle calls per run")
    ap.add_argument("--seeds", type=_rows.int_list, default=[0, 1, 2])
    ap.add_argument("--oracles", default=",".join(PMO_ORACLES), help="comma-separated oracle names")
    ap.add_argument("--methods", default=",".join(METHODS))
    ap.add_argument("--no-run", action="store_true", help="only build rows from stored and cached runs")
    ap.add_argument("--no-sum", action="store_true", help="per-oracle rows only (e.g. a partial oracle set)")
    ap.add_argument("--no-write", action="store_true", help="print, do not write rows")
    args = ap.parse_args()
    oracles, methods = args.oracles.split(","), args.methods.split(",")
    from serendip.chem.design import METHODS as REGISTERED
    from serendip.chem.design import ORACLES

    for name in oracles:
        ORACLES.get(name)
    for name in methods:
        REGISTERED.get(name)
    start = time.perf_counter()
    code = code_fingerprint()
    runs = stored_runs(_rows.read_all_rows(BENCH), args.budget, code)
    print(f"code {code}: {len(runs)} runs of budget {args.budget:,} stored in the results", flush=True)
    pool, fresh = None, set()
    for seed in args.seeds:  # seed-major: every oracle of seed 0 first, so that partial runs give a sum
        for oracle in oracles:
            for method in methods:
                key = (oracle, method, seed)
                cached = cache_dir(args.budget, code) / f"{oracle}--{method}--{seed}.json"
                if key in runs or (args.no_run and not cached.exists()):
                    continue
                if pool is None and not cached.exists():
                    from serendip.chem.design import moses_pool

                    pool = moses_pool()
                runs[key] = run_one(oracle, method, seed, args.budget, pool, code)
                fresh.add(key)
    rows = build_rows(runs, oracles, methods, args.seeds, args.budget, code, with_sum=not args.no_sum, fresh=fresh)
    _rows.finish(BENCH, rows, time.perf_counter() - start, no_write=args.no_write)


if __name__ == "__main__":
    _rows.run_main(main)
