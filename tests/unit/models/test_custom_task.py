"""A task that brings its own loss and head, both defined here, trains with ``finetune()`` through
registry entries alone (issue 12: no edit of the engine).

The task is a binary task with ONE output logit: its head turns class ids into +1/-1 float targets
and gathers the logits as shape (n,); its loss is the soft-margin loss ``log(1 + exp(-y z))``. Spies
count the calls, so the test knows the engine really used them.
"""
from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from models_helpers import config, make_backbone, write_csv

from serendip.models.heads import Head
from serendip.models.registries import HEADS, LOSSES, TASKS
from serendip.models.tasks import BinaryTask

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")
pytestmark = pytest.mark.usefixtures("one_torch_thread")

CALLS: Counter = Counter()


class SoftMarginLoss:
    """``mean log(1 + exp(-y z))`` for one logit z per example and targets y in {-1, +1}."""

    def __init__(self, weight=None):
        self.weight = weight

    def __call__(self, logits, targets):
        CALLS["loss"] += 1
        assert logits.shape[-1] == 1 and set(targets.unique().tolist()) <= {-1.0, 1.0}
        return torch.nn.functional.soft_margin_loss(logits.reshape(-1).float(), targets.float())


class MarginHead(Head):
    """One logit per example; targets +1 (positive class, id 1) or -1; outputs of shape (n,)."""

    def targets(self, batch, encoded, idx, scaling):
        CALLS["targets"] += 1
        ids = np.asarray(encoded)[list(idx)]
        return torch.as_tensor(np.where(ids == 1, 1.0, -1.0), dtype=torch.float32)

    def collect(self, chunks, logits, feats, idx):
        CALLS["collect"] += 1
        chunks.append(logits.reshape(-1))

    def finish(self, chunks, width, scaling):
        return np.concatenate(chunks) if chunks else np.zeros((0,))

    def dummy_outputs(self, examples, width):
        return np.zeros(len(examples))


class MarginBinaryTask(BinaryTask):
    """Binary classification with one logit (``BinaryTask.predict`` takes a sigmoid of it)."""

    name = "margin_binary"
    loss = "soft_margin_test"
    head = "margin_test"
    problem_type = None

    def num_outputs(self, space):
        return 1


@pytest.fixture(scope="module")
def registered():
    entries = [(TASKS, "margin_binary", MarginBinaryTask), (LOSSES, "soft_margin_test", SoftMarginLoss),
               (HEADS, "margin_test", MarginHead)]
    for registry, name, obj in entries:
        registry.register(name)(obj)
    yield
    for registry, name, _ in entries:
        registry._items.pop(name)


@pytest.fixture(scope="module")
def trained(registered, tmp_path_factory):
    from serendip.models.train import finetune

    root = tmp_path_factory.mktemp("custom")
    backbone = make_backbone(root / "backbone")
    cfg = config(write_csv(root / "train.csv", 60), backbone, root / "runs",
                 task="margin_binary", training={"epochs": 5})
    CALLS.clear()
    return finetune(cfg)


def test_custom_loss_and_head_train(trained):
    losses = [row["train_loss"] for row in trained.history]
    assert len(losses) == 5 and losses[-1] < losses[0]
    assert trained.metrics["loss"] == {"loss": "soft_margin_test", "imbalance": "none"}
    # the head's targets fed every training and dev-loss batch; its collect gathered the outputs
    n_train = len(trained.splits.train)
    assert CALLS["targets"] >= 5 * -(-n_train // 8)
    assert CALLS["loss"] >= CALLS["targets"] and CALLS["collect"] > 0
    assert trained.model.config.num_labels == 1
    assert set(trained.test_metrics) >= {"accuracy", "mcc"}


def test_custom_head_serves_predictions(trained):
    from serendip.models.predict import load_run_model, predict_examples

    bundle = load_run_model(trained.run_dir, device="cpu")
    before = CALLS["collect"]
    preds = predict_examples(bundle, trained.splits.test)
    assert CALLS["collect"] > before
    assert len(preds.labels) == len(trained.splits.test)
    assert set(preds.labels) <= {"0", "1"} and preds.scores.shape == (len(trained.splits.test), 2)
