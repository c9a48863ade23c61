"""Masked-language-model pre-training of a BERT encoder from scratch (DNA or text).

A minimal config (TOML)::

    kind = "dna"                          # or "text"

    [data]
    inputs = ["ecoli.fna.gz"]             # FASTA/FASTQ (dna); .txt (one document a line), .jsonl,
                                          # .csv, .tsv with data.text_column (text, or dna sequences)
    # dataset = "genomes"                 # or a registered dataset, resolved from the mirror/cache
    # dataset_files = "*ecoli*"

    [windows]                             # dna: genomes are cut into windows
    length = 512                          # bp
    stride = 512                          # bp (default: length, i.e. no overlap)
    reverse_complement = true             # add the reverse-complement strand of every window

    [tokenizer]
    kind = "kmer"                         # a TOKENIZERS name: kmer (dna) | bpe (dna or text)
    k = 6

    [model]
    size = "tiny"                         # tiny | small | base, or explicit dims

    [training]
    max_steps = 500
    batch_size = 16                       # lr: by model size unless set (LEARNING_RATES)

    [output]
    dir = "pretrained/dna-tiny"

:func:`pretrain` trains ``transformers.BertForMaskedLM`` from randomly initialised weights (or
continues from a local model folder, ``model.init_from``) with the masking of
``transformers.DataCollatorForLanguageModeling`` (Devlin et al., NAACL 2019: 15 % of tokens chosen,
of which 80 % become ``[MASK]``, 10 % a random token, 10 % stay) in a plain PyTorch loop (AdamW,
linear warm-up then linear decay, gradient clipping at 1.0), seeded throughout so that the same config
gives the same losses on the same machine and library versions.

With the overlapping k-mer tokenizer a single masked k-mer can be read off its neighbours (they share
k - 1 bases), so masks are contiguous spans of k tokens as in DNABERT (Ji et al., Bioinformatics
37:2112, 2021): span starts are drawn with probability ``mlm_probability / k`` and each start masks
the k tokens from it, which masks about ``mlm_probability`` of the tokens and hides one base per
masked k-mer (``training.mask_span``; default k for the k-mer tokenizer, 1 otherwise).

Held-out data: for DNA the last ``data.heldout`` fraction of every record (both strands; windows never
cross the cut), or whole short records (shorter than two windows) drawn with that probability; for
text a seeded sample of documents. Held-out masked-token accuracy and perplexity (exp of the mean
cross-entropy over masked tokens) are measured on fixed masks, beside a unigram baseline (every masked
token predicted from the training token frequencies).

The output folder is a Hugging Face model folder: ``config.json``, ``model.safetensors``, the
tokenizer files and ``pretrain_report.json`` (config, input sha256s, data counts, loss curve, held-out
metrics, baseline, throughput). ``AutoModelForSequenceClassification.from_pretrained(folder)`` loads
it (the k-mer tokenizer loads with :func:`serendip.models.tokenizers.load_tokenizer`).
"""
from __future__ import annotations

import contextlib
import fnmatch
import json
import math
import os
import platform
import random
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError, model_validator

from serendip.core.config import StrictModel
from serendip.core.files import sha256_file
from serendip.errors import ConfigError, DataError
from serendip.models.config import (
    Seed,
    apply_overrides,
    describe_validation_error,
    read_config_file,
    validate_config,
)
from serendip.models.optim import make_optimizer

__all__ = [
    "LEARNING_RATES",
    "SIZES",
    "DataSection",
    "ModelSection",
    "OutputSection",
    "PretrainConfig",
    "PretrainResult",
    "TokenizerSection",
    "TrainingSection",
    "WindowsSection",
    "apply_pretrain_overrides",
    "check_inputs",
    "load_pretrain_config",
    "pretrain",
]

#: Size presets: hidden size, layers, attention heads, feed-forward size. ``base`` is BERT-base
#: (Devlin et al. 2019, 110 M parameters with a 30k vocabulary; DNABERT's size); ``tiny`` trains on a
#: CPU in minutes.
SIZES: dict[str, dict[str, int]] = {
    "tiny": {"hidden_size": 128, "num_hidden_layers": 2, "num_attention_heads": 2, "intermediate_size": 512},
    "small": {"hidden_size": 256, "num_hidden_layers": 4, "num_attention_heads": 4, "intermediate_size": 1024},
    "base": {"hidden_size": 768, "num_hidden_layers": 12, "num_attention_heads": 12, "intermediate_size": 3072},
}

#: Default peak learning rate by size (continued pre-training from ``model.init_from``: 5e-5). tiny:
#: measured - after 300 steps of 16 x 512 bp on E. coli, 2e-3 gave held-out perplexity 2,189 against
#: 3,112 with 5e-4 (unigram baseline 3,566); base: BERT's 1e-4 (Devlin et al. 2019).
LEARNING_RATES: dict[str, float] = {"tiny": 2e-3, "small": 1e-3, "base": 1e-4}

_FASTA_SUFFIXES = {".fa", ".fasta", ".fna", ".ffn", ".frn", ".faa", ".fas", ".fq", ".fastq", ".seq"}
_TEXT_SUFFIXES = {".txt", ".text"}
_TABLE_SUFFIXES = {".csv", ".tsv", ".tab", ".jsonl", ".ndjson"}


_Strict = StrictModel


class DataSection(_Strict):
    """Input files (or a registered dataset) and the held-out split.

    ``format`` None: from the suffix (FASTA/FASTQ suffixes, ``.txt`` one document a line, else a
    :data:`~serendip.models.registries.DATA_READERS` table reader reading ``text_column``).
    ``max_bp`` / ``max_documents``: use only the first so many bases (dna, over all records in order)
    or documents (text) - recorded in the report, never applied silently.
    """

    inputs: list[Path] = Field(default_factory=list)
    dataset: str | None = None
    dataset_files: str = "*"
    format: str | None = None
    text_column: str = "text"
    max_bp: int | None = Field(None, ge=1)
    max_documents: int | None = Field(None, ge=1)
    heldout: float = Field(0.05, ge=0.0, lt=0.5)
    max_heldout_windows: int = Field(256, ge=1)
    block_tokens: int = Field(128, ge=8)  # text: tokens per training block, special tokens included


class WindowsSection(_Strict):
    """How DNA records are cut into training windows (lengths in bp)."""

    length: int = Field(512, ge=8)
    stride: int | None = Field(None, ge=1)  # None: = length (adjacent windows)
    reverse_complement: bool = True
    max_ambiguous: float = Field(0.5, ge=0.0, le=1.0)  # drop windows with more non-ACGT than this


class TokenizerSection(_Strict):
    """A TOKENIZERS name (None: ``kmer`` for dna, ``bpe`` for text) and its options, or a saved
    tokenizer folder (``path``)."""

    kind: str | None = None
    k: int = Field(6, ge=1, le=8)
    vocab_size: int = Field(4096, ge=16)
    min_frequency: int = Field(2, ge=1)
    path: Path | None = None


class ModelSection(_Strict):
    """BERT dimensions: a size preset, each field overridable; or ``init_from`` a local model folder
    (continued pre-training; its tokenizer is used and the dims are ignored)."""

    size: Literal["tiny", "small", "base"] = "tiny"
    hidden_size: int | None = Field(None, ge=8)
    num_hidden_layers: int | None = Field(None, ge=1)
    num_attention_heads: int | None = Field(None, ge=1)
    intermediate_size: int | None = Field(None, ge=8)
    max_position_embeddings: int = Field(512, ge=16)
    dropout: float = Field(0.1, ge=0.0, lt=1.0)
    init_from: Path | None = None

    def dims(self) -> dict[str, int]:
        out = dict(SIZES[self.size])
        for key in out:
            value = getattr(self, key)
            if value is not None:
                out[key] = value
        if out["hidden_size"] % out["num_attention_heads"]:
            raise ConfigError(f"model.hidden_size ({out['hidden_size']}) must be a multiple of "
                              f"model.num_attention_heads ({out['num_attention_heads']})")
        return out


class TrainingSection(_Strict):
    """Optimisation. ``max_steps`` None: ``epochs`` passes over the training windows. ``lr`` is
    AdamW's peak learning rate (None: by model size, :data:`LEARNING_RATES`); ``mask_span`` None: k
    for the k-mer tokenizer, else 1."""

    max_steps: int | None = Field(None, ge=1)
    epochs: float = Field(1.0, gt=0.0)
    batch_size: int = Field(16, ge=1)
    lr: float | None = Field(None, gt=0.0)  # None: LEARNING_RATES[model.size], 5e-5 with init_from
    weight_decay: float = Field(0.01, ge=0.0)
    warmup_ratio: float = Field(0.05, ge=0.0, lt=1.0)
    warmup_steps: int | None = Field(None, ge=0)
    max_grad_norm: float = Field(1.0, gt=0.0)
    mlm_probability: float = Field(0.15, gt=0.0, lt=1.0)
    mask_span: int | None = Field(None, ge=1)
    eval_every: int = Field(100, ge=1)
    seed: Seed = 0
    device: str | None = None  # None: "cuda" if available else "cpu"
    bf16: bool = False  # bfloat16 autocast (GPU)


class OutputSection(_Strict):
    """Where the model folder goes; an existing non-empty folder needs ``overwrite``."""

    dir: Path = Path("pretrained/model")
    overwrite: bool = False


class PretrainConfig(_Strict):
    """A whole pre-training run."""

    kind: Literal["dna", "text"] = "dna"
    data: DataSection = Field(default_factory=DataSection)
    windows: WindowsSection = Field(default_factory=WindowsSection)
    tokenizer: TokenizerSection = Field(default_factory=TokenizerSection)
    model: ModelSection = Field(default_factory=ModelSection)
    training: TrainingSection = Field(default_factory=TrainingSection)
    output: OutputSection = Field(default_factory=OutputSection)

    @model_validator(mode="after")
    def _consistent(self) -> PretrainConfig:
        if self.kind == "text" and (self.tokenizer.kind or "").lower() == "kmer":
            raise ValueError("the kmer tokenizer is for kind='dna'; use tokenizer.kind='bpe' for text")
        return self

    def tokenizer_kind(self) -> str:
        return (self.tokenizer.kind or ("kmer" if self.kind == "dna" else "bpe")).lower()

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (paths as strings), for the report."""
        return self.model_dump(mode="json")


# -- config files, overrides, error messages -------------------------------------------------------
def _describe(exc: ValidationError) -> str:
    return describe_validation_error(exc, PretrainConfig)


def load_pretrain_config(path: str | Path) -> PretrainConfig:
    """Read and validate a pre-training config (``.toml``, or ``.yaml``/``.yml``).

    Relative paths in the file (``data.inputs``, ``tokenizer.path``, ``model.init_from``,
    ``output.dir``) are taken relative to the file's folder.

    Raises
    ------
    ConfigError
        Unreadable file, unknown suffix, a syntax error, an unknown key (a dotted path, with the keys
        allowed there), or a bad value. The message starts with the file path.
    """
    path = Path(path)
    cfg = validate_config(read_config_file(path), str(path), PretrainConfig)
    base = path.resolve().parent

    def rel(p: Path | None) -> Path | None:
        return p if p is None or p.is_absolute() else base / p

    cfg.data.inputs = [rel(p) for p in cfg.data.inputs]
    cfg.tokenizer.path = rel(cfg.tokenizer.path)
    cfg.model.init_from = rel(cfg.model.init_from)
    cfg.output.dir = rel(cfg.output.dir)
    return cfg


def apply_pretrain_overrides(cfg: PretrainConfig, overrides: Sequence[str]) -> PretrainConfig:
    """A new config with ``key=value`` overrides applied (``training.max_steps=200``,
    ``data.inputs=["a.fa", "b.fa"]``, ``model.init_from=null``); values in TOML syntax, else strings
    (see :func:`serendip.models.config.apply_overrides`).

    Raises
    ------
    ConfigError
        A flag without ``=``, an unknown key, or a bad value; the message names the key.
    """
    return apply_overrides(cfg, overrides, example="training.max_steps=200")


# -- results ----------------------------------------------------------------------------------------
@dataclass
class PretrainResult:
    """What :func:`pretrain` did.

    ``losses``: training MLM loss (mean cross-entropy over masked tokens, nats) at every step;
    ``evals``: ``{"step", "loss", "accuracy", "perplexity"}`` on the held-out windows;
    ``final_loss``: the last step's training loss; ``heldout``: the last evaluation (empty without
    held-out data); ``baseline``: the unigram baseline on the same held-out masks.
    """

    output_dir: Path
    steps: int
    final_loss: float
    losses: list[float]
    evals: list[dict[str, float]]
    heldout: dict[str, float]
    baseline: dict[str, Any]
    n_parameters: int
    tokens_seen: int
    steps_per_s: float
    tokens_per_s: float
    wall_s: float
    report: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["output_dir"] = str(self.output_dir)
        return out


# -- data -------------------------------------------------------------------------------------------
def check_inputs(cfg: PretrainConfig) -> list[Path]:
    """The input files of ``cfg`` (``data.inputs``, then the matching files of ``data.dataset``),
    checked to exist, and the output folder checked to be free (cheap; :func:`pretrain` calls it).

    Raises
    ------
    ConfigError
        No input, a missing file, a glob matching no dataset file, an unknown dataset, or an
        existing non-empty output folder without ``output.overwrite``.
    DatasetNotFound
        The dataset is in neither the mirror nor the cache and cannot be downloaded.
    """
    out = Path(cfg.output.dir)
    if out.exists() and (not out.is_dir() or any(out.iterdir())) and not cfg.output.overwrite:
        raise ConfigError(f"{out}: output folder exists and is not empty; choose another output.dir "
                          f"or set output.overwrite=true")
    files = [Path(p) for p in cfg.data.inputs]
    if cfg.data.dataset:
        from serendip.datasets import resolve

        resolved = resolve(cfg.data.dataset)
        chosen = [p for rel, p in sorted(resolved.items())
                  if fnmatch.fnmatch(rel, cfg.data.dataset_files) or fnmatch.fnmatch(Path(rel).name, cfg.data.dataset_files)]
        if not chosen:
            raise ConfigError(f"data.dataset_files {cfg.data.dataset_files!r} matches none of the files of "
                              f"{cfg.data.dataset!r}: {', '.join(sorted(resolved))}")
        files += chosen
    if not files:
        raise ConfigError("no input: set data.inputs (files) or data.dataset (a registered dataset)")
    for p in files:
        if not p.is_file():
            raise ConfigError(f"{p}: input file not found")
    return files


def _suffix(path: Path) -> str:
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] in (".gz", ".bgz"):
        suffixes = suffixes[:-1]
    return suffixes[-1] if suffixes else ""


def _read_strings(path: Path, cfg: PretrainConfig, issues: list[str]) -> list[tuple[str, str]]:
    """(name, sequence or document) pairs of one input file, in file order."""
    fmt = cfg.data.format
    suffix = _suffix(path)
    if fmt is None and suffix in _FASTA_SUFFIXES:
        fmt = "fasta"
    if fmt is None and suffix in _TEXT_SUFFIXES:
        fmt = "txt"
    if fmt is None and cfg.kind == "dna" and suffix not in _TABLE_SUFFIXES:
        fmt = "fasta"
    if fmt in ("fasta", "fastq", "fa", "fna", "fq"):
        from serendip.genomics.fasta import read_sequences

        records, bad = read_sequences(path)
        issues.extend(str(b) for b in bad)
        return [(f"{path.name}:{r.id}", r.seq) for r in records if r.seq]
    if fmt == "txt":
        from serendip.core.files import read_text

        lines = read_text(path).splitlines()
        return [(f"{path.name}:{i}", line.strip()) for i, line in enumerate(lines, 1) if line.strip()]
    from serendip.models.data import read_examples

    found: list[Any] = []
    examples = read_examples(path, fmt, columns={"text": cfg.data.text_column, "label": None}, issues=found)
    issues.extend(str(b) for b in found)
    return [(f"{path.name}:{ex.id or i}", ex.text) for i, ex in enumerate(examples, 1) if ex.text]


def _ambiguous(window: str) -> int:
    up = window.upper()
    return len(up) - sum(up.count(c) for c in "ACGT")


def _windows(seq: str, length: int, stride: int) -> list[str]:
    """Windows of ``length`` every ``stride`` bp, plus one flush with the end when the last window
    stops short of it; a sequence shorter than ``length`` is one window."""
    n = len(seq)
    if n <= length:
        return [seq]
    out = [seq[s:s + length] for s in range(0, n - length + 1, stride)]
    last = ((n - length) // stride) * stride
    if last + length < n:
        out.append(seq[n - length:])
    return out


@dataclass
class _Corpus:
    train: list[str]
    heldout: list[str]
    stats: dict[str, Any]


def _dna_corpus(items: list[tuple[str, str]], cfg: PretrainConfig, rng: random.Random) -> _Corpus:
    from serendip.genomics.revcomp import reverse_complement

    w = cfg.windows
    stride = w.stride or w.length
    train: list[str] = []
    held: list[str] = []
    stats = {"records": len(items), "bp": sum(len(s) for _, s in items), "windows_train": 0,
             "windows_heldout": 0, "windows_dropped_ambiguous": 0, "heldout_rule": ""}
    cut_records = whole_records = 0
    for _name, seq in items:
        if cfg.data.heldout > 0 and len(seq) >= 2 * w.length:
            cut = len(seq) - max(w.length, math.ceil(len(seq) * cfg.data.heldout))
            parts = [(seq[:cut], train), (seq[cut:], held)]
            cut_records += 1
        elif cfg.data.heldout > 0 and rng.random() < cfg.data.heldout:
            parts = [(seq, held)]
            whole_records += 1
        else:
            parts = [(seq, train)]
        for part, dest in parts:
            for win in _windows(part, w.length, stride):
                if _ambiguous(win) > w.max_ambiguous * len(win):
                    stats["windows_dropped_ambiguous"] += 1
                    continue
                dest.append(win)
                if w.reverse_complement:
                    dest.append(reverse_complement(win))
    stats["windows_train"], stats["windows_heldout"] = len(train), len(held)
    stats["heldout_rule"] = (f"last {cfg.data.heldout:.0%} of {cut_records} record(s) (min one window); "
                             f"{whole_records} short record(s) held out whole")
    return _Corpus(train, held, stats)


def _text_corpus(items: list[tuple[str, str]], cfg: PretrainConfig, rng: random.Random) -> _Corpus:
    docs = [s for _, s in items]
    order = list(range(len(docs)))
    rng.shuffle(order)
    n_held = round(len(docs) * cfg.data.heldout)
    if cfg.data.heldout > 0 and len(docs) >= 2:
        n_held = max(1, n_held)
    held_idx = set(order[:n_held])
    train = [d for i, d in enumerate(docs) if i not in held_idx]
    held = [d for i, d in enumerate(docs) if i in held_idx]
    stats = {"documents": len(docs), "characters": sum(len(d) for d in docs),
             "documents_train": len(train), "documents_heldout": len(held),
             "heldout_rule": f"seeded random {cfg.data.heldout:.0%} of documents"}
    return _Corpus(train, held, stats)


def _load_corpus(cfg: PretrainConfig, files: list[Path], rng: random.Random) -> tuple[_Corpus, list[str]]:
    issues: list[str] = []
    items: list[tuple[str, str]] = []
    for path in files:
        items.extend(_read_strings(path, cfg, issues))
    if not items:
        raise DataError(f"no usable sequences or documents in {', '.join(map(str, files))}"
                        + (f" ({len(issues)} skipped; first: {issues[0]})" if issues else ""))
    limits: dict[str, Any] = {}
    if cfg.kind == "dna" and cfg.data.max_bp is not None:
        total = sum(len(s) for _, s in items)
        kept: list[tuple[str, str]] = []
        left = cfg.data.max_bp
        for name, seq in items:
            if left <= 0:
                break
            kept.append((name, seq[:left]))
            left -= len(kept[-1][1])
        limits = {"max_bp": cfg.data.max_bp, "bp_available": total, "records_available": len(items)}
        items = kept
    if cfg.kind == "text" and cfg.data.max_documents is not None:
        limits = {"max_documents": cfg.data.max_documents, "documents_available": len(items)}
        items = items[:cfg.data.max_documents]
    corpus = (_dna_corpus if cfg.kind == "dna" else _text_corpus)(items, cfg, rng)
    corpus.stats.update(limits)
    if not corpus.train:
        raise DataError("no training windows/documents left after the held-out split and filters: "
                        f"{corpus.stats}")
    return corpus, issues


def _encode_windows(tokenizer: Any, texts: list[str], max_tokens: int, batch: int = 256
                    ) -> tuple[list[Any], int]:
    """Token id arrays (int32, with [CLS]/[SEP]) per window; count of windows truncated."""
    import numpy as np

    out: list[Any] = []
    truncated = 0
    fast = getattr(tokenizer, "fast_ids", None)
    for lo in range(0, len(texts), batch):
        chunk = texts[lo:lo + batch]
        enc = fast(chunk) if fast is not None else None
        if enc is None:
            enc = tokenizer(chunk, add_special_tokens=True, truncation=False)["input_ids"]
        for ids in enc:
            if len(ids) > max_tokens:
                truncated += 1
                ids = [*ids[:max_tokens - 1], ids[-1]]
            if len(ids) > 2:
                out.append(np.asarray(ids, dtype=np.int32))
    return out, truncated


def _encode_blocks(tokenizer: Any, docs: list[str], block: int, batch: int = 256) -> list[Any]:
    """Documents tokenized without special tokens, joined with [SEP], cut into blocks of
    ``block - 2`` tokens and wrapped in [CLS] ... [SEP] (the grouping of Hugging Face's run_mlm)."""
    import numpy as np

    stream: list[int] = []
    sep = tokenizer.sep_token_id
    for lo in range(0, len(docs), batch):
        for ids in tokenizer(docs[lo:lo + batch], add_special_tokens=False)["input_ids"]:
            stream.extend(ids)
            stream.append(sep)
    body = block - 2
    out = []
    for lo in range(0, len(stream), body):
        piece = stream[lo:lo + body]
        if len(piece) >= max(4, body // 4) or not out:
            out.append(np.asarray([tokenizer.cls_token_id, *piece, sep], dtype=np.int32))
    return out


# -- masking ----------------------------------------------------------------------------------------
def _make_collator(tokenizer: Any, mlm_probability: float, span: int, seed: int) -> Any:
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


def _batch(arrays: list[Any], pad_id: int, special_ids: Any, collator: Any, max_width: int) -> dict[str, Any]:
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


def _bucket(n: int) -> int:
    """``n`` rounded up to a few sizes per octave (at most 25 % more; multiples of 64)."""
    step = max(64, 1 << max(0, n.bit_length() - 3))
    return -(-n // step) * step


def _mlm_loss(model: Any, batch: dict[str, Any]) -> tuple[Any, Any, Any]:
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
        pad = _bucket(n) - n
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


# -- the run ------------------------------------------------------------------------------------------
def _tokenizer_for(cfg: PretrainConfig, corpus: _Corpus) -> Any:
    from serendip.models.registries import TOKENIZERS
    from serendip.models.tokenizers import load_tokenizer

    if cfg.tokenizer.path is not None:
        return load_tokenizer(cfg.tokenizer.path)
    if cfg.model.init_from is not None:
        return load_tokenizer(cfg.model.init_from)
    factory = TOKENIZERS.get(cfg.tokenizer_kind())
    return factory(corpus.train, kind=cfg.kind, k=cfg.tokenizer.k, vocab_size=cfg.tokenizer.vocab_size,
                   min_frequency=cfg.tokenizer.min_frequency)


def _prepare_output(cfg: PretrainConfig) -> tuple[Path, Path]:
    out = Path(cfg.output.dir)
    partial = out.with_name(out.name + ".partial")
    if partial.exists():
        shutil.rmtree(partial)
    partial.mkdir(parents=True)
    return out, partial


def _unigram_baseline(train: list[Any], vocab: int, special: list[int],
                      heldout: list[dict[str, Any]]) -> dict[str, Any]:
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


def pretrain(cfg: PretrainConfig, progress: Callable[[int, int, float], None] | None = None,
             log: Callable[[str], None] | None = None) -> PretrainResult:
    """Pre-train a BERT masked language model and save it as a Hugging Face model folder.

    Parameters
    ----------
    cfg : PretrainConfig
    progress : callable, optional
        Called after every optimisation step as ``progress(step, total_steps, loss)`` (loss in nats).
    log : callable, optional
        Receives one-line messages about the stages (data, tokenizer, model, evaluations).

    Returns
    -------
    PretrainResult
        Losses, held-out metrics beside the unigram baseline, throughput; the folder is
        ``result.output_dir`` (= ``cfg.output.dir``).

    Raises
    ------
    ConfigError
        No input, a missing file, an unknown tokenizer or dataset, an existing output folder without
        ``overwrite``, windows longer than the model's positions, bad model dims.
    DataError, ParseError
        Unreadable or empty inputs.
    """
    import numpy as np
    import torch

    say = log or (lambda _msg: None)
    t_start = time.perf_counter()
    seed = cfg.training.seed
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    rng = random.Random(seed)

    files = check_inputs(cfg)
    out_dir, partial = _prepare_output(cfg)
    try:
        corpus, issues = _load_corpus(cfg, files, rng)
        say(_describe_data(cfg, corpus.stats))
        tokenizer = _tokenizer_for(cfg, corpus)
        say(f"tokenizer: {type(tokenizer).__name__}, {len(tokenizer)} tokens")
        max_tokens = cfg.model.max_position_embeddings
        init_model = None
        if cfg.model.init_from is not None:
            from transformers import AutoModelForMaskedLM

            init_model = AutoModelForMaskedLM.from_pretrained(str(cfg.model.init_from), local_files_only=True)
            max_tokens = int(init_model.config.max_position_embeddings)
            if init_model.config.model_type in ("roberta", "xlm-roberta", "camembert"):
                max_tokens -= 2  # RoBERTa offsets positions by the padding index
        if cfg.kind == "dna":
            train_ids, trunc_train = _encode_windows(tokenizer, corpus.train, max_tokens)
            held_ids, trunc_held = _encode_windows(tokenizer, corpus.heldout, max_tokens)
            if (trunc_train or trunc_held) and cfg.tokenizer_kind() == "kmer" and init_model is None:
                need = cfg.windows.length - cfg.tokenizer.k + 3
                raise ConfigError(f"windows.length {cfg.windows.length} bp gives {need} k-mer tokens with "
                                  f"[CLS]/[SEP], more than model.max_position_embeddings "
                                  f"({cfg.model.max_position_embeddings}); shorten the windows or raise it")
            corpus.stats["windows_truncated"] = trunc_train + trunc_held
            if trunc_train or trunc_held:
                say(f"note: {trunc_train + trunc_held:,} window(s) longer than {max_tokens} tokens were cut "
                    f"to that length (shorten windows.length to avoid it)")
        else:
            block = min(cfg.data.block_tokens, max_tokens)
            train_ids = _encode_blocks(tokenizer, corpus.train, block)
            held_ids = _encode_blocks(tokenizer, corpus.heldout, block) if corpus.heldout else []
        if not train_ids:
            raise DataError("no training sequence is long enough to give a token")
        if len(held_ids) > cfg.data.max_heldout_windows:
            step = len(held_ids) / cfg.data.max_heldout_windows
            held_ids = [held_ids[int(i * step)] for i in range(cfg.data.max_heldout_windows)]
        corpus.stats.update(train_sequences=len(train_ids), heldout_sequences=len(held_ids),
                            train_tokens=int(sum(len(a) for a in train_ids)))

        # model
        from transformers import BertConfig, BertForMaskedLM

        if init_model is not None:
            model = init_model
            if len(tokenizer) > model.config.vocab_size:
                raise ConfigError(f"{cfg.model.init_from}: tokenizer has {len(tokenizer)} tokens, model "
                                  f"vocabulary {model.config.vocab_size}")
        else:
            dims = cfg.model.dims()
            bert_cfg = BertConfig(vocab_size=len(tokenizer), max_position_embeddings=cfg.model.max_position_embeddings,
                                  hidden_dropout_prob=cfg.model.dropout,
                                  attention_probs_dropout_prob=cfg.model.dropout, type_vocab_size=2,
                                  pad_token_id=tokenizer.pad_token_id, **dims)
            torch.manual_seed(seed)
            model = BertForMaskedLM(bert_cfg)
        device = torch.device(cfg.training.device or ("cuda" if torch.cuda.is_available() else "cpu"))
        model.to(device)
        n_params = sum(p.numel() for p in model.parameters())
        say(f"model: {n_params:,} parameters on {device}")

        span = cfg.training.mask_span or (int(getattr(tokenizer, "k", 1)) if cfg.tokenizer_kind() == "kmer"
                                          or hasattr(tokenizer, "split_kmers") else 1)
        special_ids = torch.tensor(sorted(set(tokenizer.all_special_ids)), dtype=torch.long)
        pad_id = tokenizer.pad_token_id
        collator = _make_collator(tokenizer, cfg.training.mlm_probability, span, seed)
        held_collator = _make_collator(tokenizer, cfg.training.mlm_probability, span, seed + 1)
        bs = cfg.training.batch_size
        width = max_tokens
        held_batches = [_batch(held_ids[i:i + bs], pad_id, special_ids, held_collator, width)
                        for i in range(0, len(held_ids), bs)]
        baseline = _unigram_baseline(train_ids, len(tokenizer), sorted(set(tokenizer.all_special_ids)),
                                     held_batches)

        steps_per_epoch = math.ceil(len(train_ids) / bs)
        total = cfg.training.max_steps or max(1, math.ceil(cfg.training.epochs * steps_per_epoch))
        warmup = (cfg.training.warmup_steps if cfg.training.warmup_steps is not None
                  else int(cfg.training.warmup_ratio * total))
        lr = cfg.training.lr or (5e-5 if cfg.model.init_from is not None else LEARNING_RATES[cfg.model.size])
        optim, sched = make_optimizer(model, lr=lr, weight_decay=cfg.training.weight_decay,
                                      warmup_steps=warmup, total_steps=total)

        def autocast() -> Any:
            if cfg.training.bf16:
                return torch.autocast(device_type=device.type, dtype=torch.bfloat16)
            return contextlib.nullcontext()

        def evaluate(step: int) -> dict[str, float]:
            if not held_batches:
                return {}
            model.eval()
            nll = correct = count = 0.0
            with torch.no_grad(), autocast():
                for b in held_batches:
                    moved = {k: v.to(device) for k, v in b.items()}
                    loss, logits, gold = _mlm_loss(model, moved)
                    n = int(gold.numel())
                    nll += float(loss) * n
                    correct += int((logits.argmax(-1) == gold).sum())
                    count += n
            model.train()
            mean = nll / max(count, 1)
            row = {"step": step, "loss": mean, "accuracy": correct / max(count, 1),
                   "perplexity": math.exp(min(mean, 50.0)), "masked_tokens": int(count)}
            say(f"held-out at step {step}: loss {mean:.4f}, accuracy {row['accuracy']:.4f}, "
                f"perplexity {row['perplexity']:.2f}")
            return row

        shuffle = torch.Generator().manual_seed(seed)
        order: list[int] = []
        losses: list[float] = []
        evals: list[dict[str, float]] = []
        tokens_seen = 0
        train_time = 0.0
        model.train()
        say(f"training: {total} steps of {bs} (≈{total / steps_per_epoch:.2f} epochs), peak lr {lr:g}, "
            f"warm-up {warmup}, mask span {span}")
        for step in range(1, total + 1):
            while len(order) < bs:  # full batches only: an epoch's remainder opens the next one
                order += torch.randperm(len(train_ids), generator=shuffle).tolist()
            picked, order = order[:bs], order[bs:]
            t0 = time.perf_counter()
            batch = _batch([train_ids[i] for i in picked], pad_id, special_ids, collator, width)
            batch = {k: v.to(device) for k, v in batch.items()}
            with autocast():
                loss, _logits, _gold = _mlm_loss(model, batch)
            optim.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.training.max_grad_norm)
            optim.step()
            sched.step()
            value = float(loss.detach())
            if device.type == "cuda":
                torch.cuda.synchronize()
            train_time += time.perf_counter() - t0
            tokens_seen += int(batch["attention_mask"].sum())
            if not math.isfinite(value):
                raise DataError(f"training loss became {value} at step {step}; lower training.lr")
            losses.append(value)
            if progress is not None:
                progress(step, total, value)
            if step % cfg.training.eval_every == 0 and step != total:
                row = evaluate(step)
                if row:
                    evals.append(row)
        final = evaluate(total)
        if final:
            evals.append(final)

        # save
        from transformers.utils import logging as hf_logging

        bars = hf_logging.is_progress_bar_enabled()
        hf_logging.disable_progress_bar()
        try:
            model.save_pretrained(str(partial))
            tokenizer.save_pretrained(str(partial))
        finally:
            if bars:
                hf_logging.enable_progress_bar()
        wall = time.perf_counter() - t_start
        result = PretrainResult(
            output_dir=out_dir, steps=total, final_loss=losses[-1], losses=losses, evals=evals,
            heldout=final, baseline=baseline, n_parameters=n_params, tokens_seen=tokens_seen,
            steps_per_s=total / train_time if train_time else 0.0,
            tokens_per_s=tokens_seen / train_time if train_time else 0.0, wall_s=wall)
        result.report = _report(cfg, files, corpus, issues, tokenizer, model, span, result, device)
        result.report["optimisation"] = {"lr": lr, "warmup_steps": warmup, "batch_size": bs,
                                         "epochs": total / steps_per_epoch}
        (partial / "pretrain_report.json").write_text(json.dumps(result.report, indent=1), encoding="utf-8")
        if out_dir.exists():
            shutil.rmtree(out_dir) if out_dir.is_dir() else out_dir.unlink()
        out_dir.parent.mkdir(parents=True, exist_ok=True)
        os.replace(partial, out_dir)
        say(f"saved {out_dir}")
        return result
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise


def _describe_data(cfg: PretrainConfig, st: dict[str, Any]) -> str:
    """One line about the corpus, for the log."""
    if cfg.kind == "dna":
        limit = (f" (the first {st['max_bp']:,} of {st['bp_available']:,} bp)" if "max_bp" in st else "")
        strands = "both strands" if cfg.windows.reverse_complement else "one strand"
        return (f"data: {st['records']:,} record(s), {st['bp']:,} bp{limit} -> {st['windows_train']:,} "
                f"training / {st['windows_heldout']:,} held-out windows of {cfg.windows.length} bp "
                f"({strands}; {st['windows_dropped_ambiguous']:,} dropped as ambiguous); held out: "
                f"{st['heldout_rule']}")
    limit = (f" (the first {st['max_documents']:,} of {st['documents_available']:,})"
             if "max_documents" in st else "")
    return (f"data: {st['documents']:,} documents{limit} -> {st['documents_train']:,} training / "
            f"{st['documents_heldout']:,} held-out")


def _report(cfg: PretrainConfig, files: list[Path], corpus: _Corpus, issues: list[str], tokenizer: Any,
            model: Any, span: int, result: PretrainResult, device: Any) -> dict[str, Any]:
    import torch
    import transformers

    return {
        "kind": cfg.kind,
        "config": cfg.to_dict(),
        "inputs": [{"path": str(p), "sha256": sha256_file(p), "bytes": p.stat().st_size} for p in files],
        "data": corpus.stats,
        "skipped": {"count": len(issues), "first": issues[:20]},
        "tokenizer": {"class": type(tokenizer).__name__, "kind": cfg.tokenizer_kind(), "size": len(tokenizer),
                      "k": getattr(tokenizer, "k", None)},
        "model": {"architecture": type(model).__name__, "parameters": result.n_parameters,
                  **{k: getattr(model.config, k, None) for k in
                     ("hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size",
                      "max_position_embeddings", "vocab_size")},
                  "init_from": str(cfg.model.init_from) if cfg.model.init_from else None},
        "masking": {"mlm_probability": cfg.training.mlm_probability, "span": span,
                    "replace": "80% [MASK], 10% random, 10% kept"},
        "steps": result.steps,
        "final_loss": result.final_loss,
        "loss_curve": result.losses,
        "heldout_curve": result.evals,
        "heldout": result.heldout,
        "baseline": result.baseline,
        "throughput": {"steps_per_s": result.steps_per_s, "tokens_per_s": result.tokens_per_s,
                       "tokens_seen": result.tokens_seen},
        "wall_s": result.wall_s,
        "seed": cfg.training.seed,
        "device": str(device),
        "hardware": f"{os.cpu_count()} CPU cores" if device.type == "cpu" else torch.cuda.get_device_name(device),
        "versions": {"torch": torch.__version__, "transformers": transformers.__version__,
                     "python": platform.python_version()},
        "date": time.strftime("%Y-%m-%d"),
    }
