"""``kg build``: the workspace's records -> NER -> MeSH normalisation -> co-occurrence edges, stored in
the workspace database (:mod:`serendip.kg.store`).

:func:`build` reads, in batches of ``batch`` records (title and abstract), every record the graph has
not read yet or whose text changed since (:class:`~serendip.kg.store.kg_records` keeps a digest per
record), tags them (a :mod:`~serendip.kg.taggers` tagger), normalises the mentions
(:class:`~serendip.kg.normalise.Normaliser`) and reads them into mentions and entity pairs
(:func:`serendip.kg.reading.read_record`). Each batch is one transaction: its mentions, new entities,
new edges, the counts added to existing ones, its evidence rows and its ``kg_records`` rows, so a
killed build keeps the batches it finished and the next build reads only the rest.

Counts: an edge's ``sentence_count`` is the number of sentences holding both entities and its
``abstract_count`` the number of records holding both; an entity's ``n_records`` the records
mentioning it. Once the batches are written, every co-occurrence edge's NPMI (and ``score``) is set
over the records read (``kg_records``, those without any entity included; Bouma 2009, as
:func:`serendip.kg.graph.npmi`), and the touched entities take the surface form their mentions use
most as their ``name`` (ties: the alphabetically first).

Records deleted from the workspace, or changed in place, lose their rows first (their edges' and
entities' counts recomputed from what remains; an edge or entity left with nothing is removed). A
second build over unchanged records adds nothing.
"""
from __future__ import annotations

import datetime as dt
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, bindparam, delete, func, insert, select, update

from serendip.core.progress import Steps, start_step
from serendip.errors import ConfigError, DataError
from serendip.kg.reading import RecordRead, read_record, text_digest
from serendip.kg.store import (
    COOCCURRENCE,
    KG_TABLES,
    graph_counts,
    kg_builds,
    kg_edges,
    kg_entities,
    kg_evidence,
    kg_mentions,
    kg_records,
)
from serendip.workspace.schema import records

if TYPE_CHECKING:  # pragma: no cover
    from serendip.workbench import Workspace

__all__ = ["BuildReport", "build"]

#: ids per ``IN (...)`` list
_CHUNK = 500


@dataclass
class BuildReport:
    """What :func:`build` did: the build's id, ``tagger`` and ``normaliser`` (its cache file);
    ``records_read`` (records tagged by this build: new or changed), ``records_removed`` (records whose
    old rows were removed: deleted from the workspace or changed), ``records_left`` (records still
    unread, when ``limit`` stopped the build early), ``mentions_added``, ``passages_reused`` (records
    whose sentences came from the workspace's passage index instead of the splitter), ``unsplit`` (ids of records the
    sentence splitter failed on: each field counted as one sentence), ``counts`` (the graph after it:
    records, entities, mentions, edges, evidence), ``seconds`` (wall) and ``docs_per_s``."""

    build_id: int
    tagger: str
    normaliser: str
    records_read: int = 0
    records_removed: int = 0
    records_left: int = 0
    mentions_added: int = 0
    passages_reused: int = 0
    unsplit: list[int] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def docs_per_s(self) -> float:
        return self.records_read / self.seconds if self.seconds > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "docs_per_s": round(self.docs_per_s, 2)}


def _chunks(items: Sequence, n: int = _CHUNK) -> Iterable[Sequence]:
    for i in range(0, len(items), n):
        yield items[i:i + n]


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


# -- planning and removal ------------------------------------------------------------------------------
def _plan(conn: Connection, limit: int | None) -> tuple[list[int], list[int], list[int], int]:
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
    for chunk in _chunks(list(edge_ids)):
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
    for chunk in _chunks(list(entity_ids)):
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


def _remove_records(conn: Connection, record_ids: Sequence[int]) -> set[int]:
    """Remove the graph rows of ``record_ids`` (mentions, evidence, ``kg_records``) and recount what
    they touched; returns the entities touched."""
    edges: set[int] = set()
    entities: set[int] = set()
    for chunk in _chunks(list(record_ids)):
        edges |= set(conn.execute(select(kg_evidence.c.edge_id).where(kg_evidence.c.record_id.in_(chunk))).scalars())
        entities |= set(conn.execute(select(kg_mentions.c.entity_id)
                                     .where(kg_mentions.c.record_id.in_(chunk))).scalars())
        conn.execute(delete(kg_evidence).where(kg_evidence.c.record_id.in_(chunk)))
        conn.execute(delete(kg_mentions).where(kg_mentions.c.record_id.in_(chunk)))
        conn.execute(delete(kg_records).where(kg_records.c.record_id.in_(chunk)))
    _recount_edges(conn, sorted(edges))
    _recount_entities(conn, sorted(entities))
    return entities


# -- writing a batch ---------------------------------------------------------------------------------
class _Ids:
    """Entity key -> id and entity-id pair -> co-occurrence edge id, loaded once, extended as rows are added."""

    def __init__(self, conn: Connection):
        self.entities: dict[str, int] = dict(conn.execute(select(kg_entities.c.key, kg_entities.c.id)).all())
        e = kg_edges.c
        self.edges: dict[tuple[int, int], int] = {
            (s, t): i for i, s, t in conn.execute(select(e.id, e.source_id, e.target_id).where(e.type == COOCCURRENCE))}
        self.touched: set[int] = set()

    def add_entities(self, conn: Connection, reads: list[RecordRead]) -> None:
        new: dict[str, dict] = {}
        for rec in reads:
            for m in rec.mentions:
                if m.key not in self.entities and m.key not in new:
                    new[m.key] = {"key": m.key, "type": m.type, "mesh_id": m.mesh_id, "name": m.text,
                                  "n_mentions": 0, "n_records": 0}
        if new:
            stmt = insert(kg_entities).returning(kg_entities.c.key, kg_entities.c.id, sort_by_parameter_order=True)
            self.entities.update(dict(conn.execute(stmt, list(new.values())).all()))


def _edge_increments(reads: list[RecordRead], ids: _Ids) -> dict[tuple[int, int], list]:
    """(source id, target id) -> [sentence rows to add, records to add, evidence rows]."""
    out: dict[tuple[int, int], list] = {}
    for rec in reads:
        texts = {p.number: p for p in rec.passages}
        for ka, kb in rec.record_pairs:
            a, b = sorted((ids.entities[ka], ids.entities[kb]))
            entry = out.setdefault((a, b), [0, 0, []])
            entry[1] += 1
            sentences = rec.sentence_pairs.get((ka, kb), [])
            entry[0] += len(sentences)
            base = {"record_id": rec.record_id, "pmid": rec.pmid}
            if not sentences:
                entry[2].append({**base, "sentence": None, "field": None, "char_start": None, "char_end": None,
                                 "text": None})
            for s in sentences:
                p = texts[s]
                entry[2].append({**base, "sentence": s, "field": p.field, "char_start": p.start,
                                 "char_end": p.end, "text": p.text})
    return out


def _write_edges(conn: Connection, reads: list[RecordRead], ids: _Ids) -> None:
    inc = _edge_increments(reads, ids)
    new = [pair for pair in inc if pair not in ids.edges]
    if new:
        stmt = insert(kg_edges).returning(kg_edges.c.id, sort_by_parameter_order=True)
        rows = [{"source_id": a, "target_id": b, "type": COOCCURRENCE, "sentence_count": inc[(a, b)][0],
                 "abstract_count": inc[(a, b)][1]} for a, b in new]
        for pair, eid in zip(new, conn.execute(stmt, rows).scalars().all()):
            ids.edges[pair] = eid
    fresh = set(new)
    old = [{"eid": ids.edges[p], "ds": v[0], "dr": v[1]} for p, v in inc.items() if p not in fresh]
    if old:
        e = kg_edges.c
        conn.execute(update(kg_edges).where(e.id == bindparam("eid"))
                     .values(sentence_count=e.sentence_count + bindparam("ds"),
                             abstract_count=e.abstract_count + bindparam("dr")), old)
    evidence = [{"edge_id": ids.edges[p], **row} for p, v in inc.items() for row in v[2]]
    if evidence:
        conn.execute(insert(kg_evidence), evidence)


def _write_batch(conn: Connection, reads: list[RecordRead], ids: _Ids, build_id: int) -> int:
    """Store the records read; returns the mentions added."""
    ids.add_entities(conn, reads)
    mentions = [{"entity_id": ids.entities[m.key], "record_id": rec.record_id, "pmid": rec.pmid,
                 "sentence": m.sentence, "field": m.field, "char_start": m.start, "char_end": m.end,
                 "text": m.text, "method": m.method, "score": m.score} for rec in reads for m in rec.mentions]
    if mentions:
        conn.execute(insert(kg_mentions), mentions)
    n_mentions: Counter = Counter(row["entity_id"] for row in mentions)
    n_records: Counter = Counter(e for rec in reads for e in {ids.entities[m.key] for m in rec.mentions})
    if n_mentions:
        c = kg_entities.c
        conn.execute(update(kg_entities).where(c.id == bindparam("eid"))
                     .values(n_mentions=c.n_mentions + bindparam("dm"), n_records=c.n_records + bindparam("dr")),
                     [{"eid": e, "dm": n, "dr": n_records[e]} for e, n in n_mentions.items()])
        ids.touched.update(n_mentions)
    _write_edges(conn, reads, ids)
    conn.execute(insert(kg_records), [{"record_id": rec.record_id, "digest": rec.digest, "build_id": build_id,
                                       "n_mentions": len(rec.mentions), "split": rec.split} for rec in reads])
    return len(mentions)


def _passage_index(ws: Workspace):
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


def _indexed_passages(pindex, row):
    """The record's passages from the passage index, or None (no index, the record is not in it, or
    its text changed since: the digest differs)."""
    if pindex is None:
        return None
    try:
        return pindex.passages(row.id, row.title, row.abstract)
    except DataError:
        return None


def _read_batch(engine, record_ids: Sequence[int], tagger, normaliser, pindex=None) -> list[RecordRead]:
    """Fetch, tag and read a batch of records (outside any write transaction: tagging can be slow);
    sentences from ``pindex`` (:func:`_passage_index`) where it holds the record as stored."""
    r = records.c
    with engine.connect() as conn:
        rows = conn.execute(select(r.id, r.pmid, r.title, r.abstract).where(r.id.in_(list(record_ids)))
                            .order_by(r.id)).all()
    texts = [t or "" for row in rows for t in (row.title, row.abstract)]
    spans = tagger.tag(texts)
    return [read_record(row.id, row.pmid, row.title, row.abstract, (spans[2 * i], spans[2 * i + 1]), normaliser,
                        passages=_indexed_passages(pindex, row))
            for i, row in enumerate(rows)]


# -- finishing ------------------------------------------------------------------------------------------
def _finish(conn: Connection, touched: set[int]) -> None:
    """NPMI and score of every co-occurrence edge over the records read; names of the ``touched`` entities."""
    from serendip.kg.graph import npmi

    n_docs = conn.execute(select(func.count()).select_from(kg_records)).scalar_one()
    n_x = dict(conn.execute(select(kg_entities.c.id, kg_entities.c.n_records)).all())
    e = kg_edges.c
    changes = []
    for eid, a, b, n_xy, old in conn.execute(select(e.id, e.source_id, e.target_id, e.abstract_count, e.npmi)
                                             .where(e.type == COOCCURRENCE)):
        value = npmi(n_xy, n_x[a], n_x[b], n_docs) if n_docs else None
        if value != old:
            changes.append({"eid": eid, "v": value})
    if changes:
        conn.execute(update(kg_edges).where(e.id == bindparam("eid")).values(npmi=bindparam("v"), score=bindparam("v")),
                     changes)
    m = kg_mentions.c
    for chunk in _chunks(sorted(touched)):
        best: dict[int, tuple[int, str]] = {}
        for eid, text, n in conn.execute(select(m.entity_id, m.text, func.count()).where(m.entity_id.in_(chunk))
                                         .group_by(m.entity_id, m.text)):
            if eid not in best or (-n, text) < (-best[eid][0], best[eid][1]):
                best[eid] = (n, text)
        if best:
            conn.execute(update(kg_entities).where(kg_entities.c.id == bindparam("eid")).values(name=bindparam("nm")),
                         [{"eid": k, "nm": v[1]} for k, v in best.items()])


def _start(conn: Connection, tagger: str, normaliser: str, rebuild: bool) -> int:
    """Clear the graph (``rebuild``) or check its tagger; record the build as running; its id."""
    if rebuild:
        for t in KG_TABLES:
            conn.execute(delete(t))
    elif conn.execute(select(kg_entities.c.id).limit(1)).first() is not None:
        last = conn.execute(select(kg_builds.c.tagger).where(kg_builds.c.status == "done")
                            .order_by(kg_builds.c.id.desc()).limit(1)).scalar_one_or_none()
        if last is not None and last != tagger:
            raise ConfigError(f"the workspace's knowledge graph was built with tagger {last!r}, not {tagger!r}: "
                              f"run `serendip kg build --rebuild` to build it again with {tagger!r}")
    return conn.execute(insert(kg_builds).values(started_at=_now(), status="running", tagger=tagger,
                                                 normaliser=normaliser, records_read=0, records_removed=0)
                        ).inserted_primary_key[0]


def build(ws: Workspace, tagger: str = "dictionary", *, batch: int = 64, limit: int | None = None,
          rebuild: bool = False, training: Sequence[str | Path] | None = None, steps: Steps | None = None,
          tagger_options: dict[str, Any] | None = None) -> BuildReport:
    """Bring the workspace's knowledge graph up to date with its records (module docstring).

    Parameters
    ----------
    ws : Workspace
    tagger : str, default "dictionary"
        A tagger of :data:`serendip.kg.taggers.TAGGERS` or a fine-tuned ``token`` run folder
        (:func:`serendip.kg.taggers.make_tagger`).
    batch : int, default 64
        Records per batch (tagged together, written in one transaction).
    limit : int, optional
        Read at most this many of the records still to read (the rest stay for the next build).
    rebuild : bool, default False
        Remove the whole graph first (needed to change the tagger).
    training : list of paths, optional
        PubTator files the dictionary and the normaliser are fitted on (default: BC5CDR train + dev,
        :func:`serendip.kg.taggers.training_documents`).
    steps : callable, optional
        :mod:`serendip.core.progress` steps: one step ``"kg build"`` counting the records read.
    tagger_options : dict, optional
        Passed to the model tagger (``window``, ``overlap``, ``batch_size``, ``device``).

    Returns
    -------
    BuildReport

    Raises
    ------
    WorkspaceReadOnly
        The workspace was opened without write access.
    ConfigError
        ``batch`` < 1 or ``limit`` < 0; an unknown tagger; the graph was built with another tagger
        (without ``rebuild``).
    ParseError, DatasetNotFound, DataError
        The training files cannot be read; a tagger gave a span outside its text.
    """
    from serendip.kg.taggers import load_normaliser, make_tagger, training_documents
    from serendip.workspace.locks import kg_lock

    ws.store.require_writable("kg build")
    if batch < 1 or (limit is not None and limit < 0):
        raise ConfigError(f"kg build needs batch >= 1 and limit >= 0; got batch {batch}, limit {limit}")
    t0 = time.perf_counter()
    docs, paths = training_documents(training)
    tg = make_tagger(tagger, docs, **(tagger_options or {}))
    normaliser, norm_name = load_normaliser(ws.path / "models" / "kg", docs, paths)
    engine = ws.engine
    with kg_lock(ws.path):
        with engine.begin() as conn:
            build_id = _start(conn, tg.name, norm_name, rebuild)
        report = BuildReport(build_id, tg.name, norm_name)
        try:
            _run(engine, report, tg, normaliser, batch, limit, steps, _passage_index(ws))
        except BaseException:
            with engine.begin() as conn:
                conn.execute(update(kg_builds).where(kg_builds.c.id == build_id)
                             .values(status="failed", finished_at=_now(), records_read=report.records_read))
            raise
        report.counts = graph_counts(engine)
        report.seconds = time.perf_counter() - t0
        with engine.begin() as conn:
            conn.execute(update(kg_builds).where(kg_builds.c.id == build_id).values(
                status="done", finished_at=_now(), records_read=report.records_read,
                records_removed=report.records_removed, counts=report.counts))
    return report


def _run(engine, report: BuildReport, tagger, normaliser, batch: int, limit: int | None, steps: Steps | None,
         pindex=None) -> None:
    with engine.begin() as conn:
        todo, changed, gone, report.records_left = _plan(conn, limit)
        touched = _remove_records(conn, changed + gone) if changed or gone else set()
        report.records_removed = len(changed) + len(gone)
        ids = _Ids(conn)
        ids.touched |= touched
    advance = start_step(steps, "kg build", len(todo))
    for chunk in _chunks(todo, batch):
        reads = _read_batch(engine, chunk, tagger, normaliser, pindex)
        with engine.begin() as conn:
            report.mentions_added += _write_batch(conn, reads, ids, report.build_id)
        report.records_read += len(reads)
        report.passages_reused += sum(r.reused for r in reads)
        report.unsplit.extend(r.record_id for r in reads if not r.split)
        advance(len(chunk))
    with engine.begin() as conn:
        _finish(conn, ids.touched)
