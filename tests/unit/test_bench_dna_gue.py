"""benchmarks/dna_gue.py: method names say every budget that is not the default, so rows from runs
with different budgets or pre-training seeds are never mixed up."""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import dna_gue  # noqa: E402


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
