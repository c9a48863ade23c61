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
from pathlib import Path

import bibtexparser
from bibtexparser.middlewares.names import InvalidNameError
from bibtexparser.model import (
    DuplicateBlockKeyBlock,
    DuplicateFieldKeyBlock,
    Entry,
    ParsingFailedBlock,
    String,
)

from serendip.core import files
from serendip.literature import normalize as norm
from serendip.literature.readers import register_reader
from serendip.literature.readers._bibtex_values import (
    _PREDEFINED,
    BibValueError,
    _expand,
    _keywords,
    _month,
    _Part,
    _strip_braces,
    latex_to_text,
    parse_authors,
    parse_value,
)
from serendip.literature.record import AbstractSection, ParseIssue, Record

_SNIFF = re.compile(rb"^\s*@\s*\w+\s*[{(]", re.M)
_ENTRY_KEY = re.compile(r"@\s*\w+\s*[{(]\s*([^,\s}]+)")
_BLOCK_TYPE = re.compile(r"\s*@\s*(\w+)")
_NOT_ENTRIES = {"string", "comment", "preamble"}
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
