"""The model and the training loop of pre-training.

:func:`build_model` makes a ``transformers.BertForMaskedLM`` from randomly initialised weights (seeded)
or takes the model continued from ``model.init_from``; :func:`train_mlm` runs a plain PyTorch loop
(AdamW with linear warm-up then linear decay, :func:`serendip.models.optim.make_optimizer`; gradient
clipping at ``training.max_grad_norm``) over full batches of shuffled sequences, evaluating the
held-out batches every ``training.eval_every`` steps and at the end.
"""
from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from serendip.errors import ConfigError, DataError
from serendip.models.optim import make_optimizer
from serendip.models.pretrain.config import LEARNING_RATES
from serendip.models.pretrain.evaluation import evaluate_heldout
from serendip.models.pretrain.masking import make_batch, mlm_loss

if TYPE_CHECKING:
    from serendip.models.pretrain.checkpoint import Checkpoint
    from serendip.models.pretrain.config import PretrainConfig

__all__ = ["LoopResult", "TrainingPlan", "build_model", "load_init_model", "plan_training", "train_mlm"]


def load_init_model(cfg: PretrainConfig) -> tuple[Any, int, list[str]]:
    """The masked LM of ``model.init_from`` (None without one), the most tokens a sequence may have and
    the names of its parameters the folder lacked (newly initialised: the masked-LM head of a
    sentence-transformers or classification checkpoint; empty for a masked LM's own folder).

    RoBERTa-style models offset positions by the padding index, so they take two tokens fewer than
    their ``max_position_embeddings``.
    """
    if cfg.model.init_from is None:
        return None, cfg.model.max_position_embeddings, []
    from transformers import AutoModelForMaskedLM
    from transformers.utils import logging as hf_logging

    level = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()  # its missing-head table and "checkpoint seem corrupted": said plainly later
    try:
        model, info = AutoModelForMaskedLM.from_pretrained(str(cfg.model.init_from), local_files_only=True,
                                                           output_loading_info=True)
    finally:
        hf_logging.set_verbosity(level)
    names = dict(model.named_parameters())
    new = sorted(k for k in info.get("missing_keys", ()) if k in names)
    max_tokens = int(model.config.max_position_embeddings)
    if model.config.model_type in ("roberta", "xlm-roberta", "camembert"):
        max_tokens -= 2
    return model, max_tokens, new


def build_model(cfg: PretrainConfig, tokenizer: Any, init_model: Any) -> Any:
    """``init_model`` (checked to cover the tokenizer), or a new ``BertForMaskedLM`` of the config's
    dims seeded with ``training.seed``.

    Raises
    ------
    ConfigError
        The tokenizer has more tokens than the continued model's vocabulary, or bad dims.
    """
    import torch
    from transformers import BertConfig, BertForMaskedLM

    if init_model is not None:
        if len(tokenizer) > init_model.config.vocab_size:
            raise ConfigError(f"{cfg.model.init_from}: tokenizer has {len(tokenizer)} tokens, model "
                              f"vocabulary {init_model.config.vocab_size}")
        return init_model
    bert_cfg = BertConfig(vocab_size=len(tokenizer), max_position_embeddings=cfg.model.max_position_embeddings,
                          hidden_dropout_prob=cfg.model.dropout, attention_probs_dropout_prob=cfg.model.dropout,
                          type_vocab_size=2, pad_token_id=tokenizer.pad_token_id, **cfg.model.dims())
    torch.manual_seed(cfg.training.seed)
    return BertForMaskedLM(bert_cfg)


@dataclass
class TrainingPlan:
    """Steps, warm-up steps, peak learning rate, batch size and steps per epoch of a run; ``head_steps``
    of them come first and train only the ``new_params`` (the head weights the continued model lacked)
    at ``head_lr``; ``total`` counts them."""

    total: int
    warmup: int
    lr: float
    batch_size: int
    steps_per_epoch: int
    head_steps: int = 0
    head_lr: float = 0.0
    new_params: list[str] = field(default_factory=list)


def plan_training(cfg: PretrainConfig, n_train: int, new_params: list[str] | None = None) -> TrainingPlan:
    """``training.max_steps`` (else ``epochs`` over ``n_train`` sequences), warm-up (``warmup_steps``,
    else ``warmup_ratio`` of the steps) and the peak lr (``training.lr``, else 5e-5 when continuing,
    else :data:`LEARNING_RATES` by size). With ``new_params`` (the continued model's newly initialised
    weights), ``training.head_warmup_steps`` steps (None: min(200, a quarter of the others)) are added
    before the others, training only those at ``training.head_lr``: a head learnt from scratch at the
    continued model's small lr would, for most of the run, send the encoder the gradients of random
    weights (the adapter literature's "warm up the new head first"; Kumar et al., "Fine-Tuning can
    Distort Pretrained Features", ICLR 2022: linear probing, then fine-tuning)."""
    t = cfg.training
    steps_per_epoch = math.ceil(n_train / t.batch_size)
    total = t.max_steps or max(1, math.ceil(t.epochs * steps_per_epoch))
    warmup = t.warmup_steps if t.warmup_steps is not None else int(t.warmup_ratio * total)
    lr = t.lr or (5e-5 if cfg.model.init_from is not None else LEARNING_RATES[cfg.model.size])
    new = list(new_params or [])
    head = 0 if not new else (t.head_warmup_steps if t.head_warmup_steps is not None else min(200, total // 4))
    return TrainingPlan(total=total + head, warmup=warmup, lr=lr, batch_size=t.batch_size,
                        steps_per_epoch=steps_per_epoch, head_steps=head, head_lr=t.head_lr, new_params=new)


def make_plan_optimizer(model: Any, plan: TrainingPlan, weight_decay: float) -> tuple[Any, Any]:
    """AdamW and its scheduler for ``plan`` (:func:`serendip.models.optim.make_optimizer` without a head
    phase). With ``plan.head_steps``: the new parameters form their own groups, at ``plan.head_lr`` with
    a 10 % warm-up and linear decay over the head phase, then at the run's schedule; the others stay at
    0 during the head phase (and are frozen by :func:`set_head_phase`), then follow the run's linear
    warm-up/decay over the remaining steps."""
    if not plan.head_steps:
        return make_optimizer(model, lr=plan.lr, weight_decay=weight_decay, warmup_steps=plan.warmup,
                              total_steps=plan.total)
    import torch

    from serendip.models.optim import _no_decay, linear_warmup_factor

    new = set(plan.new_params)
    groups: dict[tuple[bool, bool], list] = {(h, d): [] for h in (False, True) for d in (False, True)}
    for name, param in model.named_parameters():
        groups[(name in new, not _no_decay(name, param))].append(param)
    keys = [k for k, v in groups.items() if v]
    optim = torch.optim.AdamW([{"params": groups[k], "weight_decay": weight_decay if k[1] else 0.0} for k in keys],
                              lr=plan.lr)
    head, rest = plan.head_steps, plan.total - plan.head_steps

    def body(step: int) -> float:
        return 0.0 if step < head else linear_warmup_factor(step - head, plan.warmup, rest)

    def new_head(step: int) -> float:
        if step < head:
            return plan.head_lr / plan.lr * linear_warmup_factor(step, max(1, head // 10), head)
        return body(step)

    sched = torch.optim.lr_scheduler.LambdaLR(optim, [new_head if k[0] else body for k in keys])
    return optim, sched


def set_head_phase(model: Any, plan: TrainingPlan, step: int) -> None:
    """Freeze every parameter but the new ones while ``step`` (1-based) is in the head phase; unfreeze
    all after it (no-op without a head phase)."""
    if not plan.head_steps:
        return
    new = set(plan.new_params)
    for name, param in model.named_parameters():
        param.requires_grad_(step > plan.head_steps or name in new)


@dataclass
class LoopResult:
    """Training losses per step (nats), held-out evaluations, tokens seen, seconds spent in steps."""

    losses: list[float] = field(default_factory=list)
    evals: list[dict[str, float]] = field(default_factory=list)
    tokens_seen: int = 0
    train_time: float = 0.0


def _step(model: Any, batch: dict[str, Any], optim: Any, sched: Any, max_grad_norm: float,
          autocast: Callable[[], Any]) -> float:
    import torch

    with autocast():
        loss, _logits, _gold = mlm_loss(model, batch)
    optim.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), max_grad_norm)
    optim.step()
    sched.step()
    return float(loss.detach())


def train_mlm(cfg: PretrainConfig, model: Any, train_ids: list[Any], held_batches: list[dict[str, Any]],
              collator: Any, plan: TrainingPlan, device: Any, autocast: Callable[[], Any], width: int, *,
              progress: Callable[[int, int, float], None] | None, say: Callable[[str], None],
              checkpoint: Checkpoint | None = None) -> tuple[LoopResult, dict[str, float]]:
    """Run ``plan.total`` optimisation steps; the loop's record and the final held-out evaluation.

    ``checkpoint``: its loaded state (if any) is restored first and the loop goes on from the step after
    it; it saves every ``checkpoint.every`` steps (:mod:`serendip.models.pretrain.checkpoint`).

    ``width``: the most tokens a padded batch may have. Batches are full: the sequences are shuffled (seeded) and an epoch's remainder opens the next one.

    Raises
    ------
    DataError
        The training loss is not finite (the message suggests a lower ``training.lr``).
    """
    import torch

    pad_id = collator.tokenizer.pad_token_id
    special_ids = torch.tensor(sorted(set(collator.tokenizer.all_special_ids)), dtype=torch.long)
    optim, sched = make_plan_optimizer(model, plan, cfg.training.weight_decay)
    shuffle = torch.Generator().manual_seed(cfg.training.seed)
    order: list[int] = []
    run = LoopResult()
    done = 0
    if checkpoint is not None:
        done, order = checkpoint.restore(model, optim, sched, shuffle, collator, run)
        if done:
            say(f"resumed after step {done} of {plan.total} ({checkpoint.path})")
    model.train()
    for step in range(done + 1, plan.total + 1):
        if step == done + 1 or step == plan.head_steps + 1:
            set_head_phase(model, plan, step)
        while len(order) < plan.batch_size:
            order += torch.randperm(len(train_ids), generator=shuffle).tolist()
        picked, order = order[:plan.batch_size], order[plan.batch_size:]
        t0 = time.perf_counter()
        batch = make_batch([train_ids[i] for i in picked], pad_id, special_ids, collator, width)
        batch = {k: v.to(device) for k, v in batch.items()}
        value = _step(model, batch, optim, sched, cfg.training.max_grad_norm, autocast)
        if device.type == "cuda":
            torch.cuda.synchronize()
        run.train_time += time.perf_counter() - t0
        run.tokens_seen += int(batch["attention_mask"].sum())
        if not math.isfinite(value):
            raise DataError(f"training loss became {value} at step {step}; lower training.lr")
        run.losses.append(value)
        if progress is not None:
            progress(step, plan.total, value)
        if step % cfg.training.eval_every == 0 and step != plan.total:
            _evaluate(model, held_batches, device, step, autocast, run, say)
        if checkpoint is not None and checkpoint.due(step, plan.total):
            checkpoint.save(step, model, optim, sched, shuffle, order, collator, run)
    return run, _evaluate(model, held_batches, device, plan.total, autocast, run, say)


def _evaluate(model: Any, batches: list[dict[str, Any]], device: Any, step: int, autocast: Callable[[], Any],
              run: LoopResult, say: Callable[[str], None]) -> dict[str, float]:
    row = evaluate_heldout(model, batches, device, step, autocast)
    if row:
        say(f"held-out at step {step}: loss {row['loss']:.4f}, accuracy {row['accuracy']:.4f}, "
            f"perplexity {row['perplexity']:.2f}")
        run.evals.append(row)
    return row
