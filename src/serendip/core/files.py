"""File helpers written once for every layer: the sha256 of a file and the text opener.

* :func:`sha256_file` - hex sha256 of a file's bytes, hashed at most once per process while the file
  is unchanged (keyed by resolved path, size, mtime and inode).
* :func:`read_text` - a whole text file, UTF-8 with an optional byte-order mark; anything else is a
  :class:`~serendip.errors.ParseError` naming the file and the byte offset.
* :func:`read_text_lenient` / :func:`bad_bytes` - the same, keeping undecodable bytes as lone
  surrogates so a reader can report the lines that hold them and keep the rest.
"""
from __future__ import annotations

import hashlib
import re
import threading
from pathlib import Path

from serendip.errors import ParseError

__all__ = ["bad_bytes", "read_text", "read_text_lenient", "sha256_file"]

_HASHES: dict[tuple[str, int, int, int], str] = {}
_HASH_LOCK = threading.Lock()
_CHUNK = 1 << 20  # 1 MiB


def sha256_file(path: str | Path) -> str:
    """Hex sha256 (64 lower-case characters) of a file's bytes, read in 1 MiB chunks.

    The digest is kept per (resolved path, size, modification time in ns, inode), so a file hashed
    twice in one process is read once, and an edited or replaced file is hashed again.

    Raises
    ------
    OSError
        The file cannot be read (missing, a folder, no permission).
    """
    p = Path(path).resolve()
    st = p.stat()
    key = (str(p), st.st_size, st.st_mtime_ns, st.st_ino)
    with _HASH_LOCK:
        hit = _HASHES.get(key)
    if hit is not None:
        return hit
    digest = hashlib.sha256()
    with p.open("rb") as fh:
        for block in iter(lambda: fh.read(_CHUNK), b""):
            digest.update(block)
    value = digest.hexdigest()
    with _HASH_LOCK:
        _HASHES[key] = value
    return value


def _read_bytes(path: Path) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise ParseError(f"cannot read file: {exc.strerror or exc}", file=str(path)) from None


def read_text(path: str | Path) -> str:
    """The whole file as text: UTF-8, with an optional byte-order mark (removed).

    Raises
    ------
    ParseError
        The file cannot be read, or is not UTF-8 (the message gives the byte offset).
    """
    try:
        return _read_bytes(Path(path)).decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ParseError(f"not UTF-8 text ({exc.reason} at byte {exc.start})", file=str(path)) from None


_BAD_BYTE = re.compile("[\udc80-\udcff]")


def read_text_lenient(path: str | Path) -> str:
    """The whole file as text; bytes that are not UTF-8 become lone surrogates (``surrogateescape``)
    so that a reader can report the lines holding them (see :func:`bad_bytes`) and keep the rest.

    Raises
    ------
    ParseError
        The file cannot be read.
    """
    data = _read_bytes(Path(path))
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    return data.decode("utf-8", errors="surrogateescape")


def bad_bytes(text: str) -> str | None:
    """A description of the first non-UTF-8 byte in ``text`` decoded by :func:`read_text_lenient`,
    e.g. ``"byte 0xE9"``, or None when the text is clean."""
    m = _BAD_BYTE.search(text)
    return None if m is None else f"byte 0x{ord(m.group()) - 0xDC00:02X}"
