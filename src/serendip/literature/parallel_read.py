"""Read a big file with several parsing processes, each parsing every n-th block of it.

Ingest's single parsing child (:mod:`serendip.literature.prefetch`) made parsing the bottleneck: on a
PubMed XML file it did nine tenths of the work while the storing process waited. A reader that can cut
its files into independent blocks offers two more methods (the PubMed XML reader does, see
:mod:`serendip.literature.readers._pubmed_split`):

* ``split_blocks(path, wanted) -> Iterator[block | Fallback]`` - cheap (decompress and find record
  boundaries); the raw bytes are kept only for the blocks ``wanted(seq)`` names;
* ``parse_block(block, file) -> (items, Fallback | None)`` - the items of one block, as ``read``
  gives them.

Worker ``k`` of ``n`` cuts the whole file and parses blocks ``k``, ``k + n``, ...; it sends each record
in its transport form (:func:`~serendip.literature.prefetch.encode_item`), or, for ingest, made ready
to store (:func:`serendip.literature.prepared.prepare`: the parent then gets
:class:`~serendip.literature.prepared.PreparedRecord` s). The parent takes the workers' answers in the
same turn, so items arrive in file order. Every worker cutting the file itself costs one decompression
each (0.9 s per 100,000 PubMed records) but no copy of the XML between processes; one process cutting
for the others spent more CPU time sending the XML through pipes than that. A :class:`Fallback` (the
reader met something its blocks cannot say exactly as its streaming ``read`` would) stops the parallel
path: the workers are stopped and the streaming reader, in one child as before, gives the items from
the fallback's position on. Every worker dies with the parent (as in
:mod:`~serendip.literature.prefetch`) and never holds the ingest lock; queues are bounded
(:data:`QUEUE_BLOCKS` blocks per worker), so memory stays flat in file size.
"""
from __future__ import annotations

import itertools
import logging
import multiprocessing as mp
import os
import queue
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from serendip.errors import ParseError
from serendip.literature.prefetch import (
    child_setup,
    decode_item,
    encode_item,
    put_or_exit,
    read_in_child,
    stop_process,
)
from serendip.literature.record import ParseIssue, Record

__all__ = ["Fallback", "read_parallel", "supports_parallel", "worker_count"]

log = logging.getLogger(__name__)

#: answered blocks in flight per worker (4 kept both cores busier than 2 on a 2-core machine)
QUEUE_BLOCKS = 4
#: most worker processes, whatever the cores
MAX_WORKERS = 4


@dataclass(slots=True)
class Fallback:
    """The parallel path stops: the streaming reader gives the items from ``item`` (0-based) on."""

    item: int
    reason: str


def worker_count() -> int:
    """Parsing workers for this machine: one per core, 2 to :data:`MAX_WORKERS`; 0 (no parallel
    path) on one core. The storing process shares the cores with them."""
    cores = os.cpu_count() or 1
    return 0 if cores < 2 else min(MAX_WORKERS, cores)


def supports_parallel(reader) -> bool:
    """Whether ``reader`` offers ``split_blocks`` and ``parse_block``."""
    return callable(getattr(reader, "split_blocks", None)) and callable(getattr(reader, "parse_block", None))


def _prepared_encoder():
    """``item -> wire``: a Record as :func:`~serendip.literature.prepared.prepare` sends it (or as
    itself when it cannot be), anything else as itself."""
    from serendip.literature.prepared import prepare
    from serendip.literature.readers import id_keyed_formats

    id_keyed = id_keyed_formats()

    def encode(item):
        if isinstance(item, Record):
            wire = prepare(item.to_dict(), id_keyed)
            return item if wire is None else wire
        return item

    return encode


def _worker(fmt_name: str, options: dict | None, path: str, k: int, n: int, outq, parent_pid: int,
            watch_fds: tuple[int, int], prepared: bool) -> None:
    """Worker ``k`` of ``n``: cut the whole file into blocks, parse blocks ``k``, ``k + n``, ... and
    send one answer per block (its items and where it stopped), then ``done`` or the fallback in turn."""
    import gc

    from serendip.literature.readers import get_reader

    child_setup(parent_pid, watch_fds)
    seq = 0
    try:
        reader = get_reader(fmt_name, options=options)
        encode = _prepared_encoder() if prepared else encode_item
        for seq, part in enumerate(reader.split_blocks(Path(path), wanted=lambda s: s % n == k)):
            if seq % n != k:
                if isinstance(part, Fallback):
                    return  # the worker in turn sends it
                continue
            if isinstance(part, Fallback):
                put_or_exit(outq, ("fallback", part), parent_pid)
                return
            items, fallback = reader.parse_block(part, path)
            items = [encode(item) for item in items]
            put_or_exit(outq, ("items", (items, fallback)), parent_pid)  # one answer per block: turns stay in step
            if fallback is not None:
                return
            gc.collect(1)
        else:
            seq += 1  # the turn after the last block
        if seq % n == k:
            put_or_exit(outq, ("done", None), parent_pid)
    except BaseException as exc:  # noqa: BLE001 - handed to the parent, which re-raises it
        put_or_exit(outq, ("error", _sendable(exc)), parent_pid)


def _sendable(exc: BaseException) -> BaseException:
    """``exc`` if it pickles, else a RuntimeError with its text."""
    import pickle

    try:
        pickle.dumps(exc)
        return exc
    except Exception:  # noqa: BLE001 - any pickling failure
        return RuntimeError(f"{type(exc).__name__}: {exc}")


def _answer(q, procs, path: Path):
    """The next message on ``q``; a child that died (not by the parent's hand) raises ParseError."""
    while True:
        try:
            return q.get(timeout=5.0)
        except queue.Empty:
            dead = [p for p in procs if p.exitcode not in (None, 0)]
            if dead:
                raise ParseError(f"a reader process died (exit code {dead[0].exitcode}); the records "
                                 "before it are kept", file=str(path)) from None


def _parallel_items(reader, path: Path, options: dict | None, as_dicts: bool, n: int, prepared: bool):
    """Yield the parallel path's items; return the :class:`Fallback` that stopped it, or None."""
    ctx = mp.get_context("fork")
    out_qs = [ctx.Queue(maxsize=QUEUE_BLOCKS) for _ in range(n)]
    watch_r, watch_w = os.pipe()
    parent = os.getpid()
    procs = [ctx.Process(target=_worker, args=(reader.name, options, str(path), k, n, out_qs[k], parent,
                                               (watch_r, watch_w), prepared), daemon=True) for k in range(n)]
    try:
        for p in procs:
            p.start()
    finally:
        os.close(watch_r)
    try:
        for turn in itertools.count():
            kind, payload = _answer(out_qs[turn % n], procs, path)
            if kind == "items":
                items, fallback = payload
                for item in items:
                    yield decode_item(item, as_dicts)
                if fallback is not None:
                    return fallback
            elif kind == "fallback":
                return payload
            elif kind == "error":
                raise payload
            else:
                return None
    finally:
        os.close(watch_w)  # every child sees end-of-file and ends
        for p in procs:
            stop_process(p)
        for q in out_qs:
            q.close()


def read_parallel(reader, path: Path, options: dict | None = None, *, as_dicts: bool = False,
                  prepared: bool = False, workers: int | None = None) -> Iterator:
    """Yield what ``reader.read(path)`` yields, parsed by ``workers`` processes (default
    :func:`worker_count`), in the same order.

    Parameters
    ----------
    reader : a reader instance that :func:`supports_parallel` (its ``name`` and ``options`` rebuild
        it in each child).
    path : the file.
    options : the reader's options.
    as_dicts : records in their JSON form (:meth:`~serendip.literature.record.Record.to_dict`), as
        :func:`~serendip.literature.prefetch.read_in_child` gives them.
    prepared : records as :class:`~serendip.literature.prepared.PreparedRecord` s, ready to store
        (ingest); those the streaming reader gives after a fallback come as dicts (``as_dicts``).

    Raises
    ------
    ParseError
        A parsing process died; whatever the reader raises, in this process.
    """
    n = workers or max(1, worker_count())
    as_dicts = as_dicts or prepared
    fallback = yield from _parallel_items(reader, Path(path), options, as_dicts, n, prepared)
    if fallback is not None:
        log.debug("%s: parallel read stops at item %d (%s); the streaming reader goes on",
                  path, fallback.item, fallback.reason)
        serial = read_in_child(reader.name, Path(path), options, as_dicts=as_dicts)
        skipped, last = 0, None
        try:
            for item in serial:
                if skipped < fallback.item:
                    skipped, last = skipped + 1, item
                    continue
                yield item
        finally:
            serial.close()
        if skipped < fallback.item and isinstance(last, ParseIssue):
            # the streaming reader stopped (a truncated stream) before the point the blocks reached:
            # the records already given stay, and its closing issue is still reported
            yield last
