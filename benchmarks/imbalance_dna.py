"""Class imbalance on DNA: class weights and focal loss against plain cross-entropy, 5 % positives.

Derived split ("gue/prom_core_all (5% positives)"): the official GUE ``prom_core_all`` train/dev/test
files (human core promoters, 70 bp, about 50 % positives; registry entry ``gue/prom_core_all``,
sha256-checked by :func:`serendip.genomics.gue.load_gue`) reduced by
:func:`serendip.genomics.imbalanced.imbalanced_splits` with ``fraction=0.05``, ``seed=--split-seed``
(default 0): in each split separately every negative (label 0) is kept and a seeded random sample of
``round(N_neg * 0.05 / 0.95)`` positives (label 1) is drawn without replacement, original row order
kept. With seed 0:

=======  ======  =========  =========  ==========
split    rows    negatives  positives  % positive
=======  ======  =========  =========  ==========
train    24,953  23,705     1,248      5.00
dev       3,096   2,941       155      5.01
test      3,107   2,952       155      4.99
=======  ======  =========  =========  ==========

No row moves between splits, so the derived splits share sequences only where the official ones do
(train/test: 8 distinct sequences after the derivation, of the official 42); they are kept, as in
``dna_gue.py``. The test split is scored whole.

Arms (``--arms``), all trained by the engine (:func:`serendip.models.train.finetune`, task
``binary``, positive label ``1``) with the same model, data, seeds, epochs and selection; only the
``imbalance`` section of the :class:`~serendip.models.config.FineTuneConfig` differs:

* ``ce`` - plain cross-entropy (``imbalance.method = "none"``);
* ``class_weight`` - cross-entropy weighted by scikit-learn's "balanced" weights ``n / (2 n_k)``
  computed by the engine on the derived training split (about 0.53 for negatives, 10.0 for positives);
* ``focal`` - softmax focal loss (Lin et al., ICCV 2017), gamma 2 (the paper's value) and **no alpha**
  (the engine's default, ``focal_alpha = None``). Chosen so that the arm measures the focusing term
  alone, apart from the re-weighting the ``class_weight`` arm measures;
* ``focal-cw`` (optional) - focal loss, gamma 2, with alpha = the same balanced class weights
  (computed here on the derived training split, given to the engine as ``focal_alpha``);
* ``oversample`` (optional) - random oversampling of the positives to the negatives' count
  (``imbalance.method = "oversample"``, seeded by the training seed; an epoch is then ~1.9x longer).

Model: the tiny BERT of ``dna_gue.py`` (128 hidden, 2 layers; overlapping 6-mer tokenizer of
``serendip pretrain``) from random weights (the folder made by ``dna_gue._scratch_folder``, whose init
is seeded by the run seed, so every arm of a seed starts from the same weights), full fine-tuning,
AdamW, peak lr ``dna_gue.FT_LR`` (3e-4), 6 % warm-up then linear decay, batch 32, ``--epochs`` epochs
(default 3: one epoch of the 24,953 training rows takes about 2 minutes on the 2 shared CPU cores, one
thread, so 3 arms x 2 seeds x 3 epochs fit in about 35 minutes). Selection: after every epoch the dev split is scored and the epoch with the best **dev
PR-AUC** (average precision of the positive class; threshold-free, so it favours no arm's calibration)
is kept; early stopping after 2 epochs without improvement. The same for every arm.

Pre-trained encoder (``--backbone DIR``): the bert arms fine-tune the model folder DIR instead of
random weights, e.g. ``dna_gue.py``'s ``pretrained-genomes-tiny-4000steps`` (method (d)'s encoder,
masked-language-model pre-trained on the bacterial genomes, same 6-mer tokenizer); every arm and seed
starts from the same weights (the classification head is initialised by the run seed); rows are named
``tiny-bert-pretrained[<DIR name>] <arm> ...``.

Second model (``--models cnn``): the small CNN of :mod:`serendip.genomics.cnn` (``dna_gue.py``
method (b)), trained on the same derived split with the same arms: plain cross-entropy; cross-entropy
with the same balanced weights (:func:`serendip.models.imbalance.class_weights`); softmax focal loss,
gamma 2, no alpha (:class:`serendip.models.imbalance.FocalLoss`); ``focal-cw``; ``oversample``
(:func:`serendip.models.imbalance.resample`). AdamW lr 1e-3, batch 64, at most ``--cnn-epochs``
epochs, best epoch by dev PR-AUC, patience 4. It trains in about a minute, so more seeds fit; its
rows are named ``cnn-3conv <arm> (select dev PR-AUC)``.

Baseline (run in the same script; every row's ``baseline`` is the plain one's value of the same
metric): overlapping 6-mer counts (4,096 features) + TF-IDF + L2 logistic regression, as ``dna_gue``
(a), without and with ``class_weight="balanced"``; C chosen from ``dna_gue.C_GRID`` by dev PR-AUC (the
same criterion as the transformers). Deterministic (lbfgs), so it is run once (seed 0).

Metrics on the derived test split, from the predicted labels (argmax of the two logits, i.e. positive
probability > 0.5) and positive-class scores with scikit-learn: ``recall_pos``, ``precision_pos``,
``f1_pos`` (class 1; precision 0 when nothing is predicted positive), ``pr_auc``
(``average_precision_score``), ``roc_auc``, ``mcc``; for the transformers they are checked against the
engine's own test metrics. Rows per seed (method name ends ``[seed s]``) and the mean over seeds
(``[mean of seeds ...]``, ``seed`` null, ``seeds`` listed, the sample standard deviation in ``sd``; the
per-seed rows then move to ``results/archive/imbalance_dna-per-seed.json.gz``); also dev PR-AUC of the
selected epoch, selected epoch and training wall time. No published figure exists for this derived
split (``anchor`` null).

Paired comparison: with ``ce`` among the arms and more than one seed, each other arm's recall and
PR-AUC minus those of ``ce`` with the same model and seed, averaged over the seeds, with the standard
deviation of those differences and the number of seeds where the arm is higher (rows named ``... [minus
ce, paired over seeds ...]``, metrics ``<metric>_minus_ce`` with the sd in ``sd``, ``_seeds_higher``).

Pooling runs: ``--pool-seeds 0,1,2,3,4`` (with the same ``--models``, ``--arms``, ``--backbone``,
``--split-seed``, ``--epochs``, ``--cnn-epochs`` and ``--subset`` as the runs) trains nothing; it reads
the per-seed rows those runs (e.g. seeds 0-2 and 3-4 in two processes) stored in
``results/imbalance_dna.json`` or its archive (:func:`_rows.read_all_rows`) and writes the means and
paired differences over all the seeds, as one run over them would (values as stored, rounded to 4
decimals; the mean rows carry no k-mer baseline, and replace those of a run over the same seeds).

Recorded runs (2 CPU cores shared with other benchmarks)::

    SERENDIP_DATA_MIRROR=/work/shared/data python benchmarks/imbalance_dna.py \\
        --seeds 0,1 --epochs 3 --arms ce,class_weight,focal --threads 1          # 2124 s
    SERENDIP_DATA_MIRROR=/work/shared/data python benchmarks/imbalance_dna.py --models cnn \\
        --arms ce,class_weight,focal,focal-cw,oversample --seeds 0,1,2,3,4,5,6,7,8,9 \\
        --no-baseline --threads 1                                                 # 2999 s
    # the same CNN arms on 2,500 and 6,250 sampled derived training rows (k-mer baselines included)
    ... --models cnn --arms ce,class_weight,focal,focal-cw,oversample --seeds 0,1,2,3,4,5,6,7,8,9 \
        --subset 2500 --threads 1                                                 # 371 s (6250: 751 s)
    # the genome-pre-trained encoder of dna_gue (d), seeds in two processes, then pooled
    ... --backbone DIR/pretrained-genomes-tiny-4000steps --arms ce,class_weight,focal-cw --epochs 3 \
        --no-baseline --threads 1 --seeds 0,1,2                                   # 2651 s (3,4: 1422 s)
    ... --backbone DIR/pretrained-genomes-tiny-4000steps --arms ce,class_weight,focal-cw --epochs 3 \
        --pool-seeds 0,1,2,3,4
    # replication of ce vs focal-cw on fresh seeds (5,6,7 and 8,9 side by side), then pooled
    ... --backbone DIR/pretrained-genomes-tiny-4000steps --arms ce,focal-cw --epochs 3 \
        --no-baseline --threads 1 --seeds 5,6,7                                   # 1433 s (8,9: 964 s)
    ... --backbone DIR/pretrained-genomes-tiny-4000steps --arms ce,focal-cw --epochs 3 \
        --pool-seeds 5,6,7,8,9        # and --pool-seeds 0,1,2,3,4,5,6,7,8,9

Usage::

    SERENDIP_DATA_MIRROR=/work/shared/data python benchmarks/imbalance_dna.py \\
        [--seeds 0,1] [--epochs 3] [--arms ce,class_weight,focal] [--subset N] [--threads 1] \\
        [--workdir DIR] [--no-write]
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _row_fields
import _rows
import dna_gue

from serendip.genomics.gue import GueSplits, load_gue
from serendip.genomics.imbalanced import imbalanced_splits
from serendip.genomics.kmers import kmer_counts

BENCH = "imbalance_dna"
TASK = "prom_core_all"
FRACTION = 0.05
DATASET = "gue/prom_core_all (5% positives)"
#: arm name -> the engine's ``imbalance`` section ("focal-cw" gets its alpha filled in at run time)
ARMS: dict[str, dict[str, Any]] = {
    "ce": {"method": "none"},
    "class_weight": {"method": "class_weight"},
    "focal": {"method": "focal", "focal_gamma": 2.0},
    "focal-cw": {"method": "focal", "focal_gamma": 2.0, "focal_alpha": "balanced"},
    "oversample": {"method": "oversample"},
}
DEFAULT_ARMS = ("ce", "class_weight", "focal")
SELECTION = "pr_auc"
PATIENCE = 2
METRICS = ("recall_pos", "precision_pos", "f1_pos", "pr_auc", "roc_auc", "mcc")
BASELINE = "kmer6-tfidf-logreg"


#: metrics of the paired comparison with plain cross-entropy (the issue's two claims)
PAIRED_METRICS = ("recall_pos", "pr_auc")


def paired_vs_ce(per_arm: dict[tuple[str, str], list[dict[str, float]]], runs: list[tuple[str, str]],
                 seeds: list[int]) -> dict[tuple[str, str], dict[str, float]]:
    """Per (model, arm) other than ``ce``: the mean over seeds of (arm - ce of the same model and
    seed) for each of :data:`PAIRED_METRICS` (``<metric>_minus_ce``), its sample standard deviation
    (``_sd``; NaN for one seed) and the number of seeds where the arm is higher (``_seeds_higher``).
    Pairing by seed removes the seed-to-seed spread both arms share. Empty when ``ce`` did not run."""
    out: dict[tuple[str, str], dict[str, float]] = {}
    for model, arm in runs:
        if arm == "ce" or (model, "ce") not in per_arm:
            continue
        stats: dict[str, float] = {}
        for m in PAIRED_METRICS:
            d = np.array([a[m] - c[m] for a, c in zip(per_arm[model, arm], per_arm[model, "ce"])])
            stats[f"{m}_minus_ce"] = float(d.mean())
            stats[f"{m}_minus_ce_sd"] = float(d.std(ddof=1)) if len(d) > 1 else float("nan")
            stats[f"{m}_seeds_higher"] = float((d > 0).sum())
        out[model, arm] = stats
    return out


def derived_splits(split_seed: int = 0) -> tuple[GueSplits, Any]:
    """The official prom_core_all splits reduced to 5 % positives (see the module docstring)."""
    official = load_gue(TASK)
    splits, report = imbalanced_splits(official, FRACTION, split_seed)
    from serendip.genomics.gue import split_report

    return GueSplits(TASK, splits, split_report(splits)), report


def scores(y: np.ndarray, pred: np.ndarray, score: np.ndarray) -> dict[str, float]:
    """Positive-class metrics of int labels ``y``, ``pred`` (shape (n,), 0/1) and float positive-class
    scores ``score`` (shape (n,)); see the module docstring."""
    from sklearn.metrics import (
        average_precision_score,
        f1_score,
        matthews_corrcoef,
        precision_score,
        recall_score,
        roc_auc_score,
    )

    return {"recall_pos": recall_score(y, pred, pos_label=1, zero_division=0),
            "precision_pos": precision_score(y, pred, pos_label=1, zero_division=0),
            "f1_pos": f1_score(y, pred, pos_label=1, zero_division=0),
            "pr_auc": average_precision_score(y, score), "roc_auc": roc_auc_score(y, score),
            "mcc": matthews_corrcoef(y, pred)}


def _labels(exs) -> np.ndarray:
    return np.fromiter((int(e.label) for e in exs), dtype=np.int64, count=len(exs))


def logreg(splits: GueSplits, balanced: bool) -> dict[str, Any]:
    """6-mer TF-IDF + logistic regression; C by dev PR-AUC. Returns test scores, chosen C, wall s."""
    from sklearn.feature_extraction.text import TfidfTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import average_precision_score

    t = time.perf_counter()
    X = {s: kmer_counts([e.text for e in splits[s]], 6) for s in ("train", "dev", "test")}
    y = {s: _labels(splits[s]) for s in X}
    tfidf = TfidfTransformer().fit(X["train"])
    Z = {s: tfidf.transform(m) for s, m in X.items()}
    best = None
    for C in dna_gue.C_GRID:
        clf = LogisticRegression(C=C, max_iter=5000, random_state=0,
                                 class_weight="balanced" if balanced else None).fit(Z["train"], y["train"])
        ap = average_precision_score(y["dev"], clf.predict_proba(Z["dev"])[:, 1])
        print(f"    C={C:<5} dev PR-AUC {ap:.4f}", flush=True)
        if best is None or ap > best[0]:
            best = (ap, C, clf)
    ap, C, clf = best
    test = scores(y["test"], clf.predict(Z["test"]), clf.predict_proba(Z["test"])[:, 1])
    return {"test": test, "dev_pr_auc": ap, "C": C, "wall_s": time.perf_counter() - t}


def _imbalance_section(arm: str, splits: GueSplits) -> dict[str, Any]:
    sec = dict(ARMS[arm])
    if sec.get("focal_alpha") == "balanced":
        from serendip.models.imbalance import class_weights

        # label-space order of the binary task with positive label "1": ["0", "1"]
        sec["focal_alpha"] = [float(w) for w in class_weights([e.label for e in splits["train"]], ["0", "1"])]
    return sec


def transformer(splits: GueSplits, arm: str, seed: int, epochs: int, opts: dna_gue.Options,
                data_dir: Path, backbone: Path | None = None) -> dict[str, Any]:
    """Fine-tune the tiny BERT with the arm's imbalance setting; test scores and run facts. The
    encoder is ``backbone`` (a pre-trained model folder, ``--backbone``) or, when None, the scratch
    one of ``dna_gue`` (random weights seeded by ``seed``)."""
    from serendip.models.config import FineTuneConfig
    from serendip.models.train import ModelBundle, finetune, model_outputs

    backbone = backbone or dna_gue._scratch_folder(opts, seed)
    cfg = FineTuneConfig.model_validate({
        "data": {"train": str(data_dir / "train.csv"), "dev": str(data_dir / "dev.csv"),
                 "test": str(data_dir / "test.csv")},
        "task": {"name": "binary", "params": {"positive_label": "1"}}, "backbone": str(backbone),
        "imbalance": _imbalance_section(arm, splits),
        "training": {"epochs": epochs, "batch_size": dna_gue.FT_BATCH, "lr": dna_gue.FT_LR,
                     "warmup_ratio": 0.06, "max_length": dna_gue._max_positions(opts), "seed": seed,
                     "device": opts.device,
                     "early_stopping": {"metric": SELECTION, "mode": "max", "patience": PATIENCE}},
        "output": {"run_dir": str(opts.workdir / "runs"), "name": f"{TASK}-5pct-{arm}-seed{seed}",
                   "plots": False, "save_model": False}})
    t0 = time.perf_counter()
    last = {"t": t0}

    def progress(step: int, total: int, info: dict[str, Any]) -> None:
        if "dev" in info:
            d = info["dev"]
            now = time.perf_counter()
            print(f"      epoch {info['epoch']}: step {step}/{total}, {now - last['t']:.0f} s; dev "
                  f"PR-AUC {d['pr_auc']:.4f} recall(1) {d['per_class']['1']['recall']:.4f} "
                  f"MCC {d['mcc']:.4f}", flush=True)
            last["t"] = now

    run = finetune(cfg, progress=progress)
    wall = time.perf_counter() - t0
    test_exs = run.splits.test
    if [e.text for e in test_exs] != [e.text for e in splits["test"]]:
        raise RuntimeError("the engine read a different test split; scores would not be on the derived split")
    bundle = ModelBundle(run.model, run.tokenizer, run.task, run.label_space, run.max_length,
                         device=str(next(run.model.parameters()).device))
    logits = model_outputs(bundle, test_exs, batch_size=128)
    pred = run.task.predict(logits, run.label_space)
    pos = list(run.label_space.classes).index("1")
    y_pred = np.asarray([int(lab) for lab in pred.labels])
    test = scores(_labels(splits["test"]), y_pred, np.asarray(pred.scores)[:, pos])
    eng = run.metrics["test"]
    for mine, theirs in (("recall_pos", eng["per_class"]["1"]["recall"]),
                         ("precision_pos", eng["per_class"]["1"]["precision"]),
                         ("pr_auc", eng["pr_auc"]), ("roc_auc", eng["roc_auc"]), ("mcc", eng["mcc"])):
        if abs(test[mine] - theirs) > 1e-6:
            print(f"      WARNING: {mine} {test[mine]:.6f} here, {theirs:.6f} in the engine's test metrics")
    sel = run.metrics["selection"]
    return {"test": test, "dev_pr_auc": sel["best_value"], "best_epoch": sel["best_epoch"],
            "epochs_run": sel["epochs_run"], "wall_s": wall, "loss": run.metrics["loss"],
            "train_rows": run.metrics["sizes"]["train"]}


def _softmax_pos(logits: np.ndarray) -> np.ndarray:
    z = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(z)
    return (e / e.sum(axis=1, keepdims=True))[:, 1]


def cnn_loss(arm: str, train_labels: list[int]) -> Any:
    """The CNN's loss for an arm, from :mod:`serendip.models.imbalance` (None: plain cross-entropy)."""
    import torch

    from serendip.models.imbalance import FocalLoss, class_weights

    if arm in ("ce", "oversample"):
        return None
    weights = class_weights(train_labels, [0, 1])
    if arm == "class_weight":
        return torch.nn.CrossEntropyLoss(weight=torch.as_tensor(weights, dtype=torch.float32))
    if arm == "focal":
        return FocalLoss(2.0)
    if arm == "focal-cw":
        return FocalLoss(2.0, [float(w) for w in weights])
    raise ValueError(f"unknown arm {arm!r}")


def cnn(splits: GueSplits, arm: str, seed: int, epochs: int) -> dict[str, Any]:
    """The small CNN of :mod:`serendip.genomics.cnn` with the arm's loss (or oversampling with the
    engine's :func:`serendip.models.imbalance.resample`), best epoch by dev PR-AUC."""
    from sklearn.metrics import average_precision_score

    from serendip.genomics.cnn import train_cnn
    from serendip.models.imbalance import resample

    train = list(splits["train"])
    if arm == "oversample":
        train, _ = resample(train, "oversample", seed=seed)
    y_train = [int(e.label) for e in train]
    t0 = time.perf_counter()
    model = train_cnn(([e.text for e in train], y_train),
                      ([e.text for e in splits["dev"]], _labels(splits["dev"]).tolist()), seed=seed,
                      epochs=epochs, batch_size=dna_gue.CNN_BATCH, lr=dna_gue.CNN_LR,
                      patience=dna_gue.CNN_PATIENCE, loss=cnn_loss(arm, y_train),
                      dev_metric=lambda y, logits: average_precision_score(y, _softmax_pos(logits)))
    wall = time.perf_counter() - t0
    logits = model.logits([e.text for e in splits["test"]])
    test = scores(_labels(splits["test"]), logits.argmax(axis=1), _softmax_pos(logits))
    return {"test": test, "dev_pr_auc": model.best_dev_mcc, "best_epoch": model.best_epoch,
            "epochs_run": len(model.history), "wall_s": wall, "loss": arm, "train_rows": len(train)}


def subset_train(splits: GueSplits, n: int | None, seed: int) -> GueSplits:
    """Smoke runs: ``n`` training rows drawn (seeded, order kept; ~5 % positives in expectation);
    dev and test whole."""
    return dna_gue.subset_splits(splits, n, seed)


def arm_labels(arms: list[str], epochs: int, cnn_epochs: int, subset: int | None,
               backbone: Path | None, split_seed: int = 0) -> dict[tuple[str, str], str]:
    """(model, arm) -> the method name of its rows (model ``bert`` or ``cnn``); every option that
    changes a run is in the name (a non-default split seed too), so runs made with other options are
    never pooled together. A ``--backbone`` is named by its folder's name."""
    sub = (f", split seed {split_seed}" if split_seed else "") + (f", subset {subset}" if subset else "")
    bert = f"tiny-bert-pretrained[{backbone.name}]" if backbone else "tiny-bert-scratch"
    labels = {("bert", arm): f"{bert} {arm} ({epochs} ep, select dev PR-AUC{sub})" for arm in arms}
    cap = f", max {cnn_epochs} ep" if cnn_epochs != 30 else ""  # default cap: name unchanged
    labels.update({("cnn", arm): f"cnn-3conv {arm} (select dev PR-AUC{cap}{sub})" for arm in arms})
    return labels


def stored_per_seed(stored: list[dict], labels: dict[tuple[str, str], str], runs: list[tuple[str, str]],
                    seeds: list[int]) -> tuple[dict[tuple[str, str], list[dict[str, float]]], int]:
    """The test metrics of the per-seed rows ``<label> [seed s]`` in ``stored`` (rows of
    ``results/imbalance_dna.json`` and its archive, their configuration in fields or still in the
    label, see :func:`_row_fields.normalise`; values as stored, rounded to 4 decimals) for every run and
    seed, and the test-split size. Raises :class:`_rows.UsageError` naming the first run and seed
    missing."""
    def key(r: dict) -> tuple:
        return r["method"], _rows.settings_key(r), r.get("seed")

    have = {(key(r), r["metric"]): r for r in map(_row_fields.normalise, stored)
            if r.get("dataset") == DATASET and r.get("split") == "test" and not r.get("seeds")}
    per_arm: dict[tuple[str, str], list[dict[str, float]]] = {}
    n_test = 0
    for run in runs:
        for seed in seeds:
            name = f"{labels[run]} [seed {seed}]"
            want = key(_row_fields.normalise({"method": name, "metric": "", "value": 0, "seed": seed}))
            missing = [m for m in METRICS if (want, m) not in have]
            if missing:
                raise _rows.UsageError(f"--pool-seeds: no stored {missing[0]} row for {name!r} in "
                                       f"results/{BENCH}.json (run that seed with the same options first)")
            per_arm.setdefault(run, []).append({m: have[want, m]["value"] for m in METRICS})
            n_test = have[want, METRICS[0]].get("n")
            if isinstance(n_test, bool) or not isinstance(n_test, int):
                raise _rows.UsageError(f"results/{BENCH}.json: row {name!r} has n {n_test!r}, not a count")
    return per_arm, n_test


def summary_rows(labels: dict[tuple[str, str], str], runs: list[tuple[str, str]], seeds: list[int],
                 per_arm: dict[tuple[str, str], list[dict[str, float]]], n_test: int,
                 baseline: tuple[str, dict[str, float]] | None = None) -> tuple[list[dict], list[tuple]]:
    """Rows of the mean over seeds of each run (``[mean of seeds ...]``, ``seed`` null) and of the
    paired differences against ``ce`` (:func:`paired_vs_ce`), printed as they are made; also the
    (name, "mean", metrics) lines of the summary table. ``baseline`` = (name, test metrics) of the
    plain k-mer regression when it ran."""
    tag = ",".join(map(str, seeds))
    rows, table = [], []
    for key in runs:
        mean = {m: float(np.mean([r[m] for r in per_arm[key]])) for m in METRICS}
        table.append((labels[key], "mean", mean))
        for m in METRICS:
            bl = None if baseline is None else (baseline[0], baseline[1][m])
            sd = float(np.std([r[m] for r in per_arm[key]], ddof=1)) if len(seeds) > 1 else None
            rows.append(_rows.row(BENCH, DATASET, "test", n_test, f"{labels[key]} [mean of seeds {tag}]", m,
                                  mean[m], baseline=bl, seeds=seeds, sd=sd))
    for key, stats in paired_vs_ce(per_arm, runs, seeds).items():
        name = f"{labels[key]} [minus ce, paired over seeds {tag}]"
        for metric, value in stats.items():
            if metric.endswith("_sd"):  # the sd of <metric>, written in its row
                continue
            sd = stats.get(f"{metric}_sd")
            rows.append(_rows.row(BENCH, DATASET, "test", n_test, name, metric, value, seeds=seeds,
                                  sd=sd if sd is not None and np.isfinite(sd) else None))
        print(f"  {labels[key]} minus ce, paired over {len(seeds)} seeds: " + "; ".join(
            f"{m} {stats[m + '_minus_ce']:+.4f} (sd {stats[m + '_minus_ce_sd']:.4f}, higher in "
            f"{stats[m + '_seeds_higher']:.0f})" for m in PAIRED_METRICS), flush=True)
    return rows, table


def check_backbone(path: Path, k: int) -> None:
    """Refuse (:class:`_rows.UsageError`) a ``--backbone`` that is not a model folder with the
    overlapping ``k``-mer tokenizer of ``serendip pretrain`` (``tokenizer_config.json``:
    ``tokenizer_class`` ``KmerTokenizer``, ``k``), the tokenisation every arm here shares; a text
    model would otherwise run on DNA and be reported as a DNA encoder."""
    import json

    if not (path / "config.json").is_file():
        raise _rows.UsageError(f"--backbone {path}: not a model folder (no config.json)")
    try:
        tok = json.loads((path / "tokenizer_config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        tok = {}
    if not isinstance(tok, dict) or tok.get("tokenizer_class") != "KmerTokenizer" or tok.get("k") != k:
        got = (tok.get("tokenizer_class"), tok.get("k")) if isinstance(tok, dict) else (None, None)
        raise _rows.UsageError(f"--backbone {path}: not a {k}-mer DNA model (its tokenizer_config.json "
                               f"gives tokenizer_class {got[0]!r}, k {got[1]!r}; expected 'KmerTokenizer', "
                               f"{k}, as made by serendip pretrain)")


def _names(value: str, allowed, option: str) -> list[str]:
    out = [p.strip() for p in value.split(",") if p.strip()]
    bad = [p for p in out if p not in allowed]
    if bad or not out:
        what = f"unknown {bad[0]!r}" if bad else "none given"
        raise _rows.UsageError(f"{option}: {what}; choose from {', '.join(allowed)}")
    twice = [p for i, p in enumerate(out) if p in out[:i]]
    if twice:
        raise _rows.UsageError(f"{option}: {twice[0]!r} is given twice")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=_rows.int_list, default=[0, 1], help="training seeds, comma-separated")
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--arms", default=",".join(DEFAULT_ARMS), help=f"comma-separated of {', '.join(ARMS)}")
    ap.add_argument("--models", default="bert", help="comma-separated of bert (the engine's tiny BERT), "
                    "cnn (the small CNN, same losses)")
    ap.add_argument("--backbone", type=Path, default=None,
                    help="bert arms: fine-tune this pre-trained model folder (6-mer tokenizer, e.g. "
                         "dna_gue's pretrained-genomes-tiny-4000steps) instead of random weights")
    ap.add_argument("--cnn-epochs", type=int, default=30, help="at most this many CNN epochs")
    ap.add_argument("--no-baseline", action="store_true", help="skip the k-mer logistic regressions")
    ap.add_argument("--split-seed", type=_rows.seed, default=0, help="seed of the positive sample")
    ap.add_argument("--subset", type=_rows.positive_int, default=None, help="train on N sampled derived training rows (smoke)")
    ap.add_argument("--threads", type=_rows.positive_int, default=1, help="torch / BLAS threads")
    ap.add_argument("--device", default=None)
    ap.add_argument("--workdir", type=Path, default=None)
    ap.add_argument("--pool-seeds", type=_rows.int_list, default=None,
                    help="train nothing: means and paired differences against ce over these seeds, "
                         "from the per-seed rows stored in results/imbalance_dna.json by earlier runs "
                         "with the same options")
    ap.add_argument("--no-write", action="store_true", help="print only; do not write results")
    args = ap.parse_args()
    seeds = args.seeds
    arms = _names(args.arms, ARMS, "--arms")
    models = _names(args.models, ("bert", "cnn"), "--models")
    if args.backbone is not None:
        check_backbone(args.backbone, dna_gue.Options(workdir=Path(".")).k)
    if args.pool_seeds is not None:
        if len(args.pool_seeds) < 2:
            raise _rows.UsageError("--pool-seeds: give at least two seeds to pool")
        labels = arm_labels(arms, args.epochs, args.cnn_epochs, args.subset, args.backbone, args.split_seed)
        runs = [(model, arm) for model in models for arm in arms]
        try:
            stored = _rows.read_all_rows(BENCH)
        except ValueError as exc:
            raise _rows.UsageError(str(exc)) from None
        t = time.perf_counter()
        per_arm, n_test = stored_per_seed(stored, labels, runs, args.pool_seeds)
        rows, table = summary_rows(labels, runs, args.pool_seeds, per_arm, n_test)
        for name, _, mean in table:
            print(f"  {name} [mean of seeds {','.join(map(str, args.pool_seeds))}]: " +
                  "  ".join(f"{m} {mean[m]:.4f}" for m in METRICS))
        _rows.finish(BENCH, rows, time.perf_counter() - t, no_write=args.no_write)
        return

    import torch
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(args.threads)
    threadpool_limits(args.threads)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="imbalance_dna-"))
    workdir.mkdir(parents=True, exist_ok=True)
    opts = dna_gue.Options(workdir=workdir, model_size="tiny", subset=args.subset, device=args.device)
    print(f"work folder {workdir}")

    t_all = time.perf_counter()
    splits, report = derived_splits(args.split_seed)
    print(f"derived split (seed {args.split_seed}): {report}")
    print(f"  overlap: {splits.report}")
    splits = subset_train(splits, args.subset, args.split_seed)
    sub = f", subset {args.subset}" if args.subset else ""
    if args.subset:
        n1 = int(_labels(splits["train"]).sum())
        print(f"  SUBSET: training on {len(splits['train'])} rows ({n1} positive); dev/test whole")
    data_dir = workdir / f"data-{TASK}-5pct-s{args.split_seed}{'-subset' + str(args.subset) if args.subset else ''}"
    data_dir.mkdir(parents=True, exist_ok=True)
    for s in ("train", "dev", "test"):
        dna_gue._write_csv(data_dir / f"{s}.csv", splits[s])
    n = {s: len(splits[s]) for s in ("train", "dev", "test")}

    rows: list[dict] = []
    table: list[tuple[str, str, dict[str, float]]] = []
    base: dict[str, float] | None = None

    base_name = BASELINE + (f" ({sub[2:]})" if sub else "")

    def add(method: str, seed: Any, test: dict[str, float], wall: float | None, extra: dict[str, float]):
        for m in METRICS:
            bl = None if base is None or method == base_name else (base_name, base[m])
            rows.append(_rows.row(BENCH, DATASET, "test", n["test"], method, m, test[m], baseline=bl,
                                  seed=seed, wall_s=wall))
        for k, v in extra.items():
            split = "dev" if k.startswith(("dev_", "selected_")) else "train"
            rows.append(_rows.row(BENCH, DATASET, split, n[split], method, k, v, seed=seed))

    if not args.no_baseline:
        for balanced in (False, True):
            name = BASELINE + (' class_weight="balanced"' if balanced else "") + (f" ({sub[2:]})" if sub else "")
            print(f"  {name}", flush=True)
            res = logreg(splits, balanced)
            if not balanced:
                base = res["test"]
            t = res["test"]
            print("    test " + "  ".join(f"{m} {t[m]:.4f}" for m in METRICS) + f"  (C={res['C']}, "
                  f"{res['wall_s']:.0f} s)", flush=True)
            table.append((name, "0", t))
            add(name, 0, t, res["wall_s"], {"dev_pr_auc": res["dev_pr_auc"], "selected_C": res["C"]})

    per_arm: dict[tuple[str, str], list[dict[str, float]]] = {}
    labels = arm_labels(arms, args.epochs, args.cnn_epochs, args.subset, args.backbone, args.split_seed)
    runs = [(model, arm) for model in models for arm in arms]
    for seed in seeds:  # seed-major: every arm of seed 0 before seed 1
        for model, arm in runs:
            label = labels[model, arm]
            print(f"  {label} seed {seed}", flush=True)
            res = (transformer(splits, arm, seed, args.epochs, opts, data_dir, args.backbone) if model == "bert"
                   else cnn(splits, arm, seed, args.cnn_epochs))
            t = res["test"]
            print("    test " + "  ".join(f"{m} {t[m]:.4f}" for m in METRICS) +
                  f"  (best epoch {res['best_epoch']} of {res['epochs_run']}, dev PR-AUC "
                  f"{res['dev_pr_auc']:.4f}, {res['wall_s']:.0f} s, {res['train_rows']} training rows; "
                  f"loss {res['loss']})", flush=True)
            per_arm.setdefault((model, arm), []).append(t)
            table.append((label, str(seed), t))
            add(f"{label} [seed {seed}]", seed, t, res["wall_s"],
                {"dev_pr_auc": res["dev_pr_auc"], "selected_best_epoch": res["best_epoch"] or 0,
                 "selected_epochs_run": res["epochs_run"], "finetune_wall_s": res["wall_s"]})
    if len(seeds) > 1:
        more, means = summary_rows(labels, runs, seeds, per_arm, n["test"],
                                   None if base is None else (base_name, base))
        rows += more
        table += means

    wall_all = time.perf_counter() - t_all
    print(f"\nderived test split: {n['test']} rows, {int(_labels(splits['test']).sum())} positive")
    print("| method | seed | " + " | ".join(METRICS) + " |")
    print("|---|---|" + "---|" * len(METRICS))
    for name, seed, t in table:
        print(f"| {name} | {seed} | " + " | ".join(f"{t[m]:.4f}" for m in METRICS) + " |")
    _rows.finish(BENCH, rows, wall_all, no_write=args.no_write)


if __name__ == "__main__":
    _rows.run_main(main)
