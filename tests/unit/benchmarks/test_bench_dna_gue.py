"""benchmarks/dna_gue.py: method names say every budget that is not the default, so rows from runs
with different budgets or pre-training seeds are never mixed up."""
from __future__ import annotations

import sys
from pathlib import Path
from types import SimpleNamespace

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "benchmarks"))
import dna_gue


def test_method_labels_name_the_budgets(tmp_path):
    opts = dna_gue.Options(workdir=tmp_path, pretrain_steps=4000, finetune_epochs=4)
    assert dna_gue.method_label("kmer6-tfidf-logreg", opts) == "kmer6-tfidf-logreg"
    assert dna_gue.method_label("cnn-3conv", opts) == "cnn-3conv"
    assert (dna_gue.method_label("transformer-pretrain-genomes", opts)
            == "transformer-pretrain-genomes (tiny, pt 4000 steps, ft 4 epochs)")
    assert dna_gue.method_label("transformer-scratch", opts) == "transformer-scratch (tiny, ft 4 epochs)"
    capped = dna_gue.Options(workdir=tmp_path, cnn_epochs=5, subset=200)
    assert dna_gue.method_label("cnn-3conv", capped) == "cnn-3conv (max 5 ep, subset 200)"
    assert dna_gue.method_label("kmer6-tfidf-logreg", capped) == "kmer6-tfidf-logreg (subset 200)"


def test_pretrain_seed_overrides_the_run_seed_of_the_pretraining(tmp_path, monkeypatch):
    import types

    import serendip.models.pretrain as pt

    seen = []

    def fake_pretrain(cfg, log=None):
        seen.append(cfg.training.seed)
        return types.SimpleNamespace(steps=10, steps_per_s=5.0, heldout={"perplexity": 9.0},
                                     baseline={"perplexity": 20.0})

    monkeypatch.setattr(pt, "pretrain", fake_pretrain)
    fa = tmp_path / "x.fa"
    fa.write_text(">a\nACGTACGTAC\n")
    opts = dna_gue.Options(workdir=tmp_path, pretrain_steps=10, pretrain_seed=0)
    _, info = dna_gue._pretrain(opts, "x", {"inputs": [str(fa)]}, 100, seed=3)
    assert seen == [0] and info["pretrain_seed"] == 0
    opts = dna_gue.Options(workdir=tmp_path, pretrain_steps=10)  # default: the run's seed
    _, info = dna_gue._pretrain(opts, "y", {"inputs": [str(fa)]}, 100, seed=3)
    assert seen == [0, 3] and info["pretrain_seed"] == 3


def _splits():
    from serendip.genomics.gue import GueSplits

    def exs(prefix, labels):
        return [SimpleNamespace(text=f"{prefix}{i}ACGT", label=str(lab)) for i, lab in enumerate(labels)]

    labels = [0, 1] * 20
    return GueSplits("tf0", {"train": exs("T", labels), "dev": exs("D", labels), "test": exs("X", labels)}, {})


def test_saved_predictions_round_trip_and_are_tied_to_their_split(tmp_path):
    import numpy as np
    import pytest

    splits = _splits()
    opts = dna_gue.Options(workdir=tmp_path, pretrain_steps=4000, finetune_epochs=4)
    path = dna_gue.predictions_path(opts, "tf0", dna_gue.method_label("transformer-pretrain-genomes", opts), 3)
    assert path == tmp_path / "predictions" / "tf0" / "transformer-pretrain-genomes-tiny-pt-4000-steps-ft-4-epochs-seed3.npz"
    pred = {"dev": np.arange(40) % 2, "test": np.ones(40, dtype=np.int64)}
    dna_gue.save_predictions(path, pred, splits)
    got = dna_gue.load_predictions(path, splits)
    assert all(np.array_equal(got[s], pred[s]) for s in ("dev", "test"))
    other = _splits()
    other["test"][0].text = "GGGG"
    with pytest.raises(dna_gue._rows.UsageError, match="other test sequences"):
        dna_gue.load_predictions(path, other)
    with pytest.raises(dna_gue._rows.UsageError, match="no saved predictions"):
        dna_gue.load_predictions(tmp_path / "missing.npz", splits)


def test_pool_seeds_means_and_bootstraps_against_the_baseline(tmp_path, monkeypatch):
    import numpy as np
    import pytest

    splits = _splits()
    monkeypatch.setattr(dna_gue, "load_gue", lambda task: splits)
    monkeypatch.setattr(dna_gue, "N_BOOT", 200)
    opts = dna_gue.Options(workdir=tmp_path, pretrain_steps=4000, finetune_epochs=4)
    y = np.array([0, 1] * 20)

    def wrong(n):  # y with its first n labels flipped
        return np.concatenate([1 - y[:n], y[n:]])

    saved = {("kmer6-tfidf-logreg", 0): wrong(8), ("kmer6-tfidf-logreg", 1): wrong(8),
             ("transformer-pretrain-genomes", 0): wrong(2), ("transformer-pretrain-genomes", 1): wrong(4)}
    for (key, seed), test in saved.items():
        dna_gue.save_predictions(dna_gue.predictions_path(opts, "tf0", dna_gue.method_label(key, opts), seed),
                                 {"dev": y, "test": test}, splits)
    rows = dna_gue.pool_seeds(["tf0"], ["kmer6-tfidf-logreg", "transformer-pretrain-genomes"], [0, 1], opts)
    got = {(r["method"].split(" (")[0].split(" [")[0], r["metric"]): r for r in rows}
    from sklearn.metrics import matthews_corrcoef as mcc

    base, d = mcc(y, wrong(8)), (mcc(y, wrong(2)) + mcc(y, wrong(4))) / 2
    assert got[("kmer6-tfidf-logreg", "mcc")]["value"] == pytest.approx(base, abs=1e-4)
    assert got[("transformer-pretrain-genomes", "mcc")]["value"] == pytest.approx(d, abs=1e-4)
    assert got[("transformer-pretrain-genomes", "mcc")]["method"].endswith("[mean of seeds 0,1]")
    assert got[("transformer-pretrain-genomes", "mcc")]["seed"] is None
    assert got[("transformer-pretrain-genomes", "mcc_minus_baseline")]["value"] == pytest.approx(d - base, abs=1e-4)
    assert got[("transformer-pretrain-genomes", "seeds_higher_than_baseline")]["value"] == 2
    low = got[("transformer-pretrain-genomes", "mcc_minus_baseline_ci95_low")]["value"]
    high = got[("transformer-pretrain-genomes", "mcc_minus_baseline_ci95_high")]["value"]
    assert low <= d - base <= high
    with pytest.raises(dna_gue._rows.UsageError, match="include \\(a\\)"):
        dna_gue.pool_seeds(["tf0"], ["transformer-pretrain-genomes"], [0, 1], opts)
    with pytest.raises(dna_gue._rows.UsageError, match="seed2.npz: no saved predictions"):
        dna_gue.pool_seeds(["tf0"], ["kmer6-tfidf-logreg", "transformer-pretrain-genomes"], [0, 2], opts)


def test_a_bad_predictions_file_is_named_not_a_traceback(tmp_path):
    import numpy as np
    import pytest

    splits = _splits()
    good = {"dev": np.arange(40) % 2, "test": np.arange(40) % 2}
    path = tmp_path / "p.npz"
    bad_files = {
        "random bytes": lambda: path.write_bytes(bytes(range(256)) * 16),
        "empty": lambda: path.write_bytes(b""),
        "truncated": lambda: (dna_gue.save_predictions(path, good, splits),
                              path.write_bytes(path.read_bytes()[:300])),
        "no sha keys": lambda: np.savez(path, dev=good["dev"], test=good["test"]),
    }
    for make in bad_files.values():
        make()
        with pytest.raises(dna_gue._rows.UsageError, match="not a predictions file"):
            dna_gue.load_predictions(path, splits)
    for pred, match in ((np.zeros(10, dtype=np.int64), "shape \\(10,\\)"),
                        (np.full(40, 0.5), "dtype float64"),
                        (np.full(40, 7), "label\\(s\\) \\[7\\]")):
        dna_gue.save_predictions(path, {"dev": good["dev"], "test": pred}, splits)
        with pytest.raises(dna_gue._rows.UsageError, match=match):
            dna_gue.load_predictions(path, splits)
    path.unlink()
    path.mkdir()
    with pytest.raises(dna_gue._rows.UsageError, match="no saved predictions"):
        dna_gue.load_predictions(path, splits)


def test_a_method_given_twice_is_refused():
    import pytest

    with pytest.raises(dna_gue._rows.UsageError, match="'a' is given twice"):
        dna_gue._names(["a,d", "a"], dna_gue.LETTERS, dna_gue.METHODS, "--methods")
    with pytest.raises(dna_gue._rows.UsageError, match="given twice"):
        dna_gue._names(["a,kmer6-tfidf-logreg"], dna_gue.LETTERS, dna_gue.METHODS, "--methods")


def test_pool_seeds_needs_two_seeds(tmp_path, monkeypatch):
    import pytest

    monkeypatch.setattr(sys, "argv", ["dna_gue.py", "--methods", "a,d", "--pool-seeds", "0",
                                      "--workdir", str(tmp_path), "--no-write"])
    with pytest.raises(dna_gue._rows.UsageError, match="at least two seeds"):
        dna_gue.main()
