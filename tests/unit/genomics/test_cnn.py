"""serendip.genomics.cnn: one-hot encoding and a small CNN that learns a motif."""
from __future__ import annotations

import random

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from serendip.genomics.cnn import SequenceCNN, one_hot, train_cnn

MOTIF = "TATAAT"


def _data(n: int, seed: int) -> tuple[list[str], list[int]]:
    """Random 40 bp sequences; label 1 holds MOTIF at a random position."""
    rng = random.Random(seed)
    seqs, labels = [], []
    for i in range(n):
        s = [rng.choice("ACGT") for _ in range(40)]
        label = i % 2
        if label:
            at = rng.randrange(0, 40 - len(MOTIF))
            s[at:at + len(MOTIF)] = MOTIF
        seqs.append("".join(s))
        labels.append(label)
    return seqs, labels


def test_one_hot_channels_padding_and_other_characters():
    x = one_hot(["ACgtN", "AX"], length=6)
    assert x.shape == (2, 5, 6) and x.dtype == np.float32
    assert x[0].argmax(axis=0)[:5].tolist() == [0, 1, 2, 3, 4]
    assert x[1, 4, 1] == 1.0  # X -> N channel
    assert x[1, :, 2:].sum() == 0 and x[0, :, 5].sum() == 0  # past the end: all zero
    assert one_hot(["ACGTACGT"], length=4).shape == (1, 5, 4)


def test_model_shape_any_length():
    model = SequenceCNN(n_classes=3, channels=8).eval()
    for length in (5, 70, 101):
        assert model(torch.zeros(2, 5, length)).shape == (2, 3)


def test_learns_a_motif_and_is_seeded():
    torch.set_num_threads(1)
    train, dev, test = _data(400, 1), _data(100, 2), _data(200, 3)
    kwargs = {"seed": 0, "epochs": 12, "batch_size": 32, "lr": 3e-3, "channels": 16, "patience": 4}
    model = train_cnn(train, dev, **kwargs)
    pred = model(test[0])
    acc = float(np.mean(pred == np.asarray(test[1])))
    assert acc > 0.85, (acc, model.history)
    assert 1 <= model.best_epoch <= len(model.history)
    assert model.best_dev_mcc == max(h["dev_mcc"] for h in model.history)
    again = train_cnn(train, dev, **kwargs)
    assert np.array_equal(again.logits(test[0]), model.logits(test[0]))


def test_rejects_unseen_dev_labels():
    with pytest.raises(ValueError, match="dev labels"):
        train_cnn((["ACGT", "TTTT"], [0, 1]), (["ACGT"], [2]), epochs=1)


def test_custom_loss_and_dev_metric_are_used():
    import torch

    from serendip.genomics.cnn import train_cnn

    rng = np.random.default_rng(1)
    seqs = ["".join(rng.choice(list("ACGT"), 16)) for _ in range(20)]
    labels = [i % 2 for i in range(20)]
    calls = {"loss": 0, "metric": []}
    ce = torch.nn.CrossEntropyLoss()

    def loss(logits, y):
        calls["loss"] += 1
        assert logits.shape[1] == 2 and y.dtype == torch.long
        return ce(logits, y)

    def metric(y, logits):
        calls["metric"].append(len(calls["metric"]))
        assert logits.shape == (len(y), 2)
        return [0.1, 0.9, 0.5][len(calls["metric"]) - 1]

    model = train_cnn((seqs, labels), (seqs[:6], labels[:6]), seed=0, epochs=3, batch_size=8,
                      patience=None, loss=loss, dev_metric=metric)
    assert calls["loss"] == 3 * 3  # 20 rows in batches of 8: 3 per epoch
    assert model.best_epoch == 2 and model.best_dev_mcc == 0.9
