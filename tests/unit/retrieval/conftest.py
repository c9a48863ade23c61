"""Retrieval test fixtures: a tiny BM25 + dense searcher over given titles, with a deterministic
pseudo-encoder instead of a model (a text's vector is keyed by its first word)."""
from __future__ import annotations

import hashlib

import numpy as np
import pytest


def first_word_encoder(texts, batch_size):
    """Pseudo-embeddings of shape (n, 16), float32, keyed by the first word: a query equals the vector
    of the document sharing its first word."""
    out = []
    for t in texts:
        seed = int.from_bytes(hashlib.sha256(t.split()[0].lower().encode()).digest()[:8], "little")
        out.append(np.random.default_rng(seed).standard_normal(16))
    return np.asarray(out, dtype=np.float32)


@pytest.fixture(scope="session")
def make_searcher():
    """``make_searcher(ids, titles) -> Searcher`` over a BM25 index and a dense index of the titles."""
    from serendip.retrieval.bm25 import BM25Index
    from serendip.retrieval.dense import DenseIndex
    from serendip.retrieval.searcher import Searcher

    def build(ids, titles):
        dense = DenseIndex(encoder=first_word_encoder)
        dense.add(list(ids), list(titles), [""] * len(ids))
        return Searcher(BM25Index.build(list(ids), list(titles)), dense)

    return build
