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
Build one with :func:`make_task` (``make_task("binary", positive_label="active")``).
"""
from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from serendip.errors import ConfigError, DataError
from serendip.models import metrics as _metrics  # noqa: F401  (registers the metric bundles)
from serendip.models.example import Example
from serendip.models.registries import METRICS, TASKS

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

#: Target id that token-classification losses skip (PyTorch ``CrossEntropyLoss(ignore_index=-100)``).
IGNORE_INDEX = -100
_IOB2_TAG = re.compile(r"^(?:O|[BI]-.+)$")


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


def _class_name(raw: Any, example: Example) -> str:
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
        return _class_name(raw, example)

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
        names = {_class_name(x, example) for x in items if not (isinstance(x, str) and not x.strip())}
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


@TASKS.register("token")
class TokenTask(Task):
    """One tag per token (named entities, tagging).

    The tokens of an example are ``example.meta["tokens"]`` when given, else ``example.text.split()``
    (whitespace); its label is one tag per token - a list, or a whitespace-separated string. The
    model predicts per *word*: a training loop aligns sub-word pieces with :meth:`align_labels` (the
    first piece of each word carries its tag, the others :data:`IGNORE_INDEX`) and gathers the first
    piece's logits back with :meth:`word_logits`.

    Parameters
    ----------
    scheme : "IOB2" or None, default "IOB2"
        With "IOB2" tags must be ``O``, ``B-<type>``, ``I-<type>`` and the metrics are seqeval's
        strict entity-level precision/recall/F1 plus token accuracy; with None (e.g. part-of-speech
        tags) token accuracy only, which is then the selection metric.
    """

    name = "token"
    label_kind = "tags"
    loss = "cross_entropy"
    head = "token"
    problem_type = None
    metrics = "token"
    primary_metric = "f1"
    per_token = True

    def __init__(self, scheme: str | None = "IOB2"):
        if scheme is not None and scheme.upper() != "IOB2":
            raise ConfigError(f"token task scheme must be 'IOB2' or None; got {scheme!r}")
        self.scheme = scheme.upper() if scheme else None
        if self.scheme is None:
            self.primary_metric = "token_accuracy"

    @property
    def stratifiable(self) -> bool:
        return False

    @staticmethod
    def tokens(example: Example) -> list[str]:
        """The word tokens of ``example``: ``meta["tokens"]`` or the whitespace split of its text."""
        tokens = example.meta.get("tokens") if example.meta else None
        return list(tokens) if tokens is not None else example.text.split()

    def parse_label(self, raw: Any, example: Example) -> list[str]:
        if raw is None:
            raise DataError(f"example {example_name(example)}: no tags")
        tags = raw.split() if isinstance(raw, str) else raw
        if not isinstance(tags, (list, tuple)) or not all(isinstance(t, str) for t in tags):
            raise DataError(f"example {example_name(example)}: tags {raw!r} are not a list of strings")
        n_tokens = len(self.tokens(example))
        if len(tags) != n_tokens:
            raise DataError(f"example {example_name(example)}: {len(tags)} tags for {n_tokens} tokens")
        if self.scheme == "IOB2":
            for j, tag in enumerate(tags):
                if not _IOB2_TAG.match(tag):
                    raise DataError(f"example {example_name(example)}, token {j}: tag {tag!r} is not "
                                    f"IOB2 (O, B-<type> or I-<type>)")
        return list(tags)

    def label_counts(self, examples: Sequence[Example]) -> dict[str, int]:
        return {}

    def encode(self, examples: Sequence[Example], space: LabelSpace | None) -> list[np.ndarray]:
        """Per-word tag ids: a list of n int64 arrays, array i of shape (n_words_i,)."""
        assert space is not None
        return [np.array([space.encode(t, example=ex) for t in ex.label], dtype=np.int64)
                for ex in examples]

    @staticmethod
    def align_labels(word_ids: Sequence[int | None], tag_ids: Sequence[int]) -> list[int]:
        """Targets per sub-word piece from targets per word.

        Parameters
        ----------
        word_ids : sequence of int or None, length T
            For each piece, the index of its word (``BatchEncoding.word_ids()`` of a fast Hugging
            Face tokenizer called with ``is_split_into_words=True``); None for special tokens.
        tag_ids : sequence of int, length n_words
            Tag id of each word.

        Returns
        -------
        list of int, length T
            The word's tag id on its first piece; :data:`IGNORE_INDEX` on special tokens and on the
            following pieces of a word.
        """
        out: list[int] = []
        previous = None
        for w in word_ids:
            out.append(IGNORE_INDEX if w is None or w == previous else int(tag_ids[w]))
            previous = w
        return out

    @staticmethod
    def word_logits(logits: np.ndarray, word_ids: Sequence[int | None], n_words: int) -> np.ndarray:
        """Per-word logits from per-piece logits (the first piece of each word).

        Parameters
        ----------
        logits : ndarray of shape (T, K)
        word_ids : sequence of int or None, length T (see :meth:`align_labels`)
        n_words : int

        Returns
        -------
        ndarray of shape (n_words, K), float64
            Rows of words that lost all their pieces to truncation (``max_length``) are NaN;
            :meth:`predict` tags them ``O`` (or the first class without IOB2), so truncation costs
            recall instead of vanishing from the metrics.
        """
        logits = np.asarray(logits, dtype=np.float64)
        out = np.full((n_words, logits.shape[-1]), np.nan)
        previous = None
        for t, w in enumerate(word_ids):
            if w is not None and w != previous and w < n_words:
                out[w] = logits[t]
            previous = w
        return out

    def predict(self, outputs: Any, space: LabelSpace | None,
                examples: Sequence[Example] | None = None) -> Predictions:
        """Tags from per-word logits.

        Parameters
        ----------
        outputs : list of n arrays of shape (n_words_i, K), or an array of shape (n, T, K), T >= n_words_i
            Per-word logits (see :meth:`word_logits`); the tag of a word is the argmax over its last
            axis. NaN rows (truncated words) get ``O``.
        examples : sequence of Example
            Required: gives the number of words of each example.
        """
        assert space is not None
        if examples is None:
            raise DataError("token predictions need the examples (for the number of words in each)")
        if len(outputs) != len(examples):
            raise DataError(f"{len(outputs)} outputs for {len(examples)} examples")
        fallback = "O" if "O" in space else space.classes[0]
        labels = []
        for ex, logits in zip(examples, outputs):
            n_words = len(self.tokens(ex))
            logits = np.asarray(logits, dtype=np.float64)
            if logits.ndim != 2 or logits.shape[0] < n_words or logits.shape[1] != len(space):
                raise DataError(f"example {example_name(ex)}: outputs of shape {logits.shape}; "
                                f"expected ({n_words}, {len(space)})")
            logits = logits[:n_words]
            missing = np.isnan(logits).any(axis=1)
            ids = np.argmax(np.nan_to_num(logits, nan=-np.inf), axis=-1)
            labels.append([fallback if m else space.classes[i] for i, m in zip(ids, missing)])
        return Predictions(labels, None)

    def evaluate(self, examples: Sequence[Example], outputs: Any,
                 space: LabelSpace | None) -> dict[str, Any]:
        preds = self.predict(outputs, space, examples)
        return METRICS.get(self.metrics)([ex.label for ex in examples], preds.labels,
                                         scheme=self.scheme)


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
