"""The :class:`Workspace` façade: the Python API that the ``serendip`` CLI wraps.

It sits above the layers it drives and calls only down into them: the storage layer
(:mod:`serendip.workspace`: folder, config, database), the literature layer (:mod:`serendip.literature`:
readers, ingest) and the retrieval layer (:mod:`serendip.retrieval`: indexes, modes, evaluation).
Layout of a workspace folder: see :mod:`serendip.workspace.store`; the indexes live in
``indexes/bm25/`` (bm25s arrays or a Tantivy index, + ids) and ``indexes/dense/`` (embeddings.npy +
ids.json + meta.json, and ivfpq.faiss above 50,000 vectors), each with a ``manifest.json`` and replaced
whole on every write (:mod:`serendip.retrieval.index_files`).
"""
from __future__ import annotations

import json
import logging
import shutil
import time
import warnings
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select

from serendip.core.progress import CountingSequence, Steps, start_step
from serendip.errors import ConfigError, IndexNotBuilt, StaleIndexWarning
from serendip.index_status import CHANGES_FILE, IndexReport, IndexStatus
from serendip.retrieval.modes import RETRIEVAL_MODES, mode_names
from serendip.workspace.config import CONFIG_NAME, WorkspaceConfig
from serendip.workspace.locks import index_lock
from serendip.workspace.schema import records
from serendip.workspace.store import WorkspaceStore

__all__ = ["Hit", "IndexReport", "IndexStatus", "Workspace"]

_log = logging.getLogger("serendip")

#: seconds a search trusts the last index-freshness check (records ingested by another process are
#: noticed at most this late)
STATUS_TTL_S = 0.25

_HIT_COLUMNS = (records.c.id, records.c.title, records.c.year, records.c.journal, records.c.pmid,
                records.c.doi, records.c.source_id)


@dataclass(slots=True)
class Hit:
    """One search result. ``score`` is the mode's score (BM25, cosine, or fused), higher is better."""

    rank: int
    record_id: int
    score: float
    title: str | None
    year: int | None
    journal: str | None
    pmid: str | None
    doi: str | None
    source_id: str | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _has_index(folder: Path) -> bool:
    """Whether ``folder`` holds an index, whole or damaged (its description or its manifest)."""
    return any((folder / name).is_file() for name in ("meta.json", "serendip_bm25.json", "manifest.json"))


class Workspace:
    """A Serendip workspace. Create with :meth:`init`, open with :meth:`open`.

    Raises :class:`WorkspaceError` when the folder is not a workspace or its database can't be used,
    :class:`ConfigError` when its config is invalid (e.g. an unregistered ``retrieval.default_mode``).
    """

    def __init__(self, store: WorkspaceStore):
        self.store = store
        self._searcher = None
        self._status: tuple[float, tuple | None, IndexStatus] | None = None  # (time, change token, status)

    @property
    def path(self) -> Path:
        return self.store.path

    @property
    def config(self) -> WorkspaceConfig:
        return self.store.config

    @property
    def engine(self) -> Engine:
        return self.store.engine

    # -- creation --------------------------------------------------------------------------------
    @classmethod
    def init(cls, path: str | Path | None = None, database: str | None = None) -> "Workspace":
        """Create (or re-open) a workspace at ``path`` (default:
        :func:`serendip.workspace.paths.default_workspace_path`) and migrate its database.

        ``database`` is a SQLAlchemy URL (e.g. ``postgresql+psycopg://user@127.0.0.1/db``); None keeps
        the embedded SQLite file ``serendip.db`` in the folder.
        """
        return cls(WorkspaceStore.create(path, database, mode_names()))

    @classmethod
    def open(cls, path: str | Path | None = None) -> "Workspace":
        """Open an existing workspace folder (default: the default workspace); its database is migrated
        only when its schema is behind. A folder this process cannot write opens read-only: search and
        evaluate work, ingest and index raise :class:`~serendip.errors.WorkspaceReadOnly`."""
        return cls(WorkspaceStore.open(path, mode_names()))

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> "Workspace":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- literature ------------------------------------------------------------------------------
    def ingest(self, paths: str | Path | Iterable[str | Path], fmt: str = "auto",
               progress: Callable[[int], None] | None = None, mapping: dict[str, str] | None = None,
               encoding: str | None = None, on_wait: Callable[[str], None] | None = None):
        """Ingest files (see :func:`serendip.literature.ingest.ingest`); returns an ``IngestReport``.

        ``paths``: files or folders; one path may be given alone (``ws.ingest("refs.ris")``).
        ``mapping`` (CSV/TSV only): record field -> column name, e.g. ``{"title": "Headline"}``.
        ``encoding``: the text encoding of files without a byte-order mark (e.g. ``"cp1252"``);
        None detects each file's.
        ``on_wait``: told when this ingest waits for another's lock (default: a logging warning).

        The report is also stored in the database and written to ``reports/ingest-<id>.json``.
        """
        from serendip.literature.ingest import ingest

        self.store.require_writable("ingest")
        self._status = None
        if isinstance(paths, (str, Path)):  # one path, not an iterable of its characters
            paths = [paths]
        report = ingest(self.engine, paths, fmt=fmt, progress=progress,
                        options={"mapping": mapping} if mapping else None, encoding=encoding,
                        on_wait=on_wait)
        out = self.path / "reports" / f"ingest-{report.id}.json"
        out.write_text(json.dumps(report.to_dict(), indent=2, ensure_ascii=False), encoding="utf-8")
        return report

    def count(self) -> int:
        """Number of stored records."""
        return self.store.count()

    def reports(self) -> list[dict[str, Any]]:
        """Every ingest report, oldest first."""
        return self.store.ingest_reports()

    def records(self, ids: Iterable[int] | None = None):
        """Stored records as :class:`~serendip.literature.record.Record` objects, by id order."""
        from serendip.literature.record import Record

        stmt = select(records.c.id, records.c.data).order_by(records.c.id)
        if ids is not None:
            stmt = stmt.where(records.c.id.in_(list(ids)))
        with self.engine.connect() as conn:
            for rid, data in conn.execute(stmt):
                yield rid, Record.from_dict(data)

    # -- retrieval -------------------------------------------------------------------------------
    @property
    def index_dir(self) -> Path:
        return self.path / "indexes"

    def index(self, dense: bool = True, progress: Callable[[int], None] | None = None,
              on_total: Callable[[int], None] | None = None, rebuild: bool = False,
              encoder: str | None = None, steps: Steps | None = None,
              notify: Callable[[str], None] | None = None) -> IndexReport:
        """Build the BM25 index over every record and add records not yet embedded to the dense index.

        Old embeddings are kept (incremental) unless ``rebuild``, which embeds every record again (and,
        with ``dense=False``, drops the dense index); BM25 is rebuilt from all records (fast). Records
        with neither title nor abstract get no vector and are listed in ``dense_skipped``. Each index
        folder is replaced whole once written (a crash leaves the old index or none).

        ``encoder`` (a name of :data:`serendip.retrieval.encoders.ENCODERS`; default: the config's
        ``retrieval.encoder``, "torch") embeds the records; it is recorded in the index, and searches
        embed queries with it. Vectors of two encoders are never mixed: adding to an index built with
        another encoder is an error (``rebuild`` re-embeds everything with the new one).

        Resumable: vectors are checkpointed as embedded (:mod:`serendip.retrieval.dense_checkpoint`); a
        killed run embeds only the rest when run again. Runs hold the index lock (:func:`.index_lock`).
        ``progress``/``on_total`` count the records embedded, ``steps`` (:mod:`serendip.core.progress`)
        every long step; ``notify`` hears of lock waits and checkpoints (default: a logging warning).

        Raises
        ------
        WorkspaceReadOnly
            The workspace was opened without write access.
        IndexNotBuilt
            The workspace holds no records.
        IndexDamaged
            The dense index on disk is damaged (without ``rebuild``).
        ConfigError
            Unknown encoder, or one other than the existing dense index's (without ``rebuild``).
        """
        from serendip.retrieval.encoders import ENCODERS

        encoder = ENCODERS.get(encoder or self.config.retrieval.encoder).name

        self.store.require_writable("index")
        with index_lock(self.path, on_wait=notify or _log.warning):
            return self._index_locked(dense, progress, on_total, rebuild, encoder, steps, notify or _log.warning)

    def _index_locked(self, dense, progress, on_total, rebuild, encoder, steps, notify) -> IndexReport:
        """:meth:`index`, once the index lock is held."""
        from serendip.retrieval.bm25_backends import build_bm25
        from serendip.retrieval.index_files import atomic_write_text

        self._searcher, self._status = None, None
        if rebuild and not dense:
            shutil.rmtree(self.index_dir / "dense", ignore_errors=True)
            shutil.rmtree(self.index_dir / "dense.partial", ignore_errors=True)
        t0 = time.perf_counter()
        # read before the records: a change made while indexing leaves the index stale, never hidden
        changes, seen = self.store.changes(), self._indexed_changes()
        ids: list[str] = []
        texts: list[str] = []
        titles: list[str | None] = []
        abstracts: list[str | None] = []
        read = start_step(steps, "read records", self.count())
        for rid, rec in self.records():
            if len(ids) % 1000 == 999:
                read(1000)
            ids.append(str(rid))
            texts.append(rec.search_text())
            titles.append(rec.title)
            abstracts.append(rec.abstract)
        if not ids:
            raise IndexNotBuilt("the workspace holds no records: run `serendip ingest PATH` first")
        read(len(ids) % 1000)
        build_bm25(ids, CountingSequence(texts, start_step(steps, "BM25", len(ids))),
                   self.config.retrieval.bm25_backend, workdir=self.index_dir).save(self.index_dir / "bm25")
        added, total, skipped = 0, 0, []
        if dense:
            revised = [str(i) for i in self.store.revised_after(seen["dense"])] if changes > seen["dense"] else []
            added, total, skipped = self._index_dense(ids, titles, abstracts, progress, on_total, rebuild,
                                                      revised, encoder, steps, notify)
        # the dense index's own count moves only when it was brought up to date (not with --no-dense)
        atomic_write_text(self.index_dir / CHANGES_FILE, json.dumps(
            {"changes": changes, "dense": changes if dense else seen["dense"]}))
        self._searcher, self._status = None, None
        return IndexReport(len(ids), len(ids), added, total, skipped, time.perf_counter() - t0)

    def _index_dense(self, ids: list[str], titles: list[str | None], abstracts: list[str | None],
                     progress: Callable[[int], None] | None,
                     on_total: Callable[[int], None] | None,
                     rebuild: bool = False, revised: list[str] = (), encoder: str = "torch",
                     steps: Steps | None = None, notify: Callable[[str], None] | None = None
                     ) -> tuple[int, int, list[str]]:
        """Embed the records not yet in the dense index, after dropping the vectors of deleted records
        and of ``revised`` ones (changed in place since the last index: embedded again), checkpointed in
        ``dense.partial`` and resumed from it; (added, total vectors, records with no text)."""
        from serendip.retrieval import dense_checkpoint as ckpt
        from serendip.retrieval.dense import TITLE_ABSTRACT_SEP, DenseIndex
        from serendip.retrieval.index_files import read_index_json

        ddir = self.index_dir / "dense"
        if _has_index(ddir) and not rebuild:
            dindex = DenseIndex.load(ddir)
            wanted = self.config.retrieval.dense_model
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
        else:
            dindex = DenseIndex(model=self.config.retrieval.dense_model, encoder_name=encoder)
        # records with nothing to embed are reported once, then remembered, not re-reported
        no_text_file = ddir / "no_text.json"
        no_text = set(read_index_json(no_text_file)) if no_text_file.exists() and not rebuild else set()
        stale = (set(dindex.ids) | no_text) - set(ids) | set(revised)  # deleted, or changed in place
        dindex.remove(sorted(stale))
        no_text -= stale
        present = set(dindex.ids) | no_text
        todo = [i for i, rid in enumerate(ids) if rid not in present]
        checkpoint = ckpt.EmbeddingCheckpoint(self.index_dir / "dense.partial", notify=notify, key={
            "model": dindex.model, "encoder": dindex.encoder_name, "title_abstract_sep": TITLE_ABSTRACT_SEP})
        seen = [0]

        def _step(done: int, _total: int) -> None:
            if progress:
                progress(done - seen[0])
            seen[0] = done

        rep, _resumed = ckpt.embed_resumable(dindex, [ids[i] for i in todo], [titles[i] for i in todo],
                                             [abstracts[i] for i in todo], checkpoint, progress=_step,
                                             on_total=on_total)
        skipped = list(rep.no_text)
        if dindex.backend != "exact":  # the ANN structure, built or extended under its own bar
            done = start_step(steps, f"{dindex.backend} index", len(dindex))
            dindex.ann_index()
            done(len(dindex))
        dindex.save(ddir, extra_json={no_text_file.name: sorted(no_text | set(skipped), key=int)})
        checkpoint.discard()  # the finished index is in place
        return len(rep.added), len(dindex.ids), skipped

    def searcher(self):
        """The :class:`~serendip.retrieval.searcher.Searcher` (cached until the next index): the BM25 index
        loaded, the dense one loaded on first use."""
        if self._searcher is None:
            from serendip.retrieval.bm25_backends import load_bm25
            from serendip.retrieval.dense import DenseIndex
            from serendip.retrieval.searcher import Searcher

            bdir, ddir = self.index_dir / "bm25", self.index_dir / "dense"
            if not bdir.exists():
                raise IndexNotBuilt(f"no index in {self.index_dir}: run `serendip index` first")
            # the dense index is opened on its first use: a BM25 search never reads it
            dense = (lambda: DenseIndex.load(ddir)) if _has_index(ddir) else None
            self._searcher = Searcher(load_bm25(bdir), dense)
        return self._searcher

    def _indexed_changes(self) -> dict[str, int]:
        """The change counter the last index saw (``"changes"``) and the last dense update saw
        (``"dense"``), from :data:`CHANGES_FILE` (0 when absent)."""
        from serendip.retrieval.index_files import read_index_json

        path = self.index_dir / CHANGES_FILE
        seen = read_index_json(path) if path.exists() else {}
        return {"changes": int(seen.get("changes", 0)), "dense": int(seen.get("dense", seen.get("changes", 0)))}

    def index_status(self) -> IndexStatus:
        """How many records were ingested after the last index (ids above the BM25 index's highest),
        and how many were changed in place or deleted since (the workspace's change counter against
        the one the index saw).

        Cheap enough for every search: the answer is kept for :data:`STATUS_TTL_S` seconds (an ingest
        through this object clears it), then a stat of the SQLite files decides whether to ask the
        database again: one range count on the primary key, only when they changed (always, on
        another database).

        Raises
        ------
        IndexNotBuilt
            No index has been built.
        IndexDamaged
            The BM25 id list is damaged.
        """
        now = time.monotonic()
        if self._status is not None and now - self._status[0] < STATUS_TTL_S:
            return self._status[2]
        token = self.store.change_token()
        if token is not None and self._status is not None and self._status[1] == token:
            self._status = (now, token, self._status[2])
            return self._status[2]
        if self._searcher is not None:
            ids = self._searcher.bm25.ids
        else:
            from serendip.retrieval.index_files import read_index_json

            bdir = self.index_dir / "bm25"
            if not (bdir / "ids.json").exists():
                raise IndexNotBuilt(f"no index in {self.index_dir}: run `serendip index` first")
            ids = read_index_json(bdir / "ids.json")
        upto = max((int(i) for i in ids), default=0)
        changes = self.store.changes()
        status = IndexStatus(upto, self.store.records_after(upto),
                             max(0, changes - self._indexed_changes()["changes"]), changes)
        self._status = (now, token, status)
        return status

    def _ensure_fresh(self) -> IndexStatus | None:
        """Before a search: index first (``retrieval.auto_index``, writable workspace) when records
        were ingested, changed or deleted after the last index or none was built; else warn
        (:class:`StaleIndexWarning`) and return the stale status (None when the index is fresh)."""
        auto = self.config.retrieval.auto_index and not self.store.read_only
        if auto and not (self.index_dir / "bm25").exists():
            self.index(dense=True)
            return None
        self.searcher()  # load the index first: the status then reads its ids from memory
        status = self.index_status()
        if status.fresh:
            return None
        if auto:
            self.index(dense=_has_index(self.index_dir / "dense"))
            return None
        warnings.warn(StaleIndexWarning(
            f"{status.describe()}; run `serendip index` (or set retrieval.auto_index = true in "
            f"{CONFIG_NAME})"), stacklevel=3)
        return status

    def search(self, query: str, mode: str | None = None, k: int = 10) -> list[Hit]:
        """Search the indexed records.

        Records ingested after the last index are missed: the search warns
        (:class:`~serendip.errors.StaleIndexWarning`, with their number), or, when the config sets
        ``retrieval.auto_index``, brings the index up to date first.

        Parameters
        ----------
        query : free text.
        mode : a registered retrieval mode (:func:`serendip.retrieval.modes.mode_names`: "bm25",
            "dense", "hybrid" built in; hybrid's fusion chosen on SciFact and BC5CDR-CID, see retrieval.searcher);
            None uses the workspace's ``retrieval.default_mode`` (hybrid unless configured).
        k : number of hits, >= 1.

        Raises
        ------
        ConfigError for an unknown mode (the registered ones listed), k < 1 or a query without letters
        or digits; IndexNotBuilt when ``serendip index`` has not run (or, for a mode that needs the
        dense index, was run without it); IndexDamaged when an index file is damaged.
        """
        mode = mode or self.config.retrieval.default_mode
        RETRIEVAL_MODES.get(mode)
        if k < 1:
            raise ConfigError(f"k must be >= 1, got {k}")
        if not any(ch.isalnum() for ch in query):
            raise ConfigError(f"query {query[:40]!r} has no searchable terms (letters or digits)")
        stale = self._ensure_fresh()
        # a deleted record the index still holds is dropped from the hits: ask for as many more (capped)
        extra = min(stale.changed, 1000) if stale is not None else 0
        return self._hits(self.searcher().search(query, mode=mode, k=k + extra))[:k]

    def _hits(self, scored: list[tuple[str, float]]) -> list[Hit]:
        """The hits' display fields, read for those records only (one primary-key lookup query), so
        the cost of a search does not grow with the number of records."""
        if not scored:
            return []
        wanted = [int(i) for i, _ in scored]
        meta: dict[int, tuple] = {}
        with self.engine.connect() as conn:
            for start in range(0, len(wanted), 900):  # under SQLite's bound-parameter limit
                meta.update((r[0], tuple(r[1:])) for r in conn.execute(
                    select(*_HIT_COLUMNS).where(records.c.id.in_(wanted[start:start + 900]))))
        hits = []
        for rid, score in scored:
            row = meta.get(int(rid))
            if row is None:  # index is older than the database (record deleted): skip, never invent
                continue
            hits.append(Hit(len(hits) + 1, int(rid), float(score), *row))
        return hits

    # -- evaluation ------------------------------------------------------------------------------
    def evaluate(self, dataset: str = "scifact", split: str = "test", modes: Iterable[str] | None = None,
                 progress: Callable[[int], None] | None = None,
                 on_total: Callable[[int], None] | None = None) -> dict[str, dict[str, float]]:
        """Evaluate retrieval on a BEIR dataset from the registry: nDCG@10, Recall@100, MRR@10 per mode.

        ``modes`` defaults to every registered retrieval mode (:func:`~serendip.retrieval.modes.mode_names`).
        The dataset's corpus is ingested into this workspace if it is not there yet (re-ingest adds
        nothing), the indexes are brought up to date, and each query of ``split`` that has judgements
        is run with k=100. Metrics are computed with ranx (Bassani 2022). A workspace opened read-only
        is evaluated as it stands when it holds the corpus and its index is up to date.

        Raises
        ------
        WorkspaceReadOnly
            Read-only, and the corpus is not ingested or the index is behind.
        """
        from serendip.datasets import beir_files
        from serendip.retrieval.evaluate import (
            evaluate_run,
            load_beir_qrels,
            load_beir_queries,
        )

        modes = list(modes) if modes is not None else mode_names()
        for mode in modes:
            RETRIEVAL_MODES.get(mode)  # an unknown name fails before the corpus is ingested
        corpus, queries_path, qrels_path = beir_files(dataset, split)
        if self.store.read_only:  # evaluate what is there, if it is complete
            try:
                fresh = self.index_status().fresh
            except IndexNotBuilt:
                self.store.require_writable(f"evaluate (ingesting and indexing {dataset})")
            if not fresh:
                self.store.require_writable("evaluate (indexing the records ingested after the last index)")
        else:
            self.ingest([corpus], fmt="beir")
            self.index(progress=progress, on_total=on_total)
        qrels = load_beir_qrels(qrels_path)
        queries = load_beir_queries(queries_path)
        qids = [q for q in qrels if q in queries]
        with self.engine.connect() as conn:
            to_doc = {str(rid): sid.split(":", 1)[1] for rid, sid in conn.execute(
                select(records.c.id, records.c.source_id).where(records.c.source_id.like("beir:%")))}
        if not to_doc:
            self.store.require_writable(f"evaluate (ingesting the {dataset} corpus)")
        searcher = self.searcher()
        results: dict[str, dict[str, float]] = {}
        for mode in modes:
            ranked = searcher.search_batch([queries[q] for q in qids], mode=mode, k=100)
            run = {q: {to_doc[d]: float(s) for d, s in hits if d in to_doc} for q, hits in zip(qids, ranked)}
            results[mode] = evaluate_run(qrels, run)
        return results
