"""The data of a fine-tuning run, made ready for training: the splits read, the label space fitted
on the training labels (dev/test labels checked against it), the training split resampled by the
imbalance method and augmented (never dev or test), the test-time views checked on every dev and test
example, and the training targets encoded (with the head's target scaling).
"""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from serendip.errors import ConfigError, DataError
from serendip.models.example import Example
from serendip.models.heads import head_of
from serendip.models.imbalance import IMBALANCE_METHODS
from serendip.models.tasks import LabelSpace, Task

__all__ = ["RunData", "check_labels", "prepare_data", "test_time_views"]


@dataclass
class RunData:
    """The run's data after resampling and augmentation, with what training needs of it.

    Attributes
    ----------
    splits : the splits as read (train, dev, test and the split report).
    space : the label space of the training labels (None for regression).
    train : the training examples after resampling and augmentation.
    train_targets : ``task.encode(train, space)``.
    scaling : the head's target scaling (``{"mean", "std"}`` for regression) or None.
    resample_report, augment_report : what resampling and augmentation did.
    tta, views : the test-time augmentation specs and their views (text -> text).
    """

    splits: Any
    space: LabelSpace | None
    train: list[Example]
    train_targets: Any
    scaling: dict[str, float] | None
    resample_report: Any
    augment_report: Any
    tta: list[dict[str, Any]]
    views: tuple[Callable[[str], str], ...]


def check_labels(task: Task, space: LabelSpace | None, splits: Mapping[str, Sequence[Example]]) -> None:
    """Encode dev/test labels with the training label space: an unseen label raises DataError."""
    for name, exs in splits.items():
        if exs and space is not None:
            try:
                task.encode(exs, space)
            except DataError as exc:
                raise DataError(f"{name} split: {exc}") from None


def test_time_views(cfg: Any, task: Task, splits: Any) -> tuple[list[dict[str, Any]], tuple]:
    """The test-time augmentations and their views, checked on every dev and test example."""
    from serendip.models.augment import build_views, test_time_specs, view_failures

    tta = test_time_specs(cfg.augmentations)
    names = ", ".join(a["name"] for a in tta)
    if tta and not head_of(task).takes_views:
        raise ConfigError(f"test_time augmentation ({names}) needs a sequence-level task; the "
                          f"{task.name} task's {task.head!r} head takes no test-time views")
    views = build_views(tta)
    for split_name, exs in (("dev", splits.dev), ("test", splits.test)):
        failed = view_failures(exs, views)
        if failed:
            shown = "; ".join(msg for _, msg in failed[:3])
            raise DataError(f"{len(failed)} {split_name} example(s) cannot take the test-time "
                            f"augmentation ({names}): {shown}")
    return tta, views


def prepare_data(cfg: Any, task: Task) -> RunData:
    """Read the splits, fit the label space, resample (imbalance method) and augment the training
    split only, and encode its targets.

    Raises
    ------
    DataError
        Unusable data (see :func:`serendip.models.data.load_splits_from_config`), an unseen dev/test
        label, an empty training split, an example a test-time view cannot take.
    ConfigError
        An imbalance method or test-time augmentation that does not fit the task.
    """
    from serendip.models.augment import apply_augmentations
    from serendip.models.data import load_splits_from_config
    seed = cfg.training.seed
    splits = load_splits_from_config(cfg.data, task)
    space = task.fit_labels(splits.train)
    check_labels(task, space, {"dev": splits.dev, "test": splits.test})
    method = IMBALANCE_METHODS.get(cfg.imbalance.method)()
    train, resample_report = method.resample(list(splits.train), task, seed)
    train, augment_report = apply_augmentations(train, cfg.augmentations,
                                                eval_sets=(splits.dev, splits.test), seed=seed)
    tta, views = test_time_views(cfg, task, splits)
    if not train:
        raise DataError("the training split is empty")
    return RunData(splits, space, train, task.encode(train, space), head_of(task).target_scaling(train),
                 resample_report, augment_report, tta, views)
