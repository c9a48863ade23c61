"""BibTeX reader (``.bib``; Scopus, Web of Science, NASA ADS, Zotero... exports).

bibtexparser v2 splits the file into blocks (entries, ``@string``, comments, failed blocks) and keeps
each field's *raw* value expression (``igr # " Conference"``, ``{...}``, ``"..."``, ``2001``, ``jan``).
The default middlewares are not used because of known faults of bibtexparser 2.1 (see
``shared/cases`` C11, C12):

* ``ResolveStringReferencesMiddleware`` resolves only a bare macro, never a ``#`` concatenation, and
  the month macros ``jan``..``dec`` are not predefined;
* a second entry with an already seen citation key goes to ``failed_blocks`` as
  ``DuplicateBlockKeyBlock`` although it is a different work: it is recovered here as a record;
* a missing ``,`` between two fields is silently merged into the previous value (``Title = {x}\\n
  Journal = {y}``). Every value expression is therefore parsed here (parts separated by ``#``, as in
  BibTeX's own grammar, Patashnik, *BibTeXing*, 1988, §4) and an entry whose value has text after a
  complete part is skipped with a :class:`ParseIssue` naming the line of the unexpected field.

Values are then decoded from LaTeX to Unicode with pylatexenc (as bibtexparser's
``LatexDecodingMiddleware`` does); a bare ``%`` or ``&`` is literal text in a ``.bib`` value (Scopus
abstracts: "60% of"), so it is escaped first instead of starting a LaTeX comment. Names are split with
bibtexparser's BibTeX name grammar (``First von Last``, ``von Last, First``, ``von Last, Jr, First``);
a name that is one brace group (``{Invented Ice Core Collaboration}``) is a collective author.
"""
from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import bibtexparser
from bibtexparser.middlewares.names import (
    InvalidNameError,
    parse_single_name_into_parts,
    split_multiple_persons_names,
)
from bibtexparser.model import (
    DuplicateBlockKeyBlock,
    DuplicateFieldKeyBlock,
    Entry,
    ParsingFailedBlock,
    String,
)
from pylatexenc.latex2text import LatexNodes2Text

from serendip.core import files
from serendip.literature import normalize as norm
from serendip.literature.readers import register_reader
from serendip.literature.record import AbstractSection, Author, ParseIssue, Record

_SNIFF = re.compile(rb"^\s*@\s*\w+\s*[{(]", re.M)
_MONTH_NAMES = ["january", "february", "march", "april", "may", "june", "july", "august",
                "september", "october", "november", "december"]
#: BibTeX's predefined month macros (plain.bst: ``MACRO {jan} {"January"}`` ...)
_PREDEFINED = {m[:3]: m.capitalize() for m in _MONTH_NAMES}
_MONTHS = {m[:3]: i for i, m in enumerate(_MONTH_NAMES, 1)}
_MACRO_NAME = re.compile(r"[^\s#,={}\"()]+")
_FIELD_START = re.compile(r"([A-Za-z][\w\-:.]*)\s*=")
_ENTRY_KEY = re.compile(r"@\s*\w+\s*[{(]\s*([^,\s}]+)")
_LATEX_HINT = re.compile(r"[\\{}$~`]|--|''")
_SUFFIX = re.compile(r"(?:jr|sr|ii|iii|iv|junior|senior|2nd|3rd|4th)\.?", re.I)
_ESCAPED = re.compile(r"\\([_%&#$])")
_URL_MACRO = re.compile(r"\\url\s*")
_BLOCK_TYPE = re.compile(r"\s*@\s*(\w+)")
_NOT_ENTRIES = {"string", "comment", "preamble"}
_BARE = re.compile(r"(?<!\\)([%&])")

#: Record field -> BibTeX fields tried in order (lower-case keys)
_TEXT_FIELDS = {
    "title": ("title",),
    "abstract": ("abstract",),
    "journal": ("journal", "journaltitle", "booktitle"),
    "year": ("year", "date"),
    "month": ("month", "date"),
    "doi": ("doi",),
    "pmid": ("pmid", "pubmed_id", "pubmed"),
    "pmcid": ("pmcid",),
    "language": ("language",),
}
_KEYWORD_FIELDS = ("author_keywords", "keywords")
_EXTRA_FIELDS = ("booktitle", "volume", "number", "pages", "publisher", "url", "issn", "note",
                 "affiliation", "editor")
#: fields whose value is used: one given twice with different values makes the entry ambiguous
_READ_FIELDS = {k for keys in _TEXT_FIELDS.values() for k in keys} | {"author", *_KEYWORD_FIELDS}

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


@register_reader("bibtex", label="BibTeX", aliases=("bib",),
                 suffixes=(".bib", ".bibtex", ".bib.gz", ".bibtex.gz"), priority=40)
class BibTeXReader:
    """Read BibTeX files into :class:`Record` objects (one per ``@entry``); ``encoding``: the file's
    (``--encoding``), None to detect it (:func:`serendip.core.files.detect_encoding`)."""

    name = "bibtex"

    def __init__(self, encoding: str | None = None):
        self.encoding = encoding

    def sniff(self, path: Path, head: bytes) -> bool:
        """True when ``head`` has a line starting with ``@type{`` (or ``@type(``)."""
        return bool(_SNIFF.search(head))

    def read(self, path: Path) -> Iterator[Record | ParseIssue]:
        """Yield each entry as a :class:`Record`, or a :class:`ParseIssue` for an entry skipped.

        Parameters
        ----------
        path : Path
            A ``.bib`` file, plain or gzip-compressed (by its magic bytes), in any encoding
            :func:`~serendip.core.files.detect_encoding` finds or ``encoding`` names.

        Yields
        ------
        Record or ParseIssue
            Records in file order. ``source_key`` is the citation key (not an identity: two entries
            with one key are two records), ``source_line`` the 1-based line of ``@type{``,
            ``source_index`` the 0-based position among entries. Skipped with an issue: an entry
            bibtexparser cannot split, a missing ``,`` between fields, an undefined ``@string`` macro
            in a field that is read (in an informational field such as ``publisher`` it is listed in
            ``extra["undefined_macros"]`` instead), one read field given twice with different values,
            an author name that cannot be parsed, bytes the file's encoding cannot decode.

        Raises
        ------
        ParseError
            The file cannot be read, or its encoding cannot be told (the message suggests
            ``--encoding``).
        """
        file = str(path)
        encoding = files.detect_encoding(path, self.encoding)
        text = files.read_text_lenient(path, encoding)  # entries with undecodable bytes are reported
        library = bibtexparser.parse_string(text, parse_stack=[])
        macros, bad_strings = self._macros(library.blocks, file)
        index = 0
        for block in library.blocks:
            if isinstance(block, (DuplicateBlockKeyBlock, DuplicateFieldKeyBlock)) and isinstance(
                    block.ignore_error_block, (Entry, String)):
                # same key, different work: keep it; a repeated field is checked in _entry
                block = block.ignore_error_block
            if isinstance(block, String) and id(block) in bad_strings:
                yield bad_strings[id(block)]
            elif isinstance(block, Entry):
                bad = files.bad_text_reason(block.raw or "", encoding)
                line = None if block.start_line is None else block.start_line + 1
                yield self._entry(block, macros, file, index) if bad is None else ParseIssue(
                    file=file, line=line, record=block.key, reason=f"entry skipped: {bad}")
                index += 1
            elif isinstance(block, ParsingFailedBlock):
                m = _BLOCK_TYPE.match(block.raw or "")
                is_entry = not (m and m.group(1).lower() in _NOT_ENTRIES)
                yield self._failed(block, file, index if is_entry else None)
                index += is_entry

    @staticmethod
    def _macros(blocks, file: str) -> tuple[dict[str, str], dict[int, ParseIssue]]:
        """``@string`` values (lower-case names, month macros predefined; a later definition
        overrides an earlier one, as in BibTeX) and an issue per ``@string`` that cannot be read."""
        macros = dict(_PREDEFINED)
        bad: dict[int, ParseIssue] = {}
        for block in blocks:
            if isinstance(block, DuplicateBlockKeyBlock) and isinstance(block.ignore_error_block, String):
                block = block.ignore_error_block
            if not isinstance(block, String):
                continue
            try:
                if (undecodable := files.bad_bytes(block.value)) is not None:
                    raise BibValueError(f"bytes the file's encoding cannot decode ({undecodable})", 0)
                macros[block.key.lower()] = _expand(parse_value(block.value), macros)
            except (BibValueError, KeyError) as exc:
                reason = exc.reason if isinstance(exc, BibValueError) else (
                    f'undefined @string macro "{exc.args[0]}"')
                bad[id(block)] = ParseIssue(
                    file=file, line=None if block.start_line is None else block.start_line + 1,
                    record=f"@string {block.key}", reason=f"@string skipped: {reason}")
        return macros, bad

    @staticmethod
    def _failed(block: ParsingFailedBlock, file: str, index: int | None) -> ParseIssue:
        key = None
        if block.raw:
            m = _ENTRY_KEY.match(block.raw.lstrip())
            key = m.group(1) if m else None
        if index is None:  # a broken @string / @comment / @preamble, not a record
            key = f"@{_BLOCK_TYPE.match(block.raw).group(1).lower()}"
        error = block.error
        reason = (getattr(error, "abort_reason", None) or str(error)).strip().splitlines()
        reason_text = " ".join(r.strip() for r in reason if r.strip()) or type(error).__name__
        return ParseIssue(file=file, line=None if block.start_line is None else block.start_line + 1,
                          record=key or str(index + 1), reason=(
                              f"{'entry' if index is not None else 'block'} skipped: {reason_text}"))

    def _entry(self, entry: Entry, macros: dict[str, str], file: str, index: int) -> Record | ParseIssue:
        line = entry.start_line + 1 if entry.start_line is not None else None
        raw = entry.raw or ""
        values: dict[str, list[_Part]] = {}
        cursor = 0
        for field in entry.fields:
            value = field.value if isinstance(field.value, str) else str(field.value)
            pos = raw.find(value, cursor)
            key = field.key.lower()
            try:
                parts = parse_value(value)
            except BibValueError as exc:
                at = None
                if line is not None and pos >= 0:
                    at = line + raw[:pos + exc.offset].count("\n")
                where = f" (line {at})" if at is not None else ""
                return ParseIssue(file=file, line=line, record=entry.key,
                                  reason=f"entry skipped: {exc.reason}{where}")
            if pos >= 0:
                cursor = pos + len(value)
            if key not in values:
                values[key] = parts
            elif key in _READ_FIELDS and parts != values[key]:
                return ParseIssue(file=file, line=line, record=entry.key, reason=(
                    f'entry skipped: field "{field.key}" given twice with different values'))

        def get(key: str) -> str | None:
            if key not in values:
                return None
            try:
                return _expand(values[key], macros)
            except KeyError as exc:
                raise _UndefinedMacro(key, exc.args[0]) from None

        rec = Record(source_file=file, source_format=self.name, source_index=index, source_line=line,
                     source_key=entry.key)
        try:
            self._fill(rec, get, entry.entry_type.lower())
        except _UndefinedMacro as exc:
            return ParseIssue(file=file, line=line, record=entry.key, reason=(
                f'entry skipped: undefined @string macro "{exc.macro}" in field "{exc.field}"'))
        except InvalidNameError as exc:
            return ParseIssue(file=file, line=line, record=entry.key,
                              reason=f"entry skipped: invalid author name: {exc}")
        return rec

    @staticmethod
    def _fill(rec: Record, get, entry_type: str) -> None:
        def first(name: str) -> tuple[str | None, str | None]:
            for key in _TEXT_FIELDS[name]:
                v = get(key)
                if v is not None and v.strip():
                    return key, v
            return None, None

        rec.title = latex_to_text(first("title")[1])
        abstract = latex_to_text(first("abstract")[1])
        if abstract:
            rec.abstract_sections = [AbstractSection(text=abstract)]
        rec.journal = latex_to_text(first("journal")[1])
        rec.year = norm.first_year(first("year")[1])
        rec.month = _month(first("month")[1])
        doi_raw = _strip_braces(first("doi")[1])
        rec.doi = norm.doi(doi_raw)
        pmid_raw = _strip_braces(first("pmid")[1])
        rec.pmid = norm.pmid(pmid_raw)
        rec.pmcid = norm.pmcid(_strip_braces(first("pmcid")[1]))
        lang = latex_to_text(first("language")[1])
        rec.language = [lang] if lang else []
        author = get("author")
        if author and author.strip():
            rec.authors = parse_authors(author)
        rec.keywords = _keywords([v for k in _KEYWORD_FIELDS if (v := get(k))])
        rec.extra["entry_type"] = entry_type
        if doi_raw and not rec.doi:
            rec.extra["doi_raw"] = doi_raw
        if pmid_raw and not rec.pmid:
            rec.extra["pmid_raw"] = pmid_raw
        for key in _EXTRA_FIELDS:
            try:
                v = get(key)
            except _UndefinedMacro as exc:  # informational field: noted, the entry is kept
                rec.extra.setdefault("undefined_macros", []).append(f"{key}: {exc.macro}")
                continue
            if v and v.strip():
                rec.extra[key] = (_strip_braces(v) if key == "url" else latex_to_text(v))


class _UndefinedMacro(Exception):
    def __init__(self, field: str, macro: str):
        super().__init__(macro)
        self.field = field
        self.macro = macro
