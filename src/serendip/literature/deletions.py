"""PubMed citation deletions (``<DeleteCitation>`` in PubMed update files) applied to stored records.

NLM's daily update files (``PubmedArticleSet``) end with an optional ``<DeleteCitation>`` element
listing the PMIDs PubMed has withdrawn (DTD: ``DeleteCitation (PMID+)``; see
https://www.nlm.nih.gov/databases/download/pubmed_medline.html). The PubMed XML reader yields one
:class:`CitationDeletion` per such element; ingest applies it, in its own transaction, to the records
already stored (:func:`apply_deletions`):

* every stored record with that PMID loses the copies that came from PubMed (formats in
  :data:`PUBMED_FORMATS`: PubMed XML and MEDLINE text, both PubMed's own exports);
* a record no other source holds is deleted;
* a record another file also holds (a RIS, a BibTeX...) is kept with those sources; its merged fields
  stay as they are (fields are not traced to the copy they came from), and the deleted PMID is noted
  in ``extra["pubmed_deleted"]``;
* a PMID no stored record has is counted as not in the workspace (an update file often deletes
  citations a workspace never held): never an error, and still so when the same deletion is applied
  again; one whose record an earlier deletion removed is counted as already deleted (the tombstone
  records whether a stored record had the PMID: ``deleted_citations.held``);
* every PMID is kept as a tombstone (table ``deleted_citations``): a PubMed copy of it read later, as
  when an older baseline file is ingested after the update, is skipped and reported as ``skipped:
  deleted by DeleteCitation in FILE`` (:func:`withdrawn_pmids`, :func:`deleted_in`), so the stored
  records do not depend on the order of the files.

Each deletion or in-place change adds to the workspace's ``changes`` counter, so indexes know they
are stale. Applying the same deletion again changes nothing (idempotent).
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy import Connection, bindparam, delete, insert, select, update

from serendip.literature.merge import _SOURCE_FIELDS, sources_of
from serendip.workspace.schema import deleted_citations, records
from serendip.workspace.store import count_changes

#: the formats whose records are PubMed's own copies (removed by a PubMed deletion)
PUBMED_FORMATS = frozenset({"pubmed", "medline"})
_CHUNK = 500


@dataclass(slots=True)
class CitationDeletion:
    """One ``<DeleteCitation>`` element: the PMIDs (digits) it lists, with its file and line."""

    file: str
    line: int | None
    pmids: list[str] = field(default_factory=list)


@dataclass
class DeletionOutcome:
    """What :func:`apply_deletions` did: the PMIDs whose records were ``deleted``, one ``kept`` line per
    record kept because another source holds it, the PMIDs ``not_found`` (not in the workspace: no
    stored record has them, now or when an earlier deletion withdrew them), and those
    ``already_deleted`` (their records removed by an earlier deletion: a re-applied update file)."""

    deleted: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    not_found: list[str] = field(default_factory=list)
    already_deleted: list[str] = field(default_factory=list)


def withdrawn_pmids(conn: Connection, pmids: Iterable[str]) -> dict[str, tuple[str | None, int | None]]:
    """The PMIDs among ``pmids`` that a ``<DeleteCitation>`` withdrew (tombstones in table
    ``deleted_citations``), each with the file and line of that ``<DeleteCitation>`` (None where not
    recorded); one query per 500 PMIDs."""
    wanted = sorted({p for p in pmids if p})
    out: dict[str, tuple[str | None, int | None]] = {}
    cols = deleted_citations.c
    for i in range(0, len(wanted), _CHUNK):
        stmt = select(cols.pmid, cols.file, cols.line).where(cols.pmid.in_(wanted[i:i + _CHUNK]))
        out.update((pmid, (file, line)) for pmid, file, line in conn.execute(stmt))
    return out


def deleted_in(file: str | None, line: int | None = None) -> str:
    """Where a PMID was withdrawn, for a report: ``"DeleteCitation in update.xml (line 40)"``; a
    tombstone without its file gives ``"DeleteCitation of an earlier ingest"``."""
    if not file:
        return "DeleteCitation of an earlier ingest"
    return f"DeleteCitation in {file}" + (f" (line {line})" if line else "")


def _add_tombstones(conn: Connection, pmids: list[str], held: set[str], deletion: CitationDeletion) -> None:
    if pmids:
        now = datetime.now(timezone.utc)
        conn.execute(insert(deleted_citations), [
            {"pmid": p, "file": deletion.file, "line": deletion.line, "deleted_at": now, "held": p in held}
            for p in pmids])


def _held(conn: Connection, pmids: Iterable[str]) -> dict[str, bool | None]:
    """``deleted_citations.held`` of each tombstoned PMID among ``pmids``."""
    wanted, out, cols = sorted(pmids), {}, deleted_citations.c
    for i in range(0, len(wanted), _CHUNK):
        out.update(conn.execute(select(cols.pmid, cols.held).where(cols.pmid.in_(wanted[i:i + _CHUNK]))).all())
    return out


def _kept_line(pmid: str, row_id: int, rest: list[dict], deletion: CitationDeletion) -> str:
    where = f"{deletion.file}: line {deletion.line}, " if deletion.line else f"{deletion.file}: "
    files = sorted({Path(s.get("file") or "?").name for s in rest})
    return (f"{where}PMID {pmid} deleted by PubMed: record {row_id} kept, still held by "
            f"{', '.join(files)}")


def _without_pubmed(data: dict, rest: list[dict], pmid: str) -> dict:
    """``data`` with only the ``rest`` sources (its ``source_*`` fields from the first of them) and
    ``pmid`` noted in ``extra["pubmed_deleted"]``."""
    out = dict(data)
    out["sources"] = rest
    for k, f in _SOURCE_FIELDS:
        out[f] = rest[0].get(k)
    extra = dict(out.get("extra") or {})
    extra["pubmed_deleted"] = sorted(set(extra.get("pubmed_deleted") or []) | {pmid})
    out["extra"] = {k: extra[k] for k in sorted(extra)}
    return out


def apply_deletions(conn: Connection, deletion: CitationDeletion) -> DeletionOutcome:
    """Apply one ``<DeleteCitation>`` to the stored records, inside the caller's transaction.

    Parameters
    ----------
    conn : an open connection inside a transaction (the whole deletion commits or none of it).
    deletion : the PMIDs to delete, and where they were read (for the report's lines).

    Returns
    -------
    DeletionOutcome
        PMIDs deleted, not in the workspace and already deleted; one line per record kept because other sources
        hold it. Every PMID is kept as a tombstone (see :func:`withdrawn_pmids`).
    """
    from serendip.literature.batch_store import _keys_of_merged, row_of
    from serendip.literature.readers import id_keyed_formats

    out = DeletionOutcome()
    pmids = sorted(set(deletion.pmids))
    rows: dict[str, list[tuple[int, dict]]] = {}
    for i in range(0, len(pmids), _CHUNK):
        stmt = select(records.c.id, records.c.pmid, records.c.data).where(
            records.c.pmid.in_(pmids[i:i + _CHUNK])).order_by(records.c.id)
        for rid, pmid, data in conn.execute(stmt):
            rows.setdefault(pmid, []).append((rid, data))
    held = _held(conn, pmids)  # the tombstoned PMIDs: was a record held when they were withdrawn?
    _add_tombstones(conn, [p for p in pmids if p not in held], set(rows), deletion)
    now_held = [p for p in rows if held.get(p) is False]  # a record with a withdrawn PMID came since
    for i in range(0, len(now_held), _CHUNK):
        conn.execute(update(deleted_citations).where(deleted_citations.c.pmid.in_(now_held[i:i + _CHUNK]))
                     .values(held=True))
    gone: list[int] = []
    changed: list[tuple[int, dict]] = []
    for pmid in pmids:
        if pmid not in rows:
            (out.already_deleted if pmid in held and held[pmid] is not False else out.not_found).append(pmid)
            continue
        for rid, data in rows[pmid]:
            sources = sources_of(data)
            rest = [s for s in sources if s.get("format") not in PUBMED_FORMATS]
            if not rest:
                gone.append(rid)
                continue
            out.kept.append(_kept_line(pmid, rid, rest, deletion))
            new = _without_pubmed(data, rest, pmid)
            if new != data:
                changed.append((rid, new))
        if any(rid in gone for rid, _ in rows[pmid]):
            out.deleted.append(pmid)
    if not gone and not changed:
        return out
    revision = count_changes(conn, len(gone) + len(changed))
    for i in range(0, len(gone), _CHUNK):
        conn.execute(delete(records).where(records.c.id.in_(gone[i:i + _CHUNK])))
    if changed:
        id_keyed = id_keyed_formats()
        cols = ("source_id", "source_file", "source_format", "data")
        stmt = update(records).where(records.c.id == bindparam("row_id")).values(
            {**{c: bindparam(f"v_{c}") for c in cols}, "revision": revision})
        conn.execute(stmt, [{"row_id": rid, **{f"v_{c}": row_of(new, _keys_of_merged(new, id_keyed))[c]
                                                for c in cols}} for rid, new in changed])
    return out
