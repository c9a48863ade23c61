"""Held-out evaluation of a masked language model, and the unigram baseline on the same masks.

Held-out masked-token accuracy and perplexity (exp of the mean cross-entropy over masked tokens, in
nats) are measured on fixed masks (the held-out batches are masked once, with their own seed), beside
a unigram baseline: every masked token predicted from the training token frequencies (add-one
smoothed; accuracy of always predicting the most frequent token).
"""
from __future__ import annotations

import contextlib
import math
from collections.abc import Callable
from typing import Any

from serendip.models.pretrain.masking import mlm_loss

__all__ = ["autocast_for", "evaluate_heldout", "unigram_baseline"]


def autocast_for(device: Any, bf16: bool) -> Callable[[], Any]:
    """A no-argument factory of the autocast context: bfloat16 autocast on ``device`` when ``bf16``,
    else a null context."""
    import torch

    def autocast() -> Any:
        if bf16:
            return torch.autocast(device_type=device.type, dtype=torch.bfloat16)
        return contextlib.nullcontext()

    return autocast


def evaluate_heldout(model: Any, batches: list[dict[str, Any]], device: Any, step: int,
                     autocast: Callable[[], Any]) -> dict[str, float]:
    """Mean masked-token cross-entropy (``loss``, nats), ``accuracy``, ``perplexity`` and
    ``masked_tokens`` over ``batches`` at ``step``; {} without batches. Leaves the model in training mode."""
    import torch

    if not batches:
        return {}
    model.eval()
    nll = correct = count = 0.0
    with torch.no_grad(), autocast():
        for b in batches:
            moved = {k: v.to(device) for k, v in b.items()}
            loss, logits, gold = mlm_loss(model, moved)
            n = int(gold.numel())
            nll += float(loss) * n
            correct += int((logits.argmax(-1) == gold).sum())
            count += n
    model.train()
    mean = nll / max(count, 1)
    return {"step": step, "loss": mean, "accuracy": correct / max(count, 1),
            "perplexity": math.exp(min(mean, 50.0)), "masked_tokens": int(count)}


def unigram_baseline(train: list[Any], vocab: int, special: list[int],
                     heldout: list[dict[str, Any]]) -> dict[str, Any]:
    """The unigram baseline on the held-out masks.

    Parameters
    ----------
    train : list of int arrays
        Training token ids.
    vocab : int
        Vocabulary size.
    special : list of int
        Special token ids (never predicted).
    heldout : list of dict
        Masked held-out batches (``labels`` -100 where not masked).

    Returns
    -------
    dict
        ``method``, ``accuracy``, ``perplexity``, ``loss`` (nats); {} without masked tokens.
    """
    import numpy as np

    counts = np.zeros(vocab, dtype=np.float64)
    for a in train:
        counts += np.bincount(a, minlength=vocab)[:vocab]
    counts[special] = 0
    probs = (counts + 1.0) / (counts.sum() + vocab)  # add-one smoothing
    best = int(np.argmax(counts))
    gold = np.concatenate([b["labels"][b["labels"] != -100].numpy() for b in heldout]) if heldout else []
    if len(gold) == 0:
        return {}
    nll = float(-np.log(probs[gold]).mean())
    return {"method": "unigram (training token frequencies, add-one smoothed)",
            "accuracy": float((gold == best).mean()), "perplexity": math.exp(nll), "loss": nll}
