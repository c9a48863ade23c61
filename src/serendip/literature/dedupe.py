"""Duplicate detection for ingest: by PMID, DOI and source id, then by normalised title + year.

Rules (in order):

1. A record sharing its PMID, DOI or source id (an id-keyed source such as a BEIR ``_id``) with a stored
   record is a duplicate.
2. Otherwise, a record whose normalised title (:func:`serendip.literature.normalize.title_key`) and year
   equal a stored record's is a duplicate, unless the two carry conflicting identifiers (both have a
   PMID, DOI or source id and they differ) - two different works may share a title such as "Summary".

Lookups are batched (one ``IN`` query per key per batch) so memory stays flat in file size.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, select

from serendip.literature.normalize import title_key
from serendip.literature.record import Record
from serendip.workspace.schema import records

#: formats whose record id is an identity (a citation key is not: case C11)
ID_KEYED_FORMATS = {"beir", "jsonl"}


@dataclass(slots=True)
class Keys:
    pmid: str | None
    doi: str | None
    source_id: str | None
    title_year: str | None

    def conflicts(self, other: "Keys") -> bool:
        return any(
            a is not None and b is not None and a != b
            for a, b in ((self.pmid, other.pmid), (self.doi, other.doi),
                         (self.source_id, other.source_id))
        )


def keys_of(rec: Record) -> Keys:
    source_id = None
    if rec.source_key and rec.source_format in ID_KEYED_FORMATS:
        source_id = f"{rec.source_format}:{rec.source_key}"
    tk = title_key(rec.title)
    tk = tk[:200] if tk else None  # index column is 255 wide; 200 chars of letters is identity enough
    title_year = f"{tk}|{rec.year or ''}" if tk else None
    return Keys(rec.pmid, rec.doi, source_id, title_year)


class Deduplicator:
    """Finds, for a batch of records, which are duplicates of stored records or of each other."""

    def __init__(self, conn: Connection):
        self.conn = conn

    def _stored(self, column, values: set[str]) -> dict[str, list[Keys]]:
        out: dict[str, list[Keys]] = {}
        vals = [v for v in values if v]
        for i in range(0, len(vals), 500):
            chunk = vals[i:i + 500]
            if column is records.c.title_key:
                stmt = select(records.c.pmid, records.c.doi, records.c.source_id, records.c.title_key,
                              records.c.year).where(column.in_([c.split("|", 1)[0] for c in chunk]))
            else:
                stmt = select(records.c.pmid, records.c.doi, records.c.source_id, records.c.title_key,
                              records.c.year).where(column.in_(chunk))
            for pmid, doi, sid, tk, year in self.conn.execute(stmt):
                k = Keys(pmid, doi, sid, f"{tk}|{year or ''}" if tk else None)
                key = {records.c.pmid: pmid, records.c.doi: doi, records.c.source_id: sid,
                       records.c.title_key: k.title_year}[column]
                out.setdefault(key, []).append(k)
        return out

    def split(self, batch: list[Record]) -> tuple[list[tuple[Record, Keys]], list[tuple[Record, str]]]:
        """Split a batch into (new records with their keys, duplicates with the reason)."""
        keys = [keys_of(r) for r in batch]
        by_pmid = self._stored(records.c.pmid, {k.pmid for k in keys if k.pmid})
        by_doi = self._stored(records.c.doi, {k.doi for k in keys if k.doi})
        by_sid = self._stored(records.c.source_id, {k.source_id for k in keys if k.source_id})
        by_title = self._stored(records.c.title_key, {k.title_year for k in keys if k.title_year})
        new: list[tuple[Record, Keys]] = []
        dups: list[tuple[Record, str]] = []
        for rec, k in zip(batch, keys):
            reason = None
            if k.pmid and k.pmid in by_pmid:
                reason = f"PMID {k.pmid}"
            elif k.doi and k.doi in by_doi:
                reason = f"DOI {k.doi}"
            elif k.source_id and k.source_id in by_sid:
                reason = f"id {k.source_id}"
            elif k.title_year and any(not k.conflicts(o) for o in by_title.get(k.title_year, [])):
                reason = "same title and year"
            if reason:
                dups.append((rec, reason))
                continue
            new.append((rec, k))
            # later records of the same batch see this one as stored
            if k.pmid:
                by_pmid.setdefault(k.pmid, []).append(k)
            if k.doi:
                by_doi.setdefault(k.doi, []).append(k)
            if k.source_id:
                by_sid.setdefault(k.source_id, []).append(k)
            if k.title_year:
                by_title.setdefault(k.title_year, []).append(k)
        return new, dups
