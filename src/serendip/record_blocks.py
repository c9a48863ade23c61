"""The text of a workspace's records, read from its database a block at a time while an index is built.

``serendip index`` keeps only the record ids in memory (:func:`read_record_ids`); the BM25 and dense
builds read each record's text through lazy sequences (:meth:`RecordBlocks.column`) that fetch
:data:`BLOCK_SIZE` records per query, in the order of the ids, and keep only the current block. A
sequential read therefore costs one query per block and holds one block of records; random access
within a block is free, across blocks it reloads them (correct, only slower).

The values are exactly those the index took from :meth:`Workspace.records
<serendip.workbench.Workspace.records>`: :meth:`Record.search_text
<serendip.literature.record.Record.search_text>`, :attr:`~serendip.literature.record.Record.title` and
:attr:`~serendip.literature.record.Record.abstract` of ``Record.from_dict`` of the stored JSON.

Records change while a long build runs (an ingest may run beside it): a block read later sees the
record as it is then. A record deleted since the ids were read has no text (search text "", title and
abstract None) and is listed in :attr:`RecordBlocks.vanished`; the workspace's change counter, read
before the ids, already marks such an index stale (``serendip index`` brings it up to date).
"""
from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

from sqlalchemy import Engine, select

from serendip.workspace.schema import records

__all__ = ["BLOCK_SIZE", "FIELDS", "BlockColumn", "RecordBlocks", "read_record_ids"]

#: records fetched per query
BLOCK_SIZE = 5_000
#: the values read per record, in the order of a block's row tuples
FIELDS = ("search_text", "title", "abstract")
_GONE = ("", None, None)


def read_record_ids(engine: Engine, advance: Callable[[int], None] | None = None,
                    every: int = 1000) -> list[str]:
    """Ids of every stored record as strings, ascending (the order of ``Workspace.records()``);
    ``advance(n)`` is told every ``every`` ids and the rest at the end."""
    ids: list[str] = []
    with engine.connect() as conn:
        for rid in conn.execute(select(records.c.id).order_by(records.c.id)).scalars():
            ids.append(str(rid))
            if advance is not None and len(ids) % every == 0:
                advance(every)
    if advance is not None and len(ids) % every:
        advance(len(ids) % every)
    return ids


class RecordBlocks:
    """The indexed values of the records ``ids``, read from ``engine``'s ``records`` table in blocks.

    Parameters
    ----------
    engine : sqlalchemy.Engine
        The workspace database.
    ids : list of str
        Record ids (decimal strings of the integer primary key), best ascending: block ``b`` is
        ``ids[b * block_size:(b + 1) * block_size]``, read with one primary-key range query over its
        smallest to largest id.
    block_size : int, optional
        Records per query (default: :data:`BLOCK_SIZE` when the object is made).

    Attributes
    ----------
    ids : list of str
    loads : int
        Block queries made so far.
    vanished : set of str
        Ids of the records that a block query did not find (deleted since ``ids`` was read).

    Raises
    ------
    ValueError
        ``block_size`` is below 1.
    """

    def __init__(self, engine: Engine, ids: list[str], block_size: int | None = None):
        block_size = BLOCK_SIZE if block_size is None else block_size
        if block_size < 1:
            raise ValueError(f"block_size must be at least 1, got {block_size}")
        self.engine = engine
        self.ids = ids
        self.block_size = int(block_size)
        self.loads = 0
        self.vanished: set[str] = set()
        self._block = -1
        self._rows: list[tuple[str, str | None, str | None]] = []

    def __len__(self) -> int:
        return len(self.ids)

    def column(self, field: str, positions: Sequence[int] | None = None) -> "BlockColumn":
        """A lazy sequence of one of :data:`FIELDS` for every record (or for the records at
        ``positions`` of :attr:`ids`, in that order; ascending keeps reads sequential).

        Raises
        ------
        ValueError
            An unknown field.
        """
        if field not in FIELDS:
            raise ValueError(f"unknown record field {field!r}; expected one of: {', '.join(FIELDS)}")
        return BlockColumn(self, FIELDS.index(field), positions)

    def value(self, position: int, field: int) -> Any:
        """Field number ``field`` (of :data:`FIELDS`) of the record at ``position`` of :attr:`ids`,
        loading its block when it is not the current one."""
        block = position // self.block_size
        if block != self._block:
            self._load(block)
        return self._rows[position - block * self.block_size][field]

    def _load(self, block: int) -> None:
        from serendip.literature.record import Record

        start = block * self.block_size
        wanted = self.ids[start:start + self.block_size]
        slot = {int(rid): k for k, rid in enumerate(wanted)}
        rows: list[tuple[str, str | None, str | None] | None] = [None] * len(wanted)
        stmt = select(records.c.id, records.c.data).where(records.c.id.between(min(slot), max(slot)))
        with self.engine.connect() as conn:
            for rid, data in conn.execute(stmt):
                k = slot.get(rid)
                if k is not None:  # a record added since the ids were read is not asked for
                    rec = Record.from_dict(data)
                    rows[k] = (rec.search_text(), rec.title, rec.abstract)
        for k, row in enumerate(rows):
            if row is None:
                self.vanished.add(wanted[k])
                rows[k] = _GONE
        self._rows, self._block = rows, block  # type: ignore[assignment]
        self.loads += 1


class BlockColumn(Sequence):
    """One field of :class:`RecordBlocks` as a read-only sequence (see :meth:`RecordBlocks.column`):
    ``len``, indexing (ints, negative ints and slices; a slice is returned as a list) and iteration
    read through the block cache."""

    def __init__(self, blocks: RecordBlocks, field: int, positions: Sequence[int] | None = None):
        self._blocks = blocks
        self._field = field
        self._positions = positions

    def __len__(self) -> int:
        return len(self._blocks) if self._positions is None else len(self._positions)

    def _position(self, index: int) -> int:
        n = len(self)
        if index < 0:
            index += n
        if not 0 <= index < n:
            raise IndexError(f"record index {index} out of range for {n} records")
        return index if self._positions is None else int(self._positions[index])

    def __getitem__(self, index):
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        return self._blocks.value(self._position(int(index)), self._field)

    def __iter__(self) -> Iterator:
        value, field = self._blocks.value, self._field
        positions = range(len(self._blocks)) if self._positions is None else self._positions
        for pos in positions:
            yield value(int(pos), field)
