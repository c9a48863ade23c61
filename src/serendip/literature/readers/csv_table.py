"""CSV / TSV reader (Excel, Scopus, Web of Science, Rayyan, asreview-style tables).

Read with Python's :mod:`csv` (RFC 4180 quoting: ``""`` inside quotes is one quote, a quoted field may
hold the delimiter and line breaks), the text opened by :func:`serendip.core.files.read_text_lenient`
(encoding from a BOM, UTF-16, ``--encoding`` or detection; gzip by magic bytes) so an Excel BOM does
not stick to the first column name (molgenis#6492), ``newline=""`` so embedded line breaks stay
inside their field, and the delimiter detected among ``,`` ``;`` and tab by the shared rule
:func:`serendip.core.formats.sniff_delimiter` (European Excel writes ``;``: asreview#302). Column names
are matched case-insensitively through :data:`DEFAULT_COLUMNS` or a user mapping.

``strict=True`` makes a stray quote an error instead of silently swallowing the following rows into one
field; such a row is reported and reading resumes on the line after the row's first line.
"""
from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from pathlib import Path

from serendip.core.files import bad_text_reason, detect_encoding, read_text_lenient
from serendip.core.formats import DELIMITERS, delimited_rows, sniff_delimiter
from serendip.errors import ConfigError, DataError, ParseError
from serendip.literature import normalize as norm
from serendip.literature.readers import register_reader
from serendip.literature.record import AbstractSection, Author, ParseIssue, Record

#: Record field -> accepted column names (compared case-insensitively, whitespace collapsed)
DEFAULT_COLUMNS: dict[str, tuple[str, ...]] = {
    "title": ("title", "ti", "article title", "document title", "primary_title"),
    "abstract": ("abstract", "ab", "abstract note", "notes_abstract"),
    "authors": ("authors", "author", "au", "author full names"),
    "year": ("year", "py", "publication year", "publication_year"),
    "doi": ("doi", "do"),
    "pmid": ("pmid", "pubmed id", "pubmed_id"),
    "journal": ("journal", "source title", "jo", "journal_name", "publication title"),
    "keywords": ("keywords", "kw", "author keywords"),
    "source_key": ("id", "record id", "key"),
}
_SNIFF_BYTES = 64 * 1024


def _key(name: str) -> str:
    return " ".join(name.replace("\ufeff", "").split()).casefold()


def parse_person(text: str) -> Author | None:
    """Parse one author name (see :func:`serendip.literature.normalize.parse_person`: initials and a
    suffix are kept in their own fields)."""
    return norm.parse_person(text)


def split_authors(value: str | None) -> list[Author]:
    """Split an authors cell on ``;`` and parse each name with :func:`parse_person`."""
    if not value:
        return []
    return [a for part in value.split(";") if (a := parse_person(part))]


def _lines(text: str) -> list[str]:
    """Physical lines with their ends, split as ``open(newline="")`` does (\\r\\n, \\r or \\n)."""
    return re.findall(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$", text)


@register_reader("csv", label="CSV/TSV table", aliases=("tsv",),
                 suffixes=(".csv", ".tsv", ".tab", ".csv.gz", ".tsv.gz", ".tab.gz"),
                 suffix_is_enough=True, priority=90)
class CSVReader:
    """Read a delimited table with one record per row.

    Parameters
    ----------
    mapping : dict of str to str, optional
        Record field -> column name, for columns the default synonyms do not cover (fields: title,
        abstract, authors, year, doi, pmid, journal, keywords, source_key). Other fields keep the
        defaults.

    Raises
    ------
    ConfigError
        ``mapping`` names an unknown field.
    """

    name = "csv"

    def __init__(self, mapping: dict[str, str] | None = None, encoding: str | None = None):
        self.encoding = encoding  # the file's text encoding (--encoding); None: detected
        unknown = set(mapping or {}) - set(DEFAULT_COLUMNS)
        if unknown:
            raise ConfigError(f"unknown field(s) in the column mapping: {', '.join(sorted(unknown))}; "
                              f"expected: {', '.join(DEFAULT_COLUMNS)}")
        self.mapping = dict(mapping or {})

    def sniff(self, path: Path, head: bytes) -> bool:
        """True for a head whose first line has a delimiter and a title or abstract column name (a
        ``.csv``/``.tsv``/``.tab`` file is a table whatever its header: ``suffix_is_enough``)."""
        first = head.decode("utf-8", errors="ignore").lstrip("\ufeff").split("\n", 1)[0]
        if not any(d in first for d in DELIMITERS):
            return False
        cols = {_key(c.strip('"')) for c in re.split(r"[,;\t]", first)}
        return bool(cols & set(DEFAULT_COLUMNS["title"] + DEFAULT_COLUMNS["abstract"]))

    def columns(self, header: list[str], file: str) -> dict[str, int]:
        """Map record fields to column positions.

        Raises
        ------
        DataError
            A mapped column is missing, or neither a title nor an abstract column exists.
        """
        keys = [_key(h) for h in header]
        found: dict[str, int] = {}
        for field, synonyms in DEFAULT_COLUMNS.items():
            if field in self.mapping:
                wanted = _key(self.mapping[field])
                if wanted not in keys:
                    raise DataError(f"{file}: column {self.mapping[field]!r} (mapped to {field}) not "
                                    f"found; columns are: {', '.join(h.strip() for h in header)}")
                found[field] = keys.index(wanted)
                continue
            for syn in synonyms:
                if syn in keys:
                    found[field] = keys.index(syn)
                    break
        if "title" not in found and "abstract" not in found:
            raise DataError(f"{file}: no title or abstract column found (columns: "
                            f"{', '.join(h.strip() for h in header)}); pass a column mapping")
        return found

    def read(self, path: Path) -> Iterator[Record | ParseIssue]:
        """Yield one :class:`Record` per data row, or a :class:`ParseIssue` for a row skipped.

        Parameters
        ----------
        path : Path
            A delimited text file, plain or gzip-compressed (by its magic bytes), in any encoding
            :func:`~serendip.core.files.detect_encoding` finds or ``encoding`` names (BOM, CRLF and
            quoted line breaks accepted).

        Yields
        ------
        Record or ParseIssue
            ``source_line`` is the 1-based line where the row starts (embedded line breaks counted),
            ``source_index`` the 0-based data-row position (skipped rows counted). Skipped with an
            issue: a row with a different number of fields than the header, a row with a quoting
            error, a row with neither title nor abstract. Blank rows (all cells empty) are not
            records.

        Raises
        ------
        ParseError
            The file cannot be read, its encoding cannot be told, or it has no header row (or one
            with bytes its encoding cannot decode).
        DataError
            A mapped column is missing, or there is no title/abstract column.
        """
        file = str(path)
        encoding = detect_encoding(path, self.encoding)
        text = read_text_lenient(path, encoding)  # rows with undecodable bytes are reported one by one
        lines = _lines(text)
        start = next((i for i, ln in enumerate(lines) if ln.strip()), None)
        if start is None:
            raise ParseError("empty file: no header row", file=file)
        delim = sniff_delimiter(text[:_SNIFF_BYTES], lines[start])
        rows = self._rows(lines, start, delim, file)
        _, header = next(rows)
        if isinstance(header, str):
            raise ParseError(f"header row cannot be read: {header}", file=file, line=start + 1)
        if (bad := bad_text_reason("".join(header), encoding)) is not None:
            raise ParseError(f"header row skipped: {bad}", file=file, line=start + 1)
        cols = self.columns(header, file)
        index = 0
        for line, row in rows:
            if isinstance(row, list) and not any(c.strip() for c in row):
                continue
            if isinstance(row, list) and (bad := bad_text_reason("".join(row), encoding)) is not None:
                yield ParseIssue(file=file, line=line, record=str(index + 1), reason=f"row skipped: {bad}")
            else:
                yield self._record(row, header, cols, file, line, index)
            index += 1

    @staticmethod
    def _rows(lines: list[str], start: int, delim: str, file: str):
        """Yield ``(start_line, fields)`` or ``(start_line, error message)``; resume after an error."""
        pos = start
        while pos < len(lines):
            reader = delimited_rows(lines[pos:], delim, strict=True)
            consumed = 0
            while True:
                try:
                    row = next(reader)
                except StopIteration:
                    return
                except csv.Error as exc:
                    yield pos + consumed + 1, f"CSV quoting error: {exc}"
                    pos += consumed + 1  # resume on the line after the bad row's first line
                    break
                line = pos + consumed + 1
                consumed = reader.line_num
                if row:
                    yield line, row

    @staticmethod
    def checked_row(row, header: list[str], file: str, line: int, index: int) -> list[str] | ParseIssue:
        """The row's fields, or the :class:`ParseIssue` that skips it (a quoting error, another number
        of fields than the header; undecodable bytes are reported by :meth:`read`). One empty field more than the header
        is a trailing delimiter (Scopus ends every data row with one), not a field: it is dropped.
        """
        if isinstance(row, str):
            return ParseIssue(file=file, line=line, record=str(index + 1),
                              reason=f"row skipped: {row}")
        if len(row) == len(header) + 1 and not row[-1].strip():
            row = row[:-1]
        if len(row) != len(header):
            return ParseIssue(file=file, line=line, record=str(index + 1), reason=(
                f"row skipped: {len(row)} fields, the header has {len(header)}"))
        return row

    def _record(self, row, header: list[str], cols: dict[str, int], file: str, line: int,
                index: int) -> Record | ParseIssue:
        row = self.checked_row(row, header, file, line, index)
        if isinstance(row, ParseIssue):
            return row

        def cell(field: str) -> str | None:
            return norm.collapse_ws(row[cols[field]]) if field in cols else None

        rec = Record(source_file=file, source_format=self.name, source_index=index, source_line=line)
        rec.title = cell("title")
        abstract = cell("abstract")
        if not rec.title and not abstract:
            return ParseIssue(file=file, line=line, record=str(index + 1),
                              reason="row skipped: no title and no abstract")
        if abstract:
            rec.abstract_sections = [AbstractSection(text=abstract)]
        rec.authors = split_authors(cell("authors"))
        rec.journal = cell("journal")
        rec.source_key = cell("source_key")
        # a value that does not parse is kept as written in extra["<field>_raw"], never dropped
        for field, fn in (("year", norm.first_year), ("doi", norm.doi), ("pmid", norm.pmid)):
            raw = cell(field)
            setattr(rec, field, fn(raw))
            if raw and getattr(rec, field) is None:
                rec.extra[f"{field}_raw"] = raw
        kw = cell("keywords")
        rec.keywords = [k for part in (kw or "").split(";") if (k := norm.collapse_ws(part))]
        return rec
