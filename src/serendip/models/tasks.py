"""Task kinds of the training engine, registered in :data:`~serendip.models.registries.TASKS`.

A :class:`Task` knows, for one kind of problem,

* how a raw label from a file becomes a label (:meth:`Task.parse_label`, e.g. ``"3.5"`` -> 3.5,
  ``"a;b"`` -> ``["a", "b"]``) and what makes an example unusable (:meth:`Task.check_example`);
* its label encoding: a :class:`LabelSpace` fitted on the *training* labels only
  (:meth:`Task.fit_labels`), then :meth:`Task.encode` for targets - an unseen label raises
  :class:`~serendip.errors.DataError` naming the label and the example, never a made-up id;
* its loss (a :data:`~serendip.models.registries.LOSSES` name: ``cross_entropy``, ``bce_with_logits``,
  ``mse``), its head (a :data:`~serendip.models.registries.HEADS` name: ``sequence``, ``regression``,
  ``token``; how inputs, targets and outputs are shaped), its Hugging Face ``problem_type``, its
  metric bundle (a :data:`~serendip.models.registries.METRICS` name) and the metric used by default
  for early stopping;
* how model outputs become labels (:meth:`Task.predict`: argmax over the class axis, the last axis,
  for single-label tasks; a sigmoid threshold for multi-label; per token for token tasks) and how they
  are scored (:meth:`Task.evaluate`).

Registered names: ``binary``, ``multiclass``, ``multilabel``, ``regression``, ``token``, ``pair``.
The base class is in :mod:`serendip.models.task_base`, the ``token`` task in
:mod:`serendip.models.token_task` and the label space in :mod:`serendip.models.labels`; all are
importable from here. Build one with :func:`make_task` (``make_task("binary", positive_label="active")``).
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np

from serendip.errors import ConfigError, DataError
from serendip.models.example import Example
from serendip.models.labels import (
    IGNORE_INDEX,
    LabelSpace,
    Predictions,
    class_name,
    example_name,
    sigmoid,
    softmax,
)
from serendip.models.registries import METRICS, TASKS
from serendip.models.task_base import Task
from serendip.models.token_task import TokenTask

__all__ = [
    "IGNORE_INDEX",
    "BinaryTask",
    "LabelSpace",
    "MulticlassTask",
    "MultilabelTask",
    "PairTask",
    "Predictions",
    "RegressionTask",
    "Task",
    "TokenTask",
    "example_name",
    "make_task",
    "sigmoid",
    "softmax",
]


class _SingleLabelTask(Task):
    """One class per example; ``positive_label`` (two classes only) is put last, as id 1."""

    min_classes: ClassVar[int] = 2
    max_classes: ClassVar[int | None] = None

    def __init__(self, positive_label: str | None = None):
        self.positive_label = positive_label

    def fit_labels(self, examples: Sequence[Example]) -> LabelSpace:
        space = LabelSpace.fit(ex.label for ex in examples)
        k = len(space)
        if k < self.min_classes or (self.max_classes is not None and k > self.max_classes):
            want = (f"exactly {self.min_classes}" if self.max_classes == self.min_classes
                    else f"at least {self.min_classes}")
            raise DataError(f"the {self.name} task needs {want} classes in the training labels; "
                            f"found {k}: {', '.join(map(repr, space.classes))}")
        if self.positive_label is not None:
            if self.positive_label not in space:
                raise DataError(f"positive_label {self.positive_label!r} is not among the training "
                                f"labels {list(space.classes)}")
            if k != 2:
                raise ConfigError(f"positive_label is only meaningful with 2 classes; found {k}")
            space = LabelSpace([c for c in space.classes if c != self.positive_label]
                               + [self.positive_label])
        return space


@TASKS.register("binary")
class BinaryTask(_SingleLabelTask):
    """Two-class classification of one text.

    Two output logits with softmax cross-entropy (a Hugging Face classification head with
    ``num_labels=2``); the positive class, id 1, is ``positive_label`` or else the larger of the two
    names in sorted order (``"1"`` over ``"0"``, ``"pos"`` over ``"neg"``, ``"true"`` over
    ``"false"``; set ``positive_label`` when that is not right, e.g. ``"active"``/``"inactive"``).
    ROC-AUC and PR-AUC are those of the positive class; MCC is the default selection metric
    (Chicco & Jurman 2020). ``predict`` also accepts one logit per example, shape (n,) or (n, 1)
    (sigmoid, threshold 0.5).
    """

    name = "binary"
    primary_metric = "mcc"
    min_classes = 2
    max_classes = 2

    def predict(self, outputs: Any, space: LabelSpace | None,
                examples: Sequence[Example] | None = None) -> Predictions:
        assert space is not None
        logits = np.asarray(outputs, dtype=np.float64)
        if logits.ndim == 1 or (logits.ndim == 2 and logits.shape[1] == 1):
            pos = sigmoid(logits.reshape(-1))
            return Predictions([space.classes[int(p > 0.5)] for p in pos],
                               np.stack([1.0 - pos, pos], axis=1))
        return super().predict(logits, space, examples)


@TASKS.register("multiclass")
class MulticlassTask(_SingleLabelTask):
    """Classification of one text into one of K >= 2 classes (softmax cross-entropy, argmax)."""

    name = "multiclass"
    primary_metric = "f1_macro"


@TASKS.register("pair")
class PairTask(_SingleLabelTask):
    """Classification of a pair of texts (``text``, ``text_pair``) into one of K >= 2 classes.

    Examples: entailment, duplicate questions, claim/evidence, drug/target. The tokenizer encodes the
    two texts as one input (``tokenizer(text, text_pair)``); otherwise as :class:`MulticlassTask`.
    """

    name = "pair"
    primary_metric = "f1_macro"
    needs_pair = True


@TASKS.register("multilabel")
class MultilabelTask(Task):
    """Any number of K classes per example (one sigmoid per class, binary cross-entropy).

    Parameters
    ----------
    sep : str, default ";"
        Separator of class names when a label is one string (``"cancer;diabetes"``); a JSON list is
        taken as is. Blank items are ignored; an example may have no class (an empty list).
    threshold : float, default 0.5
        A class is predicted when its sigmoid probability exceeds this.
    """

    name = "multilabel"
    label_kind = "classes"
    loss = "bce_with_logits"
    problem_type = "multi_label_classification"
    metrics = "multilabel"
    primary_metric = "f1_macro"

    def __init__(self, sep: str = ";", threshold: float = 0.5):
        if not 0.0 < threshold < 1.0:
            raise ConfigError(f"multilabel threshold must be in (0, 1); got {threshold}")
        self.sep = sep
        self.threshold = threshold

    @property
    def stratifiable(self) -> bool:
        return False

    def parse_label(self, raw: Any, example: Example) -> list[str]:
        if raw is None:
            raise DataError(f"example {example_name(example)}: no label")
        items = raw.split(self.sep) if isinstance(raw, str) else raw
        if not isinstance(items, (list, tuple)):
            raise DataError(f"example {example_name(example)}: label {raw!r} is neither a list nor "
                            f"a {self.sep!r}-separated string")
        names = {class_name(x, example) for x in items if not (isinstance(x, str) and not x.strip())}
        return sorted(names)

    def encode(self, examples: Sequence[Example], space: LabelSpace | None) -> np.ndarray:
        """Multi-hot targets: float32 array of shape (n, K)."""
        assert space is not None
        y = np.zeros((len(examples), len(space)), dtype=np.float32)
        for i, ex in enumerate(examples):
            for lab in ex.label:
                y[i, space.encode(lab, example=ex)] = 1.0
        return y

    def predict(self, outputs: Any, space: LabelSpace | None,
                examples: Sequence[Example] | None = None) -> Predictions:
        """Class names whose sigmoid exceeds ``threshold``; scores: sigmoid, shape (n, K)."""
        assert space is not None
        logits = np.asarray(outputs, dtype=np.float64)
        if logits.ndim != 2 or logits.shape[1] != len(space):
            raise DataError(f"outputs have shape {logits.shape}; expected (n, {len(space)}) logits")
        probs = sigmoid(logits)
        labels = [[space.classes[j] for j in np.flatnonzero(row > self.threshold)] for row in probs]
        return Predictions(labels, probs)

    def evaluate(self, examples: Sequence[Example], outputs: Any,
                 space: LabelSpace | None) -> dict[str, Any]:
        assert space is not None
        preds = self.predict(outputs, space, examples)
        y_true = self.encode(examples, space).astype(np.int64)
        y_pred = (preds.scores > self.threshold).astype(np.int64)
        return METRICS.get(self.metrics)(y_true, y_pred, preds.scores, list(space.classes))


@TASKS.register("regression")
class RegressionTask(Task):
    """One real number per example (one output, mean squared error).

    Targets are used as given (no scaling); a training loop that standardises them must invert the
    scaling before :meth:`evaluate`. RMSE is the default selection metric (lower is better).
    """

    name = "regression"
    label_kind = "float"
    loss = "mse"
    head = "regression"
    problem_type = "regression"
    metrics = "regression"
    primary_metric = "rmse"
    greater_is_better = False

    @property
    def stratifiable(self) -> bool:
        return False

    def parse_label(self, raw: Any, example: Example) -> float:
        if raw is None or isinstance(raw, bool) or (isinstance(raw, str) and not raw.strip()):
            raise DataError(f"example {example_name(example)}: no numeric label (got {raw!r})")
        try:
            value = float(raw)
        except (TypeError, ValueError):
            raise DataError(f"example {example_name(example)}: label {raw!r} is not a number") from None
        if not math.isfinite(value):
            raise DataError(f"example {example_name(example)}: label {raw!r} is not finite")
        return value

    def fit_labels(self, examples: Sequence[Example]) -> None:
        return None

    def num_outputs(self, space: LabelSpace | None) -> int:
        return 1

    def label_counts(self, examples: Sequence[Example]) -> dict[str, int]:
        return {}

    def encode(self, examples: Sequence[Example], space: LabelSpace | None) -> np.ndarray:
        """float32 array of shape (n,)."""
        return np.array([ex.label for ex in examples], dtype=np.float32)

    def predict(self, outputs: Any, space: LabelSpace | None,
                examples: Sequence[Example] | None = None) -> Predictions:
        """Outputs of shape (n,) or (n, 1) as a list of floats."""
        values = np.asarray(outputs, dtype=np.float64)
        if values.ndim == 2 and values.shape[1] == 1:
            values = values[:, 0]
        if values.ndim != 1:
            raise DataError(f"outputs have shape {values.shape}; regression expects (n,) or (n, 1)")
        return Predictions([float(v) for v in values], None)

    def evaluate(self, examples: Sequence[Example], outputs: Any,
                 space: LabelSpace | None) -> dict[str, Any]:
        preds = self.predict(outputs, space, examples)
        return METRICS.get(self.metrics)([ex.label for ex in examples], preds.labels)


def make_task(task: str | Task, **params: Any) -> Task:
    """A task instance from a registered name (or an instance, returned as is).

    Raises
    ------
    ConfigError
        Unknown task name (lists the choices) or a parameter the task does not take.
    """
    if isinstance(task, Task):
        if params:
            raise ConfigError("parameters given with a task instance; pass a task name instead")
        return task
    cls = TASKS.get(task)
    try:
        return cls(**params)
    except TypeError as exc:
        raise ConfigError(f"task {task!r}: {exc}") from None
