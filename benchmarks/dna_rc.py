"""Reverse-complement augmentation on GUE, with and without: test MCC of the same model and seeds.

Question: does adding the reverse complement of every training sequence (``reverse_complement`` of
:mod:`serendip.genomics.augment`, applied through the engine's
:func:`serendip.models.augment.apply_augmentations`, training split only, copies equal to a dev/test
sequence dropped and counted), and/or averaging the model's logits over each test sequence and its
reverse complement (test-time averaging, :func:`serendip.models.augment.build_views`, the same views
``serendip finetune`` uses with ``test_time = true``), change test MCC?

Model: the small CNN of :mod:`serendip.genomics.cnn` (method (b) of ``dna_gue.py``: one-hot ACGTN,
three conv blocks, global max pool; AdamW lr 1e-3, batch 64, early stopping on dev MCC with patience
4, at most ``--epochs`` epochs). The CNN is used because it trains on the full official training set in
about a minute on 2 CPU cores, so several seeds fit; the same augmentation runs in the transformer
engine (``[[augmentations]] name = "reverse_complement"``, ``test_time = true``).

Arms (each seed trains two models; test-time averaging reuses them):

* ``none``: original training sequences, plain test inputs;
* ``tta``: the ``none`` model, logits averaged with those of the reverse-complemented test input;
* ``rc-train``: training split plus its reverse complements (model selected on plain dev MCC);
* ``rc-train+tta``: the ``rc-train`` model with test-time averaging (dev also averaged for the
  reported dev figure; model selection itself used plain dev inputs in every arm).

Data: GUE ``prom_core_all`` and ``tf0``, official train/dev/test files from the dataset registry
(sha256-checked), test sets whole. Metric: Matthews correlation coefficient
(``sklearn.metrics.matthews_corrcoef``) on the official test split, per seed and mean over seeds
(seeds 0, 1, 2 by default). Baseline in every row: the ``none`` arm's test MCC of the same seed.

Usage::

    SERENDIP_DATA_MIRROR=/work/shared/data python benchmarks/dna_rc.py [--tasks prom_core_all,tf0]
        [--seeds 0,1,2] [--epochs 30] [--subset N] [--no-write]
"""
from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _rows

from serendip.genomics.gue import load_gue
from serendip.models.augment import apply_augmentations, build_views
from serendip.models.plugins import load_domains

BENCH = "dna_rc"
TASKS = ("prom_core_all", "tf0")
ARMS = ("none", "tta", "rc-train", "rc-train+tta")
CNN_BATCH, CNN_LR, CNN_PATIENCE = 64, 1e-3, 4
RC = [{"name": "reverse_complement", "params": {}}]


def rc_training_set(train, dev, test, seed: int):
    """The training examples plus their reverse complements (engine augmentation, train only) and the
    augmentation report (counts, copies dropped as dev/test duplicates)."""
    return apply_augmentations(train, RC, eval_sets=(dev, test), seed=seed)


def averaged_logits(model, seqs: list[str], views) -> np.ndarray:
    """Mean of the CNN's logits over ``seqs`` and each view of them; float array of shape (n, K)."""
    total = model.logits(seqs).astype(np.float64)
    for view in views:
        total += model.logits([view(s) for s in seqs])
    return total / (1 + len(views))


def run_task(task: str, seeds: list[int], epochs: int, subset: int | None) -> list[dict]:
    from sklearn.metrics import matthews_corrcoef

    from serendip.genomics.cnn import train_cnn

    splits = load_gue(task)
    train = splits["train"]
    if subset and subset < len(train):
        keep = sorted(random.Random(0).sample(range(len(train)), subset))
        train = [train[i] for i in keep]
    dev, test = splits["dev"], splits["test"]
    y = {"dev": np.array([int(e.label) for e in dev]), "test": np.array([int(e.label) for e in test])}
    seqs = {"dev": [e.text for e in dev], "test": [e.text for e in test]}
    views = build_views(RC)
    # the epoch cap is named when it is not the default 30 (the rows of the default keep their name)
    tag = "".join(f" ({t})" for t in ([f"subset {subset}"] if subset else [])
                  + ([f"max {epochs} ep"] if epochs != 30 else []))
    rows, per_arm = [], {a: [] for a in ARMS}
    for seed in seeds:
        augmented, report = rc_training_set(train, dev, test, seed)
        print(f"  seed {seed}: rc-train {report.n_original} -> {report.n_after} training sequences "
              f"({report.dropped_eval_duplicate} copies dropped as dev/test duplicates)", flush=True)
        models, walls = {}, {}
        for name, data in (("none", train), ("rc-train", augmented)):
            t = time.perf_counter()
            models[name] = train_cnn(([e.text for e in data], [int(e.label) for e in data]),
                                     (seqs["dev"], y["dev"].tolist()), seed=seed, epochs=epochs,
                                     batch_size=CNN_BATCH, lr=CNN_LR, patience=CNN_PATIENCE)
            walls[name] = time.perf_counter() - t
        base = None
        for arm in ARMS:
            model = models["rc-train" if arm.startswith("rc-train") else "none"]
            use = views if arm.endswith("tta") else ()
            res = {}
            for s in ("dev", "test"):
                pred = averaged_logits(model, seqs[s], use).argmax(axis=1)
                res[s] = matthews_corrcoef(y[s], np.asarray(model.classes)[pred])
            base = res["test"] if arm == "none" else base
            per_arm[arm].append(res["test"])
            wall = walls["rc-train" if arm.startswith("rc-train") else "none"]
            print(f"    {arm:<13} test MCC {res['test']:.4f}  dev MCC {res['dev']:.4f}  "
                  f"(best epoch {model.best_epoch}, {wall:.0f} s)", flush=True)
            method = f"cnn-3conv {arm}{tag}"
            rows.append(_rows.row(BENCH, f"gue/{task}", "test", len(test), method, "mcc", res["test"],
                                  baseline=None if arm == "none" else (f"cnn-3conv none{tag}", base),
                                  seed=seed, wall_s=wall))
            rows.append(_rows.row(BENCH, f"gue/{task}", "dev", len(dev), method, "mcc", res["dev"],
                                  seed=seed, wall_s=wall))
    if len(seeds) > 1:
        none_mean = float(np.mean(per_arm["none"]))
        for arm in ARMS:
            m, sd = float(np.mean(per_arm[arm])), float(np.std(per_arm[arm], ddof=1))
            print(f"  {arm:<13} mean test MCC {m:.4f} (sd {sd:.4f}, seeds {seeds})")
            method = f"cnn-3conv {arm}{tag} (mean of seeds {','.join(map(str, seeds))})"
            rows.append(_rows.row(BENCH, f"gue/{task}", "test", len(test), method, "mcc", m, seeds=seeds, sd=sd,
                                  baseline=None if arm == "none" else (f"cnn-3conv none{tag} (mean of seeds "
                                                                       f"{','.join(map(str, seeds))})", none_mean)))
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tasks", default=",".join(TASKS))
    ap.add_argument("--seeds", type=_rows.int_list, default=[0, 1, 2], help="comma-separated")
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--subset", type=_rows.positive_int, default=None,
                    help="train on N sampled sequences (smoke)")
    ap.add_argument("--threads", type=_rows.positive_int, default=None, help="torch threads")
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    load_domains()
    tasks = [t.strip() for t in args.tasks.split(",") if t.strip()]
    unknown = set(tasks) - set(TASKS)
    if not tasks:
        raise _rows.UsageError(f"--tasks: no task given; choose from {', '.join(TASKS)}")
    if unknown:
        raise _rows.UsageError(f"--tasks: unknown task(s) {sorted(unknown)}; choose from {', '.join(TASKS)}")
    seeds = args.seeds
    t0 = time.perf_counter()
    rows = []
    for task in tasks:
        print(task, flush=True)
        rows += run_task(task, seeds, args.epochs, args.subset)
    wall = time.perf_counter() - t0
    _rows.finish(BENCH, rows, wall, no_write=args.no_write)


if __name__ == "__main__":
    _rows.run_main(main)
