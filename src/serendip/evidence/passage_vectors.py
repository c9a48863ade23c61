"""Stored embeddings of every passage, so that ``serendip ask`` scores the passages of its top records
without embedding them (``serendip index --passage-vectors``).

``ask`` spends most of its time embedding the ~100 sentences of its top-10 records: measured on SciFact
(2 shared cores, ONNX encoder) 0.8-1.6 s of a 0.9-1.6 s answer, against 7-19 ms for the search. This
index holds, per record of the passage index (:mod:`serendip.evidence.passage_index`), its passages'
spans and their vectors by the workspace's dense encoder, keyed by the record's text digest, so a
record edited since is embedded on the fly again, never answered from a stale vector.

Layout of ``indexes/passage_vectors/`` (written whole through
:func:`serendip.retrieval.index_files.replace_folder`; ``.npy`` parts memory-mapped on load):

- ``record_ids.npy`` int64 (m,), ascending; ``offsets.npy`` int64 (m + 1,); ``digests.npy`` uint8
  (m, 16) (:func:`~serendip.evidence.passage_index.record_digest`);
- ``spans.npy`` int32 (n, 3): ``(field, start, end)`` as in the passage index;
- ``vectors.npy`` float32 (n, dim), L2-normalised (written row by row: :mod:`serendip.retrieval.dense_spill`);
- ``meta.json``: the dense model and encoder, the splitter, counts.

An update keeps the vectors of records whose digest, model and encoder are unchanged and embeds the
rest; the vectors equal what ``ask`` computes on the fly (the same encoder on the same texts; test).
"""
from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from serendip.errors import DataError, IndexDamaged, IndexNotBuilt
from serendip.evidence.passages import Passage

if TYPE_CHECKING:  # pragma: no cover
    from serendip.workbench import Workspace

__all__ = ["FOLDER", "PassageVectorReport", "PassageVectors", "build_passage_vectors"]

FOLDER = "passage_vectors"
_FORMAT = 1
_PARTS = ("record_ids.npy", "offsets.npy", "digests.npy", "spans.npy", "vectors.npy")
#: passages embedded per encoder call
_BATCH = 256


@dataclass
class PassageVectorReport:
    """What :func:`build_passage_vectors` did: records and passages stored, records embedded now,
    records whose vectors were kept, passages embedded now, wall seconds."""

    records: int
    passages: int
    embedded_records: int
    kept_records: int
    embedded_passages: int
    seconds: float


class PassageVectors:
    """The stored passages and vectors (see the module docstring); :meth:`lookup` gives a record's."""

    def __init__(self, record_ids, offsets, digests, spans, vectors, meta: dict):
        self.record_ids, self.offsets, self.digests = record_ids, offsets, digests
        self.spans, self.vectors, self.meta = spans, vectors, meta

    @classmethod
    def load(cls, folder: str | Path) -> PassageVectors:
        """Raises IndexNotBuilt (none in ``folder``), IndexDamaged (a part missing, cut or of the wrong
        shape, named) or DataError (an unknown format)."""
        from serendip.retrieval.index_files import damaged, load_index_meta, load_npy

        folder = Path(folder)
        meta = load_index_meta(folder, "meta.json", kind="passage vectors", required_key="model", fmt=_FORMAT,
                               not_built=f"no passage vectors in {folder}: run `serendip index --passage-vectors`")
        ids, offsets, digests, spans, vectors = (load_npy(folder / name) for name in _PARTS)
        m, n = ids.shape[0], spans.shape[0] if spans.ndim == 2 else -1
        if (offsets.shape != (m + 1,) or digests.shape != (m, 16) or spans.ndim != 2 or spans.shape[1] != 3
                or int(offsets[-1]) != n or vectors.ndim != 2 or vectors.shape[0] != n):
            raise damaged(folder / "vectors.npy", f"shapes {offsets.shape}, {digests.shape}, {spans.shape}, "
                                                   f"{vectors.shape} do not fit {m} records")
        return cls(ids, offsets, digests, spans, vectors, meta)

    def matches(self, model: str, encoder: str) -> bool:
        """Whether the vectors were made by this dense model and encoder (else they are not used)."""
        return self.meta.get("model") == model and self.meta.get("encoder") == encoder

    def lookup(self, record_id: int, digest: bytes) -> tuple[np.ndarray, np.ndarray] | None:
        """The record's spans (int32 (p, 3)) and vectors (float32 (p, dim)), or None when the record is
        not stored or its text changed since (``digest`` differs)."""
        i = int(np.searchsorted(self.record_ids, record_id))
        if i >= len(self.record_ids) or int(self.record_ids[i]) != record_id or bytes(self.digests[i]) != digest:
            return None
        lo, hi = int(self.offsets[i]), int(self.offsets[i + 1])
        return np.asarray(self.spans[lo:hi]), np.asarray(self.vectors[lo:hi], dtype=np.float32)


def stored_passages(spans: np.ndarray, title: str | None, abstract: str | None) -> list[Passage]:
    """Passages (numbered from 0) cut from ``title``/``abstract`` by stored ``(field, start, end)`` rows."""
    texts = (title or "", abstract or "")
    return [Passage(n, int(f), int(s), int(e), texts[int(f)][int(s):int(e)]) for n, (f, s, e) in enumerate(spans)]


def _previous(folder: Path, model: str, encoder: str, splitter: str) -> PassageVectors | None:
    try:
        old = PassageVectors.load(folder)
    except (IndexNotBuilt, IndexDamaged, DataError):
        return None
    return old if old.matches(model, encoder) and old.meta.get("splitter") == splitter else None


def build_passage_vectors(ws: Workspace, rebuild: bool = False,
                          progress: Callable[[int], None] | None = None) -> PassageVectorReport:
    """Embed the passages of every record of the passage index with the dense index's encoder, keeping
    the vectors of unchanged records (the caller holds the index lock: ``Workspace.index``).

    Raises
    ------
    IndexNotBuilt
        No passage index or no dense index.
    """
    from serendip.evidence.passage_index import FOLDER as PASSAGES
    from serendip.evidence.passage_index import PassageIndex
    from serendip.retrieval.dense_spill import SpillRows
    from serendip.retrieval.index_files import replace_folder

    t0 = time.perf_counter()
    pindex = PassageIndex.load(ws.index_dir / PASSAGES)
    dense = ws.searcher().dense
    if dense is None:
        raise IndexNotBuilt("passage vectors need the dense index: run `serendip index` without --no-dense")
    folder = ws.index_dir / FOLDER
    splitter = pindex.meta.get("splitter")
    old = None if rebuild else _previous(folder, dense.model, dense.encoder_name, splitter)
    ids = [int(r) for r in pindex.record_ids]
    n = int(pindex.offsets[-1])
    kept = embedded = embedded_passages = 0
    with replace_folder(folder) as tmp:
        rows = SpillRows(tmp / "vectors.npy", n, dense.dim)
        todo: list[int] = []  # positions in ids whose passages are embedded below
        for i, rid in enumerate(ids):
            lo, hi = int(pindex.offsets[i]), int(pindex.offsets[i + 1])
            got = old.lookup(rid, bytes(pindex.digests[i])) if old is not None and hi > lo else None
            if got is not None and len(got[0]) == hi - lo and np.array_equal(got[0], pindex.spans[lo:hi]):
                rows[np.arange(lo, hi)] = got[1]
                kept += 1
            elif hi > lo:
                todo.append(i)
        for start in range(0, len(todo), 64):
            part = todo[start:start + 64]
            texts = dict(ws.records([ids[i] for i in part]))
            batch_rows, batch_texts = [], []
            for i in part:
                rec = texts.get(ids[i])
                lo, hi = int(pindex.offsets[i]), int(pindex.offsets[i + 1])
                title, abstract = (rec.title, rec.abstract) if rec is not None else (None, None)
                if rec is None or bytes(pindex.digests[i]) != _digest(title, abstract):
                    raise DataError(f"record {ids[i]} changed since the passage index was built: run "
                                    f"`serendip index --passages` first")
                batch_rows.extend(range(lo, hi))
                batch_texts.extend(p.text for p in stored_passages(pindex.spans[lo:hi], title, abstract))
            for b in range(0, len(batch_texts), _BATCH):
                rows[np.asarray(batch_rows[b:b + _BATCH])] = dense.encode_documents(batch_texts[b:b + _BATCH])
            embedded += len(part)
            embedded_passages += len(batch_texts)
            if progress is not None:
                progress(len(part))
        rows.finish()
        np.save(tmp / "record_ids.npy", np.asarray(pindex.record_ids, dtype=np.int64))
        np.save(tmp / "offsets.npy", np.asarray(pindex.offsets, dtype=np.int64))
        np.save(tmp / "digests.npy", np.asarray(pindex.digests, dtype=np.uint8))
        np.save(tmp / "spans.npy", np.asarray(pindex.spans, dtype=np.int32))
        meta = {"format": _FORMAT, "model": dense.model, "encoder": dense.encoder_name, "splitter": splitter,
                "dim": dense.dim, "records": len(ids), "passages": n}
        (tmp / "meta.json").write_text(json.dumps(meta), encoding="utf-8")
    return PassageVectorReport(len(ids), n, embedded, kept, embedded_passages, time.perf_counter() - t0)


def _digest(title, abstract) -> bytes:
    from serendip.evidence.passage_index import record_digest

    return record_digest(title, abstract)
