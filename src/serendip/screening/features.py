"""Features of a screening set, computed once per set and shared by every model and seed.

* TF-IDF (:func:`tfidf_matrix`): scikit-learn's ``TfidfVectorizer`` fitted on every record of the set
  (title + " " + abstract), as ASReview fits its feature extractor on the whole dataset before the
  first query (ASReview 3.0.8 ``Simulate.review`` calls ``cycle.transform(X)`` on all records).
* MeSH (:meth:`FeatureStore.text_mesh`): TF-IDF over each record's MeSH descriptors (one token per
  descriptor, case-folded, sublinear tf), weighted and placed beside the text TF-IDF, each row then
  L2-normalised; used only when at least :data:`MESH_MIN_COVERAGE` of the set's records have MeSH
  headings (below that the text TF-IDF alone: a block most records lack would only shift the norms of the
  few that have it). MeSH-indexed features for screening: Cohen et al. 2006 (JAMIA 13:206) used MeSH
  terms beside title and abstract words.
* Sentence embeddings (:meth:`FeatureStore.embeddings`): the offline all-MiniLM-L6-v2 through
  :func:`serendip.retrieval.encoders.get_encoder` (the text of
  :func:`serendip.retrieval.dense.doc_text`: title + " " + abstract, the title alone when the
  abstract is blank; a record with neither is embedded from ""), L2-normalised float32. Cached on
  disk under ``$SERENDIP_CACHE/screening-embeddings`` (default ``~/.cache/serendip/...``, never in the
  repository) in a file keyed by the sha256 of the encoder, the model folder and every text, so a
  second simulation of the same set embeds nothing.
"""
from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from serendip.core.progress import Steps, start_step
from serendip.screening.data import ScreeningSet

__all__ = ["ELAS_TFIDF", "MESH_MIN_COVERAGE", "NB_TFIDF", "FeatureContext", "FeatureStore", "embedding_cache_dir", "tfidf_matrix"]

#: TF-IDF of ASReview 3.0.8's default model ``elas_u4`` (``asreview/models/models.py``): word 1-2-grams,
#: sublinear tf, min_df 1, max_df 0.95; scikit-learn defaults otherwise (lower case, token pattern
#: ``(?u)\b\w\w+\b``, l2 norm, smooth idf).
ELAS_TFIDF = {"ngram_range": (1, 2), "sublinear_tf": True, "min_df": 1, "max_df": 0.95}
#: TF-IDF of ASReview 0.x/1.x's default (``asreview/models/feature_extraction/tfidf.py``): unigrams,
#: English stop words, scikit-learn defaults otherwise.
NB_TFIDF = {"ngram_range": (1, 1), "stop_words": "english"}


#: Share of a set's records that must have MeSH headings for the MeSH block to be used.
MESH_MIN_COVERAGE = 0.5
#: records embedded per call when embeddings are computed, so progress can be shown. The ONNX encoder
#: groups each call's texts into batches by length, so the batches differ from one call's over every record,
#: but padding is masked: on the first 700 Cohen records the vectors of chunks of 512 and of one call were
#: identical (largest absolute difference 0.0, measured 2026-12-06)
EMBED_CHUNK = 512


def tfidf_matrix(texts: list[str], **params):
    """TF-IDF of ``texts``: scipy CSR matrix of shape (n, vocabulary), float64, rows L2-normalised.

    ``params`` go to ``sklearn.feature_extraction.text.TfidfVectorizer`` (e.g. :data:`ELAS_TFIDF`).
    """
    from sklearn.feature_extraction.text import TfidfVectorizer

    return TfidfVectorizer(**params).fit_transform(texts).tocsr()


def embedding_cache_dir() -> Path:
    """``$SERENDIP_CACHE/screening-embeddings``, else ``~/.cache/serendip/screening-embeddings``."""
    base = os.environ.get("SERENDIP_CACHE", "").strip()
    return (Path(base).expanduser() if base else Path.home() / ".cache" / "serendip") / "screening-embeddings"


@dataclass
class FeatureContext:
    """How embeddings are made.

    Parameters
    ----------
    encoder : str, default "onnx"
        A name of :data:`serendip.retrieval.encoders.ENCODERS` ("onnx": ONNX Runtime fp32, the same
        vectors as sentence-transformers, cosine >= 0.9999).
    model : str
        Embedding model name or local folder (default: the bundled all-MiniLM-L6-v2).
    cache_dir : Path, optional
        Where embeddings are cached (default :func:`embedding_cache_dir`); ``None`` with
        ``use_cache=False`` caches nothing.
    embed : callable, optional
        ``embed(texts) -> float32 array (len(texts), d)`` used instead of the encoder (another model, or
        a small deterministic one in tests); its vectors are cached only when ``cache_key`` is given.
    cache_key : str, optional
        Names ``embed`` in the cache key; without ``embed``, it is added to the encoder's key (the sha256
        of a local model's weights, so a model retrained in place never reuses its old vectors).
    batch_size : int, default 32
    threads : int, optional
        ONNX Runtime intra-op threads for the ``onnx`` / ``onnx-int8`` encoders (default: its own
        choice, every physical core); the vectors do not depend on it.
    """

    encoder: str = "onnx"
    model: str = "sentence-transformers/all-MiniLM-L6-v2"
    cache_dir: Path | None = None
    use_cache: bool = True
    embed: Callable[[list[str]], np.ndarray] | None = None
    cache_key: str | None = None
    batch_size: int = 32
    threads: int | None = None


_ENCODERS: dict[tuple, object] = {}


def _encoder(ctx: FeatureContext):
    """The encoder of ``ctx``, built once per process: :func:`serendip.retrieval.encoders.get_encoder`,
    or an :class:`~serendip.retrieval.encoders.OnnxEncoder` with ``ctx.threads`` threads."""
    from serendip.retrieval.encoders import OnnxEncoder, get_encoder

    if not (ctx.threads and ctx.encoder in ("onnx", "onnx-int8")):
        return get_encoder(ctx.encoder, ctx.model)
    from serendip.retrieval.dense import resolve_model

    key = (ctx.encoder, resolve_model(ctx.model), ctx.threads)
    if key not in _ENCODERS:
        _ENCODERS[key] = OnnxEncoder(key[1], "fp32" if ctx.encoder == "onnx" else "int8", threads=ctx.threads)
    return _ENCODERS[key]


@dataclass
class FeatureStore:
    """The features of one :class:`~serendip.screening.data.ScreeningSet`, each computed once.

    Parameters
    ----------
    data : ScreeningSet
    context : FeatureContext, optional
    steps : callable, optional
        Progress (:mod:`serendip.core.progress`): ``steps("embed <set>", n)`` when sentence embeddings are
        computed (not read from the cache), advanced every :data:`EMBED_CHUNK` records.
    """

    data: ScreeningSet
    context: FeatureContext = field(default_factory=FeatureContext)
    _cache: dict = field(default_factory=dict, repr=False)
    steps: Steps | None = field(default=None, repr=False)

    def tfidf(self, params: dict):
        """:func:`tfidf_matrix` of the set's texts with ``params`` (computed once per distinct params)."""
        key = ("tfidf", repr(sorted(params.items())))
        if key not in self._cache:
            self._cache[key] = tfidf_matrix(self.data.texts(), **params)
        return self._cache[key]

    def mesh_coverage(self) -> float:
        """Share of the records with at least one MeSH heading (0.0 for a set without MeSH)."""
        mesh = getattr(self.data, "mesh", None) or []
        return sum(1 for m in mesh if m) / max(len(self.data), 1)

    def text_mesh(self, weight: float = 0.5):
        """``[TF-IDF(text) | weight * TF-IDF(MeSH)]`` with rows L2-normalised, scipy CSR (n, d) float64;
        the text TF-IDF alone (:data:`ELAS_TFIDF`) when under :data:`MESH_MIN_COVERAGE` of the records
        have MeSH headings."""
        key = ("text_mesh", weight)
        if key not in self._cache:
            text = self.tfidf(ELAS_TFIDF)
            if self.mesh_coverage() < MESH_MIN_COVERAGE:
                self._cache[key] = text
            else:
                from scipy import sparse
                from sklearn.feature_extraction.text import TfidfVectorizer
                from sklearn.preprocessing import normalize

                docs = [[m.casefold() for m in heads] for heads in self.data.mesh]
                mesh = TfidfVectorizer(analyzer=lambda heads: heads, sublinear_tf=True).fit_transform(docs)
                self._cache[key] = normalize(sparse.hstack([text, weight * mesh]).tocsr())
        return self._cache[key]

    def embeddings(self) -> np.ndarray:
        """Sentence embeddings of the records: float32 array (n, d), rows L2-normalised."""
        if "emb" not in self._cache:
            self._cache["emb"] = self._embeddings()
        return self._cache["emb"]

    def _texts(self) -> list[str]:
        from serendip.retrieval.dense import doc_text

        return [doc_text(t, a) or "" for t, a in zip(self.data.titles, self.data.abstracts)]

    def _embeddings(self) -> np.ndarray:
        ctx = self.context
        texts = self._texts()
        if ctx.embed is not None:
            who = ctx.cache_key
            embed = ctx.embed
        else:
            from serendip.retrieval.dense import resolve_model

            folder = resolve_model(ctx.model)
            who = f"{ctx.encoder}:{folder}" + (f":{ctx.cache_key}" if ctx.cache_key else "")

            def embed(batch: list[str]) -> np.ndarray:
                return _encoder(ctx).encode(batch, ctx.batch_size)
        path = None
        if ctx.use_cache and who is not None:
            digest = hashlib.sha256(who.encode("utf-8"))
            for text in texts:
                digest.update(text.encode("utf-8") + b"\x00")
            path = (ctx.cache_dir or embedding_cache_dir()) / f"{digest.hexdigest()[:32]}.npy"
            if path.is_file():
                vecs = np.load(path)
                if vecs.shape[0] == len(texts):
                    return vecs
        advance = start_step(self.steps, f"embed {getattr(self.data, 'name', 'records')}", len(texts))
        parts = []
        for start in range(0, max(len(texts), 1), EMBED_CHUNK):
            parts.append(np.asarray(embed(texts[start:start + EMBED_CHUNK]), dtype=np.float32))
            advance(len(parts[-1]))
        vecs = np.concatenate(parts) if len(parts) > 1 else parts[0]
        norms = np.linalg.norm(vecs, axis=1, keepdims=True)
        vecs = vecs / np.clip(norms, 1e-12, None)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp.npy")
            np.save(tmp, vecs)
            tmp.replace(path)
        return vecs
