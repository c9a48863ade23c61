"""Design for solubility: raise a property model's predicted ESOL log solubility under QED and PAINS
constraints, inside the applicability domain, and show it in the HTML report.

    SERENDIP_DATA_MIRROR=/work/shared/data python benchmarks/design_esol.py [--budget 1500] [--seed 0] \\
        [--model serendip] [--method surrogate_ga] [--qed-min 0.6] [--ad-min 0.4] [--range-margin rmse] \\
        [--report PATH]

1. Train (or reuse, from ``$SERENDIP_CACHE/design_esol/``) a property model on ESOL
   (``moleculenet/delaney-processed.csv``, column "measured log solubility in mols per litre", log10 mol/L;
   Delaney 2004) on the random 80/10/10 split of ``--seed``.
2. The objective (:class:`serendip.chem.design.property.PropertyOracle`): maximise the predicted log
   solubility; infeasible (score 0) when QED < ``--qed-min`` or a PAINS alert matches; score 0 outside the
   applicability domain (max Tanimoto to training < ``--ad-min``, or a prediction beyond the training
   targets' range widened by ``--range-margin``: ``rmse`` = the model's out-of-fold RMSE, ``none`` = no
   range check, as before).
3. The bar: the objective on every training molecule; the best of those meeting the constraints. A
   training molecule's value is its *out-of-fold* prediction (5-fold, by models fitted without it,
   :mod:`serendip.chem.crossval`), the same kind of number as a design's (a prediction for a molecule the
   model never saw); the in-sample prediction (a forest predicts its own molecules near their measured
   values) and the measured value are reported beside it.
4. Serendip's design method (``--method``, default ``surrogate_ga``) started from the training molecules,
   within ``--budget`` unique oracle calls.
5. Rows: the top-10 new candidates' (training molecules scored on the way are not designs) smallest and
   mean predicted log solubility beside the best training molecule's (baseline, out of fold), how many of the 10 beat each bar (out of fold, in-sample, measured)
   while feasible and inside the domain, their smallest AD score, their largest prediction beside the
   largest measured training value, how many feasible molecules the run scored beyond the trusted range,
   and PMO's AUC top-10. The HTML report (:func:`serendip.chem.report.write_report`) of the top 10 (with
   the five highest-predicted feasible molecules the domain excluded, and why) goes to ``--report``. Rows are written to ``results/design_esol.json`` (RESULTS.md is not regenerated).
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

BENCH = "design_esol"
HERE = Path(__file__).resolve().parent
ESOL = "moleculenet/delaney-processed.csv"
TARGET = "measured log solubility in mols per litre"


def model_folder(model: str, seed: int) -> Path:
    base = os.environ.get("SERENDIP_CACHE", "").strip()
    root = Path(base).expanduser() if base else Path.home() / ".cache" / "serendip"
    return root / BENCH / f"esol-{model}-random-seed{seed}"


def ensure_model(folder: Path, model: str, seed: int) -> None:
    """Train the ESOL model into ``folder`` unless a complete one (with target_stats) is there."""
    meta = folder / "model.json"
    if meta.is_file() and "train_oof" in json.loads(meta.read_text()).get("metrics", {}):
        return
    from serendip.chem.api import train

    mirror = os.environ.get("SERENDIP_DATA_MIRROR", "")
    path = Path(mirror) / ESOL
    if not mirror or not path.is_file():
        raise _rows.UsageError(f"SERENDIP_DATA_MIRROR must name the data mirror folder holding {ESOL}")
    folder.parent.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    res = train(path, TARGET, model=model, split="random", seed=seed, out=folder, force=True, oof_folds=5)
    print(f"trained {model} on ESOL (random split, seed {seed}): test RMSE {res.metrics['test']['rmse']:.4f} "
          f", 5-fold out-of-fold RMSE on train {res.metrics['train_oof']['rmse']:.4f} "
          f"({time.perf_counter() - t0:.0f} s)", flush=True)


def new_molecules_top(history, train_smiles, k: int) -> list[str]:
    """The ``k`` best-scoring SMILES of ``history`` ((SMILES, score) pairs) that are not training molecules
    (compared as RDKit canonical SMILES): a training molecule is not a design, and its score is the
    model's in-sample prediction."""
    from rdkit import Chem

    def canon(smi: str) -> str:
        mol = Chem.MolFromSmiles(smi)
        return Chem.MolToSmiles(mol) if mol is not None else smi

    known = {canon(s) for s in train_smiles}
    ranked = sorted(history, key=lambda t: -t[1])
    return [smi for smi, _ in ranked if canon(smi) not in known][:k]



def measured_rows(args, meta: dict, rng, common: dict) -> list[dict]:
    """What the seed's surrogate measured, as rows (not settings, so the page pools the seeds): its test RMSE
    (n = test molecules), its out-of-fold RMSE on training, and the upper end of the trusted prediction range
    (logS; none with ``--range-margin none``)."""
    n_train = meta["split"]["n_train"]
    rows = [_rows.row(BENCH, "esol", "random", meta["split"]["n_test"], args.method, "surrogate_test_rmse",
                      meta["metrics"]["test"]["rmse"], **common),
            _rows.row(BENCH, "esol", "random", n_train, args.method, "surrogate_train_oof_rmse",
                      meta["metrics"]["train_oof"]["rmse"], **common)]
    if rng is not None:
        rows.append(_rows.row(BENCH, "esol", "random", n_train, args.method, "range_high_logS", rng.high, **common))
    return rows

def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="serendip", help="property model (PROPERTY_MODELS name)")
    ap.add_argument("--model-dir", type=Path, default=None, help="model folder (default under $SERENDIP_CACHE)")
    ap.add_argument("--method", default="surrogate_ga")
    ap.add_argument("--budget", type=int, default=1500)
    ap.add_argument("--seed", type=int, default=0, help="seeds the split, the model and the design run")
    ap.add_argument("--start", choices=("train", "best-train"), default="train",
                    help="starting pool: every training molecule (the method draws its population at random) "
                         "or the 120 best-scoring training molecules (a medicinal chemist's starting set)")
    ap.add_argument("--patience", type=int, default=5,
                    help="generations without a 1e-3 rise of the top-100 mean before the GA stops (PMO: 5)")
    ap.add_argument("--qed-min", type=float, default=0.6)
    ap.add_argument("--constraints", default="no_pains",
                    help="comma-separated CONSTRAINTS names (no_pains, no_brenk, lipinski) besides QED")
    ap.add_argument("--ad-min", type=float, default=0.4)
    ap.add_argument("--range-margin", default="rmse",
                    help="trusted predictions: training range widened by this (rmse, a number in logS, or none)")
    ap.add_argument("--report", type=Path, default=HERE / "results" / "design_esol.html")
    ap.add_argument("--no-write", action="store_true", help="print the rows, write no results file")
    args = ap.parse_args()

    from serendip.chem.design import optimize
    from serendip.chem.design.property import PropertyOracle, best
    from serendip.chem.report import write_report

    start = time.perf_counter()
    folder = args.model_dir or model_folder(args.model, args.seed)
    ensure_model(folder, args.model, args.seed)
    try:
        margin = args.range_margin if args.range_margin == "rmse" else (
            None if args.range_margin == "none" else float(args.range_margin))
    except ValueError:
        raise _rows.UsageError(f"--range-margin must be rmse, none or a number; got: {args.range_margin!r}") from None
    oracle = PropertyOracle(folder, goal="maximize", qed_min=args.qed_min, constraints=args.constraints.split(","),
                            ad_min=args.ad_min, range_margin=margin)
    rng = oracle.range
    print(f"prediction range: {f'[{rng.low:.3f}, {rng.high:.3f}] ({rng.source} {rng.margin:.3f})' if rng else 'off'}",
          flush=True)
    bars = {kind: best(oracle.score_training_set(kind)) for kind in ("out_of_fold", "model", "measured")}
    train_evs = oracle.score_training_set("out_of_fold")
    bar = bars["out_of_fold"]
    n_feasible = sum(e.feasible for e in train_evs)
    print(f"training set: {len(train_evs)} molecules, {n_feasible} meet QED >= {args.qed_min} and {args.constraints}",
          flush=True)
    for kind, b in bars.items():
        print(f"  best on the {kind} value: {b.smiles} logS {b.prediction:.3f} (score {b.score:.4f})", flush=True)
    t0 = time.perf_counter()
    pool = oracle.model.train_smiles
    if args.start == "best-train":
        pool = [e.smiles for e in sorted(train_evs, key=lambda e: -e.score)[:120]]
    res = optimize(oracle, args.method, budget=args.budget, seed=args.seed, pool=pool, patience=args.patience)
    design_s = time.perf_counter() - t0
    top = oracle.evaluate(new_molecules_top(res.history, oracle.model.train_smiles, 10))
    zeros = oracle.evaluate([smi for smi, score in res.history if score == 0.0])
    beyond = sorted((e for e in zeros if e.feasible and any(r.startswith("prediction") for r in e.outside)),
                    key=lambda e: -e.objective)
    beats = {kind: [e for e in top if e.feasible and e.in_domain and e.objective > b.objective]
             for kind, b in bars.items()}
    beat = beats["out_of_fold"]
    for i, e in enumerate(top, 1):
        print(f"{i:>2} logS {e.prediction:.3f} [{e.lower:.2f}, {e.upper:.2f}] AD {e.ad:.3f} QED {e.qed:.3f} "
              f"score {e.score:.4f} {'beats' if e in beat else 'does not beat'} the bar  {e.smiles}"
              + (f"  [outside: {'; '.join(e.outside)}]" if e.outside else ""), flush=True)
    print(f"{len(beyond)} feasible molecules scored beyond the trusted range"
          + (f" (highest prediction {beyond[0].prediction:.3f})" if beyond else ""), flush=True)
    for kind, b in bars.items():
        print(f"{len(beats[kind])} of {len(top)} beat the best training molecule on its {kind} value "
              f"({b.prediction:.3f})", flush=True)
    print(f"{res.calls} calls, AUC top-10 {res.auc_top10:.4f}, {design_s:.0f} s", flush=True)
    run = {"method": args.method, "budget": args.budget, "calls": res.calls, "seed": args.seed,
           "start": f"the {len(oracle.model.train_smiles)} training molecules", "AUC top-10": round(res.auc_top10, 4),
           "patience": args.patience, "top-10 beating the best training molecule": f"{len(beat)} of {len(top)}",
           "feasible molecules scored beyond the trusted prediction range (score 0)": len(beyond)}
    write_report(args.report, oracle, [e.smiles for e in top], names=[f"design {i}" for i in range(1, len(top) + 1)],
                 title=f"ESOL design: maximise predicted log solubility, QED >= {args.qed_min:g}, {args.constraints}",
                 run=run, bar_value="out_of_fold", excluded=[e.smiles for e in beyond[:5]])
    print(f"report: {args.report} ({args.report.stat().st_size / 1e3:.0f} kB)")

    meta = oracle.model.meta
    n_test = meta["split"]["n_test"]
    settings = {"model": args.model, "budget": args.budget, "qed_min": args.qed_min, "constraints": args.constraints,
                "ad_min": args.ad_min, "ad_penalty": "zero", "range_margin": args.range_margin,
                "start": f"esol-{args.start}", "patience": args.patience}
    wall = time.perf_counter() - start
    common = {"settings": settings, "seed": args.seed, "wall_s": wall}
    base = ("best training molecule (out of fold)", bar.prediction)
    preds = [e.prediction for e in top]
    rows = [
        _rows.row(BENCH, "esol", "random", len(top), args.method, "top10_min_pred_logS", min(preds), baseline=base,
                  **common),
        _rows.row(BENCH, "esol", "random", len(top), args.method, "top10_mean_pred_logS", statistics.fmean(preds),
                  baseline=base, **common),
        *[_rows.row(BENCH, "esol", "random", len(top), args.method, f"top10_beating_best_train_{kind}",
                    len(beats[kind]), baseline=(f"best training molecule ({kind})", bars[kind].prediction), **common)
          for kind in bars],
        _rows.row(BENCH, "esol", "random", len(top), args.method, "top10_max_pred_logS", max(preds),
                  baseline=("largest measured training logS", meta["target_stats"]["max"]), **common),
        _rows.row(BENCH, "esol", "random", len(top), args.method, "top10_min_ad_tanimoto", min(e.ad for e in top),
                  **common),
        _rows.row(BENCH, "esol", "random", res.calls, args.method, "feasible_scored_beyond_range", len(beyond),
                  **common),
        _rows.row(BENCH, "esol", "random", res.calls, args.method, "auc_top10", res.auc_top10,
                  baseline=("best training molecule score", bar.score), **common),
        *measured_rows(args, meta, rng, common),
    ]
    print(f"(test RMSE of the model: {meta['metrics']['test']['rmse']:.4f} on {n_test} molecules)")
    print(f"total {wall:.0f} s, peak RSS {_rows.peak_rss_mb():.0f} MB")
    if args.no_write:
        print(_rows.dump_rows(rows))
        return
    out = HERE / "results" / f"{BENCH}.json"
    out.write_text(_rows.dump_rows(_rows.merge_rows(_rows.read_rows(out), rows)), encoding="utf-8")
    print(f"rows: {out}")


if __name__ == "__main__":
    _rows.run_main(main)
