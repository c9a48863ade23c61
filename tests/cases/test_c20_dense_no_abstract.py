"""Case C20 (dense part): records without abstract in dense and hybrid search (shared/cases)."""
from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from serendip.retrieval.bm25 import BM25Index
from serendip.retrieval.dense import DenseIndex, load_model
from serendip.retrieval.searcher import Searcher

CASE = "C20_records-without-abstract-dense"


@pytest.fixture(scope="module")
def case(cases_dir):
    folder = cases_dir / CASE
    records = [json.loads(line) for line in (folder / "corpus.jsonl").read_text(encoding="utf-8").splitlines()
               if line.strip()]
    with (folder / "queries.tsv").open(encoding="utf-8", newline="") as fh:
        queries = list(csv.DictReader(fh, delimiter="\t"))
    ids = [r["_id"] for r in records]
    titles = [r.get("title") for r in records]
    abstracts = [r.get("text") for r in records]  # r3 has no "text" key -> None
    dense = DenseIndex()
    report = dense.add(ids, titles, abstracts)
    bm25 = BM25Index.build(ids, [" ".join(p for p in (t or "", a or "") if p.strip()) for t, a in
                                 zip(titles, abstracts)])
    return records, queries, dense, report, Searcher(bm25, dense)


def test_exactly_five_vectors(case):
    _, _, dense, report, _ = case
    assert sorted(dense.ids) == ["r1", "r2", "r3", "r4", "r6"]
    assert dense.embeddings.shape == (5, 384) and dense.embeddings.dtype == np.float32
    assert np.all(np.isfinite(dense.embeddings))
    assert not np.any(np.all(dense.embeddings == 0, axis=1))
    assert np.allclose(np.linalg.norm(dense.embeddings, axis=1), 1.0, atol=1e-5)


def test_r5_reported_once(case):
    _, _, _, report, _ = case
    assert report.no_text == ["r5"]
    assert len(report.warnings) == 1 and "r5" in report.warnings[0]
    assert sorted(report.added) == ["r1", "r2", "r3", "r4", "r6"]


def test_title_only_records_embedded_from_title_alone(case):
    records, _, dense, _, _ = case
    model = load_model()
    by_id = {r["_id"]: r for r in records}
    for rid in ("r2", "r3", "r6"):
        ref = model.encode([by_id[rid]["title"]], normalize_embeddings=True)[0]
        stored = dense.embeddings[dense.ids.index(rid)]
        assert float(stored @ ref) >= 0.999, rid


@pytest.mark.parametrize("mode", ["dense", "hybrid"])
def test_each_query_expected_record_first(case, mode):
    _, queries, _, _, searcher = case
    for q in queries:
        res = searcher.search(q["query"], mode=mode, k=10)
        assert res[0][0] == q["expected_top1"], (mode, q, res)
        assert "r5" not in {d for d, _ in res}
        assert all(np.isfinite(s) for _, s in res)
    batch = searcher.search_batch([q["query"] for q in queries], mode=mode, k=10)
    assert [r[0][0] for r in batch] == [q["expected_top1"] for q in queries]
