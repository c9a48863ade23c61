"""Building and checking a workspace's indexes: the work behind :meth:`serendip.workbench.Workspace.index`
(``serendip index``) and :meth:`~serendip.workbench.Workspace.verify_index` (``serendip index --verify``).

Layout (under the workspace's ``indexes/``): ``bm25/`` (bm25s arrays or a Tantivy index, + ids),
``dense/`` (embeddings.npy + ids.json + meta.json + no_text.json, and a FAISS file above 50,000
vectors), each with a ``manifest.json`` and replaced whole on every write
(:mod:`serendip.retrieval.index_files`); ``dense.partial/`` while an embedding run is under way or was
interrupted (:mod:`serendip.retrieval.dense_checkpoint`); ``changes.json``
(:data:`serendip.index_status.CHANGES_FILE`).

Memory: the build holds the record ids, not their text; BM25 and the dense index read each record's
text from the database a block of records at a time (:mod:`serendip.record_blocks`).
"""
from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from serendip.core.progress import CountingSequence, Steps, start_step
from serendip.errors import ConfigError, IndexNotBuilt
from serendip.index_status import CHANGES_FILE, IndexReport
from serendip.record_blocks import RecordBlocks, read_record_ids

if TYPE_CHECKING:  # pragma: no cover
    from serendip.retrieval.index_files import PartCheck
    from serendip.workbench import Workspace

__all__ = ["INDEX_FOLDERS", "build_indexes", "dense_encoder", "dense_incomplete", "dense_vectors", "has_index", "indexed_changes",
           "indexed_ids", "no_text_ids", "verify_indexes"]

#: the index parts (:data:`serendip.retrieval.modes.INDEX_PARTS`) -> their folder under ``indexes/``
INDEX_FOLDERS = {"bm25": "bm25", "dense": "dense"}


def has_index(folder: Path) -> bool:
    """Whether ``folder`` holds an index, whole or damaged (its description or its manifest)."""
    return any((folder / name).is_file() for name in ("meta.json", "serendip_bm25.json", "manifest.json"))


def indexed_changes(index_dir: Path) -> dict[str, int]:
    """The change counter the last index saw (``"changes"``) and the last dense update saw
    (``"dense"``), from :data:`CHANGES_FILE` (0 when absent).

    Raises
    ------
    IndexDamaged
        The file does not parse.
    """
    from serendip.retrieval.index_files import read_index_json

    path = index_dir / CHANGES_FILE
    seen = read_index_json(path) if path.exists() else {}
    return {"changes": int(seen.get("changes", 0)), "dense": int(seen.get("dense", seen.get("changes", 0)))}


def no_text_ids(dense_dir: Path) -> list[str]:
    """Ids of the records the dense index holds no vector for because they have no text
    (``no_text.json``; [] when absent).

    Raises
    ------
    IndexDamaged
        The file does not parse.
    """
    from serendip.retrieval.index_files import read_index_json

    path = dense_dir / "no_text.json"
    return [str(i) for i in read_index_json(path)] if path.exists() else []


def dense_vectors(dense_dir: Path) -> int:
    """The vectors the dense index in ``dense_dir`` holds (``n`` of its ``meta.json``); 0 when there is
    no dense index.

    Raises
    ------
    IndexDamaged
        The description does not parse or gives no count.
    """
    from serendip.retrieval.index_files import damaged, read_index_json

    meta_path = dense_dir / "meta.json"
    if not meta_path.is_file():
        return 0
    meta = read_index_json(meta_path)
    if not isinstance(meta, dict) or not isinstance(meta.get("n"), int):
        raise damaged(meta_path, "no vector count 'n'")
    return meta["n"]


def dense_encoder(dense_dir: Path) -> str | None:
    """The encoder the dense index in ``dense_dir`` was built with (its ``meta.json``; "torch" for an
    index older than the field), or None when there is none or its description does not parse (the
    build then reports the damage itself)."""
    from serendip.errors import IndexDamaged
    from serendip.retrieval.index_files import read_index_json

    meta_path = dense_dir / "meta.json"
    if not meta_path.is_file():
        return None
    try:
        meta = read_index_json(meta_path)
    except IndexDamaged:
        return None
    return str(meta.get("encoder", "torch")) if isinstance(meta, dict) else None


def dense_incomplete(index_dir: Path, count: Callable[[], int]) -> str | None:
    """Why there is no dense index when an interrupted ``serendip index`` left embeddings in
    ``dense.partial``: how many of the workspace's records (``count()``, asked only then) are
    embedded, and that ``serendip index`` resumes; None when there is no such folder, or it holds no
    complete shard."""
    from serendip.retrieval.dense_checkpoint import PARTIAL_NAME, partial_count

    partial = index_dir / PARTIAL_NAME
    done = partial_count(partial) if partial.is_dir() else 0
    if not done:
        return None
    return (f"it is incomplete: an interrupted `serendip index` embedded {done:,} of {count():,} records, "
            f"kept in {partial}; run `serendip index` to resume it")


def indexed_ids(ws: "Workspace", part: str) -> list:
    """The record ids the index part ``part`` of ``ws`` holds: BM25's (from memory when its searcher
    loaded it, else its ``ids.json``), or the dense index's with the records it holds no vector for
    (no text; [] when there is no dense index).

    Raises
    ------
    IndexNotBuilt
        No BM25 index.
    IndexDamaged
        The id list (or the dense index) is damaged.
    """
    from serendip.retrieval.index_files import read_index_json

    if part == "dense":
        dense = ws.searcher().dense
        return [*dense.ids, *no_text_ids(ws.index_dir / "dense")] if dense is not None else []
    searcher = ws._searcher
    if searcher is not None and searcher.bm25_loaded:
        return searcher.bm25.ids
    bdir = ws.index_dir / "bm25"
    if not (bdir / "ids.json").exists():
        raise IndexNotBuilt(f"no index in {ws.index_dir}: run `serendip index` first")
    return read_index_json(bdir / "ids.json")


def build_indexes(ws: "Workspace", dense: bool, progress: Callable[[int], None] | None,
                  on_total: Callable[[int], None] | None, rebuild: bool, encoder: str,
                  steps: Steps | None, notify: Callable[[str], None], runner=None) -> IndexReport:
    """:meth:`Workspace.index <serendip.workbench.Workspace.index>`, once the index lock is held;
    ``runner`` embeds the chunks elsewhere (:func:`serendip.retrieval.ray_embed.ray_chunk_runner`)."""
    from serendip.retrieval.bm25_backends import build_bm25
    from serendip.retrieval.index_files import atomic_write_text

    index_dir = ws.index_dir
    if rebuild and not dense:
        shutil.rmtree(index_dir / "dense", ignore_errors=True)
        shutil.rmtree(index_dir / "dense.partial", ignore_errors=True)
    t0 = time.perf_counter()
    # read before the records: a change made while indexing leaves the index stale, never hidden
    changes, seen = ws.store.changes(), indexed_changes(index_dir)
    # only the ids are held: BM25 and the dense index read the text a block of records at a time
    ids = read_record_ids(ws.engine, start_step(steps, "read records", ws.count()))
    if not ids:
        raise IndexNotBuilt("the workspace holds no records: run `serendip ingest PATH` first")
    source = RecordBlocks(ws.engine, ids)
    build_bm25(ids, CountingSequence(source.column("search_text"), start_step(steps, "BM25", len(ids))),
               ws.config.retrieval.bm25_backend, workdir=index_dir).save(index_dir / "bm25")
    added, resumed, total, skipped = 0, 0, 0, []
    if dense:
        revised = [str(i) for i in ws.store.revised_after(seen["dense"])] if changes > seen["dense"] else []
        added, resumed, total, skipped = _index_dense(ws, source, progress, on_total, rebuild, revised, encoder,
                                                      steps, notify, runner)
    if source.vanished:
        notify(f"{len(source.vanished):,} record(s) were deleted while the index was built (e.g. record "
               f"{min(source.vanished, key=int)}): the index is stale; run `serendip index` again")
    # the dense index's own count moves only when it was brought up to date (not with --no-dense)
    atomic_write_text(index_dir / CHANGES_FILE, json.dumps(
        {"changes": changes, "dense": changes if dense else seen["dense"]}))
    if not dense:  # not updated: the vectors already there (read last: a damaged one stops nothing above)
        total = dense_vectors(index_dir / "dense")
    return IndexReport(len(ids), len(ids), added, total, skipped, time.perf_counter() - t0,
                       dense_resumed=resumed)


def _open_dense(ws: "Workspace", ddir: Path, rebuild: bool, encoder: str):
    """The dense index to extend: the one on disk (its model and encoder checked against the run's),
    or a new, empty one (none yet, or ``rebuild``)."""
    from serendip.retrieval.dense import DenseIndex

    if not has_index(ddir) or rebuild:
        return DenseIndex(model=ws.config.retrieval.dense_model, encoder_name=encoder)
    dindex = DenseIndex.load(ddir)
    wanted = ws.config.retrieval.dense_model
    if dindex.model != wanted:
        raise ConfigError(
            f"the dense index in {ddir} was built with {dindex.model!r} but the config asks "
            f"for {wanted!r}; run `serendip index --rebuild` to re-embed every record with the new "
            f"model")
    if dindex.encoder_name != encoder:
        raise ConfigError(
            f"the dense index in {ddir} was built with the {dindex.encoder_name!r} encoder, not "
            f"{encoder!r}; vectors of two encoders are not mixed: run `serendip index --rebuild "
            f"--encoder {encoder}` to re-embed every record, or index with --encoder "
            f"{dindex.encoder_name}")
    return dindex


def _index_dense(ws: "Workspace", source: RecordBlocks, progress: Callable[[int], None] | None,
                 on_total: Callable[[int], None] | None, rebuild: bool, revised: list[str], encoder: str,
                 steps: Steps | None, notify: Callable[[str], None],
                 runner=None) -> tuple[int, int, int, list[str]]:
    """Embed the records of ``source`` not yet in the dense index, after dropping the vectors of
    deleted records and of ``revised`` ones (changed in place since the last index: embedded again),
    checkpointed in ``dense.partial`` and resumed from it. Titles and abstracts are read from
    ``source`` as the embedding goes (a block of records at a time); records deleted meanwhile
    (``source.vanished``) are not reported as records with no text.

    Returns (vectors embedded by this run, vectors resumed from an interrupted run's checkpoint,
    vectors in the index, records with no text).
    """
    import numpy as np

    from serendip.retrieval import dense_checkpoint as ckpt
    from serendip.retrieval.dense import TITLE_ABSTRACT_SEP

    ids = source.ids
    ddir = ws.index_dir / "dense"
    dindex = _open_dense(ws, ddir, rebuild, encoder)
    # records with nothing to embed are reported once, then remembered, not re-reported
    no_text = set(no_text_ids(ddir)) if not rebuild else set()
    stale = (set(dindex.ids) | no_text) - set(ids) | set(revised)  # deleted, or changed in place
    dindex.remove(sorted(stale))
    no_text -= stale
    present = set(dindex.ids) | no_text
    todo = np.fromiter((i for i, rid in enumerate(ids) if rid not in present), dtype=np.int64)
    checkpoint = ckpt.EmbeddingCheckpoint(ws.index_dir / ckpt.PARTIAL_NAME, notify=notify, key={
        "model": dindex.model, "encoder": dindex.encoder_name, "title_abstract_sep": TITLE_ABSTRACT_SEP})
    seen = [0]

    def _step(done: int, _total: int) -> None:
        if progress:
            progress(done - seen[0])
        seen[0] = done

    rep, resumed = ckpt.embed_resumable(dindex, [ids[i] for i in todo], source.column("title", todo),
                                        source.column("abstract", todo), checkpoint, progress=_step,
                                        on_total=on_total, chunk_runner=runner)
    skipped = [i for i in rep.no_text if i not in source.vanished]
    if dindex.backend != "exact":  # the ANN structure, built or extended under its own bar
        done = start_step(steps, f"{dindex.backend} index", len(dindex))
        dindex.ann_index()
        done(len(dindex))
    dindex.save(ddir, extra_json={"no_text.json": sorted(no_text | set(skipped), key=int)})
    checkpoint.discard()  # the finished index is in place
    return len(rep.added) - resumed, resumed, len(dindex.ids), skipped


def verify_indexes(index_dir: Path, record_times: bool = False) -> dict[str, list["PartCheck"]]:
    """The whole-file check of every index part (:func:`serendip.retrieval.index_files.verify_folder`):
    index part name ("bm25", "dense") -> one :class:`PartCheck` per file, for the parts built.

    Raises
    ------
    IndexNotBuilt
        No index has been built.
    """
    from serendip.retrieval.index_files import verify_folder

    found = {part: verify_folder(index_dir / name, record_times=record_times)
             for part, name in INDEX_FOLDERS.items() if has_index(index_dir / name)}
    if not found:
        raise IndexNotBuilt(f"no index in {index_dir}: run `serendip index` first")
    return found
