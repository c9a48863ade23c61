"""The :class:`Workspace` façade: the Python API that the ``serendip`` CLI wraps.

It sits above the layers it drives and calls only down into them: the storage layer
(:mod:`serendip.workspace`: folder, config, database), the literature layer (:mod:`serendip.literature`:
readers, ingest) and the retrieval layer (:mod:`serendip.retrieval`: indexes, modes, evaluation).
Layout of a workspace folder: see :mod:`serendip.workspace.store`; the indexes live in ``indexes/``,
built and checked by :mod:`serendip.indexing` (layout there).
"""
from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select

from serendip import indexing
from serendip.core.progress import Steps, start_step
from serendip.errors import IndexNotBuilt
from serendip.index_status import IndexReport, IndexStatus
from serendip.retrieval.modes import mode_names
from serendip.retrieval.rerank import DEFAULT_RERANKER
from serendip.workspace.config import WorkspaceConfig
from serendip.workspace.locks import index_lock
from serendip.workspace.schema import possible_record_ids, records
from serendip.workspace.store import WorkspaceStore
from serendip.workspace_search import Hit, ensure_fresh, search_workspace

__all__ = ["Hit", "IndexReport", "IndexStatus", "Workspace"]

_log = logging.getLogger("serendip")

#: seconds a search trusts the last index-freshness check (records ingested by another process are
#: noticed at most this late)
STATUS_TTL_S = 0.25

class Workspace:
    """A Serendip workspace. Create with :meth:`init`, open with :meth:`open`.

    Raises :class:`WorkspaceError` when the folder is not a workspace or its database can't be used,
    :class:`ConfigError` when its config is invalid (e.g. an unregistered ``retrieval.default_mode``).
    """

    def __init__(self, store: WorkspaceStore):
        self.store = store
        self._searcher = None
        self._status: dict[str, tuple[float, tuple | None, IndexStatus]] = {}  # part -> (time, token, status)
        self._rerankers: dict[tuple[str, str], Any] = {}  # (kind, run) -> reranker (serendip.reranking)

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
    def init(cls, path: str | Path | None = None, database: str | None = None, *,
             partitions: int | None = None) -> "Workspace":
        """Create (or re-open) a workspace at ``path`` (default:
        :func:`serendip.workspace.paths.default_workspace_path`) and migrate its database.

        ``database`` is a SQLAlchemy URL (e.g. ``postgresql+psycopg://user@127.0.0.1/db``); None keeps
        the embedded SQLite file ``serendip.db`` in the folder. ``partitions`` (PostgreSQL, when the
        workspace is made): ``records`` partitioned by hash of id into that many partitions (see
        :meth:`WorkspaceStore.create`, which lists the errors raised).
        """
        return cls(WorkspaceStore.create(path, database, mode_names(), partitions=partitions))

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
        self._status = {}
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
            stmt = stmt.where(records.c.id.in_(possible_record_ids(ids)))
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
              notify: Callable[[str], None] | None = None, ray: str | None = None,
              passages: bool = False, passage_vectors: bool = False) -> IndexReport:
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
        killed run embeds only the rest when run again (the report's ``dense_added`` counts the vectors
        this run embedded, ``dense_resumed`` those read back). Runs hold the index lock
        (:func:`.index_lock`); the work is :func:`serendip.indexing.build_indexes`.
        ``progress``/``on_total`` count the records embedded, ``steps`` (:mod:`serendip.core.progress`)
        every long step; ``notify`` hears of lock waits and checkpoints (default: a logging warning).
        ``ray`` (an address: ``local``, ``auto``, ``HOST:PORT``) embeds through Ray tasks, giving the
        same vectors (:mod:`serendip.retrieval.ray_embed`). ``passages`` also brings the passage index
        up to date (sentences with offsets, :mod:`serendip.evidence.passage_index`; the report's
        ``passages``); ``passage_vectors`` that and the passages' stored embeddings that ``ask`` reads
        (:mod:`serendip.evidence.passage_vectors`; the report's ``passage_vectors``).

        Raises
        ------
        WorkspaceReadOnly
            The workspace was opened without write access.
        IndexNotBuilt
            The workspace holds no records.
        IndexDamaged
            The dense index on disk is damaged (without ``rebuild``).
        ConfigError
            Unknown encoder, or one other than the existing dense index's (without ``rebuild``). Without
            ``encoder`` an existing dense index is extended with the encoder it was built with (a new or
            rebuilt one uses the workspace's ``retrieval.encoder``).
        """
        from serendip.retrieval.encoders import ENCODERS

        if encoder is None and not rebuild:  # extend the index with the encoder it was built with
            encoder = indexing.dense_encoder(self.index_dir / "dense")
        encoder = ENCODERS.get(encoder or self.config.retrieval.encoder).name

        self.store.require_writable("index")
        notify = notify or _log.warning
        runner = None
        if ray is not None and dense:  # an empty address is an error, never a silent local run
            from serendip.retrieval.ray_embed import ray_chunk_runner

            runner = ray_chunk_runner(ray, encoder, self.config.retrieval.dense_model)
        with index_lock(self.path, on_wait=notify):
            self._searcher, self._status = None, {}
            try:
                report = indexing.build_indexes(self, dense, progress, on_total, rebuild, encoder, steps, notify,
                                                runner)
                if passages or passage_vectors:
                    from serendip.evidence.passage_index import build_passages

                    report.passages = build_passages(self, rebuild, start_step(steps, "passages", self.count()))
                if passage_vectors:
                    from serendip.evidence.passage_vectors import build_passage_vectors

                    self._searcher = None  # the dense index just built
                    report.passage_vectors = build_passage_vectors(
                        self, rebuild, start_step(steps, "passage vectors", report.passages.records))
                return report
            finally:
                self._searcher, self._status = None, {}

    def verify_index(self) -> dict[str, list]:
        """Read every index file whole and compare its SHA-256 with the one recorded when it was written
        (:func:`serendip.indexing.verify_indexes`): index part ("bm25", "dense") -> one
        :class:`~serendip.retrieval.index_files.PartCheck` per file. In a writable workspace (under the
        index lock) the new modification times of files found whole are recorded, so that loading
        them skips the whole-file check again (e.g. after the folder was copied without its times).

        Raises
        ------
        IndexNotBuilt
            No index has been built.
        """
        if self.store.read_only:
            return indexing.verify_indexes(self.index_dir)
        with index_lock(self.path, on_wait=_log.warning):
            return indexing.verify_indexes(self.index_dir, record_times=True)

    def searcher(self):
        """The :class:`~serendip.retrieval.searcher.Searcher` (cached until the next index). Each index
        part is loaded on its first use, so a damaged part stops only the modes that read it; an
        absent dense index left incomplete by an interrupted ``serendip index`` is said to be so."""
        if self._searcher is None:
            from serendip.retrieval.bm25_backends import load_bm25
            from serendip.retrieval.dense import DenseIndex
            from serendip.retrieval.searcher import Searcher

            bdir, ddir = self.index_dir / "bm25", self.index_dir / "dense"
            if not bdir.exists():
                raise IndexNotBuilt(f"no index in {self.index_dir}: run `serendip index` first")
            dense = (lambda: DenseIndex.load(ddir)) if indexing.has_index(ddir) else None
            why = indexing.dense_incomplete(self.index_dir, self.count) if dense is None else None
            self._searcher = Searcher(lambda: load_bm25(bdir), dense, missing={"dense": why} if why else None)
        return self._searcher

    def index_status(self, part: str = "bm25") -> IndexStatus:
        """How many records were ingested after the last index (ids above the highest the index part
        ``part`` holds: "bm25", which holds every record, or "dense"), and how many were changed in
        place or deleted since (the workspace's change counter against the one that part saw).

        Cheap enough for every search: the answer is kept for :data:`STATUS_TTL_S` seconds (an ingest
        through this object clears it), then a stat of the SQLite files decides whether to ask the
        database again: one range count on the primary key, only when they changed (always, on
        another database).

        Raises
        ------
        IndexNotBuilt
            No index has been built.
        IndexDamaged
            The part's id list is damaged.
        """
        now = time.monotonic()
        cached = self._status.get(part)
        if cached is not None and now - cached[0] < STATUS_TTL_S:
            return cached[2]
        token = self.store.change_token()
        if token is not None and cached is not None and cached[1] == token:
            self._status[part] = (now, token, cached[2])
            return cached[2]
        upto = max((int(i) for i in indexing.indexed_ids(self, part)), default=0)
        changes = self.store.changes()
        seen = indexing.indexed_changes(self.index_dir)["dense" if part == "dense" else "changes"]
        status = IndexStatus(upto, self.store.records_after(upto), max(0, changes - seen), changes)
        self._status[part] = (now, token, status)
        return status

    def _ensure_fresh(self, mode: str) -> IndexStatus | None:
        """Before a search in ``mode``: index first or warn of a stale index
        (:func:`serendip.workspace_search.ensure_fresh`)."""
        return ensure_fresh(self, mode, stacklevel=4)

    def search(self, query: str, mode: str | None = None, k: int = 10, *, rerank: str | Path | None = None,
               rerank_k: int | None = None, reranker: str = DEFAULT_RERANKER,
               rerank_weight: float | None = None, rerank_backend: str | None = None) -> list[Hit]:
        """Search the indexed records, optionally reranking the top candidates.

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
        rerank : a run folder or run id of a reranker (None: no reranking). The mode's top
            ``max(rerank_k, k)`` are re-scored and the hits are ordered by the reranker
            (:mod:`serendip.reranking`); their ``score`` is then the reranker's.
        rerank_k : candidates re-scored, >= 1; None: the reranker's tuned depth, else 50
            (:func:`serendip.retrieval.rerank.reranker_defaults`).
        reranker : a registered reranker kind (:data:`serendip.retrieval.rerank.RERANKERS`;
            "cross-encoder", from :mod:`serendip.evidence`).
        rerank_weight : the reranker's share of the final score, in [0, 1]; below 1, convex fusion with
            the mode's score (:func:`serendip.retrieval.rerank.rerank`); None: the reranker's tuned
            weight, else 1.
        rerank_backend : the backend that runs the reranker (one of its
            :attr:`~serendip.retrieval.rerank.RerankerSpec.backends`: "torch", "onnx", "onnx-int8",
            "openvino-int8" for the cross-encoder); None: the workspace's ``retrieval.rerank_backend``, else the reranker's
            default (onnx-int8 where onnxruntime is installed).

        Raises
        ------
        ConfigError for an unknown mode, reranker or rerank backend (the registered ones listed), a
        rerank option without ``rerank``, k or rerank_k < 1, a rerank_weight outside [0, 1], or a query without letters or digits; ExportError
        when an ONNX / OpenVINO rerank backend cannot export the run or load its cached export; RunNotFound when
        ``rerank`` names no folder or run, DataError when its run is not a reranker; IndexNotBuilt
        when ``serendip index`` has not run (or, for a mode that needs the dense index, was run
        without it or interrupted: then how many records are embedded); IndexDamaged when a file of
        an index part the mode reads is damaged (BM25 for "bm25" and "hybrid", the dense index for
        "dense" and "hybrid").
        """
        return search_workspace(self, query, mode, k, rerank=rerank, rerank_k=rerank_k, reranker=reranker,
                                rerank_weight=rerank_weight, rerank_backend=rerank_backend)

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
        from serendip.workspace_eval import evaluate_workspace

        return evaluate_workspace(self, dataset, split, modes, progress, on_total)
