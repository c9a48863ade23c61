"""``kg export --format``: the stored knowledge graph in the formats other tools load.

:data:`EXPORT_FORMATS` maps a format name to its writer, ``writer(engine, path) -> ExportReport``:

* ``jsonl`` (the default): Serendip's own JSON Lines, re-imported by ``kg import``
  (:func:`serendip.kg.exchange.export_graph`).
* ``graphml``: GraphML (Brandes et al., "GraphML progress report", GD 2001) written by
  :func:`networkx.write_graphml`, for Gephi, Cytoscape, yEd or networkx (:func:`write_graphml`).
* ``neo4j-csv``: ``nodes.csv`` and ``relationships.csv`` in the header format of
  ``neo4j-admin database import`` (:func:`write_neo4j_csv`).
* ``pubtator`` and ``bioc``: each record's title, abstract and mentions, as PubTator text (Wei et al.,
  NAR 2013) and BioC XML (Comeau et al., "BioC: a minimalist approach to interoperability for biomedical
  text processing", Database 2013), for the curation tools that read the BioCreative V CDR corpus
  (:mod:`serendip.kg.export_annotated`).

Every writer leaves out the evidence of records deleted from the workspace since the last build, as
``kg export`` always has (:mod:`serendip.kg.exchange`): the graph writers read the same stream of
entities and edges as the JSON Lines export (an edge whose evidence is all gone is left out, the counts
of the others are those of the evidence kept); the document writers leave the deleted records out.
Every file is written whole under a temporary name beside it and then renamed, so a failed export
leaves no partial file.
"""
from __future__ import annotations

import contextlib
import csv
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from sqlalchemy import Engine

from serendip.errors import DataError
from serendip.issues import Issue
from serendip.kg.store import require_graph
from serendip.registry import Registry

__all__ = ["EXPORT_FORMATS", "NEO4J_NODE_HEADER", "NEO4J_RELATIONSHIP_HEADER", "ExportReport", "export",
           "write_graphml", "write_jsonl", "write_neo4j_csv"]


@dataclass
class ExportReport:
    """What a writer of :data:`EXPORT_FORMATS` wrote.

    Attributes
    ----------
    format : str
        The format name.
    paths : list of Path
        The files written (``neo4j-csv``: two).
    counts : dict of str to int
        What was written: ``entities``, ``edges``, ``evidence`` for the graph formats; ``documents``,
        ``mentions``, ``relations`` for ``pubtator`` and ``bioc``.
    deleted_records : int
        Records deleted from the workspace since the last build, whose evidence (or document) was left
        out (:func:`serendip.kg.store.deleted_records`).
    left_out : dict of str to int
        Anything else left out, by why (e.g. ``changed_records``: records whose text changed since the
        last build, so their mention offsets no longer hold).
    issues : list of Issue
        Records skipped, one each, naming the record and why.
    """

    format: str
    paths: list[Path] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    deleted_records: int = 0
    left_out: dict[str, int] = field(default_factory=dict)
    issues: list[Issue] = field(default_factory=list)


#: Format name -> ``writer(engine, path) -> ExportReport``; ``kg export --format`` reads its choices here
EXPORT_FORMATS: Registry[Callable[[Engine, Path], ExportReport]] = Registry("kg export format")


@contextlib.contextmanager
def atomic_text(path: Path, *, newline: str | None = "\n", binary: bool = False) -> Iterator[IO]:
    """Open a temporary file beside ``path`` for writing UTF-8 text (``binary``: bytes); rename it to
    ``path`` when the block ends without error, else remove it. ``path`` must be a file name in an
    existing folder.

    Raises
    ------
    DataError
        ``path`` is a folder, its folder is missing, or writing fails (not writable, disk full): the
        message names ``path``, never the temporary file.
    """
    if path.is_dir():
        raise DataError(f"cannot write {path}: it is a folder; give a file name")
    if not path.parent.is_dir():
        raise DataError(f"cannot write {path}: folder {path.parent} does not exist")
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        with (tmp.open("wb") if binary else tmp.open("w", encoding="utf-8", newline=newline)) as fh:
            yield fh
        tmp.replace(path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        raise DataError(f"cannot write {path}: {(exc.strerror or str(exc)).lower()}") from None
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        raise


def _graph_lines(engine: Engine) -> Iterator[dict]:
    """The header, entity and edge objects of the JSON Lines export (deleted records' evidence left out)."""
    from serendip.kg.exchange import _lines

    return _lines(engine)


@EXPORT_FORMATS.register("jsonl")
def write_jsonl(engine: Engine, path: Path) -> ExportReport:
    """Serendip's JSON Lines, which `kg import` reads back.

    Written by :func:`serendip.kg.exchange.export_graph` (its module docstring gives the layout).

    Raises
    ------
    GraphNotBuilt, DataError
        As :func:`~serendip.kg.exchange.export_graph`.
    """
    from serendip.kg.exchange import export_graph

    n = export_graph(engine, path)
    return ExportReport("jsonl", [Path(path)], {k: n[k] for k in ("entities", "edges", "evidence")},
                        n["deleted_records"])


def _pmids(evidence: list[dict]) -> list[str]:
    return sorted({ev["pmid"] for ev in evidence if ev["pmid"]})


@EXPORT_FORMATS.register("graphml")
def write_graphml(engine: Engine, path: Path) -> ExportReport:
    """GraphML for Gephi, Cytoscape, yEd or networkx (undirected; one edge per pair and type).

    Written by :func:`networkx.write_graphml_lxml`.

    Nodes: id the entity key (:func:`serendip.kg.store.entity_key`), attributes ``name``, ``type``,
    ``mesh_id`` (absent for an unresolved entity), ``n_mentions``, ``n_records``. Edges: a multigraph
    keyed by the edge type (so a co-occurrence and a CID edge of one pair both stand), attributes
    ``type``, ``sentence_count``, ``abstract_count``, ``npmi`` and ``score`` (absent when null),
    ``pmids`` (the evidence PMIDs, sorted, joined by ``;``) and ``evidence`` (the evidence rows as a JSON
    list, the objects of the JSON Lines export). Graph attributes: ``tagger`` and ``deleted_records``.
    ``networkx.read_graphml(path, force_multigraph=True, edge_key_type=str)`` reads it back.

    Raises
    ------
    GraphNotBuilt
        The workspace holds no graph.
    DataError
        ``path`` cannot be written, or a name holds a character XML 1.0 cannot hold.
    """
    import networkx as nx

    require_graph(engine)
    g = nx.MultiGraph()
    counts = {"entities": 0, "edges": 0, "evidence": 0}
    deleted = 0
    for obj in _graph_lines(engine):
        if obj["kind"] == "graph":
            deleted = obj["left_out"]["deleted_records"]
            g.graph.update({"tagger": obj["tagger"] or "", "deleted_records": deleted})
        elif obj["kind"] == "entity":
            g.add_node(obj["key"], **{k: obj[k] for k in ("name", "type", "mesh_id", "n_mentions", "n_records")
                                      if obj[k] is not None})
            counts["entities"] += 1
        else:
            attrs = {k: obj[k] for k in ("type", "sentence_count", "abstract_count", "npmi", "score")
                     if obj[k] is not None}
            g.add_edge(obj["source"], obj["target"], key=obj["type"], **attrs, pmids=";".join(_pmids(obj["evidence"])),
                       evidence=json.dumps(obj["evidence"], ensure_ascii=False))
            counts["edges"] += 1
            counts["evidence"] += len(obj["evidence"])
    path = Path(path)
    with atomic_text(path, binary=True) as fh:
        try:
            nx.write_graphml_lxml(g, fh, encoding="utf-8")
        except ValueError as exc:  # lxml: a string XML 1.0 cannot hold
            raise DataError(f"cannot write {path}: {exc}") from None
    return ExportReport("graphml", [path], counts, deleted)


#: ``nodes.csv`` header (``neo4j-admin database import``: ``name:ID`` stores the id as property ``name``;
#: ``:LABEL`` takes labels separated by the array delimiter; typed properties are ``name:type``)
NEO4J_NODE_HEADER = ("entityId:ID", "name", ":LABEL", "type", "mesh_id", "n_mentions:int", "n_records:int")
#: ``relationships.csv`` header (``:START_ID``/``:END_ID`` name node ids; arrays are ``type[]``)
NEO4J_RELATIONSHIP_HEADER = (":START_ID", ":END_ID", ":TYPE", "sentence_count:int", "abstract_count:int",
                             "npmi:double", "score:double", "pmids:string[]")
#: The import tool's default array delimiter
NEO4J_ARRAY_DELIMITER = ";"


def _neo4j_folder(path: Path) -> Path:
    if path.exists() and not path.is_dir():
        raise DataError(f"cannot write {path}: neo4j-csv writes a folder (nodes.csv, relationships.csv) and "
                        f"{path} is a file; give a folder name")
    if not path.parent.is_dir():
        raise DataError(f"cannot write {path}: folder {path.parent} does not exist")
    try:
        path.mkdir(exist_ok=True)
    except OSError as exc:
        raise DataError(f"cannot create folder {path}: {(exc.strerror or str(exc)).lower()}") from None
    return path


@EXPORT_FORMATS.register("neo4j-csv")
def write_neo4j_csv(engine: Engine, path: Path) -> ExportReport:
    """A folder of nodes.csv and relationships.csv for `neo4j-admin database import`.

    ``path`` is the folder (made when missing); the files follow the CSV header format of ``neo4j-admin database import`` (Neo4j Operations Manual, "Import": header
    files), with its defaults: comma delimiter, ``"`` quote (an inner quote doubled, RFC 4180), ``;``
    array delimiter, string ids, an empty field an absent property. Load them with::

        neo4j-admin database import full --nodes=nodes.csv --relationships=relationships.csv neo4j

    Nodes (:data:`NEO4J_NODE_HEADER`): the entity key as id (kept as property ``entityId``), labels
    ``Entity`` and the entity type (``Entity;Chemical``), ``name``, ``type``, ``mesh_id`` (empty for an
    unresolved entity), the mention and record counts. Relationships (:data:`NEO4J_RELATIONSHIP_HEADER`):
    from the entity of the lower id to the other (Serendip's edges are undirected; query them without
    a direction), ``:TYPE`` the edge type in capitals (``COOCCURRENCE``, ``CID``), the counts, ``npmi``
    and ``score`` as 64-bit floats (``double``; empty when null) and ``pmids`` (the evidence PMIDs,
    sorted; evidence without a PMID is not listed). An entity name holding a line break needs
    ``--multiline-fields=true``.

    Raises
    ------
    GraphNotBuilt
        The workspace holds no graph.
    DataError
        ``path`` is a file, its parent folder is missing, or a file cannot be written.
    """
    require_graph(engine)
    folder = _neo4j_folder(Path(path))
    counts = {"entities": 0, "edges": 0, "evidence": 0}
    deleted = 0
    nodes, rels = folder / "nodes.csv", folder / "relationships.csv"
    with atomic_text(nodes, newline="") as nf, atomic_text(rels, newline="") as rf:
        node_w, rel_w = csv.writer(nf, lineterminator="\n"), csv.writer(rf, lineterminator="\n")
        node_w.writerow(NEO4J_NODE_HEADER)
        rel_w.writerow(NEO4J_RELATIONSHIP_HEADER)
        for obj in _graph_lines(engine):
            if obj["kind"] == "graph":
                deleted = obj["left_out"]["deleted_records"]
            elif obj["kind"] == "entity":
                node_w.writerow([obj["key"], obj["name"], f"Entity{NEO4J_ARRAY_DELIMITER}{obj['type']}", obj["type"],
                                 obj["mesh_id"], obj["n_mentions"], obj["n_records"]])
                counts["entities"] += 1
            else:
                rel_w.writerow([obj["source"], obj["target"], obj["type"].upper(), obj["sentence_count"],
                                obj["abstract_count"], _float(obj["npmi"]), _float(obj["score"]),
                                NEO4J_ARRAY_DELIMITER.join(_pmids(obj["evidence"]))])
                counts["edges"] += 1
                counts["evidence"] += len(obj["evidence"])
    return ExportReport("neo4j-csv", [nodes, rels], counts, deleted)


def _float(x: float | None) -> str | None:
    return None if x is None else repr(float(x))


def export(engine: Engine, path: str | Path, fmt: str = "jsonl", *, replace: bool = True) -> ExportReport:
    """Write the stored graph to ``path`` in format ``fmt`` (a name of :data:`EXPORT_FORMATS`, any case).
    ``replace=False`` (``kg export`` without ``--force``) refuses an existing file, or for ``neo4j-csv`` a
    folder already holding ``nodes.csv`` or ``relationships.csv``, before anything is written.

    Raises
    ------
    ConfigError
        ``fmt`` is not a registered format (the message lists them).
    GraphNotBuilt
        The workspace holds no graph.
    DataError
        ``path`` cannot be written (named), or would be replaced without ``replace``; for ``pubtator``
        and ``bioc``, the graph holds no mentions.
    """
    writer, path = EXPORT_FORMATS.get(fmt), Path(path)
    if not replace and writer is write_neo4j_csv:
        held = [name for name in ("nodes.csv", "relationships.csv") if (path / name).exists()]
        if held:
            raise DataError(f"{path} already holds {' and '.join(held)}: add --force to replace them, or give "
                            "another folder")
    elif not replace and path.is_file():
        raise DataError(f"{path} already exists: add --force to replace it, or give another file name")
    return writer(engine, path)


# the document formats register themselves; imported last, as they import this module's names
from serendip.kg import export_annotated as _export_annotated  # noqa: E402, F401
