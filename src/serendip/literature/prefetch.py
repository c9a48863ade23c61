"""Read a file in a child process while the parent stores records: ingest's two stages (parse;
deduplicate + insert) then run on two cores at once.

The child sends chunks of ``Record | ParseIssue`` through a bounded queue, so memory stays flat in
file size, and the records arrive in file order. An exception raised by the reader in the child is
re-raised in the parent. If the parent dies (e.g. a killed ingest), the child notices within a second
and exits instead of waiting forever on a full queue.
"""
from __future__ import annotations

import multiprocessing as mp
import os
import queue
from collections.abc import Iterator
from pathlib import Path

import orjson

from serendip.literature.record import Record

CHUNK = 500
QUEUE_CHUNKS = 8  # at most 8 x 500 records in flight


def _encode(item):
    """A record as JSON bytes (orjson: half the cost of pickling the dataclasses, and the child is the
    busier of the two processes); anything else, or a record orjson cannot encode, as itself."""
    if isinstance(item, Record):
        try:
            return orjson.dumps(item.to_dict())
        except TypeError:
            return item
    return item


def _child(fmt_name: str, options: dict | None, path: str, q, parent_pid: int) -> None:
    import gc

    from serendip.literature.readers import get_reader

    gc.disable()  # see ingest(): records hold no cycles; automatic GC only rescans them

    def put(item) -> None:
        while True:
            try:
                q.put(item, timeout=1.0)
                return
            except queue.Full:
                if os.getppid() != parent_pid:  # parent gone: stop
                    os._exit(0)

    try:
        reader = get_reader(fmt_name, options=options)
        chunk = []
        for item in reader.read(Path(path)):
            chunk.append(_encode(item))
            if len(chunk) >= CHUNK:
                put(("items", chunk))
                chunk = []
                gc.collect(1)
        if chunk:
            put(("items", chunk))
        put(("done", None))
    except BaseException as exc:  # noqa: BLE001 - handed to the parent, which re-raises it
        try:
            put(("error", exc))
        except Exception:  # unpicklable exception: send its text
            put(("error", RuntimeError(f"{type(exc).__name__}: {exc}")))


def read_in_child(fmt_name: str, path: Path, options: dict | None = None) -> Iterator:
    """Yield what ``get_reader(fmt_name).read(path)`` yields, parsed in a child process.

    Raises whatever the reader raised (ParseError, UnsafeXMLError...), in the parent.
    """
    ctx = mp.get_context("fork")
    q = ctx.Queue(maxsize=QUEUE_CHUNKS)
    proc = ctx.Process(target=_child, args=(fmt_name, options, str(path), q, os.getpid()), daemon=True)
    proc.start()
    try:
        while True:
            try:
                kind, payload = q.get(timeout=5.0)
            except queue.Empty:
                if not proc.is_alive():
                    raise RuntimeError(f"reader process for {path} died (exit code {proc.exitcode})")
                continue
            if kind == "items":
                for item in payload:
                    yield Record.from_dict(orjson.loads(item)) if isinstance(item, bytes) else item
            elif kind == "error":
                raise payload
            else:
                break
    finally:
        if proc.is_alive():
            proc.terminate()
        proc.join(timeout=5)
        q.close()
