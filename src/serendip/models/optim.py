"""The one optimiser and learning-rate schedule of the engine (fine-tuning and pre-training).

AdamW [loshchilov2019]_ with decoupled weight decay on weight matrices only (no decay on biases,
LayerNorm weights and other 1-D parameters, as in BERT [devlin2019]_), and a linear schedule: the
rate rises linearly from 0 over ``warmup_steps`` optimiser steps, then falls linearly to 0 at
``total_steps`` - the rule of ``transformers.get_linear_schedule_with_warmup``.

References
----------
.. [loshchilov2019] Loshchilov & Hutter, "Decoupled Weight Decay Regularization", ICLR 2019.
.. [devlin2019] Devlin et al., "BERT", NAACL 2019 (weight-decay exclusions of the reference code).
"""
from __future__ import annotations

from typing import Any

__all__ = ["linear_warmup_factor", "make_optimizer"]


def linear_warmup_factor(step: int, warmup_steps: int, total_steps: int) -> float:
    """The multiplier of the peak learning rate at optimiser step ``step`` (0-based).

    ``step / warmup_steps`` during warm-up, then ``(total_steps - step) / (total_steps - warmup_steps)``,
    never below 0. With ``warmup_steps == 0`` the first step runs at the peak rate.
    """
    if warmup_steps and step < warmup_steps:
        return step / warmup_steps
    return max(0.0, (total_steps - step) / max(1, total_steps - warmup_steps))


def _no_decay(name: str, param: Any) -> bool:
    return param.ndim < 2 or "LayerNorm" in name or "layer_norm" in name or name.endswith("bias")


def make_optimizer(model: Any, *, lr: float, weight_decay: float, warmup_steps: int,
                   total_steps: int) -> tuple[Any, Any]:
    """AdamW over ``model``'s trainable parameters and its linear warm-up/decay scheduler.

    Parameters
    ----------
    model : torch.nn.Module
        Only parameters with ``requires_grad`` are optimised (PEFT adapters, a frozen backbone).
    lr : float
        Peak learning rate.
    weight_decay : float
        Decoupled weight decay of the weight matrices (2-D and above, not LayerNorm).
    warmup_steps, total_steps : int
        Optimiser steps of warm-up and in all (see :func:`linear_warmup_factor`).

    Returns
    -------
    (torch.optim.AdamW, torch.optim.lr_scheduler.LambdaLR)
        Call ``scheduler.step()`` after each ``optimizer.step()``.
    """
    import torch

    decay, no_decay = [], []
    for name, param in model.named_parameters():
        if param.requires_grad:
            (no_decay if _no_decay(name, param) else decay).append(param)
    optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": weight_decay},
                                   {"params": no_decay, "weight_decay": 0.0}], lr=lr)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: linear_warmup_factor(step, warmup_steps, total_steps))
    return optimizer, scheduler
