"""PubMed ``<DeleteCitation>`` applied to stored records: a record only PubMed held is deleted, one a RIS
also holds is kept with the RIS as its source, an unknown PMID is counted as not in the workspace (also
when the update is applied again); the index is stale afterwards and a deleted record is never a hit; applying the update again changes nothing."""
from __future__ import annotations

import warnings
from pathlib import Path

import pytest
from literature_helpers import PROLOG, RIS, pubmed_file
from sqlalchemy import select

from serendip.errors import StaleIndexWarning
from serendip.literature.deletions import CitationDeletion
from serendip.literature.readers.pubmed_xml import PubmedXMLReader
from serendip.workbench import Workspace
from serendip.workspace.schema import records


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres),
                        pytest.param("postgres-partitioned", marks=pytest.mark.postgres)])
def setup(request, tmp_path):
    """A workspace (SQLite, or PostgreSQL when SERENDIP_TEST_PG_URL is set, with ``records`` plain or
    in 3 hash partitions) with three PubMed articles
    (one also in a RIS), and the update file that deletes 31000001 (PubMed only), 31000002 (also in
    the RIS) and 39999999 (never stored), adding 31000004."""
    baseline = pubmed_file(tmp_path / "baseline.xml", ["31000001", "31000002", "31000003"])
    ris = tmp_path / "refs.ris"
    ris.write_text(RIS, encoding="utf-8")
    update = pubmed_file(tmp_path / "update.xml", ["31000004"], ["31000001", "31000002", "39999999"])
    database = request.getfixturevalue("fresh_pg_database")() if request.param != "sqlite" else None
    ws = Workspace.init(tmp_path / "ws", database=database,
                        partitions=3 if request.param == "postgres-partitioned" else None)
    first = ws.ingest([baseline, ris])
    assert (first.ingested, first.duplicates) == (3, 1)
    yield ws, update
    ws.close()


def _stored(ws) -> dict:
    return {rec.title: rec for _, rec in ws.records()}


def test_reader_streams_delete_citation_after_the_records(tmp_path):
    path = pubmed_file(tmp_path / "u.xml.gz", ["31000004"], ["31000001", "31000002"])
    items = list(PubmedXMLReader().read(path))
    assert [type(i).__name__ for i in items] == ["Record", "CitationDeletion"]
    assert items[1].pmids == ["31000001", "31000002"] and items[1].line > items[0].source_line


def test_delete_citation_read_again_after_a_broken_record(tmp_path):
    path = pubmed_file(tmp_path / "u.xml", ["31000003", "31000004"], ["31000001"])
    path.write_text(path.read_text().replace("<Volume>7</Volume>", "<Volume>7</Vol>", 1))
    items = list(PubmedXMLReader().read(path))
    kinds = [type(i).__name__ for i in items]
    assert kinds == ["ParseIssue", "Record", "CitationDeletion"], kinds
    assert items[2].pmids == ["31000001"]


@pytest.mark.parametrize("in_child", [False, True], ids=["in-process", "parsed-in-child"])
def test_update_deletes_keeps_and_counts_not_found(setup, in_child, monkeypatch):
    import serendip.literature.ingest as ingest_module

    if in_child:  # a big file is parsed in a child process: the deletion crosses the queue
        monkeypatch.setattr(ingest_module, "PREFETCH_BYTES", 0)
    ws, update = setup
    rep = ws.ingest([update])
    assert (rep.ingested, rep.deleted, rep.not_found, len(rep.kept)) == (1, 1, 1, 1)
    assert "PMID 31000002" in rep.kept[0] and "refs.ris" in rep.kept[0]
    entry = rep.files[0]
    assert (entry.read, entry.deleted, entry.kept, entry.not_found, entry.status()) == (1, 1, 1, 1, "ok")
    assert "deleted 1, kept 1" in rep.summary() and "not in the workspace 1" in rep.summary()
    stored = _stored(ws)
    assert sorted(stored) == ["Coffee consumption and liver fibrosis.",
                              "Melatonin for the prevention of jet lag.",
                              "Zinc lozenges and the duration of the common cold"]
    kept = stored["Zinc lozenges and the duration of the common cold"]
    assert kept.pmid == "31000002" and kept.abstract == "Zinc shortened colds."  # merged fields stay
    assert [(Path(s["file"]).name, s["format"]) for s in kept.sources] == [("refs.ris", "ris")]
    assert (kept.source_format, kept.extra["pubmed_deleted"]) == ("ris", ["31000002"])
    assert ws.reports()[-1]["deleted"] == 1


def test_rerun_is_idempotent(setup):
    ws, update = setup
    ws.ingest([update])
    before = [r.to_dict() for _, r in ws.records()]
    changes = ws.store.changes()
    again = ws.ingest([update])
    # 31000001 was deleted by the first run: already deleted; 39999999 was never stored: still not in the
    # workspace (the same words as the first run), not "already deleted"
    assert (again.ingested, again.duplicates, again.deleted, again.not_found, len(again.kept)) == (0, 1, 0, 1, 1)
    assert again.already_deleted == 1 and again.files[0].already_deleted == 1
    assert "not in the workspace 1, already deleted 1" in again.summary()
    assert [r.to_dict() for _, r in ws.records()] == before
    assert ws.store.changes() == changes  # nothing changed: the index stays fresh


def test_deleted_records_are_never_hits(setup):
    ws, update = setup
    ws.index(dense=False)
    assert ws.search("aspirin adenoma", mode="bm25", k=3)[0].title.startswith("Aspirin")
    ws.ingest([update])
    status = ws.index_status()
    assert not status.fresh and status.changed == 2 and status.not_indexed == 1
    with pytest.warns(StaleIndexWarning, match=r"2 record\(s\) changed or deleted since the last index"):
        hits = ws.search("aspirin adenoma", mode="bm25", k=3)
    assert all(not (h.title or "").startswith("Aspirin") for h in hits)
    assert [h.rank for h in hits] == list(range(1, len(hits) + 1))
    ws.index(dense=False)
    assert ws.index_status().fresh
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        hits = ws.search("aspirin adenoma", mode="bm25", k=3)
    assert all(not (h.title or "").startswith("Aspirin") for h in hits)


def test_hit_metadata_of_a_record_deleted_by_another_process_is_dropped(setup, tmp_path):
    ws, update = setup
    ws.index(dense=False)
    assert ws.search("aspirin adenoma", mode="bm25", k=1)[0].title.startswith("Aspirin")  # metadata read
    with Workspace.open(ws.path) as other:
        other.ingest([update])
    ws._status = {}  # past the freshness check's time-to-live
    with pytest.warns(StaleIndexWarning):
        hits = ws.search("aspirin adenoma", mode="bm25", k=3)
    assert all(not (h.title or "").startswith("Aspirin") for h in hits)


def test_deletion_is_one_transaction(setup, monkeypatch):
    """A failure while applying a deletion leaves every record as it was."""
    import serendip.literature.deletions as deletions

    ws, update = setup
    with ws.engine.connect() as conn:
        before = conn.execute(select(records.c.id, records.c.data).order_by(records.c.id)).all()

    def fail(*_args, **_kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(deletions, "count_changes", fail)
    rep = ws.ingest([update])
    assert rep.files[0].failed_whole and "disk full" in rep.files[0].error
    with ws.engine.connect() as conn:
        after = conn.execute(select(records.c.id, records.c.data).order_by(records.c.id)).all()
    assert [r for r in after if r.id in {b.id for b in before}] == before


def test_citation_deletion_keeps_only_digit_pmids(tmp_path):
    path = tmp_path / "u.xml"
    path.write_text(PROLOG + '<PubmedArticleSet><DeleteCitation><PMID Version="1">31000001</PMID>'
                    '<PMID Version="1">abc</PMID></DeleteCitation></PubmedArticleSet>', encoding="utf-8")
    assert list(PubmedXMLReader().read(path)) == [CitationDeletion(str(path), 3, ["31000001"])]


def test_index_drops_the_vectors_of_deleted_records(setup, monkeypatch):
    import numpy as np

    from serendip.retrieval.dense import DenseIndex

    class FakeModel:
        def encode(self, texts, batch_size=64, **_kwargs):
            rows = np.ones((len(texts), 4), dtype=np.float32)
            return rows / np.linalg.norm(rows, axis=1, keepdims=True)

    monkeypatch.setattr("serendip.retrieval.dense.load_model", lambda name: FakeModel())
    ws, update = setup
    ws.index()
    assert len(DenseIndex.load(ws.index_dir / "dense").ids) == 3
    ws.ingest([update])
    report = ws.index()
    ids = set(DenseIndex.load(ws.index_dir / "dense").ids)
    stored = {str(rid) for rid, _ in ws.records()}
    assert ids == stored and report.dense_total == 3  # 1 deleted, 1 kept (embedded again), 1 new
    assert report.dense_added == 2


@pytest.mark.parametrize("fmt", ["auto", "pubmed"])
def test_an_update_file_with_only_deletions_is_not_empty(setup, tmp_path, fmt):
    ws, _ = setup
    only = pubmed_file(tmp_path / "deletions_only.xml", [], ["31000003"])
    rep = ws.ingest([only], fmt=fmt)
    entry = rep.files[0]
    assert (entry.read, entry.deleted, entry.warnings, entry.error) == (0, 1, [], None)
    assert "Coffee consumption and liver fibrosis." not in _stored(ws)


def _canonical(ws) -> list[dict]:
    """Stored records without what depends on when a file was read (ingest ids, source lines)."""
    out = []
    for _, rec in ws.records():
        d = rec.to_dict()
        d["sources"] = sorted((Path(s["file"]).name, s["format"], s.get("key")) for s in d.get("sources") or ())
        out.append({k: v for k, v in d.items() if k not in ("source_file", "source_line")})
    return sorted(out, key=lambda d: d["title"])


#: the same two files ingested in four ways: one file per ingest, or both in one ingest, either order
ORDERS = {"baseline-then-update": (["baseline"], ["update"]), "update-then-baseline": (["update"], ["baseline"]),
          "one-ingest-baseline-first": (["baseline", "update"],), "one-ingest-update-first": (["update", "baseline"],)}


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres),
                                     pytest.param("postgres-partitioned", marks=pytest.mark.postgres)])
def test_a_deleted_citation_stays_deleted_whatever_the_file_order(tmp_path, backend, request):
    """An older baseline ingested after the update that withdrew one of its PMIDs does not bring the
    record back: its PubMed copy is skipped and reported as deleted by the DeleteCitation of the update
    file (count, per file, and one line per copy); every order stores the same records."""
    files = {"baseline": pubmed_file(tmp_path / "baseline.xml", ["31000001", "31000002", "31000003"]),
             "update": pubmed_file(tmp_path / "update.xml", ["31000004"], ["31000001", "39999999"])}
    update = files["update"]
    stored = {}
    for name, ingests in ORDERS.items():
        database = request.getfixturevalue("fresh_pg_database")() if backend != "sqlite" else None
        ws = Workspace.init(tmp_path / f"ws-{name}", database=database,
                            partitions=3 if backend == "postgres-partitioned" else None)
        reports = [ws.ingest([files[f] for f in names]) for names in ingests]
        stored[name] = _canonical(ws)
        assert sorted(r["pmid"] for r in stored[name]) == ["31000002", "31000003", "31000004"], name
        last = reports[-1]
        base_entry = next(e for rep in reports for e in rep.files if e.path == str(files["baseline"]))
        if name.startswith(("update-then", "one-ingest-update")):  # the baseline's copy is skipped, said
            assert (last.withdrawn, base_entry.withdrawn) == (["31000001"], 1), name
            assert base_entry.withdrawn_by == {f"DeleteCitation in {update}": 1}
            assert base_entry.withdrawn_notes() == [
                f"1 PubMed record skipped: deleted by DeleteCitation in {update}"]
            assert f"1 PubMed copy skipped: deleted by DeleteCitation in {update}" in last.summary()
            line = last.withdrawn_lines[0]
            assert line.startswith(f"{files['baseline']}: ") and "PMID 31000001" in line, line
            assert f"skipped: deleted by DeleteCitation in {update} (line " in line, line
            assert last.to_dict()["withdrawn_lines"] == [line]
            assert ws.reports()[-1]["withdrawn"] == 1
        else:
            assert all(rep.withdrawn == rep.withdrawn_lines == [] for rep in reports), name
            assert (base_entry.withdrawn, base_entry.withdrawn_by) == (0, {}), name
        ws.close()
    assert all(records == stored["baseline-then-update"] for records in stored.values())


def test_a_withdrawn_pmid_skips_the_medline_text_copy_too(tmp_path):
    """MEDLINE text (.nbib) is PubMed's own export too: its copy of a withdrawn PMID is skipped and said."""
    update = pubmed_file(tmp_path / "update.xml", [], ["31000001"])
    nbib = tmp_path / "export.nbib"
    nbib.write_text("PMID- 31000001\nTI  - Aspirin and colorectal adenoma recurrence.\nDP  - 2019 Mar\n\n"
                    "PMID- 31000003\nTI  - Coffee consumption and liver fibrosis.\nDP  - 2019 Mar\n",
                    encoding="utf-8")
    with Workspace.init(tmp_path / "ws") as ws:
        ws.ingest([update])
        rep = ws.ingest([nbib])
        assert (rep.ingested, rep.withdrawn, rep.files[0].withdrawn) == (1, ["31000001"], 1)
        assert rep.withdrawn_lines == [f"{nbib}: line 1, PMID 31000001: skipped: deleted by DeleteCitation "
                                       f"in {update} (line 4)"]
        assert [rec.pmid for _, rec in ws.records()] == ["31000003"]


def test_a_ris_copy_of_a_withdrawn_pmid_is_still_ingested(tmp_path):
    """Only PubMed's own copies are withdrawn: a RIS record with that PMID is a source of its own."""
    update = pubmed_file(tmp_path / "update.xml", ["31000004"], ["31000002"])
    ris = tmp_path / "refs.ris"
    ris.write_text(RIS.replace("ER  - ", "PM  - 31000002\nER  - "), encoding="utf-8")
    ws = Workspace.init(tmp_path / "ws")
    ws.ingest([update])
    rep = ws.ingest([ris])
    assert (rep.ingested, rep.withdrawn) == (1, [])
    assert "31000002" in {rec.pmid for _, rec in ws.records()}
    ws.close()
