"""Search backends of the dense index: the exact product, and approximate nearest-neighbour structures
(FAISS) built once, saved and memory-mapped.

Exact (:func:`exact_search`): the product of the queries with every row, top ``k`` sorted. It runs in
torch when torch is already imported (the PyTorch query encoder): numpy's OpenBLAS threads spin after a
product and starve torch's threads on small machines (SciFact, 2 cores: dense query p50 16 ms with
numpy vs 8 ms with torch); else in numpy, so a search whose encoder does not use torch never imports it.

Two approximate kinds, both over L2-normalised float32 vectors with the inner product (= cosine):

- ``"hnsw"``: ``IndexHNSWFlat`` (Malkov & Yashunin 2018), M=32, efConstruction=128, efSearch=128 (FAISS
  raises it to ``k`` when ``k`` is larger). Its scores are exact inner products (the vectors are stored
  flat beside the graph).
- ``"ivfpq"``: ``IndexIVFPQ`` (Jégou et al. 2011), ``nlist`` inverted lists (a power of two near
  ``4 * sqrt(n)``, 64..4096) over a flat inner-product quantizer, PQ with one 8-bit sub-quantizer per
  8 dimensions (48 for MiniLM's 384: 48 bytes per vector), trained on a fixed-seed sample of at most
  ``40 * nlist`` vectors; ``nprobe`` 32. Its scores are PQ approximations, so :func:`search` re-scores
  the ``k + 100`` best candidates exactly from the (memory-mapped) embeddings and keeps the
  top ``k``: the cosines reported are exact, and only the candidates' rows are read (``4 k`` candidates
  cost hybrid search, k=1000, 35 ms a query at 100k vectors against 3.8 ms, for no gain in recall@10).

Files (in the dense index folder): ``hnsw.faiss`` or ``ivfpq.faiss``, FAISS' own format, written after
the structure is built or extended (:meth:`serendip.retrieval.dense.DenseIndex.save`). :func:`read`
maps them instead of reading them: ``IO_FLAG_MMAP_IFC`` for HNSW (the stored vectors are a view of the
file; the graph's neighbour lists are read) and ``IO_FLAG_MMAP`` for IVF-PQ (the inverted lists are a
view of the file); both with ``IO_FLAG_READ_ONLY``. A mapped structure cannot grow (FAISS aborts the
process on an add to a viewed vector), so :func:`writable` reads it again whole before an add.

Choosing by size (``dense.EXACT_THRESHOLD``, ``dense.IVFPQ_THRESHOLD``), measured by
``benchmarks/dense_backends.py`` (SciFact MiniLM vectors mixed up to n, dim 384, 200 single queries,
each index opened in a fresh process; 2 shared, contended cores):

======  =======  =========  ======  ========  ========  ==========  =========  =======
n       backend  recall@10  p50 ms  p95 ms    k=1000    build s     load s     disk MB
======  =======  =========  ======  ========  ========  ==========  =========  =======
10k     exact    1          24      40        28 ms     0           0.01       15
10k     hnsw     0.998      0.3     16        1.2 ms    14          0.28       32
10k     ivfpq    0.978      3.8     9         18 ms     66          0.39       16
100k    exact    1          71      98        60 ms     0           0.25       147
100k    hnsw     1.000      0.5     25        1.2 ms    199         0.74       320
100k    ivfpq    0.9995     2.1     5         3.8 ms    15          0.12       155
1M      exact    1          507     750       385 ms    0           1.41       1474
1M      ivfpq    0.976      2.6     10        6.6 ms    353         2.14       1534
======  =======  =========  ======  ========  ========  ==========  =========  =======

Exact search reads every vector
per query, so its latency grows with n (about 6.7 ms at 100k on a quiet machine, issue 14; half that at
50k): we keep it up to 50,000 vectors, where it is still a few milliseconds, needs nothing built and
is exact. Above, IVF-PQ: recall@10 0.98-1.00 with exact cosines, a few ms a query, 48 bytes a vector
beside the embeddings, and a build (15-41 s at 100k, 324-353 s at 1M, contended) small next to embedding
the records (15-18 documents/s). HNSW answers faster (0.5 ms) but builds 5-13x slower, doubles the disk
(it keeps its own copy of the vectors), loads slower (0.74 s at 100k) and at 1M was not run: extrapolated
~2,800 s to build here, and over 3 GB while building beside the in-memory embeddings.
"""
from __future__ import annotations

import math
import os
import sys
import warnings
from pathlib import Path

import numpy as np

from serendip.retrieval.index_files import damaged

__all__ = ["exact_operand", "exact_search", "advise_random", "read_rows", "link_or_copy", "ANN_FILES", "ANN_KINDS", "HNSW_EF_CONSTRUCTION", "HNSW_EF_SEARCH", "HNSW_M", "IVF_NPROBE",
           "PQ_SUBVECTOR_DIM", "add", "build", "ivf_nlist", "params", "read", "search", "writable"]

HNSW_M = 32
HNSW_EF_CONSTRUCTION = 128
HNSW_EF_SEARCH = 128
#: dimensions per PQ sub-quantizer (384 -> 48 sub-quantizers)
PQ_SUBVECTOR_DIM = 8
PQ_NBITS = 8
#: PQ k-means: iterations and training points per centroid (2**PQ_NBITS centroids per sub-quantizer)
PQ_TRAIN_ITER = 10
PQ_TRAIN_PER_CENTROID = 64
IVF_NPROBE = 32
#: training vectors per inverted list (FAISS warns below 39)
IVF_TRAIN_PER_LIST = 40
#: IVF-PQ: candidates re-scored exactly per query, ``k + RERANK_EXTRA``
RERANK_EXTRA = 100
_SEED = 1234

#: kind -> file name in the index folder
ANN_FILES = {"hnsw": "hnsw.faiss", "ivfpq": "ivfpq.faiss"}
ANN_KINDS = tuple(ANN_FILES)


def exact_operand(embeddings: np.ndarray):
    """The operand :func:`exact_search` multiplies: a torch view of ``embeddings`` (no copy) when torch
    is imported, else the array itself."""
    if "torch" not in sys.modules:
        return embeddings
    import torch

    with warnings.catch_warnings():  # a read-only memory map: torch only reads it
        warnings.simplefilter("ignore", UserWarning)
        return torch.from_numpy(embeddings)


def exact_search(operand, qvecs: np.ndarray, k: int, chunk: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """Exact top-``k`` by inner product: (scores float32 (q, k), row indices int64 (q, k)), best first.

    ``operand`` is :func:`exact_operand`'s (rows (n, dim)); ``qvecs`` float32 (q, dim); ``k <= n``.
    """
    if qvecs.shape[0] == 0:
        return np.zeros((0, k), dtype=np.float32), np.zeros((0, k), dtype=np.int64)
    sims_out, idx_out = [], []
    if not isinstance(operand, np.ndarray):
        import torch

        with torch.inference_mode():
            for start in range(0, qvecs.shape[0], chunk):
                vals, idx = torch.topk(torch.from_numpy(qvecs[start:start + chunk]) @ operand.T, k, dim=1)
                sims_out.append(vals.numpy())
                idx_out.append(idx.numpy())
    else:
        for start in range(0, qvecs.shape[0], chunk):
            sims = qvecs[start:start + chunk] @ operand.T
            top = np.argpartition(-sims, k - 1, axis=1)[:, :k] if k < sims.shape[1] else \
                np.broadcast_to(np.arange(sims.shape[1]), sims.shape).copy()
            vals = np.take_along_axis(sims, top, 1)
            order = np.argsort(-vals, axis=1, kind="stable")
            sims_out.append(np.take_along_axis(vals, order, 1))
            idx_out.append(np.take_along_axis(top, order, 1).astype(np.int64))
    return np.vstack(sims_out), np.vstack(idx_out)


def ivf_nlist(n: int) -> int:
    """Inverted lists for ``n`` vectors: the power of two nearest ``4 * sqrt(n)``, within 64..4096."""
    target = 4 * math.sqrt(max(n, 1))
    return int(min(4096, max(64, 2 ** round(math.log2(target)))))


def params(kind: str, n: int, dim: int) -> dict[str, int]:
    """The settings of a structure of ``kind`` over ``n`` vectors (recorded in meta.json)."""
    if kind == "hnsw":
        return {"M": HNSW_M, "efConstruction": HNSW_EF_CONSTRUCTION, "efSearch": HNSW_EF_SEARCH}
    return {"nlist": _nlist(n), "pq_m": _pq_m(dim), "pq_nbits": PQ_NBITS, "nprobe": IVF_NPROBE,
            "rerank_extra": RERANK_EXTRA}


def _pq_m(dim: int) -> int:
    """Sub-quantizers for ``dim``: ``dim / PQ_SUBVECTOR_DIM`` when that divides, else the largest divisor
    of ``dim`` below it (at least 1)."""
    return next(m for m in range(max(1, dim // PQ_SUBVECTOR_DIM), 0, -1) if dim % m == 0)


def _nlist(n: int) -> int:
    """Inverted lists actually used for ``n`` vectors: :func:`ivf_nlist`, fewer when ``n`` is too small
    to give each :data:`IVF_TRAIN_PER_LIST` training vectors."""
    return min(ivf_nlist(n), max(1, n // IVF_TRAIN_PER_LIST))


def build(kind: str, vectors: np.ndarray):
    """A new FAISS structure of ``kind`` over ``vectors`` (float32, (n, dim), L2-normalised).

    IVF-PQ is trained first on a fixed-seed sample (see the module docstring), so equal inputs give
    equal structures.
    """
    import faiss

    if not (isinstance(vectors, np.ndarray) and vectors.dtype == np.float32 and vectors.flags.c_contiguous):
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)  # (a float32 memmap stays one: read_rows)
    n, dim = vectors.shape
    if kind == "hnsw":
        index = faiss.IndexHNSWFlat(dim, HNSW_M, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
    elif kind == "ivfpq":
        nlist = _nlist(n)
        quantizer = faiss.IndexFlatIP(dim)
        index = faiss.IndexIVFPQ(quantizer, dim, nlist, _pq_m(dim), PQ_NBITS, faiss.METRIC_INNER_PRODUCT)
        index.cp.seed = index.pq.cp.seed = _SEED
        # FAISS' default PQ training (25 iterations on up to 256 points per centroid, 48 k-means of 8
        # dimensions) took 52 s for 10k vectors on 2 cores; 10 iterations on 64 per centroid: see ivf notes
        index.pq.cp.niter = PQ_TRAIN_ITER
        index.pq.cp.max_points_per_centroid = PQ_TRAIN_PER_CENTROID
        n_train = min(n, IVF_TRAIN_PER_LIST * nlist)
        rows = np.sort(np.random.default_rng(_SEED).choice(n, n_train, replace=False))
        index.train(read_rows(vectors, rows))  # FAISS' wrapper keeps `quantizer` referenced
    else:
        raise ValueError(f"unknown ANN kind {kind!r}; expected one of {', '.join(ANN_KINDS)}")
    add(index, vectors)
    return index


def add(index, vectors: np.ndarray, chunk: int = 65_536) -> None:
    """Add ``vectors`` (float32, (m, dim)) to a writable structure, in chunks (bounded temporary memory;
    a memory-mapped file is read, not mapped: :func:`read_rows`)."""
    for start in range(0, vectors.shape[0], chunk):
        block = read_rows(vectors, np.arange(start, min(start + chunk, vectors.shape[0])))
        index.add(np.ascontiguousarray(block, dtype=np.float32))


def read(path: str | Path, kind: str, *, mmap: bool = True):
    """Read a saved structure; memory-mapped and read-only unless ``mmap`` is False.

    Raises
    ------
    IndexDamaged
        The file is missing or FAISS cannot parse it (names the file and ``serendip index --rebuild``).
    """
    import faiss

    path = Path(path)
    if not path.is_file():
        raise damaged(path, "missing")
    flags = 0
    if mmap:
        flags = faiss.IO_FLAG_READ_ONLY | (faiss.IO_FLAG_MMAP_IFC if kind == "hnsw" else faiss.IO_FLAG_MMAP)
    try:
        index = faiss.read_index(str(path), flags)
    except (RuntimeError, MemoryError) as exc:
        lines = str(exc).strip().splitlines()
        raise damaged(path, lines[-1] if lines else type(exc).__name__) from None
    expected = faiss.IndexHNSWFlat if kind == "hnsw" else faiss.IndexIVFPQ
    if not isinstance(index, expected):
        raise damaged(path, f"a {type(index).__name__}, not the {expected.__name__} of a {kind} index")
    return index


def advise_random(array: np.ndarray) -> None:
    """Tell the kernel that a memory-mapped ``array`` is read at random rows (``MADV_RANDOM``), so a
    page fault reads that page, not 128 KB around it: IVF-PQ re-scoring at 1M vectors otherwise pulled
    the whole 1.5 GB file into memory within 230 queries. No-op for an in-memory array."""
    import mmap

    handle = getattr(array, "_mmap", None)
    if handle is not None and hasattr(mmap, "MADV_RANDOM"):
        handle.madvise(mmap.MADV_RANDOM)


def read_rows(array: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Rows ``rows`` (int64 (m,), ascending) of a 2-D ``array`` as a new float32 array (m, dim).

    For a memory-mapped ``.npy`` (a C-ordered :class:`numpy.memmap` over its whole file, as
    :func:`serendip.retrieval.index_files.load_npy` opens it) the rows are read with ``os.preadv`` into
    process memory, one call per run of consecutive rows: nothing of the file is mapped. Indexing the
    map instead maps whole page-cache folios around each row (kernels with large folios ignore
    ``MADV_RANDOM`` for pages already cached): at 1M vectors, re-scoring 1,100 candidates mapped 640 MB
    of a 1.5 GB file, now 1.6 MB is read. Any other array is indexed as usual.

    Raises
    ------
    IndexDamaged
        The file ends before a row (cut short since it was mapped).
    """
    import mmap

    rows = np.asarray(rows, dtype=np.int64)
    if not (isinstance(array, np.memmap) and isinstance(array.base, mmap.mmap) and array.filename
            and array.flags.c_contiguous and array.ndim == 2):
        return np.asarray(array[rows], dtype=np.float32)
    out = np.empty((rows.size, array.shape[1]), dtype=array.dtype)
    row_bytes = array.shape[1] * array.dtype.itemsize
    view = memoryview(out).cast("B")
    breaks = np.flatnonzero(np.diff(rows) != 1) + 1  # runs of consecutive rows: one read each
    starts, ends = np.concatenate([[0], breaks]), np.concatenate([breaks, [rows.size]])
    fd = os.open(array.filename, os.O_RDONLY)
    try:
        for a, b in zip(starts.tolist(), ends.tolist()):
            want = (b - a) * row_bytes
            got = os.preadv(fd, [view[a * row_bytes:b * row_bytes]], array.offset + int(rows[a]) * row_bytes)
            if got != want:
                raise damaged(array.filename, f"cut short: rows {int(rows[a])}..{int(rows[b - 1])} could not be read")
    finally:
        os.close(fd)
    return out.astype(np.float32, copy=False)


def link_or_copy(src: str | Path, dest: str | Path) -> None:
    """Put the bytes of ``src`` at ``dest``: a hard link (instant; the inode outlives the old folder's
    removal), or a copy where links are refused (another file system)."""
    import os
    import shutil

    try:
        os.link(src, dest)
    except OSError:
        shutil.copyfile(src, dest)


def writable(index, path: str | Path | None, kind: str):
    """``index`` itself, or, when it was memory-mapped from ``path``, a copy read whole (it can grow)."""
    return index if path is None else read(path, kind, mmap=False)


def search(index, kind: str, qvecs: np.ndarray, k: int, embeddings: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Top-``k`` rows per query: (cosines float32 (q, k), row indices int64 (q, k), -1 where fewer).

    HNSW returns exact inner products as they are; IVF-PQ candidates are re-scored from
    ``embeddings`` (their rows only, :func:`read_rows`).
    """
    if kind == "hnsw":
        index.hnsw.efSearch = HNSW_EF_SEARCH
        return index.search(qvecs, k)
    index.nprobe = IVF_NPROBE
    n_cand = min(index.ntotal, k + RERANK_EXTRA)
    _, cand = index.search(qvecs, n_cand)
    sims = np.full((qvecs.shape[0], k), -np.inf, dtype=np.float32)
    idx = np.full((qvecs.shape[0], k), -1, dtype=np.int64)
    for row, (q, c) in enumerate(zip(qvecs, cand)):
        c = c[c >= 0]
        if c.size == 0:
            continue
        order = np.sort(c)  # ascending rows: sequential reads of a memory-mapped file
        scores = read_rows(embeddings, order) @ q
        top = np.lexsort((order, -scores))[:k]
        sims[row, :top.size] = scores[top]
        idx[row, :top.size] = order[top]
    return sims, idx
