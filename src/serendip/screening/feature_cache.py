"""A session's TF-IDF features kept on disk, so that each ``serendip screen next`` (a new process) reads
the matrix back instead of fitting TF-IDF over every record of the session again.

Layout: ``<workspace>/indexes/screening/session-<id>-<kind>.npz``, one file per session and per
matrix its model reads (``kind``: ``tfidf-<params digest>`` for :meth:`FeatureStore.tfidf
<serendip.screening.features.FeatureStore.tfidf>`, ``text-mesh-<weight>`` for :meth:`FeatureStore.text_mesh
<serendip.screening.features.FeatureStore.text_mesh>`: text TF-IDF with the MeSH block beside it). Each
file is an uncompressed NumPy ``.npz`` (no pickle) holding the CSR arrays ``data`` (float64 for TF-IDF), ``indices``,
``indptr``, ``shape`` and ``key``, the sha256 of everything the matrix depends on (:func:`feature_key`):

* the session's record ids, titles, abstracts and MeSH headings, in session order (so an edited,
  deleted or re-ingested record changes the key; a record added to the workspace outside the session
  changes neither the key nor the matrix, which is fitted on the session's records only);
* the matrix kind and its parameters (TF-IDF settings, MeSH weight);
* the code: the bytes of :mod:`serendip.screening.features` and of this module, :data:`CACHE_FORMAT`,
  and the scikit-learn, SciPy and NumPy versions.

Computing that key means reading and hashing every record's text (most of a ``screen next`` at 10^5
records), so beside each matrix a small JSON file (``session-<id>-<kind>.stamp.json``) pairs its key
with a **stamp**: the sha256 of the code digest, the kind and parameters, the session's record ids (and
those of them no longer in the workspace) and the workspace's ``changes`` counter
(:meth:`~serendip.workspace.store.WorkspaceStore.changes`: every change of a stored record in place and
every deletion raises it; the search indexes rely on it the same way). While the counter has not moved,
no record of the session can have changed, so a matching stamp proves the matrix current without
reading a text. When it has moved (a change anywhere in the workspace), the full key is computed and
compared as before, and the stamp renewed when the matrix still holds. A record edited by hand in the
database, outside Serendip, moves no counter and the stamp cannot see it: delete
``indexes/screening`` after such an edit.

A file whose key differs is rebuilt and replaced. A file that cannot be read (not a zip, a bad CRC, a
missing array, CSR arrays that disagree with each other or with the number of records) is never trusted:
the matrix is rebuilt and the file replaced, with a note (:attr:`SessionFeatureCache.notes`, also logged
as a warning). Files are written to a temporary name in the same folder and renamed into place, so a
reader sees the old file, the new one or none. A read-only workspace keeps nothing (a note says so). The
matrix read back is the one written, array for array, so a session shows the same next record with or
without the cache.
"""
from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from serendip.screening import features as _features
from serendip.screening.features import FeatureStore, tfidf_matrix

__all__ = ["CACHE_FORMAT", "CachedFeatureStore", "SessionFeatureCache", "feature_key"]

_log = logging.getLogger("serendip")

#: Version of the file layout; part of every key (bump to orphan every file written before).
CACHE_FORMAT = 1
_ARRAYS = ("key", "data", "indices", "indptr", "shape")


@functools.lru_cache(maxsize=1)
def _code_digest() -> str:
    """sha256 of the feature code (features.py and this module) and of the library versions."""
    import scipy
    import sklearn

    h = hashlib.sha256(f"format {CACHE_FORMAT}; sklearn {sklearn.__version__}; scipy {scipy.__version__}; "
                       f"numpy {np.__version__}\n".encode())
    for mod in (_features.__file__, __file__):
        h.update(Path(mod).read_bytes())
    return h.hexdigest()


_KEY_CHUNK = 2000  # records per JSON text hashed


def feature_key(kind: str, params: str, ids, titles, abstracts, mesh) -> str:
    """The sha256 (hex) naming one feature matrix of a session.

    Parameters
    ----------
    kind, params : str
        The matrix kind and a canonical text of its parameters.
    ids : sequence of int
        The session's record ids, in session order (length n).
    titles, abstracts : sequence of str
        Per record ("" when missing), length n.
    mesh : sequence of sequence of str
        MeSH headings per record (length n, or empty: none for any record).

    Hashed as JSON texts (the code digest, kind, params and n, then the records in chunks of
    :data:`_KEY_CHUNK`, each a JSON array of ``[id, title, abstract, [heading, ...]]``): a JSON value
    ends where its text says, so no two different inputs hash the same bytes.
    """
    if not len(ids) == len(titles) == len(abstracts) or (mesh and len(mesh) != len(ids)):
        raise ValueError(f"feature_key: {len(ids)} ids, {len(titles)} titles, {len(abstracts)} abstracts and "
                         f"{len(mesh)} MeSH lists")
    h = hashlib.sha256()
    h.update(json.dumps([_code_digest(), kind, params, len(ids)]).encode())
    mesh = mesh or [()] * len(ids)
    for start in range(0, len(ids), _KEY_CHUNK):
        stop = start + _KEY_CHUNK
        chunk = [[int(r), t, a, list(m)] for r, t, a, m in zip(ids[start:stop], titles[start:stop],
                                                                 abstracts[start:stop], mesh[start:stop])]
        h.update(json.dumps(chunk, ensure_ascii=False).encode("utf-8", "surrogatepass"))
    return h.hexdigest()


class DamagedCache(ValueError):
    """A cache file that cannot be read back as the matrix it claims to hold."""


def _read(path: Path, n_rows: int):
    """The CSR matrix and key stored at ``path``; raises :class:`DamagedCache` for anything unreadable."""
    from scipy import sparse

    try:
        with np.load(path, allow_pickle=False) as npz:
            missing = [a for a in _ARRAYS if a not in npz.files]
            if missing:
                raise DamagedCache(f"no array {', '.join(missing)}")
            got = {a: npz[a] for a in _ARRAYS}
    except (OSError, EOFError, ValueError, zipfile.BadZipFile, KeyError) as exc:
        if isinstance(exc, DamagedCache):
            raise
        if "pickle" in str(exc):  # NumPy's advice to load it unsafely is not for a cache file
            raise DamagedCache("not a NumPy .npz archive") from None
        raise DamagedCache(f"{type(exc).__name__}: {exc}") from None
    data, indices, indptr, shape = got["data"], got["indices"], got["indptr"], got["shape"]
    if shape.shape != (2,) or int(shape[0]) != n_rows:
        raise DamagedCache(f"shape {shape.tolist()} for {n_rows} records")
    n_cols = int(shape[1])
    if (data.ndim != 1 or indices.shape != data.shape or indptr.shape != (n_rows + 1,)
            or data.dtype.kind != "f" or indices.dtype.kind != "i" or indptr.dtype.kind != "i"):
        raise DamagedCache("CSR arrays of the wrong shape or type")
    if indptr[0] != 0 or indptr[-1] != len(data) or (np.diff(indptr) < 0).any():
        raise DamagedCache("row pointers out of order")
    if len(indices) and (indices.min() < 0 or indices.max() >= n_cols):
        raise DamagedCache("column indices out of range")
    if not np.isfinite(data).all():
        raise DamagedCache("values that are not finite")
    return sparse.csr_matrix((data, indices, indptr), shape=(n_rows, n_cols), copy=False), str(got["key"])


def _write(path: Path, key: str, X) -> None:
    """Write ``X`` (scipy CSR) with ``key`` to ``path`` through a temporary file renamed into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as fh:
            np.savez(fh, key=np.array(key), data=X.data, indices=X.indices, indptr=X.indptr,
                     shape=np.array(X.shape, dtype=np.int64))
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


@dataclass
class SessionFeatureCache:
    """The on-disk feature matrices of one session (see the module docstring).

    Parameters
    ----------
    folder : Path
        ``<workspace>/indexes/screening``.
    session_id : int
    writable : bool, default True
        False (a read-only workspace): matrices are read when present, never written.

    Attributes
    ----------
    notes : list of str
        What a caller should tell the user: damaged files rebuilt, files that could not be written.
    hits, builds : list of str
        The kinds read back / built in this process (for tests and benchmarks).
    """

    folder: Path
    session_id: int
    writable: bool = True
    notes: list[str] = field(default_factory=list)
    hits: list[str] = field(default_factory=list)
    builds: list[str] = field(default_factory=list)

    def path(self, kind: str) -> Path:
        return self.folder / f"session-{int(self.session_id)}-{kind}.npz"

    def _note(self, text: str) -> None:
        self.notes.append(text)
        _log.warning(text)

    def stamp_path(self, kind: str) -> Path:
        return self.folder / f"session-{int(self.session_id)}-{kind}.stamp.json"

    def _stamped_key(self, kind: str, stamp: str) -> str | None:
        """The key the stamp file of ``kind`` pairs with ``stamp`` (None: no file, another stamp, unreadable)."""
        try:
            got = json.loads(self.stamp_path(kind).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if not isinstance(got, dict) or got.get("stamp") != stamp or not isinstance(got.get("key"), str):
            return None
        return got["key"]

    def _write_stamp(self, kind: str, stamp: str | None, key: str) -> None:
        if stamp is None or not self.writable:
            return
        path = self.stamp_path(kind)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        try:
            tmp.write_text(json.dumps({"stamp": stamp, "key": key}), encoding="utf-8")
            os.replace(tmp, path)
        except OSError:  # without a stamp the next call computes the full key: slower, never wrong
            tmp.unlink(missing_ok=True)

    def fetch(self, kind: str, key: str | Callable[[], str], n_rows: int, build: Callable[[], object],
              stamp: str | None = None):
        """The matrix ``kind`` of ``key``: read from disk when it is current, else ``build()`` (a scipy
        sparse matrix of shape (n_rows, d), floating point) and stored. Returns scipy CSR of the built
        dtype (float64 for TF-IDF).

        ``key`` may be a callable computing it (called only when needed); ``stamp`` (see the module
        docstring), when given and paired with the stored key, proves the stored matrix current without
        the key. Raises ValueError when ``build()`` gives the wrong shape or dtype."""
        path = self.path(kind)
        full_key = key if isinstance(key, str) else None
        if path.is_file():
            try:
                X, stored = _read(path, n_rows)
                if stamp is not None and self._stamped_key(kind, stamp) == stored:
                    self.hits.append(kind)
                    return X
                full_key = full_key or key()
                if stored == full_key:
                    self.hits.append(kind)
                    self._write_stamp(kind, stamp, full_key)
                    return X
            except DamagedCache as exc:
                self._note(f"screening feature cache {path} is damaged ({exc}); rebuilding it")
        full_key = full_key or key()
        X = build().tocsr()
        if X.dtype.kind != "f" or X.shape[0] != n_rows:
            raise ValueError(f"feature matrix {kind}: {X.shape} {X.dtype}, expected ({n_rows}, d) floating point")
        self.builds.append(kind)
        if not self.writable:
            self._note(f"read-only workspace: screening features of session {self.session_id} not cached in "
                       f"{self.folder} (each `screen next` rebuilds them)")
            return X
        try:
            _write(path, full_key, X)
        except OSError as exc:
            self._note(f"cannot write the screening feature cache {path} ({exc}); the features were rebuilt and "
                       f"are used, not kept")
            return X
        self._write_stamp(kind, stamp, full_key)
        return X


@dataclass
class CachedFeatureStore(FeatureStore):
    """A :class:`~serendip.screening.features.FeatureStore` whose TF-IDF and TF-IDF + MeSH matrices go
    through a :class:`SessionFeatureCache` (``disk``); the same matrices as the plain store, array for
    array. ``data`` must have ``ids`` (workspace record ids), ``titles``, ``abstracts`` and ``mesh``."""

    disk: SessionFeatureCache | None = None
    #: the workspace's ``changes`` counter when the data was read (None: no stamp, the full key decides)
    changes: int | None = None
    _inner: bool = field(default=False, repr=False)

    def _key(self, kind: str, params: str) -> Callable[[], str]:
        def compute() -> str:
            d = self.data
            return feature_key(kind, params, d.ids, d.titles, d.abstracts, getattr(d, "mesh", None) or [])
        return compute

    def _stamp(self, kind: str, params: str) -> str | None:
        """sha256 (hex) of the code digest, ``kind``, ``params``, :attr:`changes`, the record ids and the
        ids of those gone from the workspace (``data.gone``, when the data has it)."""
        if self.changes is None:
            return None
        gone = sorted(getattr(self.data, "gone", ()) or ())
        h = hashlib.sha256(json.dumps([_code_digest(), kind, params, len(self.data), int(self.changes), gone]).encode())
        h.update(np.asarray(self.data.ids, dtype=np.int64).tobytes())
        return h.hexdigest()

    def tfidf(self, params: dict):
        key = ("tfidf", repr(sorted(params.items())))
        if key in self._cache or self.disk is None or self._inner:
            return super().tfidf(params)
        desc = repr(sorted(params.items()))
        kind = "tfidf-" + hashlib.sha256(desc.encode()).hexdigest()[:12]
        self._cache[key] = self.disk.fetch(kind, self._key("tfidf", desc), len(self.data),
                                           lambda: tfidf_matrix(self.data.texts(), **params),
                                           stamp=self._stamp("tfidf", desc))
        return self._cache[key]

    def text_mesh(self, weight: float = 0.5):
        key = ("text_mesh", weight)
        if key in self._cache or self.disk is None:
            return super().text_mesh(weight)

        def build():
            self._inner = True  # the text TF-IDF inside is not kept apart: only the matrix the model reads
            try:
                return FeatureStore.text_mesh(self, weight)
            finally:
                self._inner = False

        params = repr(float(weight))
        self._cache[key] = self.disk.fetch(f"text-mesh-{float(weight):g}", self._key("text_mesh", params),
                                           len(self.data), build, stamp=self._stamp("text_mesh", params))
        return self._cache[key]
