"""Queries over the stored knowledge graph: entities by MeSH id or name, the graph around entities as
networkx, and the paths between two entities with each edge's evidence sentences and PMIDs.

Paths are found by :mod:`serendip.kg.discovery` (closed discovery: the direct edge when the two
entities co-occur, and the best two-hop paths A–B–C ranked by their weakest edge's NPMI) on the graph
of the edges incident to the two entities, loaded from the store (:func:`load_graph`): every two-hop
path between A and C runs through those edges only, so the answer is the one the whole graph gives.

Evidence of records deleted from the workspace since the last ``kg build`` is left out of every answer
(:func:`~serendip.kg.store.evidence_gone`): an edge whose evidence is all gone is not in the graph, and
:attr:`PathsResult.deleted_records` counts those records so the command can say a rebuild removes them.
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import Connection, Engine, case, func, or_, select

from serendip.errors import DataError
from serendip.kg.normalise import normal_form
from serendip.kg.store import (
    COOCCURRENCE,
    deleted_records,
    evidence_gone,
    kg_edges,
    kg_entities,
    kg_evidence,
    kg_mentions,
    require_graph,
)
from serendip.workspace.schema import records

__all__ = ["Entity", "PathsResult", "close_matches", "edge_evidence_rows", "evidence_totals", "find_entity",
           "load_graph", "paths"]

#: A MeSH descriptor or supplementary-concept id (``D001241``, ``C012345``), optionally ``Type:``-prefixed
_MESH_ID = re.compile(r"^[CD]\d{6,9}$")


@dataclass(frozen=True)
class Entity:
    """A stored entity: ``id``, ``key``, ``type``, ``mesh_id`` (None: unresolved), ``name``,
    ``n_mentions``, ``n_records``."""

    id: int
    key: str
    type: str
    mesh_id: str | None
    name: str
    n_mentions: int
    n_records: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def label(self) -> str:
        """``name (MeSH id, type)``, or ``name (unresolved type)``."""
        return f"{self.name} ({self.mesh_id}, {self.type})" if self.mesh_id else f"{self.name} (unresolved {self.type})"


_COLUMNS = (kg_entities.c.id, kg_entities.c.key, kg_entities.c.type, kg_entities.c.mesh_id, kg_entities.c.name,
            kg_entities.c.n_mentions, kg_entities.c.n_records)


def _best(rows: Iterable) -> Entity | None:
    found = [Entity(*r) for r in rows]
    return min(found, key=lambda e: (-e.n_mentions, e.id)) if found else None


def _by_name(conn: Connection, query: str, typ: str | None) -> Entity | None:
    key = normal_form(query)
    c = kg_entities.c
    typed = (lambda stmt: stmt.where(c.type == typ)) if typ else (lambda stmt: stmt)
    rows = [r for r in conn.execute(typed(select(*_COLUMNS))) if normal_form(r.name) == key]
    if rows:
        return _best(rows)
    ids = {eid for eid, text in conn.execute(select(kg_mentions.c.entity_id, kg_mentions.c.text).distinct())
           if normal_form(text) == key}
    if not ids:
        return None
    return _best(conn.execute(typed(select(*_COLUMNS).where(c.id.in_(sorted(ids))))))


def find_entity(engine: Engine, query: str) -> Entity:
    """The entity ``query`` names: a MeSH id (``D001241``), ``Type:MeSH id`` (``Chemical:D001241``), an
    entity key, or a name (compared by :func:`~serendip.kg.normalise.normal_form` with entity names,
    then with the surface forms of their mentions; ``Type:name`` restricts the type). Several matches:
    the entity with most mentions.

    Raises
    ------
    GraphNotBuilt
        The workspace holds no graph.
    DataError
        No entity matches (the message names the query).
    """
    require_graph(engine)
    q = query.strip()
    typ, _, rest = q.partition(":")
    if not rest or not typ.isalpha():
        typ, rest = "", q
    c = kg_entities.c
    with engine.connect() as conn:
        types = set(conn.execute(select(c.type).distinct()).scalars())
        if typ and typ not in types:
            typ, rest = "", q
        found = _best(conn.execute(select(*_COLUMNS).where(c.key == q)))
        if found is None and _MESH_ID.match(rest):
            stmt = select(*_COLUMNS).where(c.mesh_id == rest)
            found = _best(conn.execute(stmt.where(c.type == typ) if typ else stmt))
        if found is None and rest:
            found = _by_name(conn, rest, typ or None)
        n = conn.execute(select(func.count()).select_from(kg_entities)).scalar_one()
    if found is None:
        near = close_matches(engine, rest or q)
        hint = f"; close: {', '.join(e.label() for e in near)}" if near else ""
        raise DataError(f"entity {query!r} is not in the knowledge graph ({n:,} entities): give a MeSH id "
                        f"(e.g. D001241), Type:MeSH id, or a name as the records write it{hint}")
    return found


def close_matches(engine: Engine, name: str, *, n: int = 3, cutoff: float = 80.0) -> list[Entity]:
    """Up to ``n`` entities whose name is close to ``name``: rapidfuzz ``ratio`` (normalised Indel
    similarity, 0-100) of the two :func:`~serendip.kg.normalise.normal_form` forms at least ``cutoff``,
    best first (ties: more mentions first). One pass over the entity names; [] for a blank name."""
    from rapidfuzz import fuzz, process

    key = normal_form(name)
    if not key:
        return []
    with engine.connect() as conn:
        ents = [Entity(*r) for r in conn.execute(select(*_COLUMNS))]
    found = process.extract(key, [normal_form(e.name) for e in ents], scorer=fuzz.ratio, limit=None,
                            score_cutoff=cutoff)
    found.sort(key=lambda m: (-m[1], -ents[m[2]].n_mentions, ents[m[2]].id))
    return [ents[i] for _, _, i in found[:n]]


def edge_evidence_rows(conn: Connection, edge_ids: Sequence[int], limit: int | None = None) -> dict[int, list[dict]]:
    """``{edge id: [{"record_id", "pmid", "source_id", "sentence", "field", "char_start", "char_end", "text",
    "title"}, ...]}``: sentence evidence first (by record, sentence), then records holding both entities
    in different sentences only (``sentence``, offsets and ``text`` None); ``source_id`` and ``title`` are
    the record's (None when the record is not in this workspace); at most ``limit`` rows per edge.
    Rows of records deleted from the workspace since the last build are left out
    (:func:`~serendip.kg.store.evidence_gone`)."""
    ev = kg_evidence.c
    out: dict[int, list[dict]] = {e: [] for e in edge_ids}
    keys = ("record_id", "pmid", "source_id", "sentence", "field", "char_start", "char_end", "text", "title")
    for i in range(0, len(edge_ids), 500):
        chunk = list(edge_ids[i:i + 500])
        rows = conn.execute(
            select(ev.edge_id, ev.record_id, ev.pmid, records.c.source_id, ev.sentence, ev.field, ev.char_start,
                   ev.char_end, ev.text, records.c.title).select_from(kg_evidence.outerjoin(records, records.c.id == ev.record_id))
            .where(ev.edge_id.in_(chunk), ~evidence_gone())
            .order_by(ev.edge_id, ev.sentence.is_(None), ev.record_id, ev.sentence, ev.id))
        for r in rows:
            if limit is None or len(out[r.edge_id]) < limit:
                out[r.edge_id].append({k: getattr(r, k) for k in keys})
    return out


def load_graph(engine: Engine, around: Iterable[int] | None = None, edge_type: str = COOCCURRENCE):
    """The stored graph as a :class:`networkx.Graph` (the form :mod:`serendip.kg.graph` builds), without
    the evidence of records deleted from the workspace since the last build
    (:func:`~serendip.kg.store.evidence_gone`): an edge whose evidence is all gone is left out (so
    discovery and link prediction over this graph never use it), and the counts of an edge that keeps
    some evidence are those of the evidence it keeps (its NPMI stays as the last build set it).

    Parameters
    ----------
    around : iterable of entity ids, optional
        Only the edges incident to these entities (and their end points); None: the whole graph.
    edge_type : str, default "cooccurrence"

    Returns
    -------
    networkx.Graph
        Nodes: entity keys, with ``id``, ``name``, ``type``, ``mesh_id`` and ``count`` (records
        mentioning it). Edges: ``id``, ``count`` (records holding both), ``sentence_count``, ``npmi``
        (None when not computed: relation edges, an imported edge without one), ``score``, ``first_year`` (None: records are not dated here) and
        ``pmids`` (sorted evidence PMIDs; ``record <id>`` for a record without one).
    """
    import networkx as nx

    e = kg_edges.c
    with engine.connect() as conn:
        stmt = select(e.id, e.source_id, e.target_id, e.abstract_count, e.sentence_count, e.npmi, e.score).where(
            e.type == edge_type)
        wanted = None if around is None else sorted(set(around))
        if wanted is not None:
            stmt = stmt.where(or_(e.source_id.in_(wanted), e.target_id.in_(wanted)))
        edges = conn.execute(stmt).all()
        pmids, gone = _edge_evidence(conn, sorted(r.id for r in edges))
        edges = [r for r in edges if pmids[r.id] or r.id not in gone]
        node_ids = {i for r in edges for i in (r.source_id, r.target_id)} | set(wanted or ())
        if wanted is None:
            nodes = {r.id: Entity(*r) for r in conn.execute(select(*_COLUMNS))}
        else:
            ids, nodes = sorted(node_ids), {}
            for i in range(0, len(ids), 500):
                nodes.update((r.id, Entity(*r)) for r in conn.execute(
                    select(*_COLUMNS).where(kg_entities.c.id.in_(ids[i:i + 500]))))
    g = nx.Graph()
    for ent in nodes.values():
        g.add_node(ent.key, id=ent.id, name=ent.name, type=ent.type, mesh_id=ent.mesh_id, count=ent.n_records)
    for r in edges:
        n_records, n_sentences = gone.get(r.id, (0, 0))
        g.add_edge(nodes[r.source_id].key, nodes[r.target_id].key, id=r.id, count=r.abstract_count - n_records,
                   sentence_count=r.sentence_count - n_sentences, npmi=r.npmi,
                   score=r.score, first_year=None,
                   pmids=sorted(pmids[r.id], key=lambda p: (not p.isdigit(), len(p), p)))
    return g


def _edge_evidence(conn: Connection, edge_ids: Sequence[int]) -> tuple[dict[int, set[str]], dict[int, tuple[int, int]]]:
    """(``{edge id: PMIDs of its kept evidence}``, ``{edge id: (records, sentence rows) of its evidence
    whose record is gone}``, the latter only for edges with such evidence), 500 edges a query."""
    ev = kg_evidence.c
    pmids: dict[int, set[str]] = {i: set() for i in edge_ids}
    gone_records: dict[int, set[int]] = {}
    gone_sentences: dict[int, int] = {}
    is_gone = case((evidence_gone(), 1), else_=0).label("gone")
    for i in range(0, len(edge_ids), 500):
        for eid, rid, pmid, sentence, gone in conn.execute(
                select(ev.edge_id, ev.record_id, ev.pmid, ev.sentence, is_gone)
                .where(ev.edge_id.in_(list(edge_ids[i:i + 500])))):
            if not gone:
                pmids[eid].add(pmid or f"record {rid}")
                continue
            gone_records.setdefault(eid, set()).add(rid)
            gone_sentences[eid] = gone_sentences.get(eid, 0) + (sentence is not None)
    return pmids, {eid: (len(rids), gone_sentences[eid]) for eid, rids in gone_records.items()}


@dataclass
class PathsResult:
    """Paths between ``source`` and ``target`` (:class:`Entity`): ``direct`` (the edge between them, or
    None) and ``paths`` (two-hop paths, best first); each edge a dict with ``source``, ``target`` (keys),
    ``source_name``, ``target_name``, ``sentence_count``, ``abstract_count``, ``npmi``, ``n_evidence``
    and ``evidence`` (see :func:`edge_evidence_rows`). ``deleted_records``: records deleted from the
    workspace since the last build (:func:`~serendip.kg.store.deleted_records`), whose evidence was
    left out of this answer."""

    source: Entity
    target: Entity
    direct: dict | None
    paths: list[dict]
    deleted_records: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.source.to_dict(), "target": self.target.to_dict(), "linked": self.direct is not None,
                "direct": self.direct, "paths": self.paths, "deleted_records": self.deleted_records}


def paths(engine: Engine, a: str, b: str, *, k: int = 5, evidence: int = 3) -> PathsResult:
    """The direct edge and the ``k`` best two-hop paths between the entities ``a`` and ``b`` named as
    :func:`find_entity` reads them, each edge with up to ``evidence`` evidence rows; evidence of records
    deleted since the last build left out (:func:`load_graph`), and counted in ``deleted_records``.

    Raises
    ------
    GraphNotBuilt
        The workspace holds no graph.
    DataError
        ``a`` or ``b`` names no entity, or both name the same one; ``k`` < 1 or ``evidence`` < 0.
    """
    from serendip.kg.discovery import closed_discovery

    if k < 1 or evidence < 0:
        raise DataError(f"kg paths needs k >= 1 and evidence >= 0; got k {k}, evidence {evidence}")
    src, dst = find_entity(engine, a), find_entity(engine, b)
    if src.id == dst.id:
        raise DataError(f"{a!r} and {b!r} name the same entity, {src.label()}: give two entities")
    g = load_graph(engine, around=(src.id, dst.id))
    found = closed_discovery(g, src.key, dst.key, k=k)
    hops = [(x.source, x.target) for x in ([found.direct] if found.direct else [])]
    hops += [(e.source, e.target) for p in found.paths for e in p.edges]
    with engine.connect() as conn:
        rows = edge_evidence_rows(conn, sorted({g.edges[u, v]["id"] for u, v in hops}), limit=evidence)
        totals = evidence_totals(conn, sorted({g.edges[u, v]["id"] for u, v in hops}))
        n_deleted = deleted_records(conn)

    def edge(u: str, v: str) -> dict:
        d = g.edges[u, v]
        return {"source": u, "target": v, "source_name": g.nodes[u]["name"], "target_name": g.nodes[v]["name"],
                "sentence_count": d["sentence_count"], "abstract_count": d["count"], "npmi": d["npmi"],
                "n_evidence": totals.get(d["id"], 0), "evidence": rows[d["id"]]}

    direct = edge(src.key, dst.key) if found.linked else None
    out = [{"nodes": [{"key": n, "name": g.nodes[n]["name"]} for n in p.nodes], "score": p.score,
            "edges": [edge(e.source, e.target) for e in p.edges]} for p in found.paths]
    return PathsResult(src, dst, direct, out, n_deleted)


def evidence_totals(conn: Connection, edge_ids: Sequence[int]) -> dict[int, int]:
    """``{edge id: evidence rows kept}`` (rows of deleted records left out, :func:`~serendip.kg.store.evidence_gone`);
    an edge with none kept is absent. 500 edges a query."""
    ev = kg_evidence.c
    out: dict[int, int] = {}
    for i in range(0, len(edge_ids), 500):
        out.update(conn.execute(select(ev.edge_id, func.count())
                                .where(ev.edge_id.in_(list(edge_ids[i:i + 500])), ~evidence_gone())
                                .group_by(ev.edge_id)).all())
    return out
