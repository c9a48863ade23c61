"""Readers: one module per file format, each declaring everything about its format in :data:`READERS`.

A reader module registers its class with :func:`register_reader`, which records a
:class:`ReaderSpec`: the format name and aliases, the file suffixes, how ``auto`` tries it, whether
its record ids are identities (for duplicate detection), and a one-line label for help text. Nothing
else lists the formats: ``serendip ingest --format`` choices, auto-sniffing and duplicate detection
read the registry, and every module in this package is imported on first use (except helper modules
whose name starts with ``_``), so a new format is a new module. A module that fails to import raises :class:`ReaderImportError` naming it and why.

A reader class has

* ``name: str`` - the format name (the spec's name);
* ``sniff(path: Path, head: bytes) -> bool`` - the content sniffer: whether ``auto`` should pick it
  (``head`` = first 4 KiB, already un-gzipped and re-encoded as UTF-8 by :func:`read_head`;
  ``path`` may be a folder);
* ``read(path: Path) -> Iterator[Record | ParseIssue]`` - yield every record in file order, and a
  :class:`ParseIssue` (file, 1-based line or record, reason) for each record it must skip; the rest of
  the file is still read. Only a file that cannot be read at all raises :class:`ParseError`;
* constructor keyword arguments = its options (e.g. the CSV column ``mapping``).

Readers set ``source_file``, ``source_format``, ``source_index`` (0-based position in file) and, where
the format has lines, ``source_line``.
"""
from __future__ import annotations

import codecs
import importlib
import inspect
import pkgutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from serendip.core.files import (
    BAD_BYTES_HANDLER,
    SAMPLE_BYTES,
    TextEncoding,
    detect_encoding,
    read_sample,
)
from serendip.core.formats import format_for_path, suffix_map
from serendip.errors import ConfigError, ParseError
from serendip.literature.record import ParseIssue, Record
from serendip.registry import Registry

__all__ = ["READERS", "Reader", "ReaderImportError", "ReaderSpec", "formats", "get_reader",
           "id_keyed_formats", "read_head", "source_id_of", "reader_spec", "reader_specs", "register_reader", "sniff_format"]


class Reader(Protocol):
    name: str

    def sniff(self, path: Path, head: bytes) -> bool: ...

    def read(self, path: Path) -> Iterator[Record | ParseIssue]: ...


class ReaderImportError(ConfigError):
    """A reader module could not be imported: its format would be missing, so nothing is read."""


@dataclass(frozen=True)
class ReaderSpec:
    """Everything about one ingest format, declared by its reader module.

    Attributes
    ----------
    name : str
        The format name (``--format`` choice, ``Record.source_format``).
    reader : type
        The reader class (see the module docstring); its keyword arguments are its options.
    label : str
        What the format is, for help text (``"PubMed XML"``).
    aliases : tuple of str
        Other names accepted by ``--format``.
    suffixes : tuple of str
        File suffixes of the format, with the dot, compressed forms included (``".xml.gz"``).
    suffix_is_enough : bool
        Whether a file carrying one of ``suffixes`` is this format even when no content sniffer
        recognises it (a table's header can be anything); otherwise suffixes are informative only.
    priority : int
        ``auto`` tries the content sniffers in increasing priority: the most specific first (a BEIR
        line is also a JSON Lines line).
    id_keyed : bool
        Whether a record's ``source_key`` is an identity, so two records with one key are one record
        (a BEIR ``_id``); a BibTeX citation key is not (case C11).
    id_namespace : str or None
        The prefix of the source id made from an id-keyed record's key (:func:`source_id_of`): None
        for the format name (``"beir:4983"``); ``""`` when the key names its own database, as a Web of
        Science accession ``WOS:000424022700066`` does, so that two layouts of one export (plain text
        and tab-delimited) give one id and the id is shown without a doubled prefix.
    """

    name: str
    reader: type
    label: str
    aliases: tuple[str, ...] = ()
    suffixes: tuple[str, ...] = ()
    suffix_is_enough: bool = False
    priority: int = 50
    id_keyed: bool = False
    id_namespace: str | None = None

    @property
    def options(self) -> tuple[str, ...]:
        """The reader's option names (its constructor's keyword parameters)."""
        return tuple(inspect.signature(self.reader).parameters)

    def sniffs(self, path: Path, head: bytes) -> bool:
        """Whether the reader's content sniffer recognises ``head`` (or the folder ``path``)."""
        return bool(self.reader().sniff(path, head))

    def make(self, options: dict | None = None):
        """A reader instance with ``options``.

        Raises
        ------
        ConfigError
            The reader takes none of (some of) these options.
        """
        if not options:
            return self.reader()
        unknown = sorted(set(options) - set(self.options))
        if unknown:
            raise ConfigError(f"format {self.name!r} takes no options {unknown}")
        return self.reader(**options)


READERS: Registry[ReaderSpec] = Registry("format")
_loaded = False
#: format -> source-id prefix, for the formats that declare one (see ReaderSpec.id_namespace)
_ID_NAMESPACES: dict[str, str] = {}


def register_reader(name: str, *, label: str, aliases: tuple[str, ...] = (),
                    suffixes: tuple[str, ...] = (), suffix_is_enough: bool = False,
                    priority: int = 50, id_keyed: bool = False,
                    id_namespace: str | None = None) -> Callable[[type], type]:
    """Class decorator: register a reader class under ``name`` and ``aliases`` with its
    :class:`ReaderSpec` (see its attributes for the parameters).

    Raises
    ------
    ValueError
        The name, an alias or a suffix is already registered by another format.
    """
    def deco(cls: type) -> type:
        spec = ReaderSpec(name=name, reader=cls, label=label, aliases=tuple(aliases),
                          suffixes=tuple(s.lower() for s in suffixes),
                          suffix_is_enough=suffix_is_enough, priority=priority, id_keyed=id_keyed,
                          id_namespace=id_namespace)
        suffix_map([(s.name, s.suffixes) for s in _unique_specs()] + [(name, spec.suffixes)])
        READERS.register(name, *aliases)(spec)
        if id_namespace is not None:
            _ID_NAMESPACES[name] = id_namespace
        return cls

    return deco


def _reader_modules() -> list[str]:
    return sorted(m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_"))


def _load() -> None:
    """Import every reader module of this package once.

    Raises
    ------
    ReaderImportError
        A module fails to import (a missing dependency, a syntax error...): names it and why.
    """
    global _loaded
    if _loaded:
        return
    for mod in _reader_modules():
        name = f"{__name__}.{mod}"
        try:
            importlib.import_module(name)
        except Exception as exc:  # noqa: BLE001 - any failure: say which module and why
            raise ReaderImportError(
                f"reader module {name} failed to import ({type(exc).__name__}: {exc}); the format it "
                "provides cannot be read until this is fixed (a missing package: reinstall serendip)"
            ) from exc
    _loaded = True


def _unique_specs() -> list[ReaderSpec]:
    seen: dict[str, ReaderSpec] = {}
    for _, spec in READERS.items():
        seen.setdefault(spec.name, spec)
    return sorted(seen.values(), key=lambda s: (s.priority, s.name))


def reader_specs() -> list[ReaderSpec]:
    """Every registered format once (aliases folded), in the order ``auto`` tries them."""
    _load()
    return _unique_specs()


def reader_spec(name: str) -> ReaderSpec:
    """The spec registered as ``name`` (a format or an alias, case-insensitive).

    Raises
    ------
    ConfigError
        An unknown name; the message lists the formats.
    """
    _load()
    return READERS.get(name)


def formats() -> list[str]:
    """Every name ``--format`` accepts (formats and aliases), sorted; ``auto`` not included."""
    _load()
    return READERS.keys()


def id_keyed_formats() -> frozenset[str]:
    """The formats whose record ids are identities (see :attr:`ReaderSpec.id_keyed`)."""
    return frozenset(s.name for s in reader_specs() if s.id_keyed)


def source_id_of(fmt: str, key: str) -> str:
    """The source id (``records.source_id``) of an id-keyed record of format ``fmt`` with ``key``:
    ``"<namespace>:<key>"`` (``"beir:4983"``), or the key alone when its format's namespace is ``""``
    (``"WOS:000424022700066"`` from either Web of Science layout)."""
    namespace = _ID_NAMESPACES.get(fmt, fmt)
    return f"{namespace}:{key}" if namespace else key


def read_head(path: Path, n: int = 4096, encoding: str | TextEncoding | None = None) -> bytes:
    """First ``n`` bytes of ``path`` un-gzipped, as UTF-8: text in another encoding (a byte-order
    mark, UTF-16, a legacy encoding or ``encoding``: :func:`~serendip.core.files.detect_encoding`) is
    decoded and re-encoded, a byte-order mark dropped, an undecodable byte made ``?``, so that
    sniffers compare UTF-8 bytes.

    Raises
    ------
    ParseError
        The file cannot be read, or its text encoding cannot be told.
    """
    sample = read_sample(path, max(n, SAMPLE_BYTES))
    enc = detect_encoding(path, encoding, sample)
    if enc.name == "utf-8":
        return sample[:n]
    decoder = codecs.getincrementaldecoder(enc.name)(errors=BAD_BYTES_HANDLER)
    return decoder.decode(sample, final=False).encode("utf-8", errors="replace")[:n]


def sniff_format(path: Path, encoding: str | None = None) -> ReaderSpec:
    """The format of ``path``: the first content sniffer (by priority) that recognises it, else the
    format whose declared suffix alone is enough (a ``.csv`` file). The sniffers see the head of
    the un-gzipped content as UTF-8 (:func:`read_head`; ``encoding`` is the user's ``--encoding``).

    Raises
    ------
    ParseError
        Nothing recognises the file (the message lists the formats), or the file's text encoding
        cannot be told and no sniffer recognises its raw bytes.
    """
    specs = reader_specs()
    encoding_error: ParseError | None = None
    try:
        head = b"" if path.is_dir() else read_head(path, encoding=encoding)
    except ParseError as exc:  # sniff the raw bytes; say why if nothing recognises them
        encoding_error = exc
        head = read_sample(path, 4096)
    for spec in specs:
        if spec.sniffs(path, head):
            return spec
    by_suffix = format_for_path(path, suffix_map((s.name, s.suffixes) for s in specs if s.suffix_is_enough))
    if by_suffix is not None and not path.is_dir():
        return READERS.get(by_suffix)
    if encoding_error is not None:
        raise encoding_error
    raise ParseError(
        "could not recognise the format; pass --format with one of: " + ", ".join(READERS.keys()),
        file=str(path),
    )


def get_reader(fmt: str, path: Path | None = None, options: dict | None = None):
    """Return a reader instance for ``fmt`` (or sniff ``path`` when ``fmt == "auto"``).

    ``options`` are passed to the reader's constructor (e.g. ``{"mapping": {"title": "Headline"}}``
    for CSV).

    Raises
    ------
    ConfigError
        An unknown format, or options the reader does not take.
    ParseError
        ``auto`` recognises nothing.
    ReaderImportError
        A reader module fails to import.
    """
    _load()
    if fmt != "auto":
        return READERS.get(fmt).make(options)
    if path is None:
        raise ConfigError("format 'auto' needs a path to sniff")
    return sniff_format(Path(path)).make(options)
