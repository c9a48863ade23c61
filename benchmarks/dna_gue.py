"""DNA sequence classification on GUE (DNABERT-2's benchmark): MCC on the official test splits.

Tasks: ``prom_core_all`` (human core promoters, 70 bp) and ``tf0`` (human TF binding sites, 101 bp),
official train/dev/test files from the dataset registry (``gue/<task>``, sha256-checked). The official
test sets are used whole: sequences they share with train (42 in prom_core_all) are reported and also
scored separately (split ``test-not-in-train``: without the test rows whose sequence is among the training
sequences used, the sampled ones with ``--subset``), never dropped from the ``test`` row.

Methods (each a function ``(splits, seed, opts) -> MethodResult`` returning dev and test predictions,
so more can be added to :data:`METHODS` without touching the scoring; on the command line by letter or
name):

(a) ``kmer6-tfidf-logreg`` - overlapping 6-mer counts over ACGT (4,096 features,
    :func:`serendip.genomics.kmers.kmer_counts`), TF-IDF (scikit-learn ``TfidfTransformer``, defaults:
    smooth idf, l2 norm), L2 logistic regression (lbfgs); C chosen by MCC on the official dev split
    only, from :data:`C_GRID`, then the model fitted on train with that C predicts test. The simple
    baseline every other method here is compared against.
(b) ``cnn-3conv`` - the genomic-benchmarks-style small CNN of :mod:`serendip.genomics.cnn` (one-hot
    ACGTN, three conv blocks, global max pool, linear; Grešová et al., BMC Genomic Data 2023), AdamW,
    early stopping on dev MCC (patience :data:`CNN_PATIENCE`, at most ``--cnn-epochs``).
(c) ``transformer-scratch`` - a BERT encoder (``--model-size``, default ``tiny``: 128 hidden, 2
    layers; overlapping 6-mer tokenizer of ``serendip pretrain``) from random weights, fine-tuned with
    :func:`serendip.models.train.finetune` (full fine-tuning, AdamW, lr :data:`FT_LR`, early stopping
    on dev MCC).
(d) ``transformer-pretrain-genomes`` - the same encoder, first pre-trained with
    :func:`serendip.models.pretrain.pretrain` (masked-language modelling, span masking) on the
    bacterial genomes of the ``genomes`` dataset (``--window`` bp windows, both strands), then
    fine-tuned as (c). Pre-trained once per run and shared by the tasks (the same wall time is
    reported on each task's rows).
(e) ``transformer-pretrain-task`` - the same encoder pre-trained on the task's own training sequences
    (labels unused; both strands), then fine-tuned as (c).

Budgets: ``--pretrain-minutes`` and ``--finetune-minutes`` are turned into a number of pre-training
steps and of fine-tuning epochs by a short timing probe (a few optimisation steps of the same model
on random tokens of the same shape; the engines take step/epoch counts, not wall-clock limits). Data
reading and tokenisation are outside the budget (``--pretrain-steps`` and ``--finetune-epochs`` fix the
counts instead, for runs on a shared or different machine; the names then give steps and epochs; a
pre-trained model already in ``--workdir`` with the same config and input sha256s is reused, its
recorded wall time reported; ``--pretrain-seed S`` pre-trains with seed S whatever ``--seed`` is, so
further fine-tuning seeds can reuse one finished pre-training - its seed is then a ``pretrain_seed``
row beside the method's rows); ``--rc-tta`` scores (c)-(e) with test-time reverse-complement averaging
(the engine's ``test_time`` augmentation; dev selection included); the measured wall times are reported as rows
(``pretrain_wall_s``, ``finetune_wall_s``). ``--subset N`` trains every method on a seeded sample of N
training sequences (dev and test stay whole); method names then say so, as they always say the model
size and budgets (e.g. ``transformer-scratch (tiny, ft 5 min, subset 5000)``), so a smoke run is never
mistaken for a headline row.

Uncertainty: every method's dev/test predictions are saved under ``<workdir>/predictions/<task>/``
(with the sha256 of the split sequences they belong to). Beside each method's rows, when (a) ran in
the same run, a paired bootstrap over the test rows (:func:`_rows.paired_bootstrap`, :data:`N_BOOT`
resamples, seed 0) gives ``mcc_minus_baseline`` with its 95 % interval (``_ci95_low``, ``_ci95_high``)
and ``_frac_not_higher``, the share of resamples where the method's MCC is not above (a)'s: the
spread due to the 1,000 (tf0) or 5,920 (prom_core_all) test sequences, which more training seeds do not
shrink. ``--pool-seeds 0,1,2,...`` trains nothing: it reads the predictions that separate runs (one
``--seed`` each, e.g. side by side on two cores) saved in ``--workdir`` and writes, per method, the MCC
mean and sd over those seeds (``[mean of seeds ...]`` rows, ``seed`` null), the number of seeds above
(a)'s mean, and the same paired bootstrap for the seed-mean MCC minus (a)'s.

Metrics: Matthews correlation coefficient (``sklearn.metrics.matthews_corrcoef``, the metric GUE
reports), accuracy, F1 of class ``1``. Values are on the [-1, 1] / [0, 1] scale; the paper's MCC x 100
figures are divided by 100 for the anchors. Every row's baseline is method (a)'s test MCC in the same
run (None when (a) was not run).

Anchors (Zhou et al., "DNABERT-2: Efficient Foundation Model and Benchmark for Multi-Species Genome",
ICLR 2024, GUE results table, MCC x 100): prom_core_all - NT-2500M-multi 70.33 (best published there),
DNABERT-2 69.37; tf/0 - DNABERT-2 71.99.

Usage::

    SERENDIP_DATA_MIRROR=/work/shared/data python benchmarks/dna_gue.py \\
        [--tasks prom_core_all,tf0] [--methods a,b,c,d,e] [--pretrain-minutes 60] \\
        [--finetune-minutes 60] [--subset N] [--workdir DIR]
    # then, over the seeds run with that --workdir (and the same budget options):
    python benchmarks/dna_gue.py --tasks tf0 --methods a,d --pretrain-steps 4000 --finetune-epochs 4 \\
        --workdir DIR --pool-seeds 0,1,2,3,4
"""
from __future__ import annotations

import argparse
import csv
import math
import random
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _rows

from serendip.genomics.gue import GueSplits, load_gue
from serendip.genomics.kmers import kmer_counts

BENCH = "dna_gue"
TASKS = ("prom_core_all", "tf0")
C_GRID = (0.03, 0.1, 0.3, 1.0, 3.0, 10.0, 30.0)
_SRC = "Zhou et al., ICLR 2024 (DNABERT-2), GUE results table, MCC x 100 / 100"
#: task -> (name, MCC on [-1, 1], source) of the best published figure we compare with
ANCHORS: dict[str, tuple[str, float, str]] = {
    "prom_core_all": ("NT-2500M-multi", 0.7033, _SRC + "; DNABERT-2 there: 0.6937"),
    "tf0": ("DNABERT-2", 0.7199, _SRC),
}
#: CNN (b): early-stopping patience (epochs without a better dev MCC), batch size, learning rate
CNN_PATIENCE, CNN_BATCH, CNN_LR = 4, 64, 1e-3
#: Transformers (c)-(e): fine-tuning peak lr (AdamW, 6 % warm-up, linear decay; a small encoder
#: trained from scratch needs more than BERT-base's 2e-5..5e-5), batch size, early-stopping patience
FT_LR, FT_BATCH, FT_PATIENCE, FT_MAX_EPOCHS = 3e-4, 32, 3, 100
#: Pre-training batch size (windows)
PT_BATCH = 32
#: Fraction of a budget given to the probed step count (room for evaluation and probe error)
BUDGET_SAFETY = 0.85


@dataclass
class MethodResult:
    """Predictions of one method on one task.

    ``pred`` maps split name (``"dev"``, ``"test"``) to an int ndarray of shape (n_split,) of predicted
    labels; ``params`` holds the chosen hyper-parameters (numbers only, reported as ``selected_<name>``
    rows); ``extra`` holds other measured numbers (wall times, steps; reported as rows named as given).
    """

    pred: dict[str, np.ndarray]
    params: dict[str, float] = field(default_factory=dict)
    extra: dict[str, float] = field(default_factory=dict)


@dataclass
class Options:
    """Settings shared by the methods of one run (from the command line)."""

    workdir: Path
    model_size: str = "tiny"
    k: int = 6
    window: int = 120
    pretrain_minutes: float = 60.0
    finetune_minutes: float = 60.0
    pretrain_steps: int | None = None  # fixed step count instead of the probed budget
    rc_tta: bool = False  # average logits over each dev/test sequence and its reverse complement
    finetune_epochs: int | None = None  # fixed epoch count instead of the probed budget
    pretrain_seed: int | None = None  # pre-training seed when it is not the run's --seed
    subset: int | None = None
    cnn_epochs: int = 30
    device: str | None = None
    cache: dict[Any, Any] = field(default_factory=dict)


def _labels(exs) -> np.ndarray:
    return np.fromiter((int(e.label) for e in exs), dtype=np.int64, count=len(exs))


def kmer_tfidf_logreg(splits: GueSplits, seed: int, opts: Options | None = None, k: int = 6) -> MethodResult:
    """(a) k-mer counts + TF-IDF + logistic regression; C tuned on dev MCC (see module docstring)."""
    from sklearn.feature_extraction.text import TfidfTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import matthews_corrcoef

    X = {s: kmer_counts([e.text for e in splits[s]], k) for s in ("train", "dev", "test")}
    y = {s: _labels(splits[s]) for s in X}
    tfidf = TfidfTransformer().fit(X["train"])
    Z = {s: tfidf.transform(m) for s, m in X.items()}
    best = None
    for C in C_GRID:
        clf = LogisticRegression(C=C, max_iter=5000, random_state=seed).fit(Z["train"], y["train"])
        dev_pred = clf.predict(Z["dev"])
        mcc = matthews_corrcoef(y["dev"], dev_pred)
        print(f"    C={C:<5} dev MCC {mcc:.4f}", flush=True)
        if best is None or mcc > best[0]:
            best = (mcc, C, clf, dev_pred)
    mcc, C, clf, dev_pred = best
    return MethodResult(pred={"dev": dev_pred, "test": clf.predict(Z["test"])}, params={"C": C})


def cnn_3conv(splits: GueSplits, seed: int, opts: Options) -> MethodResult:
    """(b) the small CNN of :mod:`serendip.genomics.cnn`, early stopping on dev MCC."""
    from serendip.genomics.cnn import train_cnn

    data = {s: ([e.text for e in splits[s]], _labels(splits[s]).tolist()) for s in ("train", "dev", "test")}
    t = time.perf_counter()
    model = train_cnn(data["train"], data["dev"], seed=seed, epochs=opts.cnn_epochs, batch_size=CNN_BATCH,
                      lr=CNN_LR, patience=CNN_PATIENCE, log=lambda m: print(f"    {m}", flush=True))
    train_s = time.perf_counter() - t
    print(f"    best epoch {model.best_epoch} of {len(model.history)} ({model.stopped})", flush=True)
    return MethodResult(pred={s: np.asarray(model(data[s][0]), dtype=np.int64) for s in ("dev", "test")},
                        params={"best_epoch": model.best_epoch, "epochs_run": len(model.history)},
                        extra={"train_wall_s": train_s})


# -- transformers (c)-(e) ---------------------------------------------------------------------------
def _dims(opts: Options) -> dict[str, int]:
    from serendip.models.pretrain import SIZES

    return dict(SIZES[opts.model_size])


def _max_positions(opts: Options, longest_bp: int = 101) -> int:
    """Position embeddings: enough for a window or a task sequence in k-mers with [CLS]/[SEP]."""
    need = max(opts.window, longest_bp) - opts.k + 3
    return -(-need // 32) * 32


def _probe_seconds(opts: Options, kind: str, tokens: int, batch: int, steps: int = 10) -> float:
    """Seconds per optimisation step of the encoder on random tokens of shape (batch, tokens):
    ``kind`` ``"mlm"`` (pre-training; the MLM head on ~15 % of positions, as the engine does) or
    ``"cls"`` (sequence classification)."""
    import torch
    from transformers import BertConfig, BertForMaskedLM, BertForSequenceClassification

    from serendip.models.pretrain.masking import mlm_loss as _mlm_loss

    vocab = 4 ** opts.k + 5
    cfg = BertConfig(vocab_size=vocab, max_position_embeddings=_max_positions(opts), type_vocab_size=2,
                     num_labels=2, **_dims(opts))
    gen = torch.Generator().manual_seed(0)
    ids = torch.randint(5, vocab, (batch, tokens), generator=gen)
    batch_in = {"input_ids": ids, "attention_mask": torch.ones_like(ids), "token_type_ids": torch.zeros_like(ids)}
    device = torch.device(opts.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    model = (BertForMaskedLM if kind == "mlm" else BertForSequenceClassification)(cfg).to(device)
    model.train()
    optim = torch.optim.AdamW(model.parameters(), lr=1e-4)
    if kind == "mlm":
        labels = torch.where(torch.rand(ids.shape, generator=gen) < 0.15, ids, torch.full_like(ids, -100))
    else:
        labels = torch.randint(0, 2, (batch,), generator=gen)
    batch_in = {k: v.to(device) for k, v in batch_in.items()}
    labels = labels.to(device)
    times = []
    for i in range(steps + 3):
        t = time.perf_counter()
        if kind == "mlm":
            loss = _mlm_loss(model, {**batch_in, "labels": labels})[0]
        else:
            loss = torch.nn.functional.cross_entropy(model(**batch_in).logits, labels)
        optim.zero_grad(set_to_none=True)
        loss.backward()
        optim.step()
        if device.type == "cuda":
            torch.cuda.synchronize()
        if i >= 3:  # the first steps build kernels
            times.append(time.perf_counter() - t)
    return float(np.median(times))


def _steps_for(opts: Options, minutes: float, kind: str, tokens: int, batch: int) -> tuple[int, float]:
    key = ("probe", kind, tokens, batch)
    if key not in opts.cache:
        opts.cache[key] = _probe_seconds(opts, kind, tokens, batch)
    sec = opts.cache[key]
    return max(1, int(BUDGET_SAFETY * minutes * 60 / sec)), sec


def _subset_tag(opts: Options) -> str:
    return f", subset {opts.subset}" if opts.subset else ""


def _scratch_folder(opts: Options, seed: int) -> Path:
    """A model folder holding the randomly initialised encoder (same init as pre-training) and the
    k-mer tokenizer, for (c)."""
    import torch
    from transformers import BertConfig, BertForMaskedLM

    from serendip.genomics.tokenizer import make_kmer_tokenizer

    folder = opts.workdir / f"scratch-{opts.model_size}-k{opts.k}-seed{seed}"
    if not (folder / "config.json").exists():
        tok = make_kmer_tokenizer(k=opts.k)
        cfg = BertConfig(vocab_size=len(tok), max_position_embeddings=_max_positions(opts),
                         hidden_dropout_prob=0.1, attention_probs_dropout_prob=0.1, type_vocab_size=2,
                         pad_token_id=tok.pad_token_id, **_dims(opts))
        torch.manual_seed(seed)
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        BertForMaskedLM(cfg).save_pretrained(str(folder))
        tok.save_pretrained(str(folder))
    return folder


def _pretrain(opts: Options, name: str, data: dict[str, Any], tokens: int, seed: int
              ) -> tuple[Path, dict[str, float]]:
    """Pre-train the shared encoder for ``opts.pretrain_minutes`` (probed step count) on ``data`` (a
    PretrainConfig ``data`` section); cached per run under ``name``."""
    from serendip.models.pretrain import PretrainConfig, pretrain

    if name in opts.cache:
        return opts.cache[name]
    if opts.pretrain_seed is not None:
        seed = opts.pretrain_seed
    if opts.pretrain_steps:
        steps, sec = opts.pretrain_steps, float("nan")
        print(f"    pre-training {name}: {steps} steps (fixed)", flush=True)
    else:
        steps, sec = _steps_for(opts, opts.pretrain_minutes, "mlm", tokens, PT_BATCH)
        print(f"    pre-training {name}: probe {sec * 1000:.0f} ms/step -> {steps} steps for "
              f"{opts.pretrain_minutes:g} min", flush=True)
    out = opts.workdir / f"pretrained-{name}"
    cfg = PretrainConfig.model_validate({
        "kind": "dna", "data": {**data, "heldout": 0.05},
        "windows": {"length": opts.window, "stride": opts.window, "reverse_complement": True},
        "tokenizer": {"kind": "kmer", "k": opts.k},
        "model": {"size": opts.model_size, "max_position_embeddings": _max_positions(opts)},
        "training": {"max_steps": steps, "batch_size": PT_BATCH, "eval_every": max(100, steps // 5),
                     "seed": seed, "device": opts.device},
        "output": {"dir": str(out), "overwrite": True}})
    done = _finished_pretrain(out, cfg)
    if done is not None:
        print(f"    reusing {out}: same config and inputs, pre-trained {done['wall_s']:.0f} s on "
              f"{done['date']}", flush=True)
        wall, steps, steps_per_s = done["wall_s"], done["steps"], done["throughput"]["steps_per_s"]
        heldout, baseline = done.get("heldout") or {}, done.get("baseline") or {}
    else:
        t = time.perf_counter()
        res = pretrain(cfg, log=lambda m: print(f"      {m}", flush=True))
        wall = time.perf_counter() - t
        steps, steps_per_s, heldout, baseline = res.steps, res.steps_per_s, res.heldout, res.baseline
    info = {"pretrain_wall_s": wall, "pretrain_steps": steps, "pretrain_probe_s_per_step": sec,
            "pretrain_s_per_step": 1.0 / steps_per_s if steps_per_s else float("nan"),
            "pretrain_heldout_perplexity": heldout.get("perplexity", float("nan")),
            "pretrain_heldout_accuracy": heldout.get("accuracy", float("nan")),
            "pretrain_unigram_perplexity": baseline.get("perplexity", float("nan")),
            "pretrain_seed": seed}
    print(f"    pre-trained in {wall:.0f} s ({steps} steps, {steps_per_s:.2f} steps/s); held-out "
          f"perplexity {info['pretrain_heldout_perplexity']:.1f} (unigram "
          f"{info['pretrain_unigram_perplexity']:.1f})", flush=True)
    opts.cache[name] = (out, info)
    return out, info


def _finished_pretrain(out: Path, cfg: Any) -> dict[str, Any] | None:
    """The ``pretrain_report.json`` of a finished pre-training in ``out`` made with the same config
    and the same input bytes (sha256), else None (then it is trained again)."""
    import hashlib
    import json

    report_path = out / "pretrain_report.json"
    if not (report_path.exists() and (out / "config.json").exists()):
        return None
    report = json.loads(report_path.read_text(encoding="utf-8"))
    if report.get("config") != cfg.to_dict():
        return None
    for item in report.get("inputs") or []:
        path = Path(item["path"])
        if not path.exists() or hashlib.sha256(path.read_bytes()).hexdigest() != item["sha256"]:
            return None
    return report


def _write_csv(path: Path, exs) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["text", "label"])
        for e in exs:
            w.writerow([e.text, e.label])


def _finetune(splits: GueSplits, seed: int, opts: Options, backbone: Path, tag: str) -> MethodResult:
    """Fine-tune ``backbone`` on the task for ``opts.finetune_minutes`` (probed epoch count) with
    :func:`serendip.models.train.finetune`; predictions of the best dev epoch on dev and test."""
    from serendip.models.config import FineTuneConfig
    from serendip.models.train import ModelBundle, finetune, model_outputs

    data_dir = opts.workdir / f"data-{splits.task}{'-subset' + str(opts.subset) if opts.subset else ''}"
    data_dir.mkdir(parents=True, exist_ok=True)
    for s in ("train", "dev", "test"):
        if not (data_dir / f"{s}.csv").exists():
            _write_csv(data_dir / f"{s}.csv", splits[s])
    longest = max(len(e.text) for s in ("train", "dev", "test") for e in splits[s])
    tokens = longest - opts.k + 3
    if opts.finetune_epochs:
        epochs, sec = opts.finetune_epochs, float("nan")
        print(f"    fine-tuning: {epochs} epoch(s) (fixed)", flush=True)
    else:
        _, sec = _steps_for(opts, 1.0, "cls", tokens, FT_BATCH)
        steps_per_epoch = math.ceil(len(splits["train"]) / FT_BATCH)
        epoch_s = sec * (steps_per_epoch + math.ceil(len(splits["dev"]) / FT_BATCH) / 3)
        epochs = max(1, min(FT_MAX_EPOCHS, int(BUDGET_SAFETY * opts.finetune_minutes * 60 / epoch_s)))
        print(f"    fine-tuning: probe {sec * 1000:.0f} ms/step, ~{epoch_s:.0f} s/epoch -> {epochs} "
              f"epoch(s) for {opts.finetune_minutes:g} min", flush=True)
    cfg = FineTuneConfig.model_validate({
        "data": {"train": str(data_dir / "train.csv"), "dev": str(data_dir / "dev.csv"),
                 "test": str(data_dir / "test.csv")},
        "task": "binary", "backbone": str(backbone),
        "augmentations": ([{"name": "reverse_complement", "train": False, "test_time": True}]
                          if opts.rc_tta else []),
        "training": {"epochs": epochs, "batch_size": FT_BATCH, "lr": FT_LR, "warmup_ratio": 0.06,
                     "max_length": _max_positions(opts), "seed": seed, "device": opts.device,
                     "early_stopping": {"patience": FT_PATIENCE}},
        "output": {"run_dir": str(opts.workdir / "runs"), "name": f"{splits.task}-{tag}", "plots": False,
                   "save_model": False}})
    t = time.perf_counter()
    run = finetune(cfg)
    wall = time.perf_counter() - t
    for s in ("dev", "test"):
        got = [e.text for e in getattr(run.splits, s)]
        if got != [e.text for e in splits[s]]:
            raise RuntimeError(f"fine-tuning read a different {s} split ({len(got)} rows, expected "
                               f"{len(splits[s])}); scores would not be on the official split")
    from serendip.models.augment import build_views, test_time_specs

    bundle = ModelBundle(run.model, run.tokenizer, run.task, run.label_space, run.max_length,
                         device=str(next(run.model.parameters()).device),
                         views=build_views(test_time_specs(cfg.augmentations)))
    pred = {}
    for s in ("dev", "test"):
        outputs = model_outputs(bundle, getattr(run.splits, s), batch_size=128)
        pred[s] = np.asarray([int(lab) for lab in run.task.predict(outputs, run.label_space).labels])
    sel = run.metrics["selection"]
    print(f"    fine-tuned in {wall:.0f} s: best epoch {sel['best_epoch']} of {sel['epochs_run']} "
          f"({run.metrics['steps']} steps)", flush=True)
    return MethodResult(pred=pred, params={"best_epoch": sel["best_epoch"] or 0, "epochs_run": sel["epochs_run"],
                                           "epochs_budget": epochs},
                        extra={"finetune_wall_s": wall, "finetune_probe_s_per_step": sec})


def transformer_scratch(splits: GueSplits, seed: int, opts: Options) -> MethodResult:
    """(c) the encoder from random weights, fine-tuned."""
    return _finetune(splits, seed, opts, _scratch_folder(opts, seed), "scratch")


def transformer_pretrain_genomes(splits: GueSplits, seed: int, opts: Options) -> MethodResult:
    """(d) pre-trained on the bacterial genomes (``genomes`` dataset), then fine-tuned."""
    tokens = opts.window - opts.k + 3
    folder, info = _pretrain(opts, f"genomes-{opts.model_size}-{_pt_budget(opts)}",
                             {"dataset": "genomes", "dataset_files": "*.fna.gz"}, -(-tokens // 32) * 32, seed)
    res = _finetune(splits, seed, opts, folder, "pretrain-genomes")
    res.extra.update(info)
    return res


def transformer_pretrain_task(splits: GueSplits, seed: int, opts: Options) -> MethodResult:
    """(e) pre-trained on the task's own training sequences (labels unused), then fine-tuned."""
    fasta = opts.workdir / f"{splits.task}-train{'-subset' + str(opts.subset) if opts.subset else ''}.fa"
    with fasta.open("w", encoding="ascii") as fh:
        for i, e in enumerate(splits["train"]):
            fh.write(f">train{i}\n{e.text}\n")
    longest = max(len(e.text) for e in splits["train"])
    tokens = min(longest, opts.window) - opts.k + 3
    folder, info = _pretrain(opts, f"{splits.task}-train-{opts.subset or 'all'}"
                             f"-{opts.model_size}-{_pt_budget(opts)}",
                             {"inputs": [str(fasta)]}, -(-tokens // 32) * 32, seed)
    res = _finetune(splits, seed, opts, folder, "pretrain-task")
    res.extra.update(info)
    return res


#: method name -> function(splits, seed, opts) -> MethodResult
METHODS: dict[str, Callable[[GueSplits, int, Options], MethodResult]] = {
    "kmer6-tfidf-logreg": kmer_tfidf_logreg,
    "cnn-3conv": cnn_3conv,
    "transformer-scratch": transformer_scratch,
    "transformer-pretrain-genomes": transformer_pretrain_genomes,
    "transformer-pretrain-task": transformer_pretrain_task,
}
#: command-line letters (issue 3's (a)-(e))
LETTERS = dict(zip("abcde", METHODS))
BASELINE = "kmer6-tfidf-logreg"


def _pt_budget(opts: Options) -> str:
    return f"{opts.pretrain_steps}steps" if opts.pretrain_steps else f"{opts.pretrain_minutes:g}min"


def method_label(name: str, opts: Options) -> str:
    """The method name written in the rows: with model size, budgets and subset where they apply."""
    sub = _subset_tag(opts)
    if name.startswith("transformer-"):
        pt_budget = (f"{opts.pretrain_steps} steps" if opts.pretrain_steps
                     else f"{opts.pretrain_minutes:g} min")
        ft_budget = (f"{opts.finetune_epochs} epochs" if opts.finetune_epochs
                     else f"{opts.finetune_minutes:g} min")
        pt = "" if name == "transformer-scratch" else f", pt {pt_budget}"
        tta = ", rc test-time avg" if opts.rc_tta else ""
        return f"{name} ({opts.model_size}{pt}, ft {ft_budget}{tta}{sub})"
    if name == "cnn-3conv" and opts.cnn_epochs != 30:  # the default cap keeps the plain name
        sub = f", max {opts.cnn_epochs} ep{sub}"
    return f"{name} ({sub[2:]})" if sub else name


def subset_splits(splits: GueSplits, n: int | None, seed: int) -> GueSplits:
    """The splits with ``n`` training examples drawn without replacement (seeded, original order kept);
    dev and test unchanged."""
    if not n or n >= len(splits["train"]):
        return splits
    keep = sorted(random.Random(seed).sample(range(len(splits["train"])), n))
    return GueSplits(splits.task, {**splits, "train": [splits["train"][i] for i in keep]}, splits.report)


def scores(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float]:
    """MCC, accuracy and F1 (positive class 1) of int label arrays of shape (n,)."""
    from sklearn.metrics import accuracy_score, f1_score, matthews_corrcoef

    return {"mcc": matthews_corrcoef(y_true, y_pred), "accuracy": accuracy_score(y_true, y_pred),
            "f1": f1_score(y_true, y_pred, pos_label=1)}


def _names(values: list[str], choices: dict[str, str], all_names, option: str) -> list[str]:
    out = []
    for v in values:
        for part in filter(None, (p.strip() for p in v.split(","))):
            name = choices.get(part, part)
            if name not in all_names:
                raise _rows.UsageError(f"{option}: unknown {part!r}; choose from "
                                       f"{', '.join([*choices, *all_names])}")
            if name in out:
                raise _rows.UsageError(f"{option}: {part!r} is given twice")
            out.append(name)
    if not out:
        raise _rows.UsageError(f"{option}: none given")
    return out


# -- saved predictions, paired bootstrap against (a), pooling seeds ---------------------------------
#: bootstrap resamples of the test rows for the ``mcc_minus_baseline`` CI rows
N_BOOT = 2000


def _texts_sha(exs) -> str:
    import hashlib

    return hashlib.sha256("\n".join(e.text for e in exs).encode()).hexdigest()


def predictions_path(opts: Options, task: str, label: str, seed: int) -> Path:
    """``<workdir>/predictions/<task>/<method label, filesystem-safe>-seed<seed>.npz``."""
    import re

    return opts.workdir / "predictions" / task / f"{re.sub(r'[^A-Za-z0-9.]+', '-', label).strip('-')}-seed{seed}.npz"


def save_predictions(path: Path, pred: dict[str, np.ndarray], splits: GueSplits) -> None:
    """Write the dev/test label arrays with the sha256 of the split sequences they belong to."""
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, **{s: pred[s] for s in ("dev", "test")},
             **{f"{s}_sha256": np.array(_texts_sha(splits[s])) for s in ("dev", "test")})


def load_predictions(path: Path, splits: GueSplits) -> dict[str, np.ndarray]:
    """The arrays written by :func:`save_predictions`: ``"dev"`` and ``"test"``, int64 label arrays of
    shape (n_split,). Raises :class:`_rows.UsageError` naming the file when it is missing, is not such
    a file (unreadable, not an ``.npz``, keys or shapes other than :func:`save_predictions` writes,
    labels outside the split's), or was made on other dev/test sequences. Read without pickle."""
    import zipfile

    if not path.is_file():
        raise _rows.UsageError(f"{path}: no saved predictions (run that method and seed with this "
                               "--workdir and the same budget options first)")
    try:
        with np.load(path, allow_pickle=False) as z:
            got = {k: z[k] for k in ("dev", "test", "dev_sha256", "test_sha256")}
    except (OSError, EOFError, ValueError, KeyError, zipfile.BadZipFile) as exc:
        raise _rows.UsageError(f"{path}: not a predictions file written by this script ({exc})") from None
    out = {}
    for s in ("dev", "test"):
        if str(got[f"{s}_sha256"]) != _texts_sha(splits[s]):
            raise _rows.UsageError(f"{path}: made on other {s} sequences than gue/{splits.task}'s")
        pred, labels = got[s], _labels(splits[s])
        if pred.shape != labels.shape or pred.dtype.kind not in "iu":
            raise _rows.UsageError(f"{path}: {s} predictions have shape {pred.shape} and dtype {pred.dtype}, "
                                   f"expected integer labels of shape {labels.shape}")
        unknown = sorted(set(np.unique(pred).tolist()) - set(np.unique(labels).tolist()))
        if unknown:
            raise _rows.UsageError(f"{path}: {s} predictions hold label(s) {unknown} that gue/{splits.task} "
                                   "does not have")
        out[s] = pred.astype(np.int64)
    return out


def bootstrap_rows(task: str, n_test: int, name: str, y_test: np.ndarray, base: list[np.ndarray],
                   preds: list[np.ndarray], seed: int | None) -> list[dict]:
    """Rows ``mcc_minus_baseline`` and its paired-bootstrap ``_ci95_low`` / ``_ci95_high`` /
    ``_frac_not_higher`` (see :func:`_rows.paired_bootstrap`; ``base`` = method (a)'s test
    predictions, ``preds`` = this method's, one array per seed)."""
    from sklearn.metrics import matthews_corrcoef

    b = _rows.paired_bootstrap(matthews_corrcoef, y_test, base, preds, n_boot=N_BOOT, seed=0)
    print(f"    MCC minus (a): {b['diff']:+.4f}, paired bootstrap 95 % CI [{b['ci95_low']:+.4f}, "
          f"{b['ci95_high']:+.4f}], not higher in {b['frac_not_higher']:.1%} of {N_BOOT} resamples", flush=True)
    metric = {"diff": "mcc_minus_baseline", "ci95_low": "mcc_minus_baseline_ci95_low",
              "ci95_high": "mcc_minus_baseline_ci95_high", "frac_not_higher": "mcc_minus_baseline_frac_not_higher"}
    return [_rows.row(BENCH, f"gue/{task}", "test", n_test, name, metric[k], v, seed=seed)
            for k, v in b.items()]


def pool_seeds(tasks: list[str], methods: list[str], seeds: list[int], opts: Options) -> list[dict]:
    """Rows over the saved predictions of ``seeds`` (no training): per method the test MCC mean and
    sd over the seeds and, for every method but (a), the paired bootstrap of its seed-mean MCC minus
    (a)'s (which must be among ``methods``) and the number of seeds whose MCC is above (a)'s mean."""
    from sklearn.metrics import matthews_corrcoef

    if BASELINE not in methods:
        raise _rows.UsageError(f"--pool-seeds: include (a) {BASELINE} in --methods, the baseline")
    tag = f"[mean of seeds {','.join(map(str, seeds))}]"
    rows = []
    for task in tasks:
        splits = load_gue(task)
        y = _labels(splits["test"])
        got = {key: [load_predictions(predictions_path(opts, task, method_label(key, opts), s), splits)["test"]
                     for s in seeds] for key in methods}
        base_mean = float(np.mean([matthews_corrcoef(y, p) for p in got[BASELINE]]))
        for key in methods:
            name = f"{method_label(key, opts)} {tag}"
            mccs = [matthews_corrcoef(y, p) for p in got[key]]
            sd = float(np.std(mccs, ddof=1))  # main() asks for two seeds or more
            print(f"{task} {name}: test MCC {np.mean(mccs):.4f} (sd {sd:.4f}; "
                  + ", ".join(f"{m:.4f}" for m in mccs) + ")", flush=True)
            baseline = None if key == BASELINE else (f"{method_label(BASELINE, opts)} {tag}", base_mean)
            rows.append(_rows.row(BENCH, f"gue/{task}", "test", len(y), name, "mcc", float(np.mean(mccs)),
                                  baseline=baseline, anchor=ANCHORS.get(task), seeds=seeds, sd=sd))
            if key != BASELINE:
                rows.append(_rows.row(BENCH, f"gue/{task}", "test", len(y), name, "seeds_higher_than_baseline",
                                      sum(m > base_mean for m in mccs), seeds=seeds))
                rows += bootstrap_rows(task, len(y), name, y, got[BASELINE], got[key], None)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tasks", nargs="+", default=list(TASKS), help="comma- or space-separated")
    ap.add_argument("--methods", nargs="+", default=["a"],
                    help="letters a-e or names, comma- or space-separated: " +
                         ", ".join(f"{k}={v}" for k, v in LETTERS.items()))
    ap.add_argument("--seed", type=_rows.seed, default=0)
    ap.add_argument("--subset", type=_rows.positive_int, default=None, help="train on N sampled training sequences (smoke)")
    ap.add_argument("--pretrain-minutes", type=float, default=60.0)
    ap.add_argument("--finetune-minutes", type=float, default=60.0)
    ap.add_argument("--pretrain-steps", type=int, default=None,
                    help="fixed pre-training steps (instead of --pretrain-minutes' probed count)")
    ap.add_argument("--finetune-epochs", type=int, default=None,
                    help="fixed fine-tuning epochs (instead of --finetune-minutes' probed count)")
    ap.add_argument("--pretrain-seed", type=_rows.seed, default=None,
                    help="seed of (d)/(e) pre-training (default: --seed); with a --workdir holding a "
                         "finished pre-training of that seed, fine-tuning seeds vary over one encoder")
    ap.add_argument("--threads", type=_rows.positive_int, default=None, help="torch intra-op threads")
    ap.add_argument("--rc-tta", action="store_true",
                    help="(c)-(e): average logits over each dev/test sequence and its reverse complement")
    ap.add_argument("--model-size", default="tiny", choices=("tiny", "small", "base"))
    ap.add_argument("--window", type=int, default=120, help="pre-training window, bp")
    ap.add_argument("--cnn-epochs", type=int, default=30)
    ap.add_argument("--device", default=None, help="torch device for (c)-(e) (default: cuda if available)")
    ap.add_argument("--workdir", type=Path, default=None,
                    help="model folders, CSVs, runs (default: a new temporary folder)")
    ap.add_argument("--pool-seeds", type=_rows.int_list, default=None,
                    help="train nothing: pool the predictions saved in --workdir by earlier runs of "
                         "these seeds (mean, sd, paired bootstrap against (a))")
    ap.add_argument("--no-write", action="store_true", help="print only; do not write results")
    args = ap.parse_args()
    tasks = _names(args.tasks, {}, TASKS, "--tasks")
    methods = _names(args.methods, LETTERS, METHODS, "--methods")
    if args.pool_seeds is not None and len(args.pool_seeds) < 2:
        raise _rows.UsageError("--pool-seeds: give at least two seeds to pool (one run already has its rows)")
    if args.pool_seeds is not None and (args.workdir is None or not args.workdir.is_dir()):
        raise _rows.UsageError(f"--pool-seeds needs the --workdir the runs saved their predictions in"
                               f"{'' if args.workdir is None else f' ({args.workdir} is not a folder)'}")
    if args.workdir is not None and args.workdir.exists() and not args.workdir.is_dir():
        raise _rows.UsageError(f"--workdir {args.workdir}: not a folder")
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="dna_gue-"))
    workdir.mkdir(parents=True, exist_ok=True)
    opts = Options(workdir=workdir, model_size=args.model_size, window=args.window,
                   pretrain_minutes=args.pretrain_minutes, finetune_minutes=args.finetune_minutes,
                   subset=args.subset, cnn_epochs=args.cnn_epochs, device=args.device,
                   pretrain_steps=args.pretrain_steps, finetune_epochs=args.finetune_epochs,
                   rc_tta=args.rc_tta, pretrain_seed=args.pretrain_seed)
    if args.pool_seeds is not None:
        t = time.perf_counter()
        rows = pool_seeds(tasks, methods, args.pool_seeds, opts)
        _rows.finish(BENCH, rows, time.perf_counter() - t, no_write=args.no_write)
        return
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    print(f"work folder {workdir}")

    t_all = time.perf_counter()
    rows: list[dict] = []
    for task in tasks:
        splits = load_gue(task)
        print(f"{task}: " + ", ".join(f"{s} {len(v)}" for s, v in splits.items()))
        print(f"  duplicates: {splits.report}")
        splits = subset_splits(splits, args.subset, args.seed)
        if args.subset:
            print(f"  SUBSET: training on {len(splits['train'])} sampled training sequences (dev/test whole)")
        y = {s: _labels(splits[s]) for s in ("dev", "test")}
        in_train = {e.text for e in splits["train"]}  # the training sequences used (subset or all)
        keep = np.array([e.text not in in_train for e in splits["test"]])
        base_mcc, base_pred = None, None
        for key in methods:
            name = method_label(key, opts)
            print(f"  {name}", flush=True)
            t = time.perf_counter()
            res = METHODS[key](splits, args.seed, opts)
            wall = time.perf_counter() - t
            test = scores(y["test"], res.pred["test"])
            dev = scores(y["dev"], res.pred["dev"])
            save_predictions(predictions_path(opts, task, name, args.seed), res.pred, splits)
            if key == BASELINE:
                base_mcc, base_pred = test["mcc"], res.pred["test"]
            baseline = None if key == BASELINE or base_mcc is None else (method_label(BASELINE, opts), base_mcc)
            print(f"    test MCC {test['mcc']:.4f}  acc {test['accuracy']:.4f}  F1 {test['f1']:.4f}  "
                  f"(dev MCC {dev['mcc']:.4f}; {res.params}; {wall:.1f} s)", flush=True)
            n_test, n_dev, n_train = len(splits["test"]), len(splits["dev"]), len(splits["train"])
            rows.append(_rows.row(BENCH, f"gue/{task}", "test", n_test, name, "mcc", test["mcc"],
                                  baseline=baseline, anchor=ANCHORS.get(task), seed=args.seed, wall_s=wall))
            for metric in ("accuracy", "f1"):
                rows.append(_rows.row(BENCH, f"gue/{task}", "test", n_test, name, metric, test[metric],
                                      seed=args.seed, wall_s=wall))
            rows.append(_rows.row(BENCH, f"gue/{task}", "dev", n_dev, name, "mcc", dev["mcc"],
                                  seed=args.seed, wall_s=wall))
            for pname, pval in res.params.items():
                rows.append(_rows.row(BENCH, f"gue/{task}", "dev", n_dev, name,
                                      f"selected_{pname}", pval, seed=args.seed))
            for xname, xval in res.extra.items():
                if not math.isfinite(xval):  # e.g. no probe with fixed step counts
                    continue
                print(f"    {xname}: {xval:.4g}")
                rows.append(_rows.row(BENCH, f"gue/{task}", "train", n_train, name, xname, xval,
                                      seed=args.seed))
            if base_pred is not None and key != BASELINE:
                rows += bootstrap_rows(task, n_test, name, y["test"], [base_pred], [res.pred["test"]], args.seed)
            if not keep.all():
                sub = scores(y["test"][keep], res.pred["test"][keep])
                rows.append(_rows.row(BENCH, f"gue/{task}", "test-not-in-train", int(keep.sum()), name,
                                      "mcc", sub["mcc"], seed=args.seed, wall_s=wall))
                print(f"    test without the {int((~keep).sum())} rows whose sequence is in train: "
                      f"MCC {sub['mcc']:.4f}")
    wall_all = time.perf_counter() - t_all
    _rows.finish(BENCH, rows, wall_all, no_write=args.no_write)


if __name__ == "__main__":
    _rows.run_main(main)
