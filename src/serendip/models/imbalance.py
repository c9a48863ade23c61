"""Class imbalance: class weights, focal loss, random over- and under-sampling.

* :func:`class_weights` - "balanced" weights ``n / (K * n_k)`` (scikit-learn
  ``compute_class_weight``), for ``CrossEntropyLoss(weight=...)``; :func:`pos_weights` the multi-label
  analogue ``n_neg / n_pos`` for ``BCEWithLogitsLoss(pos_weight=...)``.
* :func:`focal_loss` / :func:`sigmoid_focal_loss` / :class:`FocalLoss` - Lin et al. 2017.
  torch is imported inside the functions only.
* :func:`resample` - random over- or under-sampling of the *training* examples with a seed, returning
  new lists and a :class:`ResampleReport` of class counts before and after.
* the ``imbalance.method`` entries of :data:`~serendip.models.registries.IMBALANCE_METHODS`
  (``none``, ``class_weight``, ``focal``, ``oversample``, ``undersample``): each says how it resamples
  the training split (:meth:`NoRebalancing.resample`) and which form of the task's loss it builds
  (:meth:`NoRebalancing.make_loss`, with the loss's :meth:`~serendip.models.losses.Loss.balanced_weights`
  or :meth:`~serendip.models.losses.Loss.focal`).

References
----------
.. [1] T.-Y. Lin, P. Goyal, R. Girshick, K. He, P. Dollár, "Focal Loss for Dense Object Detection",
   ICCV 2017, arXiv:1708.02002.
.. [2] G. King and L. Zeng, "Logistic Regression in Rare Events Data", Political Analysis 9 (2001)
   137-163 (the "balanced" heuristic used by scikit-learn).
"""
from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from serendip.errors import ConfigError, DataError
from serendip.models.example import Example
from serendip.models.registries import IMBALANCE_METHODS

__all__ = [
    "IMBALANCE_METHODS",
    "ClassWeighting",
    "FocalLoss",
    "FocalWeighting",
    "NoRebalancing",
    "Oversampling",
    "ResampleReport",
    "class_weights",
    "focal_loss",
    "pos_weights",
    "resample",
    "sigmoid_focal_loss",
    "Undersampling",
]


def class_weights(labels: Sequence[Hashable], classes: Sequence[Hashable]) -> np.ndarray:
    """'Balanced' class weights ``n_samples / (n_classes * count(class))``.

    Parameters
    ----------
    labels : sequence of length n
        Training labels (class names or ids).
    classes : sequence of length K
        All classes, in the order of the model's output columns (``LabelSpace.classes``).

    Returns
    -------
    ndarray of shape (K,), float32
        Weight of each class; 1.0 each when the classes are balanced.

    Raises
    ------
    DataError
        A class of ``classes`` has no training example, or a label is not in ``classes``.
    """
    from sklearn.utils.class_weight import compute_class_weight

    known = set(classes)
    present = set(labels)
    unknown = sorted(map(str, present - known))
    if unknown:
        raise DataError(f"label {unknown[0]!r} is not one of the classes {list(classes)}")
    missing = [c for c in classes if c not in present]
    if missing:
        raise DataError(f"class {missing[0]!r} has no training example: a balanced weight would be "
                        f"infinite")
    weights = compute_class_weight("balanced", classes=np.asarray(list(classes), dtype=object),
                                   y=np.asarray(list(labels), dtype=object))
    return weights.astype(np.float32)


def pos_weights(y: Any) -> np.ndarray:
    """Per-label positive weights ``n_negative / n_positive`` for multi-label BCE.

    Parameters
    ----------
    y : array-like of shape (n, K), 0/1
        Multi-hot training targets.

    Returns
    -------
    ndarray of shape (K,), float32

    Raises
    ------
    DataError
        A label with no positive example (the column index is named).
    """
    y = np.asarray(y, dtype=np.float64)
    if y.ndim != 2:
        raise DataError(f"targets have shape {y.shape}; expected (n, K)")
    pos = y.sum(axis=0)
    if (pos == 0).any():
        raise DataError(f"label column {int(np.flatnonzero(pos == 0)[0])} has no positive example")
    return ((len(y) - pos) / pos).astype(np.float32)


def _alpha_tensor(alpha: Any, n_classes: int, like: Any) -> Any:
    import torch

    if alpha is None:
        return None
    a = torch.as_tensor(alpha, dtype=like.dtype, device=like.device)
    if a.ndim == 0:
        return a
    if a.shape != (n_classes,):
        raise ConfigError(f"focal alpha has {a.numel()} values for {n_classes} classes")
    return a


def focal_loss(logits: Any, target: Any, *, gamma: float = 2.0, alpha: Any = None,
               reduction: str = "mean", ignore_index: int = -100) -> Any:
    """Softmax focal loss, ``FL(p_t) = -alpha_t (1 - p_t)^gamma log(p_t)`` (Lin et al. 2017, eq. 5).

    With ``gamma=0`` and ``alpha=None`` it equals cross-entropy.

    Parameters
    ----------
    logits : torch.Tensor of shape (N, C) or (N, C, d1, ...)
        Unnormalised scores (class axis 1, as ``torch.nn.functional.cross_entropy``); for token
        classification flatten to (N * T, C).
    target : torch.Tensor of shape (N,) or (N, d1, ...), int64
        Class ids; ``ignore_index`` entries contribute nothing.
    gamma : float, default 2.0
        Focusing parameter (>= 0); the paper's best value is 2.
    alpha : float or sequence of C floats, optional
        Class weight alpha_t (e.g. :func:`class_weights`); a float weighs every class alike.
    reduction : {"mean", "sum", "none"}
        "mean" averages over non-ignored entries.

    Returns
    -------
    torch.Tensor
        Scalar, or of ``target``'s shape with ``reduction="none"``.

    Raises
    ------
    ConfigError
        Negative gamma, unknown reduction, or alpha of the wrong length.
    """
    import torch
    import torch.nn.functional as F

    if gamma < 0:
        raise ConfigError(f"focal gamma must be >= 0; got {gamma}")
    if reduction not in ("mean", "sum", "none"):
        raise ConfigError(f"reduction must be 'mean', 'sum' or 'none'; got {reduction!r}")
    if logits.ndim > 2:  # (N, C, d1, ...) -> (N * d1 * ..., C)
        c = logits.shape[1]
        logits = logits.movedim(1, -1).reshape(-1, c)
    shape = target.shape
    target = target.reshape(-1)
    valid = target != ignore_index
    safe = torch.where(valid, target, torch.zeros_like(target))
    log_p = F.log_softmax(logits.float(), dim=-1)
    log_pt = log_p.gather(1, safe.unsqueeze(1)).squeeze(1)
    pt = log_pt.exp()
    loss = -((1.0 - pt).clamp(min=0.0) ** gamma) * log_pt
    a = _alpha_tensor(alpha, logits.shape[-1], loss)
    if a is not None:
        loss = loss * (a if a.ndim == 0 else a[safe])
    loss = torch.where(valid, loss, torch.zeros_like(loss))
    if reduction == "none":
        return loss.reshape(shape)
    if reduction == "sum":
        return loss.sum()
    return loss.sum() / valid.sum().clamp(min=1)


def sigmoid_focal_loss(logits: Any, target: Any, *, gamma: float = 2.0, alpha: float | None = 0.25,
                       reduction: str = "mean") -> Any:
    """Sigmoid (binary / multi-label) focal loss of Lin et al. 2017 (eq. 5 with alpha_t, as RetinaNet).

    ``FL = -alpha_t (1 - p_t)^gamma log(p_t)`` per element, ``p_t = p`` for a positive target and
    ``1 - p`` for a negative one, ``alpha_t = alpha`` / ``1 - alpha``. The same as
    ``torchvision.ops.sigmoid_focal_loss``.

    Parameters
    ----------
    logits : torch.Tensor of any shape, e.g. (N, K)
    target : torch.Tensor of the same shape, float 0/1
    gamma : float, default 2.0
    alpha : float in [0, 1] or None, default 0.25 (the paper's value); None: no weighting.
    reduction : {"mean", "sum", "none"}

    Returns
    -------
    torch.Tensor
    """
    import torch.nn.functional as F

    if gamma < 0:
        raise ConfigError(f"focal gamma must be >= 0; got {gamma}")
    target = target.to(logits.dtype)
    p = logits.sigmoid()
    ce = F.binary_cross_entropy_with_logits(logits, target, reduction="none")
    p_t = p * target + (1 - p) * (1 - target)
    loss = ce * ((1 - p_t) ** gamma)
    if alpha is not None:
        loss = loss * (alpha * target + (1 - alpha) * (1 - target))
    if reduction == "none":
        return loss
    if reduction == "sum":
        return loss.sum()
    if reduction == "mean":
        return loss.mean()
    raise ConfigError(f"reduction must be 'mean', 'sum' or 'none'; got {reduction!r}")


class FocalLoss:
    """A callable loss ``loss(logits, target)`` (no parameters to train, so not an ``nn.Module``).

    Parameters
    ----------
    gamma : float, default 2.0
    alpha : float, sequence of floats or None
        See :func:`focal_loss` / :func:`sigmoid_focal_loss`.
    multilabel : bool, default False
        Use the sigmoid form (multi-label targets of shape (N, K)); otherwise softmax over classes.
    ignore_index : int, default -100
        Softmax form only.
    """

    def __init__(self, gamma: float = 2.0, alpha: Any = None, *, multilabel: bool = False,
                 ignore_index: int = -100):
        if gamma < 0:
            raise ConfigError(f"focal gamma must be >= 0; got {gamma}")
        self.gamma = gamma
        self.alpha = alpha
        self.multilabel = multilabel
        self.ignore_index = ignore_index

    def __call__(self, logits: Any, target: Any) -> Any:
        if self.multilabel:
            return sigmoid_focal_loss(logits, target, gamma=self.gamma, alpha=self.alpha)
        return focal_loss(logits, target, gamma=self.gamma, alpha=self.alpha,
                          ignore_index=self.ignore_index)

    def __repr__(self) -> str:
        return f"FocalLoss(gamma={self.gamma}, alpha={self.alpha}, multilabel={self.multilabel})"


@dataclass
class ResampleReport:
    """``method``, ``seed`` and class counts ``before`` / ``after``; ``added`` and ``removed`` totals."""

    method: str
    seed: int
    before: dict[str, int]
    after: dict[str, int]
    added: int = 0
    removed: int = 0

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def resample(examples: Sequence[Example], method: str, *, seed: int = 0,
             label_of: Callable[[Example], Hashable] | None = None
             ) -> tuple[list[Example], ResampleReport]:
    """Random over- or under-sampling to equal class counts.

    ``"oversample"`` draws copies of examples of each smaller class (with replacement) until it
    reaches the largest class's count; ``"undersample"`` keeps, without replacement, as many examples
    of each class as the smallest class has. Apply to the training split only.

    Parameters
    ----------
    examples : sequence of Example
        Training examples with one hashable class label each.
    method : {"oversample", "undersample"}
    seed : int
        Seed of ``numpy.random.default_rng``.
    label_of : callable, optional
        The class of an example (default ``example.label``).

    Returns
    -------
    (examples, report) : list of Example, ResampleReport
        A new list. Undersampling keeps the original order of the kept examples; oversampling returns
        all originals followed by the copies, each a new Example with ``meta["oversampled_from"]``
        set to the original's id (the inputs are not modified).

    Raises
    ------
    ConfigError
        Unknown method.
    DataError
        No examples, or a label that is not one class (e.g. a multi-label list).
    """
    if method not in ("oversample", "undersample"):
        raise ConfigError(f"resampling method must be 'oversample' or 'undersample'; got {method!r}")
    if not examples:
        raise DataError("cannot resample an empty training set")
    label_of = label_of or (lambda ex: ex.label)
    by_class: dict[Any, list[int]] = defaultdict(list)
    for i, ex in enumerate(examples):
        lab = label_of(ex)
        if isinstance(lab, (list, tuple, dict, set)) or lab is None:
            raise DataError(f"example {ex.id!r}: {method} needs one class per example; got {lab!r}")
        by_class[lab].append(i)
    rng = np.random.default_rng(seed)
    before = {str(c): len(ix) for c, ix in sorted(by_class.items(), key=lambda kv: str(kv[0]))}
    out: list[Example]
    if method == "oversample":
        target = max(len(ix) for ix in by_class.values())
        out = list(examples)
        for c in sorted(by_class, key=str):
            ix = by_class[c]
            for j in rng.choice(ix, size=target - len(ix), replace=True):
                ex = examples[int(j)]
                out.append(dataclasses.replace(ex, meta={**ex.meta, "oversampled_from": ex.id}))
        added, removed = len(out) - len(examples), 0
    else:
        target = min(len(ix) for ix in by_class.values())
        keep: set[int] = set()
        for c in sorted(by_class, key=str):
            keep.update(int(j) for j in rng.choice(by_class[c], size=target, replace=False))
        out = [ex for i, ex in enumerate(examples) if i in keep]
        added, removed = 0, len(examples) - len(out)
    after: dict[str, int] = defaultdict(int)
    for ex in out:
        after[str(label_of(ex))] += 1
    return out, ResampleReport(method, seed, before, dict(sorted(after.items())), added, removed)


# -- the imbalance.method entries ------------------------------------------------------------------
@IMBALANCE_METHODS.register("none")
class NoRebalancing:
    """The training split as it is and the task's loss unweighted."""

    def resample(self, train: Sequence[Example], task: Any, seed: int
                 ) -> tuple[list[Example], ResampleReport | None]:
        """``(training examples, report or None)``; here the examples unchanged and no report."""
        return list(train), None

    def make_loss(self, loss_cls: Any, inputs: Any, cfg: Any) -> tuple[Any, dict[str, Any]]:
        """``(loss callable, record entries)`` from the task's LOSSES class ``loss_cls``."""
        return loss_cls(), {}


@IMBALANCE_METHODS.register("class_weight")
class ClassWeighting(NoRebalancing):
    """The loss weighted by class: balanced class weights, or ``pos_weight`` for multi-label."""

    def make_loss(self, loss_cls: Any, inputs: Any, cfg: Any) -> tuple[Any, dict[str, Any]]:
        weight, record = loss_cls.balanced_weights(inputs)
        return loss_cls(weight), record


@IMBALANCE_METHODS.register("focal")
class FocalWeighting(NoRebalancing):
    """The focal form of the loss with ``focal_gamma`` and ``focal_alpha`` (Lin et al. 2017)."""

    def make_loss(self, loss_cls: Any, inputs: Any, cfg: Any) -> tuple[Any, dict[str, Any]]:
        loss = loss_cls.focal(inputs, cfg.focal_gamma, cfg.focal_alpha)
        return loss, {"focal_gamma": cfg.focal_gamma, "focal_alpha": cfg.focal_alpha}


@IMBALANCE_METHODS.register("oversample")
class Oversampling(NoRebalancing):
    """Random copies of the smaller classes' training examples (:func:`resample`)."""

    method = "oversample"

    def resample(self, train: Sequence[Example], task: Any, seed: int
                 ) -> tuple[list[Example], ResampleReport | None]:
        if task.label_kind != "class":
            raise ConfigError(f"imbalance.method = {self.method!r} needs one class per example; the "
                              f"{task.name} task has none. Use class_weight or focal")
        return resample(train, self.method, seed=seed)


@IMBALANCE_METHODS.register("undersample")
class Undersampling(Oversampling):
    """A random subset of each larger class's training examples (:func:`resample`)."""

    method = "undersample"
