"""Overlapping k-mers (DNABERT tokenization) and k-mer count vectors.

* :func:`kmers` splits a sequence into overlapping k-mers with stride 1 by default, as DNABERT does
  (Ji et al., "DNABERT: pre-trained Bidirectional Encoder Representations from Transformers model for
  DNA-language in genome", Bioinformatics 37:2112, 2021; k = 3..6).
* :func:`kmer_counts` counts the 4**k ACGT k-mers of each sequence into a sparse matrix (the classic
  k-mer spectrum / "bag of k-mers" representation, e.g. Leslie et al., "The spectrum kernel", PSB 2002).
  Columns are in lexicographic order over ``A < C < G < T`` (column 0 = ``"A" * k``), i.e. the k-mer's
  value in base 4 with A=0, C=1, G=2, T=3; :func:`kmer_vocabulary` lists them. Case is ignored
  (soft-masked bases count as their base). A k-mer holding any other character (N, IUPAC ambiguity
  codes, U, gaps) is not counted in the matrix; the number dropped per sequence is returned on request.
"""
from __future__ import annotations

from itertools import product
from typing import TYPE_CHECKING

import numpy as np

from serendip.errors import ConfigError

if TYPE_CHECKING:
    from collections.abc import Sequence as Seq

    import scipy.sparse

__all__ = ["MAX_K", "kmer_counts", "kmer_vocabulary", "kmers"]

#: Largest k for :func:`kmer_counts` (4**15 columns is the most int32 sparse indices allow).
MAX_K = 15
_BLOCK = 1 << 20  # windows per block in kmer_counts (bounds its working memory)

_CODE = np.full(256, 4, dtype=np.uint8)
for _i, _b in enumerate(b"ACGT"):
    _CODE[_b] = _i
    _CODE[_b + 32] = _i  # lower case


def _check_k(k: int, stride: int = 1) -> None:
    if not isinstance(k, (int, np.integer)) or k < 1:
        raise ConfigError(f"k must be a positive integer, got {k!r}")
    if not isinstance(stride, (int, np.integer)) or stride < 1:
        raise ConfigError(f"stride must be a positive integer, got {stride!r}")


def kmers(seq: str, k: int, stride: int = 1) -> list[str]:
    """Overlapping k-mers of ``seq`` (DNABERT-style tokens), case kept.

    Parameters
    ----------
    seq : str
        Any string (no alphabet check here).
    k : int
        k-mer length, >= 1.
    stride : int, default=1
        Step between k-mer starts (1 = fully overlapping, ``k`` = non-overlapping).

    Returns
    -------
    list of str
        ``[seq[i:i+k] for i in range(0, len(seq) - k + 1, stride)]``: ``len(seq) - k + 1`` k-mers with
        stride 1, empty when ``len(seq) < k``.

    Raises
    ------
    ConfigError
        ``k`` or ``stride`` is not a positive integer.

    Examples
    --------
    >>> kmers("ACGTAC", 3)
    ['ACG', 'CGT', 'GTA', 'TAC']
    """
    _check_k(k, stride)
    return [seq[i:i + k] for i in range(0, len(seq) - k + 1, stride)]


def kmer_vocabulary(k: int) -> list[str]:
    """The 4**k ACGT k-mers in column order of :func:`kmer_counts` (``"AA..A"`` first, ``"TT..T"`` last)."""
    _check_k(k)
    return ["".join(p) for p in product("ACGT", repeat=k)]


def kmer_counts(seqs: Seq[str], k: int, *, return_dropped: bool = False,
                dtype: type = np.int32) -> scipy.sparse.csr_matrix | tuple[scipy.sparse.csr_matrix, np.ndarray]:
    """Count the overlapping ACGT k-mers of each sequence.

    Parameters
    ----------
    seqs : sequence of str
        n sequences, any case, any lengths (shorter than k gives an empty row).
    k : int
        k-mer length, 1 <= k <= :data:`MAX_K`.
    return_dropped : bool, default=False
        Also return how many k-mers of each sequence were dropped because they hold a character
        other than A, C, G, T (any case).
    dtype : numpy dtype, default=np.int32
        dtype of the counts.

    Returns
    -------
    counts : scipy.sparse.csr_matrix of shape (n, 4**k), dtype ``dtype``
        ``counts[i, j]`` = occurrences of k-mer ``kmer_vocabulary(k)[j]`` in ``seqs[i]`` (stride 1).
    dropped : ndarray of shape (n,), dtype int64
        Only with ``return_dropped=True``. For each sequence,
        ``counts[i].sum() + dropped[i] == max(len(seqs[i]) - k + 1, 0)``.

    Raises
    ------
    ConfigError
        ``k`` is not an integer in [1, MAX_K].
    """
    import scipy.sparse

    _check_k(k)
    if k > MAX_K:
        raise ConfigError(f"k must be at most {MAX_K} (4**k columns), got {k}")
    n = len(seqs)
    lengths = np.fromiter((len(s) for s in seqs), dtype=np.int64, count=n)
    buf = "".join(seqs).encode("ascii", "replace")  # non-ASCII -> '?', an ambiguous character
    codes = _CODE[np.frombuffer(buf, dtype=np.uint8)]
    n_win = np.maximum(lengths - k + 1, 0)
    if codes.size < k or n_win.sum() == 0:
        counts = scipy.sparse.csr_matrix((n, 4 ** k), dtype=dtype)
        return (counts, n_win.astype(np.int64)) if return_dropped else counts
    # windows over the concatenation, keeping those inside one sequence; in blocks to bound memory
    starts = np.concatenate(([0], np.cumsum(lengths)[:-1]))
    first_window = np.cumsum(n_win) - n_win
    row_of_window = np.repeat(np.arange(n, dtype=np.int32), n_win)
    total = int(n_win.sum())
    counts = scipy.sparse.csr_matrix((n, 4 ** k), dtype=dtype)
    dropped = np.zeros(n, dtype=np.int64)
    for lo in range(0, total, _BLOCK):
        w = np.arange(lo, min(lo + _BLOCK, total), dtype=np.int64)
        rows = row_of_window[w]
        pos = starts[rows] + (w - first_window[rows])
        index = np.zeros(w.size, dtype=np.int32)  # 4**15 - 1 < 2**31
        bad = np.zeros(w.size, dtype=bool)
        for m in range(k):
            c = codes[pos + m]
            bad |= c == 4
            index = index * 4 + np.minimum(c, 3)
        good = ~bad
        counts = counts + scipy.sparse.csr_matrix(
            (np.ones(int(good.sum()), dtype=dtype), (rows[good], index[good])),
            shape=(n, 4 ** k), dtype=dtype)
        dropped += np.bincount(rows[bad], minlength=n)
    counts = scipy.sparse.csr_matrix(counts, dtype=dtype)
    counts.sum_duplicates()
    return (counts, dropped) if return_dropped else counts
