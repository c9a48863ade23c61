"""A large fresh dense index spills its new vectors to a file (dense_spill.SpillRows) instead of holding
them: the same vectors, ids and search results as the in-memory path, resumed vectors included; save()
links the file; the index still searches after the spill file is removed; a small add stays in memory."""
from __future__ import annotations

import numpy as np
import pytest

from serendip.retrieval import dense, dense_spill
from serendip.retrieval.dense import DenseIndex
from tests.unit.retrieval.test_dense import FakeEncoder, _hash_vec


@pytest.mark.parametrize("kind", ["exact", "ivfpq"])
def test_spilled_add_equals_the_in_memory_add(tmp_path, monkeypatch, kind):
    monkeypatch.setattr(dense, "SPILL_MIN_ROWS", 100)
    n = 3000
    ids = [f"d{i}" for i in range(n)]
    titles = [f"document number {i}" for i in range(n)]
    abstracts = ["" if i % 97 == 0 else f"abstract {i}" for i in range(n)]
    thresholds = {"exact_threshold": 10**9} if kind == "exact" else {"exact_threshold": 100, "ivfpq_threshold": 100}
    # vectors resumed from an earlier run for some ids: they land in the file too
    known = {ids[i]: _hash_vec(dense.doc_text(titles[i], abstracts[i]), 48) for i in range(0, n, 7)}
    known = {k: v / np.linalg.norm(v) for k, v in known.items()}
    plain = DenseIndex(encoder=FakeEncoder(48), **thresholds)
    plain.add(ids, titles, abstracts, known=known)
    spill = tmp_path / "partial" / "embeddings-spill.npy"
    spilled = DenseIndex(encoder=FakeEncoder(48), **thresholds)
    rep = spilled.add(ids, titles, abstracts, known=known, spill=spill)
    assert isinstance(spilled.embeddings, np.memmap) and str(spilled.embeddings.filename) == str(spill)
    assert spilled.ids == plain.ids and rep.added == plain.ids
    assert np.array_equal(np.asarray(spilled.embeddings), plain.embeddings)
    q = plain.embeddings[:20] + 0.01
    assert spilled.search_vectors(q, 10) == plain.search_vectors(q, 10)
    spilled.save(tmp_path / "dense")
    spill.unlink()  # the partial folder goes after the save
    assert spilled.search_vectors(q, 10) == plain.search_vectors(q, 10)
    again = DenseIndex.load(tmp_path / "dense", encoder=FakeEncoder(48), **thresholds)
    assert np.array_equal(np.asarray(again.embeddings), plain.embeddings)


def test_a_small_add_or_an_add_to_an_existing_index_stays_in_memory(tmp_path):
    spill = tmp_path / "spill.npy"
    idx = DenseIndex(encoder=FakeEncoder())
    idx.add(["a", "b"], ["t a", "t b"], ["", ""], spill=spill)
    assert not isinstance(idx.embeddings, np.memmap) and not spill.exists()


def test_spill_rows_writes_runs_and_single_rows(tmp_path):
    path = tmp_path / "rows.npy"
    rows = dense_spill.SpillRows(path, 6, 3)
    rows[np.array([0, 1, 2])] = np.arange(9, dtype=np.float32).reshape(3, 3)
    rows[5] = np.array([7, 8, 9], dtype=np.float32)
    rows[np.array([3])] = np.ones((1, 3), np.float32)
    with pytest.raises(ValueError, match="2 rows but 1 vectors"):
        rows[np.array([3, 4])] = np.ones((1, 3), np.float32)
    got = rows.finish()
    assert got.shape == (6, 3) and got.dtype == np.float32
    assert np.array_equal(got, np.array([[0, 1, 2], [3, 4, 5], [6, 7, 8], [1, 1, 1], [0, 0, 0], [7, 8, 9]],
                                        dtype=np.float32))
    assert np.array_equal(np.load(path), got)
