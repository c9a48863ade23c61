"""Molecular property prediction on MoleculeNet: Serendip's models beside Chemprop, same splits, same script.

Data (mirror ``moleculenet/``; Wu et al. 2018): ESOL (``delaney-processed.csv``, measured log
solubility, 1,128 rows, random split), Lipophilicity (``lipo.csv``, logD7.4, 4,200 rows, random split),
BBBP (``bbbp.csv``, chemprop's 2,039 parseable rows, binary ``p_np``, balanced Bemis–Murcko scaffold
split). Rows are the file's rows (``read_molecules(merge=False)``: duplicates kept, so the indices are
the file's and Chemprop trains on the same rows); every SMILES is checked and standardised by
:mod:`serendip.chem` (an unparseable row would stop the script: none is in these files).

Splits: 80/10/10 per seed (``--seeds``, default 0-4): random = ``numpy.random.default_rng(seed)
.permutation``; scaffold = chemprop v1 ``scaffold_balanced`` ordering with the same rng
(:mod:`serendip.chem.splits`). The split files are written in Chemprop's ``--splits-file`` form to
``$SERENDIP_CACHE/molecules/<dataset>-<split>.json``; each model's validation and test predictions to
``$SERENDIP_CACHE/molecules/preds-<dataset>-seed<k>.npz`` (``--reuse-preds`` scores those again instead of
refitting, e.g. after an ensemble is added).

Models (all on the same split indices): ``chemprop`` (chemprop 2.3.1 D-MPNN through its Python API
with ``chemprop train``'s defaults, CPU, ``seed`` = the split seed; it reads the file's SMILES as
``chemprop train`` would), ``rf`` (the forest baseline: 500 trees on RDKit 2D descriptors), ``rf-counts``
(forest on 2D + Morgan counts), ``gbm`` (LightGBM on 2D + Morgan counts, early-stopped on validation),
``rf-morgan`` (BBBP: forest on Morgan bits, the issue's BBBP baseline), and Serendip's ensembles:
``serendip`` = mean of rf, rf-counts, gbm; ``serendip+chemprop`` = those and Chemprop; ``serendip-best``
= per seed, whichever of the two has the better *validation* score (tuned on validation only);
``serendip+chemprop-stack`` = the four combined by convex weights fitted on the validation predictions
(:func:`serendip.chem.models.stack_weights`, stacked regression; its validation score is therefore
in-sample and it is not a candidate of ``serendip-best``).
Test metrics: RMSE (regression), ROC-AUC (BBBP). Each pooled row: mean ± sample sd over the seeds, the
ratio to Chemprop (per seed, then mean ± sd; the ``baseline`` field is Chemprop), and for ensembles the
90 % split-conformal intervals calibrated on validation (spread-normalised): test coverage and mean
width; ``ad_max_tanimoto`` = mean nearest-training-neighbour Tanimoto of the test molecules.

Usage::

    SERENDIP_DATA_MIRROR=/work/shared/data OMP_NUM_THREADS=1 nice -n 15 python benchmarks/molecules.py \
        --datasets esol --seeds 0,1,2,3,4
    python benchmarks/molecules.py --datasets esol --pool   # pool the one-seed rows of a run stopped early
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _rows  # noqa: E402

BENCH = "molecules"
#: name -> (file, target column, task, split kind, metric, issue-18 anchor of Chemprop (value, note))
DATASETS = {
    "esol": ("delaney-processed.csv", "measured log solubility in mols per litre", "regression", "random", "rmse",
             (0.643, "Chemprop 2.3.1 CLI defaults, seeds 0-2, measured here (issue 18)")),
    "bbbp": ("bbbp.csv", "p_np", "classification", "scaffold", "roc_auc",
             (0.827, "Chemprop 2.3.1 CLI defaults, seed 0, chemprop's own scaffold split, measured here (issue 18)")),
    "lipo": ("lipo.csv", "lipo", "regression", "random", "rmse",
             (0.603, "Chemprop 2.3.1 CLI defaults, seed 0, measured here (issue 18)")),
}
SINGLE = {"regression": ("rf", "rf-counts", "gbm"), "classification": ("rf", "rf-morgan", "rf-counts", "gbm")}
ENSEMBLES = {"serendip": ("rf", "rf-counts", "gbm"), "serendip+chemprop": ("rf", "rf-counts", "gbm", "chemprop")}
STACKS = {"serendip+chemprop-stack": ("rf", "rf-counts", "gbm", "chemprop")}  # weights fitted on validation


def _score(metric: str, y: np.ndarray, p: np.ndarray) -> float:
    if metric == "rmse":
        return float(np.sqrt(np.mean((y - p) ** 2)))
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(y.astype(int), p))


def _better(metric: str, a: float, b: float) -> bool:
    return a < b if metric == "rmse" else a > b


def load(mirror: Path, name: str):
    from serendip.chem import read_molecules

    fname, target, *_ = DATASETS[name]
    path = mirror / "moleculenet" / fname
    ms = read_molecules(path, value_columns=[target], merge=False)
    if ms.issues:
        raise SystemExit(f"{path}: {len(ms.issues)} unreadable rows, first: {ms.issues[0]}")
    raw = [m.input_smiles.strip() for m in ms.molecules]
    return ms.smiles, raw, ms.values(target)


def _cached_preds(path: Path | None, split) -> dict:
    """{model: (val_pred, test_pred)} stored for this split at ``path`` ({} when none or another split)."""
    if path is None or not path.is_file():
        return {}
    with np.load(path) as z:
        if not (np.array_equal(z["val_idx"], split.val) and np.array_equal(z["test_idx"], split.test)):
            return {}
        return {k[:-4]: (z[k], z[k[:-4] + "_test"]) for k in z.files if k.endswith("_val") and k != "val_idx"}


def _save_preds(path: Path, split, preds: dict) -> None:
    arrays = {"val_idx": np.asarray(split.val), "test_idx": np.asarray(split.test)}
    for model, (pv, pt) in preds.items():
        arrays[f"{model}_val"], arrays[f"{model}_test"] = pv, pt
    np.savez(path, **arrays)


def run_seed(name: str, smiles, raw, y, seed: int, epochs: int, log, preds_file: Path | None = None,
             reuse: bool = False) -> dict:
    """Every model on one seed's split: {"split", "preds" {model: (val_pred, test_pred)}, "scores", ...};
    with ``reuse``, predictions stored in ``preds_file`` for the same split are used instead of refitting."""
    from serendip.chem.models import make_model, stack_weights, weighted_mean_sd
    from serendip.chem.splits import make_split
    from serendip.chem.uncertainty import ApplicabilityDomain, SplitConformal

    _f, _t, task, kind, metric, _a = DATASETS[name]
    split = make_split(kind, smiles, seed=seed)
    pick = lambda seq, idx: [seq[i] for i in idx]  # noqa: E731
    out: dict = {"split": split, "preds": {}, "times": {}}
    cached = _cached_preds(preds_file, split) if reuse else {}
    for model in SINGLE[task] + ("chemprop",):
        if model in cached:
            out["preds"][model], out["times"][model] = cached[model], 0.0
            log(f"{name} seed {seed} {model}: predictions reused from {preds_file}")
            continue
        t0 = time.perf_counter()
        m = make_model(model, task, seed)
        if model == "chemprop":
            m.epochs = epochs
        src = raw if model == "chemprop" else smiles
        m.fit(pick(src, split.train), y[split.train], pick(src, split.val), y[split.val])
        out["preds"][model] = (m.predict(pick(src, split.val)), m.predict(pick(src, split.test)))
        out["times"][model] = time.perf_counter() - t0
        log(f"{name} seed {seed} {model}: val {_score(metric, y[split.val], out['preds'][model][0]):.4f} "
            f"test {_score(metric, y[split.test], out['preds'][model][1]):.4f} ({out['times'][model]:.0f} s)")
        if preds_file is not None:
            _save_preds(preds_file, split, out["preds"])
    scores = {m: {s: _score(metric, y[getattr(split, s)], p) for s, p in zip(("val", "test"), pv)}
              for m, pv in out["preds"].items()}
    conformal, weights = {}, {}
    for ens, members in {**ENSEMBLES, **STACKS}.items():
        pv = np.stack([out["preds"][m][0] for m in members])
        pt = np.stack([out["preds"][m][1] for m in members])
        w = stack_weights(pv, y[split.val]) if ens in STACKS else np.full(len(members), 1 / len(members))
        weights[ens] = dict(zip(members, np.round(w, 4).tolist()))
        (mv, sv), (mt, st) = weighted_mean_sd(pv, w), weighted_mean_sd(pt, w)
        scores[ens] = {"val": _score(metric, y[split.val], mv), "test": _score(metric, y[split.test], mt)}
        if task == "regression":
            cp = SplitConformal(alpha=0.1).fit(y[split.val], mv, sv)
            lo, hi = cp.interval(mt, st)
            yt = y[split.test]
            conformal[ens] = {"coverage": float(np.mean((yt >= lo) & (yt <= hi))), "width": float(np.mean(hi - lo))}
    best = max(ENSEMBLES, key=lambda e: scores[e]["val"] * (-1 if metric == "rmse" else 1))
    scores["serendip-best"] = dict(scores[best], chosen=best)
    conformal["serendip-best"] = conformal.get(best)
    ad = ApplicabilityDomain().fit(pick(smiles, split.train))
    out.update(scores=scores, conformal=conformal, ad=float(ad.score(pick(smiles, split.test))[0].mean()),
               weights=weights)
    log(f"{name} seed {seed} test: " + ", ".join(f"{m} {s['test']:.4f}" for m, s in scores.items())
        + f"; chosen {best}; stack weights {weights[next(iter(STACKS))]}; conformal {conformal}")
    return out


def _sd(xs: list[float]) -> float | None:
    return statistics.stdev(xs) if len(xs) > 1 else None


def rows_for(name: str, n: int, runs: dict[int, dict], wall: float) -> list[dict]:
    """Rows of the seeds in ``runs``: pooled (``seeds``, mean ± sd) for two seeds or more, else the one
    seed's rows (``seed``; written after each seed, so a run stopped early keeps what it measured)."""
    _f, _t, task, kind, metric, anchor = DATASETS[name]
    seeds = sorted(runs)
    pooled = len(seeds) > 1
    cp = [runs[s]["scores"]["chemprop"]["test"] for s in seeds]
    rows = []
    dataset = f"moleculenet/{name}"
    for method in list(runs[seeds[0]]["scores"]):
        vals = [runs[s]["scores"][method]["test"] for s in seeds]
        settings = {"split_kind": kind, "sizes": "80/10/10"}
        if method == "serendip-best":
            settings["selection"] = "better validation score of serendip, serendip+chemprop (per seed)"
        if method in STACKS:
            settings["weights"] = "convex, fitted on validation (stacked regression)"
        anc = (f"Chemprop ({anchor[1]})", anchor[0], "issue 18") if method == "chemprop" else None
        base = None if method == "chemprop" else ("chemprop", statistics.mean(cp))
        common = dict(settings=settings, seeds=seeds if pooled else None, seed=seeds[0], wall_s=wall)
        rows.append(_rows.row(BENCH, dataset, "test", n, method, metric, statistics.mean(vals),
                              sd=_sd(vals), baseline=base, anchor=anc, **common))
        if method != "chemprop":
            ratio = [v / c for v, c in zip(vals, cp)]
            rows.append(_rows.row(BENCH, dataset, "test", n, method, f"{metric}_ratio_to_chemprop",
                                  statistics.mean(ratio), sd=_sd(ratio), **common))
        conf = [runs[s]["conformal"].get(method) for s in seeds]
        if all(conf):
            for key in ("coverage", "width"):
                xs = [c[key] for c in conf]
                rows.append(_rows.row(BENCH, dataset, "test", n, method, f"conformal90_{key}",
                                      statistics.mean(xs), sd=_sd(xs), **common))
    ads = [runs[s]["ad"] for s in seeds]
    rows.append(_rows.row(BENCH, dataset, "test", n, "serendip", "ad_max_tanimoto", statistics.mean(ads),
                          sd=_sd(ads), settings={"split_kind": kind, "fingerprint": "morgan-r2-2048"},
                          seeds=seeds if pooled else None, seed=seeds[0], wall_s=wall))
    return rows


def pool_stored(names: list[str]) -> list[dict]:
    """Pooled rows (mean ± sample sd, ``seeds``) from the one-seed rows stored (JSON and archive) for ``names``
    (a run stopped before its last seed wrote its pooled rows); the baseline is Chemprop's mean over
    the same seeds. Returns [] where fewer than two seeds are stored."""
    stored = _rows.read_all_rows(BENCH)  # one-seed rows already pooled live in results/archive/
    out = []
    for name in names:
        dataset = f"moleculenet/{name}"
        per_seed = [r for r in stored if r["dataset"] == dataset and not r.get("seeds") and r.get("seed") is not None]
        groups: dict[tuple, dict[int, dict]] = {}
        for r in per_seed:
            groups.setdefault((r["method"], r["metric"], _rows.settings_key(r)), {})[r["seed"]] = r
        metric = DATASETS[name][4]
        cp = groups.get(("chemprop", metric, _rows.settings_key({"settings": {"split_kind": DATASETS[name][3],
                                                                                "sizes": "80/10/10"}})), {})
        for (method, m, _key), by_seed in groups.items():
            seeds = sorted(by_seed)
            if len(seeds) < 2:
                continue
            vals = [by_seed[s]["value"] for s in seeds]
            first = by_seed[seeds[0]]
            base = None
            if m == metric and method != "chemprop" and all(s in cp for s in seeds):
                base = ("chemprop", statistics.mean(cp[s]["value"] for s in seeds))
            anc = first.get("anchor")
            out.append(_rows.row(BENCH, dataset, "test", first["n"], method, m, statistics.mean(vals), sd=_sd(vals),
                                 settings=first.get("settings"), seeds=seeds, baseline=base,
                                 anchor=(anc["name"], anc["value"], anc["source"]) if anc else None,
                                 wall_s=sum(by_seed[s].get("wall_s") or 0 for s in seeds)))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--datasets", default="esol,bbbp,lipo", help="comma-separated: esol, bbbp, lipo")
    ap.add_argument("--seeds", type=_rows.int_list, default=[0, 1, 2, 3, 4])
    ap.add_argument("--epochs", type=_rows.positive_int, default=50, help="Chemprop epochs (CLI default 50)")
    ap.add_argument("--threads", type=_rows.positive_int, default=1,
                    help="torch threads for Chemprop (1: OpenMP threads spin-wait on busy shared cores)")
    ap.add_argument("--pool", action="store_true",
                    help="only pool the one-seed rows stored for --datasets (a run stopped early) and write them")
    ap.add_argument("--reuse-preds", action="store_true",
                    help="score the predictions stored by an earlier run on the same splits instead of refitting")
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()
    if args.pool:
        rows = pool_stored([d.strip() for d in args.datasets.split(",") if d.strip()])
        for r in rows:
            print(r["dataset"], r["method"], r["metric"], r["value"], r["sd"], r["seeds"])
        _rows.finish(BENCH, rows, 0.0, no_write=args.no_write)
        return
    import torch

    torch.set_num_threads(args.threads)
    mirror = os.environ.get("SERENDIP_DATA_MIRROR")
    if not mirror or not Path(mirror).is_dir():
        raise _rows.UsageError("SERENDIP_DATA_MIRROR must name the data mirror folder")
    from serendip.chem.splits import make_split, write_chemprop_splits

    cache = Path(os.environ.get("SERENDIP_CACHE", Path.home() / ".cache" / "serendip")) / "molecules"
    cache.mkdir(parents=True, exist_ok=True)
    t_all = time.perf_counter()
    for name in [d.strip() for d in args.datasets.split(",") if d.strip()]:
        if name not in DATASETS:
            raise _rows.UsageError(f"unknown dataset {name!r}; expected one of: {', '.join(DATASETS)}")
        t0 = time.perf_counter()
        smiles, raw, y = load(Path(mirror), name)
        kind = DATASETS[name][3]
        write_chemprop_splits([make_split(kind, smiles, seed=s) for s in args.seeds], cache / f"{name}-{kind}.json")
        runs = {}
        for s in args.seeds:
            t_seed = time.perf_counter()
            runs[s] = run_seed(name, smiles, raw, y, s, args.epochs, lambda m: print(m, flush=True),
                               cache / f"preds-{name}-seed{s}.npz", args.reuse_preds)
            if len(args.seeds) > 1 and not args.no_write:  # this seed's rows now; pooled rows at the end
                _rows.write(BENCH, rows_for(name, len(smiles), {s: runs[s]}, time.perf_counter() - t_seed))
        rows = rows_for(name, len(smiles), runs, time.perf_counter() - t0)
        detail = {str(s): {"scores": r["scores"], "conformal": r["conformal"], "ad": r["ad"], "times": r["times"],
                           "weights": r["weights"]}
                  for s, r in runs.items()}
        print(json.dumps({name: detail}, default=float), flush=True)
        _rows.finish(BENCH, rows, time.perf_counter() - t0, no_write=args.no_write)
    print(f"all datasets {time.perf_counter() - t_all:.0f} s")


if __name__ == "__main__":
    _rows.run_main(main)
