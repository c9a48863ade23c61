"""Duplicate detection for ingest: by PMID, DOI and source id, then by normalised title + year.

Rules (in order):

1. A record sharing its PMID, DOI or source id (an id-keyed source such as a BEIR ``_id``) with a stored
   record is a duplicate.
2. Otherwise, a record whose normalised title (or, without a title, normalised abstract)
   (:func:`serendip.literature.normalize.title_key`) and year equal a stored record's is a duplicate,
   unless the two carry conflicting identifiers (both have a PMID, DOI or source id and they differ) -
   two different works may share a title such as "Summary".

Lookups are batched (one ``IN`` query per key per batch) so memory stays flat in file size.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass

from sqlalchemy import Connection, case, select

from serendip.literature.normalize import title_key
from serendip.literature.readers import id_keyed_formats
from serendip.literature.record import Record
from serendip.workspace.schema import records


@dataclass(slots=True)
class Keys:
    pmid: str | None
    doi: str | None
    source_id: str | None
    title_year: str | None

    @property
    def id_mask(self) -> int:
        """Bit mask of the identifiers present: 1 PMID, 2 DOI, 4 source id."""
        return (1 if self.pmid else 0) | (2 if self.doi else 0) | (4 if self.source_id else 0)


def keys_of(rec: Record, id_keyed: frozenset[str] | None = None) -> Keys:
    """A record's duplicate-detection keys.

    Its ``source_key`` counts as an identity only for the formats in ``id_keyed`` (default: those
    whose reader declares ``id_keyed``, e.g. a BEIR ``_id``; a citation key is not: case C11).
    """
    if id_keyed is None:
        id_keyed = id_keyed_formats()
    source_id = None
    if rec.source_key and rec.source_format in id_keyed:
        source_id = f"{rec.source_format}:{rec.source_key}"
    tk = title_key(rec.title)
    tk = tk[:200] if tk else None  # index column is 255 wide; 200 chars of letters is identity enough
    if tk is None:  # no title: the abstract's normalised text stands in (hashed to fit the column)
        ak = title_key(rec.abstract)
        tk = "abstract:" + hashlib.sha1(ak.encode()).hexdigest() if ak else None
    title_year = f"{tk}|{rec.year or ''}" if tk else None
    return Keys(rec.pmid, rec.doi, source_id, title_year)


class Deduplicator:
    """Finds, for a batch of records, which are duplicates of stored records or of each other.

    A title + year match counts unless identifiers conflict. Two records conflict when both carry
    the same kind of identifier with different values (equal values were caught by the identifier
    rules already), so a title match is a duplicate iff some stored record with that title and year
    lacks every identifier kind the new record has: ``stored_mask & new_mask == 0``. Only the distinct
    masks per title are fetched (at most 8), so thousands of "Reply" letters cost nothing extra.
    """

    def __init__(self, conn: Connection):
        self.conn = conn

    def _ids(self, column, values: set[str]) -> set[str]:
        vals = sorted(v for v in values if v)
        found: set[str] = set()
        for i in range(0, len(vals), 500):
            found.update(v for (v,) in self.conn.execute(select(column).where(column.in_(vals[i:i + 500]))))
        return found

    def _title_masks(self, title_years: set[str]) -> dict[str, set[int]]:
        out: dict[str, set[int]] = {}
        tks = sorted({ty.rsplit("|", 1)[0] for ty in title_years})
        mask = (case((records.c.pmid.is_(None), 0), else_=1)
                + case((records.c.doi.is_(None), 0), else_=2)
                + case((records.c.source_id.is_(None), 0), else_=4))
        for i in range(0, len(tks), 500):
            stmt = (select(records.c.title_key, records.c.year, mask).distinct()
                    .where(records.c.title_key.in_(tks[i:i + 500])))
            for tk, year, m in self.conn.execute(stmt):
                out.setdefault(f"{tk}|{year or ''}", set()).add(int(m))
        return out

    def split(self, batch: list[Record]) -> tuple[list[tuple[Record, Keys]], list[tuple[Record, str]]]:
        """Split a batch into (new records with their keys, duplicates with the reason)."""
        id_keyed = id_keyed_formats()
        keys = [keys_of(r, id_keyed) for r in batch]
        pmids = self._ids(records.c.pmid, {k.pmid for k in keys if k.pmid})
        dois = self._ids(records.c.doi, {k.doi for k in keys if k.doi})
        sids = self._ids(records.c.source_id, {k.source_id for k in keys if k.source_id})
        titles = self._title_masks({k.title_year for k in keys if k.title_year})
        new: list[tuple[Record, Keys]] = []
        dups: list[tuple[Record, str]] = []
        for rec, k in zip(batch, keys):
            reason = None
            if k.pmid and k.pmid in pmids:
                reason = f"PMID {k.pmid}"
            elif k.doi and k.doi in dois:
                reason = f"DOI {k.doi}"
            elif k.source_id and k.source_id in sids:
                reason = f"id {k.source_id}"
            elif k.title_year and any(m & k.id_mask == 0 for m in titles.get(k.title_year, ())):
                reason = "same title and year"
            if reason:
                dups.append((rec, reason))
                continue
            new.append((rec, k))
            # later records of the same batch see this one as stored
            if k.pmid:
                pmids.add(k.pmid)
            if k.doi:
                dois.add(k.doi)
            if k.source_id:
                sids.add(k.source_id)
            if k.title_year:
                titles.setdefault(k.title_year, set()).add(k.id_mask)
        return new, dups
