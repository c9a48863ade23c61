"""Storing one batch of incoming records: new works inserted, copies of stored works merged into them.

One call per batch inside the batch's transaction, with a fixed number of queries whatever the batch
holds: candidate lookups per key kind (:func:`serendip.literature.dedupe.stored_candidates`), one
fetch of the matched stored records' JSON, one bulk insert and one bulk update. Incoming records are
taken in their JSON form (as ingest passes them), so keys, rows and merges need no :class:`Record`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, bindparam, select, update

from serendip.literature.dedupe import (
    Candidate,
    CandidateIndex,
    Keys,
    keys_of_dict,
    stored_candidates,
)
from serendip.literature.deletions import PUBMED_FORMATS, deleted_in, withdrawn_pmids
from serendip.literature.merge import already_merged, merge_dicts, source_entry
from serendip.literature.prepared import PreparedRecord, as_dict
from serendip.literature.readers import id_keyed_formats, source_id_of
from serendip.literature.record import Record, record_label
from serendip.workspace.postgres import insert_records
from serendip.workspace.schema import records
from serendip.workspace.store import count_changes

#: a value shown in a conflict line is cut to this many characters
SHOW_CHARS = 80


@dataclass
class BatchOutcome:
    """What :func:`store_batch` did: ``new`` records inserted, ``duplicates`` records that were
    copies of a stored (or earlier) one, of which ``merged`` changed it, one ``conflicts`` line per
    conflicting value kept as an alternative, and the ``withdrawn`` PMIDs whose PubMed copies were
    skipped (see :mod:`serendip.literature.deletions`): one ``withdrawn_lines`` line per copy (its
    file, line and PMID, and the ``<DeleteCitation>`` that withdrew it) and ``withdrawn_by``, the
    number of copies per ``<DeleteCitation>`` file (keyed ``"DeleteCitation in update.xml"``:
    :func:`~serendip.literature.deletions.deleted_in`)."""

    new: int = 0
    duplicates: int = 0
    merged: int = 0
    conflicts: list[str] = field(default_factory=list)
    #: PMIDs of PubMed copies skipped because a ``<DeleteCitation>`` withdrew them
    withdrawn: list[str] = field(default_factory=list)
    withdrawn_lines: list[str] = field(default_factory=list)
    withdrawn_by: dict[str, int] = field(default_factory=dict)


@dataclass(slots=True)
class _Target:
    """A record being written by this batch: a stored row (``row_id``) or a new one (None)."""

    row_id: int | None
    data: dict[str, Any] | None
    keys: Keys | None = None
    changed: bool = False


def _keys_of_merged(data: dict, id_keyed: frozenset[str]) -> Keys:
    """Keys of a (possibly merged) stored copy; its source id is the smallest id-keyed source."""
    k = keys_of_dict(data, id_keyed)
    ids = sorted(source_id_of(s["format"], s["key"]) for s in data.get("sources") or ()
                 if s.get("key") and s.get("format") in id_keyed)
    if ids:
        k.source_id = ids[0]
    return k


#: the columns :func:`row_of` gives, ``data`` aside, in its order
ROW_COLUMNS = ("pmid", "doi", "pmcid", "source_id", "title_key", "year", "title", "abstract", "journal",
               "source_file", "source_format", "first_author", "first_page")


def row_of(data: dict, keys: Keys) -> dict:
    """The ``records`` row (without ``id`` and ``ingest_id``) for a stored copy in JSON form."""
    abstract = " ".join(s["text"] for s in data.get("abstract_sections") or () if s.get("text"))
    return {"pmid": data.get("pmid"), "doi": data.get("doi"), "pmcid": data.get("pmcid"),
            "source_id": keys.source_id, "title_key": keys.title_key, "year": data.get("year"),
            "title": data.get("title"), "abstract": abstract or None, "journal": data.get("journal"),
            "source_file": data.get("source_file"), "source_format": data.get("source_format"),
            "first_author": keys.first_author, "first_page": keys.first_page, "data": data}


def _show(v: Any) -> str:
    if isinstance(v, list):  # an abstract (sections) or an author list
        v = " ".join(s.get("text") or "" for s in v) if v and "text" in v[0] else "; ".join(
            a.get("family") or a.get("collective") or "" for a in v)
    s = str(v)
    return repr(s if len(s) <= SHOW_CHARS else s[:SHOW_CHARS - 1] + "…")


def _conflict_lines(rec: dict, target: _Target, conflicts: list) -> list[str]:
    into = f"record {target.row_id}" if target.row_id is not None else "a record of the same batch"
    line, file = rec.get("source_line"), rec.get("source_file")
    where = f"{file}: line {line}, " if line else f"{file}: "
    return [f"{where}{record_label(rec)} merged into {into}: {f} kept {_show(primary)}, alternative "
            + ", ".join(_show(a) for a in alts) for f, primary, alts in conflicts]


def _fetch_data(conn: Connection, ids: set[int]) -> dict[int, dict]:
    out: dict[int, dict] = {}
    vals = sorted(ids)
    for i in range(0, len(vals), 500):
        stmt = select(records.c.id, records.c.data).where(records.c.id.in_(vals[i:i + 500]))
        out.update((rid, data) for rid, data in conn.execute(stmt))
    return out


def _withdrawn_line(rec: dict, file: str | None, line: int | None) -> str:
    """``"base.xml: line 12, PMID 31000001: skipped: deleted by DeleteCitation in update.xml (line 40)"``."""
    src_line, src_file = rec.get("source_line"), rec.get("source_file")
    where = f"{src_file}: line {src_line}, " if src_line else f"{src_file}: "
    return f"{where}{record_label(rec)}: skipped: deleted by {deleted_in(file, line)}"


def _without_withdrawn(conn: Connection, batch: list[dict], out: BatchOutcome) -> list[dict]:
    """``batch`` less the PubMed copies of PMIDs a ``<DeleteCitation>`` withdrew (each reported in
    ``out``); one query (per 500 PMIDs) when the batch holds PubMed copies, none otherwise."""
    pubmed = [r.get("pmid") for r in batch if r.get("source_format") in PUBMED_FORMATS and r.get("pmid")]
    gone = withdrawn_pmids(conn, pubmed) if pubmed else {}
    if not gone:
        return batch
    kept = []
    for r in batch:
        tomb = gone.get(r.get("pmid")) if r.get("source_format") in PUBMED_FORMATS else None
        if tomb is None:
            kept.append(r)
            continue
        out.withdrawn.append(r.get("pmid"))
        out.withdrawn_lines.append(_withdrawn_line(r, *tomb))
        by = deleted_in(tomb[0])
        out.withdrawn_by[by] = out.withdrawn_by.get(by, 0) + 1
    return kept


def store_batch(conn: Connection, batch: list[dict[str, Any] | Record], ingest_id: int) -> BatchOutcome:
    """Insert the new works of ``batch`` and merge its copies of stored works into them.

    Parameters
    ----------
    conn : an open connection inside the batch's transaction.
    batch : records as read, in file order: each in its JSON form (:meth:`Record.to_dict`, as ingest
        passes them: a parsing child sends that form, so no :class:`Record` is rebuilt), made ready
        to store by a parsing worker (:class:`~serendip.literature.prepared.PreparedRecord`), or a Record.
        A dict is stored as the record's ``data`` (it gets a ``sources`` entry), so it must not be
        shared with the caller's other uses.
    ingest_id : the running ingest's report id (stored on inserted rows).

    Returns
    -------
    BatchOutcome
    """
    id_keyed = id_keyed_formats()
    batch = [r if isinstance(r, (dict, PreparedRecord)) else r.to_dict() for r in batch]
    out = BatchOutcome()
    batch = _without_withdrawn(conn, batch, out)
    keys = [r.keys if isinstance(r, PreparedRecord) else keys_of_dict(r, id_keyed) for r in batch]
    index = CandidateIndex()
    stored = stored_candidates(conn, keys)
    for cand in stored:
        cand.target = _Target(cand.target, None, cand.keys)
        index.add(cand)
    # one fetch for the stored records the batch (as read) matches; a match that only appears after
    # an in-batch merge changed some keys is fetched on its own (rare)
    first = {m[0].target.row_id for k in keys if (m := index.match(k))} if stored else set()
    fetched = _fetch_data(conn, first) if first else {}
    for cand in stored:
        cand.target.data = fetched.get(cand.target.row_id)
    new: list[_Target] = []
    for i, (incoming, k) in enumerate(zip(batch, keys)):
        m = index.match(k)
        if m is None:
            if not isinstance(incoming, PreparedRecord):  # a prepared record holds its entry already
                incoming["sources"] = [source_entry(incoming)]
            target = _Target(None, incoming, k)
            new.append(target)
            index.add(Candidate(target, (1, i), k))
            continue
        incoming = as_dict(incoming)
        cand = m[0]
        target = cand.target
        if target.data is None:
            target.data = _fetch_data(conn, {target.row_id})[target.row_id]
        target.data = as_dict(target.data)
        out.duplicates += 1
        if already_merged(target.data, incoming):
            continue
        merged, conflicts = merge_dicts(target.data, incoming)
        out.conflicts.extend(_conflict_lines(incoming, target, conflicts))
        if merged != target.data:
            out.merged += 1
            target.data, target.changed = merged, True
            cand.keys = target.keys = _keys_of_merged(merged, id_keyed)
            index.add(cand)
    _write(conn, new, [c.target for c in stored if c.target.changed], ingest_id)
    out.new = len(new)
    return out


_UPDATED = ("pmid", "doi", "pmcid", "source_id", "title_key", "year", "title", "abstract", "journal",
            "source_file", "source_format", "first_author", "first_page", "data")


def _write(conn: Connection, new: list[_Target], changed: list[_Target], ingest_id: int) -> None:
    """One bulk insert of the new records, one bulk update of the stored records merges changed
    (stamped with the workspace's new ``changes`` count, so indexes know they are stale)."""
    if new:
        insert_records(conn, [{**(t.data.row() if isinstance(t.data, PreparedRecord) else row_of(t.data, t.keys)),
                               "ingest_id": ingest_id} for t in new])
    if changed:
        revision = count_changes(conn, len(changed))
        stmt = update(records).where(records.c.id == bindparam("row_id")).values(
            {**{c: bindparam(f"v_{c}") for c in _UPDATED}, "revision": revision})
        rows = []
        for t in changed:
            row = row_of(t.data, t.keys)
            rows.append({"row_id": t.row_id, **{f"v_{c}": row[c] for c in _UPDATED}})
        conn.execute(stmt, rows)
