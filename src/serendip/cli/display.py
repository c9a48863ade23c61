"""User text made safe to print on a terminal, for display only (stored data is never changed).

Text read from records (titles, sentences, entity names) can hold characters a terminal acts on
instead of showing: C0 and C1 controls (Unicode category ``Cc``: BEL U+0007, ESC U+001B that starts an
ANSI escape sequence, CSI U+009B, DEL U+007F), the bidirectional formatting characters (the Unicode
``Bidi_Control`` property, UAX #9 "Unicode Bidirectional Algorithm": U+061C, U+200E, U+200F,
U+202A-U+202E, U+2066-U+2069; U+202E RIGHT-TO-LEFT OVERRIDE shows a sentence reversed), the line and
paragraph separators (``Zl``, ``Zp``) and lone surrogates (``Cs``, from undecodable bytes). The
"Trojan Source" paper (Boucher & Anderson 2021, CVE-2021-42574) describes the bidi attack. Also the
other invisible format characters (category ``Cf``), which hide text or make two names that look the
same differ: zero-width space, non-joiner and joiner U+200B-U+200D, word joiner U+2060, the invisible
operators U+2061-U+2064, the byte-order mark U+FEFF, the interlinear annotation characters
U+FFF9-U+FFFB and the tag characters U+E0000-U+E007F (the whole block, unassigned ones included), which
can carry a hidden ASCII message. A zero-width joiner or non-joiner inside Persian or Indic words, or an
emoji sequence, is therefore shown as ``\\u200c`` / ``\\u200d`` too: a name that looks the same must read
the same. Two kinds of ``Cf`` are left as they are, being visible or harmless: U+00AD SOFT HYPHEN
(common in text taken from PDFs; at most a hyphen) and the prepended concatenation marks (the Unicode
``Prepended_Concatenation_Mark`` property: U+0600-U+0605, U+06DD, U+070F, U+0890, U+0891, U+08E2,
U+110BD, U+110CD), visible signs drawn over the digits that follow.

:func:`visible` writes each such character as a visible escape (``\\x07``, ``\\x1b``, ``\\u202e``), as
Python's ``repr`` does; :func:`json_line` writes JSON with them as ``\\uXXXX`` escapes (the same JSON
value, read back unchanged).
"""
from __future__ import annotations

import json
import re
import unicodedata
from functools import lru_cache

__all__ = ["BIDI_CONTROLS", "HARMLESS_FORMAT", "count", "json_line", "needs_escape", "visible"]

#: The characters of the Unicode ``Bidi_Control`` property (PropList.txt)
BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
#: ``Cf`` characters shown as they are: SOFT HYPHEN and the ``Prepended_Concatenation_Mark`` characters
#: (PropList.txt), visible signs
HARMLESS_FORMAT = frozenset("\u00ad\u0600\u0601\u0602\u0603\u0604\u0605\u06dd\u070f\u0890\u0891\u08e2"
                            "\U000110bd\U000110cd")
_CATEGORIES = frozenset({"Cc", "Zl", "Zp", "Cs", "Cf"})
_ASCII_SAFE = re.compile(r"[\x20-\x7e]*")


@lru_cache(maxsize=4096)
def needs_escape(char: str) -> bool:
    """Whether the one character ``char`` is shown as an escape by :func:`visible`: a control, a bidi
    formatting character, another format character (``Cf``) but those of :data:`HARMLESS_FORMAT`, a
    tag character (U+E0000-U+E007F), a line or paragraph separator or a lone surrogate (the module
    docstring)."""
    if char in BIDI_CONTROLS or 0xE0000 <= ord(char) <= 0xE007F:
        return True
    return char not in HARMLESS_FORMAT and unicodedata.category(char) in _CATEGORIES


def _escape(char: str) -> str:
    code = ord(char)
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def visible(text: object, keep: str = "") -> str:
    """``str(text)`` with every character of :func:`needs_escape` written as a visible escape:
    ``\\xHH`` below U+0100 (``"\\x1b"`` for ESC), ``\\uHHHH`` below U+10000 (``"\\u202e"``), else
    ``\\UHHHHHHHH`` (``"\\U000e0041"``, a tag character), as Python writes them; the characters of
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


def json_line(value: object, default=None) -> str:
    """``value`` as one line of JSON (``ensure_ascii=False``: other text as written; ``default`` as
    :func:`json.dumps` takes it, e.g. ``str`` for dates), with every
    character of :func:`needs_escape` as a ``\\uHHHH`` escape (a surrogate pair beyond U+FFFF), so
    printing it cannot drive the terminal; ``json.loads`` gives back the same value."""
    text = json.dumps(value, ensure_ascii=False, default=default)
    if _ASCII_SAFE.fullmatch(text):
        return text
    return "".join(_json_escape(c) if needs_escape(c) else c for c in text)


def _json_escape(char: str) -> str:
    code = ord(char)
    if code < 0x10000:
        return f"\\u{code:04x}"
    code -= 0x10000  # JSON writes a character beyond U+FFFF as its UTF-16 surrogate pair (RFC 8259 §7)
    return f"\\u{0xd800 + (code >> 10):04x}\\u{0xdc00 + (code & 0x3ff):04x}"


def count(n: int, singular: str, plural: str | None = None) -> str:
    """``n`` with thousands separators and its noun agreeing: ``count(1, "record")`` is ``"1 record"``,
    ``count(2048, "entity", "entities")`` ``"2,048 entities"`` (``plural`` None: ``singular + "s"``)."""
    return f"{n:,} {singular if n == 1 else plural or singular + 's'}"
