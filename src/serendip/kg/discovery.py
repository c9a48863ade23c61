"""Swanson's ABC discovery over a co-occurrence graph, every suggestion with readable paths and evidence.

* Open discovery (:func:`open_discovery`): from an entity A, rank the entities C reached through some
  B (A–B and B–C linked) where A–C is not linked yet, by a link scorer of
  :mod:`serendip.kg.linkpred`; each C comes with its best A–B–C paths.
* Closed discovery (:func:`closed_discovery`): given A and C, list the B that join them, best first.

Swanson, "Fish oil, Raynaud's syndrome, and undiscovered public knowledge", Perspect. Biol. Med. 30(1),
1986; the open/closed terms from Weeber et al., "Using concepts in literature-based discovery", JASIST
52(7), 2001. A path's score is its weakest link: the lowest NPMI of its edges (Bouma 2009; the graph's
``npmi`` edge attribute), ties broken by the lowest co-occurrence count, then by name. Every edge on a
path carries its evidence: the PMIDs of the records where its two entities co-occur.

Over a workspace's stored graph, run these on :func:`serendip.kg.query.load_graph`, which leaves out
the evidence of records deleted from the workspace since the last ``kg build`` (and every edge that had
no other), so no suggestion or path rests on a withdrawn record.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from serendip.errors import DataError
from serendip.kg.graph import graph_matrix
from serendip.kg.linkpred import score_rows

__all__ = ["ClosedDiscovery", "EdgeEvidence", "Path", "Prediction", "best_paths", "closed_discovery",
           "edge_evidence", "open_discovery"]


@dataclass(frozen=True)
class EdgeEvidence:
    """One edge as a reader sees it: ``source``, ``target``, ``count`` (records holding both),
    ``npmi`` (None when not computed; a path's weakest link counts it as 0.0), ``first_year`` (int or
    None) and ``pmids`` (tuple of str, the evidence, sorted)."""

    source: str
    target: str
    count: int
    npmi: float | None
    first_year: int | None
    pmids: tuple[str, ...]


@dataclass(frozen=True)
class Path:
    """A path ``nodes`` (A, B, C), its ``score`` (lowest edge NPMI) and its ``edges`` (one
    :class:`EdgeEvidence` per hop, in path order)."""

    nodes: tuple[str, ...]
    score: float
    edges: tuple[EdgeEvidence, ...]

    def describe(self, max_pmids: int = 3) -> str:
        """``A –[n: PMID, ...]– B –[...]– C`` with at most ``max_pmids`` PMIDs per edge."""
        parts = [self.nodes[0]]
        for e, node in zip(self.edges, self.nodes[1:]):
            more = f", +{len(e.pmids) - max_pmids}" if len(e.pmids) > max_pmids else ""
            parts.append(f" –[{e.count}: {', '.join(e.pmids[:max_pmids])}{more}]– {node}")
        return "".join(parts)


@dataclass(frozen=True)
class Prediction:
    """An open-discovery suggestion: ``source`` (A), ``target`` (C), the ``scorer`` and its ``score``,
    and the best ``paths`` A–B–C."""

    source: str
    target: str
    scorer: str
    score: float
    paths: tuple[Path, ...]


@dataclass(frozen=True)
class ClosedDiscovery:
    """A–C explained: ``linked`` (whether A–C co-occur already), ``direct`` (that edge's evidence or
    None) and ``paths`` (the A–B–C paths, best first)."""

    source: str
    target: str
    linked: bool
    direct: EdgeEvidence | None
    paths: tuple[Path, ...]


def _check_nodes(graph, *names: str) -> None:
    for name in names:
        if name not in graph:
            raise DataError(f"entity {name!r} is not in the graph ({graph.number_of_nodes()} entities); "
                            "check its spelling (MeSH descriptor names are case-sensitive)")


def edge_evidence(graph, u: str, v: str) -> EdgeEvidence:
    """The :class:`EdgeEvidence` of edge ``u``–``v`` of a :func:`~serendip.kg.graph.build_graph`
    graph. Raises DataError when a node or the edge is absent."""
    _check_nodes(graph, u, v)
    if not graph.has_edge(u, v):
        raise DataError(f"{u!r} and {v!r} do not co-occur in the graph")
    d = graph.edges[u, v]
    npmi = None if d["npmi"] is None else float(d["npmi"])
    return EdgeEvidence(u, v, int(d["count"]), npmi, d["first_year"], tuple(d["pmids"]))


def best_paths(graph, a: str, c: str, *, k: int = 3) -> list[Path]:
    """The ``k`` best two-hop paths A–B–C (B a common neighbour, found by
    ``networkx.common_neighbors``), best first by weakest-link NPMI; [] when A and C share no
    neighbour. Raises DataError when A or C is not in the graph."""
    import networkx as nx

    _check_nodes(graph, a, c)
    paths = []
    for b in nx.common_neighbors(graph, a, c):
        edges = (edge_evidence(graph, a, b), edge_evidence(graph, b, c))
        paths.append(Path((a, b, c), min(0.0 if e.npmi is None else e.npmi for e in edges), edges))
    paths.sort(key=lambda p: (-p.score, -min(e.count for e in p.edges), p.nodes[1]))
    return paths[:k]


def closed_discovery(graph, a: str, c: str, *, k: int = 10) -> ClosedDiscovery:
    """Explain A–C through the intermediates B: the ``k`` best paths of :func:`best_paths`, and the
    direct edge when A and C already co-occur. Raises DataError when A or C is not in the graph."""
    paths = best_paths(graph, a, c, k=k)
    linked = graph.has_edge(a, c)
    return ClosedDiscovery(a, c, linked, edge_evidence(graph, a, c) if linked else None, tuple(paths))


def open_discovery(graph, a: str, *, scorer: str = "resource-allocation", k: int = 10, n_paths: int = 3,
                   model=None, seed: int = 0, matrix=None) -> list[Prediction]:
    """The ``k`` entities C most likely to be linked to ``a`` next, among those two hops away (not
    linked to A, sharing at least one neighbour with it), ranked by ``scorer`` (a name of
    :data:`~serendip.kg.linkpred.LINK_SCORERS`; ``model`` for ``learned``), ties by name; each with its
    ``n_paths`` best paths. ``matrix``: the graph's :class:`~serendip.kg.graph.GraphMatrix` when
    already built (else built here). Raises DataError when ``a`` is not in the graph, ConfigError for
    an unknown scorer."""
    _check_nodes(graph, a)
    gm = matrix if matrix is not None else graph_matrix(graph)
    i = gm.index[a]
    row = gm.adj[[i]]
    two_hop = (row @ gm.adj).toarray()[0] > 0
    two_hop &= row.toarray()[0] == 0
    two_hop[i] = False
    (_, scores), = score_rows(gm, np.array([i]), scorer, seed=seed, model=model)
    cands = np.flatnonzero(two_hop)
    order = sorted(cands, key=lambda j: (-scores[0, j], gm.nodes[j]))[:k]
    return [Prediction(a, gm.nodes[j], scorer, float(scores[0, j]),
                       tuple(best_paths(graph, a, gm.nodes[j], k=n_paths))) for j in order]
