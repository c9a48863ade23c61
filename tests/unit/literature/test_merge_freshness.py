"""A merge that fills fields of a stored record (an abstract added by a later export) changes what the
index should hold: the index is stale until `index` runs again, which embeds that record again."""
from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

from serendip.errors import StaleIndexWarning
from serendip.workbench import Workspace

RIS = "TY  - JOUR\nTI  - Melatonin for the prevention of jet lag\nAU  - Herxheimer, A\nPY  - 2002\nER  - \n"
NBIB = ("PMID- 12076414\nTI  - Melatonin for the prevention of jet lag.\nAB  - Melatonin taken close to "
        "the target bedtime decreased jet lag from flights crossing five or more time zones.\n"
        "FAU - Herxheimer, Andrew\nAU  - Herxheimer A\nDP  - 2002\n")
OTHER = [{"id": "d1", "title": "Zinc lozenges and the common cold", "abstract": "Zinc shortened colds."},
         {"id": "d2", "title": "Coffee and liver fibrosis", "abstract": "Coffee drinkers had less fibrosis."}]


class FakeModel:
    """Stands in for the sentence-transformers model; counts the texts it embeds."""

    def __init__(self):
        self.seen: list[str] = []

    def encode(self, texts, batch_size=64, **_kwargs):
        self.seen.extend(texts)
        rows = np.asarray([np.random.default_rng(len(t)).standard_normal(8) for t in texts], dtype=np.float32)
        return rows / np.linalg.norm(rows, axis=1, keepdims=True)


@pytest.fixture
def model(monkeypatch):
    fake = FakeModel()
    monkeypatch.setattr("serendip.retrieval.dense.load_model", lambda name: fake)
    return fake


@pytest.fixture
def ws(tmp_path):
    (tmp_path / "refs.ris").write_text(RIS, encoding="utf-8")
    (tmp_path / "other.jsonl").write_text("\n".join(json.dumps(d) for d in OTHER) + "\n", encoding="utf-8")
    (tmp_path / "pubmed.nbib").write_text(NBIB, encoding="utf-8")
    with Workspace.init(tmp_path / "ws") as w:
        w.ingest([tmp_path / "refs.ris", tmp_path / "other.jsonl"])
        yield w


def test_a_merge_that_fills_fields_makes_the_index_stale(ws, model):
    ws.index()
    assert ws.index_status().fresh and len(model.seen) == 3
    rep = ws.ingest([ws.path.parent / "pubmed.nbib"])
    assert (rep.ingested, rep.merged) == (0, 1)
    status = ws.index_status()
    assert (status.fresh, status.not_indexed, status.changed) == (False, 0, 1)
    with pytest.warns(StaleIndexWarning, match=r"1 record\(s\) changed or deleted since the last index"):
        ws.search("melatonin jet lag", mode="bm25")
    model.seen.clear()
    report = ws.index()
    assert report.dense_added == 1 and report.dense_total == 3
    assert len(model.seen) == 1 and "time zones" in model.seen[0]  # the filled abstract is embedded
    assert ws.index_status().fresh
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert ws.search("time zones", mode="bm25", k=1)[0].pmid == "12076414"


def test_auto_index_brings_a_merged_record_in(ws, model):
    ws.index(dense=False)
    ws.config.retrieval.auto_index = True
    ws.ingest([ws.path.parent / "pubmed.nbib"])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert ws.search("time zones", mode="bm25", k=1)[0].pmid == "12076414"
    assert ws.index_status().fresh


def test_a_duplicate_that_changes_nothing_keeps_the_index_fresh(ws, model):
    ws.index(dense=False)
    rep = ws.ingest([ws.path.parent / "refs.ris"])  # the same file again
    assert (rep.duplicates, rep.merged) == (1, 0)
    assert ws.index_status().fresh and ws.store.changes() == 0


def test_a_bm25_only_index_leaves_the_merged_record_to_the_next_dense_update(ws, model):
    ws.index()
    ws.ingest([ws.path.parent / "pubmed.nbib"])
    ws.index(dense=False)
    assert ws.index_status().fresh
    model.seen.clear()
    assert ws.index().dense_added == 1 and "time zones" in model.seen[0]
    model.seen.clear()
    assert ws.index().dense_added == 0 and model.seen == []
