"""Vectors of a large new dense index written to a file as they are computed, not held in memory.

A fresh embedding of 10^6 records holds a float32 (n, 384) array of 1.5 GB until the index is saved
(measured by ``benchmarks/scale.py``). :class:`SpillRows` takes the rows instead and writes each with
``os.pwrite`` into an ``.npy`` file (header by :mod:`numpy.lib.format`, rows in place), mapping nothing;
:meth:`SpillRows.finish` opens the file memory-mapped read-only
(:func:`serendip.retrieval.index_files.load_npy`), and :meth:`DenseIndex.save
<serendip.retrieval.dense.DenseIndex.save>` links it into the index folder instead of writing the
array again. The ANN structure reads it through :func:`serendip.retrieval.vector_search.read_rows`.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

__all__ = ["SPILL_MIN_ROWS", "SpillRows"]

#: a fresh index of at least this many new vectors spills them to a file (384 dims: 74 MB)
SPILL_MIN_ROWS = 50_000


class SpillRows:
    """A float32 array of shape ``(n, dim)`` backed by the ``.npy`` file ``path`` (created, replacing
    any file there), written through ``rows[j] = vector`` or ``rows[index_array] = matrix``.

    Rows never written read back as zeros (the file is sparse until written). Raises OSError when the
    file cannot be created or written.
    """

    def __init__(self, path: str | Path, n: int, dim: int):
        self.path = Path(path)
        self.shape = (int(n), int(dim))
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "wb") as fh:
            np.lib.format.write_array_header_1_0(
                fh, {"descr": np.lib.format.dtype_to_descr(np.dtype(np.float32)), "fortran_order": False,
                     "shape": self.shape})
            self._offset = fh.tell()
            fh.truncate(self._offset + self.shape[0] * self.shape[1] * 4)
        self._fd = os.open(self.path, os.O_WRONLY)

    def __setitem__(self, rows, values) -> None:
        values = np.ascontiguousarray(values, dtype=np.float32).reshape(-1, self.shape[1])
        rows = np.atleast_1d(np.asarray(rows, dtype=np.int64))
        if rows.size != values.shape[0]:
            raise ValueError(f"{rows.size} rows but {values.shape[0]} vectors")
        row_bytes = self.shape[1] * 4
        breaks = np.flatnonzero(np.diff(rows) != 1) + 1  # runs of consecutive rows: one write each
        for a, b in zip(np.concatenate([[0], breaks]).tolist(), np.concatenate([breaks, [rows.size]]).tolist()):
            data = memoryview(values[a:b]).cast("B")
            pos = self._offset + int(rows[a]) * row_bytes
            while data:
                done = os.pwrite(self._fd, data, pos)
                data, pos = data[done:], pos + done

    def finish(self) -> np.ndarray:
        """Close the file and open it memory-mapped read-only: float32 (n, dim)."""
        from serendip.retrieval.index_files import load_npy

        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
        return load_npy(self.path)

    def discard(self) -> None:
        """Close and remove the file (the embedding stopped)."""
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
        self.path.unlink(missing_ok=True)
