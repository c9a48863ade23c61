"""A literature co-occurrence graph: entities as nodes, record-level co-occurrence as edges, with evidence.

Nodes are entity names (here MeSH descriptor names of PubMed records); two entities are linked when
they occur in the same record (abstract level). Every edge keeps its ``count`` (records holding both),
its evidence ``pmids`` (those records, sorted), the ``first_year`` it was seen and its NPMI
(:func:`npmi`, Bouma 2009). The graph is a :class:`networkx.Graph`; :func:`graph_matrix` turns it into a
sparse adjacency matrix for the link-prediction scorers of :mod:`serendip.kg.linkpred`.

Over-general headings can be left out with ``exclude``: :data:`CHECK_TAGS` is the stop list of MeSH
check tags (species, sex, age groups, pregnancy, historical periods; plus the pre-2008 check tags the
indexing principles page names), fixed from NLM's definition, not tuned on any result.

Records come from :func:`read_mesh_records` (a JSON-lines file such as the mirror's
``cohen/records.jsonl.gz``): a bad line is skipped and reported as an :class:`~serendip.issues.Issue`
(file, line, why); a record without MeSH or without a year is kept and counted (:class:`RecordReport`),
never dropped silently.
"""
from __future__ import annotations

import gzip
import json
import math
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from itertools import combinations
from pathlib import Path

from serendip.issues import Issue

__all__ = ["CHECK_TAGS", "EntityRecord", "GraphMatrix", "RecordReport", "build_graph", "graph_matrix",
           "mesh_descriptor", "npmi", "read_mesh_records"]

#: MeSH check tags: "a special class of MeSH headings that must be considered routinely for every
#: article ... primarily headings covering species (including Humans), sex, and human age groups ...
#: also historical time periods [and] pregnancy" (NLM, Principles of MEDLINE Subject Indexing,
#: https://www.nlm.nih.gov/bsd/disted/meshtutorial/principlesofmedlinesubjectindexing/principles/03.html).
#: Listed here: Humans, Animals, the sexes, Pregnancy, the MeSH age-group descriptors, the historical
#: periods, and the further check tags of the 2008 version of that page (In Vitro, Comparative Study,
#: the research-support tags). Species other than Humans/Animals (Rats, Mice, ...) are kept: they name
#: a model organism, which is content.
CHECK_TAGS: frozenset[str] = frozenset({
    "Humans", "Animals", "Female", "Male", "Pregnancy",
    "Infant, Newborn", "Infant", "Child, Preschool", "Child", "Adolescent", "Young Adult", "Adult",
    "Middle Aged", "Aged", "Aged, 80 and over",
    "History, Ancient", "History, Medieval", "History, Early Modern 1451-1600", "History, 15th Century",
    "History, 16th Century", "History, 17th Century", "History, 18th Century", "History, 19th Century",
    "History, 20th Century", "History, 21st Century",
    "In Vitro", "Comparative Study", "Support, Non-U.S. Gov't", "Support, U.S. Gov't, Non-P.H.S.",
    "Support, U.S. Gov't, P.H.S.",
})


def mesh_descriptor(heading: str) -> str:
    """The descriptor name of a MeSH heading as MEDLINE prints it: qualifiers after ``/`` and the
    major-topic star ``*`` removed, outer spaces stripped (``"*Hypertension/drug therapy"`` ->
    ``"Hypertension"``). Returns ``""`` for a heading with no descriptor left (the caller reports it).
    The Cohen records hold bare descriptor names already (no ``/`` or ``*``), so there it changes nothing."""
    return heading.split("/", 1)[0].strip().strip("*").strip()


@dataclass(frozen=True, slots=True)
class EntityRecord:
    """One record's entities: ``pmid`` (str), ``year`` (int, or None when unknown) and ``entities``
    (tuple of distinct names in first-seen order, or None when the record has no entity annotation, e.g.
    no MeSH)."""

    pmid: str
    year: int | None
    entities: tuple[str, ...] | None


@dataclass
class RecordReport:
    """What :func:`read_mesh_records` read: ``n_records`` kept, of which ``n_no_entities`` without MeSH
    and ``n_no_year`` without a year; ``issues`` the skipped lines (one :class:`Issue` each)."""

    n_records: int = 0
    n_no_entities: int = 0
    n_no_year: int = 0
    issues: list[Issue] = field(default_factory=list)

    def summary(self) -> str:
        """One line: counts of records, of those without MeSH / year, and of skipped lines."""
        return (f"{self.n_records} records read ({self.n_no_entities} without MeSH, {self.n_no_year} "
                f"without a year); {len(self.issues)} bad lines skipped")


def _parse_record(obj: object) -> EntityRecord:
    """An :class:`EntityRecord` from one decoded JSON line; raises ValueError saying what is wrong."""
    if not isinstance(obj, dict):
        raise ValueError("not a JSON object")  # noqa: TRY004 - a bad line, reported as such
    pmid = obj.get("pmid")
    if not isinstance(pmid, (str, int)) or isinstance(pmid, bool) or not str(pmid).strip():
        raise ValueError(f"no pmid (got {pmid!r})")
    year = obj.get("year")
    if year is not None and (isinstance(year, bool) or not isinstance(year, int)):
        raise ValueError(f"year {year!r} is not a whole number or null")
    mesh = obj.get("mesh")
    if mesh is None:
        return EntityRecord(str(pmid), year, None)
    if not isinstance(mesh, list) or not all(isinstance(h, str) for h in mesh):
        raise ValueError("mesh is not a list of strings or null")
    names = [mesh_descriptor(h) for h in mesh]
    if "" in names:
        raise ValueError(f"MeSH heading {mesh[names.index('')]!r} has no descriptor name")
    return EntityRecord(str(pmid), year, tuple(dict.fromkeys(names)))


def read_mesh_records(path: str | Path) -> tuple[list[EntityRecord], RecordReport]:
    """Read a JSON-lines file (gzip when named ``.gz``) of records ``{"pmid", "year", "mesh", ...}``.

    ``mesh`` is a list of MeSH headings (reduced to descriptor names by :func:`mesh_descriptor`,
    duplicates within a record kept once) or null; ``year`` an int or null; other keys are ignored.

    Returns
    -------
    records : list of EntityRecord
        Every readable record in file order, those without MeSH (``entities`` None) or year included.
    report : RecordReport
        Counts, and one :class:`~serendip.issues.Issue` (file, 1-based line, PMID where known, why) per
        line that is not valid JSON or not a valid record; those lines are skipped, the rest kept.

    Raises
    ------
    OSError
        The file cannot be opened or its gzip stream is broken.
    """
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    records: list[EntityRecord] = []
    report = RecordReport()
    with opener(path, "rt", encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            obj = None
            try:
                obj = json.loads(line)
                rec = _parse_record(obj)
            except ValueError as exc:  # json.JSONDecodeError is a ValueError
                pmid = obj.get("pmid") if isinstance(obj, dict) else None
                report.issues.append(Issue(str(path), str(exc), line=lineno,
                                           record=None if pmid is None else str(pmid)))
                continue
            records.append(rec)
            report.n_no_entities += rec.entities is None
            report.n_no_year += rec.year is None
    report.n_records = len(records)
    return records, report


def npmi(n_xy: int, n_x: int, n_y: int, n_docs: int) -> float:
    """Normalised pointwise mutual information of two entities over ``n_docs`` records.

    ``p(x) = n_x / n_docs``, ``p(x, y) = n_xy / n_docs``;
    ``NPMI = log(p(x, y) / (p(x) p(y))) / -log p(x, y)``, in [-1, 1]: -1 never together (``n_xy = 0``),
    0 independent, 1 only together. Bouma 2009, "Normalized (pointwise) mutual information in
    collocation extraction", Proc. GSCL, eq. 5; ``p(x, y) = 1`` gives 1 (complete co-occurrence, the
    limit Bouma states). Raises ValueError unless ``0 <= n_xy <= min(n_x, n_y)`` and
    ``max(n_x, n_y) <= n_docs``, ``n_docs >= 1``.
    """
    if not (0 <= n_xy <= min(n_x, n_y) and 1 <= n_docs and max(n_x, n_y) <= n_docs):
        raise ValueError(f"npmi: inconsistent counts n_xy={n_xy}, n_x={n_x}, n_y={n_y}, n_docs={n_docs}")
    if n_xy == 0:
        return -1.0
    if n_xy == n_docs:
        return 1.0
    p_xy = n_xy / n_docs
    return math.log(p_xy / ((n_x / n_docs) * (n_y / n_docs))) / -math.log(p_xy)


def _slice_records(records: Iterable[EntityRecord], until: int | None, exclude: frozenset[str]):
    """(kept entity tuples with pmid and year, counts of records left out by reason)."""
    kept, left_out = [], Counter()
    for rec in records:
        if rec.entities is None:
            left_out["no_entities"] += 1
        elif until is not None and rec.year is None:
            left_out["no_year"] += 1
        elif until is not None and rec.year > until:
            left_out["after_until"] += 1
        else:
            kept.append((rec.pmid, rec.year, [e for e in rec.entities if e not in exclude]))
    return kept, left_out


def build_graph(records: Iterable[EntityRecord], *, until: int | None = None,
                exclude: Iterable[str] = ()):
    """The co-occurrence graph of ``records`` (those with ``year <= until`` when ``until`` is given).

    Parameters
    ----------
    records : iterable of EntityRecord
    until : int, optional
        Last year included. Given, records without a year are left out (they cannot be placed in
        time) and counted in ``graph.graph["left_out"]["no_year"]``; records after it are counted under
        ``"after_until"``. None: every record with entities, whatever its year.
    exclude : iterable of str, default ()
        Entity names left out of every record (e.g. :data:`CHECK_TAGS`).

    Returns
    -------
    networkx.Graph
        Node attributes ``count`` (records holding the entity) and ``first_year`` (int or None when
        only in year-less records); edge attributes ``count`` (records holding both, int),
        ``pmids`` (sorted list of str: the evidence), ``first_year`` (int or None) and ``npmi`` (float,
        :func:`npmi` over ``n_docs``). Graph attributes ``n_docs`` (records kept, those left with fewer
        than two entities included: each could have held a pair), ``until``, ``excluded`` (sorted names)
        and ``left_out`` (dict reason -> records: ``no_entities``, ``no_year``, ``after_until``).
        Node and edge insertion order follow the records, so the graph is the same on every run.
    """
    import networkx as nx

    exclude = frozenset(exclude)
    kept, left_out = _slice_records(records, until, exclude)
    node_count: Counter = Counter()
    node_year: dict[str, int | None] = {}
    pair_pmids: dict[tuple[str, str], list[str]] = defaultdict(list)
    pair_year: dict[tuple[str, str], int | None] = {}
    for pmid, year, ents in kept:
        for e in ents:
            node_count[e] += 1
            node_year[e] = _min_year(node_year.get(e, year), year)
        for a, b in combinations(sorted(ents), 2):
            pair_pmids[(a, b)].append(pmid)
            pair_year[(a, b)] = _min_year(pair_year.get((a, b), year), year)
    g = nx.Graph(n_docs=len(kept), until=until, excluded=sorted(exclude), left_out=dict(left_out))
    for e, c in node_count.items():
        g.add_node(e, count=c, first_year=node_year[e])
    n_docs = max(len(kept), 1)
    for (a, b), pmids in pair_pmids.items():
        g.add_edge(a, b, count=len(pmids), pmids=sorted(pmids, key=_pmid_key), first_year=pair_year[(a, b)],
                   npmi=npmi(len(pmids), node_count[a], node_count[b], n_docs))
    return g


def _min_year(a: int | None, b: int | None) -> int | None:
    return b if a is None else a if b is None else min(a, b)


def _pmid_key(pmid: str) -> tuple[int, str]:
    return (int(pmid), pmid) if pmid.isdigit() else (1 << 62, pmid)


@dataclass(frozen=True)
class GraphMatrix:
    """A graph as a sparse adjacency matrix: ``nodes`` (list of names, the row order), ``index``
    (name -> row), ``adj`` (scipy.sparse.csr_array of shape (n, n), float64 0/1, symmetric, no
    self-loops) and ``degree`` (ndarray of shape (n,), float64)."""

    nodes: list[str]
    index: dict[str, int]
    adj: object
    degree: object


def graph_matrix(graph) -> GraphMatrix:
    """The :class:`GraphMatrix` of a networkx graph (nodes in the graph's order; edge weights ignored:
    the neighbourhood scorers read the unweighted graph). Raises ValueError on a self-loop."""
    import networkx as nx
    import numpy as np

    if nx.number_of_selfloops(graph):
        raise ValueError("graph_matrix: the graph has self-loops; a co-occurrence graph has none")
    nodes = list(graph.nodes)
    adj = nx.to_scipy_sparse_array(graph, nodelist=nodes, weight=None, dtype=np.float64, format="csr")
    return GraphMatrix(nodes, {n: i for i, n in enumerate(nodes)}, adj, np.asarray(adj.sum(axis=1)).ravel())
