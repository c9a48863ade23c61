"""Molecule generation on MOSES: a SMILES LSTM trained on the 250k MOSES train subset under a wall-clock
budget, 30,000 samples scored with the MOSES metrics against MOSES test and test-scaffolds, drawn from
the same model once per ``--sampling`` mask: its own distribution (``sampling=free``), the SMILES
grammar mask (``syntax-mask``, :mod:`serendip.chem.generate.syntax`: no unclosed ring or branch) and,
when asked, grammar and valence (``valence-mask``, :mod:`serendip.chem.generate.valence`), so each
mask's effect is measured on one model in one run. ``--smiles-form kekule`` trains (and samples) the
model on canonical Kekulé SMILES instead of the file's aromatic ones (:class:`GeneratorConfig`
``smiles_form``; rows carry ``smiles_form: kekule``), so the valence mask sees every bond order.

    SERENDIP_DATA_MIRROR=/work/shared/data python benchmarks/generation_moses.py [--minutes 55] \\
        [--n 30000] [--temperature 1.0] [--hidden 384 --layers 2] [--threads 2] [--seed 0] \\
        [--sampling none,syntax,valence] [--smiles-form as-given|kekule] [--skip-train]

Metrics (:mod:`serendip.chem.generate.metrics`, from Polykovskiy et al. 2020, Front. Pharmacol.
11:565644 and the ``molecularsets/moses`` code): valid, unique@1k/10k, novelty, IntDiv1/2 (exact, all
pairs), scaffold novelty, FCD / SNN / Frag / Scaf against Test and TestSF. Rows: Serendip's model
(baseline: the same metrics on 30,000 molecules drawn from the training set, "sample the training set";
anchor: CharRNN's published figure, Polykovskiy et al. 2020 results tables), and the training-set draw
(anchor: MOSES's published Train row). Novelty here is against the 250k subset the model was trained on
(MOSES measures it against its full 1.58M train split), so it is not the same quantity as CharRNN's.
Training speed rows: molecules per wall-clock second and per CPU-second, epochs done.

Model, samples and reference statistics are kept under ``$SERENDIP_CACHE/generation_moses/``
(default ``~/.cache/serendip``); ``--skip-train`` re-samples and re-scores a saved model.
"""
from __future__ import annotations

import argparse
import gzip
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _rows  # noqa: E402

BENCH = "generation_moses"
TRAIN, TEST, TEST_SF = ("moses/train_subset_250k_seed0.csv.gz", "moses/test.csv.gz", "moses/test_scaffolds.csv.gz")
SOURCE = "Polykovskiy et al. 2020, Front. Pharmacol. 11:565644, MOSES results tables"
#: CharRNN, mean over 3 runs (Polykovskiy et al. 2020)
CHARRNN = {"valid": 0.975, "unique@1k": 1.0, "unique@10k": 0.999, "novelty": 0.842, "IntDiv1": 0.856,
           "IntDiv2": 0.85, "FCD/Test": 0.073, "FCD/TestSF": 0.52, "SNN/Test": 0.601, "SNN/TestSF": 0.565,
           "Frag/Test": 1.0, "Frag/TestSF": 0.998, "Scaf/Test": 0.924, "Scaf/TestSF": 0.11}
#: MOSES's "Train" row (the metrics of training molecules; Polykovskiy et al. 2020)
MOSES_TRAIN = {"valid": 1.0, "unique@1k": 1.0, "unique@10k": 1.0, "novelty": 0.0, "IntDiv1": 0.857,
               "IntDiv2": 0.851, "FCD/Test": 0.008, "FCD/TestSF": 0.476, "SNN/Test": 0.642, "SNN/TestSF": 0.586,
               "Frag/Test": 1.0, "Frag/TestSF": 0.999, "Scaf/Test": 0.991, "Scaf/TestSF": 0.0}


#: the ``sampling`` setting of each row: the model's own distribution, or renormalised over the tokens
#: the SMILES grammar allows next (serendip.chem.generate.syntax)
SAMPLING = {"none": "free", "syntax": "syntax-mask", "valence": "valence-mask"}


def cache_dir() -> Path:
    base = os.environ.get("SERENDIP_CACHE", "").strip()
    return (Path(base).expanduser() if base else Path.home() / ".cache" / "serendip") / BENCH


def _log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')} cpu {time.process_time():.0f}s] {msg}", flush=True)


def train_sets(files: dict, cache: Path, limit: int | None, seed: int) -> tuple[set[str], set[str]]:
    """Canonical SMILES and scaffolds of the training file (or a seeded draw of ``limit`` of its
    molecules), cached as gzip'ed text."""
    import numpy as np

    from serendip.chem.generate import read_smiles_file, train_reference

    tag = "" if limit is None else f"-{limit}-seed{seed}"
    canon_f, scaf_f = cache / f"train_canonical{tag}.txt.gz", cache / f"train_scaffolds{tag}.txt.gz"
    if canon_f.exists() and scaf_f.exists():
        return (set(gzip.decompress(canon_f.read_bytes()).decode().splitlines()),
                set(gzip.decompress(scaf_f.read_bytes()).decode().splitlines()))
    smiles = read_smiles_file(files[TRAIN])[0]
    if limit is not None:
        smiles = [smiles[i] for i in np.random.default_rng(seed).choice(len(smiles), limit, replace=False)]
    canon, scafs = train_reference(smiles)
    canon_f.write_bytes(gzip.compress("\n".join(sorted(canon)).encode(), mtime=0))
    scaf_f.write_bytes(gzip.compress("\n".join(sorted(scafs)).encode(), mtime=0))
    return canon, scafs


def references(path: Path, cache: Path, name: str, ref_max: int | None, seed: int):
    """:class:`ReferenceStats` of a MOSES reference file (all of it, or a seeded draw of ``ref_max``),
    cached under ``cache/ref-<name>[-<ref_max>]``."""
    import numpy as np

    from serendip.chem.generate import ReferenceStats, read_smiles_file, reference_stats

    say = lambda s: _log(f"{name}: {s}")  # noqa: E731
    if ref_max is None:
        return reference_stats(path, cache / f"ref-{name}", on_stage=say)
    folder = cache / f"ref-{name}-{ref_max}-seed{seed}"
    if (folder / "stats.npz").is_file():
        return ReferenceStats.load(folder)
    smiles = read_smiles_file(path)[0]
    idx = np.random.default_rng(seed).choice(len(smiles), min(ref_max, len(smiles)), replace=False)
    stats = ReferenceStats.compute([smiles[i] for i in idx], on_stage=say)
    stats.save(folder)
    return stats


def rows_for(method: str, ev, settings: dict, other: dict | None, anchors: dict, anchor_name: str, n: int,
             wall_s: float) -> list[dict]:
    out = []
    for metric, value in ev.metrics.items():
        if value != value:  # NaN (e.g. Scaf of a set without 2-ring scaffolds): no row
            continue
        anchor = (anchor_name, anchors[metric], SOURCE) if metric in anchors else None
        base = ("sample the training set", other[metric]) if other and metric in other else None
        out.append(_rows.row(BENCH, "moses", "test", n, method, metric, value, settings=settings, baseline=base,
                             anchor=anchor, wall_s=wall_s))
    return out


def training_rows(model_dir: Path, settings: dict) -> list[dict]:
    """The training rows (speed, epochs, validation loss) of a saved model, from ``info`` in its
    ``config.json`` (written by the training run); [] when it has none."""
    import json

    info = json.loads((model_dir / "config.json").read_text()).get("info") or {}
    if not info.get("train_wall_s"):
        return []
    values = (("train_mol_per_s", info["molecules_seen"] / info["train_wall_s"]),
              ("train_mol_per_cpu_s", info["molecules_seen"] / info["train_cpu_s"]),
              ("train_epochs", info["epochs"]), ("val_loss_nats_per_token", info["val_loss"]))
    return [_rows.row(BENCH, "moses", "train", info["n_train"], "serendip-smiles-lstm", metric, value,
                      settings=settings, wall_s=info["train_wall_s"]) for metric, value in values]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--minutes", type=float, default=55.0, help="wall-clock training budget")
    ap.add_argument("--n", type=_rows.positive_int, default=30_000, help="samples scored")
    ap.add_argument("--temperature", type=float, default=1.0)
    ap.add_argument("--hidden", type=_rows.positive_int, default=384)
    ap.add_argument("--layers", type=_rows.positive_int, default=2)
    ap.add_argument("--embedding", type=_rows.positive_int, default=64)
    ap.add_argument("--batch-size", type=_rows.positive_int, default=128)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--threads", type=_rows.positive_int, default=2, help="torch threads")
    ap.add_argument("--seed", type=_rows.seed, default=0)
    ap.add_argument("--ref-max", type=_rows.positive_int, default=None,
                    help="score against a seeded draw of this many Test / TestSF molecules (smoke runs; "
                         "default: all, as MOSES)")
    ap.add_argument("--train-ref-max", type=_rows.positive_int, default=None,
                    help="novelty against a seeded draw of this many training molecules (smoke runs; default: "
                         "all 250k)")
    ap.add_argument("--sampling", default="none,syntax",
                    help="comma-separated masks to sample with, each scored (none: the model's own distribution; "
                         "syntax: the SMILES grammar mask; valence: grammar and valence)")
    ap.add_argument("--smiles-form", choices=("as-given", "kekule"), default="as-given",
                    help="train on the file's SMILES or on their canonical Kekulé form")
    ap.add_argument("--skip-train", action="store_true", help="score the model saved by an earlier run")
    ap.add_argument("--no-write", action="store_true", help="print, do not write rows")
    args = ap.parse_args()
    masks = args.sampling.split(",")
    if not masks or any(m not in SAMPLING for m in masks):
        ap.error(f"--sampling takes a comma-separated list of {', '.join(SAMPLING)}, got {args.sampling}")
    import torch

    from serendip import datasets
    from serendip.chem.generate import (
        GeneratorConfig,
        evaluate,
        read_smiles_file,
        train_file,
    )
    from serendip.chem.generate.model import SmilesGenerator

    torch.set_num_threads(args.threads)
    start = time.perf_counter()
    files = datasets.resolve("moses")
    cache = cache_dir()
    cache.mkdir(parents=True, exist_ok=True)
    kekule = args.smiles_form == "kekule"
    model_dir = cache / f"model-h{args.hidden}-l{args.layers}-seed{args.seed}{'-kekule' if kekule else ''}"
    settings = {"model": "smiles-lstm", "hidden": args.hidden, "layers": args.layers, "embedding": args.embedding,
                "batch_size": args.batch_size, "lr": args.lr, "minutes": args.minutes,
                "temperature": args.temperature, "threads": args.threads, "train": "moses-250k-seed0",
                **({"smiles_form": "kekule"} if kekule else {})}
    ref_settings = {k: v for k, v in (("ref_max", args.ref_max), ("train_ref_max", args.train_ref_max)) if v}
    settings.update(ref_settings)
    rows = []
    if not args.skip_train:
        cfg = GeneratorConfig(embedding_dim=args.embedding, hidden_size=args.hidden, num_layers=args.layers,
                              smiles_form=args.smiles_form)
        _log(f"training {cfg} for {args.minutes} min on {args.threads} thread(s)")
        res = train_file(files[TRAIN], model_dir, config=cfg, minutes=args.minutes, batch_size=args.batch_size,
                         lr=args.lr, seed=args.seed, force=True)
        _log(f"trained: {res.steps} steps, {res.molecules_seen:,} molecules ({res.epochs:.2f} epochs) after "
             f"{res.prep_s:.0f} s of tokenising, "
             f"{res.mol_per_s:.0f} mol/s wall, {res.mol_per_cpu_s:.0f} mol/CPU-s, train loss {res.train_loss:.3f}, "
             f"val loss {res.val_loss:.3f}, {res.n_parameters:,} parameters, {len(res.issues)} SMILES skipped")
        for metric, value in (("train_mol_per_s", res.mol_per_s), ("train_mol_per_cpu_s", res.mol_per_cpu_s),
                              ("train_epochs", res.epochs), ("val_loss_nats_per_token", res.val_loss)):
            rows.append(_rows.row(BENCH, "moses", "train", res.n_train, "serendip-smiles-lstm", metric, value,
                                  settings=settings, wall_s=res.wall_s))
    if args.skip_train:  # the training figures of the saved model (its config.json "info")
        rows += training_rows(model_dir, settings)
    model = SmilesGenerator.load(model_dir)
    samples = {}
    for mode in masks:
        t = time.perf_counter()
        samples[mode] = model.sample(args.n, temperature=args.temperature, seed=args.seed, mask=mode)
        text = "SMILES\n" + "".join(s + "\n" for s in samples[mode])
        (cache / f"samples-{model_dir.name}-{mode}.csv").write_text(text)
        _log(f"sampled {args.n:,} ({mode}) in {time.perf_counter() - t:.0f} s")
    train_smiles = read_smiles_file(files[TRAIN])[0]
    import numpy as np

    drawn = [train_smiles[i] for i in np.random.default_rng(args.seed).choice(len(train_smiles), args.n,
                                                                              replace=False)]
    canon, scafs = train_sets(files, cache, args.train_ref_max, args.seed)
    _log("training set canonicalised; reference statistics (Test, TestSF)")
    refs = {name: references(files[f], cache, name, args.ref_max, args.seed)
            for name, f in (("Test", TEST), ("TestSF", TEST_SF))}
    evs = {}
    for label, smiles in (("train-sample", drawn), *samples.items()):
        t = time.perf_counter()
        evs[label] = evaluate(smiles, train_canonical=canon, train_scaffolds=scafs, refs=refs,
                              on_stage=lambda s, lb=label: _log(f"{lb}: {s}"))
        evs[label].wall_s = time.perf_counter() - t
        _log(f"{label}: " + ", ".join(f"{k} {v:.4f}" for k, v in evs[label].metrics.items()))
    for mode in samples:
        rows += rows_for("serendip-smiles-lstm", evs[mode], {**settings, "sampling": SAMPLING[mode]},
                         evs["train-sample"].metrics, CHARRNN, "CharRNN", args.n, evs[mode].wall_s)
    rows += rows_for("sample the training set", evs["train-sample"], {"train": "moses-250k-seed0", **ref_settings},
                     None, MOSES_TRAIN, "MOSES Train row", args.n, evs["train-sample"].wall_s)
    _rows.finish(BENCH, rows, time.perf_counter() - start, no_write=args.no_write)


if __name__ == "__main__":
    _rows.run_main(main)
