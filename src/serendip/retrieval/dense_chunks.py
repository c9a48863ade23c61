"""The input side of :meth:`DenseIndex.add <serendip.retrieval.dense.DenseIndex.add>` without holding the
corpus' text: the records to embed are kept as positions in the caller's sequences, and each encoder
chunk's texts are read from those sequences only when the chunk is embedded.

The sequences may be lists or lazy views of the workspace database
(:class:`serendip.record_blocks.BlockColumn`); read here in ascending position, first once whole (which
records have text), then chunk by chunk, so a lazy view reads each of its blocks once per pass.
"""
from __future__ import annotations

from collections.abc import Container, Sequence

import numpy as np

__all__ = ["ChunkTexts", "records_to_embed"]


def records_to_embed(ids: Sequence[str], titles: Sequence[str | None], abstracts: Sequence[str | None],
                     present: Container[str]) -> tuple[list[str], np.ndarray, list[str], int]:
    """Which records :meth:`DenseIndex.add` embeds, in input order.

    Returns
    -------
    todo_ids : list of str
        Ids not in ``present`` that have text (:func:`~serendip.retrieval.dense.doc_text`), each once
        (the first of repeated ids).
    positions : numpy.ndarray
        int64, shape (len(todo_ids),): the position of each in the input sequences.
    no_text : list of str
        Ids not in ``present`` with neither title nor abstract, each once.
    already_present : int
        Entries whose id is in ``present`` (not embedded again).
    """
    from serendip.retrieval.dense import doc_text

    todo_ids: list[str] = []
    positions: list[int] = []
    no_text: list[str] = []
    seen: set[str] = set()
    already_present = 0
    for pos, (doc_id, title, abstract) in enumerate(zip(ids, titles, abstracts)):
        doc_id = str(doc_id)
        if doc_id in present:
            already_present += 1
            continue
        if doc_id in seen:
            continue
        seen.add(doc_id)
        if doc_text(title, abstract) is None:
            no_text.append(doc_id)
            continue
        todo_ids.append(doc_id)
        positions.append(pos)
    return todo_ids, np.asarray(positions, dtype=np.int64), no_text, already_present


class ChunkTexts(Sequence):
    """The texts of each encoder chunk, read when asked: item ``k`` is the list of
    :func:`~serendip.retrieval.dense.doc_text` of the records ``chunks[k]`` (rows of ``todo_ids``, whose
    input positions are ``positions``), from ``titles`` and ``abstracts``.

    A record that had text when :func:`records_to_embed` read it and has none now (emptied or deleted
    in the database between the two reads of a lazy source) is given the text " " to keep the chunk's
    rows aligned, and its row is put in :attr:`gone`: the caller drops that row's vector.
    """

    def __init__(self, chunks: Sequence[np.ndarray], positions: np.ndarray, titles: Sequence[str | None],
                 abstracts: Sequence[str | None]):
        self._chunks = chunks
        self._positions = positions
        self._titles = titles
        self._abstracts = abstracts
        self.gone: set[int] = set()

    def __len__(self) -> int:
        return len(self._chunks)

    def __getitem__(self, k):
        from serendip.retrieval.dense import doc_text

        if isinstance(k, slice):
            return [self[i] for i in range(*k.indices(len(self)))]
        out = []
        for row in self._chunks[k]:
            pos = int(self._positions[row])
            text = doc_text(self._titles[pos], self._abstracts[pos])
            if text is None:
                self.gone.add(int(row))
                text = " "
            out.append(text)
        return out
