"""BM25 on disk: our tokenizer in front of Tantivy (through its official Python bindings, tantivy-py).

For corpora past what bm25s holds in memory (:mod:`.bm25` builds a (term, doc) score matrix in RAM):
Tantivy writes an inverted index segment by segment with a bounded writer heap and searches it
memory-mapped, so building and opening cost memory proportional to the heap and to what a query
touches, not to the corpus.

Same tokenizer as :class:`~serendip.retrieval.bm25.BM25Index`: :mod:`serendip.retrieval.tokenizer` runs
in Python and its tokens are indexed joined by spaces in a field with Tantivy's ``whitespace`` analyzer,
which splits on whitespace only (no lower-casing, no stemming, no length filter), so Tantivy indexes
exactly our tokens (they never hold whitespace). Queries are built programmatically, a boolean OR
(``Occur.Should``) of one term query per query token (a repeated token counts twice, as in bm25s); user
text never goes through Tantivy's query parser.

Scoring: Tantivy's BM25 is idf = ln(1 + (N - n + 0.5) / (n + 0.5)) times
tf (k1 + 1) / (tf + k1 (1 - b + b dl / avgdl)), with k1 = 1.2 and b = 0.75 fixed in Tantivy (not
settable from Python); those are the values Serendip's bm25s index uses. We divide by (k1 + 1) so the
scores are on bm25s' ``method="lucene"`` scale (Lucene >= 8 dropped that constant factor). Unlike bm25s,
Tantivy stores each document's length as a one-byte code (Lucene's ``SmallFloat`` scheme: exact up to
40 tokens, then about 4 significant bits), so scores of longer documents differ from the exact
formula by a few per cent at most, and near-ties may swap; on SciFact the figures agree within 0.005
(``tests/unit/retrieval/test_bm25_tantivy.py``, ``benchmarks/bm25_backends.py``).

Files (one folder, replaced whole on every write through
:func:`serendip.retrieval.index_files.replace_folder`): Tantivy's own (``meta.json``, ``.managed.json``,
segment files ``<uuid>.{idx,term,fieldnorm,fast,store,pos}``), ``ids.json`` (ids of the live documents,
in row order), ``rows.json`` (only after a removal: row -> id, null for removed rows),
``serendip_bm25.json`` (``"backend": "tantivy"``, tokenizer settings) and ``manifest.json``.
Each document carries its row number in a fast integer field, which maps a hit back to its id and
lets :meth:`TantivyBM25Index.update` remove it by term.
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from serendip.errors import DataError
from serendip.retrieval.index_files import (
    damaged,
    load_index_meta,
    read_index_json,
    replace_folder,
)
from serendip.retrieval.tokenizer import Tokenizer, get_tokenizer

__all__ = ["TANTIVY_B", "TANTIVY_K1", "TantivyBM25Index"]

#: Tantivy's BM25 parameters (fixed in the engine)
TANTIVY_K1 = 1.2
TANTIVY_B = 0.75
_META = "serendip_bm25.json"
_IDS = "ids.json"
_ROWS = "rows.json"
_FORMAT = 1
_TEXT, _ROW = "text", "row"
#: private build folders: ``.bm25-tantivy-build-<pid>-<random>``
_BUILD_PREFIX = ".bm25-tantivy-build-"
#: writer memory budget in bytes (Tantivy flushes a segment when it is full)
WRITER_HEAP = 64_000_000


def _schema():
    import tantivy

    sb = tantivy.SchemaBuilder()
    sb.add_text_field(_TEXT, stored=False, tokenizer_name="whitespace", index_option="freq")
    sb.add_integer_field(_ROW, stored=False, indexed=True, fast=True)
    return sb.build()


def _check_ids(ids: Sequence[str], texts: Sequence, known: set[str] | None = None) -> list[str]:
    ids = [str(i) for i in ids]
    if len(ids) != len(texts):
        raise DataError(f"BM25 build: {len(ids)} ids but {len(texts)} texts")
    seen: set[str] = set(known or ())
    for doc_id in ids:
        if doc_id in seen:
            raise DataError(f"BM25 build: duplicate document id {doc_id!r}")
        seen.add(doc_id)
    return ids


class TantivyBM25Index:
    """Lexical BM25 index on disk (Tantivy), with :class:`~serendip.retrieval.bm25.BM25Index`'s interface.

    Build with :meth:`build`; query with :meth:`search` / :meth:`search_many` / :meth:`scores`;
    persist with :meth:`save` / :meth:`load`; add and remove documents of a saved index with
    :meth:`update`.

    Attributes
    ----------
    ids : list of str
        Ids of the documents in the index, in row order.
    k1, b : float
        1.2 and 0.75 (Tantivy's, fixed).
    method : str
        ``"lucene"`` (the bm25s variant whose scores these equal, up to length quantisation).
    tokenizer : Tokenizer
        The tokenizer applied to documents and queries.
    backend : str
        ``"tantivy"``.
    """

    backend = "tantivy"
    method = "lucene"
    k1 = TANTIVY_K1
    b = TANTIVY_B

    def __init__(self, folder: Path, rows: list[str | None], tokenizer: Tokenizer, *, owned: bool = False):
        import tantivy

        self._folder = Path(folder)
        self._owned = owned  # a private build folder, removed once saved elsewhere
        self._rows = rows
        self.ids = [i for i in rows if i is not None]
        self.tokenizer = tokenizer
        self._index = tantivy.Index.open(str(self._folder))
        self._searcher = self._index.searcher()
        self._schema = self._index.schema

    def __len__(self) -> int:
        return len(self.ids)

    def __del__(self):
        if getattr(self, "_owned", False):
            shutil.rmtree(self._folder, ignore_errors=True)

    # -- building ----------------------------------------------------------------------------------------
    @classmethod
    def build(cls, ids: Sequence[str], texts: Sequence[str | None], *, k1: float = TANTIVY_K1,
              b: float = TANTIVY_B, method: str = "lucene", tokenizer: Tokenizer | None = None,
              workdir: str | Path | None = None) -> "TantivyBM25Index":
        """Tokenize and index ``texts`` into a private folder on disk (moved in place by :meth:`save`).

        Parameters
        ----------
        ids : sequence of str, length n_docs
            Unique document ids.
        texts : sequence of str or None, length n_docs
            Text to index per document; None/"" gives an empty document.
        k1, b, method : float, float, str
            Must be 1.2, 0.75 and "lucene" (Tantivy's BM25 is fixed); accepted for interface parity.
        tokenizer : Tokenizer, optional
            Defaults to :func:`serendip.retrieval.tokenizer.get_tokenizer` (stemmed, Lucene stopwords).
        workdir : path, optional
            Where the private build folder goes (default: the system temporary folder); put it on the
            file system of the final folder so :meth:`save` moves files instead of copying them.

        Raises
        ------
        DataError
            If ``ids`` and ``texts`` differ in length, ``ids`` has duplicates, or k1/b/method are not
            Tantivy's.
        """
        if (k1, b, method) != (TANTIVY_K1, TANTIVY_B, "lucene"):
            raise DataError(f"the tantivy BM25 backend has fixed k1={TANTIVY_K1}, b={TANTIVY_B}, method "
                            f"'lucene' (asked: k1={k1}, b={b}, method={method!r}); use the bm25s backend")
        ids = _check_ids(ids, texts)
        tok = tokenizer or get_tokenizer(True)
        if workdir is not None:
            Path(workdir).mkdir(parents=True, exist_ok=True)
            _remove_dead_builds(Path(workdir))
        folder = Path(tempfile.mkdtemp(prefix=f"{_BUILD_PREFIX}{os.getpid()}-", dir=workdir))
        try:
            _write_docs(folder, _schema(), 0, texts, tok, create=True)
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        return cls(folder, list(ids), tok, owned=True)

    # -- searching ---------------------------------------------------------------------------------------
    def _query(self, query: str):
        import tantivy

        tokens = self.tokenizer(query)
        if not tokens:
            return None
        should, schema = tantivy.Occur.Should, self._schema
        return tantivy.Query.boolean_query(
            [(should, tantivy.Query.term_query(schema, _TEXT, t, index_option="freq")) for t in tokens])

    def _hits(self, query: str, limit: int) -> tuple[list[int], list[float]]:
        """Rows and scores (bm25s scale) of the top ``limit`` documents, best first, ties by row."""
        q = self._query(query)
        if q is None or limit <= 0 or not self.ids:
            return [], []
        hits = self._searcher.search(q, limit, count=False).hits
        if not hits:
            return [], []
        rows = self._searcher.fast_field_values(_ROW, [addr for _, addr in hits])
        scale = 1.0 + self.k1
        pairs = sorted(((-score / scale, row) for (score, _), row in zip(hits, rows)))
        return [r for _, r in pairs], [-s for s, _ in pairs]

    def scores(self, query: str) -> np.ndarray:
        """BM25 score of every document: float32 array of shape (n_docs,) in :attr:`ids` order, 0 where
        no term matches."""
        out = np.zeros(len(self.ids), dtype=np.float32)
        rows, vals = self._hits(query, len(self.ids))
        if rows:
            pos = self._row_positions()
            out[pos[np.asarray(rows)]] = vals
        return out

    def _row_positions(self) -> np.ndarray:
        """row -> position in :attr:`ids` (-1 for removed rows)."""
        alive = np.fromiter((i is not None for i in self._rows), dtype=bool, count=len(self._rows))
        pos = np.full(len(self._rows), -1, dtype=np.int64)
        pos[alive] = np.arange(int(alive.sum()))
        return pos

    def search(self, query: str, k: int = 10) -> list[tuple[str, float]]:
        """Top-``k`` documents for ``query``: at most ``k`` (doc_id, score) pairs, score > 0, best first
        (ties by row order). Query words the corpus never saw match nothing (no error)."""
        rows, vals = self._hits(query, k)
        id_of = self._rows
        return [(id_of[r], v) for r, v in zip(rows, vals)]

    def search_many(self, queries: Sequence[str], k: int = 10) -> list[list[tuple[str, float]]]:
        """:meth:`search` for each query, in order."""
        return [self.search(q, k) for q in queries]

    # -- persistence ------------------------------------------------------------------------------------
    def save(self, folder: str | Path) -> None:
        """Write the index to ``folder``, replacing any index there whole (written in a fresh folder,
        swapped in last: a crash leaves the old index or none). Segment files are hard-linked (moved,
        for a fresh build) when the file system allows, else copied."""
        folder = Path(folder)
        if folder.resolve() == self._folder.resolve():
            return
        with replace_folder(folder) as tmp:
            _link_tantivy_files(self._folder, tmp)
            self._write_side_files(tmp)
            _readable_by_all_who_read_the_folder(tmp)
        if self._owned:
            shutil.rmtree(self._folder, ignore_errors=True)
        self.__init__(folder, self._rows, self.tokenizer)

    def _write_side_files(self, tmp: Path) -> None:
        (tmp / _IDS).write_text(json.dumps(self.ids, ensure_ascii=False), encoding="utf-8")
        if len(self.ids) != len(self._rows):
            (tmp / _ROWS).write_text(json.dumps(self._rows, ensure_ascii=False), encoding="utf-8")
        meta = {"format": _FORMAT, "backend": self.backend, "k1": self.k1, "b": self.b,
                "method": self.method, "n_docs": len(self.ids), "n_rows": len(self._rows),
                "tokenizer": self.tokenizer.config()}
        (tmp / _META).write_text(json.dumps(meta, ensure_ascii=False, indent=1), encoding="utf-8")

    @classmethod
    def load(cls, folder: str | Path) -> "TantivyBM25Index":
        """Open an index written by :meth:`save` (memory-mapped; nothing is rebuilt). Tantivy takes a
        lock file in the folder to open it; from a folder this process cannot write (a read-only
        workspace) its files are copied to a temporary folder first (about 150 bytes per document).

        Raises
        ------
        IndexNotBuilt
            If ``folder`` holds no BM25 index.
        IndexDamaged
            If a file is missing, cut short or unreadable, or the parts disagree (document count);
            one line naming the file and ``serendip index --rebuild``.
        DataError
            If the format is unknown, or the folder holds a BM25 index of another backend.
        """
        folder = Path(folder)
        meta = load_index_meta(folder, _META, kind="BM25", required_key="tokenizer", fmt=_FORMAT,
                               not_built=f"no BM25 index in {folder} (run `serendip index`)")
        if meta.get("backend") != "tantivy":
            raise DataError(f"{folder / _META}: a {meta.get('backend', 'bm25s')} BM25 index, not a tantivy "
                            f"one; open it with serendip.retrieval.bm25_backends.load_bm25")
        rows = read_index_json(folder / _ROWS) if (folder / _ROWS).is_file() else read_index_json(folder / _IDS)
        if not isinstance(rows, list):
            raise damaged(folder / _IDS, "not a list of ids")
        try:
            tok = Tokenizer.from_config(meta["tokenizer"])
        except (KeyError, TypeError, ValueError) as exc:
            raise damaged(folder / _META, f"bad entry {exc}") from None
        try:
            if os.access(folder, os.W_OK):
                index = cls(folder, rows, tok)
            else:  # Tantivy locks a file in the index folder to open it: read a private copy
                copy = Path(tempfile.mkdtemp(prefix=f"{_BUILD_PREFIX}{os.getpid()}-"))
                _link_tantivy_files(folder, copy)
                index = cls(copy, rows, tok, owned=True)
            n_docs = index._searcher.num_docs
        except (ValueError, OSError, RuntimeError) as exc:
            raise damaged(_tantivy_file(folder, exc), exc) from None
        if n_docs != len(index.ids):
            raise damaged(folder / _IDS, f"{len(index.ids)} ids but the Tantivy index holds {n_docs} "
                                         f"documents")
        return index

    # -- incremental update -----------------------------------------------------------------------------
    @classmethod
    def update(cls, folder: str | Path, add_ids: Sequence[str] = (), add_texts: Sequence[str | None] = (),
               remove_ids: Sequence[str] = ()) -> "TantivyBM25Index":
        """Add and remove documents of the index saved in ``folder``, without re-indexing the others.

        The segment files are hard-linked into a fresh folder (Tantivy never rewrites a segment file;
        it writes new ones and replaces ``meta.json`` by a rename), the changes are committed there and
        the folder is swapped in whole, so a crash leaves the old index. Removed documents are deleted
        by their row term: they stop matching at once, but Tantivy's BM25 statistics (N, average length,
        document frequencies) count them until its segments merge, so scores drift slightly from a fresh
        build until then. Ids being added must be new; removing an id not in the index is a no-op.

        Returns
        -------
        TantivyBM25Index
            The updated index, opened from ``folder``.

        Raises
        ------
        DataError
            Lengths differ, or an added id is already in the index (or given twice).
        IndexNotBuilt, IndexDamaged
            As :meth:`load`.
        """
        old = cls.load(folder)
        live = set(old.ids)
        add_ids = _check_ids(add_ids, add_texts, known=live - {str(i) for i in remove_ids})
        drop = [r for r, i in enumerate(old._rows) if i is not None and i in {str(x) for x in remove_ids}]
        rows = list(old._rows)
        for r in drop:
            rows[r] = None
        start = len(rows)
        rows.extend(add_ids)
        folder = Path(folder)
        with replace_folder(folder) as tmp:
            _link_tantivy_files(folder, tmp)
            _write_docs(tmp, old._schema, start, add_texts, old.tokenizer, create=False, delete_rows=drop)
            new = cls.__new__(cls)
            new._rows, new.ids, new.tokenizer = rows, [i for i in rows if i is not None], old.tokenizer
            new._write_side_files(tmp)
            _readable_by_all_who_read_the_folder(tmp)
        del old
        return cls.load(folder)


def _write_docs(folder: Path, schema, first_row: int, texts: Sequence[str | None], tok: Tokenizer, *,
                create: bool, delete_rows: Sequence[int] = ()) -> None:
    """Index ``texts`` as rows ``first_row, first_row + 1, ...`` (and delete ``delete_rows``) in the
    Tantivy index at ``folder`` (created when ``create``), then commit and wait for merges."""
    import tantivy

    index = tantivy.Index(schema, path=str(folder), reuse=False) if create else tantivy.Index.open(str(folder))
    writer = index.writer(heap_size=WRITER_HEAP, num_threads=1)
    for row in delete_rows:
        writer.delete_documents_by_term(_ROW, row)
    for row, text in enumerate(texts, start=first_row):
        doc = tantivy.Document()
        doc.add_text(_TEXT, " ".join(tok(text)))
        doc.add_integer(_ROW, row)
        writer.add_document(doc)
    writer.commit()
    writer.wait_merging_threads()
    for lock in folder.glob(".tantivy-*.lock"):
        lock.unlink()


def _remove_dead_builds(workdir: Path) -> None:
    """Remove build folders in ``workdir`` left by processes that are gone (a killed ``index``)."""
    for path in workdir.glob(f"{_BUILD_PREFIX}*"):
        try:
            pid = int(path.name[len(_BUILD_PREFIX):].split("-")[0])
            os.kill(pid, 0)
        except ProcessLookupError:
            shutil.rmtree(path, ignore_errors=True)
        except (ValueError, PermissionError):
            continue


def _readable_by_all_who_read_the_folder(folder: Path) -> None:
    """Give Tantivy's files the permissions of Serendip's (Tantivy writes ``meta.json`` and
    ``.managed.json`` owner-only, through temporary files), so a shared read-only workspace reads them."""
    umask = os.umask(0)
    os.umask(umask)
    for path in folder.iterdir():
        if path.is_file():
            path.chmod(0o666 & ~umask)


def _link_tantivy_files(src: Path, dest: Path) -> None:
    """Hard-link (else copy) Tantivy's files from ``src`` into ``dest``: segment files, ``meta.json``
    and ``.managed.json``; not Serendip's side files, the manifest, or lock files."""
    skip = {_META, _IDS, _ROWS, "manifest.json"}
    for path in src.iterdir():
        if not path.is_file() or path.name in skip or path.name.endswith(".lock"):
            continue
        try:
            os.link(path, dest / path.name)
        except OSError:
            shutil.copy2(path, dest / path.name)


def _tantivy_file(folder: Path, exc: BaseException) -> Path:
    """The Tantivy file an open error is about: ``meta.json`` when it does not parse or names a
    missing segment, else the folder."""
    meta = folder / "meta.json"
    try:
        segments = json.loads(meta.read_text(encoding="utf-8"))["segments"]
    except (OSError, ValueError, KeyError, TypeError):
        return meta
    for seg in segments if isinstance(segments, list) else ():
        seg_id = str(seg.get("segment_id", "")).replace("-", "") if isinstance(seg, dict) else ""
        for ext in (".idx", ".term", ".fieldnorm", ".fast", ".store"):
            if seg_id and not (folder / f"{seg_id}{ext}").is_file():
                return folder / f"{seg_id}{ext}"
    return folder
