"""Checkpoints of the dense embedding, so that ``serendip index`` killed part-way resumes where it stopped.

While :meth:`DenseIndex.add <serendip.retrieval.dense.DenseIndex.add>` embeds, the vectors it has computed
go to ``indexes/dense.partial/`` in shards: ``shard-NNNNNN.json`` (the ids and a hash of each id's
embedded text) then ``shard-NNNNNN.npy`` (float32, (m, dim), the rows in that order), each written
through a temporary file, fsynced and renamed, the ``.npy`` last: a shard without its ``.npy`` was cut
short and is ignored. A shard is written once :data:`CHECKPOINT_RECORDS` vectors wait or
:data:`CHECKPOINT_S` seconds passed since the last one (checked after each encoder chunk of 512 texts),
and when the embedding stops on an exception (Ctrl-C, SIGTERM through ``SystemExit``); a SIGKILL loses at
most the vectors not yet in a shard.

The next run reads the shards first (:func:`embed_resumable`) and embeds only the records that no shard
holds with the same text (a record edited since is embedded again; a deleted one is not used); the
final index is then saved as before (folder replaced whole) and the partial folder removed. The folder's
``key.json`` records the model, the encoder and the text rule: shards written under another one are
discarded, with a message, never mixed. Searches never read this folder. ``serendip index`` holds the
workspace's index lock (:func:`serendip.workspace.locks.index_lock`), so two runs never write it at once.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
import secrets
import shutil
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from serendip.retrieval.index_files import atomic_write_text

__all__ = ["CHECKPOINT_RECORDS", "CHECKPOINT_S", "PARTIAL_NAME", "SPILL_NAME", "EmbeddingCheckpoint", "embed_resumable",
           "partial_count", "text_hash"]

#: the partial folder, beside the dense index folder
PARTIAL_NAME = "dense.partial"
#: in the partial folder: the vectors of a large fresh index as they are computed
#: (:mod:`serendip.retrieval.dense_spill`; not a shard, never resumed from)
SPILL_NAME = "embeddings-spill.npy"
#: a shard is written once this many vectors wait ...
CHECKPOINT_RECORDS = 10_000
#: ... or this many seconds passed since the last shard (at the end of an encoder chunk)
CHECKPOINT_S = 10.0
_FORMAT = 1

Notify = Callable[[str], None]


class ShardRow:
    """Row ``row`` of a shard's memory-mapped vectors, read (``os.pread``, nothing mapped:
    :func:`serendip.retrieval.vector_search.read_rows`) when numpy asks for it (``np.asarray(row)``):
    resuming 10^6 vectors then holds no shard in memory, mapped or copied."""

    __slots__ = ("shard", "row")

    def __init__(self, shard: np.ndarray, row: int):
        self.shard, self.row = shard, row

    def __len__(self) -> int:
        return int(self.shard.shape[1])

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        from serendip.retrieval.vector_search import read_rows

        vec = read_rows(self.shard, np.array([self.row]))[0]
        return vec if dtype is None else vec.astype(dtype, copy=False)


def text_hash(text: str) -> str:
    """A short hash of the text embedded for a record (16 hex digits of BLAKE2b)."""
    return hashlib.blake2b(text.encode("utf-8"), digest_size=8).hexdigest()


def partial_count(folder: str | Path) -> int:
    """Vectors held by the complete shards of a partial folder (0 when there is none), read from the
    shards' ``.npy`` headers only (cheap at any size); unreadable shards count 0."""
    total = 0
    for npy in Path(folder).glob("shard-*.npy"):
        try:
            total += int(np.load(npy, mmap_mode="r", allow_pickle=False).shape[0])
        except (OSError, ValueError, EOFError, IndexError):
            continue
    return total


def _describe(key: dict | None) -> str:
    if not isinstance(key, dict):
        return "an unreadable description"
    return (f"model {key.get('model')!r}, encoder {key.get('encoder')!r}, "
            f"text separator {key.get('title_abstract_sep')!r}")


class EmbeddingCheckpoint:
    """The shards of one embedding run in ``folder`` (``indexes/dense.partial``).

    Parameters
    ----------
    folder : path
        The partial folder; created with the first shard.
    key : dict
        What the vectors depend on (``model``, ``encoder``, ``title_abstract_sep``); shards written
        under another key are discarded by :meth:`resume`.
    notify : callable, optional
        Told one sentence when shards are discarded or skipped.
    """

    def __init__(self, folder: str | Path, key: dict, notify: Notify | None = None):
        self.folder = Path(folder)
        self.key = {"format": _FORMAT, **key}
        self.notify = notify or (lambda _msg: None)
        self._ids: list[str] = []
        self._hashes: list[str] = []
        self._rows: list[np.ndarray] = []
        self._last = time.monotonic()
        self._next = 0

    def resume(self) -> dict[str, tuple[str, "ShardRow"]]:
        """The vectors of earlier shards: id -> (text hash, :class:`ShardRow`: a float32 vector of shape
        (dim,) read from its shard when used).

        A folder written under another key is removed (and said); a shard that cannot be read, or whose
        parts disagree, is skipped (and said).
        """
        if not self.folder.is_dir():
            return {}
        try:
            stored = json.loads((self.folder / "key.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            stored = None
        if stored is None and not any(self.folder.glob("shard-*.npy")):  # cut before its first shard
            self.discard()
            return {}
        if stored != self.key:
            self.notify(f"discarded the partial embeddings in {self.folder}: they were computed with "
                        f"{_describe(stored)}, this run uses {_describe(self.key)}")
            self.discard()
            return {}
        found: dict[str, tuple[str, np.ndarray]] = {}
        dim = None
        for npy in sorted(self.folder.glob("shard-*.npy")):
            try:
                part = json.loads(npy.with_suffix(".json").read_text(encoding="utf-8"))
                ids, hashes = part["ids"], part["text_hash"]
                vecs = np.load(npy, mmap_mode="r", allow_pickle=False)
                whole = (vecs.ndim == 2 and vecs.dtype == np.float32 and vecs.shape[0] == len(ids) == len(hashes)
                         and dim in (None, vecs.shape[1]))
            except (OSError, ValueError, KeyError, TypeError):
                whole = False
            if not whole:
                self.notify(f"skipped the damaged embedding shard {npy}; its records are embedded again")
                continue
            dim = vecs.shape[1]
            found.update((str(i), (str(h), ShardRow(vecs, r))) for r, (i, h) in enumerate(zip(ids, hashes)))
            self._next = max(self._next, int(npy.stem.split("-")[1]) + 1)
        return found

    def add(self, ids: Sequence[str], hashes: Sequence[str], vectors: np.ndarray) -> None:
        """Keep freshly embedded rows; write a shard when enough wait or enough time passed."""
        self._ids.extend(ids)
        self._hashes.extend(hashes)
        self._rows.append(np.asarray(vectors, dtype=np.float32))
        if len(self._ids) >= CHECKPOINT_RECORDS or time.monotonic() - self._last >= CHECKPOINT_S:
            self.flush()

    def flush(self) -> None:
        """Write the waiting rows as one shard (ids first, the array last, each atomically)."""
        if not self._ids:
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        if not (self.folder / "key.json").exists():
            atomic_write_text(self.folder / "key.json", json.dumps(self.key))
        name = f"shard-{self._next:06d}"
        atomic_write_text(self.folder / f"{name}.json",
                          json.dumps({"ids": self._ids, "text_hash": self._hashes}, ensure_ascii=False))
        tmp = self.folder / f".{name}.npy.tmp-{os.getpid()}-{secrets.token_hex(4)}"
        try:
            with open(tmp, "wb") as fh:
                np.save(fh, np.vstack(self._rows), allow_pickle=False)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.folder / f"{name}.npy")
        finally:
            tmp.unlink(missing_ok=True)
        fd = os.open(self.folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        self._next += 1
        self._ids, self._hashes, self._rows = [], [], []
        self._last = time.monotonic()

    def discard(self) -> None:
        """Remove the partial folder (after the finished index is in place, or for another key)."""
        shutil.rmtree(self.folder, ignore_errors=True)


def embed_resumable(dindex, ids: Sequence[str], titles: Sequence[str | None],
                    abstracts: Sequence[str | None], checkpoint: EmbeddingCheckpoint,
                    progress: Callable[[int, int], None] | None = None,
                    on_total: Callable[[int], None] | None = None, chunk_runner=None):
    """Add the records to ``dindex`` (:meth:`DenseIndex.add`), reusing the vectors ``checkpoint`` holds for
    the same id and text and writing the new ones to it as they come.

    ``on_total`` is told how many records are embedded now (those not resumed); ``progress(done,
    total)`` counts them; ``chunk_runner`` embeds elsewhere (see :meth:`DenseIndex.add`). Returns
    ``(AddReport, number of vectors resumed)``; on an exception the rows
    computed so far are written as a shard before it propagates. The sequences are read in order, here
    once (the text hashes) and then by :meth:`DenseIndex.add`; they may be lazy
    (:class:`serendip.record_blocks.BlockColumn`).
    """
    from serendip.retrieval.dense import doc_text

    hashes: dict[str, str] = {}
    for doc_id, title, abstract in zip(ids, titles, abstracts):
        text = doc_text(title, abstract)
        if text is not None:
            hashes[str(doc_id)] = text_hash(text)
    earlier = checkpoint.resume()
    known = {i: vec for i, (h, vec) in earlier.items() if hashes.get(i) == h and i not in dindex}
    if known:
        checkpoint.notify(f"resuming an interrupted index: {len(known):,} vector(s) read back from "
                          f"{checkpoint.folder}")
    if on_total:
        on_total(sum(1 for i in hashes if i not in known and i not in dindex))
    try:  # "" (no hash: the text gained since read above, from a lazy source) never matches on resume
        report = dindex.add(ids, titles, abstracts, progress=progress, known=known, chunk_runner=chunk_runner,
                            on_chunk=lambda got, vecs: checkpoint.add(got, [hashes.get(i, "") for i in got], vecs),
                            spill=checkpoint.folder / SPILL_NAME)
    except BaseException:
        with contextlib.suppress(Exception):
            checkpoint.flush()
        raise
    return report, len(known)
