"""Persistence of the dense index (:class:`serendip.retrieval.dense.DenseIndex` inherits it): ``save``
writes the folder whole (``embeddings.npy``, ``ids.json``, ``meta.json``, the FAISS file of the ANN
backend; :func:`serendip.retrieval.index_files.replace_folder`), ``load`` memory-maps it back and
checks that its parts agree. File layout: see :mod:`serendip.retrieval.dense`."""
from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np

from serendip.retrieval import vector_search as vs
from serendip.retrieval.index_files import (
    damaged,
    load_index_meta,
    load_npy,
    read_index_json,
    replace_folder,
)

__all__ = ["DenseFiles"]


class DenseFiles:
    """``save`` and ``load`` of :class:`~serendip.retrieval.dense.DenseIndex` (a mixin: the index's state
    lives there)."""

    def save(self, folder: str | Path, extra_json: dict[str, object] | None = None) -> None:
        """Write ``embeddings.npy``, ``ids.json``, ``meta.json`` and, when the size selects an ANN
        backend, its FAISS file (built or extended first, :meth:`ann_index`) to ``folder``, replacing
        any index there whole: the parts go to a fresh folder swapped in last
        (:func:`serendip.retrieval.index_files.replace_folder`), so a crash leaves the old index or none.

        Parameters
        ----------
        folder : str or Path
        extra_json : dict, optional
            File name -> JSON-serialisable value, written into the same folder (and swapped in with it).
        """
        from serendip.retrieval import dense as constants

        index = self.ann_index()  # before the folder is replaced: a mapped structure reads the old file
        with replace_folder(folder) as tmp:
            if self._emb_file is not None:  # unchanged since load: the same bytes, linked or copied
                vs.link_or_copy(self._emb_file, tmp / "embeddings.npy")
            else:
                np.save(tmp / "embeddings.npy", self.embeddings, allow_pickle=False)
            (tmp / "ids.json").write_text(json.dumps(self.ids, ensure_ascii=False), encoding="utf-8")
            backend = self.backend
            meta = {"format": constants._FORMAT, "model": self.model, "encoder": self.encoder_name, "dim": self.dim,
                    "n": len(self.ids),
                    "normalized": True, "title_abstract_sep": constants.TITLE_ABSTRACT_SEP,
                    "exact_threshold": self.exact_threshold, "ivfpq_threshold": self.ivfpq_threshold,
                    "backend": backend}
            if index is not None:
                meta[backend] = vs.params(backend, len(self.ids), self.dim)
                meta["ann_file"] = vs.ANN_FILES[backend]
            (tmp / "meta.json").write_text(json.dumps(meta, indent=1), encoding="utf-8")
            for name, value in (extra_json or {}).items():
                (tmp / name).write_text(json.dumps(value, ensure_ascii=False), encoding="utf-8")
            if self._ann_file is not None:  # mapped, unchanged: FAISS would write a reference to the old file
                vs.link_or_copy(self._ann_file, tmp / vs.ANN_FILES[backend])
            elif index is not None:
                import faiss

                faiss.write_index(index, str(tmp / vs.ANN_FILES[backend]))
        saved = Path(folder) / "embeddings.npy"
        if isinstance(self.embeddings, np.memmap) and self._emb_file is not None and Path(self._emb_file) != saved:
            self.embeddings, self._emb_file = load_npy(saved), saved  # a spilled file may go now: map the saved one

    @classmethod
    def load(cls, folder: str | Path, encoder: Callable | None = None, exact_threshold: int | None = None,
             ivfpq_threshold: int | None = None):
        """Open an index written by :meth:`save`: ``embeddings.npy`` memory-mapped read-only, the FAISS
        file of the backend the size selects memory-mapped too (:func:`.vs.read`); nothing is built.
        An index saved without that file (by an older Serendip, or under other thresholds) builds it
        on its first search and saves it on the next :meth:`save` (``serendip index``).

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
        from serendip.retrieval import dense as constants

        exact_threshold = constants.EXACT_THRESHOLD if exact_threshold is None else exact_threshold
        ivfpq_threshold = constants.IVFPQ_THRESHOLD if ivfpq_threshold is None else ivfpq_threshold
        folder = Path(folder)
        meta = load_index_meta(folder, "meta.json", kind="dense", required_key="model", fmt=constants._FORMAT,
                               not_built=f"no dense index in {folder} (run `serendip index --dense`)")
        emb_path = folder / "embeddings.npy"
        emb = load_npy(emb_path)
        ids = read_index_json(folder / "ids.json")
        if not isinstance(ids, list) or emb.ndim != 2 or emb.shape[0] != len(ids):
            raise damaged(emb_path, f"{len(ids) if isinstance(ids, list) else '?'} ids in ids.json but "
                                    f"embeddings of shape {emb.shape}")
        if ids and emb.shape[1] != meta.get("dim"):
            raise damaged(emb_path, f"embeddings have dimension {emb.shape[1]}, meta.json says {meta.get('dim')}")
        if emb.dtype != np.float32:  # not written by save(): read into memory as float32
            emb = np.asarray(emb, dtype=np.float32)
        self = cls(model=meta["model"], encoder=encoder, exact_threshold=exact_threshold,
                   ivfpq_threshold=ivfpq_threshold,
                   encoder_name=str(meta.get("encoder", "torch")))  # older indexes: torch
        self.embeddings = emb
        self._emb_file = emb_path if isinstance(emb, np.memmap) else None
        self.ids = list(ids)
        self._pos = {d: i for i, d in enumerate(self.ids)}
        kind = self.backend
        ann_path = folder / vs.ANN_FILES.get(kind, "")
        if kind != "exact" and (ann_path.is_file() or meta.get("ann_file") == ann_path.name):
            index = vs.read(ann_path, kind)
            if index.ntotal != len(ids) or index.d != emb.shape[1]:
                raise damaged(ann_path, f"{index.ntotal} vectors of dimension {index.d}, but {len(ids)} ids "
                                        f"of dimension {emb.shape[1]}")
            self._ann, self._ann_kind, self._ann_file = index, kind, ann_path
            vs.advise_random(self.embeddings)  # re-scoring reads scattered rows: no read-ahead
        return self
