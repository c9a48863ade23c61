"""Cases C07 (search part), C19 and C20 end to end: ingest into a workspace, index, search."""
from __future__ import annotations

import csv

import numpy as np

from serendip.workbench import Workspace


def _queries(path):
    with open(path, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh, delimiter="\t"))


def test_c07_vernacular_title_is_searchable(cases_dir, tmp_path):
    ws = Workspace.init(tmp_path / "ws")
    rep = ws.ingest([cases_dir / "C07_pubmed-vernacular-title-language" / "vernacular.xml"])
    assert rep.ingested == 3
    ws.index(dense=False)
    hits = ws.search("Pilotstudie", mode="bm25", k=3)
    assert hits[0].pmid == "90000701"


def test_c19_bm25_through_workspace(cases_dir, tmp_path):
    folder = cases_dir / "C19_bm25-greek-hyphen-cjk"
    ws = Workspace.init(tmp_path / "ws")
    rep = ws.ingest([folder / "corpus.jsonl"], fmt="jsonl")
    assert rep.ingested == 8 and rep.failed == 0
    ws.index(dense=False)
    for q in _queries(folder / "queries.tsv"):
        hits = ws.search(q["query"], mode="bm25", k=8)
        keys = {h.source_id.split(":", 1)[1]: h.score for h in hits}
        assert hits[0].source_id == f"jsonl:{q['expected_top1']}", q
        assert hits[0].score > 0
        rival = q["must_not_tie_with"]
        if rival != "-":
            assert keys[q["expected_top1"]] > keys.get(rival, 0.0), q


def test_c20_records_without_abstract(cases_dir, tmp_path):
    folder = cases_dir / "C20_records-without-abstract-dense"
    ws = Workspace.init(tmp_path / "ws")
    rep = ws.ingest([folder / "corpus.jsonl"], fmt="beir")
    assert (rep.ingested, rep.failed) == (6, 0)  # r5 is a record too
    idx = ws.index()
    assert idx.dense_total == 5 and idx.dense_added == 5
    by_key = {rec.source_key: rid for rid, rec in ws.records()}
    assert idx.dense_skipped == [str(by_key["r5"])]  # reported once, by id
    again = ws.index()
    assert again.dense_added == 0 and again.dense_skipped == []  # nothing re-embedded, no repeat
    from serendip.retrieval.dense import DenseIndex

    dense = DenseIndex.load(ws.path / "indexes" / "dense")
    vecs = np.asarray(dense.embeddings)
    assert vecs.shape[0] == 5 and np.isfinite(vecs).all()
    assert np.allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-4)
    assert str(by_key["r5"]) not in dense.ids
    for q in _queries(folder / "queries.tsv"):
        for mode in ("dense", "hybrid"):
            hits = ws.search(q["query"], mode=mode, k=6)
            assert hits[0].source_id == f"beir:{q['expected_top1']}", (mode, q)
            assert all(h.source_id != "beir:r5" for h in hits)
