"""A small SMILES transformer: pre-trained with ``serendip pretrain`` on MOSES, fine-tuned on ESOL.

Recipe (issue 18, build items 4 and 5), all through the engine:

1. Pre-train a BERT-style masked language model from scratch (:func:`serendip.models.pretrain.pretrain`,
   corpus kind ``smiles``, the atom-level ``smiles`` tokenizer) on the first ``--moses-n`` SMILES of the
   seed-0 MOSES training subset (mirror ``moses/train_subset_250k_seed0.csv.gz``; Polykovskiy et al.
   2020). Cached under ``$SERENDIP_CACHE/smiles_transformer/`` (default ``~/.cache/serendip``): a
   folder whose ``pretrain_report.json`` holds the same config is reused.
2. ESOL (mirror ``moleculenet/delaney-processed.csv``, 1,128 rows, read as in
   ``benchmarks/molecules.py``: standardised SMILES, duplicates kept) split 80/10/10 with
   :func:`serendip.chem.splits.make_split` ``random`` seed ``--seed`` (the split of
   ``benchmarks/molecules.py``); train/dev/test written as CSV files beside the cache, so the engine
   reads the very same rows.
3. Fine-tune the pre-trained model (full fine-tuning, task ``regression``; the engine standardises the
   targets) three ways from the same seed: ``plain``; ``randomized_smiles`` (``n`` checked
   randomised SMILES per training molecule, :mod:`serendip.chem.augment`) with one test-time view
   (engine's test figure, dev selection with the view too); the same model scored without the view
   and averaged over ``--views`` views (``view_seed`` 0..k-1).
4. Baseline in the same script: the random forest on RDKit 2D descriptors (``serendip chem train
   --model rf``'s model, :func:`serendip.chem.models.make_model`) fitted on the same training rows.
   Anchor: Chemprop 2.3.1 CLI defaults, 0.643 ± 0.017 test RMSE over seeds 0-2 (measured here, issue 18).

Rows are printed in the form of ``benchmarks/_rows.py`` (and written unless ``--no-write``).

Usage::

    SERENDIP_DATA_MIRROR=/work/shared/data nice -n 19 python benchmarks/smiles_transformer.py \\
        --pretrain-steps 1000 --threads 1 --no-write
"""
from __future__ import annotations

import argparse
import csv
import gzip
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _rows  # noqa: E402

BENCH = "smiles_transformer"
TARGET = "measured log solubility in mols per litre"
CHEMPROP = ("Chemprop 2.3.1 CLI defaults, seeds 0-2, measured here (issue 18)", 0.643, "issue 18")


def _cache() -> Path:
    root = Path(os.environ.get("SERENDIP_CACHE", Path.home() / ".cache" / "serendip")) / "smiles_transformer"
    root.mkdir(parents=True, exist_ok=True)
    return root


def moses_corpus(mirror: Path, n: int, out: Path) -> Path:
    """The first ``n`` SMILES of the MOSES seed-0 training subset, one a line, at ``out`` (reused)."""
    if out.is_file() and sum(1 for _ in out.open()) == n:
        return out
    src = mirror / "moses" / "train_subset_250k_seed0.csv.gz"
    with gzip.open(src, "rt") as fh:
        rows = csv.DictReader(fh)
        smiles = [r["SMILES"].strip() for _, r in zip(range(n), rows)]
    out.write_text("\n".join(smiles) + "\n")
    return out


def pretrain_config(corpus: Path, out: Path, args: argparse.Namespace):
    from serendip.models.pretrain import PretrainConfig

    return PretrainConfig.model_validate({
        "kind": "smiles", "data": {"inputs": [str(corpus)], "heldout": 0.02, "max_heldout_windows": 512},
        "tokenizer": {"kind": "smiles"},
        "model": {"size": "small", "hidden_size": args.hidden, "num_hidden_layers": args.layers,
                  "num_attention_heads": 4, "intermediate_size": 2 * args.hidden, "max_position_embeddings": 128},
        "training": {"max_steps": args.pretrain_steps, "batch_size": 64, "lr": 1e-3, "eval_every": 500,
                     "seed": 0, "device": "cpu"},
        "output": {"dir": str(out), "overwrite": True}})


def pretrained(mirror: Path, args: argparse.Namespace, log) -> tuple[Path, dict]:
    """The pre-trained model folder (trained now unless cached with the same config) and its report."""
    from serendip.models.pretrain import pretrain

    cache = _cache()
    corpus = moses_corpus(mirror, args.moses_n, cache / f"moses-first{args.moses_n}.txt")
    out = cache / f"bert-L{args.layers}-H{args.hidden}-steps{args.pretrain_steps}-n{args.moses_n}"
    cfg = pretrain_config(corpus, out, args)
    report = out / "pretrain_report.json"
    if report.is_file():
        stored = json.loads(report.read_text())
        if stored.get("config") == cfg.to_dict():
            log(f"pretrained model reused from {out}")
            return out, stored
    t0 = time.perf_counter()
    res = pretrain(cfg, log=log, progress=lambda s, n, loss: s % 200 == 0 and log(f"step {s}/{n} loss {loss:.3f}"))
    log(f"pretrained in {time.perf_counter() - t0:.0f} s: held-out {res.heldout} vs unigram {res.baseline}")
    return out, res.report


def esol_split_files(mirror: Path, seed: int) -> tuple[dict[str, Path], dict[str, np.ndarray], list[str]]:
    """ESOL read as ``benchmarks/molecules.py`` does, random split ``seed``; CSV files (id, smiles, label)."""
    from serendip.chem import read_molecules
    from serendip.chem.splits import make_split

    path = mirror / "moleculenet" / "delaney-processed.csv"
    ms = read_molecules(path, value_columns=[TARGET], merge=False)
    if ms.issues:
        raise SystemExit(f"{path}: {len(ms.issues)} unreadable rows, first: {ms.issues[0]}")
    smiles, y = ms.smiles, ms.values(TARGET)
    split = make_split("random", smiles, seed=seed)
    folder = _cache() / f"esol-random-seed{seed}"
    folder.mkdir(exist_ok=True)
    files, idx = {}, {}
    for part in ("train", "val", "test"):
        rows = getattr(split, part)
        idx[part] = rows
        files[part] = folder / f"{part}.csv"
        with files[part].open("w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(["id", "smiles", "label"])
            for i in rows:
                w.writerow([f"row{int(i)}", smiles[i], repr(float(y[i]))])
    (folder / "split.json").write_text(json.dumps(split.to_json()))
    return files, {**idx, "y": y}, smiles


def finetune_run(model_dir: Path, files: dict[str, Path], augment: list[dict], args: argparse.Namespace, name: str):
    from serendip.models.config import FineTuneConfig
    from serendip.models.train import finetune

    cfg = FineTuneConfig.model_validate({
        "data": {"train": str(files["train"]), "dev": str(files["val"]), "test": str(files["test"]),
                 "format": "csv", "columns": {"text": "smiles", "label": "label", "id": "id"}},
        "task": "regression", "backbone": str(model_dir), "augmentations": augment,
        "training": {"epochs": args.epochs, "batch_size": 32, "lr": args.lr, "warmup_ratio": 0.05,
                     "max_length": 128, "seed": args.seed, "device": "cpu",
                     "early_stopping": {"metric": "rmse", "patience": args.patience}},
        "output": {"run_dir": str(_cache() / "runs"), "name": name, "plots": False}})
    return finetune(cfg)


def test_rmse(run_dir: Path, files: dict[str, Path], views: tuple) -> float:
    """Test RMSE of the model saved in ``run_dir``, averaged over the original SMILES and ``views``."""
    import dataclasses

    from serendip.models.data import read_examples
    from serendip.models.inference import model_outputs
    from serendip.models.predict import load_run_model

    test = read_examples(files["test"], "csv", columns={"text": "smiles", "label": "label", "id": "id"})
    bundle = dataclasses.replace(load_run_model(run_dir, device="cpu"), views=tuple(views))
    pred = np.asarray(model_outputs(bundle, test, batch_size=64), dtype=float).reshape(-1)
    y = np.array([float(e.label) for e in test])
    return float(np.sqrt(np.mean((pred - y) ** 2)))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seed", type=int, default=0, help="split and fine-tuning seed")
    ap.add_argument("--moses-n", type=_rows.positive_int, default=100_000)
    ap.add_argument("--pretrain-steps", type=_rows.positive_int, default=1000)
    ap.add_argument("--layers", type=_rows.positive_int, default=4)
    ap.add_argument("--hidden", type=_rows.positive_int, default=128)
    ap.add_argument("--epochs", type=_rows.positive_int, default=20)
    ap.add_argument("--patience", type=_rows.positive_int, default=5)
    ap.add_argument("--lr", type=float, default=3e-4)
    ap.add_argument("--n-smiles", type=_rows.positive_int, default=3, help="randomised SMILES per molecule")
    ap.add_argument("--views", type=_rows.positive_int, default=4, help="test-time views for the averaged figure")
    ap.add_argument("--threads", type=_rows.positive_int, default=1)
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()
    import torch

    torch.set_num_threads(args.threads)
    mirror = os.environ.get("SERENDIP_DATA_MIRROR")
    if not mirror or not Path(mirror).is_dir():
        raise _rows.UsageError("SERENDIP_DATA_MIRROR must name the data mirror folder")
    mirror = Path(mirror)
    log = lambda m: print(m, flush=True)  # noqa: E731
    t_all = time.perf_counter()
    model_dir, report = pretrained(mirror, args, log)
    files, idx, smiles = esol_split_files(mirror, args.seed)
    y = idx["y"]

    from serendip.chem.models import make_model
    from serendip.models.augment import build_views

    t0 = time.perf_counter()
    rf = make_model("rf", "regression", args.seed)
    pick = lambda rows: [smiles[i] for i in rows]  # noqa: E731
    rf.fit(pick(idx["train"]), y[idx["train"]], pick(idx["val"]), y[idx["val"]])
    rf_rmse = float(np.sqrt(np.mean((rf.predict(pick(idx["test"])) - y[idx["test"]]) ** 2)))
    log(f"rf (RDKit 2D) test RMSE {rf_rmse:.4f} ({time.perf_counter() - t0:.0f} s)")

    figures: dict[str, tuple[float, float]] = {}
    t0 = time.perf_counter()
    plain = finetune_run(model_dir, files, [], args, "plain")
    figures["plain"] = (plain.metrics["test"]["rmse"], time.perf_counter() - t0)
    log(f"plain: test RMSE {figures['plain'][0]:.4f}, best epoch {plain.best_epoch}")
    t0 = time.perf_counter()
    aug = [{"name": "randomized_smiles", "params": {"n": args.n_smiles}, "train": True, "test_time": True}]
    run = finetune_run(model_dir, files, aug, args, "randomized")
    wall = time.perf_counter() - t0
    figures["randomized_smiles, no test-time view"] = (test_rmse(Path(run.run_dir), files, ()), wall)
    figures["randomized_smiles + 1 test-time view"] = (run.metrics["test"]["rmse"], wall)
    specs = [{"name": "randomized_smiles", "params": {"view_seed": k}} for k in range(args.views)]
    figures[f"randomized_smiles + {args.views} test-time views"] = (test_rmse(Path(run.run_dir), files, build_views(specs)),
                                                                   wall)
    log(f"randomized: best epoch {run.best_epoch}; augment report {json.dumps(_augment_report(run))}")

    held, unigram = report.get("heldout") or {}, report.get("baseline") or {}
    settings = {"layers": args.layers, "hidden": args.hidden, "pretrain_steps": args.pretrain_steps,
                "pretrain_molecules": args.moses_n, "epochs": args.epochs, "lr": args.lr, "n_smiles": args.n_smiles,
                "pretrain_masked_accuracy": round(float(held.get("accuracy", float("nan"))), 4),
                "pretrain_unigram_accuracy": round(float(unigram.get("accuracy", float("nan"))), 4)}
    rows = [_rows.row(BENCH, "moleculenet/esol", "test", len(smiles), "smiles-bert", "rmse", value,
                      settings={**settings, "variant": variant}, baseline=("rf", rf_rmse), anchor=CHEMPROP,
                      seed=args.seed, wall_s=w)
            for variant, (value, w) in figures.items()]
    rows.append(_rows.row(BENCH, "moleculenet/esol", "test", len(smiles), "rf", "rmse", rf_rmse,
                          settings={"features": "rdkit2d"}, anchor=CHEMPROP, seed=args.seed))
    for r in rows:
        print(json.dumps(r))
    _rows.finish(BENCH, rows, time.perf_counter() - t_all, no_write=args.no_write)


def _augment_report(run) -> dict:
    path = Path(run.run_dir) / "augment_report.json"
    return json.loads(path.read_text()) if path.is_file() else {}


if __name__ == "__main__":
    _rows.run_main(main)
