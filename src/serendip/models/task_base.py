"""The base class of the engine's task kinds (see :mod:`serendip.models.tasks` for the kinds).
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np

from serendip.errors import DataError
from serendip.models import metrics as _metrics  # noqa: F401  (registers the metric bundles)
from serendip.models.example import Example
from serendip.models.labels import (
    LabelSpace,
    Predictions,
    class_name,
    example_name,
    softmax,
)
from serendip.models.registries import METRICS

__all__ = ["Task"]


class Task:
    """Base class of the task kinds; subclasses set the class attributes and override the methods.

    Attributes
    ----------
    name : str
        Registry name.
    label_kind : {"class", "classes", "float", "tags"}
        One class name per example; a set of class names; a number; one tag per token.
    loss : str
        Name of the loss in :data:`~serendip.models.registries.LOSSES` (``cross_entropy``,
        ``bce_with_logits``, ``mse`` or one a domain registers).
    head : str
        Name of the head in :data:`~serendip.models.registries.HEADS` (``sequence``, ``regression``,
        ``token`` or one a domain registers): the model class and the shapes of targets and outputs.
    problem_type : str
        ``config.problem_type`` of a Hugging Face ``AutoModelForSequenceClassification`` (None for
        token classification, which uses ``AutoModelForTokenClassification``).
    metrics : str
        Name of the metric bundle in :data:`METRICS`.
    primary_metric : str
        Key of the metric dict used by default for early stopping and model selection.
    greater_is_better : bool
        Direction of ``primary_metric``.
    needs_pair : bool
        Examples need ``text_pair`` (pair tasks).
    per_token : bool
        Labels and predictions are per token.
    """

    name: ClassVar[str] = ""
    label_kind: ClassVar[str] = "class"
    loss: ClassVar[str] = "cross_entropy"
    head: ClassVar[str] = "sequence"
    problem_type: ClassVar[str | None] = "single_label_classification"
    metrics: ClassVar[str] = "classification"
    primary_metric: ClassVar[str] = "f1_macro"
    greater_is_better: ClassVar[bool] = True
    needs_pair: ClassVar[bool] = False
    per_token: ClassVar[bool] = False

    @property
    def stratifiable(self) -> bool:
        """Whether splits can be stratified on the label (one class per example)."""
        return self.label_kind == "class"

    def describe(self) -> dict[str, Any]:
        """The task and its settings, for the run record (JSON)."""
        params = {k: v for k, v in vars(self).items()
                  if not k.startswith("_") and k != "primary_metric"}
        return {"name": self.name, "loss": self.loss, "metrics": self.metrics,
                "primary_metric": self.primary_metric, "greater_is_better": self.greater_is_better,
                **({"params": params} if params else {})}

    # -- labels -------------------------------------------------------------------------------
    def parse_label(self, raw: Any, example: Example) -> Any:
        """The label of ``example`` in this task's form, from its raw value (file text or JSON).

        Raises
        ------
        DataError
            The value is missing or not usable for this task; names the example.
        """
        if raw is None:
            raise DataError(f"example {example_name(example)}: no label")
        return class_name(raw, example)

    def check_example(self, example: Example) -> None:
        """Raise DataError naming the example if it cannot be used (e.g. a pair without its pair)."""
        if not isinstance(example.text, str) or not example.text.strip():
            raise DataError(f"example {example_name(example)}: empty text")
        if self.needs_pair and (not isinstance(example.text_pair, str) or not example.text_pair.strip()):
            raise DataError(f"example {example_name(example)}: the {self.name} task needs a second "
                            f"text (text_pair) and this example has none")

    def prepare(self, example: Example) -> None:
        """Check ``example`` and replace its raw label by the parsed one, in place (DataError if bad)."""
        self.check_example(example)
        example.label = self.parse_label(example.label, example)

    def fit_labels(self, examples: Sequence[Example]) -> LabelSpace | None:
        """The label space of the training examples (None for regression).

        Raises
        ------
        DataError
            Too few classes for the task (the message lists what was found).
        """
        space = LabelSpace.fit(ex.label for ex in examples)
        if len(space) < 2:
            raise DataError(f"the {self.name} task needs at least 2 classes in the training labels; "
                            f"found only {list(space.classes)}")
        return space

    def num_outputs(self, space: LabelSpace | None) -> int:
        """Width of the model's output layer (``num_labels`` of a Hugging Face model)."""
        assert space is not None
        return len(space)

    def encode(self, examples: Sequence[Example], space: LabelSpace | None) -> Any:
        """Training targets of ``examples``: int64 array of shape (n,) of class ids.

        Raises
        ------
        DataError
            A label not in ``space`` (names the label and the example).
        """
        assert space is not None
        return np.array([space.encode(ex.label, example=ex) for ex in examples], dtype=np.int64)

    def label_counts(self, examples: Sequence[Example]) -> dict[str, int]:
        """How many examples carry each class (empty for regression and token tasks)."""
        counts: dict[str, int] = {}
        for ex in examples:
            labels = ex.label if isinstance(ex.label, (list, tuple)) else [ex.label]
            for lab in labels:
                counts[lab] = counts.get(lab, 0) + 1
        return dict(sorted(counts.items(), key=lambda kv: str(kv[0])))

    # -- outputs ------------------------------------------------------------------------------
    def predict(self, outputs: Any, space: LabelSpace | None,
                examples: Sequence[Example] | None = None) -> Predictions:
        """Labels from model outputs.

        Parameters
        ----------
        outputs : array-like of shape (n, K)
            Logits, column j for ``space.classes[j]``. The predicted class is the argmax over the
            class axis (axis 1, the last).
        space : LabelSpace
        examples : ignored for sequence-level tasks.

        Returns
        -------
        Predictions
            Class names and softmax probabilities of shape (n, K).
        """
        assert space is not None
        logits = np.asarray(outputs, dtype=np.float64)
        if logits.ndim != 2 or logits.shape[1] != len(space):
            raise DataError(f"outputs have shape {logits.shape}; the {self.name} task expects "
                            f"(n, {len(space)}) logits, one column per class")
        ids = np.argmax(logits, axis=-1)
        return Predictions([space.classes[i] for i in ids], softmax(logits, axis=-1))

    def evaluate(self, examples: Sequence[Example], outputs: Any,
                 space: LabelSpace | None) -> dict[str, Any]:
        """The task's metric bundle on ``examples`` (with labels) given the model's ``outputs``."""
        assert space is not None
        preds = self.predict(outputs, space, examples)
        y_true = [ex.label for ex in examples]
        for ex in examples:
            space.encode(ex.label, example=ex)  # unseen label: DataError naming it
        return METRICS.get(self.metrics)(y_true, preds.labels, preds.scores, list(space.classes))
