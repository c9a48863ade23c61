"""What a file's first bytes say before any decoding: the UTF-16 NUL pattern of text without a
byte-order mark, and the signs of a binary file (a known signature, a NUL byte), so that
:func:`serendip.core.files.detect_encoding` names a binary file as such instead of asking for an
``--encoding``.
"""
from __future__ import annotations

from pathlib import Path

#: the first bytes of a gzip stream (RFC 1952)
GZIP_MAGIC = b"\x1f\x8b"

__all__ = ["GZIP_MAGIC", "binary_reason", "is_gzipped", "utf16_by_nuls"]


def utf16_by_nuls(sample: bytes) -> str | None:
    """``"utf-16-le"`` / ``"utf-16-be"`` when NUL bytes fill the odd / even positions of a text that
    is mostly ASCII in UTF-16 (and almost never the other positions), else None."""
    sample = sample[:len(sample) & ~1]
    if len(sample) < 8:
        return None
    even, odd = sample[0::2].count(0), sample[1::2].count(0)
    half = len(sample) // 2
    if odd > 0.3 * half and even < 0.02 * half:
        return "utf-16-le"
    if even > 0.3 * half and odd < 0.02 * half:
        return "utf-16-be"
    return None


#: file signatures of binary formats researchers hand to ingest by mistake, with what to say
_BINARY_MAGIC = (
    (b"\x89PNG", "a PNG image"), (b"\xff\xd8\xff", "a JPEG image"), (b"GIF8", "a GIF image"),
    (b"%PDF-", "a PDF document"), (b"PK\x03\x04", "a ZIP archive (an .xlsx, .docx or .zip file)"),
    (b"\xd0\xcf\x11\xe0", "an old Office document (.xls, .doc)"), (b"SQLite format 3\x00", "an SQLite database"),
    (b"\x7fELF", "an executable"),
)


def binary_reason(sample: bytes) -> str | None:
    """Why ``sample`` (a file's first bytes, un-gzipped, with no byte-order mark) is not text, or None.

    A known binary signature (PNG, JPEG, GIF, PDF, ZIP/xlsx/docx, OLE2 .xls/.doc, SQLite, ELF) names
    the kind; otherwise a NUL byte outside a UTF-16 pattern (no text encoding Serendip reads puts NUL
    bytes in text) gives its offset.
    """
    for magic, kind in _BINARY_MAGIC:
        if sample.startswith(magic):
            return f"not a text file: {kind}"
    nul = sample.find(b"\x00")
    if nul >= 0 and utf16_by_nuls(sample) is None:
        return f"not a text file (binary content: a NUL byte at byte {nul})"
    return None


def is_gzipped(path: str | Path) -> bool:
    """Whether ``path`` starts with the gzip magic bytes (False when it cannot be read)."""
    try:
        with open(path, "rb") as fh:
            return fh.read(2) == GZIP_MAGIC
    except OSError:
        return False
