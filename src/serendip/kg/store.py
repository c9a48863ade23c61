"""The knowledge graph in the workspace database: entities, mentions, edges and their evidence.

Tables (SQLAlchemy Core, on the workspace's :data:`serendip.workspace.schema.metadata`; created by the
Alembic revision ``0007`` of :mod:`serendip.workspace.migrations`, which spells out the same columns,
as every revision does; ``tests/unit/kg/test_kg_store.py`` checks that a migrated database and these
definitions agree). The same schema runs on SQLite and PostgreSQL.

* ``kg_builds``: one row per ``kg build`` or ``kg import``: when, the tagger (``"dictionary"``,
  ``"model:<run folder>"``, or ``"import:<file>"``), the normaliser's cache key, what it did, the counts after it;
  ``relations`` and ``relation_threshold``: the CID classifier's run folder and threshold of a
  ``kg build --relations`` (NULL without; revision ``0010``).
* ``kg_records``: the records a build has read (new records are those absent here), each with the
  digest of its title and abstract as read (a record changed since is read again), the build, its
  mention count and whether its text could be cut into sentences. No foreign key to ``records``: a
  record deleted from the workspace (a PubMed ``<DeleteCitation>``, :mod:`serendip.literature.deletions`)
  keeps its graph rows until the next build removes them (the literature package never imports kg).
  Until then every query leaves them out (below).
* ``kg_entities``: ``type`` (``Chemical``/``Disease``), ``mesh_id`` (a MeSH id, or None for an
  unresolved mention's entity), ``name`` (the surface form its mentions use most, a name before a
  short form: :func:`serendip.kg.build.entity_name`), ``key`` (unique, :func:`entity_key`),
  ``n_mentions`` and ``n_records`` (records mentioning it).
* ``kg_mentions``: entity, record id, PMID, ``sentence`` (the passage number of
  :func:`serendip.evidence.passages.split_record`: 0 the title, then the abstract's sentences),
  ``field`` (0 title, 1 abstract) and ``char_start``/``char_end`` (code points into that field's
  stored text, as :mod:`serendip.evidence.passages` defines offsets), the surface ``text``, the
  normalisation ``method`` (:data:`serendip.kg.normalise.METHODS`) and its ``score`` (0-100).
* ``kg_edges``: an entity pair (``source_id < target_id``), ``type`` (``cooccurrence``; ``cid`` for the
  relation classifier), ``sentence_count`` (sentences holding both), ``abstract_count`` (records
  holding both), ``npmi`` (over the records read, :func:`serendip.kg.graph.npmi`) and ``score``
  (co-occurrence: the NPMI; ``cid``: the classifier's highest probability over its records).
* ``kg_evidence``: per edge, one row per sentence holding both entities (``sentence``, ``field``,
  ``char_start``/``char_end`` of the sentence and its ``text``) and one row with those NULL for a record
  that holds both in different sentences only; with the ``record_id`` (NULL for evidence imported from
  a workspace whose record is not here) and the ``pmid``. A ``cid`` edge has one row per record the
  classifier found the relation in: its evidence sentence (:mod:`serendip.kg.build_relations`) and
  ``score``, the probability in that record (NULL for co-occurrence rows; revision ``0010``).

Records deleted since the last build. An evidence row whose record the workspace no longer holds
(:func:`evidence_gone`: no ``records`` row with its ``record_id``, or one with another PMID, as when
SQLite gives a new record the id of a deleted one) is left out by every query at query time: the
evidence sentences and counts of :mod:`serendip.kg.query`, the graph its discovery and link prediction
run on (an edge whose evidence is all gone is no edge), and ``kg export``. :func:`deleted_records`
counts those records, and :func:`deleted_warning` is the line the commands print. Left as they are
until the next build: entity counts and names, and the NPMI of an edge that keeps some evidence (it
stands as the last build computed it, over the records read then).
"""
from __future__ import annotations

import hashlib
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    ColumnElement,
    Connection,
    DateTime,
    Engine,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    and_,
    exists,
    func,
    or_,
    select,
)

from serendip.errors import GraphNotBuilt
from serendip.workspace.schema import metadata, records

__all__ = ["COOCCURRENCE", "KG_TABLES", "MAX_KEY_CHARS", "deleted_records", "deleted_warning", "entity_key",
           "evidence_gone", "graph_counts", "kg_builds", "kg_edges", "kg_entities", "kg_evidence", "kg_mentions",
           "kg_records", "require_graph", "unfinished_build", "unfinished_warning"]

#: The co-occurrence edge type
COOCCURRENCE = "cooccurrence"
#: Longest entity key kept as written; a longer unresolved surface form is keyed by its start and a digest
MAX_KEY_CHARS = 300

kg_builds = Table(
    "kg_builds", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True)),
    # running | done | failed (a 'running' row left behind means the build was killed)
    Column("status", String(16), nullable=False),
    Column("tagger", Text, nullable=False),
    Column("normaliser", Text),
    Column("records_read", Integer, nullable=False, default=0),
    Column("records_removed", Integer, nullable=False, default=0),
    Column("counts", JSON),
    # the CID classifier's run folder and threshold (NULL: built without relations); revision 0010
    Column("relations", Text),
    Column("relation_threshold", Float),
)

kg_records = Table(
    "kg_records", metadata,
    Column("record_id", Integer, primary_key=True, autoincrement=False),
    Column("digest", String(32), nullable=False),
    Column("build_id", Integer, ForeignKey("kg_builds.id"), nullable=False),
    Column("n_mentions", Integer, nullable=False),
    # False: the sentence splitter failed on its text; each field was one sentence (reported by the build)
    Column("split", Boolean, nullable=False),
)

kg_entities = Table(
    "kg_entities", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("key", String(400), nullable=False, unique=True),
    Column("type", String(32), nullable=False),
    Column("mesh_id", String(64), index=True),
    Column("name", Text, nullable=False),
    Column("n_mentions", Integer, nullable=False, default=0),
    Column("n_records", Integer, nullable=False, default=0),
)

kg_mentions = Table(
    "kg_mentions", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("entity_id", Integer, ForeignKey("kg_entities.id"), nullable=False, index=True),
    Column("record_id", Integer, nullable=False, index=True),
    Column("pmid", String(32)),
    Column("sentence", Integer, nullable=False),
    Column("field", Integer, nullable=False),
    Column("char_start", Integer, nullable=False),
    Column("char_end", Integer, nullable=False),
    Column("text", Text, nullable=False),
    Column("method", String(16), nullable=False),
    Column("score", Float, nullable=False),
)

kg_edges = Table(
    "kg_edges", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("source_id", Integer, ForeignKey("kg_entities.id"), nullable=False),
    Column("target_id", Integer, ForeignKey("kg_entities.id"), nullable=False, index=True),
    Column("type", String(32), nullable=False),
    Column("sentence_count", Integer, nullable=False, default=0),
    Column("abstract_count", Integer, nullable=False, default=0),
    Column("npmi", Float),
    Column("score", Float),
    UniqueConstraint("source_id", "target_id", "type", name="uq_kg_edges_pair"),
)

kg_evidence = Table(
    "kg_evidence", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("edge_id", Integer, ForeignKey("kg_edges.id"), nullable=False, index=True),
    Column("record_id", Integer, index=True),
    Column("pmid", String(32)),
    Column("sentence", Integer),
    Column("field", Integer),
    Column("char_start", Integer),
    Column("char_end", Integer),
    Column("text", Text),
    # cid evidence: the classifier's probability of the pair in this record (NULL: co-occurrence); revision 0010
    Column("score", Float),
)

Index("ix_kg_mentions_record_entity", kg_mentions.c.record_id, kg_mentions.c.entity_id)

#: Every kg table, children first (the order rows are deleted in)
KG_TABLES = (kg_evidence, kg_edges, kg_mentions, kg_entities, kg_records, kg_builds)


def entity_key(type: str, mesh_id: str | None, form: str) -> str:
    """The unique key of an entity: ``"<type>:<MeSH id>"`` for a resolved one, ``"<type>:?<form>"`` for
    an unresolved one (``form``: the surface form's :func:`~serendip.kg.normalise.normal_form`), so each
    distinct unresolved surface form is one entity. A key over :data:`MAX_KEY_CHARS` characters keeps
    its first 250 and a SHA-256 digest of the whole (``"…#<16 hex>"``)."""
    key = f"{type}:{mesh_id}" if mesh_id else f"{type}:?{form}"
    if len(key) > MAX_KEY_CHARS:
        key = f"{key[:250]}…#{hashlib.sha256(key.encode()).hexdigest()[:16]}"
    return key


def graph_counts(engine: Engine) -> dict[str, int]:
    """``{"records", "entities", "mentions", "edges", "evidence"}``: rows of each kg table (records:
    those read by a build)."""
    tables = {"records": kg_records, "entities": kg_entities, "mentions": kg_mentions, "edges": kg_edges,
              "evidence": kg_evidence}
    with engine.connect() as conn:
        return {name: conn.execute(select(func.count()).select_from(t)).scalar_one() for name, t in tables.items()}


def require_graph(engine: Engine, where: str = "this workspace") -> None:
    """Raise :class:`~serendip.errors.GraphNotBuilt` when the database holds no entity yet, saying
    why and what to run: no build yet (``serendip kg build``); a build over a workspace without records
    (``serendip ingest`` first); a build that read records but tagged no entity in them."""
    with engine.connect() as conn:
        if conn.execute(select(kg_entities.c.id).limit(1)).first() is not None:
            return
        built = conn.execute(select(func.count()).select_from(kg_builds).where(kg_builds.c.status == "done")).scalar_one()
        n_records = conn.execute(select(func.count()).select_from(records)).scalar_one()
        n_read = conn.execute(select(func.count()).select_from(kg_records)).scalar_one()
    if not built:
        raise GraphNotBuilt(f"{where} holds no knowledge graph yet: run `serendip kg build` (or `serendip kg "
                            f"import FILE`) first")
    if not n_records:
        raise GraphNotBuilt(f"the knowledge graph of {where} is empty: the workspace holds no records. Run "
                            f"`serendip ingest FILE` first, then `serendip kg build`")
    raise GraphNotBuilt(f"the knowledge graph of {where} is empty: `serendip kg build` read {n_read:,} of its "
                        f"{n_records:,} records and found no chemical or disease mention in their titles and "
                        f"abstracts. Ingest records with abstracts, then run `serendip kg build` again")


def evidence_gone(table=kg_evidence) -> ColumnElement[bool]:
    """A SQL condition on ``kg_evidence`` rows (``table``: the table or an alias of it), true for a row
    whose record the workspace no longer holds: it has a ``record_id`` and no ``records`` row has that
    id with the same PMID (a row without a PMID: with that id). Rows without a ``record_id`` (imported
    evidence whose record is not here) never count as gone. A correlated ``NOT EXISTS`` on the
    records' primary key, so a query filtering with ``~evidence_gone()`` reads the evidence it reads
    anyway and looks up one record per row."""
    ev, held = table.c, records.alias("held_record")
    same = exists().where(held.c.id == ev.record_id, or_(ev.pmid.is_(None), held.c.pmid == ev.pmid))
    return and_(ev.record_id.is_not(None), ~same)


def deleted_records(conn: Connection) -> int:
    """How many records the graph holds rows of that the workspace no longer holds (deleted since the
    last ``kg build``, or since ``kg import`` linked evidence to them). For a built graph: the
    ``kg_records`` rows without a ``records`` row of that id, or whose record has another PMID than
    their mentions (one query over ``kg_records``, one mention looked up per record); for an imported
    graph (no ``kg_records`` rows): the distinct records of evidence rows that :func:`evidence_gone`
    marks (one pass over the evidence)."""
    k, ev, m, held = kg_records.c, kg_evidence.c, kg_mentions.c, records.alias("held_record")
    if conn.execute(select(k.record_id).limit(1)).first() is None:
        ids = select(ev.record_id).where(evidence_gone()).distinct().subquery()
        return conn.execute(select(func.count()).select_from(ids)).scalar_one()
    read_pmid = select(m.pmid).where(m.record_id == k.record_id).limit(1).scalar_subquery()
    stmt = (select(func.count()).select_from(kg_records.outerjoin(held, held.c.id == k.record_id))
            .where(or_(held.c.id.is_(None), func.coalesce(held.c.pmid, "") != read_pmid)))
    return conn.execute(stmt).scalar_one()


def deleted_warning(n: int) -> str:
    """The line a kg command prints when :func:`deleted_records` found ``n`` > 0 records."""
    were = "record was" if n == 1 else "records were"
    return (f"{n:,} {were} deleted from the workspace since the last `serendip kg build`: their evidence is left "
            f"out here; run `serendip kg build` to remove their rows (`--rebuild` for an imported graph)")


def unfinished_build(conn: Connection) -> Any:
    """The graph's last ``kg_builds`` row (highest id) when it is not ``done`` (``failed``: stopped by
    Ctrl-C or an error; ``running``: still running, or killed), else None; None without any build."""
    b = kg_builds.c
    last = conn.execute(select(b.id, b.status, b.records_read).order_by(b.id.desc()).limit(1)).first()
    return last if last is not None and last.status != "done" else None


def unfinished_warning(row: Any) -> str:
    """The line a kg command prints when :func:`unfinished_build` found ``row``."""
    if row.status == "running":
        how = "has not finished (it is still running, or was killed)"
    else:
        n = row.records_read
        how = f"stopped after reading {n:,} record{'' if n == 1 else 's'} (Ctrl-C, a kill or an error)"
    return (f"the last `serendip kg build` {how}: the graph is incomplete; run `serendip kg build` again to "
            f"finish it")


def unread_records(conn: Connection) -> int:
    """Records of the workspace a built graph has not read yet (0 when no record was ever read: no
    graph to call incomplete). They are left by ``kg build --limit`` or ingested since the last build."""
    read = conn.execute(select(func.count()).select_from(kg_records)).scalar_one()
    if not read:
        return 0
    return conn.execute(select(func.count()).select_from(records)
                        .where(~records.c.id.in_(select(kg_records.c.record_id)))).scalar_one()


def unread_warning(n: int) -> str:
    """The line a kg command prints when :func:`unread_records` found ``n`` > 0 records."""
    were = "record is" if n == 1 else "records are"
    return (f"{n:,} {were} not in the graph yet (left by `kg build --limit`, or ingested since the last "
            f"build): run `serendip kg build` to read them")
