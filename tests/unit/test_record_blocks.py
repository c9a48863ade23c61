"""The index build reads the records' text from the database a block at a time
(:mod:`serendip.record_blocks`): one query per block for a sequential read, values equal to
``Record.search_text()`` / ``title`` / ``abstract``, and BM25 (bm25s and Tantivy) and dense indexes built
from the lazy sequences equal to those built from lists; ``serendip index`` itself reads that way."""
from __future__ import annotations

import json
import math
import zlib

import numpy as np
import pytest
from sqlalchemy import delete, event

from serendip import record_blocks
from serendip.record_blocks import RecordBlocks, read_record_ids
from serendip.retrieval import encoders as enc_mod
from serendip.retrieval.bm25 import BM25Index
from serendip.retrieval.bm25_tantivy import TantivyBM25Index
from serendip.retrieval.dense import DenseIndex
from serendip.retrieval.encoders import ENCODERS, EncoderSpec
from serendip.workbench import Workspace
from serendip.workspace.schema import records

N = 2_300
BLOCK = 500
WORDS = ["aspirin", "statin", "cancer", "myalgia", "adenoma", "placebo", "trial", "cohort", "risk", "dose"]
QUERIES = ["aspirin cancer", "statin myalgia dose", "placebo trial", "cohort risk adenoma"]


def _doc(i: int) -> dict:
    """A tiny record; every 7th has no abstract, every 11th no title."""
    title = f"{WORDS[i % 10]} {WORDS[(i * 3) % 10]} study {i}"
    abstract = " ".join(WORDS[(i + k * k) % 10] for k in range(1 + i % 6))
    doc = {"id": f"d{i}"}
    if i % 11:
        doc["title"] = title
    if i % 7:
        doc["abstract"] = abstract
    return doc


@pytest.fixture(scope="module")
def ws_path(tmp_path_factory):
    root = tmp_path_factory.mktemp("blocks")
    src = root / "docs.jsonl"
    src.write_text("".join(json.dumps(_doc(i)) + "\n" for i in range(N)), encoding="utf-8")
    with Workspace.init(root / "ws") as ws:
        rep = ws.ingest([src])
        assert rep.ingested == N, rep
    return root / "ws"


def _lists(ws: Workspace) -> tuple[list[str], list[str], list, list]:
    """What the index build held before it streamed: every record's id, text, title and abstract."""
    rows = list(ws.records())
    return ([str(r) for r, _ in rows], [rec.search_text() for _, rec in rows], [rec.title for _, rec in rows],
            [rec.abstract for _, rec in rows])


class DataQueries:
    """Counts the statements that read the records' JSON (``records.data``) on an engine."""

    def __init__(self, engine):
        self.engine, self.count = engine, 0

    def __enter__(self):
        event.listen(self.engine, "before_cursor_execute", self._seen)
        return self

    def __exit__(self, *exc):
        event.remove(self.engine, "before_cursor_execute", self._seen)

    def _seen(self, conn, cursor, statement, *args):
        self.count += "records.data" in statement


def _encoder(texts, batch_size):
    """Deterministic 16-dimensional pseudo-embeddings from each text's CRC (no model)."""
    return np.asarray([np.random.default_rng(zlib.crc32(t.encode())).standard_normal(16) for t in texts],
                      dtype=np.float32)


def test_a_sequential_read_costs_one_query_per_block_and_equals_the_records(ws_path):
    with Workspace.open(ws_path) as ws:
        ids, texts, titles, abstracts = _lists(ws)
        advanced: list[int] = []
        assert read_record_ids(ws.engine, advanced.append) == ids
        assert sum(advanced) == N and advanced[0] == 1000
        blocks = RecordBlocks(ws.engine, ids, block_size=BLOCK)
        with DataQueries(ws.engine) as queries:
            assert list(blocks.column("search_text")) == texts
            assert queries.count == blocks.loads == math.ceil(N / BLOCK)
            # two fields read in step share the block
            pairs = list(zip(blocks.column("title"), blocks.column("abstract")))
            assert pairs == list(zip(titles, abstracts))
            assert blocks.loads == 2 * math.ceil(N / BLOCK)
            # random access within the current block reads nothing; a subset reads only its blocks
            last = blocks.loads
            col = blocks.column("title")
            assert [col[-1], col[N - 2], col[2000]] == [titles[-1], titles[-2], titles[2000]]
            assert blocks.loads == last
            some = np.array([3, 4, 1200, 1201, 2299])
            assert list(blocks.column("abstract", some)) == [abstracts[i] for i in some]
            assert blocks.loads == last + 3
            assert col[10:13] == titles[10:13]
            assert queries.count == blocks.loads
        assert not blocks.vanished
        with pytest.raises(IndexError):
            col[N]
        with pytest.raises(ValueError, match="unknown record field 'doi'"):
            blocks.column("doi")


@pytest.mark.parametrize("engine", [BM25Index, TantivyBM25Index])
def test_bm25_built_from_blocks_equals_bm25_built_from_lists(ws_path, tmp_path, engine):
    with Workspace.open(ws_path) as ws:
        ids, texts, _, _ = _lists(ws)
        blocks = RecordBlocks(ws.engine, ids, block_size=BLOCK)
        kw = {"workdir": tmp_path} if engine is TantivyBM25Index else {}
        lazy = engine.build(ids, blocks.column("search_text"), **kw)
        assert blocks.loads == math.ceil(N / BLOCK)
        eager = engine.build(ids, texts, **kw)
    assert lazy.ids == eager.ids == ids
    for q in QUERIES:
        hits = lazy.search(q, k=20)
        assert len(hits) == 20 and hits == eager.search(q, k=20)
        np.testing.assert_array_equal(lazy.scores(q), eager.scores(q))


def test_dense_vectors_from_blocks_equal_vectors_from_lists(ws_path):
    with Workspace.open(ws_path) as ws:
        ids, _, titles, abstracts = _lists(ws)
        blocks = RecordBlocks(ws.engine, ids, block_size=BLOCK)
        lazy, eager = DenseIndex(encoder=_encoder), DenseIndex(encoder=_encoder)
        rep = lazy.add(ids, blocks.column("title"), blocks.column("abstract"), batch_size=16)
        # two passes in order (which records have text, then chunk by chunk), a block at a time each
        assert blocks.loads == 2 * math.ceil(N / BLOCK)
        rep_eager = eager.add(ids, titles, abstracts, batch_size=16)
    assert rep.added == rep_eager.added and rep.no_text == rep_eager.no_text
    assert lazy.ids == eager.ids
    np.testing.assert_array_equal(lazy.embeddings, eager.embeddings)


def test_a_record_deleted_between_reads_is_vanished_and_gets_no_vector(ws_path, tmp_path):
    """Record 1201 (block 2) had text when DenseIndex.add first read it and is deleted before its
    second read: it is listed as vanished and gets no vector; the others do."""
    import shutil

    shutil.copytree(ws_path, tmp_path / "ws")
    with Workspace.open(tmp_path / "ws") as ws:
        ids, _, titles, abstracts = _lists(ws)
        blocks = RecordBlocks(ws.engine, ids, block_size=BLOCK)
        engine = ws.engine

        class DeletedOnSecondRead(list):
            """The abstracts column; its first indexed read (the chunk pass) deletes record 1201."""

            deleted = False

            def __getitem__(self, i):
                if not self.deleted:
                    with engine.begin() as conn:
                        conn.execute(delete(records).where(records.c.id == 1201))
                    self.deleted = True
                return blocks.value(int(i), 2)

        index = DenseIndex(encoder=_encoder)
        rep = index.add(ids, blocks.column("title"), DeletedOnSecondRead(abstracts), batch_size=16)
    assert titles[1200] and abstracts[1200]
    assert blocks.vanished == {"1201"}
    assert rep.no_text[-1] == "1201" and "1201" not in index.ids
    assert index.ids == rep.added and len(rep.added) == index.embeddings.shape[0]
    want = DenseIndex(encoder=_encoder)
    want.add([i for i in ids if i != "1201"], titles[:1200] + titles[1201:], abstracts[:1200] + abstracts[1201:])
    assert index.ids == want.ids
    np.testing.assert_array_equal(index.embeddings, want.embeddings)


def test_serendip_index_reads_the_database_a_block_at_a_time(ws_path, tmp_path, monkeypatch):
    """``Workspace.index``: the Tantivy BM25 index (one block query per block) and the dense index
    (a pseudo-encoder) equal indexes built from lists of every record's text."""
    import shutil

    shutil.copytree(ws_path, tmp_path / "ws")
    cfg = tmp_path / "ws" / "serendip.toml"
    cfg.write_text(cfg.read_text().replace('bm25_backend = "auto"', 'bm25_backend = "tantivy"'))
    monkeypatch.setattr(record_blocks, "BLOCK_SIZE", BLOCK)
    ENCODERS.add("fake-blocks", EncoderSpec("fake-blocks", lambda folder: _Fake(), "test encoder"))
    enc_mod._loaded.clear()
    try:
        with Workspace.open(tmp_path / "ws") as ws:
            with DataQueries(ws.engine) as queries:
                ws.index(dense=False)
            assert queries.count == math.ceil(N / BLOCK)
            ids, texts, titles, abstracts = _lists(ws)
            eager = TantivyBM25Index.build(ids, texts, workdir=tmp_path)
            built = ws.searcher().bm25
            assert built.ids == ids
            for q in QUERIES:
                assert built.search(q, k=20) == eager.search(q, k=20)
            ws.index(encoder="fake-blocks")
            dense = ws.searcher().dense
            want = DenseIndex(encoder=_encoder)
            want.add(ids, titles, abstracts)
            assert dense.ids == want.ids
            np.testing.assert_array_equal(dense.embeddings, want.embeddings)
    finally:
        ENCODERS._items.pop("fake-blocks")
        enc_mod._loaded.clear()


class _Fake:
    """The registered pseudo-encoder: :func:`_encoder`."""

    def encode(self, texts, batch_size=64):
        return _encoder(list(texts), batch_size)


@pytest.mark.postgres
@pytest.mark.parametrize("partitions", [None, 3])
def test_blocks_read_a_postgres_workspace_alike(fresh_pg_database, tmp_path, partitions):
    """On PostgreSQL (also with ``records`` hash-partitioned by id) a block is one range query too, and
    the index built from the blocks equals the one built from lists."""
    src = tmp_path / "docs.jsonl"
    src.write_text("".join(json.dumps(_doc(i)) + "\n" for i in range(1200)), encoding="utf-8")
    with Workspace.init(tmp_path / "ws", database=fresh_pg_database(), partitions=partitions) as ws:
        ws.ingest([src])
        ids, texts, _, _ = _lists(ws)
        blocks = RecordBlocks(ws.engine, read_record_ids(ws.engine), block_size=BLOCK)
        assert blocks.ids == ids
        with DataQueries(ws.engine) as queries:
            lazy = BM25Index.build(ids, blocks.column("search_text"))
        assert queries.count == blocks.loads == math.ceil(1200 / BLOCK)
    eager = BM25Index.build(ids, texts)
    for q in QUERIES:
        assert lazy.search(q, k=20) == eager.search(q, k=20)
