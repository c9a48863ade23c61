"""Streaming, resumable I/O of :func:`serendip.chem.screen.screen_library`: library lines in chunks,
append-only side files, the seen-InChIKey store and the atomic checkpoint.

* :func:`detect_format` reads the first non-blank lines of a SMILES library (``.smi``/``.csv``/
  ``.tsv``/``.txt``, optionally ``.gz``) and decides the delimiter, the header and the SMILES and name
  columns as :func:`serendip.chem.readers.read_smiles_file` does (same rules, same column names).
* :func:`iter_lines` yields ``(line number, byte offset after the line, raw bytes)`` from a byte offset,
  so a resumed run seeks (plain files) or decompresses forward (gzip) to where the checkpoint stopped,
  and memory never holds more than one line of the file.
* :class:`SeenKeys`: 64-bit BLAKE2b digests of the InChIKeys already screened, as a sorted ``uint64``
  array (8 bytes per unique molecule: the one thing that grows with the library) plus a small pending
  set, mirrored to an append-only file. Two distinct InChIKeys share a digest with probability about
  n² / 2⁶⁵ (3 × 10⁻⁸ for 10⁶ molecules).
* :func:`iter_records` turns those lines into :class:`LibraryRecord` s (name, SMILES, or why the line
  cannot be one), counting blank and header lines.
* :func:`write_json_atomic`: write to a temporary file, ``fsync``, ``os.replace`` (POSIX rename is atomic),
  so a kill leaves the previous checkpoint or the new one, never half of one.
* :func:`lock_folder`: an exclusive ``flock`` on ``out/.screen.lock``, so two runs never write one output
  folder; the kernel drops it when the holder dies, so a killed run's folder resumes unhindered.
"""
from __future__ import annotations

import fcntl
import gzip
import hashlib
import json
import os
import zlib
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from serendip.chem.readers import (
    NAME_NAMES,
    SMILES_NAMES,
    _parses,
    _pick,
    _sniff_delimiter,
    _split,
)
from serendip.errors import ConfigError, DataError

__all__ = ["LOCK_NAME", "LibraryRecord", "LineFormat", "SeenKeys", "detect_format", "file_identity",
           "iter_lines", "iter_records", "lock_folder", "open_library", "text_size", "truncate_to",
           "write_json_atomic"]

_SDF = (".sdf", ".sd", ".mol")


def open_library(path: Path):
    """The file opened for reading bytes (gzip-decompressed when its name ends in ``.gz``).

    Raises
    ------
    DataError
        The file cannot be opened; ConfigError: an SDF file (screening reads SMILES libraries).
    """
    name = path.name.lower().removesuffix(".gz")
    if name.endswith(_SDF):
        raise ConfigError(f"{path}: screening reads SMILES libraries (.smi, .csv, .tsv, .txt, optionally .gz); "
                          f"convert the SDF to SMILES first")
    try:
        return gzip.open(path, "rb") if path.name.lower().endswith(".gz") else path.open("rb")
    except OSError as exc:
        raise DataError(f"{path}: cannot read ({exc.strerror or exc})") from None


@dataclass
class LineFormat:
    """How a library file's lines are split: ``delimiter``, the 1-based ``header_line`` (0: none),
    ``smiles_idx`` and ``name_idx`` (None: no name column) as 0-based field numbers."""

    delimiter: str
    header_line: int
    smiles_idx: int
    name_idx: int | None

    def to_json(self) -> dict:
        return asdict(self)


def _decode(raw: bytes, first: bool) -> str:
    text = raw.decode("utf-8")
    return text.removeprefix("\ufeff") if first else text


def detect_format(path: Path, *, smiles_column: str | None = None, name_column: str | None = None,
                  sample: int = 50) -> LineFormat | None:
    """The :class:`LineFormat` of ``path`` from its first ``sample`` non-blank lines (None: no non-blank line).

    Rules (those of :func:`~serendip.chem.readers.read_smiles_file`): tab if the first non-blank line
    holds one, else comma if it does, else whitespace; a header when one of its fields is a SMILES column
    name (:data:`~serendip.chem.readers.SMILES_NAMES`) or ``smiles_column`` is given; without a header the
    SMILES is field 1, or field 2 when on the first line where exactly one of the first two fields parses
    as SMILES it is the second.

    Raises
    ------
    DataError
        Unreadable file, a header without a SMILES column, a named column missing, or the first lines
        not UTF-8 (names the line).
    """
    head: list[tuple[int, str]] = []
    try:
        return _detect(path, head, sample, smiles_column, name_column)
    except (EOFError, zlib.error) as exc:
        raise DataError(f"{path}: the gzip file is truncated or damaged ({exc}); nothing was screened") from None
    except OSError as exc:
        raise DataError(f"{path}: cannot read ({exc})") from None


def _detect(path: Path, head: list, sample: int, smiles_column, name_column):
    with open_library(path) as fh:
        for lineno, raw in enumerate(fh, 1):
            try:
                text = _decode(raw, lineno == 1).rstrip("\r\n")
            except UnicodeDecodeError:
                raise DataError(f"{path}, line {lineno}: not UTF-8 text in the first lines, so the format "
                                f"cannot be read") from None
            if text.strip():
                head.append((lineno, text))
            if len(head) >= sample:
                break
    if not head:
        return None
    delim = _sniff_delimiter(head[0][1])
    first = [f.strip() for f in _split(head[0][1], delim)]
    if smiles_column is not None or any(f.lower() in SMILES_NAMES for f in first):
        smi_idx = _pick(first, smiles_column, SMILES_NAMES, "SMILES", path)
        if smi_idx is None:
            raise DataError(f"{path}: no SMILES column in the header ({', '.join(first)}); name it with smiles_column")
        return LineFormat(delim, head[0][0], smi_idx, _pick(first, name_column, NAME_NAMES, "name", path))
    if name_column is not None:
        raise DataError(f"{path}: name_column {name_column!r} needs a header line; the file has none")
    name_first = False
    for _, text in head:
        fields = [f.strip() for f in _split(text, delim)]
        if len(fields) >= 2 and _parses(fields[0]) != _parses(fields[1]):
            name_first = _parses(fields[1])
            break
    return LineFormat(delim, 0, 1, 0) if name_first else LineFormat(delim, 0, 0, 1)


def iter_lines(path: Path, offset: int = 0, line: int = 0) -> Iterator[tuple[int, int, bytes]]:
    """``(line number, byte offset just past the line, raw line bytes)`` from byte ``offset`` (of the
    decompressed text), numbering lines after ``line`` (the number of lines before ``offset``)."""
    with open_library(path) as fh:
        try:
            if offset:
                fh.seek(offset)
            for raw in fh:
                line += 1
                offset += len(raw)
                yield line, offset, raw
        except (EOFError, OSError, zlib.error) as exc:
            raise DataError(f"{path}: the gzip file is truncated or damaged after line {line} ({exc}); the lines "
                            f"before it were screened and checkpointed") from None


def file_identity(path: Path) -> dict:
    """``{"path", "size", "mtime_ns"}`` of a library file: a resumed run refuses a file that changed."""
    try:
        st = path.stat()
    except OSError as exc:
        raise DataError(f"{path}: cannot read ({exc.strerror or exc})") from None
    return {"path": str(path), "size": st.st_size, "mtime_ns": st.st_mtime_ns}


def text_size(path: Path) -> int:
    """Bytes of the file's text: its size, or for ``.gz`` the uncompressed size gzip's trailer records
    (modulo 2³², of the last member: an estimate for progress only)."""
    size = path.stat().st_size
    if not path.name.lower().endswith(".gz") or size < 18:
        return size
    with path.open("rb") as fh:
        fh.seek(-4, os.SEEK_END)
        return int.from_bytes(fh.read(4), "little")


def write_json_atomic(path: Path, obj: dict) -> None:
    """Write ``obj`` as JSON to ``path`` through a temporary file, ``fsync`` and ``os.replace``."""
    tmp = path.with_name(f".{path.name}.tmp")
    with tmp.open("w", encoding="utf-8") as fh:
        json.dump(obj, fh)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def truncate_to(path: Path, size: int) -> None:
    """Cut an append-only file back to ``size`` bytes (what the checkpoint recorded).

    Raises
    ------
    DataError
        The file is missing or shorter than recorded (the output folder was tampered with).
    """
    if not path.is_file() or path.stat().st_size < size:
        raise DataError(f"{path}: shorter than the checkpoint records ({size} bytes); the output folder was "
                        f"changed; screen again without resuming")
    with path.open("r+b") as fh:
        fh.truncate(size)


def key_digest(inchikey: str) -> int:
    """64-bit BLAKE2b digest of an InChIKey, as an int (stable across processes, unlike ``hash``)."""
    return int.from_bytes(hashlib.blake2b(inchikey.encode(), digest_size=8).digest(), "little")


class SeenKeys:
    """The set of InChIKey digests screened so far (:func:`key_digest`), mirrored to ``path``.

    Memory: 8 bytes per unique molecule in a sorted ``uint64`` array, plus at most ``pending`` Python
    ints; ``add`` appends to the file (flushed by :meth:`flush`), whose size the checkpoint records."""

    def __init__(self, path: Path, size: int = 0, pending: int = 65536):
        self.path, self.pending_max = path, pending
        if size:
            truncate_to(path, size)
            self._main = np.sort(np.fromfile(path, dtype="<u8"))
        else:
            path.write_bytes(b"")
            self._main = np.zeros(0, dtype="<u8")
        self._pending: set[int] = set()
        self._new: list[int] = []

    def __contains__(self, digest: int) -> bool:
        if digest in self._pending:
            return True
        i = int(np.searchsorted(self._main, np.uint64(digest)))
        return i < len(self._main) and int(self._main[i]) == digest

    def add(self, digest: int) -> None:
        self._pending.add(digest)
        self._new.append(digest)
        if len(self._pending) >= self.pending_max:
            self._main = np.sort(np.concatenate([self._main, np.fromiter(self._pending, "<u8")]), kind="stable")
            self._pending.clear()

    def flush(self) -> int:
        """Append the digests added since the last flush to the file; returns the file's size in bytes."""
        with self.path.open("ab") as fh:
            np.asarray(self._new, dtype="<u8").tofile(fh)
            fh.flush()
            os.fsync(fh.fileno())
        self._new = []
        return self.path.stat().st_size

    def __len__(self) -> int:
        return len(self._main) + len(self._pending)


@dataclass
class LibraryRecord:
    """One record line of a library: ``file`` (0-based index in the run's file list), 1-based ``line``,
    ``name`` and ``smiles`` (may be empty), and ``error`` (why the line holds no SMILES; None: it does)."""

    file: int
    line: int
    name: str
    smiles: str
    error: str | None = None


def iter_records(path: Path, fmt: LineFormat | None, state: dict, file_idx: int, counts: dict
                 ) -> Iterator[tuple[LibraryRecord, int, int]]:
    """``(record, byte offset after its line, line number)`` of the file ``path`` (number ``file_idx`` of
    the run), from the checkpoint ``state``'s ``offset``/``line`` when it stopped in this file. Adds to
    ``counts`` every ``lines``, ``blank``, ``header`` and ``records`` line; a line that is not UTF-8 or lacks
    the SMILES field is a record with its ``error``. Raises DataError as :func:`iter_lines`."""
    start = (state["offset"], state["line"]) if state["file"] == file_idx else (0, 0)
    for lineno, offset, raw in iter_lines(path, *start):
        counts["lines"] += 1
        if fmt is None:  # detect_format found no non-blank line: every line is blank
            counts["blank"] += 1
            continue
        try:
            text = raw.decode("utf-8").rstrip("\r\n")
        except UnicodeDecodeError as exc:
            counts["records"] += 1
            err = f"not UTF-8 text (byte {exc.start + 1} of the line)"
            yield LibraryRecord(file_idx, lineno, "", "", err), offset, lineno
            continue
        if lineno == 1:
            text = text.removeprefix("\ufeff")
        if not text.strip():
            counts["blank"] += 1
            continue
        if lineno == fmt.header_line:
            counts["header"] += 1
            continue
        counts["records"] += 1
        fields = [f.strip() for f in _split(text, fmt.delimiter)]
        name = fields[fmt.name_idx] if fmt.name_idx is not None and fmt.name_idx < len(fields) else ""
        if len(fields) <= fmt.smiles_idx:
            err = f"{len(fields)} field(s), the SMILES is field {fmt.smiles_idx + 1}"
            yield LibraryRecord(file_idx, lineno, name, "", err), offset, lineno
            continue
        yield LibraryRecord(file_idx, lineno, name, fields[fmt.smiles_idx]), offset, lineno


#: The lock file of a screening output folder (:func:`lock_folder`)
LOCK_NAME = ".screen.lock"


def lock_folder(out: Path):
    """Take the exclusive lock of the screening output folder ``out`` (created if missing): a
    non-blocking ``flock`` on ``out/.screen.lock``, which records the holder's process id. Returns the open
    lock file: closing it (or the process ending, even by SIGKILL) releases the lock; the file stays.

    Raises
    ------
    DataError
        Another process holds the lock (another ``chem screen`` run writes this folder), or the folder
        cannot be created or written (the message names the folder, not the lock file).
    """
    path = out / LOCK_NAME
    try:
        out.mkdir(parents=True, exist_ok=True)
        fh = open(path, "a+")  # noqa: SIM115 - kept open while the lock is held
    except OSError as exc:
        raise DataError(f"cannot write the output folder {out} ({exc.strerror or exc}); give another "
                        f"output folder") from None
    try:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        fh.seek(0)
        holder = fh.read().strip()
        fh.close()
        raise DataError(f"{out}: another screening run is writing this output folder (process "
                        f"{holder or '?'} holds {path}); wait for it to end, or give another output "
                        f"folder") from None
    fh.seek(0)
    fh.truncate()
    fh.write(str(os.getpid()))
    fh.flush()
    return fh
