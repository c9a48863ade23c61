"""The passage index of a workspace: every record's passages (:mod:`serendip.evidence.passages`) as
offsets, stored beside the record indexes and brought up to date incrementally.

Layout of ``indexes/passages/`` (written whole through
:func:`serendip.retrieval.index_files.replace_folder`, with its ``manifest.json``; ``.npy`` parts are
memory-mapped on load, never unpickled):

- ``record_ids.npy`` int64 of shape (m,): the records, ascending;
- ``offsets.npy`` int64 of shape (m + 1,): record i owns passage rows ``offsets[i]:offsets[i + 1]``
  (none for a record without text);
- ``digests.npy`` uint8 of shape (m, 16): the first 16 bytes of SHA-256 of the record's title and
  abstract as split, so a record changed in place is split again;
- ``spans.npy`` int32 of shape (n, 3): per passage ``(field, start, end)``: field 0 the title, 1 the
  abstract, and character offsets (code points) into it; a passage's number is its row minus its
  record's first row;
- ``meta.json``: ``format``, the splitter and its version, counts.

An update (:func:`build_passages`) reads every record, keeps the spans of records whose digest is
unchanged, splits the new and changed ones and drops the deleted ones; a record the splitter fails on
is skipped and reported (the others are kept), and tried again by the next update. A change of
splitter version splits everything again.
"""
from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from serendip.errors import DataError, IndexDamaged, IndexNotBuilt
from serendip.evidence.passages import Passage, split_record, splitter_name
from serendip.retrieval.index_files import REBUILD_HINT

if TYPE_CHECKING:  # pragma: no cover
    from serendip.workbench import Workspace

__all__ = ["FOLDER", "PassageIndex", "PassageReport", "build_passages", "record_digest", "update_passages"]

#: the folder under the workspace's ``indexes/``
FOLDER = "passages"
_FORMAT = 1
_PARTS = ("record_ids.npy", "offsets.npy", "digests.npy", "spans.npy")
_REBUILD_PASSAGES = "run `serendip index --passages --rebuild`"


def record_digest(title: str | None, abstract: str | None) -> bytes:
    """16 bytes: the start of SHA-256 of ``title``, a unit separator and ``abstract`` (UTF-8)."""
    return hashlib.sha256(f"{title or ''}\x1f{abstract or ''}".encode()).digest()[:16]


@dataclass
class PassageReport:
    """What :func:`build_passages` did: records and passages in the index, records split by this run
    (new or changed), records whose passages were kept, records removed (deleted from the
    workspace), records skipped (``"record ID: why"``), wall time in seconds."""

    records: int
    passages: int
    split: int
    kept: int
    removed: int
    failed: list[str] = field(default_factory=list)
    seconds: float = 0.0


class PassageIndex:
    """The passage index, loaded (arrays memory-mapped). Build with :func:`build_passages`.

    Attributes
    ----------
    record_ids : ndarray of shape (m,), int64
    offsets : ndarray of shape (m + 1,), int64
    digests : ndarray of shape (m, 16), uint8
    spans : ndarray of shape (n, 3), int32
    meta : dict
    """

    def __init__(self, record_ids, offsets, digests, spans, meta: dict):
        self.record_ids, self.offsets, self.digests, self.spans, self.meta = (
            record_ids, offsets, digests, spans, meta)

    def __len__(self) -> int:
        return int(self.spans.shape[0])

    @classmethod
    def load(cls, folder: str | Path) -> PassageIndex:
        """The index in ``folder`` (``indexes/passages``).

        Raises
        ------
        IndexNotBuilt
            No passage index there.
        IndexDamaged
            A part is missing, cut short or of the wrong shape (names the file).
        DataError
            An index written in an unknown format.
        """
        try:
            return cls._load(Path(folder))
        except IndexDamaged as exc:  # rebuilt by `index --passages --rebuild`, not `index --rebuild` alone
            raise IndexDamaged(str(exc).replace(REBUILD_HINT, _REBUILD_PASSAGES)) from None

    @classmethod
    def _load(cls, folder: Path) -> PassageIndex:
        from serendip.retrieval.index_files import damaged, load_index_meta, load_npy

        meta = load_index_meta(folder, "meta.json", kind="passage", required_key="splitter", fmt=_FORMAT,
                               not_built=f"no passage index in {folder}: run `serendip index --passages`")
        ids, offsets, digests, spans = (load_npy(folder / name) for name in _PARTS)
        m = ids.shape[0]
        if offsets.shape != (m + 1,) or digests.shape != (m, 16) or spans.ndim != 2 or spans.shape[1] != 3:
            raise damaged(folder / "offsets.npy", f"shapes {offsets.shape}, {digests.shape}, {spans.shape} "
                                                  f"do not fit {m} records")
        if int(offsets[-1]) != spans.shape[0]:
            raise damaged(folder / "spans.npy", f"{spans.shape[0]} rows, the offsets name {int(offsets[-1])}")
        return cls(ids, offsets, digests, spans, meta)

    def _row(self, record_id: int) -> int | None:
        i = int(np.searchsorted(self.record_ids, record_id))
        return i if i < len(self.record_ids) and int(self.record_ids[i]) == record_id else None

    def __contains__(self, record_id: object) -> bool:
        return isinstance(record_id, (int, np.integer)) and self._row(int(record_id)) is not None

    def spans_of(self, record_id: int) -> np.ndarray:
        """``(field, start, end)`` rows of the record's passages: int32 of shape (p, 3).

        Raises
        ------
        DataError
            The record is not in the index (ingested after the last ``serendip index --passages``).
        """
        i = self._row(int(record_id))
        if i is None:
            raise DataError(f"record {record_id} is not in the passage index: run `serendip index --passages`")
        return np.asarray(self.spans[int(self.offsets[i]):int(self.offsets[i + 1])])

    def passages(self, record_id: int, title: str | None, abstract: str | None) -> list[Passage]:
        """The record's passages with their text, cut from ``title`` and ``abstract`` as stored.

        Raises
        ------
        DataError
            The record is not in the index, or its text changed since it was indexed (the digest
            differs: run ``serendip index --passages``).
        """
        i = self._row(int(record_id))
        if i is None or bytes(self.digests[i]) != record_digest(title, abstract):
            why = "is not in" if i is None else "changed since it was added to"
            raise DataError(f"record {record_id} {why} the passage index: run `serendip index --passages`")
        texts = (title or "", abstract or "")
        return [Passage(n, int(f), int(s), int(e), texts[int(f)][int(s):int(e)])
                for n, (f, s, e) in enumerate(self.spans_of(record_id))]


def _previous(folder: Path) -> PassageIndex | None:
    """The index to extend, or None (none yet, or split with another splitter version)."""
    try:
        old = PassageIndex.load(folder)
    except IndexNotBuilt:
        return None
    return old if old.meta.get("splitter") == splitter_name() else None


def build_passages(ws: Workspace, rebuild: bool = False,
                   progress: Callable[[int], None] | None = None) -> PassageReport:
    """Bring ``ws``'s passage index up to date (the caller holds the index lock; see
    :func:`update_passages`).

    Parameters
    ----------
    ws : Workspace
    rebuild : bool, default False
        Split every record again.
    progress : callable, optional
        ``progress(n)`` after each ``n`` records read.

    Raises
    ------
    IndexDamaged
        The existing index is damaged (without ``rebuild``).
    """
    from serendip.retrieval.index_files import replace_folder

    t0 = time.perf_counter()
    folder = ws.index_dir / FOLDER
    old = None if rebuild else _previous(folder)
    old_rows = {int(r): i for i, r in enumerate(old.record_ids)} if old is not None else {}
    ids: list[int] = []
    digests: list[bytes] = []
    counts: list[int] = []
    chunks: list[np.ndarray] = []
    failed: list[str] = []
    split = kept = 0
    for n, (rid, rec) in enumerate(ws.records(), 1):
        if progress is not None and n % 1000 == 0:
            progress(1000)
        digest = record_digest(rec.title, rec.abstract)
        i = old_rows.get(int(rid))
        if i is not None and bytes(old.digests[i]) == digest:
            rows = np.asarray(old.spans[int(old.offsets[i]):int(old.offsets[i + 1])])
            kept += 1
        else:
            try:
                found = split_record(rec.title, rec.abstract, record=str(rid))
            except DataError as exc:
                failed.append(f"record {rid}: {exc}")
                continue
            rows = np.array([(p.field, p.start, p.end) for p in found], dtype=np.int32).reshape(-1, 3)
            split += 1
        ids.append(int(rid))
        digests.append(digest)
        counts.append(len(rows))
        chunks.append(rows)
    if progress is not None:
        progress(len(ids) % 1000)
    spans = np.concatenate(chunks, axis=0) if chunks else np.zeros((0, 3), dtype=np.int32)
    offsets = np.concatenate([[0], np.cumsum(counts, dtype=np.int64)]).astype(np.int64)
    removed = len(set(old_rows) - set(ids))
    meta = {"format": _FORMAT, "splitter": splitter_name(), "records": len(ids), "passages": int(len(spans)),
            "fields": ["title", "abstract"]}
    with replace_folder(folder) as tmp:
        np.save(tmp / "record_ids.npy", np.asarray(ids, dtype=np.int64))
        np.save(tmp / "offsets.npy", offsets)
        np.save(tmp / "digests.npy", np.frombuffer(b"".join(digests), dtype=np.uint8).reshape(-1, 16))
        np.save(tmp / "spans.npy", spans.astype(np.int32))
        (tmp / "meta.json").write_text(json.dumps(meta), encoding="utf-8")
    return PassageReport(len(ids), int(len(spans)), split, kept, removed, failed, time.perf_counter() - t0)


def update_passages(ws: Workspace, rebuild: bool = False,
                    progress: Callable[[int], None] | None = None, **lock: Any) -> PassageReport:
    """:func:`build_passages` under the workspace's index lock (``lock``: ``on_wait`` of
    :func:`serendip.workspace.locks.index_lock`).

    Raises
    ------
    WorkspaceReadOnly
        The workspace was opened without write access.
    """
    from serendip.workspace.locks import index_lock

    ws.store.require_writable("index passages")
    with index_lock(ws.path, **lock):
        return build_passages(ws, rebuild, progress)
