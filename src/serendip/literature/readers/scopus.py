"""Scopus CSV export (*Export* > *CSV*), a dialect of the CSV reader with its own column meanings.

Shape (Elsevier, Scopus export; the column list of a full-record export, 2019-2024)::

    Authors,Author full names,Author(s) ID,Title,Year,Source title,Volume,Issue,Art. No.,
    Page start,Page end,Page count,Cited by,DOI,Link,Affiliations,Authors with affiliations,Abstract,
    Author Keywords,Index Keywords,...,ISSN,ISBN,CODEN,PubMed ID,Language of Original Document,
    Abbreviated Source Title,Document Type,Publication Stage,Open Access,Source,EID

RFC 4180 quoting, a UTF-8 BOM, and on many exports a trailing comma on every data row but not on the
header (one empty field more: dropped, see :meth:`CSVReader.checked_row`). Authors are written two
ways: ``Authors`` is ``"Asampong E., Gyeke M.D.P."`` (comma-separated, initials with dots) in older
exports and ``"Asampong, E.; Gyeke, M.D.P."`` in newer ones; ``Author full names`` (since 2022) is
``"Asampong, Emmanuel (57190000000); Gyeke, Mavis D. (57190000001)"``, preferred when present;
``Authors with affiliations`` (``"Asampong E., Univ Ghana, Accra, Ghana; ..."``) gives each author
their addresses.
``EID`` (``2-s2.0-85041...``) is the record's ``source_key`` and an identity.
"""
from __future__ import annotations

import re
from pathlib import Path

from serendip.errors import DataError
from serendip.literature import normalize as norm
from serendip.literature.readers import register_reader
from serendip.literature.readers.csv_table import CSVReader, parse_person
from serendip.literature.record import AbstractSection, Author, ParseIssue, Record

_FULL_NAME = re.compile(r"^(.*?)\s*\((\d+)\)\s*$")
_INITIALS_ONLY = re.compile(r"(?:[A-Z]\.?-?\s?)+")
#: Scopus's placeholders for an empty cell
_EMPTY = {"[no author name available]", "[no abstract available]", "[no title available]"}
#: Scopus column (case-folded) -> ``extra`` key, values kept as they are
EXTRA_COLUMNS = {"volume": "volume", "issue": "issue", "page start": "start_page",
                 "page end": "end_page", "art. no.": "article_number", "issn": "issn",
                 "publisher": "publisher", "abbreviated source title": "journal_abbrev"}


def _key(name: str) -> str:
    return " ".join(name.replace("\ufeff", "").split()).casefold()


def _parts(value: str | None) -> list[str]:
    return [p for part in (value or "").split(";") if (p := norm.collapse_ws(part))]


def scopus_authors(authors: str | None, full_names: str | None) -> tuple[list[Author], list[str]]:
    """Authors of one Scopus row, and their Scopus author ids (from ``Author full names``).

    Parameters
    ----------
    authors : str or None
        The ``Authors`` cell: ``"Last F.M., Last2 F."`` (older exports) or ``"Last, F.M.; Last2, F."``.
    full_names : str or None
        The ``Author full names`` cell, ``"Last, First (id); ..."``; used when present.

    Returns
    -------
    (list of Author, list of str)
        The authors in order; the ids in the same order where ``full_names`` gave them, else ``[]``.
    """
    if full_names and full_names.strip().casefold() not in _EMPTY:
        people, ids = [], []
        for part in _parts(full_names):
            m = _FULL_NAME.match(part)
            name, sid = (m.group(1), m.group(2)) if m else (part, None)
            if (author := parse_person(name)) is not None:
                people.append(author)
                ids.append(sid or "")
        return people, ids if any(ids) else []
    return [a for name in _short_names(authors) if (a := parse_person(name))], []


def _short_names(authors: str | None) -> list[str]:
    """The names of an ``Authors`` cell as written (``"Last F.M."`` or ``"Last, F.M."``)."""
    if not authors or authors.strip().casefold() in _EMPTY:
        return []
    commas = [p.strip() for p in authors.split(",") if p.strip()]
    if ";" in authors or any(_INITIALS_ONLY.fullmatch(p) for p in commas):  # "Park, S." is one name
        return _parts(authors)
    return commas


def add_affiliations(authors: list[Author], short_names: list[str], with_affiliations: str | None) -> None:
    """Give each author the addresses of ``Authors with affiliations`` (``"Last F., Address; ..."``,
    one entry per author and address) whose entry starts with its name as the ``Authors`` cell writes
    it. Nothing is assigned when the two cells do not list the same authors, nor to a name that two
    authors share."""
    if len(short_names) != len(authors):
        return
    entries = _parts(with_affiliations)
    for author, short in zip(authors, short_names):
        if short_names.count(short) > 1:
            continue
        author.affiliations += [address for entry in entries if entry.startswith(short + ",")
                                if (address := entry[len(short) + 1:].strip())]


@register_reader("scopus", label="Scopus CSV export", aliases=("scopus-csv",), priority=80, id_keyed=True)
class ScopusReader(CSVReader):
    """Read a Scopus CSV export: one :class:`Record` per row (see the module docstring)."""

    name = "scopus"

    def __init__(self, encoding: str | None = None) -> None:
        super().__init__(encoding=encoding)

    def sniff(self, path: Path, head: bytes) -> bool:
        """True when the header row holds ``Title``, ``Source title`` and ``EID`` or ``Link`` columns."""
        first = head.decode("utf-8", errors="ignore").lstrip("\ufeff").split("\n", 1)[0]
        cols = {_key(c.strip().strip('"')) for c in first.split(",")}
        return {"title", "source title"} <= cols and bool(cols & {"eid", "link"})

    def columns(self, header: list[str], file: str) -> dict[str, int]:
        """Column name (case-folded) -> position.

        Raises
        ------
        DataError
            There is no ``Title`` column.
        """
        cols: dict[str, int] = {}
        for i, name in enumerate(header):
            cols.setdefault(_key(name), i)
        if "title" not in cols:
            raise DataError(f"{file}: no 'Title' column in this Scopus export (columns: "
                            f"{', '.join(h.strip() for h in header)})")
        return cols

    def _record(self, row, header: list[str], cols: dict[str, int], file: str, line: int,
                index: int) -> Record | ParseIssue:
        row = self.checked_row(row, header, file, line, index)
        if isinstance(row, ParseIssue):
            return row

        def cell(column: str) -> str | None:
            value = norm.collapse_ws(row[cols[column]]) if column in cols else None
            return None if value is None or value.casefold() in _EMPTY else value

        rec = Record(source_file=file, source_format=self.name, source_index=index, source_line=line)
        rec.title = cell("title")
        if (abstract := cell("abstract")):
            rec.abstract_sections = [AbstractSection(text=abstract)]
        if not rec.title and not rec.abstract:
            return ParseIssue(file=file, line=line, record=str(index + 1),
                              reason="row skipped: no title and no abstract")
        rec.authors, author_ids = scopus_authors(cell("authors"), cell("author full names"))
        author_ids = author_ids or _parts(cell("author(s) id"))
        add_affiliations(rec.authors, _short_names(cell("authors")), cell("authors with affiliations"))
        rec.year = norm.first_year(cell("year"))
        rec.journal = cell("source title")
        rec.source_key = cell("eid")
        for column, field, fn in (("doi", "doi", norm.doi), ("pubmed id", "pmid", norm.pmid)):
            raw = cell(column)
            setattr(rec, field, fn(raw))
            if raw and getattr(rec, field) is None:
                rec.extra[f"{field}_raw"] = raw
        rec.keywords = _parts(cell("author keywords"))
        rec.language = _parts(cell("language of original document"))
        rec.publication_types = _parts(cell("document type"))
        self._extra(rec, cell, author_ids)
        return rec

    @staticmethod
    def _extra(rec: Record, cell, author_ids: list[str]) -> None:
        for column, key in EXTRA_COLUMNS.items():
            if (value := cell(column)):
                rec.extra[key] = value
        if (index_keywords := _parts(cell("index keywords"))):
            rec.extra["index_keywords"] = index_keywords
        if (link := cell("link")):
            rec.extra["urls"] = [link]
        if (affiliations := _parts(cell("affiliations"))):
            rec.extra["affiliations"] = affiliations
        if author_ids:
            rec.extra["scopus_author_ids"] = author_ids
