"""Small file helpers shared by the text-format readers."""
from __future__ import annotations

import re
from pathlib import Path

from serendip.errors import ParseError


def read_utf8(path: Path) -> str:
    """The whole file as text, UTF-8 with an optional byte-order mark.

    Raises
    ------
    ParseError
        The file cannot be read, or is not UTF-8 (the message gives the byte offset).
    """
    try:
        return Path(path).read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ParseError(f"not UTF-8 text ({exc.reason} at byte {exc.start})", file=str(path)) from None
    except OSError as exc:
        raise ParseError(f"cannot read file: {exc}", file=str(path)) from None


_BAD_BYTE = re.compile("[\udc80-\udcff]")


def read_utf8_lenient(path: Path) -> str:
    """The whole file as text; bytes that are not UTF-8 become lone surrogates (``surrogateescape``)
    so that a reader can report the lines holding them (see :func:`bad_bytes`) and keep the rest.

    Raises
    ------
    ParseError
        The file cannot be read.
    """
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise ParseError(f"cannot read file: {exc}", file=str(path)) from None
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    return data.decode("utf-8", errors="surrogateescape")


def bad_bytes(text: str) -> str | None:
    """A description of the first non-UTF-8 byte in ``text`` decoded by :func:`read_utf8_lenient`,
    e.g. ``"byte 0xE9"``, or None when the text is clean."""
    m = _BAD_BYTE.search(text)
    return None if m is None else f"byte 0x{ord(m.group()) - 0xDC00:02X}"
