"""k-mer tokens (DNABERT style) and sparse k-mer count vectors."""
from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
import scipy.sparse

from serendip.errors import ConfigError
from serendip.genomics.kmers import MAX_K, kmer_counts, kmer_vocabulary, kmers


def test_kmers_overlapping_and_stride():
    assert kmers("ACGTAC", 3) == ["ACG", "CGT", "GTA", "TAC"]
    assert kmers("ACGTAC", 3, stride=3) == ["ACG", "TAC"]
    assert kmers("ACGTACG", 3, stride=2) == ["ACG", "GTA", "ACG"]
    assert kmers("AC", 3) == [] and kmers("", 1) == []
    assert kmers("acgN", 2) == ["ac", "cg", "gN"]  # case and characters kept
    assert len(kmers("A" * 70, 6)) == 65  # DNABERT: L - k + 1 tokens
    for bad in (0, -1, 2.0):
        with pytest.raises(ConfigError):
            kmers("ACGT", bad)
    with pytest.raises(ConfigError):
        kmers("ACGT", 2, stride=0)


def test_vocabulary_order():
    assert kmer_vocabulary(1) == ["A", "C", "G", "T"]
    v = kmer_vocabulary(3)
    assert len(v) == 64 and v[0] == "AAA" and v[-1] == "TTT" and v == sorted(v)
    assert v.index("ACG") == 0 * 16 + 1 * 4 + 2


def _naive(seq, k):
    vocab = {km: i for i, km in enumerate(kmer_vocabulary(k))}
    row = np.zeros(4 ** k, dtype=int)
    dropped = 0
    for km in kmers(seq.upper(), k):
        if km in vocab:
            row[vocab[km]] += 1
        else:
            dropped += 1
    return row, dropped


def test_counts_match_naive_count():
    rng = np.random.default_rng(0)
    seqs = ["".join(rng.choice(list("ACGTacgtNRY"), size=int(n))) for n in rng.integers(0, 40, size=30)]
    seqs += ["", "A", "ACGTN", "é" + "ACGT"]
    for k in (1, 2, 3, 5):
        X, dropped = kmer_counts(seqs, k, return_dropped=True)
        assert isinstance(X, scipy.sparse.csr_matrix) and X.shape == (len(seqs), 4 ** k)
        assert X.dtype == np.int32 and dropped.shape == (len(seqs),)
        for i, s in enumerate(seqs):
            row, d = _naive(s, k)
            assert np.array_equal(X[i].toarray().ravel(), row), (s, k)
            assert dropped[i] == d
            assert X[i].sum() + dropped[i] == max(len(s) - k + 1, 0)


def test_counts_simple_example_and_case():
    X = kmer_counts(["ACGTACGT", "acgtacgt"], 4)
    v = kmer_vocabulary(4)
    got = {v[j]: int(X[0, j]) for j in X[0].indices}
    assert got == dict(Counter(kmers("ACGTACGT", 4)))
    assert (X[0] != X[1]).nnz == 0


def test_counts_edge_cases():
    X = kmer_counts([], 3)
    assert X.shape == (0, 64)
    X, d = kmer_counts(["AC", "NN"], 3, return_dropped=True)
    assert X.nnz == 0 and list(d) == [0, 0]
    X, d = kmer_counts(["NNN"], 3, return_dropped=True)
    assert X.nnz == 0 and list(d) == [1]
    assert kmer_counts(["ACGT"], 2, dtype=np.float32).dtype == np.float32
    with pytest.raises(ConfigError):
        kmer_counts(["ACGT"], MAX_K + 1)


def test_counts_same_across_block_sizes(monkeypatch):
    import serendip.genomics.kmers as km

    rng = np.random.default_rng(1)
    seqs = ["".join(rng.choice(list("ACGTN"), size=int(n))) for n in rng.integers(0, 60, size=50)]
    X1, d1 = kmer_counts(seqs, 3, return_dropped=True)
    monkeypatch.setattr(km, "_BLOCK", 7)
    X2, d2 = kmer_counts(seqs, 3, return_dropped=True)
    assert (X1 != X2).nnz == 0 and np.array_equal(d1, d2)
    assert X2.has_canonical_format
