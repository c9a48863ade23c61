"""Training losses, registered in :data:`~serendip.models.registries.LOSSES`; a task names its loss
(``Task.loss``) and the run's imbalance method (:data:`~serendip.models.registries.IMBALANCE_METHODS`)
says which form of it to build.

An entry is a subclass of :class:`Loss`: ``Loss(weight)`` is the callable ``loss(logits, targets)``
(a scalar tensor); :meth:`Loss.balanced_weights` gives the weights of the ``class_weight`` method and
:meth:`Loss.focal` the focal form (Lin et al. 2017, arXiv:1708.02002) of the ``focal`` method; a loss
without them refuses those methods with a :class:`~serendip.errors.ConfigError`.

* ``cross_entropy`` - softmax cross-entropy over the last axis, :data:`IGNORE_INDEX` targets skipped
  (per-token logits are flattened), optional class weights;
* ``bce_with_logits`` - one sigmoid per class (multi-label), optional ``pos_weight``;
* ``mse`` - mean squared error on (standardised) values.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from serendip.errors import ConfigError
from serendip.models.example import Example
from serendip.models.imbalance import (
    IMBALANCE_METHODS,  # registers the imbalance methods
)
from serendip.models.registries import LOSSES
from serendip.models.tasks import IGNORE_INDEX, LabelSpace, Task

__all__ = ["BCEWithLogits", "CrossEntropy", "Loss", "LossInputs", "MeanSquaredError", "build_loss"]


@dataclass
class LossInputs:
    """What building a loss may look at: the task, the training examples (after resampling and
    augmentation), their label space and their encoded targets (``Task.encode``)."""

    task: Task
    train: Sequence[Example]
    space: LabelSpace | None
    train_targets: Any


class Loss:
    """Base class of the LOSSES entries: ``loss(logits, targets) -> scalar tensor``.

    Parameters
    ----------
    weight : torch.Tensor, optional
        Per-class weights (meaning depends on the loss), moved to the logits' device on each call.
    """

    name = ""

    def __init__(self, weight: Any = None):
        self.weight = weight

    def __call__(self, logits: Any, targets: Any) -> Any:
        raise NotImplementedError

    def _weight_on(self, logits: Any) -> Any:
        return self.weight.to(logits.device) if self.weight is not None else None

    @classmethod
    def refuse(cls, method: str, inputs: LossInputs) -> ConfigError:
        return ConfigError(f"imbalance.method = {method!r} does not apply to the {cls.name} loss of "
                           f"the {inputs.task.name} task; use 'none'")

    @classmethod
    def balanced_weights(cls, inputs: LossInputs) -> tuple[Any, dict[str, Any]]:
        """``(weight tensor, record)`` for the ``class_weight`` method (ConfigError if none fits)."""
        raise cls.refuse("class_weight", inputs)

    @classmethod
    def focal(cls, inputs: LossInputs, gamma: float, alpha: Any) -> Callable[[Any, Any], Any]:
        """The focal form of the loss for the ``focal`` method (ConfigError if none fits)."""
        raise cls.refuse("focal", inputs)


@LOSSES.register("cross_entropy")
class CrossEntropy(Loss):
    """Softmax cross-entropy; logits (..., K) and targets (...) are flattened to (N, K) and (N,)."""

    name = "cross_entropy"

    def __call__(self, logits: Any, targets: Any) -> Any:
        import torch.nn.functional as F

        return F.cross_entropy(logits.reshape(-1, logits.shape[-1]).float(), targets.reshape(-1),
                               weight=self._weight_on(logits), ignore_index=IGNORE_INDEX)

    @classmethod
    def balanced_weights(cls, inputs: LossInputs) -> tuple[Any, dict[str, Any]]:
        """'Balanced' weights ``n / (K n_k)`` of the training labels (every tag of a tag list)."""
        import torch

        from serendip.models.imbalance import class_weights

        labels = [t for ex in inputs.train
                  for t in (ex.label if isinstance(ex.label, (list, tuple)) else [ex.label])]
        weight = torch.as_tensor(class_weights(labels, inputs.space.classes))
        return weight, {"class_weight": dict(zip(inputs.space.classes, weight.tolist()))}

    @classmethod
    def focal(cls, inputs: LossInputs, gamma: float, alpha: Any) -> Callable[[Any, Any], Any]:
        from serendip.models.imbalance import FocalLoss

        focal = FocalLoss(gamma, alpha, multilabel=False, ignore_index=IGNORE_INDEX)

        def focal_loss(logits: Any, targets: Any) -> Any:
            return focal(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1))

        return focal_loss


@LOSSES.register("bce_with_logits")
class BCEWithLogits(Loss):
    """Binary cross-entropy on logits of shape (N, K) against multi-hot targets (N, K)."""

    name = "bce_with_logits"

    def __call__(self, logits: Any, targets: Any) -> Any:
        import torch.nn.functional as F

        return F.binary_cross_entropy_with_logits(logits.float(), targets.float(),
                                                  pos_weight=self._weight_on(logits))

    @classmethod
    def balanced_weights(cls, inputs: LossInputs) -> tuple[Any, dict[str, Any]]:
        """Per-class ``pos_weight = n_negative / n_positive`` of the training targets."""
        import torch

        from serendip.models.imbalance import pos_weights

        weight = torch.as_tensor(pos_weights(inputs.train_targets))
        return weight, {"pos_weight": weight.tolist()}

    @classmethod
    def focal(cls, inputs: LossInputs, gamma: float, alpha: Any) -> Callable[[Any, Any], Any]:
        from serendip.models.imbalance import FocalLoss

        if isinstance(alpha, list):
            raise ConfigError("imbalance.focal_alpha for a multi-label task is one float (the weight "
                              "of positives), not a list")
        return FocalLoss(gamma, alpha, multilabel=True, ignore_index=IGNORE_INDEX)


@LOSSES.register("mse")
class MeanSquaredError(Loss):
    """Mean squared error between the flattened outputs and targets (no class weighting)."""

    name = "mse"

    def __call__(self, logits: Any, targets: Any) -> Any:
        import torch.nn.functional as F

        return F.mse_loss(logits.reshape(-1).float(), targets.reshape(-1).float())


def build_loss(task: Task, imbalance: Any, train: Sequence[Example], space: LabelSpace | None,
               train_targets: Any) -> tuple[Callable[[Any, Any], Any], dict[str, Any]]:
    """The loss ``loss(logits, targets)`` of ``task`` in the form ``imbalance.method`` asks, and a
    description for the run record (``loss``, ``imbalance`` and the weights or focal settings).

    Raises
    ------
    ConfigError
        Unknown loss or imbalance method (the choices are listed), or a method the loss refuses.
    DataError
        Class weights with a class that has no training example.
    """
    loss_cls = LOSSES.get(task.loss)
    method = IMBALANCE_METHODS.get(imbalance.method)()
    loss_fn, extra = method.make_loss(loss_cls, LossInputs(task, train, space, train_targets),
                                      imbalance)
    return loss_fn, {"loss": task.loss, "imbalance": imbalance.method, **extra}
