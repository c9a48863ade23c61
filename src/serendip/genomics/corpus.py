"""DNA pre-training corpora: genomes cut into windows, registered as ``PRETRAIN_CORPORA["dna"]``.

Records (FASTA/FASTQ, or a table column of sequences) are cut into windows of ``windows.length`` bp
every ``windows.stride`` bp (:func:`dna_windows`); windows with more than ``windows.max_ambiguous``
of non-ACGT bases are dropped (:func:`count_ambiguous`); with ``windows.reverse_complement`` each
window's reverse complement is added. Held out: the last ``data.heldout`` fraction of every record
long enough for two windows (both strands; windows never cross the cut), or whole short records
drawn with that probability. The options live in the config's ``[windows]`` table
(:class:`WindowsSection`).
"""
from __future__ import annotations

import math
import random
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import Field

from serendip.core.config import StrictModel
from serendip.errors import ConfigError
from serendip.genomics.revcomp import reverse_complement
from serendip.models.pretrain.corpus import (
    CorpusKind,
    CorpusSplit,
    encode_sequences,
    read_documents,
)
from serendip.models.registries import DATA_READERS, PRETRAIN_CORPORA

if TYPE_CHECKING:
    from serendip.models.pretrain.config import PretrainConfig

__all__ = ["DnaCorpus", "WindowsSection", "count_ambiguous", "dna_windows"]


Items = list[tuple[str, str]]


class WindowsSection(StrictModel):
    """How DNA records are cut into training windows (lengths in bp)."""

    length: int = Field(512, ge=8)
    stride: int | None = Field(None, ge=1)  # None: = length (adjacent windows)
    reverse_complement: bool = True
    max_ambiguous: float = Field(0.5, ge=0.0, le=1.0)  # drop windows with more non-ACGT than this


def count_ambiguous(window: str) -> int:
    """Number of characters of ``window`` other than A, C, G, T (any case)."""
    up = window.upper()
    return len(up) - sum(up.count(c) for c in "ACGT")


def dna_windows(seq: str, length: int, stride: int) -> list[str]:
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


class DnaCorpus(CorpusKind):
    """Genomes cut into windows (see the module docstring); tokenizer ``kmer`` by default."""

    name = "dna"
    default_tokenizer = "kmer"
    options_model = WindowsSection
    bpe_alphabet = "ACGTN"

    def read(self, path: Path, cfg: PretrainConfig, issues: list[str]) -> Items:
        from serendip.genomics.fasta_reader import read_fasta_examples
        from serendip.models.data import format_of_path

        if cfg.data.format is not None:  # given: must be a registered reader (ConfigError otherwise)
            if DATA_READERS.get(cfg.data.format) is not read_fasta_examples:
                return read_documents(path, cfg, issues)
        else:
            # FASTA/FASTQ by declared suffix; a file whose suffix no reader declares is read as FASTA
            # too (genomes come as .fa, .fna, .seq, .dna, ...); a table or .txt as documents
            fmt = format_of_path(path)
            if fmt in DATA_READERS and DATA_READERS.get(fmt) is not read_fasta_examples:
                return read_documents(path, cfg, issues)
        from serendip.genomics.fasta import read_sequences

        records, bad = read_sequences(path)
        issues.extend(str(b) for b in bad)
        return [(f"{path.name}:{r.id}", r.seq) for r in records if r.seq]

    def limit(self, items: Items, cfg: PretrainConfig) -> tuple[Items, dict[str, Any]]:
        if cfg.data.max_bp is None:
            return items, {}
        kept: Items = []
        left = cfg.data.max_bp
        for name, seq in items:
            if left <= 0:
                break
            kept.append((name, seq[:left]))
            left -= len(kept[-1][1])
        return kept, {"max_bp": cfg.data.max_bp, "bp_available": sum(len(s) for _, s in items),
                      "records_available": len(items)}

    def split(self, items: Items, cfg: PretrainConfig, rng: random.Random) -> CorpusSplit:
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
                for win in dna_windows(part, w.length, stride):
                    if count_ambiguous(win) > w.max_ambiguous * len(win):
                        stats["windows_dropped_ambiguous"] += 1
                        continue
                    dest.append(win)
                    if w.reverse_complement:
                        dest.append(reverse_complement(win))
        stats["windows_train"], stats["windows_heldout"] = len(train), len(held)
        stats["heldout_rule"] = (f"last {cfg.data.heldout:.0%} of {cut_records} record(s) (min one window); "
                                 f"{whole_records} short record(s) held out whole")
        return CorpusSplit(train, held, stats)

    def encode(self, tokenizer: Any, corpus: CorpusSplit, cfg: PretrainConfig, max_tokens: int, *,
               continued: bool, say: Callable[[str], None]) -> tuple[list[Any], list[Any]]:
        """Windows encoded whole; a window longer than the model's positions is an error for a new
        k-mer model (the config can fix it) and is cut, with a note, otherwise."""
        train_ids, trunc_train = encode_sequences(tokenizer, corpus.train, max_tokens)
        held_ids, trunc_held = encode_sequences(tokenizer, corpus.heldout, max_tokens)
        truncated = trunc_train + trunc_held
        if truncated and cfg.tokenizer_kind() == "kmer" and not continued:
            need = cfg.windows.length - cfg.tokenizer.k + 3
            raise ConfigError(f"windows.length {cfg.windows.length} bp gives {need} k-mer tokens with "
                              f"[CLS]/[SEP], more than model.max_position_embeddings "
                              f"({cfg.model.max_position_embeddings}); shorten the windows or raise it")
        corpus.stats["windows_truncated"] = truncated
        if truncated:
            say(f"note: {truncated:,} window(s) longer than {max_tokens} tokens were cut "
                f"to that length (shorten windows.length to avoid it)")
        return train_ids, held_ids

    def describe(self, cfg: PretrainConfig, stats: dict[str, Any]) -> str:
        limit = (f" (the first {stats['max_bp']:,} of {stats['bp_available']:,} bp)" if "max_bp" in stats else "")
        strands = "both strands" if cfg.windows.reverse_complement else "one strand"
        return (f"data: {stats['records']:,} record(s), {stats['bp']:,} bp{limit} -> "
                f"{stats['windows_train']:,} training / {stats['windows_heldout']:,} held-out windows of "
                f"{cfg.windows.length} bp ({strands}; {stats['windows_dropped_ambiguous']:,} dropped as "
                f"ambiguous); held out: {stats['heldout_rule']}")


PRETRAIN_CORPORA.add("dna", DnaCorpus())
