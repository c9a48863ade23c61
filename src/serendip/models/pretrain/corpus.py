"""Pre-training corpora: the input files, the corpus kinds of :data:`PRETRAIN_CORPORA`, the ``text`` kind.

A corpus kind is an object registered by name in
:data:`~serendip.models.registries.PRETRAIN_CORPORA` (``text`` here; ``dna`` registered by
:mod:`serendip.genomics`) with the interface of :class:`CorpusKind`: it reads one input file into
``(name, string)`` items, caps them (``data.max_bp`` / ``data.max_documents``), splits them into
training and held-out strings (:class:`CorpusSplit`), encodes those into token id arrays and
describes the result in one line. :func:`load_corpus` runs the first three steps over every file.
"""
from __future__ import annotations

import fnmatch
import random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from serendip.errors import ConfigError, DataError
from serendip.models.registries import PRETRAIN_CORPORA

if TYPE_CHECKING:
    from serendip.models.pretrain.config import PretrainConfig

__all__ = [
    "CorpusKind",
    "CorpusSplit",
    "TextCorpus",
    "check_inputs",
    "encode_blocks",
    "encode_sequences",
    "load_corpus",
    "read_documents",
]

Items = list[tuple[str, str]]


@dataclass
class CorpusSplit:
    """Training and held-out strings (windows or documents) and counts for the report."""

    train: list[str]
    heldout: list[str]
    stats: dict[str, Any]


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
        pattern = cfg.data.dataset_files
        chosen = [p for rel, p in sorted(resolved.items())
                  if fnmatch.fnmatch(rel, pattern) or fnmatch.fnmatch(Path(rel).name, pattern)]
        if not chosen:
            raise ConfigError(f"data.dataset_files {pattern!r} matches none of the files of "
                              f"{cfg.data.dataset!r}: {', '.join(sorted(resolved))}")
        files += chosen
    if not files:
        raise ConfigError("no input: set data.inputs (files) or data.dataset (a registered dataset)")
    for p in files:
        if not p.is_file():
            raise ConfigError(f"{p}: input file not found")
    return files


def read_documents(path: Path, cfg: PretrainConfig, issues: list[str]) -> Items:
    """(name, document) pairs of one file, in file order, read by the :data:`DATA_READERS` reader of
    ``data.format``, else of the file's suffix (:func:`~serendip.models.data.format_of_path`: ``.txt``
    one document a line, a table's ``data.text_column``, a domain's format). Skipped records are
    appended to ``issues`` as strings.

    Raises
    ------
    ConfigError
        No reader for the format or suffix.
    DataError, ParseError
        From the reader.
    """
    from serendip.models.data import _accepted, format_of_path, read_examples
    from serendip.models.registries import DATA_READERS

    fmt = cfg.data.format or format_of_path(path)
    columns = {"text": cfg.data.text_column, "label": None}
    if fmt in DATA_READERS:  # only the columns this reader takes (a .txt file has none)
        columns = _accepted(DATA_READERS.get(fmt), columns)
    found: list[Any] = []
    examples = read_examples(path, cfg.data.format, columns=columns, issues=found)
    issues.extend(str(b) for b in found)
    return [(f"{path.name}:{ex.id or i}", ex.text) for i, ex in enumerate(examples, 1) if ex.text]


def encode_sequences(tokenizer: Any, texts: list[str], max_tokens: int, batch: int = 256
                     ) -> tuple[list[Any], int]:
    """Token id arrays (int32, with [CLS]/[SEP]) per text, cut to ``max_tokens`` (keeping [SEP]),
    and the number of texts so cut. Uses ``tokenizer.fast_ids`` when it has one (NumPy k-mers)."""
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


def encode_blocks(tokenizer: Any, docs: list[str], block: int, batch: int = 256) -> list[Any]:
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


class CorpusKind:
    """Base of a pre-training corpus kind (the interface :func:`pretrain` uses).

    Attributes
    ----------
    name : str
        The ``kind`` of the config.
    default_tokenizer : str
        The TOKENIZERS name used when ``tokenizer.kind`` is not set.
    options_model : pydantic model class or None
        Validates the ``[windows]`` table of the config (None: the table is kept as given, unused).
    bpe_alphabet : str or None
        The closed symbol alphabet a ``bpe`` tokenizer is trained over (``"ACGTN"`` for DNA); None:
        byte-level BPE.
    """

    name: ClassVar[str] = ""
    default_tokenizer: ClassVar[str] = "bpe"
    options_model: ClassVar[Any] = None
    bpe_alphabet: ClassVar[str | None] = None

    def read(self, path: Path, cfg: PretrainConfig, issues: list[str]) -> Items:
        """(name, string) pairs of one input file, in file order."""
        return read_documents(path, cfg, issues)

    def limit(self, items: Items, cfg: PretrainConfig) -> tuple[Items, dict[str, Any]]:
        """The items kept under the config's cap, and what was available (for the report)."""
        return items, {}

    def split(self, items: Items, cfg: PretrainConfig, rng: random.Random) -> CorpusSplit:
        raise NotImplementedError

    def encode(self, tokenizer: Any, corpus: CorpusSplit, cfg: PretrainConfig, max_tokens: int, *,
               continued: bool, say: Callable[[str], None]) -> tuple[list[Any], list[Any]]:
        """Token id arrays (int32) of the training and held-out strings."""
        raise NotImplementedError

    def describe(self, cfg: PretrainConfig, stats: dict[str, Any]) -> str:
        """One line about the corpus, for the log."""
        raise NotImplementedError


class TextCorpus(CorpusKind):
    """Documents (``.txt`` lines, or a table column); a seeded ``data.heldout`` sample is held out,
    and the token stream is cut into blocks of ``data.block_tokens``."""

    name = "text"
    default_tokenizer = "bpe"

    def limit(self, items: Items, cfg: PretrainConfig) -> tuple[Items, dict[str, Any]]:
        if cfg.data.max_documents is None:
            return items, {}
        return (items[:cfg.data.max_documents],
                {"max_documents": cfg.data.max_documents, "documents_available": len(items)})

    def split(self, items: Items, cfg: PretrainConfig, rng: random.Random) -> CorpusSplit:
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
        return CorpusSplit(train, held, stats)

    def encode(self, tokenizer: Any, corpus: CorpusSplit, cfg: PretrainConfig, max_tokens: int, *,
               continued: bool, say: Callable[[str], None]) -> tuple[list[Any], list[Any]]:
        block = min(cfg.data.block_tokens, max_tokens)
        train = encode_blocks(tokenizer, corpus.train, block)
        return train, encode_blocks(tokenizer, corpus.heldout, block) if corpus.heldout else []

    def describe(self, cfg: PretrainConfig, stats: dict[str, Any]) -> str:
        limit = (f" (the first {stats['max_documents']:,} of {stats['documents_available']:,})"
                 if "max_documents" in stats else "")
        return (f"data: {stats['documents']:,} documents{limit} -> {stats['documents_train']:,} "
                f"training / {stats['documents_heldout']:,} held-out")


PRETRAIN_CORPORA.add("text", TextCorpus())


def load_corpus(kind: CorpusKind, cfg: PretrainConfig, files: list[Path], rng: random.Random
                ) -> tuple[CorpusSplit, list[str]]:
    """Read, cap and split the input files with corpus kind ``kind``; also the skipped records.

    Raises
    ------
    DataError
        No usable string in the files, or none left for training after the split and filters.
    """
    issues: list[str] = []
    items: Items = []
    for path in files:
        items.extend(kind.read(path, cfg, issues))
    if not items:
        raise DataError(f"no usable sequences or documents in {', '.join(map(str, files))}"
                        + (f" ({len(issues)} skipped; first: {issues[0]})" if issues else ""))
    items, limits = kind.limit(items, cfg)
    corpus = kind.split(items, cfg, rng)
    corpus.stats.update(limits)
    if not corpus.train:
        raise DataError("no training windows/documents left after the held-out split and filters: "
                        f"{corpus.stats}")
    return corpus, issues
