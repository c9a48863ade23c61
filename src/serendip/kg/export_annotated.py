"""``kg export --format pubtator | bioc``: each record the graph has read, with its mentions and CID
relations, in the two formats the BioCreative V CDR corpus is distributed in.

Documents (:func:`annotated_documents`): every record of the last builds (``kg_records``) that the
workspace still holds, unchanged since it was read, in record id order (records without a mention too,
as an annotated corpus lists them). Its id is the record's PMID; a record without a PMID is written
under its source id (e.g. ``beir:4983``), else ``record-<workspace id>``: strict PubTator readers
(:func:`serendip.kg.pubtator.parse_pubtator` among them) take only numeric PMIDs, so such documents do
not re-read there. Its text is the title and abstract as stored, joined by one space; mention offsets
(stored per field, :mod:`serendip.kg.store`) become offsets into that text: a title mention's as
stored, an abstract mention's plus ``len(title) + 1`` (PubTator's convention). A composite mention (one
span normalised to several MeSH ids, stored once per id) is one mention with ids ``D1|D2``; an
unresolved mention has id ``-1``, as in the CDR corpus. Relations: each ``cid`` edge (the relation
classifier's) with evidence in the record, as ``CID`` between its chemical's and its disease's MeSH
ids; one with an unresolved end is left out (counted as ``unresolved_relations``).

Left out: records deleted from the workspace since the last build (as every export,
:func:`serendip.kg.store.deleted_records`) and records whose title or abstract changed since it was
read (``changed_records``: their stored offsets no longer index the text; run ``kg build`` first).
A graph imported with ``kg import`` holds no mentions (the JSON Lines file carries none): exporting
it is a :class:`~serendip.errors.DataError` saying to rebuild.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Connection, Engine, select

from serendip.errors import DataError
from serendip.issues import Issue
from serendip.kg.export_formats import EXPORT_FORMATS, ExportReport, atomic_text
from serendip.kg.pubtator import Document, Mention, Relation, format_pubtator
from serendip.kg.reading import text_digest
from serendip.kg.store import (
    deleted_records,
    evidence_gone,
    kg_edges,
    kg_entities,
    kg_evidence,
    kg_mentions,
    kg_records,
    require_graph,
)
from serendip.workspace.schema import records

__all__ = ["AnnotatedDocument", "annotated_documents", "write_bioc", "write_pubtator_file"]

#: The edge type of the CID relation classifier's edges (:mod:`serendip.kg.store`)
CID_EDGE = "cid"
_CHUNK = 500
#: Characters that end a line of a PubTator file or split its columns
_LINE_BREAKING = str.maketrans({"\n": " ", "\r": " ", "\t": " "})


@dataclass
class AnnotatedDocument:
    """One record as an annotated document: ``doc`` (a :class:`~serendip.kg.pubtator.Document`: id,
    title, abstract, mentions with offsets into ``title + " " + abstract``, CID relations), the
    workspace ``record_id`` and its ``pmid`` (None when it has none)."""

    doc: Document
    record_id: int
    pmid: str | None


@dataclass
class _Tally:
    deleted: int = 0
    changed: int = 0
    unresolved_relations: int = 0
    issues: list[Issue] = field(default_factory=list)


def _mentions(conn: Connection, ids: list[int]) -> dict[int, list]:
    m, e = kg_mentions.c, kg_entities.c
    out: dict[int, list] = defaultdict(list)
    for row in conn.execute(select(m.record_id, m.pmid, m.field, m.char_start, m.char_end, m.text, e.type, e.mesh_id)
                            .join_from(kg_mentions, kg_entities, e.id == m.entity_id).where(m.record_id.in_(ids))
                            .order_by(m.record_id, m.field, m.char_start, m.char_end, e.type, m.id)):
        out[row.record_id].append(row)
    return out


def _relations(conn: Connection, ids: list[int], tally: _Tally) -> dict[int, list[Relation]]:
    """``{record id: CID relations}`` from the ``cid`` edges' evidence kept in those records."""
    ev, ed = kg_evidence.c, kg_edges.c
    a, b = kg_entities.alias("a"), kg_entities.alias("b")
    out: dict[int, list[Relation]] = defaultdict(list)
    rows = conn.execute(select(ev.record_id, a.c.type, a.c.mesh_id, b.c.type, b.c.mesh_id).distinct()
                        .select_from(kg_evidence.join(kg_edges, ed.id == ev.edge_id)
                                     .join(a, a.c.id == ed.source_id).join(b, b.c.id == ed.target_id))
                        .where(ed.type == CID_EDGE, ev.record_id.in_(ids), ~evidence_gone())
                        .order_by(ev.record_id, a.c.mesh_id, b.c.mesh_id)).all()
    for rid, ta, ma, tb, mb in rows:
        ends = {ta: ma, tb: mb}
        if not ends.get("Chemical") or not ends.get("Disease"):
            tally.unresolved_relations += 1
            continue
        out[rid].append(Relation("CID", ends["Chemical"], ends["Disease"]))
    return out


def _document(rec, rows: list, relations: list[Relation], tally: _Tally) -> AnnotatedDocument | None:
    """The document of one record from its mention rows (None, counted, when the record was deleted
    or changed since the build read it)."""
    title, abstract = rec.title or "", rec.abstract or ""
    if rows and rows[0].pmid is not None and rows[0].pmid != rec.pmid:
        return None  # its id now holds another record (SQLite reuses the highest rowid): deleted_records counts it
    if text_digest(title, abstract) != rec.digest or any(r.pmid != rec.pmid for r in rows):
        tally.changed += 1
        return None
    doc_id = rec.pmid or rec.source_id or f"record-{rec.id}"
    fields, shift = (title, abstract), len(title) + 1
    spans: dict[tuple, list[str | None]] = {}
    for r in rows:
        if fields[r.field][r.char_start:r.char_end] != r.text:
            tally.issues.append(Issue("kg_mentions", f"mention {r.text!r} at {r.char_start}-{r.char_end} of its "
                                      f"{('title', 'abstract')[r.field]} does not match the text; document left out",
                                      record=doc_id))
            return None
        start = r.char_start + (shift if r.field else 0)
        spans.setdefault((start, start + len(r.text), r.text, r.type), []).append(r.mesh_id)
    mentions = [Mention(s, e, t, typ, tuple(ids) if all(ids) else (None,)) for (s, e, t, typ), ids in spans.items()]
    return AnnotatedDocument(Document(doc_id, title, abstract, mentions, relations), rec.id, rec.pmid)


def annotated_documents(engine: Engine, tally: _Tally | None = None) -> Iterator[AnnotatedDocument]:
    """The records of the graph as annotated documents (module docstring), in record id order, read
    500 records at a time; ``tally`` (internal) counts what was left out.

    Raises
    ------
    GraphNotBuilt
        The workspace holds no graph.
    DataError
        The graph holds no mentions (it was imported; ``kg build --rebuild`` makes them).
    """
    require_graph(engine)
    tally = tally if tally is not None else _Tally()
    k, r = kg_records.c, records.c
    with engine.connect() as conn:
        if conn.execute(select(kg_mentions.c.id).limit(1)).first() is None:
            raise DataError("the graph holds no mentions to export (a graph read by `serendip kg import` has "
                            "none): run `serendip kg build --rebuild` to tag the workspace's records")
        tally.deleted = deleted_records(conn)
        held = conn.execute(select(k.record_id).join_from(kg_records, records, r.id == k.record_id)
                            .order_by(k.record_id)).scalars().all()
        for i in range(0, len(held), _CHUNK):
            ids = held[i:i + _CHUNK]
            mentions, relations = _mentions(conn, ids), _relations(conn, ids, tally)
            for rec in conn.execute(select(r.id, r.pmid, r.source_id, r.title, r.abstract, k.digest)
                                    .join_from(records, kg_records, k.record_id == r.id)
                                    .where(r.id.in_(ids)).order_by(r.id)):
                out = _document(rec, mentions.get(rec.id, []), relations.get(rec.id, []), tally)
                if out is not None:
                    yield out


def _report(fmt: str, path: Path, counts: dict[str, int], tally: _Tally) -> ExportReport:
    return ExportReport(fmt, [path], counts, tally.deleted,
                        {"changed_records": tally.changed, "unresolved_relations": tally.unresolved_relations},
                        tally.issues)


@EXPORT_FORMATS.register("pubtator")
def write_pubtator_file(engine: Engine, path: Path) -> ExportReport:
    """Each record's title, abstract, mentions and CID relations as one PubTator file.

    The documents (module docstring), each as ``ID|t|title``, ``ID|a|abstract``, one
    ``ID<TAB>start<TAB>end<TAB>text<TAB>type<TAB>MeSH id`` line per mention (``-1`` unresolved,
    ``D1|D2`` composite), one ``ID<TAB>CID<TAB>chemical<TAB>disease`` line per relation, a blank line
    after each document (:func:`serendip.kg.pubtator.format_pubtator`, which
    :func:`~serendip.kg.pubtator.read_pubtator` reads back to the same mentions). A line break or tab
    in a title, abstract or mention would end a line or split a column of this format: each is written
    as one space (the offsets stay true; ``counts["flattened"]`` counts the documents so written). A
    document whose id (a source id) holds ``|``, a tab or a line break is skipped and reported in ``issues``.

    Raises
    ------
    GraphNotBuilt, DataError
        As :func:`annotated_documents`; ``path`` cannot be written (named).
    """
    path, tally = Path(path), _Tally()
    counts = {"documents": 0, "mentions": 0, "relations": 0, "flattened": 0}
    with atomic_text(path) as fh:
        for item in annotated_documents(engine, tally):
            doc = item.doc
            if doc.pmid.translate(_LINE_BREAKING) != doc.pmid or "|" in doc.pmid:
                tally.issues.append(Issue(str(path), f"document id {doc.pmid!r} holds a '|', tab or line break, "
                                          f"which PubTator cannot hold; document left out", record=str(item.record_id)))
                continue
            text = f"{doc.title}\x1f{doc.abstract}"
            if text.translate(_LINE_BREAKING) != text:
                counts["flattened"] += 1
                doc.title, doc.abstract = doc.title.translate(_LINE_BREAKING), doc.abstract.translate(_LINE_BREAKING)
                doc.mentions = [Mention(m.start, m.end, m.text.translate(_LINE_BREAKING), m.type, m.ids)
                                for m in doc.mentions]
            fh.write(format_pubtator(doc))
            counts["documents"] += 1
            counts["mentions"] += len(doc.mentions)
            counts["relations"] += len(doc.relations)
    return _report("pubtator", path, counts, tally)


def _bioc_document(doc: Document):
    """The ``<document>`` element of ``doc``: a title passage (offset 0) and an abstract passage (offset
    ``len(title) + 1``), each with its annotations (document offsets), then the CID relations."""
    from lxml import etree

    el = etree.Element("document")
    etree.SubElement(el, "id").text = doc.pmid
    n = 0
    for kind, offset, text in (("title", 0, doc.title), ("abstract", len(doc.title) + 1, doc.abstract)):
        passage = etree.SubElement(el, "passage")
        etree.SubElement(passage, "infon", key="type").text = kind
        etree.SubElement(passage, "offset").text = str(offset)
        etree.SubElement(passage, "text").text = text
        for m in doc.mentions:
            if offset <= m.start and m.end <= offset + len(text):
                ann = etree.SubElement(passage, "annotation", id=str(n))
                etree.SubElement(ann, "infon", key="type").text = m.type
                etree.SubElement(ann, "infon", key="identifier").text = "|".join(i or "-1" for i in m.ids)
                etree.SubElement(ann, "location", offset=str(m.start), length=str(m.end - m.start))
                etree.SubElement(ann, "text").text = m.text
                n += 1
    for i, rel in enumerate(doc.relations):
        r = etree.SubElement(el, "relation", id=f"R{i}")
        etree.SubElement(r, "infon", key="relation").text = rel.type
        etree.SubElement(r, "infon", key="Chemical").text = rel.id1
        etree.SubElement(r, "infon", key="Disease").text = rel.id2
    return el


@EXPORT_FORMATS.register("bioc")
def write_bioc(engine: Engine, path: Path) -> ExportReport:
    """Each record's title, abstract, mentions and CID relations as one BioC XML collection.

    The documents (module docstring) in the BioC DTD's ``collection``:
    ``source`` ``Serendip``, ``date``, ``key`` ``BioC.key``; per document its ``id``, a ``title`` passage
    at offset 0 and an ``abstract`` passage at offset ``len(title) + 1``, each annotation with infons
    ``type`` and ``identifier`` (MeSH id, ``-1`` unresolved, ``D1|D2`` composite), a ``location`` whose
    ``offset`` is into the document text (``title + " " + abstract``, code points) and its ``text``; a
    ``relation`` per CID relation with infons ``relation`` ``CID``, ``Chemical`` and ``Disease``, as in
    the BioCreative V CDR corpus). Written with lxml. A record whose text holds a character XML 1.0
    cannot hold (a control character) is skipped and reported in ``issues``.

    Raises
    ------
    GraphNotBuilt, DataError
        As :func:`annotated_documents`; ``path`` cannot be written (named).
    """
    import datetime as dt

    from lxml import etree

    path, tally = Path(path), _Tally()
    counts = {"documents": 0, "mentions": 0, "relations": 0}
    with atomic_text(path, binary=True) as fh, etree.xmlfile(fh, encoding="utf-8") as xf:
        xf.write_declaration()
        xf.write_doctype('<!DOCTYPE collection SYSTEM "BioC.dtd">')
        with xf.element("collection"):
            xf.write("\n")
            for tag, text in (("source", "Serendip"), ("date", dt.date.today().strftime("%Y%m%d")), ("key", "BioC.key")):
                with xf.element(tag):
                    xf.write(text)
                xf.write("\n")
            for item in annotated_documents(engine, tally):
                try:
                    el = _bioc_document(item.doc)
                except ValueError as exc:  # lxml: "All strings must be XML compatible"
                    tally.issues.append(Issue(str(path), f"{exc}; document left out", record=item.doc.pmid))
                    continue
                xf.write(el, pretty_print=True)
                counts["documents"] += 1
                counts["mentions"] += len(item.doc.mentions)
                counts["relations"] += len(item.doc.relations)
    return _report("bioc", path, counts, tally)
