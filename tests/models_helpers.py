"""Shared by the fine-tuning tests: a tiny BERT built on the spot (2 layers, hidden size 32, character
vocabulary) and toy DNA data.

Data: 16-letter DNA strings; label "1" when the string holds GGGG, "0" when it holds no G at all, so
a few epochs separate them. Importable from any test module (``tests/conftest.py`` puts this folder
on ``sys.path``): ``from models_helpers import make_backbone``.
"""
from __future__ import annotations

import csv
import random
from collections.abc import Iterable, Sequence
from pathlib import Path

from serendip.models.config import FineTuneConfig


def make_backbone(folder: Path) -> Path:
    """A randomly initialised 2-layer BERT with a character WordPiece tokenizer (A C G T N)."""
    import torch
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors
    from transformers import BertConfig, BertModel, PreTrainedTokenizerFast

    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    chars = list("ACGTN")
    vocab = {t: i for i, t in enumerate(specials + chars + ["##" + c for c in chars])}
    tok = Tokenizer(models.WordPiece(vocab, unk_token="[UNK]", max_input_chars_per_word=1000))
    tok.normalizer = normalizers.BertNormalizer(lowercase=False)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", 2), ("[SEP]", 3)])
    PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]",
                            cls_token="[CLS]", sep_token="[SEP]",
                            mask_token="[MASK]").save_pretrained(str(folder))
    torch.manual_seed(0)
    cfg = BertConfig(vocab_size=len(vocab), hidden_size=32, num_hidden_layers=2,
                     num_attention_heads=2, intermediate_size=64, max_position_embeddings=64)
    BertModel(cfg).save_pretrained(str(folder))
    return folder


def dna(rng: random.Random, positive: bool, n: int = 16) -> str:
    """``n`` random bases; positive: with GGGG somewhere, else without any G."""
    s = [rng.choice("ACGT") for _ in range(n)]
    if positive:
        i = rng.randrange(0, n - 4)
        s[i:i + 4] = list("GGGG")
    else:
        s = [c if c != "G" else rng.choice("ACT") for c in s]
    return "".join(s)


def write_rows(path: Path, rows: Iterable[Sequence[str]], header: Sequence[str] = ("id", "text", "label")) -> Path:
    """A CSV file with ``header`` and ``rows``."""
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    return path


def write_csv(path: Path, n: int, seed: int = 0, labels: tuple[str, str] = ("0", "1")) -> Path:
    """``n`` toy examples (id, text, label), alternately negative and positive."""
    rng = random.Random(seed)
    return write_rows(path, [[f"s{i}", dna(rng, bool(i % 2)), labels[i % 2]] for i in range(n)])


def config(train: Path, backbone: Path, run_dir: Path, **sections) -> FineTuneConfig:
    """A small binary fine-tuning config; ``sections`` update or add tables."""
    data = {"train": str(train), "split": {"dev": 0.2, "test": 0.2}}
    data.update(sections.pop("data", {}))
    training = {"epochs": 6, "batch_size": 8, "lr": 3e-3, "early_stopping": {"patience": None}}
    training.update(sections.pop("training", {}))
    return FineTuneConfig.model_validate({
        "data": data, "task": sections.pop("task", "binary"), "backbone": str(backbone),
        "training": training, "output": {"run_dir": str(run_dir), "plots": False,
                                         **sections.pop("output", {})},
        **sections})
