"""Labels of the training engine: the label space fitted on training labels, predictions, and the
small helpers tasks share (naming an example in messages, softmax, sigmoid, class names).
"""
from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from serendip.errors import DataError
from serendip.models.example import Example

__all__ = ["IGNORE_INDEX", "LabelSpace", "Predictions", "class_name", "example_name", "sigmoid",
           "softmax"]

#: Target id that token-classification losses skip (PyTorch ``CrossEntropyLoss(ignore_index=-100)``).
IGNORE_INDEX = -100


def example_name(example: Example) -> str:
    """How an error message names an example: its id, else its source, else ``"(unnamed)"``."""
    if example.id:
        return f"{example.id!r}" + (f" ({example.source})" if example.source else "")
    return example.source or "(unnamed)"


def softmax(logits: np.ndarray, axis: int = -1) -> np.ndarray:
    """Numerically stable softmax along ``axis``; float64 array of the input's shape."""
    z = np.asarray(logits, dtype=np.float64)
    z = z - np.max(z, axis=axis, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=axis, keepdims=True)


def sigmoid(logits: np.ndarray) -> np.ndarray:
    """Logistic function, elementwise; float64 array of the input's shape."""
    z = np.asarray(logits, dtype=np.float64)
    return 0.5 * (1.0 + np.tanh(0.5 * z))


class LabelSpace:
    """A fixed, ordered set of class names and their integer ids ``0 .. K-1``.

    Fitted on training labels; dev, test and prediction data are encoded with the same space.

    Parameters
    ----------
    classes : iterable of str
        Class names in id order. Duplicates raise :class:`DataError`.

    Examples
    --------
    >>> space = LabelSpace.fit(["neg", "pos", "neg"])
    >>> space.classes, space.encode("pos"), space.decode(0)
    (('neg', 'pos'), 1, 'neg')
    """

    def __init__(self, classes: Iterable[str]):
        self.classes: tuple[str, ...] = tuple(classes)
        self._index = {c: i for i, c in enumerate(self.classes)}
        if len(self._index) != len(self.classes):
            raise DataError(f"duplicate class names in {list(self.classes)}")

    @classmethod
    def fit(cls, labels: Iterable[Any]) -> LabelSpace:
        """The sorted set of labels; a label that is a list (multi-label, tags) contributes each item.

        Raises
        ------
        DataError
            No label at all.
        """
        seen: set[str] = set()
        for label in labels:
            if isinstance(label, (list, tuple)):
                seen.update(label)
            elif label is not None:
                seen.add(label)
        if not seen:
            raise DataError("no labels to fit a label space on (is the training set unlabelled?)")
        return cls(sorted(seen))

    def __len__(self) -> int:
        return len(self.classes)

    def __contains__(self, label: object) -> bool:
        return label in self._index

    def __eq__(self, other: object) -> bool:
        return isinstance(other, LabelSpace) and other.classes == self.classes

    def __repr__(self) -> str:
        return f"LabelSpace({list(self.classes)!r})"

    def encode(self, label: str, *, example: Example | str | None = None) -> int:
        """The id of ``label``.

        Raises
        ------
        DataError
            ``label`` was not among the training labels; the message names the label and the
            example (its id and source) and lists the known labels.
        """
        try:
            return self._index[label]
        except (KeyError, TypeError):
            who = example_name(example) if isinstance(example, Example) else (
                repr(example) if example is not None else "(unnamed)")
            raise DataError(
                f"example {who}: label {label!r} does not occur in the training labels "
                f"({', '.join(map(repr, self.classes))}); add training examples of it or remove it"
            ) from None

    def decode(self, index: int) -> str:
        """The class name of id ``index``; DataError if out of range."""
        i = int(index)
        if not 0 <= i < len(self.classes):
            raise DataError(f"class id {index} is outside 0..{len(self.classes) - 1}")
        return self.classes[i]

    def to_dict(self) -> dict[str, Any]:
        """``{"classes": [...]}``, for the run folder (JSON)."""
        return {"classes": list(self.classes)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LabelSpace:
        return cls(data["classes"])


@dataclass
class Predictions:
    """Decoded predictions.

    ``labels``: one per example - a class name, a list of class names (multi-label), a float
    (regression) or a list of tags (token). ``scores``: float64 array of shape (n, K) of class
    probabilities (softmax for single-label tasks, sigmoid per label for multi-label), None for
    regression and token tasks.
    """

    labels: list[Any]
    scores: np.ndarray | None = None


def class_name(raw: Any, example: Example) -> str:
    """A class label as a string: str as is (stripped), int/bool via ``str``, integral float as int."""
    if isinstance(raw, str):
        value = raw.strip()
    elif isinstance(raw, (bool, int, np.integer)):
        value = str(raw)
    elif isinstance(raw, (float, np.floating)) and math.isfinite(raw) and float(raw).is_integer():
        value = str(int(raw))
    else:
        raise DataError(f"example {example_name(example)}: label {raw!r} is not a class name")
    if not value:
        raise DataError(f"example {example_name(example)}: empty label")
    return value
