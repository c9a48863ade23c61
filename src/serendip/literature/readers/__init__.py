"""Readers: one module per file format, registered by name in :data:`READERS`.

A reader is a class with

* ``name: str`` - the format name used by ``serendip ingest --format``;
* ``sniff(path: Path, head: bytes) -> bool`` - whether ``auto`` should pick it (``head`` = first 4 KiB,
  already un-gzipped);
* ``read(path: Path) -> Iterator[Record | ParseIssue]`` - yield every record in file order, and a
  :class:`ParseIssue` (file, 1-based line or record, reason) for each record it must skip; the rest of
  the file is still read. Only a file that cannot be read at all raises :class:`ParseError`.

Readers set ``source_file``, ``source_format``, ``source_index`` (0-based position in file) and, where
the format has lines, ``source_line``.
"""
from __future__ import annotations

import gzip
import importlib
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

from serendip.errors import ConfigError, ParseError
from serendip.literature.record import ParseIssue, Record
from serendip.registry import Registry


class Reader(Protocol):
    name: str

    def sniff(self, path: Path, head: bytes) -> bool: ...

    def read(self, path: Path) -> Iterator[Record | ParseIssue]: ...


READERS: Registry[type] = Registry("format")

# modules that register readers; imported on first use
_READER_MODULES = ["pubmed_xml", "medline_text", "bibtex", "ris", "csv_table", "jsonl", "beir"]
# order in which ``auto`` tries the sniffers (most specific first)
SNIFF_ORDER = ["beir", "pubmed", "medline", "bibtex", "ris", "jsonl", "csv"]
_loaded = False


def _load() -> None:
    global _loaded
    if _loaded:
        return
    for mod in _READER_MODULES:
        try:
            importlib.import_module(f"serendip.literature.readers.{mod}")
        except ModuleNotFoundError as exc:  # a reader module not written yet
            if exc.name != f"serendip.literature.readers.{mod}":
                raise
    _loaded = True


def read_head(path: Path, n: int = 4096) -> bytes:
    """First ``n`` bytes of ``path``, transparently un-gzipped."""
    with open(path, "rb") as fh:
        magic = fh.read(2)
    opener = gzip.open if magic == b"\x1f\x8b" else open
    with opener(path, "rb") as fh:
        return fh.read(n)


def get_reader(fmt: str, path: Path | None = None, options: dict | None = None):
    """Return a reader instance for ``fmt`` (or sniff ``path`` when ``fmt == "auto"``).

    ``options`` are passed to the reader's constructor (e.g. ``{"mapping": {"title": "Headline"}}``
    for CSV).

    Raises :class:`ConfigError` for an unknown format or options the reader does not take,
    :class:`ParseError` when ``auto`` recognises nothing.
    """
    _load()
    if fmt != "auto":
        return _make(READERS.get(fmt), options)
    if path is None:
        raise ConfigError("format 'auto' needs a path to sniff")
    head = b"" if path.is_dir() else read_head(path)
    for name in SNIFF_ORDER:
        if name in READERS:
            reader = READERS.get(name)()
            if reader.sniff(path, head):
                return _make(type(reader), options)
    raise ParseError(
        "could not recognise the format; pass --format with one of: " + ", ".join(READERS.keys()),
        file=str(path),
    )


def _make(cls, options: dict | None):
    if not options:
        return cls()
    try:
        return cls(**options)
    except TypeError:
        raise ConfigError(f"format {cls.name!r} takes no options {sorted(options)}") from None


def formats() -> list[str]:
    _load()
    return READERS.keys()
