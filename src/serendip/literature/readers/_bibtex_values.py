"""BibTeX value grammar for :mod:`serendip.literature.readers.bibtex`: value expressions (parts joined by
``#``, Patashnik, *BibTeXing*, 1988, §4), macros, LaTeX to Unicode (pylatexenc), names (bibtexparser's
BibTeX name grammar), months and keywords. Kept apart from the reader so each module stays small.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from bibtexparser.middlewares.names import (
    parse_single_name_into_parts,
    split_multiple_persons_names,
)
from pylatexenc.latex2text import LatexNodes2Text

from serendip.literature import normalize as norm
from serendip.literature.record import Author

_MONTH_NAMES = ["january", "february", "march", "april", "may", "june", "july", "august",
                "september", "october", "november", "december"]
#: BibTeX's predefined month macros (plain.bst: ``MACRO {jan} {"January"}`` ...)
_PREDEFINED = {m[:3]: m.capitalize() for m in _MONTH_NAMES}
_MONTHS = {m[:3]: i for i, m in enumerate(_MONTH_NAMES, 1)}
_MACRO_NAME = re.compile(r"[^\s#,={}\"()]+")
_FIELD_START = re.compile(r"([A-Za-z][\w\-:.]*)\s*=")
_LATEX_HINT = re.compile(r"[\\{}$~`]|--|''")
_SUFFIX = re.compile(r"(?:jr|sr|ii|iii|iv|junior|senior|2nd|3rd|4th)\.?", re.I)
_ESCAPED = re.compile(r"\\([_%&#$])")
_URL_MACRO = re.compile(r"\\url\s*")
_BARE = re.compile(r"(?<!\\)([%&])")


_decoder = LatexNodes2Text(math_mode="verbatim", keep_braced_groups=False)


class BibValueError(ValueError):
    """A field value that is not a valid BibTeX value expression (``offset``: where in the value)."""

    def __init__(self, reason: str, offset: int):
        super().__init__(reason)
        self.reason = reason
        self.offset = offset


@dataclass(slots=True)
class _Part:
    kind: str  # "text" (braced, quoted or number) or "macro"
    value: str


def _closing_brace(text: str, i: int) -> int:
    """Index of the ``}`` closing the ``{`` at ``text[i]``."""
    depth = 0
    for j in range(i, len(text)):
        c = text[j]
        if c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0:
                return j
    raise BibValueError("unbalanced braces in value", i)


def _closing_quote(text: str, i: int) -> int:
    """Index of the ``"`` closing the quote at ``text[i]``.

    Quotes inside braces do not count, nor does the umlaut command ``\\"`` ("M\\"uller"): a quote after
    an odd number of backslashes is TeX's accent, as bibtexparser's splitter also reads it.
    """
    depth = 0
    for j in range(i + 1, len(text)):
        c = text[j]
        if c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
        elif c == '"' and depth == 0 and _backslashes_before(text, j) % 2 == 0:
            return j
    raise BibValueError("unterminated quoted value", i)


def _backslashes_before(text: str, j: int) -> int:
    """How many backslashes immediately precede ``text[j]``."""
    n = 0
    while j - n - 1 >= 0 and text[j - n - 1] == "\\":
        n += 1
    return n


def parse_value(text: str) -> list[_Part]:
    """Split a raw BibTeX value expression into its ``#``-separated parts.

    Parameters
    ----------
    text : str
        The value as written after ``field =`` (``{..}``, ``".."``, a number or a macro name, joined
        by ``#``).

    Returns
    -------
    list of _Part
        The parts in order, braces/quotes of each part removed (inner braces kept).

    Raises
    ------
    BibValueError
        The expression is malformed; ``offset`` is where in ``text``. A ``name =`` after a complete
        part means a missing ``,`` between fields.
    """
    parts: list[_Part] = []
    i, n, want_part = 0, len(text), True
    while True:
        while i < n and text[i].isspace():
            i += 1
        if i >= n:
            if want_part:
                raise BibValueError("value ends with '#'" if parts else "empty value", i)
            return parts
        c = text[i]
        if not want_part:
            if c == "#":
                want_part, i = True, i + 1
                continue
            m = _FIELD_START.match(text, i)
            if m:
                raise BibValueError(f'missing "," between fields: unexpected field "{m.group(1)}"', i)
            raise BibValueError(f"unexpected text {text[i:i + 20]!r} after value", i)
        if c == "{":
            j = _closing_brace(text, i)
            parts.append(_Part("text", text[i + 1:j]))
            i = j + 1
        elif c == '"':
            j = _closing_quote(text, i)
            parts.append(_Part("text", text[i + 1:j]))
            i = j + 1
        else:
            m = _MACRO_NAME.match(text, i)
            if not m:
                raise BibValueError(f"unexpected character {c!r} in value", i)
            word = m.group(0)
            parts.append(_Part("text" if word.isdigit() else "macro", word))
            i = m.end()
        want_part = False


def _expand(parts: list[_Part], macros: dict[str, str]) -> str:
    """Concatenate parts, replacing macros (case-insensitive); KeyError names an undefined one."""
    out = []
    for p in parts:
        if p.kind == "macro":
            try:
                out.append(macros[p.value.lower()])
            except KeyError:
                raise KeyError(p.value) from None
        else:
            out.append(p.value)
    return "".join(out)


def latex_to_text(value: str | None) -> str | None:
    """Decode a BibTeX value to plain Unicode: braces removed, accents and dashes converted.

    Parameters
    ----------
    value : str or None
        A resolved field value (macros expanded, outer delimiters removed).

    Returns
    -------
    str or None
        Text with whitespace collapsed; None for None or blank.
    """
    if value is None:
        return None
    if _LATEX_HINT.search(value):
        value = _decoder.latex_to_text(_BARE.sub(r"\\\1", value))
    return norm.collapse_ws(value)


def _strip_braces(value: str | None) -> str | None:
    """Identifiers and URLs: ``\\url``, braces and escapes (``\\_`` -> ``_``) removed, no other
    LaTeX decoding."""
    if value is None:
        return None
    value = _ESCAPED.sub(r"\1", _URL_MACRO.sub("", value))
    return norm.collapse_ws(value.replace("{", "").replace("}", ""))


def _is_one_group(name: str) -> bool:
    name = name.strip()
    if not (name.startswith("{") and name.endswith("}")):
        return False
    try:
        return _closing_brace(name, 0) == len(name) - 1
    except BibValueError:
        return False


def parse_authors(value: str) -> list[Author]:
    """Split a BibTeX ``author`` value on `` and `` into persons and collectives.

    Raises
    ------
    InvalidNameError
        A name bibtexparser's name grammar rejects (e.g. more than two commas).
    """
    authors = []
    for name in split_multiple_persons_names(value):
        if _is_one_group(name):
            authors.append(Author(collective=latex_to_text(name)))
            continue
        parts = parse_single_name_into_parts(name, strict=True)
        first, jr = parts.first, parts.jr
        if jr and _SUFFIX.fullmatch(" ".join(first)) and not _SUFFIX.fullmatch(" ".join(jr)):
            first, jr = jr, first  # Scopus writes "Last, First, Jr." (BibTeX: "Last, Jr, First")
        family = latex_to_text(" ".join(parts.von + parts.last))
        jr_text = latex_to_text(" ".join(jr)) if jr else None
        author = norm.person(family, latex_to_text(" ".join(first)),
                             suffix=norm.name_suffix(jr_text) or jr_text)
        if author.family or author.given or author.initials:
            authors.append(author)
    return authors


def _month(value: str | None) -> int | None:
    if not value:
        return None
    v = value.strip().lower()
    m = re.fullmatch(r"\d{4}-(\d{1,2})(?:-\d{1,2})?", v)  # biblatex date
    if m:
        v = m.group(1)
    if v.isdigit():
        return int(v) if 1 <= int(v) <= 12 else None
    m = re.match(r"([a-z]{3})", v)
    return _MONTHS.get(m.group(1)) if m else None


def _keywords(values: list[str]) -> list[str]:
    out: list[str] = []
    seen: set[str] = set()
    for v in values:
        for kw in re.split(r";" if ";" in v else r",", v):
            kw = latex_to_text(kw)
            if kw and kw.casefold() not in seen:
                seen.add(kw.casefold())
                out.append(kw)
    return out
