"""The fine-tuning loop: epochs of shuffled mini-batches, a dev evaluation after each, selection of
the best epoch and early stopping.

Per step: the task's loss on the model's logits (:mod:`serendip.models.losses`), plus the PEFT
method's regulariser (AdaLoRA's orthogonality term), backward, gradient norm clipped at
:data:`GRAD_CLIP_NORM`, optimizer and scheduler step, then the PEFT method's ``after_step`` (AdaLoRA's
rank allocation) before the gradients are cleared. A non-finite loss stops the run with a
:class:`~serendip.errors.SerendipError`. ``history.json`` is written after every epoch, so a killed
run keeps it.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from serendip.errors import SerendipError
from serendip.models.example import Example
from serendip.models.inference import (
    ModelBundle,
    batches,
    collate,
    eval_loss,
    model_outputs,
)
from serendip.models.selection import Selection, metric_value

__all__ = ["GRAD_CLIP_NORM", "EncodedSplits", "LoopResult", "history_row", "train_loop"]

#: Gradient norm clipping threshold (the Hugging Face Trainer's default ``max_grad_norm``).
GRAD_CLIP_NORM = 1.0

Progress = Callable[[int, int, Mapping[str, Any]], None]


@dataclass
class EncodedSplits:
    """Features (from the head's ``encode``) and encoded targets of the training and dev splits."""

    train_feats: list[dict[str, Any]]
    train_targets: Any
    dev: Sequence[Example]
    dev_feats: list[dict[str, Any]]
    dev_targets: Any


@dataclass
class LoopResult:
    """What the loop leaves: one history row and one dev metric dict per epoch, the selection
    (best epoch and value), the number of optimizer steps and whether it stopped early."""

    selection: Selection
    history: list[dict[str, Any]] = field(default_factory=list)
    dev_metrics: list[dict[str, Any]] = field(default_factory=list)
    steps: int = 0
    stopped_early: bool = False


def history_row(epoch: int, step: int, train_loss: float, lr: float, eval_loss: float | None,
                metrics: Mapping[str, Any] | None) -> dict[str, Any]:
    """One ``history.json`` row: ``epoch``, ``step``, ``train_loss``, ``lr``, ``eval_loss`` and
    ``eval_<metric>`` for every numeric dev metric (``n`` left out)."""
    row: dict[str, Any] = {"epoch": epoch, "step": step, "train_loss": train_loss, "lr": lr}
    if eval_loss is not None:
        row["eval_loss"] = eval_loss
    for k, v in (metrics or {}).items():
        if k != "n" and isinstance(v, (int, float, np.floating)) and not isinstance(v, bool):
            row[f"eval_{k}"] = float(v)
    return row


@dataclass
class _Trainer:
    """The parts one optimizer step needs."""

    bundle: ModelBundle
    head: Any
    peft: Any
    loss_fn: Callable[[Any, Any], Any]
    optimizer: Any
    scheduler: Any
    training: Any
    total_steps: int
    progress: Progress | None

    def step(self, feats: list[dict[str, Any]], targets: Any, idx: list[int], epoch: int,
             step: int) -> float:
        """One optimizer step on the examples ``idx``; returns the task loss (no regulariser)."""
        import torch

        bundle, model = self.bundle, self.bundle.model
        batch = collate([feats[i] for i in idx], bundle.tokenizer.pad_token_id)
        y = self.head.targets(batch, targets, idx, bundle.target_scaling)
        logits = model(**{k: v.to(bundle.device) for k, v in batch.items()}).logits
        task_loss = self.loss_fn(logits, y.to(bundle.device))
        reg = self.peft.regularizer(model)
        loss = task_loss if reg is None else task_loss + reg
        if not torch.isfinite(loss):
            raise SerendipError(f"training diverged: the loss is {loss.item()} at epoch {epoch}, "
                                f"step {step + 1}; lower training.lr (now {self.training.lr:g}) or "
                                f"check the labels")
        loss.backward()
        torch.nn.utils.clip_grad_norm_([p for p in model.parameters() if p.requires_grad],
                                       GRAD_CLIP_NORM)
        self.optimizer.step()
        self.scheduler.step()
        self.peft.after_step(model, step + 1)
        self.optimizer.zero_grad(set_to_none=True)
        return float(task_loss.detach())

    def epoch(self, data: EncodedSplits, order: list[int], epoch: int, step: int) -> tuple[float, int]:
        """One pass over the training split in ``order``: ``(mean task loss, steps so far)``."""
        self.bundle.model.train()
        total, seen = 0.0, 0
        for idx in batches(len(data.train_feats), self.training.batch_size, order):
            value = self.step(data.train_feats, data.train_targets, idx, epoch, step)
            step += 1
            # the task loss (AdaLoRA's regulariser left out), comparable with the dev loss
            total += value * len(idx)
            seen += len(idx)
            if self.progress is not None:
                self.progress(step, self.total_steps, {"epoch": epoch, "loss": value})
        return total / max(1, seen), step


def _evaluate(trainer: _Trainer, data: EncodedSplits, state: LoopResult, epoch: int,
              train_loss: float, lr: float, trackers: Any) -> bool:
    """Score the dev split after ``epoch``, record it, update the selection; True: stop early."""
    bundle, sel = trainer.bundle, state.selection
    batch_size = trainer.training.batch_size
    outputs = model_outputs(bundle, data.dev, batch_size=batch_size, _feats=data.dev_feats)
    metrics = bundle.task.evaluate(data.dev, outputs, bundle.label_space)
    loss = eval_loss(bundle, data.dev_feats, data.dev_targets, trainer.loss_fn, batch_size)
    value = metric_value(metrics, loss, sel.metric)
    state.dev_metrics.append({"epoch": epoch, "eval_loss": loss, **metrics})
    row = history_row(epoch, state.steps, train_loss, lr, loss, metrics)
    state.history.append(row)
    trackers.log(row, state.steps)
    if trainer.progress is not None:
        trainer.progress(state.steps, trainer.total_steps,
                         {"epoch": epoch, "dev": metrics, sel.metric: value})
    return sel.update(bundle.model, epoch, value)


def train_loop(trainer_parts: Mapping[str, Any], data: EncodedSplits, selection: Selection,
               run: Any, trackers: Any, notes: list[str]) -> LoopResult:
    """Train for ``training.epochs`` epochs (fewer when early stopping fires) and restore the best
    dev epoch's weights (the last epoch's without a dev split or a finite dev metric).

    Parameters
    ----------
    trainer_parts : mapping
        ``bundle`` (ModelBundle), ``head``, ``peft`` (a PEFT_METHODS instance), ``loss_fn``,
        ``optimizer``, ``scheduler``, ``training`` (the config's training section), ``total_steps``
        and ``progress`` (callable or None).
    data : EncodedSplits
    selection : Selection
    run : RunFolder (``history.json`` is written to it after every epoch)
    trackers : Trackers
    notes : list of str
        The run's notes (early stopping, no dev split) are appended.

    Raises
    ------
    SerendipError
        The loss became non-finite.
    """
    import torch

    trainer = _Trainer(**trainer_parts)
    tr = trainer.training
    generator = torch.Generator().manual_seed(tr.seed)
    state = LoopResult(selection)
    for epoch in range(1, tr.epochs + 1):
        order = torch.randperm(len(data.train_feats), generator=generator).tolist()
        train_loss, state.steps = trainer.epoch(data, order, epoch, state.steps)
        lr_now = float(trainer.scheduler.get_last_lr()[0])
        if data.dev_feats:
            stop = _evaluate(trainer, data, state, epoch, train_loss, lr_now, trackers)
            if stop and epoch < tr.epochs:
                notes.append(f"early stopping after epoch {epoch}: dev {selection.metric} has not "
                             f"improved for {selection.patience} epoch(s)")
                state.stopped_early = True
                break
        else:
            row = history_row(epoch, state.steps, train_loss, lr_now, None, None)
            state.history.append(row)
            trackers.log(row, state.steps)
        run.write_json("history.json", state.history)  # after every epoch: a killed run keeps it
    if not data.dev_feats:
        notes.append("no dev split: no model selection, the last epoch is kept")
    elif selection.best_state is None:
        notes.append(f"dev {selection.metric} was never finite: the last epoch is kept")
    selection.restore(trainer.bundle.model)
    trainer.bundle.model.eval()
    return state
