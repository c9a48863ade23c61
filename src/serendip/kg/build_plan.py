"""Planning and removal for ``kg build`` (:mod:`serendip.kg.build`): which records to read, where their
sentences come from, and the removal of the rows of records deleted from the workspace or changed
since they were read.

:func:`passage_index` gives the workspace's passage index when it was split with today's splitter,
and :func:`indexed_passages` a record's sentences from it (else the build splits the record itself).

:func:`plan` compares each record's digest (:func:`serendip.kg.reading.text_digest`) with the one
``kg_records`` kept. :func:`remove_records` deletes a record's mentions, evidence rows (co-occurrence
and ``cid`` alike) and ``kg_records`` row, then recounts what they touched: an edge's
``sentence_count`` and ``abstract_count`` from the evidence left (an edge of either type left without
evidence is removed), an entity's counts from its mentions left (one left without a mention and an
edge is removed). The score of a ``cid`` edge is set again from its evidence afterwards
(:func:`serendip.kg.build_relations.refresh_cid_scores`).
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from sqlalchemy import Connection, bindparam, delete, func, select, update

from serendip.errors import DataError
from serendip.kg.reading import text_digest
from serendip.kg.store import (
    kg_edges,
    kg_entities,
    kg_evidence,
    kg_mentions,
    kg_records,
)
from serendip.workspace.schema import records

if TYPE_CHECKING:  # pragma: no cover
    from serendip.workbench import Workspace

__all__ = ["chunks", "indexed_passages", "passage_index", "plan", "remove_records"]

#: ids per ``IN (...)`` list
CHUNK = 500


def chunks(items: Sequence, n: int = CHUNK) -> Iterable[Sequence]:
    """``items`` in consecutive slices of at most ``n``."""
    for i in range(0, len(items), n):
        yield items[i:i + n]


def plan(conn: Connection, limit: int | None) -> tuple[list[int], list[int], list[int], int]:
    """(records to read, in id order, at most ``limit``; records changed since read; records read but
    gone from the workspace; records left unread past ``limit``)."""
    seen = dict(conn.execute(select(kg_records.c.record_id, kg_records.c.digest)).all())
    todo, changed = [], []
    present: set[int] = set()
    for rid, title, abstract in conn.execute(select(records.c.id, records.c.title, records.c.abstract)
                                             .order_by(records.c.id)):
        present.add(rid)
        old = seen.get(rid)
        if old is None or old != text_digest(title, abstract):
            todo.append(rid)
            if old is not None:
                changed.append(rid)
    gone = sorted(set(seen) - present)
    left = 0
    if limit is not None and len(todo) > limit:
        todo, left = todo[:limit], len(todo) - limit
        changed = [r for r in changed if r in set(todo)]
    return todo, changed, gone, left


def _recount_edges(conn: Connection, edge_ids: Sequence[int]) -> None:
    """Set the counts of ``edge_ids`` from their evidence rows; remove those left without any."""
    ev = kg_evidence.c
    for chunk in chunks(list(edge_ids)):
        counts = {eid: (n_sent, n_rec) for eid, n_sent, n_rec in conn.execute(
            select(ev.edge_id, func.count(ev.sentence), func.count(ev.record_id.distinct()))
            .where(ev.edge_id.in_(chunk)).group_by(ev.edge_id))}
        empty = [e for e in chunk if e not in counts]
        if empty:
            conn.execute(delete(kg_edges).where(kg_edges.c.id.in_(empty)))
        if counts:
            conn.execute(update(kg_edges).where(kg_edges.c.id == bindparam("eid"))
                         .values(sentence_count=bindparam("ns"), abstract_count=bindparam("nr")),
                         [{"eid": e, "ns": s, "nr": r} for e, (s, r) in counts.items()])


def _recount_entities(conn: Connection, entity_ids: Sequence[int]) -> None:
    """Set the counts of ``entity_ids`` from their mentions; remove those left with no mention and no edge."""
    m = kg_mentions.c
    for chunk in chunks(list(entity_ids)):
        counts = {eid: (n, r) for eid, n, r in conn.execute(
            select(m.entity_id, func.count(), func.count(m.record_id.distinct()))
            .where(m.entity_id.in_(chunk)).group_by(m.entity_id))}
        conn.execute(update(kg_entities).where(kg_entities.c.id == bindparam("eid"))
                     .values(n_mentions=bindparam("n"), n_records=bindparam("r")),
                     [{"eid": e, "n": counts.get(e, (0, 0))[0], "r": counts.get(e, (0, 0))[1]} for e in chunk])
        linked = set(conn.execute(select(kg_edges.c.source_id).where(kg_edges.c.source_id.in_(chunk))).scalars())
        linked |= set(conn.execute(select(kg_edges.c.target_id).where(kg_edges.c.target_id.in_(chunk))).scalars())
        orphans = [e for e in chunk if e not in counts and e not in linked]
        if orphans:
            conn.execute(delete(kg_entities).where(kg_entities.c.id.in_(orphans)))


def remove_records(conn: Connection, record_ids: Sequence[int]) -> set[int]:
    """Remove the graph rows of ``record_ids`` (mentions, evidence, ``kg_records``) and recount what
    they touched; returns the entities touched."""
    edges: set[int] = set()
    entities: set[int] = set()
    for chunk in chunks(list(record_ids)):
        edges |= set(conn.execute(select(kg_evidence.c.edge_id).where(kg_evidence.c.record_id.in_(chunk))).scalars())
        entities |= set(conn.execute(select(kg_mentions.c.entity_id)
                                     .where(kg_mentions.c.record_id.in_(chunk))).scalars())
        conn.execute(delete(kg_evidence).where(kg_evidence.c.record_id.in_(chunk)))
        conn.execute(delete(kg_mentions).where(kg_mentions.c.record_id.in_(chunk)))
        conn.execute(delete(kg_records).where(kg_records.c.record_id.in_(chunk)))
    _recount_edges(conn, sorted(edges))
    _recount_entities(conn, sorted(entities))
    return entities


def passage_index(ws: Workspace):
    """The workspace's passage index when it was split with today's splitter, else None (the build
    splits every record itself, as it would without one)."""
    from serendip.errors import IndexDamaged, IndexNotBuilt
    from serendip.evidence.passage_index import FOLDER, PassageIndex
    from serendip.evidence.passages import splitter_name

    try:
        index = PassageIndex.load(ws.index_dir / FOLDER)
    except (IndexNotBuilt, IndexDamaged, DataError):
        return None
    return index if index.meta.get("splitter") == splitter_name() else None


def indexed_passages(pindex, row):
    """The record's passages from the passage index, or None (no index, the record is not in it, or
    its text changed since: the digest differs)."""
    if pindex is None:
        return None
    try:
        return pindex.passages(row.id, row.title, row.abstract)
    except DataError:
        return None
