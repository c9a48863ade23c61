"""Fine-tuning: a plain PyTorch training loop over a local Hugging Face backbone.

:func:`finetune` runs one :class:`~serendip.models.config.FineTuneConfig` end to end:

1. domain packages are imported (:func:`serendip.models.plugins.load_domains`), so a config naming the
   ``fasta`` format or a DNA augmentation finds it; Python, NumPy and torch are seeded, and with
   ``training.deterministic`` ``torch.use_deterministic_algorithms(True, warn_only=True)`` is on for
   the run (the previous setting is restored afterwards);
2. the splits are read (:func:`~serendip.models.data.load_splits_from_config`), the label space is
   fitted on the training labels, and dev/test labels are checked against it (an unseen label is a
   :class:`~serendip.errors.DataError` naming it);
3. class imbalance (``imbalance.method``): resampling of the training split, or a class-weighted or
   focal loss (:mod:`serendip.models.imbalance`); then augmentations of the training split only
   (:func:`~serendip.models.augment.apply_augmentations`, never dev or test);
4. the backbone (a local folder, or the bundled all-MiniLM-L6-v2) is loaded with the model class of
   the task's head (:mod:`serendip.models.heads`, :mod:`serendip.models.backbone`) with
   ``num_labels`` and ``problem_type`` from the task, and its own tokenizer (local files only);
5. optional PEFT (:mod:`serendip.models.peft_methods`): LoRA (Hu et al. 2021, arXiv:2106.09685) or
   AdaLoRA (Zhang et al. 2023, arXiv:2303.10512);
6. training (:mod:`serendip.models.loop`): AdamW (no weight decay on biases and LayerNorm weights),
   linear warm-up then linear decay to 0 (:mod:`serendip.models.optim`), gradient norm clipped at
   1.0; the loss is the task's LOSSES entry in the form the imbalance method asks
   (:mod:`serendip.models.losses`), computed here, not by the model;
7. after each epoch the dev split is scored; the best epoch by the selection metric
   (``training.early_stopping.metric``, default the task's primary metric) is kept, and training stops
   after ``patience`` epochs without improvement (:mod:`serendip.models.selection`); the best weights
   are restored and scored on test;
8. export (:mod:`serendip.models.recording`): the model (LoRA/AdaLoRA weights merged into the backbone
   with ``merge_and_unload`` unless ``merge=False``) and its tokenizer as safetensors, the adapter
   alone, and the run record (:mod:`serendip.models.runs`).

Regression targets are standardised with the training mean and standard deviation for the loss (the
``regression`` head); the scaling is stored in ``label_space.json`` and undone before any metric or
prediction.

This module is the public entry: it re-exports :class:`ModelBundle`, :func:`model_outputs`,
:func:`load_backbone`, :func:`apply_peft`, :func:`merge_peft` and the rest from the modules above.
"""

from __future__ import annotations

import contextlib
import math
import random
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from serendip.errors import ConfigError
from serendip.models.backbone import (
    count_parameters,
    load_backbone,
    quiet_hf,
    resolve_backbone,
)
from serendip.models.heads import head_of
from serendip.models.inference import ModelBundle, model_outputs
from serendip.models.loop import GRAD_CLIP_NORM, EncodedSplits, train_loop
from serendip.models.losses import build_loss
from serendip.models.peft_methods import (
    apply_peft,
    merge_peft,
    peft_method,
    uses_adapter,
)
from serendip.models.prepare import RunData, prepare_data
from serendip.models.recording import base_dir
from serendip.models.selection import Selection, check_metric_name, selection_metric
from serendip.models.tasks import LabelSpace, Task, make_task

__all__ = [
    "GRAD_CLIP_NORM",
    "ModelBundle",
    "RunResult",
    "apply_peft",
    "base_dir",
    "count_parameters",
    "finetune",
    "load_backbone",
    "merge_peft",
    "model_outputs",
    "quiet_hf",
    "resolve_backbone",
    "seed_everything",
    "selection_metric",
]

Progress = Callable[[int, int, Mapping[str, Any]], None]


@dataclass
class RunResult:
    """What :func:`finetune` returns.

    Attributes
    ----------
    run_id, run_dir : the run's id and folder (see :mod:`serendip.models.runs`).
    metrics : dict
        As ``metrics.json``: ``dev`` (one dict per epoch), ``best`` (the selected epoch's dev
        metrics), ``test`` (the exported model on the test split; None without a test split),
        ``selection``, parameter counts, notes.
    history : list of dict
        One row per epoch (``epoch``, ``step``, ``train_loss``, ``eval_loss``, ``eval_<metric>``, ``lr``).
    best_epoch : int or None
        1-based; None without a dev split (the last epoch is kept).
    trainable_params, total_params : int
    trainable_fraction : float
        ``trainable_params / total_params`` in (0, 1].
    model, tokenizer :
        The exported model (merged when PEFT was merged) in eval mode, on the training device, and
        its tokenizer: the same weights as ``<run_dir>/model``.
    task, label_space, target_scaling :
        What predictions need (``target_scaling`` ``{"mean", "std"}`` for regression, else None).
    max_length : int
    """

    run_id: str
    run_dir: Path
    metrics: dict[str, Any]
    history: list[dict[str, Any]]
    best_epoch: int | None
    selection_metric: str
    selection_mode: str
    trainable_params: int
    total_params: int
    task: Task
    label_space: LabelSpace | None
    max_length: int
    target_scaling: dict[str, float] | None = None
    model: Any = field(default=None, repr=False)
    tokenizer: Any = field(default=None, repr=False)
    splits: Any = field(default=None, repr=False)

    @property
    def trainable_fraction(self) -> float:
        return self.trainable_params / self.total_params if self.total_params else 0.0

    @property
    def test_metrics(self) -> dict[str, Any] | None:
        return self.metrics.get("test")

    @property
    def best_dev_metrics(self) -> dict[str, Any] | None:
        return self.metrics.get("best")



@contextlib.contextmanager
def seed_everything(seed: int, deterministic: bool = True) -> Iterator[None]:
    """Seed ``random``, NumPy's global generator and torch (CPU and CUDA); with ``deterministic``,
    turn on ``torch.use_deterministic_algorithms(True, warn_only=True)`` (and cuBLAS' deterministic
    workspace) until the block ends, then restore the previous setting."""
    import os

    import torch

    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(seed)
    previous = (torch.are_deterministic_algorithms_enabled(),
                torch.is_deterministic_algorithms_warn_only_enabled())
    if deterministic:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.use_deterministic_algorithms(True, warn_only=True)
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(previous[0], warn_only=previous[1])


def finetune(cfg: Any, workspace: Any = None, progress: Progress | None = None, *,
             merge: bool = True) -> RunResult:
    """Fine-tune a backbone on a task as ``cfg`` says; write the run folder; return the result.

    Parameters
    ----------
    cfg : FineTuneConfig, or the path of a config file (TOML/YAML)
    workspace : Workspace, optional
        With a workspace the run goes to ``<workspace>/runs/<id>/`` and is recorded in its ``runs``
        table; without one it goes to ``cfg.output.run_dir/<id>/``.
    progress : callable, optional
        ``progress(done_steps, total_steps, info)`` after each optimizer step (``info``: ``epoch``,
        ``loss``) and after each dev evaluation (``info``: ``epoch``, ``dev``: the metric dict).
    merge : bool, default True
        Merge LoRA/AdaLoRA weights into the exported model (``merge_and_unload``); the adapter is
        saved on its own too. False: only the adapter is saved, and prediction loads the backbone
        and applies it.

    Returns
    -------
    RunResult

    Raises
    ------
    ConfigError
        Unknown task, loss, head, format or augmentation; a backbone that is not local; an
        impossible AdaLoRA schedule; an imbalance method that does not fit the task; an unknown
        selection metric.
    DataError
        Unusable data: a missing column, no examples, a dev/test label absent from training, too
        few classes. Raised before the run folder is made.
    SerendipError
        Training diverged (non-finite loss). The run is recorded as failed.
    """
    from serendip.models.config import FineTuneConfig, load_config
    from serendip.models.plugins import load_domains

    if not isinstance(cfg, FineTuneConfig):
        cfg = load_config(cfg)
    load_domains()
    task = make_task(cfg.task.name, **cfg.task.params)
    tr = cfg.training
    with seed_everything(tr.seed, tr.deterministic):
        return _finetune(cfg, task, workspace, progress, merge)


# -- the run, step by step -------------------------------------------------------------------------
@dataclass
class _Model:
    """The backbone with its head (PEFT-wrapped when asked), tokenizer, PEFT method and device."""

    model: Any
    tokenizer: Any
    peft: Any
    backbone: str
    tokenizer_folder: str | None
    device: str


def _build_model(cfg: Any, task: Task, space: LabelSpace | None, total_steps: int) -> _Model:
    import torch

    tr = cfg.training
    backbone = resolve_backbone(cfg.backbone.name)
    tok_folder = resolve_backbone(cfg.backbone.tokenizer, "tokenizer") if cfg.backbone.tokenizer else None
    device = tr.device or ("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(f"training.device = {device!r} but no CUDA device is available; use "
                          f"'cpu' or leave it unset")
    model, tokenizer = load_backbone(backbone, task, space, tokenizer_folder=tok_folder,
                                      layers=cfg.backbone.layers)
    method = peft_method(cfg.peft.method)
    model = method.wrap(model, cfg.peft, head_of(task), total_steps)
    model.to(device)
    return _Model(model, tokenizer, method, backbone, tok_folder, device)


def _encode_splits(task: Task, tokenizer: Any, data: RunData, max_length: int, notes: list[str]
                   ) -> tuple[EncodedSplits, list[dict[str, Any]]]:
    """Features of the three splits (``(train and dev, test features)``); truncation is noted."""
    head = head_of(task)
    splits, space = data.splits, data.space
    dev_targets = task.encode(splits.dev, space) if splits.dev else None
    test_targets = task.encode(splits.test, space) if splits.test else None
    train_feats, trunc_train = head.encode(tokenizer, task, data.train, max_length, data.train_targets)
    dev_feats, trunc_dev = head.encode(tokenizer, task, splits.dev, max_length, dev_targets)
    test_feats, trunc_test = head.encode(tokenizer, task, splits.test, max_length, test_targets)
    for split_name, n in (("train", trunc_train), ("dev", trunc_dev), ("test", trunc_test)):
        if n:
            notes.append(f"{n} {split_name} example(s) longer than training.max_length = "
                         f"{max_length} tokens were truncated")
    return EncodedSplits(train_feats, data.train_targets, splits.dev, dev_feats, dev_targets), test_feats


def _finetune(cfg: Any, task: Task, workspace: Any, progress: Progress | None,
              merge: bool) -> RunResult:
    from serendip.models.runs import RunFolder

    t_start = time.perf_counter()
    tr = cfg.training
    data = prepare_data(cfg, task)
    loss_fn, loss_info = build_loss(task, cfg.imbalance, data.train, data.space, data.train_targets)
    total_steps = math.ceil(len(data.train) / tr.batch_size) * tr.epochs
    built = _build_model(cfg, task, data.space, total_steps)
    trainable, total = count_parameters(built.model)
    early_notes: list[str] = []
    encoded, test_feats = _encode_splits(task, built.tokenizer, data, tr.max_length, early_notes)
    metric_name, mode = selection_metric(cfg, task)
    check_metric_name(task, data.space, data.splits.dev, metric_name)

    run = RunFolder.create(base_dir(cfg, workspace), name=cfg.output.name, task=task.name,
                           backbone=cfg.backbone.name, config=cfg.to_dict(), workspace=workspace)
    run.notes.extend(early_notes)
    trackers = None
    try:
        from serendip.models.optim import make_optimizer
        from serendip.models.recording import write_inputs
        from serendip.models.trackers import Trackers

        write_inputs(run, cfg, data.splits, data.space, data.scaling, data.augment_report,
                     data.resample_report)
        trackers = Trackers(cfg, run)
        run.notes.extend(trackers.notes)
        optimizer, scheduler = make_optimizer(built.model, lr=tr.lr, weight_decay=tr.weight_decay,
                                              warmup_steps=int(tr.warmup_ratio * total_steps),
                                              total_steps=total_steps)
        bundle = ModelBundle(built.model, built.tokenizer, task, data.space, tr.max_length,
                             data.scaling, built.device, data.views)
        parts = {"bundle": bundle, "head": head_of(task), "peft": built.peft, "loss_fn": loss_fn,
                 "optimizer": optimizer, "scheduler": scheduler, "training": tr,
                 "total_steps": total_steps, "progress": progress}
        loop = train_loop(parts, encoded, Selection(metric_name, mode, tr.early_stopping.patience),
                          run, trackers, run.notes)
        extra = {"trainable_params": trainable, "total_params": total,
                 "trainable_fraction": trainable / total if total else 0.0,
                 "peft": cfg.peft.method, "loss": loss_info}
        exported, summary = _export_and_record(run, cfg, bundle, built, data, encoded, test_feats,
                                               loop, merge, extra, trackers, t_start)
    except BaseException as exc:
        if trackers is not None:
            trackers.close("FAILED")
        run.fail(exc)
        raise
    return RunResult(run_id=run.id, run_dir=run.path, metrics=summary, history=loop.history,
                     best_epoch=loop.selection.best_epoch, selection_metric=metric_name,
                     selection_mode=mode, trainable_params=trainable, total_params=total, task=task,
                     label_space=data.space, max_length=tr.max_length, target_scaling=data.scaling,
                     model=exported, tokenizer=built.tokenizer, splits=data.splits)


def _export_and_record(run: Any, cfg: Any, bundle: ModelBundle, built: _Model, data: RunData,
                       encoded: EncodedSplits, test_feats: list, loop: Any, merge: bool,
                       extra: dict[str, Any], trackers: Any, t_start: float) -> tuple[Any, dict]:
    """Merge and check the PEFT weights, score test, save the model, draw the plots and write
    ``model.json``, ``history.json``, ``metrics.json`` and the run record; returns
    ``(exported model, metrics.json content)``."""
    import dataclasses

    from serendip.models.recording import (
        draw_plots,
        merged_model,
        save_model,
        summarise,
    )

    tr, task, splits, notes = cfg.training, bundle.task, data.splits, run.notes
    probe = (splits.dev, encoded.dev_feats) if encoded.dev_feats else (splits.test, test_feats)
    exported, merge_check = merged_model(cfg, bundle, probe, merge)
    out_bundle = dataclasses.replace(bundle, model=exported)
    test_metrics = test_outputs = None
    if test_feats:
        test_outputs = model_outputs(out_bundle, splits.test, batch_size=tr.batch_size,
                                     _feats=test_feats)
        test_metrics = task.evaluate(splits.test, test_outputs, data.space)
    else:
        notes.append("no test split: no test metrics")
    model_format = save_model(run, cfg, bundle.model, exported, built.tokenizer, notes)
    peft_used = uses_adapter(cfg.peft)
    run.write_json("model.json", {
        "format": model_format, "head": head_of(task).model_kind, "backbone": built.backbone,
        "backbone_name": cfg.backbone.name, "backbone_layers": cfg.backbone.layers,
        "tokenizer": built.tokenizer_folder,
        "peft": cfg.peft.model_dump() if peft_used else None, "device": built.device,
        "test_time_augmentations": data.tta})
    plot_split, plot_examples, plot_outputs = "test", splits.test, test_outputs
    if test_outputs is None and encoded.dev_feats:
        plot_split, plot_examples = "dev", splits.dev
        plot_outputs = model_outputs(out_bundle, splits.dev, batch_size=tr.batch_size,
                                     _feats=encoded.dev_feats)
    if cfg.output.plots and loop.history:
        notes.extend(draw_plots(run.path, loop.history, task, data.space, plot_examples,
                                plot_outputs, plot_split))
    extra = {**extra, "merge_check": merge_check,
             "test_time_augmentations": [a["name"] for a in data.tta],
             "sizes": {"train": len(data.train), "dev": len(splits.dev), "test": len(splits.test)},
             "device": built.device, "steps": loop.steps, "wall_s": time.perf_counter() - t_start,
             "notes": notes}
    summary, record = summarise(loop, test_metrics, extra)
    run.write_json("history.json", loop.history)
    run.write_json("metrics.json", summary)
    trackers.log({f"test_{k}": v for k, v in (test_metrics or {}).items()}, loop.steps)
    trackers.close()
    run.finish(record)
    return exported, summary
