"""Questions about one entity of the stored knowledge graph: what it is (:func:`show_entity`), what it
co-occurs with (:func:`neighbours`) and what it may be linked to next (:func:`discover`, Swanson's open
ABC discovery; closed discovery is :func:`serendip.kg.query.paths`).

Entities are named as :func:`serendip.kg.query.find_entity` reads them (MeSH id, ``Type:MeSH id``, key
or name; an unknown one is a :class:`~serendip.errors.DataError` naming close matches). Every answer
leaves out the evidence and mentions of records deleted from the workspace since the last ``kg build``
(:func:`~serendip.kg.store.evidence_gone`) and counts those records in ``deleted_records``, as
:func:`~serendip.kg.query.paths` does; the graph is read with :func:`~serendip.kg.query.load_graph`
around the entity only, except for the link scorers that need degrees beyond two hops
(:data:`LOCAL_SCORERS` lists those that do not).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import Connection, Engine, func, select

from serendip.errors import ConfigError, DataError
from serendip.kg.query import (
    Entity,
    edge_evidence_rows,
    evidence_totals,
    find_entity,
    load_graph,
)
from serendip.kg.store import (
    COOCCURRENCE,
    deleted_records,
    evidence_gone,
    kg_edges,
    kg_entities,
    kg_mentions,
)
from serendip.workspace.schema import records

__all__ = ["LOCAL_SCORERS", "NEIGHBOUR_ORDERS", "DiscoveryResult", "EntityView", "NeighboursResult",
           "discover", "edge_types", "neighbours", "show_entity"]

#: ``--by`` of :func:`neighbours` -> sort key of a neighbour dict (best first; ties by name, case
#: folded, then key); an edge without NPMI (not computed yet: a build that did not finish) ranks last by it
NEIGHBOUR_ORDERS = {
    "npmi": lambda n: (-_npmi(n), -n["abstract_count"], -n["sentence_count"], n["name"].casefold(), n["key"]),
    "records": lambda n: (-n["abstract_count"], -n["sentence_count"], -_npmi(n), n["name"].casefold(), n["key"]),
    "score": lambda n: (-(n["score"] or 0.0), -n["abstract_count"], n["name"].casefold(), n["key"]),
}


def _npmi(n: dict) -> float:
    """A neighbour's NPMI for ranking: -2 (below any NPMI) when it has none."""
    return -2.0 if n["npmi"] is None else n["npmi"]


#: Link scorers whose score of (A, C) reads only A's neighbours B and their degrees (common neighbours,
#: Adamic-Adar, resource allocation): for them :func:`discover` loads the edges of A and of each B, and
#: gets the answer the whole graph gives; any other scorer (Jaccard and preferential attachment read
#: C's degree, ``random`` the node order) runs on the whole graph.
LOCAL_SCORERS = frozenset({"common-neighbours", "adamic-adar", "resource-allocation"})


def edge_types(engine: Engine) -> list[str]:
    """The edge types stored (``cooccurrence``; ``cid`` when relation edges were added), sorted, with
    ``cooccurrence`` always among them."""
    with engine.connect() as conn:
        return sorted(set(conn.execute(select(kg_edges.c.type).distinct()).scalars()) | {COOCCURRENCE})


def _check_edge_type(engine: Engine, edge_type: str) -> None:
    known = edge_types(engine)
    if edge_type not in known:
        raise DataError(f"edge type {edge_type!r} is not in the knowledge graph: expected one of {', '.join(known)}")


@dataclass
class EntityView:
    """One entity as :func:`show_entity` reads it: the :class:`~serendip.kg.query.Entity`, its surface
    ``forms`` (``[{"text", "count"}]``, most used first) and ``n_forms`` (distinct forms in all), a few
    ``examples`` (mentions in distinct records, dicts as :func:`show_entity` says), ``edges`` (``{edge
    type: edges}``) and ``deleted_records`` (records deleted since the last build, left out)."""

    entity: Entity
    forms: list[dict]
    n_forms: int
    examples: list[dict]
    edges: dict[str, int]
    deleted_records: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {"entity": self.entity.to_dict(), "forms": self.forms, "n_forms": self.n_forms,
                "examples": self.examples, "edges": self.edges, "deleted_records": self.deleted_records}


def show_entity(engine: Engine, query: str, *, forms: int = 10, examples: int = 3) -> EntityView:
    """The entity ``query`` names, with its surface forms, example mentions and edge counts.

    Parameters
    ----------
    query : str
        MeSH id, ``Type:MeSH id``, key or name (:func:`~serendip.kg.query.find_entity`).
    forms : int, default 10
        Surface forms listed: distinct mention texts (case kept) with their mention counts, most used
        first, ties by text.
    examples : int, default 3
        Mentions shown, the first of each record in record order: ``{"record_id", "pmid", "source_id",
        "title", "sentence" (passage number, 0 the title), "field" (0 title, 1 abstract), "char_start",
        "char_end" (into that field), "mention" (the surface text) and "text" (its sentence)}``. A
        mention whose record's text no longer holds it at its offsets (the record changed since the
        build) is passed over.

    Returns
    -------
    EntityView
        The entity's own counts (``n_mentions``, ``n_records``) are the last build's; forms, examples
        and edges leave out the records deleted since (:func:`~serendip.kg.store.evidence_gone`), and
        ``edges`` counts the edges :func:`~serendip.kg.query.load_graph` keeps, per stored edge type.

    Raises
    ------
    GraphNotBuilt
        The workspace holds no graph.
    DataError
        ``query`` names no entity; ``forms`` or ``examples`` < 0.
    """
    if forms < 0 or examples < 0:
        raise DataError(f"kg show needs forms >= 0 and examples >= 0; got forms {forms}, examples {examples}")
    ent = find_entity(engine, query)
    m = kg_mentions.c
    kept = (m.entity_id == ent.id, ~evidence_gone(kg_mentions))
    with engine.connect() as conn:
        n = func.count().label("n")
        rows = conn.execute(select(m.text, n).where(*kept).group_by(m.text).order_by(n.desc(), m.text)).all()
        shown = _examples(conn, ent.id, examples)
        n_deleted = deleted_records(conn)
    edges = {t: load_graph(engine, around=[ent.id], edge_type=t).degree(ent.key) for t in edge_types(engine)}
    return EntityView(ent, [{"text": t, "count": c} for t, c in rows[:forms]], len(rows), shown, edges, n_deleted)


def _examples(conn: Connection, entity_id: int, n: int) -> list[dict]:
    """The first kept mention of the first records (:func:`show_entity`), each with its sentence."""
    from serendip.evidence.passages import split_record

    if n == 0:
        return []
    m, inner = kg_mentions.c, kg_mentions.alias("first_mention")
    firsts = (select(func.min(inner.c.id)).where(inner.c.entity_id == entity_id, ~evidence_gone(inner))
              .group_by(inner.c.record_id).order_by(inner.c.record_id).limit(3 * n))
    rows = conn.execute(select(m.record_id, m.pmid, m.sentence, m.field, m.char_start, m.char_end, m.text,
                               records.c.source_id, records.c.title, records.c.abstract)
                        .join(records, records.c.id == m.record_id).where(m.id.in_(firsts))
                        .order_by(m.record_id)).all()
    out = []
    for r in rows:
        field = r.title if r.field == 0 else r.abstract
        if not field or field[r.char_start:r.char_end] != r.text:
            continue
        try:
            passages = split_record(r.title, r.abstract, record=str(r.record_id))
        except DataError:  # the build kept each field as one sentence then too
            passages = []
        sentence = next((p.text for p in passages if p.field == r.field and p.start <= r.char_start < p.end),
                        field.strip())
        out.append({"record_id": r.record_id, "pmid": r.pmid, "source_id": r.source_id, "title": r.title,
                    "sentence": r.sentence, "field": r.field, "char_start": r.char_start, "char_end": r.char_end,
                    "mention": r.text, "text": sentence})
        if len(out) == n:
            break
    return out


def _edge_dicts(engine: Engine, g, hops: Sequence[tuple[str, str]], evidence: int) -> dict[tuple[str, str], dict]:
    """``{(u, v): edge dict}`` for the edges ``hops`` of ``g`` (a :func:`~serendip.kg.query.load_graph`
    graph), in the form of :class:`~serendip.kg.query.PathsResult`'s edges, with ``score`` added."""
    ids = sorted({g.edges[u, v]["id"] for u, v in hops})
    with engine.connect() as conn:
        rows = edge_evidence_rows(conn, ids, limit=evidence)
        totals = evidence_totals(conn, ids)
    out = {}
    for u, v in hops:
        d = g.edges[u, v]
        out[u, v] = {"source": u, "target": v, "source_name": g.nodes[u]["name"], "target_name": g.nodes[v]["name"],
                     "sentence_count": d["sentence_count"], "abstract_count": d["count"], "npmi": d["npmi"],
                     "score": d["score"], "n_evidence": totals.get(d["id"], 0), "evidence": rows[d["id"]]}
    return out


def _node(g, key: str) -> dict:
    d = g.nodes[key]
    return {"key": key, "name": d["name"], "type": d["type"], "mesh_id": d["mesh_id"]}


def _check_types(engine: Engine, types: Sequence[str] | None) -> list[str]:
    """``types`` as the graph stores them (any case: ``chemical`` -> ``Chemical``); DataError for a type
    the graph does not hold."""
    if not types:
        return []
    with engine.connect() as conn:
        known = sorted(conn.execute(select(kg_entities.c.type).distinct()).scalars())
    stored = {t.casefold(): t for t in known}
    bad = [t for t in types if t.casefold() not in stored]
    if bad:
        raise DataError(f"entity type {bad[0]!r} is not in the knowledge graph: expected one of {', '.join(known)}")
    return [stored[t.casefold()] for t in types]


@dataclass
class NeighboursResult:
    """The neighbours of ``entity`` over ``edge_type`` edges, ranked ``by`` (a key of
    :data:`NEIGHBOUR_ORDERS`): ``n_neighbours`` passed the filters, the best ``neighbours`` are listed
    (dicts: ``key``, ``name``, ``type``, ``mesh_id`` and ``edge``, the edge as in
    :class:`~serendip.kg.query.PathsResult` with ``score``); ``deleted_records`` as in
    :class:`EntityView`."""

    entity: Entity
    edge_type: str
    by: str
    n_neighbours: int
    neighbours: list[dict]
    deleted_records: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "entity": self.entity.to_dict()}


def neighbours(engine: Engine, query: str, *, by: str | None = None, k: int = 10, types: Sequence[str] | None = None,
               min_records: int = 1, evidence: int = 3, edge_type: str = COOCCURRENCE) -> NeighboursResult:
    """The entities linked to the one ``query`` names, best first, each edge with its evidence.

    Parameters
    ----------
    by : {"npmi", "records", "score"}, optional
        Rank by the edge's NPMI (Bouma 2009; then records, sentences, name), by its record count
        (then sentences, NPMI, name) or by its score (a CID edge's highest classifier probability; then
        records, name) (:data:`NEIGHBOUR_ORDERS`). Default: ``npmi`` for co-occurrence edges, ``score``
        for the others (a relation edge has no NPMI).
    k : int, default 10
        Neighbours listed.
    types : sequence of str, optional
        Keep neighbours of these entity types only (``Chemical``, ``Disease``: the graph's types, in any case).
    min_records : int, default 1
        Keep edges whose two entities share at least this many records.
    evidence : int, default 3
        Evidence rows (PMID and sentence) per edge.
    edge_type : str, default "cooccurrence"
        A stored edge type (:func:`edge_types`).

    Returns
    -------
    NeighboursResult
        Counts and evidence without the records deleted since the last build.

    Raises
    ------
    GraphNotBuilt
        The workspace holds no graph.
    DataError
        ``query`` names no entity; an unknown ``by``, type or edge type; ``k`` < 1, ``min_records`` < 1
        or ``evidence`` < 0.
    """
    by = by.lower() if by else ("npmi" if edge_type == COOCCURRENCE else "score")  # NPMI is npmi
    if by not in NEIGHBOUR_ORDERS:
        raise DataError(f"kg neighbours ranks by one of {', '.join(NEIGHBOUR_ORDERS)}; got {by!r}")
    if by == "npmi" and edge_type != COOCCURRENCE:
        raise DataError(f"{edge_type} edges have no NPMI (only {COOCCURRENCE} edges do): rank them by score "
                        "or records")
    if k < 1 or min_records < 1 or evidence < 0:
        raise DataError(f"kg neighbours needs k >= 1, min_records >= 1 and evidence >= 0; got k {k}, "
                        f"min_records {min_records}, evidence {evidence}")
    ent = find_entity(engine, query)
    _check_edge_type(engine, edge_type)
    types = _check_types(engine, types)
    g = load_graph(engine, around=[ent.id], edge_type=edge_type)
    rows = [{**_node(g, v), "npmi": d["npmi"], "score": d["score"], "abstract_count": d["count"],
             "sentence_count": d["sentence_count"]}
            for v, d in g[ent.key].items()
            if d["count"] >= min_records and (not types or g.nodes[v]["type"] in types)]
    rows.sort(key=NEIGHBOUR_ORDERS[by])
    top = rows[:k]
    edges = _edge_dicts(engine, g, [(ent.key, n["key"]) for n in top], evidence)
    listed = [{**_node(g, n["key"]), "edge": edges[ent.key, n["key"]]} for n in top]
    with engine.connect() as conn:
        n_deleted = deleted_records(conn)
    return NeighboursResult(ent, edge_type, by, len(rows), listed, n_deleted)


@dataclass
class DiscoveryResult:
    """Open discovery from ``source``: ``predictions`` (best first; dicts: ``key``, ``name``, ``type``,
    ``mesh_id``, ``score`` of ``scorer``, ``paths`` as in :class:`~serendip.kg.query.PathsResult`),
    ``n_candidates`` (entities two hops away and not linked to ``source``), ``scope`` (``"local"``:
    the edges of the source and its neighbours were read; ``"whole"``: the whole graph) and
    ``deleted_records``."""

    source: Entity
    scorer: str
    n_candidates: int
    predictions: list[dict]
    scope: str
    deleted_records: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "source": self.source.to_dict()}


def discover(engine: Engine, query: str, *, scorer: str = "resource-allocation", k: int = 10, n_paths: int = 3,
             evidence: int = 2) -> DiscoveryResult:
    """Open ABC discovery (:func:`serendip.kg.discovery.open_discovery`, Swanson 1986): the ``k``
    entities C not linked to A (the entity ``query`` names) but sharing a neighbour B with it, ranked by
    the link scorer ``scorer`` (:data:`~serendip.kg.linkpred.LINK_SCORERS`, those needing no fitted
    model), each with its ``n_paths`` best A–B–C paths (weakest-link NPMI) and ``evidence`` evidence
    rows per edge. Reads the co-occurrence graph around A and its neighbours for the
    :data:`LOCAL_SCORERS`, else the whole graph; records deleted since the last build are left out.

    Raises
    ------
    GraphNotBuilt
        The workspace holds no graph.
    ConfigError
        An unknown scorer, or one that needs a fitted model (``learned``).
    DataError
        ``query`` names no entity; ``k`` < 1, ``n_paths`` < 0 or ``evidence`` < 0.
    """
    from serendip.kg.discovery import open_discovery
    from serendip.kg.linkpred import LINK_SCORERS

    usable = ", ".join(n for n, s in LINK_SCORERS.canonical_items() if not s.needs_model)
    if scorer not in LINK_SCORERS:  # the registry's own message would list `learned` too
        raise ConfigError(f"unknown link scorer {scorer!r}; expected one of: {usable}")
    if LINK_SCORERS.get(scorer).needs_model:
        raise ConfigError(f"link scorer {scorer!r} needs a fitted model, which kg discover does not take: "
                          f"expected one of {usable}")
    scorer = LINK_SCORERS.canonical(scorer)  # "Adamic-Adar" is adamic-adar, and local
    if k < 1 or n_paths < 0 or evidence < 0:
        raise DataError(f"kg discover needs k >= 1, paths >= 0 and evidence >= 0; got k {k}, paths {n_paths}, "
                        f"evidence {evidence}")
    ent = find_entity(engine, query)
    scope = "local" if scorer in LOCAL_SCORERS else "whole"
    if scope == "local":
        near = load_graph(engine, around=[ent.id])
        g = load_graph(engine, around=[d["id"] for _, d in near.nodes(data=True)])
    else:
        g = load_graph(engine)
    two_hop = {c for b in g[ent.key] for c in g[b]} - set(g[ent.key]) - {ent.key}
    found = open_discovery(g, ent.key, scorer=scorer, k=k, n_paths=n_paths)
    edges = _edge_dicts(engine, g, [(e.source, e.target) for p in found for path in p.paths for e in path.edges],
                        evidence)
    out = [{**_node(g, p.target), "score": p.score,
            "paths": [{"nodes": [{"key": n, "name": g.nodes[n]["name"]} for n in path.nodes], "score": path.score,
                       "edges": [edges[e.source, e.target] for e in path.edges]} for path in p.paths]}
           for p in found]
    with engine.connect() as conn:
        n_deleted = deleted_records(conn)
    return DiscoveryResult(ent, scorer, len(two_hop), out, scope, n_deleted)
