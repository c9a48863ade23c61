"""Checkpointed dense embedding (:mod:`serendip.retrieval.dense_checkpoint`): shards written atomically
and read back, only the records no shard holds (with the same text) embedded again, rows in input
order, a checkpoint of another model/encoder/text rule discarded with a message, a damaged or cut
shard skipped, the rows so far written when embedding is interrupted."""
from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest

from serendip.retrieval import dense_checkpoint as ckpt
from serendip.retrieval.dense import DenseIndex

KEY = {"model": "m", "encoder": "torch", "title_abstract_sep": " "}


class CountingEncoder:
    """Deterministic pseudo-embeddings (a vector per text); records every text it embeds."""

    def __init__(self, fail_after: int | None = None):
        self.texts: list[str] = []
        self.fail_after = fail_after

    def __call__(self, texts, batch_size):
        if self.fail_after is not None and len(self.texts) >= self.fail_after:
            raise KeyboardInterrupt
        self.texts.extend(texts)
        seeds = [int.from_bytes(hashlib.sha256(t.encode()).digest()[:8], "little") for t in texts]
        return np.stack([np.random.default_rng(s).standard_normal(8) for s in seeds]).astype(np.float32)


def _records(n: int):
    ids = [str(i) for i in range(1, n + 1)]
    return ids, [f"title {i}" for i in ids], [f"abstract {i}" for i in ids]


@pytest.fixture
def every_chunk(monkeypatch):
    monkeypatch.setattr(ckpt, "CHECKPOINT_S", 0.0)


def _embed(folder, n, encoder, notify=None, batch_size=4, texts=None):
    ids, titles, abstracts = _records(n)
    if texts:
        titles = [texts.get(i, t) for i, t in zip(ids, titles)]
    index = DenseIndex(encoder=encoder)
    point = ckpt.EmbeddingCheckpoint(folder, KEY, notify=notify)
    totals = []
    index.add = _with_batch(index.add, batch_size)
    report, resumed = ckpt.embed_resumable(index, ids, titles, abstracts, point, on_total=totals.append)
    return index, report, resumed, totals


def _with_batch(add, batch_size):
    return lambda *args, **kwargs: add(*args, batch_size=batch_size, **kwargs)


def test_interrupted_embedding_resumes_with_the_rest_only(tmp_path, every_chunk):
    folder = tmp_path / "dense.partial"
    with pytest.raises(KeyboardInterrupt):  # two chunks of 32 done, the third interrupted
        _embed(folder, 100, CountingEncoder(fail_after=64))
    assert sorted(p.name for p in folder.glob("shard-*")) == [
        "shard-000000.json", "shard-000000.npy", "shard-000001.json", "shard-000001.npy"]
    notes: list[str] = []
    again = CountingEncoder()
    index, report, resumed, totals = _embed(folder, 100, again, notify=notes.append)
    assert resumed == 64 and totals == [36] and len(again.texts) == 36
    assert again.texts == [f"title {i} abstract {i}" for i in range(65, 101)]
    assert len(report.added) == 100 and "64 vector(s)" in notes[0]
    clean, _, _, _ = _embed(tmp_path / "clean.partial", 100, CountingEncoder())
    assert index.ids == clean.ids and np.array_equal(index.embeddings, clean.embeddings)


def test_a_record_edited_since_its_shard_is_embedded_again(tmp_path, every_chunk):
    folder = tmp_path / "dense.partial"
    _embed(folder, 40, CountingEncoder())
    again = CountingEncoder()
    index, _, resumed, _ = _embed(folder, 40, again, texts={"7": "a new title"})
    assert resumed == 39 and again.texts == ["a new title abstract 7"]


def test_a_checkpoint_of_another_encoder_is_discarded_with_a_message(tmp_path, every_chunk):
    folder = tmp_path / "dense.partial"
    _embed(folder, 10, CountingEncoder())
    other = ckpt.EmbeddingCheckpoint(folder, {**KEY, "encoder": "onnx-int8"}, notify=(notes := []).append)
    assert other.resume() == {}
    assert not folder.exists()
    assert "encoder 'torch'" in notes[0] and "encoder 'onnx-int8'" in notes[0]


def test_a_shard_cut_short_or_damaged_is_not_used(tmp_path, every_chunk):
    folder = tmp_path / "dense.partial"
    _embed(folder, 24, CountingEncoder(), batch_size=1)  # shards of 8 rows
    (folder / "shard-000001.npy").unlink()  # killed between the ids and the array: no shard
    (folder / "shard-000002.npy").write_bytes(b"\x93NUMPY garbage")
    notes: list[str] = []
    found = ckpt.EmbeddingCheckpoint(folder, KEY, notify=notes.append).resume()
    assert sorted(found, key=int) == [str(i) for i in range(1, 9)]
    assert len(notes) == 1 and "shard-000002.npy" in notes[0]


def test_shards_wait_for_enough_rows(tmp_path, monkeypatch):
    monkeypatch.setattr(ckpt, "CHECKPOINT_S", 3600.0)
    monkeypatch.setattr(ckpt, "CHECKPOINT_RECORDS", 20)
    point = ckpt.EmbeddingCheckpoint(tmp_path / "p", KEY)
    rows = np.ones((8, 4), np.float32)
    point.add([str(i) for i in range(8)], ["h"] * 8, rows)
    point.add([str(i) for i in range(8, 16)], ["h"] * 8, rows)
    assert not (tmp_path / "p").exists()
    point.add([str(i) for i in range(16, 24)], ["h"] * 8, rows)
    assert json.loads((tmp_path / "p" / "shard-000000.json").read_text())["ids"] == [str(i) for i in range(24)]
    assert json.loads((tmp_path / "p" / "key.json").read_text())["encoder"] == "torch"
    assert not [p for p in (tmp_path / "p").iterdir() if p.name.startswith(".")]  # no temporary file left


def test_add_uses_known_vectors_in_input_order():
    enc = CountingEncoder()
    ids, titles, abstracts = _records(6)
    clean = DenseIndex(encoder=enc)
    clean.add(ids, titles, abstracts)
    known = {i: clean.embeddings[int(i) - 1] for i in ("2", "5")}
    again = CountingEncoder()
    index = DenseIndex(encoder=again)
    chunks = []
    index.add(ids, titles, abstracts, known=known, on_chunk=lambda got, vecs: chunks.append(got))
    assert len(again.texts) == 4 and chunks == [["1", "3", "4", "6"]]
    assert index.ids == clean.ids and np.array_equal(index.embeddings, clean.embeddings)


def test_a_folder_cut_before_its_first_shard_is_removed_silently(tmp_path):
    folder = tmp_path / "dense.partial"
    folder.mkdir()
    notes: list[str] = []
    assert ckpt.EmbeddingCheckpoint(folder, KEY, notify=notes.append).resume() == {}
    assert not folder.exists() and notes == []


def test_an_interrupted_spilled_embedding_resumes_alike(tmp_path, every_chunk, monkeypatch):
    """Above the spill size the vectors go to a file in the partial folder (not a shard: never resumed
    from); a run interrupted and resumed gives the same index as one uninterrupted, in memory."""
    from serendip.retrieval import dense

    monkeypatch.setattr(dense, "SPILL_MIN_ROWS", 10)
    folder = tmp_path / "dense.partial"
    with pytest.raises(KeyboardInterrupt):
        _embed(folder, 100, CountingEncoder(fail_after=64))
    assert (folder / ckpt.SPILL_NAME).is_file()
    index, report, resumed, _ = _embed(folder, 100, CountingEncoder())
    assert resumed == 64 and isinstance(index.embeddings, np.memmap)
    monkeypatch.setattr(dense, "SPILL_MIN_ROWS", 10**9)
    clean, _, _, _ = _embed(tmp_path / "clean.partial", 100, CountingEncoder())
    assert not isinstance(clean.embeddings, np.memmap)
    assert index.ids == clean.ids and np.array_equal(np.asarray(index.embeddings), clean.embeddings)
