"""Masking and the masked-language-model loss.

Masks follow ``transformers.DataCollatorForLanguageModeling`` (Devlin et al., NAACL 2019: 15 % of
tokens chosen, of which 80 % become ``[MASK]``, 10 % a random token, 10 % stay). With the overlapping
k-mer tokenizer a single masked k-mer can be read off its neighbours (they share k - 1 bases), so
masks can be contiguous spans of ``span`` tokens as in DNABERT (Ji et al., Bioinformatics 37:2112,
2021): span starts are drawn with probability ``mlm_probability / span`` and each start masks the
``span`` tokens from it, which masks about ``mlm_probability`` of the tokens.
"""
from __future__ import annotations

import os
from typing import Any

__all__ = ["bucket_size", "make_batch", "make_collator", "mlm_loss"]


def make_collator(tokenizer: Any, mlm_probability: float, span: int, seed: int) -> Any:
    """``DataCollatorForLanguageModeling`` with contiguous span masking when ``span > 1``."""
    import torch
    from transformers import DataCollatorForLanguageModeling

    class SpanMaskingCollator(DataCollatorForLanguageModeling):
        def torch_mask_tokens(self, inputs: Any, special_tokens_mask: Any = None,
                              offset_mapping: Any = None) -> tuple[Any, Any]:
            if span <= 1:
                return super().torch_mask_tokens(inputs, special_tokens_mask=special_tokens_mask,
                                                 offset_mapping=offset_mapping)
            labels = inputs.clone()
            special = special_tokens_mask.bool()
            starts = torch.bernoulli(torch.full(labels.shape, self.mlm_probability / span),
                                     generator=self.generator).bool() & ~special
            masked = starts.clone()
            for offset in range(1, span):
                masked[:, offset:] |= starts[:, :-offset]
            masked &= ~special
            labels[~masked] = -100
            replaced = torch.bernoulli(torch.full(labels.shape, self.mask_replace_prob),
                                       generator=self.generator).bool() & masked
            inputs[replaced] = self.tokenizer.mask_token_id
            scaled = self.random_replace_prob / (1 - self.mask_replace_prob)
            randomised = torch.bernoulli(torch.full(labels.shape, scaled),
                                         generator=self.generator).bool() & masked & ~replaced
            words = torch.randint(len(self.tokenizer), labels.shape, dtype=torch.long, generator=self.generator)
            inputs[randomised] = words[randomised]
            return inputs, labels

    collator = SpanMaskingCollator(tokenizer=tokenizer, mlm_probability=mlm_probability, seed=seed)
    collator.generator = torch.Generator().manual_seed(seed)
    collator._generator_pid = os.getpid()
    return collator


def make_batch(arrays: list[Any], pad_id: int, special_ids: Any, collator: Any, max_width: int) -> dict[str, Any]:
    """Pad (to a multiple of 32 tokens, at most ``max_width``: few distinct shapes), then mask with
    ``collator`` (at least one token per batch is masked)."""
    import numpy as np
    import torch

    longest = max(len(a) for a in arrays)
    width = max(longest, min(-(-longest // 32) * 32, max_width))
    ids = np.full((len(arrays), width), pad_id, dtype=np.int64)
    for i, a in enumerate(arrays):
        ids[i, :len(a)] = a
    input_ids = torch.from_numpy(ids)
    attention = (input_ids != pad_id).long()
    special = torch.isin(input_ids, special_ids)
    masked_inputs, labels = collator.torch_mask_tokens(input_ids.clone(), special_tokens_mask=special)
    if not bool((labels != -100).any()):
        candidates = (~special).nonzero()
        if len(candidates):
            r, c = candidates[int(torch.randint(len(candidates), (1,), generator=collator.generator))]
            labels[r, c] = input_ids[r, c]
            masked_inputs[r, c] = collator.tokenizer.mask_token_id
    return {"input_ids": masked_inputs, "attention_mask": attention,
            "token_type_ids": torch.zeros_like(input_ids), "labels": labels}


def bucket_size(n: int) -> int:
    """``n`` rounded up to a few sizes per octave (at most 25 % more; multiples of 64)."""
    step = max(64, 1 << max(0, n.bit_length() - 3))
    return -(-n // step) * step


def mlm_loss(model: Any, batch: dict[str, Any]) -> tuple[Any, Any, Any]:
    """(mean CE over masked tokens, logits at masked tokens, their labels).

    For BERT the MLM head runs on the masked positions only (the loss of ``BertForMaskedLM``, with
    far less memory), their number padded up to a few bucket sizes with ignored rows: CPU kernels
    are built and cached per tensor shape, so a new shape every step costs time and memory.
    """
    import torch
    import torch.nn.functional as F

    labels = batch["labels"]
    if hasattr(model, "bert") and hasattr(model, "cls"):
        hidden = model.bert(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"],
                            token_type_ids=batch["token_type_ids"])[0]
        flat = labels.reshape(-1)
        idx = (flat != -100).nonzero().squeeze(1)
        n = int(idx.numel())
        pad = bucket_size(n) - n
        gold = flat[idx]
        if pad:
            idx = torch.cat([idx, idx.new_zeros(pad)])
            gold = torch.cat([gold, gold.new_full((pad,), -100)])
        logits = model.cls(hidden.reshape(-1, hidden.shape[-1])[idx])
        loss = F.cross_entropy(logits.float(), gold, ignore_index=-100)
        return loss, logits[:n], gold[:n]
    sel = labels != -100
    logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits[sel]
    gold = labels[sel]
    return F.cross_entropy(logits.float(), gold), logits, gold
