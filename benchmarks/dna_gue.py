"""DNA sequence classification on GUE (DNABERT-2's benchmark): MCC on the official test splits.

Tasks: ``prom_core_all`` (human core promoters, 70 bp) and ``tf0`` (human TF binding sites, 101 bp),
official train/dev/test files from the dataset registry (``gue/<task>``, sha256-checked). The official
test sets are used whole: sequences they share with train (42 in prom_core_all) are reported and also
scored separately (split ``test-not-in-train``), never dropped from the ``test`` row.

Methods (each a function ``(splits, seed) -> MethodResult`` returning dev and test predictions, so
more can be added to :data:`METHODS` without touching the scoring):

(a) ``kmer6-tfidf-logreg`` - overlapping 6-mer counts over ACGT (4,096 features,
    :func:`serendip.genomics.kmers.kmer_counts`), TF-IDF (scikit-learn ``TfidfTransformer``, defaults:
    smooth idf, l2 norm), L2 logistic regression (lbfgs); C chosen by MCC on the official dev split
    only, from :data:`C_GRID`, then the model fitted on train with that C predicts test. The simple
    baseline every other method here is compared against.
(b) CNN, (c)-(e) transformer fine-tuning: to be added as further entries of :data:`METHODS`.

Metrics: Matthews correlation coefficient (``sklearn.metrics.matthews_corrcoef``, the metric GUE
reports), accuracy, F1 of class ``1``. Values are on the [-1, 1] / [0, 1] scale; the paper's MCC x 100
figures are divided by 100 for the anchors.

Anchors (Zhou et al., "DNABERT-2: Efficient Foundation Model and Benchmark for Multi-Species Genome",
ICLR 2024, GUE results table, MCC x 100): prom_core_all - NT-2500M-multi 70.33 (best published there),
DNABERT-2 69.37; tf/0 - DNABERT-2 71.99.

Usage::

    SERENDIP_DATA_MIRROR=/work/shared/data python benchmarks/dna_gue.py [--tasks prom_core_all tf0]
"""
from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

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


@dataclass
class MethodResult:
    """Predictions of one method on one task.

    ``pred`` maps split name (``"dev"``, ``"test"``) to an int ndarray of shape (n_split,) of predicted
    labels; ``params`` holds the chosen hyper-parameters (numbers only, reported as rows).
    """

    pred: dict[str, np.ndarray]
    params: dict[str, float] = field(default_factory=dict)


def _labels(exs) -> np.ndarray:
    return np.fromiter((int(e.label) for e in exs), dtype=np.int64, count=len(exs))


def kmer_tfidf_logreg(splits: GueSplits, seed: int, k: int = 6) -> MethodResult:
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


#: method name -> function(splits, seed) -> MethodResult
METHODS: dict[str, Callable[[GueSplits, int], MethodResult]] = {
    "kmer6-tfidf-logreg": kmer_tfidf_logreg,
}
BASELINE = "kmer6-tfidf-logreg"


def scores(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float]:
    """MCC, accuracy and F1 (positive class 1) of int label arrays of shape (n,)."""
    from sklearn.metrics import accuracy_score, f1_score, matthews_corrcoef

    return {"mcc": matthews_corrcoef(y_true, y_pred), "accuracy": accuracy_score(y_true, y_pred),
            "f1": f1_score(y_true, y_pred, pos_label=1)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tasks", nargs="+", default=list(TASKS))
    ap.add_argument("--methods", nargs="+", default=list(METHODS), choices=list(METHODS))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-write", action="store_true", help="print only; do not write results")
    args = ap.parse_args()

    t_all = time.perf_counter()
    rows: list[dict] = []
    for task in args.tasks:
        splits = load_gue(task)
        print(f"{task}: " + ", ".join(f"{s} {len(v)}" for s, v in splits.items()))
        print(f"  duplicates: {splits.report}")
        y = {s: _labels(splits[s]) for s in ("dev", "test")}
        keep = np.array(["train" not in e.meta.get("also_in", ()) for e in splits["test"]])
        base_mcc = None
        for name in args.methods:
            print(f"  {name}", flush=True)
            t = time.perf_counter()
            res = METHODS[name](splits, args.seed)
            wall = time.perf_counter() - t
            test = scores(y["test"], res.pred["test"])
            dev = scores(y["dev"], res.pred["dev"])
            if name == BASELINE:
                base_mcc = test["mcc"]
            baseline = None if name == BASELINE or base_mcc is None else (BASELINE, base_mcc)
            print(f"    test MCC {test['mcc']:.4f}  acc {test['accuracy']:.4f}  F1 {test['f1']:.4f}  "
                  f"(dev MCC {dev['mcc']:.4f}; {res.params}; {wall:.1f} s)", flush=True)
            n_test = len(splits["test"])
            rows.append(_rows.row(BENCH, f"gue/{task}", "test", n_test, name, "mcc", test["mcc"],
                                  baseline=baseline, anchor=ANCHORS.get(task), seed=args.seed, wall_s=wall))
            for metric in ("accuracy", "f1"):
                rows.append(_rows.row(BENCH, f"gue/{task}", "test", n_test, name, metric, test[metric],
                                      seed=args.seed, wall_s=wall))
            rows.append(_rows.row(BENCH, f"gue/{task}", "dev", len(splits["dev"]), name, "mcc", dev["mcc"],
                                  seed=args.seed, wall_s=wall))
            for pname, pval in res.params.items():
                rows.append(_rows.row(BENCH, f"gue/{task}", "dev", len(splits["dev"]), name,
                                      f"selected_{pname}", pval, seed=args.seed))
            if not keep.all():
                sub = scores(y["test"][keep], res.pred["test"][keep])
                rows.append(_rows.row(BENCH, f"gue/{task}", "test-not-in-train", int(keep.sum()), name,
                                      "mcc", sub["mcc"], seed=args.seed, wall_s=wall))
                print(f"    test without the {int((~keep).sum())} rows whose sequence is in train: "
                      f"MCC {sub['mcc']:.4f}")
    wall_all = time.perf_counter() - t_all
    print(f"total {wall_all:.0f} s, peak RSS {_rows.peak_rss_mb():.0f} MB")
    if not args.no_write:
        _rows.write(BENCH, rows, wall_s=wall_all)


if __name__ == "__main__":
    main()
