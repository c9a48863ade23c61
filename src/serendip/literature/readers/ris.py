"""RIS reader (EndNote, Zotero, Citavi, CINAHL/EBSCO, Embase, Scopus, Lens exports).

The file is split here on ``TY  -`` / ``ER  -`` lines so that each record keeps its start line and a
broken record (no ``ER`` before the next ``TY`` or the end of file; text outside any record) is
reported as a :class:`ParseIssue` while the others are read. Each record's lines are then parsed by
rispy with an identity tag mapping, so that every tag is kept under its own name whatever the
exporter used. rispy's default mapping scatters one meaning over several keys (``T1`` ->
``primary_title``, ``A1`` -> ``first_authors``, ``N2`` -> ``notes_abstract``, ``JF`` ->
``alternate_title3``; asreview#1154, synthesisr#15, asreview#1521); here the field synonyms are
explicit (:data:`FIELD_TAGS`), following the RIS specification (Research Information Systems,
*RIS Format Specifications*, 2012) and the tag use of the exporters above. Continuation lines (any
line without a tag) are joined to the previous value with one space, as rispy does.

Exporter variants (fixtures in tests/fixtures/exports/): EBSCO writes the DOI in ``L3`` and the
database's accession number in ``AN`` (the PMID when ``DB`` is MEDLINE; CINAHL adds ``PMID: ...`` to
``N1``); Ovid writes the accession number in ``AN`` (the PMID for Ovid MEDLINE, an Embase number for
Embase) and links ``ovidweb.cgi?...D=<segment>...&AN=...``; Embase puts ``PMID: ...`` in a ``U1``-``U5``
field; Cochrane CENTRAL writes ``ID  - CN-...`` (the ``source_key``) and ``AN  - PUBMED <pmid>``. The
database and provider (``DB``, ``DP``) and every ``AN`` are kept in ``extra``.
"""
from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import rispy

from serendip.core.files import bad_text_reason, detect_encoding, text_lines
from serendip.literature import normalize as norm
from serendip.literature.readers import register_reader
from serendip.literature.readers.csv_table import parse_person
from serendip.literature.record import AbstractSection, ParseIssue, Record

#: Record field -> RIS tags tried in order
FIELD_TAGS: dict[str, tuple[str, ...]] = {
    "title": ("TI", "T1", "CT"),
    "abstract": ("AB", "N2"),
    "journal": ("JF", "JO", "T2", "JA", "J2", "J1", "BT"),
    "date": ("PY", "Y1", "DA", "Y2"),
    "doi": ("DO", "DI", "L3", "M3"),
}
AUTHOR_TAGS = ("AU", "A1")
#: secondary/tertiary/subsidiary authors (editors, series editors...) go to ``extra``
OTHER_AUTHOR_TAGS = {"A2": "secondary_authors", "A3": "tertiary_authors", "A4": "subsidiary_authors",
                     "ED": "editors"}
_LIST_TAGS = ["AU", "A1", "A2", "A3", "A4", "ED", "KW", "UR", "L1", "L2", "L3", "L4", "LK", "SN",
              "LA", "N1", "AD", "C1", "C2", "AN", "PM", "U1", "U2", "U3", "U4", "U5"]
_TAG_LINE = re.compile(r"^([A-Z][A-Z0-9])  -(?: |$)")
_PUBMED_URL = re.compile(r"(?:pubmed\.ncbi\.nlm\.nih\.gov/(?:\?term=)?|"
                         r"ncbi\.nlm\.nih\.gov/pubmed/?(?:\?term=)?|europepmc\.org/(?:abstract|article)/MED/)(\d+)\b", re.I)
#: an Ovid link to a MEDLINE segment (``D=medl``, ``medc``, ``prem``, ``mesx``...): its ``AN`` is the PMID
_OVID_MEDLINE_URL = re.compile(r"ovid\w*\.com/.*[?&]D=(?:med|mes|prem)\w*&(?:.*&)?AN=(\d{1,8})\b", re.I)
#: a labelled PMID in a note or accession field: "PMID: 123", "PubMed ID 123", Cochrane's "PUBMED 123"
_PMID_LABEL = re.compile(r"\b(?:[Pp][Mm][Ii][Dd]|[Pp]ub[Mm]ed\s*I[Dd]|PUBMED(?:\s*ID)?)"
                         r"\s*[:=]?\s*(\d{1,8})\b")
#: tags where exporters write a labelled PMID (Ovid/Embase U1-U5 and N1, Cochrane AN, "PM" lines)
_PMID_NOTE_TAGS = ("PM", "AN", "U1", "U2", "U3", "U4", "U5", "N1", "ID")
#: a database (``DB``/``DP``) whose bare ``AN`` accession number is the PMID (Ovid, EBSCO); never
#: a bare ``ID``, which EndNote fills with its own record number
_MEDLINE_DB = re.compile(r"medline|pubmed", re.I)
_PMC_URL = re.compile(r"/(PMC\d+)\b", re.I)
_URL_TAGS = ("UR", "L1", "L2", "L3", "L4", "LK")


class _Identity(dict):
    """rispy tag mapping that keeps every tag under its own name."""

    def __missing__(self, key):
        return key


def _as_list(value) -> list[str]:
    if value is None:
        return []
    return [v for v in (value if isinstance(value, list) else [value]) if isinstance(v, str)]


def _first(raw: dict, tags: tuple[str, ...]) -> tuple[str | None, str | None]:
    for tag in tags:
        for v in _as_list(raw.get(tag)):
            v = norm.collapse_ws(v)
            if v:
                return tag, v
    return None, None


def _date(value: str | None) -> tuple[int | None, int | None]:
    """Year and month from ``2020``, ``2020/11//Nov/Dec2020``, ``2012/07/03`` or ``2019-05-01``."""
    if not value:
        return None, None
    year = norm.first_year(value)
    month = None
    m = re.match(r"\s*\d{4}[/-](\d{1,2})(?:[/-]|$)", value)
    if m and 1 <= int(m.group(1)) <= 12:
        month = int(m.group(1))
    return year, month


class _Chunk:
    """The lines of one record (blank lines dropped), its start line, and why it is broken if it is."""

    __slots__ = ("line", "lines", "error")

    def __init__(self, line: int, first: str):
        self.line = line
        self.lines: list[str] = [first]
        self.error: str | None = None


_STRAY = "text outside a record (no 'TY  -' line before it) skipped"


def _split(lines: Iterator[str], file: str) -> Iterator[_Chunk | ParseIssue]:
    """Group lines into records on ``TY  -`` / ``ER  -``; report stray text and unclosed records."""
    chunk: _Chunk | None = None
    stray: int | None = None
    for no, line in enumerate(lines, 1):
        line = line.rstrip("\r\n")
        m = _TAG_LINE.match(line)
        tag = m.group(1) if m else None
        if chunk is None:
            if tag == "TY":
                if stray is not None:
                    yield ParseIssue(file=file, line=stray, reason=_STRAY)
                    stray = None
                chunk = _Chunk(no, line)
            elif line.strip() and stray is None:
                stray = no
            continue
        if tag == "TY":
            chunk.error = f"no 'ER  -' line before the next 'TY  -' (line {no})"
            yield chunk
            chunk = _Chunk(no, line)
            continue
        if line.strip():
            chunk.lines.append(line)
        if tag == "ER":
            yield chunk
            chunk = None
    if chunk is not None:
        chunk.error = "no 'ER  -' line before the end of the file"
        yield chunk
    elif stray is not None:
        yield ParseIssue(file=file, line=stray, reason=_STRAY)


@register_reader("ris", label="RIS", suffixes=(".ris", ".ris.gz"), priority=50)
class RISReader:
    """Read RIS files into :class:`Record` objects (one per ``TY  -`` ... ``ER  -``).

    ``encoding``: the file's text encoding (``--encoding``); None detects it
    (:func:`serendip.core.files.detect_encoding`).
    """

    name = "ris"

    def __init__(self, encoding: str | None = None):
        self.encoding = encoding

    def sniff(self, path: Path, head: bytes) -> bool:
        """True when a line of ``head`` starts with ``TY  - `` (a UTF-8 BOM is allowed)."""
        text = head.decode("utf-8", errors="ignore").lstrip("\ufeff")
        return any(line.startswith("TY  -") for line in text.splitlines())

    def read(self, path: Path) -> Iterator[Record | ParseIssue]:
        """Yield each RIS record as a :class:`Record`, or a :class:`ParseIssue` for one skipped.

        Parameters
        ----------
        path : Path
            A RIS file, plain or gzip-compressed (by its magic bytes), in any encoding
            :func:`~serendip.core.files.detect_encoding` finds or ``encoding`` names (BOM and CRLF
            accepted).

        Yields
        ------
        Record or ParseIssue
            Records in file order; ``source_line`` is the 1-based line of ``TY  -``,
            ``source_index`` the 0-based position among records (skipped ones counted),
            ``source_key`` the ``ID`` tag. An issue is yielded for a record without ``ER  -``
            (before the next ``TY  -`` or the end of file), for text outside any record, and for a
            record rispy cannot parse, and for a record holding bytes its encoding cannot decode.

        Raises
        ------
        ParseError
            The file cannot be read, or its encoding cannot be told (the message suggests
            ``--encoding``).
        """
        file = str(path)
        encoding = detect_encoding(path, self.encoding)
        index = 0
        parser = rispy.RisParser(mapping=_Identity(), list_tags=_LIST_TAGS, delimiter_tags_mapping={},
                                 enforce_list_tags=False)
        for item in _split(text_lines(path, encoding), file):
            if isinstance(item, ParseIssue):
                yield item
                continue
            if (bad := bad_text_reason("".join(item.lines), encoding)) is not None:
                yield ParseIssue(file=file, line=item.line, record=str(index + 1),
                                 reason=f"record skipped: {bad}")
            else:
                yield self._record(parser, item, file, index)
            index += 1

    def _record(self, parser: rispy.RisParser, chunk: _Chunk, file: str,
                index: int) -> Record | ParseIssue:
        if chunk.error is None and len(chunk.lines) > 1 and not _TAG_LINE.match(chunk.lines[1]):
            chunk.error = f"the line after 'TY  -' has no tag: {chunk.lines[1][:40]!r}"
        if chunk.error is not None:
            return ParseIssue(file=file, line=chunk.line, record=str(index + 1),
                              reason=f"record skipped: {chunk.error}")
        try:
            parsed = parser.parse_lines(iter(chunk.lines))
        except Exception as exc:  # rispy has no error type of its own: any failure skips the record
            return ParseIssue(file=file, line=chunk.line, record=str(index + 1),
                              reason=f"record skipped: rispy could not parse it ({exc!r})")
        if len(parsed) != 1:
            return ParseIssue(file=file, line=chunk.line, record=str(index + 1),
                              reason="record skipped: rispy found no record between TY and ER")
        raw = parsed[0]
        rec = Record(source_file=file, source_format=self.name, source_index=index,
                     source_line=chunk.line)
        rec.source_key = _first(raw, ("ID",))[1]
        rec.title = _first(raw, FIELD_TAGS["title"])[1]
        abstract = _first(raw, FIELD_TAGS["abstract"])[1]
        if abstract:
            rec.abstract_sections = [AbstractSection(text=abstract)]
        rec.journal = _first(raw, FIELD_TAGS["journal"])[1]
        date_tag, date = _first(raw, FIELD_TAGS["date"])
        rec.year, rec.month = _date(date)
        if rec.month is None and date_tag != "DA":
            da_year, da_month = _date(_first(raw, ("DA",))[1])
            rec.month = da_month if da_year in (None, rec.year) else None
        for tag in FIELD_TAGS["doi"]:
            for v in _as_list(raw.get(tag)):
                if (doi := norm.doi(v)):
                    rec.doi = doi
                    break
            if rec.doi:
                break
        seen: set[str] = set()
        for tag in AUTHOR_TAGS:  # exporters that write both AU and A1 repeat the same names
            for name in _as_list(raw.get(tag)):
                author = parse_person(name)
                if author and author.display not in seen:
                    seen.add(author.display)
                    rec.authors.append(author)
        rec.keywords = [k for v in _as_list(raw.get("KW")) if (k := norm.collapse_ws(v))]
        rec.language = [k for v in _as_list(raw.get("LA")) if (k := norm.collapse_ws(v))]
        self._ids_from_urls(rec, raw)
        self._extra(rec, raw, date)
        return rec

    @staticmethod
    def _ids_from_urls(rec: Record, raw: dict) -> None:
        """PMID / PMCID from every place exports put them, when those places agree on one.

        PMID: PubMed and Europe PMC links (``pubmed/123``, ``?term=123``), Ovid links into a MEDLINE
        segment (``D=medl&...&AN=123``), a labelled value in ``PM``, ``AN``, ``ID``, ``U1``-``U5``,
        ``N1`` (``PMID: 123``, Cochrane's ``PUBMED 123``), a bare ``PM`` number, and a bare ``AN``
        number when the record's database (``DB``/``DP``) is MEDLINE or PubMed (Ovid, EBSCO).
        Places that disagree give no PMID; their values are kept in ``extra["pmid_candidates"]``.
        The DOI, when no DOI tag holds one, is read from a ``doi.org`` link (one DOI only).
        """
        urls = [u for tag in _URL_TAGS for u in _as_list(raw.get(tag))]
        pmids = {m.group(1) for u in urls for pat in (_PUBMED_URL, _OVID_MEDLINE_URL)
                 for m in pat.finditer(u)}
        pmids |= {m.group(1) for tag in _PMID_NOTE_TAGS for v in _as_list(raw.get(tag))
                  for m in _PMID_LABEL.finditer(v)}
        database = " ".join(_as_list(raw.get("DB")) + _as_list(raw.get("DP")))
        bare_tags = ("PM", "AN") if _MEDLINE_DB.search(database) and "embase" not in database.lower() \
            else ("PM",)
        pmids |= {v.strip() for tag in bare_tags for v in _as_list(raw.get(tag))
                  if re.fullmatch(r"\s*\d{1,8}\s*", v)}
        pmids = {p.lstrip("0") for p in pmids if p.strip("0")}
        pmcids = {m.group(1).upper() for u in urls for m in _PMC_URL.finditer(u)}
        if len(pmids) == 1:
            rec.pmid = norm.pmid(pmids.pop())
        elif pmids:
            rec.extra["pmid_candidates"] = sorted(pmids, key=int)
        if len(pmcids) == 1:
            rec.pmcid = norm.pmcid(pmcids.pop())
        if rec.doi is None:
            dois = {d for u in urls if (d := norm.doi(u))}
            if len(dois) == 1:
                rec.doi = dois.pop()

    @staticmethod
    def _extra(rec: Record, raw: dict, date: str | None) -> None:
        ty = _first(raw, ("TY",))[1]
        if ty:
            rec.extra["type"] = ty
        if date:
            rec.extra["date"] = date
        for tag, key in OTHER_AUTHOR_TAGS.items():
            names = [a.display for v in _as_list(raw.get(tag)) if (a := parse_person(v))]
            if names:
                rec.extra[key] = names
        for tag, key in (("VL", "volume"), ("IS", "issue"), ("SP", "start_page"), ("EP", "end_page"),
                         ("PB", "publisher")):
            v = _first(raw, (tag,))[1]
            if v:
                rec.extra[key] = v
        urls = [u.strip() for tag in _URL_TAGS for u in _as_list(raw.get(tag))
                if u.strip() and not u.strip().startswith("10.")]  # EBSCO's L3 holds a bare DOI
        if urls:
            rec.extra["urls"] = urls
        doi_raw = _first(raw, ("DO",))[1]
        if doi_raw and not rec.doi:
            rec.extra["doi_raw"] = doi_raw
        for tag, key in (("DB", "database"), ("DP", "database_provider")):
            if (v := _first(raw, (tag,))[1]):
                rec.extra[key] = v
        accessions = [v for v in (norm.collapse_ws(a) for a in _as_list(raw.get("AN"))) if v]
        if accessions:
            rec.extra["accession_numbers"] = accessions
