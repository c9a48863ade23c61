"""MEDLINE / PubMed text format reader (``.nbib``, ``.txt``: ``PMID- ``, ``TI  - `` ...).

Format (NLM, "MEDLINE/PubMed Data Element (Field) Descriptions",
https://www.nlm.nih.gov/bsd/mms/medlineelements.html): each line is a tag left-justified in four
columns, ``-``, a space and the value; a value continues on the following lines indented by six
spaces; records are separated by blank lines and start with ``PMID-``. Line ends LF, CRLF or CR;
any encoding :func:`serendip.core.files.detect_encoding` finds or ``--encoding`` names (UTF-8 with
or without BOM in practice); plain or gzip.
"""
from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from serendip.core.files import bad_bytes, detect_encoding, text_lines
from serendip.errors import ParseError
from serendip.literature import normalize as norm
from serendip.literature.readers import read_head, register_reader
from serendip.literature.record import (
    AbstractSection,
    Author,
    MeshHeading,
    MeshQualifier,
    ParseIssue,
    Record,
)

_TAG = re.compile(r"([A-Z][A-Z0-9]{0,3}) *-(?: (.*)|)$")
_MONTHS = {m: i for i, m in enumerate(
    ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"], 1)}


@dataclass(slots=True)
class _Raw:
    """One record's fields as read: ``[line, tag, value parts]`` in file order."""

    start: int
    fields: list[list] = field(default_factory=list)
    error: tuple[int, str] | None = None


def _raw_records(lines) -> Iterator[_Raw]:
    """Group numbered lines into raw records; a record ends at a blank line or a new ``PMID-``."""
    cur: _Raw | None = None
    for lineno, line in enumerate(lines, 1):
        line = line.rstrip("\n")
        if not line.strip():
            if cur is not None:
                yield cur
                cur = None
            continue
        m = None if line[0] in " \t" else _TAG.match(line)
        if m and m.group(1) == "PMID" and cur is not None and cur.fields:
            yield cur
            cur = None
        if cur is None:
            cur = _Raw(start=lineno)
        if (bad := bad_bytes(line)) is not None:
            cur.error = cur.error or (lineno, f"bytes its text encoding cannot decode ({bad}); if the file "
                                      "is not UTF-8, pass its encoding, e.g. --encoding cp1252")
        if line[0] in " \t":  # continuation of the previous field's value
            if cur.fields:
                cur.fields[-1][2].append(line.strip())
            else:
                cur.error = cur.error or (lineno, "continuation line without a preceding tag line")
        elif m is None:
            cur.error = cur.error or (lineno, f"not a 'TAG - value' line: {line[:40]!r}")
        else:
            cur.fields.append([lineno, m.group(1), [m.group(2) or ""]])
    if cur is not None:
        yield cur


def _person(value: str, full: bool) -> Author:
    """Author from ``FAU`` ("Casbon, James A", "King, Martin Luther, Jr") or ``AU`` ("Casbon JA",
    "King ML Jr"): initials and suffix in their own fields (:func:`normalize.parse_person`)."""
    if full and "," not in value:  # a one-word FAU ("Plato") is a family name
        return Author(family=value.strip() or None)
    return norm.parse_person(value) or Author()


def _add_short_form(author: Author, value: str) -> None:
    """Fill ``author`` (read from ``FAU``) with the initials (and suffix) of its ``AU`` short form."""
    short = norm.parse_person(value)
    if short is None or short.family != author.family:
        return
    author.initials = author.initials or short.initials
    author.suffix = author.suffix or short.suffix


def _mesh(value: str) -> MeshHeading:
    """``MH`` value "Neoplasms/*drug therapy" or "*Aspirin" -> :class:`MeshHeading`, the ``*`` of a
    major topic turned into the ``major`` flag of the descriptor or qualifier it marks."""
    name, *quals = value.split("/")
    return MeshHeading(name.lstrip("*").strip(), name.startswith("*"), [
        MeshQualifier(q.lstrip("*").strip(), q.startswith("*")) for q in quals if q.strip("* ")])


def _typed_id(values: list[str], kind: str) -> list[str]:
    """``LID``/``AID`` values ending with ``[kind]`` ("10.1186/x [doi]"), the suffix removed."""
    suffix = f"[{kind}]"
    return [v[: -len(suffix)].strip() for v in values if v.endswith(suffix)]


def _date(rec: Record, value: str) -> None:
    rec.extra["pub_date_raw"] = value
    rec.year = norm.first_year(value)
    parts = value.split()
    if len(parts) > 1 and parts[0].isdigit():
        rec.month = _MONTHS.get(parts[1][:3].lower())


def build_record(raw: _Raw, rec: Record) -> None:
    """Fill ``rec`` from the fields of one raw record (see module docstring for the tags).

    ``AD`` lines after an ``FAU``/``AU``/``CN`` line belong to that author; ``AD`` lines before any
    author (older records) are the first author's affiliation, as NLM's XML has them.
    """
    authors: list[Author] = []
    early_ad: list[str] = []
    awaiting_au = False  # the last author came from FAU; its AU (short form) may follow
    values: dict[str, list[str]] = {}
    mesh = []
    for _, tag, parts in raw.fields:
        value = " ".join(" ".join(parts).split())
        if tag == "AU" and awaiting_au:  # short form of the FAU just read: same person
            awaiting_au = False
            _add_short_form(authors[-1], value)
            continue
        if tag in ("FAU", "AU"):
            if value:
                authors.append(_person(value, full=tag == "FAU"))
            awaiting_au = tag == "FAU" and bool(value)
            continue
        if tag not in ("AD", "AUID"):
            awaiting_au = False
        if tag == "CN":
            if value:
                authors.append(Author(collective=value))
        elif tag == "AD":
            if value:
                (authors[-1].affiliations if authors else early_ad).append(value)
        elif tag == "AUID":
            if authors and authors[-1].orcid is None and "orcid" in value.lower():
                authors[-1].orcid = norm.orcid(value)
        elif tag == "MH":
            if value:
                mesh.append(_mesh(value))
        else:
            values.setdefault(tag, []).append(value)
    if early_ad and authors:
        authors[0].affiliations[:0] = early_ad
    elif early_ad:
        rec.extra["affiliations"] = early_ad
    rec.authors = authors
    if mesh:
        rec.mesh_terms = [m.descriptor for m in mesh]
        rec.mesh_headings = mesh
    _fill(rec, values)


def _fill(rec: Record, values: dict[str, list[str]]) -> None:
    def first(tag: str) -> str | None:
        return next((v for v in values.get(tag, []) if v), None)

    rec.pmid = norm.pmid(first("PMID"))
    rec.title = " ".join(v for v in values.get("TI", []) if v) or None
    rec.vernacular_title = first("TT")
    if rec.title and rec.title.lower().rstrip(".") == "[not available]":
        rec.extra["title_not_available"] = rec.title
        rec.title = rec.vernacular_title  # as the PubMed XML reader does
    abstract = " ".join(v for v in values.get("AB", []) if v)
    rec.abstract_sections = [AbstractSection(text=abstract)] if abstract else []
    rec.journal = first("JT") or first("TA")
    if first("DP"):
        _date(rec, first("DP"))
    rec.keywords = [v for v in values.get("OT", []) if v]
    rec.publication_types = [v for v in values.get("PT", []) if v]
    rec.language = [v for v in values.get("LA", []) if v]
    dois = _typed_id(values.get("LID", []), "doi") + _typed_id(values.get("AID", []), "doi")
    rec.doi = next(filter(None, map(norm.doi, dois)), None)
    rec.pmcid = next(filter(None, map(norm.pmcid, values.get("PMC", []))), None)
    for key, tag in (("volume", "VI"), ("issue", "IP"), ("pages", "PG"), ("journal_abbrev", "TA")):
        if first(tag):
            rec.extra[key] = first(tag)


@register_reader("medline", label="MEDLINE text, .nbib", aliases=("nbib",),
                 suffixes=(".nbib", ".medline", ".nbib.gz", ".medline.gz"), priority=30)
class MedlineTextReader:
    """Read the MEDLINE/PubMed text format (PubMed "Save > Format: PubMed", ``.nbib``)."""

    name = "medline"

    def __init__(self, encoding: str | None = None):
        self.encoding = encoding  # the file's text encoding (--encoding); None: detected

    def sniff(self, path: Path, head: bytes) -> bool:
        """Whether a line of ``head`` starts with ``PMID- ``."""
        return head.startswith((b"PMID- ", b"\xef\xbb\xbfPMID- ")) or b"\nPMID- " in head

    def read(self, path: Path) -> Iterator[Record | ParseIssue]:
        """Yield a :class:`Record` per record, a :class:`ParseIssue` per unreadable one.

        ``source_line`` is the record's first line (1-based), ``source_index`` its 0-based position
        among the records of the file (plain or gzip, any encoding
        :func:`~serendip.core.files.detect_encoding` finds or ``encoding`` names). A record with a
        malformed line, bytes its encoding cannot decode or no PMID is skipped with an issue naming
        the file, line and record (PMID or 1-based number).

        Raises
        ------
        ParseError
            The file cannot be read, its encoding cannot be told, or it has text but no line
            starting with ``PMID- `` in its first 64 KiB (not MEDLINE text at all).
        """
        path = Path(path)
        file = str(path)
        encoding = detect_encoding(path, self.encoding)
        head = read_head(path, 65536, encoding)
        if head.strip() and not self.sniff(path, head.replace(b"\r", b"\n")):
            raise ParseError("not MEDLINE text: no line starting with 'PMID- ' in the first 64 KiB",
                             file=file)
        for index, raw in enumerate(_raw_records(text_lines(path, encoding))):
            rec = Record(source_file=file, source_format="medline", source_index=index,
                         source_line=raw.start)
            if raw.error is None:
                build_record(raw, rec)
            pmid = rec.pmid or next((norm.pmid(" ".join(p)) for _, t, p in raw.fields
                                     if t == "PMID"), None)
            name = f"PMID {pmid}" if pmid else str(index + 1)
            if raw.error is not None:
                yield ParseIssue(file=file, line=raw.error[0], record=name,
                                 reason=f"record skipped: {raw.error[1]}")
            elif rec.pmid is None:
                yield ParseIssue(file=file, line=raw.start, record=name,
                                 reason="record skipped: missing or non-numeric PMID")
            else:
                yield rec
