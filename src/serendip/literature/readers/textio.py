"""Small file helpers shared by the text-format readers."""
from __future__ import annotations

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
