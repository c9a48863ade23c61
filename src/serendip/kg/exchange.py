"""The stored knowledge graph as JSON Lines, and back into another workspace.

File layout (UTF-8, one JSON object per line)::

    {"kind": "graph", "format": "serendip-kg", "version": 1, "tagger": ..., "counts": {...}}
    {"kind": "entity", "key": ..., "type": ..., "mesh_id": ... | null, "name": ..., "n_mentions": n, "n_records": n}
    ...
    {"kind": "edge", "source": <entity key>, "target": <entity key>, "type": "cooccurrence",
     "sentence_count": n, "abstract_count": n, "npmi": x | null, "score": x | null,
     "evidence": [{"pmid": ... | null, "source_id": ... | null, "sentence": i | null, "field": 0 | 1 | null,
                   "char_start": i | null, "char_end": i | null, "text": ... | null}, ...]}

The header comes first, then every entity, then every edge (its end points already given). Mentions are
not exported. ``source_id`` is the evidence record's id in the file it was ingested from (e.g.
``beir:4983``), so an import can find the same record in another workspace.

:func:`import_graph` reads such a file into a workspace whose graph is empty (or ``replace``\\ d): a line
that is not valid JSON or not a valid entity or edge (an edge naming an entity not given before it) is
skipped and reported with the file and line; the rest is imported in one transaction. Each evidence row
is linked to the workspace's record with the same PMID, else the same ``source_id``, else kept without
a record.

Evidence of records deleted since the last build (:func:`~serendip.kg.store.evidence_gone`) is not
exported, nor an edge left without evidence; edge counts are those of the evidence written (else a
withdrawn record would reach another workspace as standing evidence). The header's ``counts`` are of
the lines written; its ``left_out`` counts ``deleted_records`` and the ``edges`` and ``evidence`` left out.

A file cut short (fewer entity and edge lines than its header records, or a last line
without its line break) is refused whole, before anything is written.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, case, delete, exists, func, insert, select

from serendip.errors import ConfigError, DataError
from serendip.issues import Issue
from serendip.kg.exchange_check import FORMAT, check_complete, read_header
from serendip.kg.store import (
    KG_TABLES,
    deleted_records,
    evidence_gone,
    graph_counts,
    kg_builds,
    kg_edges,
    kg_entities,
    kg_evidence,
    require_graph,
)
from serendip.workspace.schema import records

if TYPE_CHECKING:  # pragma: no cover
    from serendip.workbench import Workspace

__all__ = ["FORMAT", "ImportReport", "export_graph", "import_graph"]

_EVIDENCE_KEYS = ("pmid", "source_id", "sentence", "field", "char_start", "char_end", "text")


def _left_out(conn: Connection) -> dict[str, int]:
    """``{"deleted_records", "edges", "evidence"}`` an export leaves out: the records deleted since the
    last build, the edges whose evidence is all theirs and their evidence rows (two counts over the
    evidence, only when some record was deleted)."""
    n = deleted_records(conn)
    if not n:
        return {"deleted_records": 0, "edges": 0, "evidence": 0}
    ev, other = kg_evidence.c, kg_evidence.alias("kept_evidence")
    n_rows = conn.execute(select(func.count()).select_from(kg_evidence).where(evidence_gone())).scalar_one()
    kept = exists().where(other.c.edge_id == ev.edge_id, ~evidence_gone(other))
    n_edges = conn.execute(select(func.count(ev.edge_id.distinct())).where(evidence_gone(), ~kept)).scalar_one()
    return {"deleted_records": n, "edges": n_edges, "evidence": n_rows}


def _lines(engine: Engine) -> Iterator[dict]:
    e, ev = kg_edges.c, kg_evidence.c
    with engine.connect() as conn:
        last = conn.execute(select(kg_builds.c.tagger).where(kg_builds.c.status == "done")
                            .order_by(kg_builds.c.id.desc()).limit(1)).scalar_one_or_none()
        counts, left_out = graph_counts(engine), _left_out(conn)
        counts["edges"] -= left_out["edges"]
        counts["evidence"] -= left_out["evidence"]
        yield {"kind": "graph", "format": FORMAT, "version": 1, "tagger": last, "counts": counts, "left_out": left_out}
        keys = {}
        for r in conn.execute(select(kg_entities).order_by(kg_entities.c.id)):
            keys[r.id] = r.key
            yield {"kind": "entity", "key": r.key, "type": r.type, "mesh_id": r.mesh_id, "name": r.name,
                   "n_mentions": r.n_mentions, "n_records": r.n_records}
        edges = conn.execute(select(e.id, e.source_id, e.target_id, e.type, e.sentence_count, e.abstract_count,
                                    e.npmi, e.score).order_by(e.id)).all()
        for i in range(0, len(edges), 500):
            chunk = edges[i:i + 500]
            found: dict[int, list[dict]] = {r.id: [] for r in chunk}
            gone: dict[int, tuple[set[int], int]] = {}
            for row in conn.execute(
                    select(ev.edge_id, ev.record_id, ev.pmid, records.c.source_id, ev.sentence, ev.field, ev.char_start,
                           ev.char_end, ev.text, case((evidence_gone(), 1), else_=0).label("gone"))
                    .select_from(kg_evidence.outerjoin(records, records.c.id == ev.record_id))
                    .where(ev.edge_id.in_(list(found))).order_by(ev.edge_id, ev.id)):
                if row.gone:
                    rids, n_sentences = gone.get(row.edge_id, (set(), 0))
                    gone[row.edge_id] = (rids | {row.record_id}, n_sentences + (row.sentence is not None))
                else:
                    found[row.edge_id].append({k: getattr(row, k) for k in _EVIDENCE_KEYS})
            for r in chunk:
                if r.id in gone and not found[r.id]:
                    continue  # all its evidence is of deleted records
                rids, n_sentences = gone.get(r.id, ((), 0))
                yield {"kind": "edge", "source": keys[r.source_id], "target": keys[r.target_id], "type": r.type,
                       "sentence_count": r.sentence_count - n_sentences, "abstract_count": r.abstract_count - len(rids),
                       "npmi": r.npmi, "score": r.score, "evidence": found[r.id]}


def export_graph(engine: Engine, path: str | Path) -> dict[str, int]:
    """Write the stored graph to ``path`` as JSON Lines (module docstring); returns the counts
    written (``entities``, ``edges``, ``evidence``) and ``deleted_records``, the records deleted from
    the workspace since the last build whose evidence was left out. The file is written whole to a temporary name
    beside it, then renamed; on failure nothing is left behind.

    Raises
    ------
    GraphNotBuilt
        The workspace holds no graph.
    DataError
        ``path`` cannot be written (its folder is missing or not writable, it is a folder, the disk is
        full); the message names ``path``, never the temporary file.
    """
    require_graph(engine)
    path = Path(path)
    if path.is_dir():
        raise DataError(f"cannot write {path}: it is a folder; give a file name, e.g. {path / 'graph.jsonl'}")
    if not path.parent.is_dir():
        raise DataError(f"cannot write {path}: folder {path.parent} does not exist")
    tmp = path.with_name(f".{path.name}.tmp")
    counts = {"entities": 0, "edges": 0, "evidence": 0, "deleted_records": 0}
    try:
        with tmp.open("w", encoding="utf-8") as fh:
            for obj in _lines(engine):
                fh.write(json.dumps(obj, ensure_ascii=False) + "\n")
                if obj["kind"] == "graph":
                    counts["deleted_records"] = obj["left_out"]["deleted_records"]
                elif obj["kind"] == "entity":
                    counts["entities"] += 1
                elif obj["kind"] == "edge":
                    counts["edges"] += 1
                    counts["evidence"] += len(obj["evidence"])
        tmp.replace(path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        raise DataError(f"cannot write {path}: {(exc.strerror or str(exc)).lower()}") from None
    return counts


@dataclass
class ImportReport:
    """What :func:`import_graph` stored: ``entities``, ``edges``, ``evidence`` (rows), ``linked``
    (evidence rows matched to a record of this workspace), ``issues`` (lines skipped, one
    :class:`~serendip.issues.Issue` each)."""

    entities: int = 0
    edges: int = 0
    evidence: int = 0
    linked: int = 0
    issues: list[Issue] = field(default_factory=list)


def _int(obj: dict, key: str, *, optional: bool = False) -> int | None:
    v = obj.get(key)
    if v is None and optional:
        return None
    if isinstance(v, bool) or not isinstance(v, int) or v < 0:
        raise ValueError(f"{key} {v!r} is not a whole number >= 0")
    return v


def _number(obj: dict, key: str) -> float | None:
    v = obj.get(key)
    if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float))):
        raise ValueError(f"{key} {v!r} is not a number or null")
    return v


def _text(obj: dict, key: str, *, optional: bool = False) -> str | None:
    v = obj.get(key)
    if (v is None and optional) or (isinstance(v, str) and (v or optional)):
        return v
    raise ValueError(f"{key} {v!r} is not a non-empty string" + (" or null" if optional else ""))


def _entity_row(obj: dict) -> dict:
    return {"key": _text(obj, "key"), "type": _text(obj, "type"), "mesh_id": _text(obj, "mesh_id", optional=True),
            "name": _text(obj, "name"), "n_mentions": _int(obj, "n_mentions"), "n_records": _int(obj, "n_records")}


def _evidence_row(ev: Any) -> dict:
    if not isinstance(ev, dict):
        raise ValueError("an evidence item is not a JSON object")
    row = {k: _text(ev, k, optional=True) for k in ("pmid", "source_id", "text")}
    row.update({k: _int(ev, k, optional=True) for k in ("sentence", "field", "char_start", "char_end")})
    return row


def _edge_row(obj: dict, ids: dict[str, int]) -> tuple[dict, list[dict]]:
    src, dst = _text(obj, "source"), _text(obj, "target")
    for key in (src, dst):
        if key not in ids:
            raise ValueError(f"entity {key!r} is not given before this edge")
    if src == dst:
        raise ValueError(f"edge from {src!r} to itself")
    evidence = obj.get("evidence")
    if not isinstance(evidence, list):
        raise ValueError("evidence is not a list")
    a, b = sorted((ids[src], ids[dst]))
    return ({"source_id": a, "target_id": b, "type": _text(obj, "type"), "sentence_count": _int(obj, "sentence_count"),
             "abstract_count": _int(obj, "abstract_count"), "npmi": _number(obj, "npmi"),
             "score": _number(obj, "score")}, [_evidence_row(ev) for ev in evidence])


def _record_ids(conn: Connection, column, values: set[str]) -> dict[str, int]:
    out: dict[str, int] = {}
    vals = sorted(values)
    for i in range(0, len(vals), 500):
        for rid, v in conn.execute(select(records.c.id, column).where(column.in_(vals[i:i + 500])).order_by(records.c.id)):
            out.setdefault(v, rid)
    return out


def _flush(conn: Connection, edges: list[tuple[dict, list[dict]]], report: ImportReport) -> None:
    if not edges:
        return
    by_pmid = _record_ids(conn, records.c.pmid, {ev["pmid"] for _, evs in edges for ev in evs if ev["pmid"]})
    by_source = _record_ids(conn, records.c.source_id,
                            {ev["source_id"] for _, evs in edges for ev in evs if ev["source_id"]})
    stmt = insert(kg_edges).returning(kg_edges.c.id, sort_by_parameter_order=True)
    edge_ids = conn.execute(stmt, [row for row, _ in edges]).scalars().all()
    rows = []
    for eid, (_, evs) in zip(edge_ids, edges):
        for ev in evs:
            rid = by_pmid.get(ev["pmid"]) if ev["pmid"] else None
            rid = rid if rid is not None else by_source.get(ev["source_id"]) if ev["source_id"] else None
            report.linked += rid is not None
            rows.append({"edge_id": eid, "record_id": rid, **{k: v for k, v in ev.items() if k != "source_id"}})
    if rows:
        conn.execute(insert(kg_evidence), rows)
    report.edges += len(edges)
    report.evidence += len(rows)
    edges.clear()


class _Pending:
    """Entities and edges read but not yet inserted (inserted 500 at a time, entities first)."""

    def __init__(self) -> None:
        self.ids: dict[str, int] = {}
        self.entities: dict[str, dict] = {}
        self.edges: list[tuple[dict, list[dict]]] = []
        self.pairs: set[tuple[str, str, str]] = set()

    def flush_entities(self, conn: Connection, report: ImportReport) -> None:
        if self.entities:
            stmt = insert(kg_entities).returning(kg_entities.c.key, kg_entities.c.id, sort_by_parameter_order=True)
            self.ids.update(dict(conn.execute(stmt, list(self.entities.values())).all()))
            report.entities += len(self.entities)
            self.entities.clear()

    def add(self, conn: Connection, obj: dict, report: ImportReport) -> None:
        if obj["kind"] == "entity":
            row = _entity_row(obj)
            if row["key"] in self.ids or row["key"] in self.entities:
                raise ValueError(f"entity {row['key']!r} given twice")
            self.entities[row["key"]] = row
            if len(self.entities) >= 500:
                self.flush_entities(conn, report)
            return
        self.flush_entities(conn, report)
        edge = _edge_row(obj, self.ids)
        pair = (*sorted((obj["source"], obj["target"])), edge[0]["type"])
        if pair in self.pairs:
            raise ValueError(f"edge {obj['source']!r} - {obj['target']!r} ({pair[2]}) given twice")
        self.pairs.add(pair)
        self.edges.append(edge)
        if len(self.edges) >= 500:
            _flush(conn, self.edges, report)


def _read_into(conn: Connection, path: Path, fh, report: ImportReport) -> None:
    pending = _Pending()
    for lineno, line in enumerate(fh, 2):  # UTF-8 throughout: check_complete has read every line
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
            if not isinstance(obj, dict) or obj.get("kind") not in ("entity", "edge"):
                raise ValueError("not an entity or edge object")
            pending.add(conn, obj, report)
        except ValueError as exc:  # JSONDecodeError too
            report.issues.append(Issue(str(path), str(exc), line=lineno))
    pending.flush_entities(conn, report)
    _flush(conn, pending.edges, report)


def import_graph(ws: Workspace, path: str | Path, *, replace: bool = False) -> ImportReport:
    """Read a :func:`export_graph` file into ``ws`` (module docstring). The whole file is checked
    against its header's entity and edge counts first (:func:`_check_complete`), then imported in one
    transaction: a file cut short, or any failure while writing, leaves the workspace's graph as it was.

    Raises
    ------
    WorkspaceReadOnly
        The workspace was opened without write access.
    ConfigError
        The workspace holds a graph already (without ``replace``).
    ParseError
        The file does not start with a Serendip knowledge-graph header, or holds fewer or more entity
        and edge lines than the header records, or does not end with a line break (cut short): names
        the file and line; nothing imported.
    DataError
        The file cannot be read (missing, a folder, not readable): names it.
    """
    from serendip.workspace.locks import kg_lock

    ws.store.require_writable("kg import")
    path = Path(path)
    report = ImportReport()
    try:
        fh = path.open(encoding="utf-8", errors="surrogateescape")  # bytes not UTF-8: named with their line
    except OSError as exc:
        why = "no such file" if isinstance(exc, FileNotFoundError) else (exc.strerror or str(exc)).lower()
        raise DataError(f"cannot read {path}: {why}") from None
    with kg_lock(ws.path), fh:
        head = read_header(path, fh.readline())
        check_complete(path, fh, head)
        fh.seek(0)
        fh.readline()
        with ws.engine.begin() as conn:
            n = conn.execute(select(func.count()).select_from(kg_entities)).scalar_one()
            if n and not replace:
                raise ConfigError(f"workspace {ws.path} already holds a knowledge graph ({n:,} entities): import "
                                  f"into a workspace without one, or pass --replace to replace it")
            for t in KG_TABLES:
                conn.execute(delete(t))
            now = dt.datetime.now(dt.timezone.utc)
            _read_into(conn, path, fh, report)
            conn.execute(insert(kg_builds).values(
                started_at=now, finished_at=dt.datetime.now(dt.timezone.utc), status="done",
                tagger=f"import:{path.name} (built with {head.get('tagger')})", records_read=0, records_removed=0,
                counts={"entities": report.entities, "edges": report.edges, "evidence": report.evidence}))
    return report
