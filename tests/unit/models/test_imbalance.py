"""Class weights, focal loss (Lin et al. 2017) and random re-sampling."""
from __future__ import annotations

import math

import numpy as np
import pytest

from serendip.errors import ConfigError, DataError
from serendip.models.example import Example
from serendip.models.imbalance import (
    FocalLoss,
    class_weights,
    focal_loss,
    pos_weights,
    resample,
    sigmoid_focal_loss,
)

torch = pytest.importorskip("torch")


def test_balanced_class_weights_by_hand():
    w = class_weights(["a", "a", "a", "b"], ["a", "b"])
    assert w.dtype == np.float32
    assert w.tolist() == pytest.approx([4 / (2 * 3), 4 / (2 * 1)])
    assert class_weights([0, 1, 1, 0], [0, 1]).tolist() == [1.0, 1.0]
    with pytest.raises(DataError, match="class 'c' has no training example"):
        class_weights(["a", "b"], ["a", "b", "c"])
    with pytest.raises(DataError, match="'z' is not one of the classes"):
        class_weights(["a", "z"], ["a", "b"])


def test_pos_weights():
    assert pos_weights([[1, 0], [0, 1], [0, 1], [0, 1]]).tolist() == pytest.approx([3.0, 1 / 3])
    with pytest.raises(DataError, match="column 1"):
        pos_weights([[1, 0], [1, 0]])


def test_focal_with_gamma_0_is_cross_entropy():
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(8, 3, generator=g)
    target = torch.tensor([0, 1, 2, 0, 1, 2, 0, 1])
    ce = torch.nn.functional.cross_entropy(logits, target)
    assert torch.allclose(focal_loss(logits, target, gamma=0.0), ce, atol=1e-6)
    w = torch.tensor([1.0, 2.0, 0.5])
    per = torch.nn.functional.cross_entropy(logits, target, reduction="none") * w[target]
    assert torch.allclose(focal_loss(logits, target, gamma=0.0, alpha=w, reduction="none"), per,
                          atol=1e-6)


def test_focal_value_by_hand_and_down_weighting():
    # p_t = 0.9 for the true class: FL = -(1 - 0.9)^2 * log(0.9)
    logits = torch.log(torch.tensor([[0.9, 0.1]]))
    fl = focal_loss(logits, torch.tensor([0]), gamma=2.0)
    assert fl.item() == pytest.approx(-(0.1 ** 2) * math.log(0.9), rel=1e-5)
    assert fl.item() < torch.nn.functional.cross_entropy(logits, torch.tensor([0])).item()


def test_focal_ignore_index_and_token_shape():
    logits = torch.randn(2, 3, 4)  # (N, C, T)
    target = torch.tensor([[0, 1, -100, 2], [-100, -100, 1, 0]])
    loss = focal_loss(logits, target, gamma=0.0)
    ce = torch.nn.functional.cross_entropy(logits, target, ignore_index=-100)
    assert torch.allclose(loss, ce, atol=1e-6)
    assert focal_loss(logits, target, reduction="none").shape == target.shape


def test_sigmoid_focal_by_hand_and_callable_backward():
    logits = torch.tensor([[0.0, 2.0]], requires_grad=True)
    target = torch.tensor([[1.0, 0.0]])
    p = torch.sigmoid(logits.detach())
    expect = (0.25 * -math.log(0.5) * 0.5 ** 2
              + 0.75 * -math.log(1 - p[0, 1].item()) * p[0, 1].item() ** 2) / 2
    loss = sigmoid_focal_loss(logits, target)
    assert loss.item() == pytest.approx(expect, rel=1e-5)
    FocalLoss(gamma=2.0, multilabel=True)(logits, target).backward()
    assert logits.grad is not None
    with pytest.raises(ConfigError, match="gamma"):
        FocalLoss(gamma=-1)
    with pytest.raises(ConfigError, match="3 values for 2 classes"):
        focal_loss(torch.zeros(1, 2), torch.tensor([0]), alpha=[1, 2, 3])


def _examples():
    return ([Example(text=f"a{i}", label="a", id=f"a{i}") for i in range(6)]
            + [Example(text=f"b{i}", label="b", id=f"b{i}") for i in range(2)])


def test_oversample_equalises_and_copies():
    originals = _examples()
    out, rep = resample(originals, "oversample", seed=1)
    assert out is not originals and out[:8] == originals
    assert rep.before == {"a": 6, "b": 2} and rep.after == {"a": 6, "b": 6} and rep.added == 4
    copies = out[8:]
    assert all(c.meta["oversampled_from"] == c.id and c.label == "b" for c in copies)
    assert all(not e.meta for e in originals)  # inputs untouched
    again, _ = resample(_examples(), "oversample", seed=1)
    assert [e.id for e in again] == [e.id for e in out]


def test_undersample_keeps_order():
    originals = _examples()
    out, rep = resample(originals, "undersample", seed=0)
    assert rep.after == {"a": 2, "b": 2} and rep.removed == 4
    assert [e.id for e in out] == [e.id for e in originals if e in out]
    assert len(originals) == 8


def test_resample_errors():
    with pytest.raises(ConfigError, match="oversample"):
        resample(_examples(), "smote")
    with pytest.raises(DataError, match="one class per example"):
        resample([Example(text="x", label=["a", "b"], id="m1")], "oversample")
