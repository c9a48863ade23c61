"""Model selection and early stopping on the dev split.

The selection metric is ``training.early_stopping.metric`` (default the task's primary metric); its
direction is ``training.early_stopping.mode``, else the task's for its primary metric, else "min" for
names like a loss or an error. :class:`Selection` keeps the best epoch's weights (on the CPU) and says
when ``patience`` epochs have passed without improvement.
"""
from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from serendip.errors import ConfigError
from serendip.models.example import Example
from serendip.models.tasks import LabelSpace, Task

__all__ = ["LOWER_IS_BETTER", "Selection", "check_metric_name", "improved", "metric_value",
           "selection_metric"]

#: Metric names for which lower is better when the direction is not configured.
LOWER_IS_BETTER = ("loss", "rmse", "mse", "mae", "hamming_loss", "error")


def selection_metric(cfg: Any, task: Task) -> tuple[str, str]:
    """``(metric name, "max" or "min")`` of the run configured by ``cfg`` (a FineTuneConfig)."""
    es = cfg.training.early_stopping
    metric = es.metric or task.primary_metric
    if es.mode is not None:
        return metric, es.mode
    if metric == task.primary_metric:
        return metric, "max" if task.greater_is_better else "min"
    lower = any(metric == m or metric.endswith(m) for m in LOWER_IS_BETTER)
    return metric, "min" if lower else "max"


def check_metric_name(task: Task, space: LabelSpace | None, dev: Sequence[Example],
                      name: str) -> None:
    """Raise ConfigError before training when ``name`` is not a dev metric of the task (scored on
    constant dummy outputs of the task's head, which costs no model call)."""
    from serendip.models.heads import head_of

    if not dev or name in ("loss", "eval_loss"):
        return
    dummy = head_of(task).dummy_outputs(dev, task.num_outputs(space))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        metrics = task.evaluate(dev, dummy, space)
    metric_value(metrics, float("nan"), name)


def metric_value(metrics: Mapping[str, Any], eval_loss: float, name: str) -> float:
    """The value of metric ``name`` (``loss``/``eval_loss``: ``eval_loss``).

    Raises
    ------
    ConfigError
        ``name`` is not a numeric entry of ``metrics`` (the choices are listed).
    """
    if name in ("loss", "eval_loss"):
        return eval_loss
    value = metrics.get(name)
    if not isinstance(value, (int, float, np.integer, np.floating)) or isinstance(value, bool):
        choices = sorted(k for k, v in metrics.items()
                         if isinstance(v, (int, float)) and not isinstance(v, bool))
        raise ConfigError(f"training.early_stopping.metric {name!r} is not a dev metric of this "
                          f"task; choose one of: loss, {', '.join(choices)}")
    return float(value)


def improved(value: float, best: float | None, mode: str) -> bool:
    """Whether ``value`` beats ``best`` in direction ``mode`` (a non-finite value never does)."""
    if not math.isfinite(value):
        return False
    if best is None:
        return True
    return value > best if mode == "max" else value < best


class Selection:
    """The best dev epoch so far, its weights, and the early-stopping count.

    Parameters
    ----------
    metric, mode : the selection metric and its direction ("max" or "min").
    patience : int or None
        Epochs without improvement before stopping; None never stops early.
    """

    def __init__(self, metric: str, mode: str, patience: int | None):
        self.metric, self.mode, self.patience = metric, mode, patience
        self.best_value: float | None = None
        self.best_epoch: int | None = None
        self.best_state: dict[str, Any] | None = None
        self.since_best = 0

    def update(self, model: Any, epoch: int, value: float) -> bool:
        """Record the dev ``value`` of ``epoch``; keep the weights when it improved. Returns True
        when training should stop (``patience`` epochs without improvement)."""
        if improved(value, self.best_value, self.mode):
            self.best_value, self.best_epoch, self.since_best = value, epoch, 0
            self.best_state = {k: v.detach().to("cpu", copy=True)
                               for k, v in model.state_dict().items()}
            return False
        self.since_best += 1
        return self.patience is not None and self.since_best >= self.patience

    def restore(self, model: Any) -> None:
        """Load the best epoch's weights into ``model`` (unchanged when no epoch was finite)."""
        if self.best_state is not None:
            model.load_state_dict(self.best_state)
