"""benchmarks/dna_rc.py: the training set gains one reverse complement per sequence (engine
augmentation, dev/test duplicates dropped) and test-time averaging is the mean of the two logits."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "benchmarks"))
pytest.importorskip("torch")
import dna_rc  # noqa: E402

from serendip.genomics.revcomp import reverse_complement  # noqa: E402
from serendip.models.example import Example  # noqa: E402
from serendip.models.plugins import load_domains  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_rc_training_set_adds_reverse_complements_and_drops_eval_duplicates():
    load_domains()
    train = [Example("AACG", "1", id="a"), Example("TTGA", "0", id="b")]
    test = [Example(reverse_complement("TTGA"), "0", id="t")]  # TCAA: the copy of b would leak
    out, report = dna_rc.rc_training_set(train, [], test, seed=0)
    assert [e.text for e in out] == ["AACG", "TTGA", "CGTT"]
    assert report.dropped_eval_duplicate == 1 and report.n_after == 3


def test_averaged_logits_is_the_mean_over_the_views():
    from serendip.genomics.cnn import train_cnn

    load_domains()
    rng = np.random.default_rng(0)
    seqs = ["".join(rng.choice(list("ACGT"), 20)) for _ in range(24)]
    labels = [i % 2 for i in range(24)]
    model = train_cnn((seqs, labels), (seqs[:6], labels[:6]), seed=0, epochs=1, patience=None)
    views = dna_rc.build_views(dna_rc.RC)
    got = dna_rc.averaged_logits(model, seqs[:5], views)
    want = (model.logits(seqs[:5]) + model.logits([reverse_complement(s) for s in seqs[:5]])) / 2
    np.testing.assert_allclose(got, want, rtol=1e-6)
