"""BM25 index over (id, text) pairs: our tokenizer in front of bm25s' eager sparse scoring.

Scoring is BM25 (Robertson & Zaragoza 2009, "The Probabilistic Relevance Framework: BM25 and Beyond")
in Lucene's variant (``method="lucene"``: idf = ln(1 + (N - df + 0.5) / (df + 0.5)), no (k1 + 1)
numerator factor; Kamphuis et al. 2020, "Which BM25 do you mean?"), computed by bm25s (Lù 2024,
arXiv:2407.03618), which stores every (term, doc) score in a CSC matrix at index time.

We tokenize with :mod:`serendip.retrieval.tokenizer`, build the vocabulary ourselves and hand bm25s token
id lists, so a query with words the corpus never saw simply drops them (no error). Files: bm25s' own
``save`` (``*.index.npy``, ``vocab.index.json``, ``params.index.json``; no pickle) plus ``ids.json`` and
``serendip_bm25.json`` (tokenizer settings) and ``manifest.json`` (sizes, times, checksums; see
:mod:`.index_files`). An index over zero documents (or documents without a single token) is allowed and finds nothing.

Loading (:meth:`BM25Index.load`) memory-maps bm25s' three CSC arrays and scores a query by adding, term
after term, the stored scores of that term's column (what bm25s' ``get_scores_from_ids`` does, in the
same order, so the float32 scores are identical): a query reads only its terms' columns, and neither
bm25s nor its numba/scipy imports are loaded to search (variants with a non-occurrence array,
"bm25l" and "bm25+", are loaded through ``bm25s.BM25.load(mmap=True)``).
"""
from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from serendip.errors import DataError
from serendip.retrieval.index_files import (
    damaged,
    load_index_meta,
    load_npy,
    read_index_json,
    replace_folder,
)
from serendip.retrieval.tokenizer import Tokenizer, get_tokenizer

__all__ = ["BM25Index"]

_META = "serendip_bm25.json"
_IDS = "ids.json"
_FORMAT = 1
#: bm25s variants whose scores add a per-term non-occurrence score (loaded through bm25s itself)
_NONOCCURRENCE_METHODS = ("bm25l", "bm25+")
#: the files bm25s writes and reads
_BM25S_FILES = ("data.csc.index.npy", "indices.csc.index.npy", "indptr.csc.index.npy", "vocab.index.json",
                "params.index.json")


class _MappedScores:
    """bm25s' saved score matrix (CSC: ``data``, ``indices``, ``indptr``), memory-mapped, scored like
    ``bm25s.BM25.get_scores_from_ids`` (same additions in the same order)."""

    def __init__(self, folder: Path):
        params = read_index_json(folder / "params.index.json")
        try:
            self.dtype = np.dtype(params.get("dtype", "float32"))
            self.num_docs = int(params["num_docs"])
        except (AttributeError, KeyError, TypeError, ValueError) as exc:
            raise damaged(folder / "params.index.json", f"bad entry {exc}") from None
        arrays = {}
        for name in ("data", "indices", "indptr"):
            arrays[name] = load_npy(folder / f"{name}.csc.index.npy")
        self.data, self.indices, self.indptr = arrays["data"], arrays["indices"], arrays["indptr"]
        if self.data.shape != self.indices.shape or self.indptr.ndim != 1 or \
                (self.indptr.size and int(self.indptr[-1]) != self.data.size):
            raise damaged(folder / "indptr.csc.index.npy", "the CSC arrays disagree in size")
        vocab = read_index_json(folder / "vocab.index.json")
        # bm25s adds "" (the token of empty texts) after the last column; every other term has one
        if not isinstance(vocab, dict) or max((v for t, v in vocab.items() if t), default=-1) >= self.indptr.size - 1:
            raise damaged(folder / "vocab.index.json", "not the vocabulary of this matrix")
        self.vocab_dict = vocab

    def get_scores_from_ids(self, token_ids: list[int]) -> np.ndarray:
        scores = np.zeros(self.num_docs, dtype=self.dtype)
        indptr, indices, data = self.indptr, self.indices, self.data
        for t in token_ids:
            start, end = int(indptr[t]), int(indptr[t + 1])
            scores[indices[start:end]] += data[start:end]  # a column holds each document once
        return scores


def _top_k(scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices and values of the ``k`` largest positive ``scores``, descending (ties by lower index)."""
    n = scores.shape[0]
    if k <= 0 or n == 0:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=scores.dtype)
    if k < n:
        idx = np.argpartition(-scores, k - 1)[:k]
    else:
        idx = np.arange(n)
    vals = scores[idx]
    order = np.lexsort((idx, -vals))
    idx, vals = idx[order], vals[order]
    keep = vals > 0
    return idx[keep], vals[keep]


class BM25Index:
    """Lexical BM25 index mapping document ids to scores.

    Build with :meth:`build`; query with :meth:`search` / :meth:`search_many`; persist with
    :meth:`save` / :meth:`load`.

    Attributes
    ----------
    ids : list of str
        Document ids, in index order (row ``i`` of bm25s' matrix is ``ids[i]``).
    k1, b : float
        BM25 parameters (defaults 1.2 and 0.75, the values of Robertson et al. and Lucene's default).
    method : str
        bm25s scoring variant ("lucene", "robertson", "atire", "bm25l", "bm25+").
    tokenizer : Tokenizer
        The tokenizer applied to documents and queries.
    """

    def __init__(self, ids: list[str], retriever, vocab: dict[str, int], tokenizer: Tokenizer,
                 k1: float, b: float, method: str):
        self.ids = ids
        self._retriever = retriever
        self._vocab = vocab
        self.tokenizer = tokenizer
        self.k1 = k1
        self.b = b
        self.method = method

    def __len__(self) -> int:
        return len(self.ids)

    # -- building ----------------------------------------------------------------------------------------
    @classmethod
    def build(cls, ids: Sequence[str], texts: Sequence[str | None], *, k1: float = 1.2, b: float = 0.75,
              method: str = "lucene", tokenizer: Tokenizer | None = None) -> "BM25Index":
        """Tokenize and index ``texts``.

        Parameters
        ----------
        ids : sequence of str, length n_docs
            Unique document ids.
        texts : sequence of str or None, length n_docs
            Text to index per document (e.g. ``Record.search_text()``); None/"" gives an empty document.
        k1, b : float
            BM25 term-frequency saturation and length normalisation.
        method : str
            bm25s variant; "lucene" by default.
        tokenizer : Tokenizer, optional
            Defaults to :func:`serendip.retrieval.tokenizer.get_tokenizer` (stemmed, Lucene stopwords).

        Returns
        -------
        BM25Index

        Raises
        ------
        DataError
            If ``ids`` and ``texts`` differ in length or ``ids`` has duplicates.
        """
        import bm25s

        ids = [str(i) for i in ids]
        if len(ids) != len(texts):
            raise DataError(f"BM25 build: {len(ids)} ids but {len(texts)} texts")
        seen: set[str] = set()
        for doc_id in ids:
            if doc_id in seen:
                raise DataError(f"BM25 build: duplicate document id {doc_id!r}")
            seen.add(doc_id)
        tok = tokenizer or get_tokenizer(True)
        vocab: dict[str, int] = {}
        corpus_ids: list[list[int]] = []
        for text in texts:
            row = []
            for t in tok(text):
                i = vocab.get(t)
                if i is None:
                    i = vocab[t] = len(vocab)
                row.append(i)
            corpus_ids.append(row)
        retriever = None
        if vocab:  # no documents, or none with a single token: nothing can match, no matrix needed
            retriever = bm25s.BM25(k1=k1, b=b, method=method)
            # bm25s adds the empty token "" to the vocabulary (used for documents/queries with no tokens)
            retriever.index((corpus_ids, dict(vocab)), show_progress=False)
            vocab = retriever.vocab_dict
        return cls(ids, retriever, vocab, tok, k1, b, method)

    # -- searching ---------------------------------------------------------------------------------------
    def query_token_ids(self, query: str) -> list[int]:
        """Vocabulary ids of the query's tokens; tokens absent from the corpus are dropped."""
        vocab = self._vocab
        return [vocab[t] for t in self.tokenizer(query) if t in vocab]

    def scores(self, query: str) -> np.ndarray:
        """BM25 score of every document: float32 array of shape (n_docs,), 0 where no term matches."""
        if self._retriever is None:
            return np.zeros(len(self.ids), dtype=np.float32)
        tids = self.query_token_ids(query)
        if not tids:
            return np.zeros(len(self.ids), dtype=np.float32)
        return self._retriever.get_scores_from_ids(tids)

    def search(self, query: str, k: int = 10) -> list[tuple[str, float]]:
        """Top-``k`` documents for ``query``.

        Parameters
        ----------
        query : str
            Free text, tokenized like the documents.
        k : int
            Maximum number of results.

        Returns
        -------
        list of (doc_id, score)
            At most ``k`` pairs with score > 0, best first (ties broken by index order).
        """
        if self._retriever is None or k <= 0:
            return []
        tids = self.query_token_ids(query)
        if not tids:
            return []
        idx, vals = _top_k(self._retriever.get_scores_from_ids(tids), k)
        ids = self.ids
        return [(ids[i], float(v)) for i, v in zip(idx.tolist(), vals.tolist())]

    def search_many(self, queries: Sequence[str], k: int = 10) -> list[list[tuple[str, float]]]:
        """:meth:`search` for each query, in order."""
        return [self.search(q, k) for q in queries]

    # -- persistence ------------------------------------------------------------------------------------
    def save(self, folder: str | Path) -> None:
        """Write the index to ``folder`` (see the module docstring for the files), replacing any index
        there whole: the parts go to a fresh folder that is swapped in last
        (:func:`serendip.retrieval.index_files.replace_folder`), so a crash leaves the old index or none."""
        with replace_folder(folder) as tmp:
            if self._retriever is not None:
                self._retriever.save(str(tmp), show_progress=False)
            (tmp / _IDS).write_text(json.dumps(self.ids, ensure_ascii=False), encoding="utf-8")
            meta = {"format": _FORMAT, "k1": self.k1, "b": self.b, "method": self.method,
                    "n_docs": len(self.ids), "has_matrix": self._retriever is not None,
                    "tokenizer": self.tokenizer.config()}
            (tmp / _META).write_text(json.dumps(meta, ensure_ascii=False, indent=1), encoding="utf-8")

    @classmethod
    def load(cls, folder: str | Path) -> "BM25Index":
        """Open an index written by :meth:`save`; bm25s' score matrix is memory-mapped (``mmap=True``):
        a query reads the columns of its terms, not the whole matrix.

        Raises
        ------
        IndexNotBuilt
            If ``folder`` holds no BM25 index.
        IndexDamaged
            If a file is missing, cut short or unreadable, or the files disagree (id count vs. matrix
            size); the message names the file and ``serendip index --rebuild``.
        DataError
            If the format is unknown (written by a newer Serendip).
        """
        folder = Path(folder)
        meta_path = folder / _META
        meta = load_index_meta(folder, _META, kind="BM25", required_key="tokenizer", fmt=_FORMAT,
                               not_built=f"no BM25 index in {folder} (run `serendip index`)")
        if meta.get("backend", "bm25s") != "bm25s":  # see serendip.retrieval.bm25_backends
            raise DataError(f"{meta_path}: a {meta['backend']} BM25 index, not a bm25s one; open it with "
                            f"serendip.retrieval.bm25_backends.load_bm25")
        ids = read_index_json(folder / _IDS)
        if not isinstance(ids, list):
            raise damaged(folder / _IDS, "not a list of ids")
        try:
            tok = Tokenizer.from_config(meta["tokenizer"])
            k1, b, method = meta["k1"], meta["b"], meta["method"]
        except (KeyError, TypeError, ValueError) as exc:
            raise damaged(meta_path, f"bad entry {exc}") from None
        retriever, vocab = None, {}
        if meta.get("has_matrix", bool(ids)):
            if method in _NONOCCURRENCE_METHODS:
                import bm25s

                try:
                    retriever = bm25s.BM25.load(str(folder), mmap=True, show_progress=False, verbosity=0)
                except (OSError, ValueError, KeyError, TypeError, EOFError) as exc:
                    raise damaged(_bm25s_file(folder, exc), exc) from None
                num_docs = retriever.scores["num_docs"]
            else:
                retriever = _MappedScores(folder)
                num_docs = retriever.num_docs
            vocab = retriever.vocab_dict
            if num_docs != len(ids):
                raise damaged(folder / _IDS, f"{len(ids)} ids but the BM25 matrix has {num_docs} documents")
        return cls(ids, retriever, vocab, tok, k1, b, method)


def _bm25s_file(folder: Path, exc: BaseException) -> Path:
    """The bm25s file an error of ``bm25s.BM25.load`` is about: the one it names, else the first of
    its files that is missing or does not parse, else the folder."""
    named = getattr(exc, "filename", None)
    if named:
        return Path(named)
    for name in _BM25S_FILES:
        path = folder / name
        try:
            if name.endswith(".json"):
                json.loads(path.read_text(encoding="utf-8"))
            else:
                np.load(path, allow_pickle=False)
        except (OSError, ValueError, EOFError):
            return path
    return folder
