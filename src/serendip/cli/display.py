"""User text made safe to print on a terminal, for display only (stored data is never changed).

Text read from records (titles, sentences, entity names) can hold characters a terminal acts on
instead of showing: C0 and C1 controls (Unicode category ``Cc``: BEL U+0007, ESC U+001B that starts an
ANSI escape sequence, CSI U+009B, DEL U+007F), the bidirectional formatting characters (the Unicode
``Bidi_Control`` property, UAX #9 "Unicode Bidirectional Algorithm": U+061C, U+200E, U+200F,
U+202A-U+202E, U+2066-U+2069; U+202E RIGHT-TO-LEFT OVERRIDE shows a sentence reversed), the line and
paragraph separators (``Zl``, ``Zp``) and lone surrogates (``Cs``, from undecodable bytes). The
"Trojan Source" paper (Boucher & Anderson 2021, CVE-2021-42574) describes the bidi attack.

:func:`visible` writes each such character as a visible escape (``\\x07``, ``\\x1b``, ``\\u202e``), as
Python's ``repr`` does; :func:`json_line` writes JSON with them as ``\\uXXXX`` escapes (the same JSON
value, read back unchanged).
"""
from __future__ import annotations

import json
import re
import unicodedata
from functools import lru_cache

__all__ = ["BIDI_CONTROLS", "json_line", "needs_escape", "visible"]

#: The characters of the Unicode ``Bidi_Control`` property (PropList.txt)
BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_CATEGORIES = frozenset({"Cc", "Zl", "Zp", "Cs"})
_ASCII_SAFE = re.compile(r"[\x20-\x7e]*")


@lru_cache(maxsize=4096)
def needs_escape(char: str) -> bool:
    """Whether the one character ``char`` is shown as an escape by :func:`visible` (a control, a bidi
    formatting character, a line or paragraph separator or a lone surrogate; the module docstring)."""
    return char in BIDI_CONTROLS or unicodedata.category(char) in _CATEGORIES


def _escape(char: str) -> str:
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def visible(text: object, keep: str = "") -> str:
    """``str(text)`` with every character of :func:`needs_escape` written as a visible escape:
    ``\\xHH`` below U+0100 (``"\\x1b"`` for ESC), else ``\\uHHHH`` (``"\\u202e"``); the characters of
    ``keep`` (e.g. ``"\\n"`` for a message of several lines) are left as they are. Other text, a
    backslash included, is unchanged.

    Examples
    --------
    >>> visible("abc\\u202efed \\x1b[31mred\\x07")
    'abc\\\\u202efed \\\\x1b[31mred\\\\x07'
    """
    text = str(text)
    if _ASCII_SAFE.fullmatch(text):
        return text
    return "".join(_escape(c) if c not in keep and needs_escape(c) else c for c in text)


def json_line(value: object) -> str:
    """``value`` as one line of JSON (``ensure_ascii=False``: other text as written), with every
    character of :func:`needs_escape` as a ``\\uHHHH`` escape, so printing it cannot drive the
    terminal; ``json.loads`` gives back the same value."""
    text = json.dumps(value, ensure_ascii=False)
    if _ASCII_SAFE.fullmatch(text):
        return text
    return "".join(f"\\u{ord(c):04x}" if needs_escape(c) else c for c in text)
