"""Duplicate detection for ingest: which stored record (if any) an incoming record is another copy of.

Rules, in order (the first that finds a candidate decides):

1. The same source id (an id-keyed source such as a BEIR ``_id``) or the same PMID: the same work.
2. The same DOI, unless both carry different PMIDs, or both have titles that clearly differ
   (:func:`titles_clearly_differ`): book chapters are often exported under the book's DOI.
3. The same normalised title (or, without a title, normalised abstract)
   (:func:`serendip.literature.normalize.title_key`) and year, unless the two carry conflicting
   identifiers (both have a PMID, DOI or source id and they differ) or conflicting evidence: both name
   a first author and the family names differ, or both give a first page and it differs. Two letters
   titled "Reply" in one year are two works.

Missing evidence never blocks a match; only two present, different values do. Among several
candidates the oldest stored record wins (then the earliest in the batch), so the choice is stable.
Lookups are batched (one ``IN`` query per key kind per batch) and fetch only the light columns, so
memory stays flat in file size; see :mod:`serendip.literature.merge` for what happens on a match.
"""
from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from typing import Any

from sqlalchemy import Connection, and_, select

from serendip.literature.normalize import title_key
from serendip.literature.readers import id_keyed_formats, source_id_of
from serendip.literature.record import Record
from serendip.workspace.schema import records

#: two titles whose keys are at least this similar (difflib ratio) are one title with a typo
TITLE_SIMILARITY = 0.9
#: a title key that is a prefix of the other (subtitle dropped) counts as the same title from this length
PREFIX_MIN_CHARS = 15
_NOT_LETTER = re.compile(r"[^a-z]+")
_FIRST_PAGE = re.compile(r"[A-Za-z]?\d+[A-Za-z]?")
_CHUNK = 500


def first_author_key(rec: Record) -> str | None:
    """The first author's family (or collective) name, ASCII-folded, lower-case letters only.

    ``"Öztürk"`` and ``"{\\"O}zt{\\"u}rk"`` (as a reader decodes it) both give ``"ozturk"``; None
    when the record names no author. At most 64 characters (the column width).
    """
    return _author_key(a.family or a.collective for a in rec.authors)


def _author_key(names: Iterable[str | None]) -> str | None:
    """:func:`first_author_key` of the authors' family-or-collective names, in order."""
    for name in names:
        if name:
            folded = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
            key = _NOT_LETTER.sub("", folded)[:64]
            return key or None
    return None


def first_page(rec: Record) -> str | None:
    """The first page as exported (``extra["pages"]`` "123-30", ``extra["start_page"]``), lower-case,
    e.g. ``"123"`` or ``"e1002"``; None when absent or not page-like."""
    return _first_page(rec.extra)


def _first_page(extra: dict) -> str | None:
    raw = extra.get("start_page") or extra.get("pages")
    if not isinstance(raw, str):
        return None
    m = _FIRST_PAGE.search(raw)
    return m.group(0).lower()[:32] if m else None


def titles_clearly_differ(a: str | None, b: str | None) -> bool:
    """True when both titles are present and are not one title: their keys differ, neither is a
    prefix of the other (a dropped subtitle, at least :data:`PREFIX_MIN_CHARS` long), and they are
    less than :data:`TITLE_SIMILARITY` alike (a typo or a transliteration)."""
    ka, kb = title_key(a), title_key(b)
    if not ka or not kb or ka == kb:
        return False
    short, long_ = sorted((ka, kb), key=len)
    if len(short) >= PREFIX_MIN_CHARS and long_.startswith(short):
        return False
    return SequenceMatcher(None, ka, kb, autojunk=False).ratio() < TITLE_SIMILARITY


@dataclass(slots=True)
class Keys:
    """A record's duplicate-detection keys and evidence."""

    pmid: str | None
    doi: str | None
    source_id: str | None
    title_year: str | None
    title: str | None = None
    first_author: str | None = None
    first_page: str | None = None

    @property
    def id_mask(self) -> int:
        """Bit mask of the identifiers present: 1 PMID, 2 DOI, 4 source id."""
        return (1 if self.pmid else 0) | (2 if self.doi else 0) | (4 if self.source_id else 0)

    @property
    def title_key(self) -> str | None:
        return self.title_year.rsplit("|", 1)[0] if self.title_year else None


def keys_of(rec: Record, id_keyed: frozenset[str] | None = None) -> Keys:
    """A record's duplicate-detection keys.

    Its ``source_key`` counts as an identity only for the formats in ``id_keyed`` (default: those
    whose reader declares ``id_keyed``, e.g. a BEIR ``_id``; a citation key is not: case C11).
    """
    return _keys(rec.pmid, rec.doi, rec.source_key, rec.source_format, rec.title, lambda: rec.abstract,
                 rec.year, (a.family or a.collective for a in rec.authors), rec.extra, id_keyed)


def keys_of_dict(d: dict[str, Any], id_keyed: frozenset[str] | None = None) -> Keys:
    """:func:`keys_of` of a record in its JSON form (:meth:`Record.to_dict`, a stored ``data``),
    without building the :class:`Record`: ``keys_of_dict(r.to_dict()) == keys_of(r)``."""
    return _keys(d.get("pmid"), d.get("doi"), d.get("source_key"), d.get("source_format"), d.get("title"),
                 lambda: " ".join(s["text"] for s in d.get("abstract_sections") or () if s.get("text")),
                 d.get("year"), (a.get("family") or a.get("collective") for a in d.get("authors") or ()),
                 d.get("extra") or {}, id_keyed)


def _keys(pmid, doi, source_key, source_format, title, abstract, year, author_names, extra,
          id_keyed: frozenset[str] | None) -> Keys:
    """The :class:`Keys` of one record's fields (``abstract`` a callable: only needed without a title)."""
    if id_keyed is None:
        id_keyed = id_keyed_formats()
    source_id = None
    if source_key and source_format in id_keyed:
        source_id = source_id_of(source_format, source_key)
    tk = title_key(title)
    tk = tk[:200] if tk else None  # index column is 255 wide; 200 chars of letters is identity enough
    if tk is None:  # no title: the abstract's normalised text stands in (hashed to fit the column)
        ak = title_key(abstract())
        tk = "abstract:" + hashlib.sha1(ak.encode()).hexdigest() if ak else None
    title_year = f"{tk}|{year or ''}" if tk else None
    return Keys(pmid, doi, source_id, title_year, title, _author_key(author_names), _first_page(extra))


@dataclass(slots=True)
class Candidate:
    """A record an incoming one may duplicate: a stored row (``target`` its id, an int) or a record
    earlier in the same batch (``target`` whatever the caller keeps for it). ``order`` ranks
    candidates: stored rows by id, then batch records in batch order."""

    target: Any
    order: tuple[int, int]
    keys: Keys
    indexed: set = field(default_factory=set)


def _conflict(a: str | None, b: str | None) -> bool:
    return bool(a and b and a != b)


def _ids_conflict(k: Keys, c: Keys) -> bool:
    return _conflict(k.pmid, c.pmid) or _conflict(k.doi, c.doi) or _conflict(k.source_id, c.source_id)


def same_work(k: Keys, c: Keys) -> str | None:
    """The reason ``k`` and ``c`` are one work (``"PMID 123"``, ``"DOI ..."``, ``"same title and
    year"``), or None. See the module docstring for the rules."""
    if k.source_id and k.source_id == c.source_id:
        return f"id {k.source_id}"
    if k.pmid and k.pmid == c.pmid:
        return f"PMID {k.pmid}"
    if k.doi and k.doi == c.doi and not _conflict(k.pmid, c.pmid) \
            and not titles_clearly_differ(k.title, c.title):
        return f"DOI {k.doi}"
    if k.title_year and k.title_year == c.title_year and not _ids_conflict(k, c) \
            and not _conflict(k.first_author, c.first_author) and not _conflict(k.first_page, c.first_page):
        return "same title and year"
    return None


def _index_keys(k: Keys) -> list[tuple]:
    """Where a record is filed: by each identifier, and by title + year with its identifier mask (a
    title match needs the masks disjoint, so thousands of same-title records with other identifiers
    are never looked at)."""
    out = [(kind, v) for kind, v in (("s", k.source_id), ("p", k.pmid), ("d", k.doi)) if v]
    if k.title_year:
        out.append(("t", k.title_year, k.id_mask))
    return out


@dataclass
class CandidateIndex:
    """Candidates by key value, for one batch: stored rows fetched in bulk plus the batch's own records."""

    by_key: dict[tuple, list[Candidate]] = field(default_factory=dict)

    def add(self, cand: Candidate) -> None:
        """Index ``cand`` under its key values; call again after its keys changed (a merge): entries
        under old values stay, harmlessly, since :func:`same_work` rechecks the current keys."""
        for key in _index_keys(cand.keys):
            if key not in cand.indexed:
                cand.indexed.add(key)
                self.by_key.setdefault(key, []).append(cand)

    def match(self, k: Keys) -> tuple[Candidate, str] | None:
        """The candidate ``k`` duplicates and why, by the module's rules in order, or None."""
        lookups = [(kind, v) for kind, v in (("s", k.source_id), ("p", k.pmid), ("d", k.doi)) if v]
        if k.title_year:
            lookups += [("t", k.title_year, m) for m in range(8) if m & k.id_mask == 0]
        for key in lookups:
            for cand in sorted(self.by_key.get(key, ()), key=lambda c: c.order):
                reason = same_work(k, cand.keys)
                if reason:
                    return cand, reason
        return None


_LIGHT = (records.c.id, records.c.pmid, records.c.doi, records.c.source_id, records.c.title_key,
          records.c.year, records.c.title, records.c.first_author, records.c.first_page)


def _fetch(conn: Connection, where, seen: dict[int, Candidate]) -> None:
    for row in conn.execute(select(*_LIGHT).where(where)):
        if row.id not in seen:
            ty = f"{row.title_key}|{row.year or ''}" if row.title_key else None
            seen[row.id] = Candidate(row.id, (0, row.id), Keys(
                row.pmid, row.doi, row.source_id, ty, row.title, row.first_author, row.first_page))


def stored_candidates(conn: Connection, keys: list[Keys]) -> list[Candidate]:
    """Stored rows sharing a PMID, DOI or source id with any of ``keys``, and rows sharing a title
    key with a record none of whose identifiers is stored, with no identifier that record also has
    (the only ones a title match may join). Light columns only; one query per key kind (title keys:
    per identifier mask, at most 8) per 500 values."""
    seen: dict[int, Candidate] = {}
    for column, values in ((records.c.pmid, {k.pmid for k in keys if k.pmid}),
                           (records.c.doi, {k.doi for k in keys if k.doi}),
                           (records.c.source_id, {k.source_id for k in keys if k.source_id})):
        vals = sorted(values)
        for i in range(0, len(vals), _CHUNK):
            _fetch(conn, column.in_(vals[i:i + _CHUNK]), seen)
    found = {v for c in seen.values() for v in (c.keys.pmid, c.keys.source_id) if v}
    by_mask: dict[int, set[str]] = {}
    for k in keys:
        if k.title_key and not (k.pmid in found or k.source_id in found):
            by_mask.setdefault(k.id_mask, set()).add(k.title_key)
    for mask, values in sorted(by_mask.items()):
        free = [col.is_(None) for bit, col in ((1, records.c.pmid), (2, records.c.doi),
                                               (4, records.c.source_id)) if mask & bit]
        vals = sorted(values)
        for i in range(0, len(vals), _CHUNK):
            _fetch(conn, and_(records.c.title_key.in_(vals[i:i + _CHUNK]), *free), seen)
    return list(seen.values())
