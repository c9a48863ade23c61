"""``kg export --format pubtator | bioc``: the exported PubTator file re-reads with
:func:`serendip.kg.pubtator.read_pubtator` to the stored mentions, at offsets into ``title + " " +
abstract``; composite and unresolved mentions and CID edges are written the BioCreative V CDR way; the
BioC XML parses with lxml and each annotation's offset gives back its text; records deleted or changed
since the build are left out and counted; a record without a PMID is written under its source id, its
line breaks as spaces; an imported graph (no mentions) is refused in one line."""
from __future__ import annotations

import pytest
from kg_helpers import write_records
from lxml import etree
from sqlalchemy import delete, insert, select, update

from serendip.errors import DataError
from serendip.kg.build import build
from serendip.kg.exchange import import_graph
from serendip.kg.export_formats import export
from serendip.kg.pubtator import Relation, parse_pubtator, read_pubtator
from serendip.kg.store import kg_edges, kg_entities, kg_evidence, kg_mentions
from serendip.workbench import Workspace
from serendip.workspace.schema import records

#: The mentions of PMID 9001 ("Aspirin and headache in adults" + " " + its abstract), as the build stores them
MENTIONS_9001 = [(0, 7, "Aspirin", "Chemical", ("D001241",)), (12, 20, "headache", "Disease", ("D006261",)),
                 (31, 38, "Aspirin", "Chemical", ("D001241",)), (48, 56, "headache", "Disease", ("D006261",)),
                 (58, 64, "Nausea", "Disease", ("D009325",)), (75, 84, "Ibuprofen", "Chemical", ("D007052",)),
                 (103, 110, "aspirin", "Chemical", ("D001241",))]


@pytest.fixture
def built(kg_ws, tmp_path, training):
    kg_ws.ingest([write_records(tmp_path / "r.jsonl")], fmt="jsonl")
    build(kg_ws, training=training)
    return kg_ws


def _ids(conn, *keys):
    return [conn.execute(select(kg_entities.c.id).where(kg_entities.c.key == k)).scalar_one() for k in keys]


def _record(conn, pmid):
    return conn.execute(select(records.c.id).where(records.c.pmid == pmid)).scalar_one()


def _annotate(ws):
    """A CID edge aspirin -> headache with evidence in 9001; nausea unresolved; in 9003 the span of
    "vomiting" also normalised to pain (a composite mention: two rows, one span)."""
    with ws.engine.begin() as conn:
        aspirin, headache, vomiting, pain = _ids(conn, "Chemical:D001241", "Disease:D006261", "Disease:D014839",
                                                 "Disease:D010146")
        edge = conn.execute(insert(kg_edges).values(source_id=aspirin, target_id=headache, type="cid", sentence_count=1,
                                                    abstract_count=1, score=0.9).returning(kg_edges.c.id)).scalar_one()
        conn.execute(insert(kg_evidence).values(edge_id=edge, record_id=_record(conn, "9001"), pmid="9001", sentence=1,
                                                field=1, char_start=0, char_end=26, text="Aspirin relieved headache."))
        conn.execute(update(kg_entities).where(kg_entities.c.key == "Disease:D009325").values(mesh_id=None))
        row = conn.execute(select(kg_mentions).where(kg_mentions.c.entity_id == vomiting)).one()._asdict()
        del row["id"]
        conn.execute(insert(kg_mentions).values({**row, "entity_id": pain}))


def test_pubtator_rereads_to_the_stored_mentions(built, tmp_path):
    _annotate(built)
    rep = export(built.engine, tmp_path / "g.pubtator", "pubtator")
    docs = read_pubtator(tmp_path / "g.pubtator")  # checks every mention against title + " " + abstract
    assert [d.pmid for d in docs] == ["9001", "9002", "9003"]
    assert rep.counts == {"documents": 3, "mentions": 19, "relations": 1, "flattened": 0}
    assert rep.left_out == {"changed_records": 0, "unresolved_relations": 0} and rep.deleted_records == 0
    d1 = docs[0]
    assert d1.title == "Aspirin and headache in adults" and d1.abstract.startswith("Aspirin relieved headache.")
    want = [(s, e, t, typ, (None,) if t == "Nausea" else ids) for s, e, t, typ, ids in MENTIONS_9001]
    assert [(m.start, m.end, m.text, m.type, m.ids) for m in d1.mentions] == want
    assert [(r.type, r.id1, r.id2) for r in d1.relations] == [("CID", "D001241", "D006261")]
    assert docs[1].relations == [] and docs[2].relations == []
    text = (tmp_path / "g.pubtator").read_text(encoding="utf-8")
    assert "9001\t58\t64\tNausea\tDisease\t-1\n" in text and "9001\tCID\tD001241\tD006261\n" in text
    composite = [m for m in docs[2].mentions if m.text == "vomiting"]
    assert [(m.ids, docs[2].text[m.start:m.end]) for m in composite] == [(("D014839", "D010146"), "vomiting")]
    with built.engine.connect() as conn:  # every stored mention, each once (the composite's two rows as one)
        stored = conn.execute(select(kg_mentions.c.pmid, kg_mentions.c.field, kg_mentions.c.char_start)).all()
    shift = {d.pmid: len(d.title) + 1 for d in docs}
    assert {(p, s + (shift[p] if f else 0)) for p, f, s in stored} == {(d.pmid, m.start) for d in docs for m in d.mentions}
    assert len(stored) == 20


def test_bioc_parses_and_offsets_give_back_the_mentions(built, tmp_path):
    _annotate(built)
    rep = export(built.engine, tmp_path / "g.xml", "bioc")
    tree = etree.parse(str(tmp_path / "g.xml"))
    assert tree.docinfo.doctype == '<!DOCTYPE collection SYSTEM "BioC.dtd">'
    docs = tree.getroot().findall("document")
    assert [d.findtext("id") for d in docs] == ["9001", "9002", "9003"] and rep.counts["mentions"] == 19
    found = []
    for d in docs:
        title, abstract = d.findall("passage")
        assert [p.findtext("infon[@key='type']") for p in (title, abstract)] == ["title", "abstract"]
        assert (int(title.findtext("offset")), int(abstract.findtext("offset"))) == (0, len(title.findtext("text")) + 1)
        for p in (title, abstract):
            offset, text = int(p.findtext("offset")), p.findtext("text")
            for a in p.findall("annotation"):
                loc = a.find("location")
                start, length = int(loc.get("offset")) - offset, int(loc.get("length"))
                assert text[start:start + length] == a.findtext("text")
                found.append((d.findtext("id"), int(loc.get("offset")), a.findtext("text"),
                              a.findtext("infon[@key='type']"), a.findtext("infon[@key='identifier']")))
    assert found[:7] == [("9001", s, t, typ, "-1" if t == "Nausea" else ids[0]) for s, _, t, typ, ids in MENTIONS_9001]
    assert ("9003", 59, "vomiting", "Disease", "D014839|D010146") in found and len(found) == 19
    rel = docs[0].find("relation")
    assert {i.get("key"): i.text for i in rel.findall("infon")} == {"relation": "CID", "Chemical": "D001241",
                                                                    "Disease": "D006261"}
    assert docs[1].find("relation") is None


def test_deleted_and_changed_records_are_left_out(built, tmp_path):
    with built.engine.begin() as conn:
        conn.execute(delete(records).where(records.c.pmid == "9001"))
        conn.execute(update(records).where(records.c.pmid == "9003").values(abstract="Morphine was given."))
    for fmt in ("pubtator", "bioc"):
        rep = export(built.engine, tmp_path / f"g.{fmt}", fmt)
        assert (rep.deleted_records, rep.left_out["changed_records"], rep.counts["documents"]) == (1, 1, 1)
        assert "9001" not in (tmp_path / f"g.{fmt}").read_text(encoding="utf-8")
    assert [d.pmid for d in read_pubtator(tmp_path / "g.pubtator")] == ["9002"]
    rep = export(built.engine, tmp_path / "g.graphml", "graphml")  # the graph formats too
    assert rep.deleted_records == 1 and ">9001<" not in (tmp_path / "g.graphml").read_text(encoding="utf-8")


def test_record_without_pmid_and_line_breaks(kg_ws, tmp_path, training):
    rec = {"id": "x1", "title": "Aspirin and headache", "abstract": "Aspirin relieved headache."}
    kg_ws.ingest([write_records(tmp_path / "r.jsonl", [rec])], fmt="jsonl")
    with kg_ws.engine.begin() as conn:  # as a reader that keeps white space would store it
        conn.execute(update(records).values(title="Aspirin\tand headache", abstract="Aspirin relieved\r\nheadache."))
    build(kg_ws, training=training)
    with kg_ws.engine.connect() as conn:
        source_id = conn.execute(select(records.c.source_id)).scalar_one()
    assert source_id
    rep = export(kg_ws.engine, tmp_path / "g.pubtator", "pubtator")
    assert rep.counts == {"documents": 1, "mentions": 4, "relations": 0, "flattened": 1}
    lines = (tmp_path / "g.pubtator").read_text(encoding="utf-8").splitlines()
    assert lines[:2] == [f"{source_id}|t|Aspirin and headache", f"{source_id}|a|Aspirin relieved  headache."]
    assert lines[-1] == "" and len(lines) == 7
    # the reader takes numeric PMIDs only: with a number for the source id the offsets check out
    doc, = parse_pubtator([line.replace(source_id, "1") for line in lines])
    assert [(m.start, m.text) for m in doc.mentions] == [(0, "Aspirin"), (12, "headache"), (21, "Aspirin"),
                                                        (39, "headache")]


def test_an_imported_graph_has_no_mentions_to_export(built, tmp_path):
    export(built.engine, tmp_path / "g.jsonl")
    other = Workspace.init(tmp_path / "other")
    import_graph(other, tmp_path / "g.jsonl")
    for fmt in ("pubtator", "bioc"):
        with pytest.raises(DataError, match=r"holds no mentions to export .* `serendip kg build --rebuild`"):
            export(other.engine, tmp_path / "x", fmt)
    assert not (tmp_path / "x").exists()
    assert export(other.engine, tmp_path / "g.graphml", "graphml").counts["edges"] == 15
    other.close()


def test_relation_sides_come_from_entity_types(built, tmp_path):
    with built.engine.begin() as conn:  # stored with the disease first (the lower entity id)
        headache, levodopa, unresolved = _ids(conn, "Disease:D006261", "Chemical:D007980", "Disease:D009325")
        conn.execute(update(kg_entities).where(kg_entities.c.id == unresolved).values(mesh_id=None))
        for a, b in ((headache, levodopa), (levodopa, unresolved)):
            edge = conn.execute(insert(kg_edges).values(source_id=min(a, b), target_id=max(a, b), type="cid",
                                                        sentence_count=0, abstract_count=1)
                                .returning(kg_edges.c.id)).scalar_one()
            conn.execute(insert(kg_evidence).values(edge_id=edge, record_id=_record(conn, "9002"), pmid="9002"))
    rep = export(built.engine, tmp_path / "g.pubtator", "pubtator")
    docs = read_pubtator(tmp_path / "g.pubtator")
    assert docs[1].relations == [Relation("CID", "D007980", "D006261", docs[1].relations[0].line)]
    assert rep.left_out["unresolved_relations"] == 1 and rep.counts["relations"] == 1


def test_documents_a_format_cannot_hold_are_skipped_and_reported(kg_ws, tmp_path, training):
    kg_ws.ingest([write_records(tmp_path / "r.jsonl")], fmt="jsonl")
    with kg_ws.engine.begin() as conn:  # a control character XML 1.0 cannot hold; an id PubTator cannot hold
        conn.execute(update(records).where(records.c.pmid == "9002").values(title="Levodopa\x0b for Parkinson's disease"))
        conn.execute(update(records).where(records.c.pmid == "9003").values(pmid=None, source_id="a|b"))
    build(kg_ws, training=training)
    rep = export(kg_ws.engine, tmp_path / "g.xml", "bioc")
    assert rep.counts["documents"] == 2 and [(i.file, i.record) for i in rep.issues] == [(str(tmp_path / "g.xml"), "9002")]
    assert "XML compatible" in rep.issues[0].reason and rep.issues[0].reason.endswith("; document left out")
    assert [d.findtext("id") for d in etree.parse(str(tmp_path / "g.xml")).getroot().iter("document")] == ["9001", "a|b"]
    rep = export(kg_ws.engine, tmp_path / "g.txt", "pubtator")
    assert rep.counts["documents"] == 2 and len(rep.issues) == 1
    assert "document id 'a|b' holds a '|', tab or line break" in str(rep.issues[0])
    assert [d.pmid for d in read_pubtator(tmp_path / "g.txt")] == ["9001", "9002"]
