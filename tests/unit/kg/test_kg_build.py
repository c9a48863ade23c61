"""``kg build`` over a workspace (SQLite and PostgreSQL): what it stores, that a second build adds nothing,
that records ingested later are added (the graph then equals one built in one go), that changed and
deleted records are re-read and removed, and that hostile texts (empty abstracts, abstracts over 512
tokens, non-English text, odd Unicode) go through without a crash or a lost mention."""
from __future__ import annotations

import pytest
from kg_helpers import RECORDS, graph_state, write_records
from sqlalchemy import func, select, text

from serendip.errors import ConfigError
from serendip.evidence.passages import split_record
from serendip.kg.build import build
from serendip.kg.pubtator import read_pubtator
from serendip.kg.store import (
    graph_counts,
    kg_builds,
    kg_edges,
    kg_entities,
    kg_mentions,
    kg_records,
    unread_records,
    unread_warning,
)
from serendip.kg.taggers import DictionaryTextTagger
from serendip.workspace.schema import records


def _ingest(ws, tmp_path, recs, name="r.jsonl"):
    rep = ws.ingest([write_records(tmp_path / name, recs)], fmt="jsonl")
    assert rep.ingested == len(recs), rep.to_dict()


def test_build_stores_entities_mentions_edges_and_evidence(kg_ws, tmp_path, training):
    _ingest(kg_ws, tmp_path, RECORDS)
    rep = build(kg_ws, training=training, batch=2)
    assert (rep.records_read, rep.records_removed, rep.unsplit, rep.tagger) == (3, 0, [], "dictionary")
    assert rep.counts == graph_counts(kg_ws.engine) and rep.counts["records"] == 3
    assert rep.mentions_added == rep.counts["mentions"] == 19
    state = graph_state(kg_ws.engine)
    ents = {e[0]: e for e in state["entities"]}
    assert ents["Chemical:D001241"] == ("Chemical:D001241", "Chemical", "D001241", "Aspirin", 3, 1)
    assert ents["Disease:D009325"][4:] == (3, 3)  # nausea: 3 mentions in 3 records
    assert ents["Disease:D010300"][4] == 3  # Parkinson's disease twice and PD through its definition
    edges = {e[:2]: e for e in state["edges"]}
    aspirin_headache = edges[("Chemical:D001241", "Disease:D006261")]
    assert aspirin_headache[2:5] == ("cooccurrence", 2, 1)  # two sentences of one record
    assert aspirin_headache[5] == aspirin_headache[6] == 1.0  # NPMI 1: only ever together (Bouma 2009)
    nausea_levodopa = edges[("Chemical:D007980", "Disease:D009325")]
    assert nausea_levodopa[2:6] == ("cooccurrence", 1, 1, 0.0)  # nausea in every record: independent
    ev = [e for e in state["evidence"] if e[0] == ("Chemical:D001241", "Disease:D006261")]
    assert [(e[1], e[2], e[6]) for e in ev] == [("9001", 0, "Aspirin and headache in adults"),
                                                 ("9001", 1, "Aspirin relieved headache.")]
    only_abstract = [e for e in state["evidence"] if e[0] == ("Chemical:D001241", "Disease:D009325")]
    assert only_abstract == [(("Chemical:D001241", "Disease:D009325"), "9001", None, None, None, None, None)]
    with kg_ws.engine.connect() as conn:
        assert conn.execute(select(kg_builds.c.status, kg_builds.c.records_read)).all() == [("done", 3)]


def test_second_build_adds_nothing(kg_ws, tmp_path, training):
    _ingest(kg_ws, tmp_path, RECORDS)
    build(kg_ws, training=training)
    before = graph_state(kg_ws.engine)
    again = build(kg_ws, training=training)
    assert (again.records_read, again.records_removed, again.mentions_added) == (0, 0, 0)
    assert graph_state(kg_ws.engine) == before
    assert sorted((kg_ws.path / "models" / "kg").glob("normaliser-*.json")) != []  # cached as plain JSON


def test_records_ingested_later_are_added(kg_ws, tmp_path, training):
    from serendip.workbench import Workspace

    _ingest(kg_ws, tmp_path, RECORDS[:2], "a.jsonl")
    assert build(kg_ws, training=training).records_read == 2
    _ingest(kg_ws, tmp_path, RECORDS[2:], "b.jsonl")
    rep = build(kg_ws, training=training)
    assert (rep.records_read, rep.counts["records"]) == (1, 3)
    whole = Workspace.init(tmp_path / "whole")
    _ingest(whole, tmp_path, RECORDS, "all.jsonl")
    build(whole, training=training)
    assert graph_state(kg_ws.engine) == graph_state(whole.engine)  # NPMI over all 3 records, counts summed
    whole.close()


def test_limit_leaves_the_rest_for_the_next_build(kg_ws, tmp_path, training):
    _ingest(kg_ws, tmp_path, RECORDS)
    rep = build(kg_ws, training=training, limit=1)
    assert (rep.records_read, rep.records_left, rep.counts["records"]) == (1, 2, 1)
    with kg_ws.engine.connect() as conn:  # the queries warn of the records left (kg show, neighbors...)
        assert unread_records(conn) == 2
    assert unread_warning(2).startswith("2 records are not in the graph yet")
    assert unread_warning(1).startswith("1 record is not")
    assert build(kg_ws, training=training).records_read == 2
    with kg_ws.engine.connect() as conn:
        assert unread_records(conn) == 0


def test_changed_and_deleted_records_are_read_again_and_removed(kg_ws, tmp_path, training):
    _ingest(kg_ws, tmp_path, RECORDS)
    build(kg_ws, training=training)
    with kg_ws.engine.begin() as conn:
        ids = conn.execute(select(records.c.id).order_by(records.c.id)).scalars().all()
        conn.execute(records.update().where(records.c.id == ids[0]).values(abstract="Morphine caused nausea."))
        conn.execute(records.delete().where(records.c.id == ids[2]))
    rep = build(kg_ws, training=training)
    assert (rep.records_read, rep.records_removed, rep.counts["records"]) == (1, 2, 2)
    assert (rep.records_changed, rep.records_deleted) == (1, 1)
    after = graph_state(kg_ws.engine)
    assert not any(e[0] == "Disease:D014839" for e in after["entities"])  # vomiting was only in the deleted one
    build(kg_ws, training=training, rebuild=True)
    assert graph_state(kg_ws.engine) == after  # the same as a graph built from scratch


def test_another_tagger_needs_rebuild(kg_ws, tmp_path, training, monkeypatch):
    from serendip.kg import taggers

    _ingest(kg_ws, tmp_path, RECORDS)
    build(kg_ws, training=training)

    class Other(DictionaryTextTagger):
        name = "other"

    monkeypatch.setitem(taggers.TAGGERS._items, "other", lambda training, **_: Other(training))
    with pytest.raises(ConfigError, match="built with tagger 'dictionary'.*--rebuild"):
        build(kg_ws, "other", training=training)
    assert build(kg_ws, "other", training=training, rebuild=True).records_read == 3
    with pytest.raises(ConfigError, match="unknown kg tagger 'nope'"):
        build(kg_ws, "nope", training=training)
    with pytest.raises(ConfigError, match="batch >= 1"):
        build(kg_ws, training=training, batch=0)


LONG = " ".join(f"In week {i} the patients given aspirin reported nausea." for i in range(120)) + \
    " Finally levodopa caused vomiting."
HOSTILE = [
    {"id": "h1", "pmid": "9101", "title": "Aspirin and headache", "abstract": ""},
    {"id": "h2", "pmid": "9102", "title": "Morphine for pain", "abstract": "   \n\t "},
    {"id": "h3", "pmid": "9103", "title": "A long abstract on aspirin", "abstract": LONG},
    {"id": "h4", "pmid": "9104", "title": "Aspirin und Übelkeit",
     "abstract": "Die Patienten erhielten Aspirin und Levodopa. 阿司匹林 aspirin 导致 headache。"
                 "Les patients ont reçu de la morphine; nausea et vomiting."},
    {"id": "h5", "pmid": "9105", "title": "Ａｓｐｉｒｉｎ — aspirin\u200b, nausea\u00a0headache 😀",
     "abstract": "e\u0301 morphine\u202e pain \u2028 levodopa\u2029 Parkinson\u2019s disease "
                 "(PD) \ufeffnausea. Ibuprofen\u00ad headache 𝔘."},
]


def test_hostile_texts_lose_no_mention(kg_ws, tmp_path, training):
    _ingest(kg_ws, tmp_path, HOSTILE)
    rep = build(kg_ws, training=training, batch=2)
    assert rep.records_read == 5
    tagger = DictionaryTextTagger(read_pubtator(training[0]))
    with kg_ws.engine.connect() as conn:
        rows = conn.execute(select(records.c.id, records.c.title, records.c.abstract).order_by(records.c.id)).all()
        for rid, title, abstract in rows:
            (spans,) = tagger.tag_records([(title or "", abstract or "")])
            stored = conn.execute(select(kg_mentions.c.field, kg_mentions.c.char_start, kg_mentions.c.char_end,
                                         kg_mentions.c.text, kg_mentions.c.sentence)
                                  .where(kg_mentions.c.record_id == rid)).all()
            assert sorted((f, s, e) for f, s, e, _t, _n in stored) == sorted(
                (f, s, e) for f in (0, 1) for s, e, _t in spans[f]), rid  # every span, no more
            passages = split_record(title, abstract)
            for f, s, e, t, n in stored:
                assert (title, abstract)[f][s:e] == t
                assert passages[n].field == f and passages[n].start <= s < passages[n].end
        full_width = conn.execute(select(kg_mentions.c.field, kg_mentions.c.char_start, kg_mentions.c.char_end,
                                         kg_mentions.c.text).where(kg_mentions.c.pmid == "9105")
                                  .order_by(kg_mentions.c.field, kg_mentions.c.char_start)).all()[0]
        assert tuple(full_width) == (0, 0, 7, "Ａｓｐｉｒｉｎ")  # tagged through its NFKC form, stored as written
        n_long = conn.execute(select(func.count()).select_from(kg_mentions).where(
            kg_mentions.c.pmid == "9103")).scalar_one()
        assert n_long == 1 + 2 * 120 + 2  # title aspirin; aspirin + nausea per sentence; levodopa, vomiting
        assert conn.execute(select(kg_records.c.n_mentions).where(kg_records.c.record_id == rows[0][0])).scalar_one() == 2
        assert conn.execute(select(func.count()).select_from(kg_edges)).scalar_one() > 0
        assert conn.execute(text("SELECT COUNT(*) FROM kg_entities WHERE mesh_id IS NULL")).scalar_one() == 0
        assert conn.execute(select(func.count()).select_from(kg_entities)).scalar_one() == rep.counts["entities"]


def test_a_short_form_defined_in_the_title_is_tagged_in_the_abstract(kg_ws, tmp_path):
    """``kg build`` tags a record's title and abstract as two texts (offsets and sentences per part) but
    reads short forms over both: "nitric oxide (NO)" in the title makes the abstract's "NO" Chemical."""
    from kg_helpers import TRAINING, pubtator_text

    path = tmp_path / "t.PubTator.txt"
    path.write_text(pubtator_text([*TRAINING, ("104", "Nitric oxide in vessels.", "Nitric oxide relaxed vessels.",
                                               [("Nitric oxide", "Chemical", "D009569")])]), encoding="utf-8")
    _ingest(kg_ws, tmp_path, [{"id": "n1", "pmid": "9201", "title": "Inhaled nitric oxide (NO) and headache",
                               "abstract": "Headache fell. NO lowered pressure, not NOS."}])
    build(kg_ws, training=[path])
    with kg_ws.engine.connect() as conn:
        got = conn.execute(select(kg_entities.c.key, kg_mentions.c.field, kg_mentions.c.sentence,
                                  kg_mentions.c.char_start, kg_mentions.c.char_end, kg_mentions.c.text)
                           .join(kg_entities, kg_entities.c.id == kg_mentions.c.entity_id)
                           .order_by(kg_mentions.c.field, kg_mentions.c.char_start)).all()
    assert [tuple(r) for r in got] == [
        ("Chemical:D009569", 0, 0, 8, 20, "nitric oxide"), ("Chemical:D009569", 0, 0, 22, 24, "NO"),
        ("Disease:D006261", 0, 0, 30, 38, "headache"),
        ("Disease:D006261", 1, 1, 0, 8, "Headache"), ("Chemical:D009569", 1, 2, 15, 17, "NO")]


def test_sentences_come_from_the_passage_index_when_it_holds_the_record(kg_ws, tmp_path, training, monkeypatch):
    """With a passage index (same splitter) the build takes each record's sentences from it instead of
    splitting again, and stores the same graph; a record changed since the index was built is split
    here (its digest differs)."""
    from serendip.evidence import passages as passages_module
    from serendip.evidence.passage_index import update_passages
    from serendip.kg import reading

    _ingest(kg_ws, tmp_path, RECORDS)
    plain = build(kg_ws, training=training)
    assert plain.passages_reused == 0
    want = graph_state(kg_ws.engine)
    update_passages(kg_ws)
    split_calls = []
    monkeypatch.setattr(reading, "split_record",
                        lambda *a, **k: split_calls.append(a) or passages_module.split_record(*a, **k))
    with kg_ws.engine.begin() as conn:  # one record's text changes after the passage index was built
        conn.execute(records.update().where(records.c.id == 1).values(title=records.c.title + " (revised)"))
    again = build(kg_ws, training=training, rebuild=True)
    assert again.records_read == 3 and again.passages_reused == 2 and len(split_calls) == 1
    with kg_ws.engine.begin() as conn:
        conn.execute(records.update().where(records.c.id == 1).values(
            title=func.replace(records.c.title, " (revised)", "")))
    update_passages(kg_ws)
    third = build(kg_ws, training=training, rebuild=True)
    assert third.passages_reused == 3 and graph_state(kg_ws.engine) == want
