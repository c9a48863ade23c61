"""Read a file in a child process while the parent stores records: ingest's two stages (parse;
deduplicate + insert) then run on two cores at once.

The child sends chunks of ``Record | ParseIssue`` through a bounded queue, so memory stays flat in
file size, and the records arrive in file order. An exception raised by the reader in the child is
re-raised in the parent. The child dies with its parent (a killed ingest): on Linux the kernel kills it
(``PR_SET_PDEATHSIG``); everywhere, a thread watching a pipe whose only writer is the parent sees
end-of-file when the parent goes, and ends the child, even one stuck flushing its queue. The child never
holds the workspace's ingest lock (see :mod:`serendip.workspace.locks`).
"""
from __future__ import annotations

import multiprocessing as mp
import os
import queue
import signal
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import orjson

from serendip.errors import ParseError
from serendip.literature.prepared import PreparedRecord, Wire
from serendip.literature.record import Record

CHUNK = 500
QUEUE_CHUNKS = 8  # at most 8 x 500 records in flight


def encode_item(item):
    """What a parsing child sends for ``item``: a record as JSON bytes (orjson: half the cost of
    pickling the dataclasses); anything else, or a record orjson cannot encode, as itself."""
    if isinstance(item, Record):
        try:
            return orjson.dumps(item.to_dict())
        except TypeError:
            return item
    return item


_PR_SET_PDEATHSIG = 1
#: ask the kernel to kill the child when the parent dies (Linux); the pipe watch works without it
USE_PDEATHSIG = True


def die_with_parent(parent_pid: int, watch_fd: int | None = None) -> None:
    """Make this (forked) process end when its parent ``parent_pid`` ends.

    Linux: ``prctl(PR_SET_PDEATHSIG, SIGKILL)`` through ctypes. Portable fallback (and a second guard):
    a daemon thread blocks reading ``watch_fd``, the read end of a pipe whose write end only the parent
    holds, and calls ``os._exit`` at end-of-file. A parent already gone exits at once.
    """
    if USE_PDEATHSIG and sys.platform.startswith("linux"):
        try:
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        except (OSError, AttributeError):  # no prctl: the pipe watch still works
            pass
    if os.getppid() != parent_pid:  # the parent died before the guard was set
        os._exit(0)
    if watch_fd is not None:
        def watch() -> None:
            while True:
                try:
                    if not os.read(watch_fd, 1):
                        break
                except InterruptedError:
                    continue
                except OSError:
                    break
            os._exit(0)

        threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def child_setup(parent_pid: int, watch_fds: tuple[int, int] | None) -> None:
    """Set up a forked parsing child: SIGTERM ends it at once (the parent's Python handler is
    inherited by fork), Ctrl-C is left to the parent (which then stops it), it dies with the parent
    (:func:`die_with_parent`), and automatic garbage collection is off (records hold no cycles)."""
    import gc

    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if watch_fds is not None:
        os.close(watch_fds[1])  # only the parent keeps the write end
    die_with_parent(parent_pid, watch_fds[0] if watch_fds else None)
    gc.disable()


def put_or_exit(q, item, parent_pid: int) -> None:
    """``q.put(item)`` from a child, waiting while the queue is full; ends the child if its parent
    has gone meanwhile."""
    while True:
        try:
            q.put(item, timeout=1.0)
            return
        except queue.Full:
            if os.getppid() != parent_pid:
                os._exit(0)


def _child(fmt_name: str, options: dict | None, path: str, q, parent_pid: int,
           watch_fds: tuple[int, int] | None = None) -> None:
    import gc

    from serendip.literature.readers import get_reader

    child_setup(parent_pid, watch_fds)

    def put(item) -> None:
        put_or_exit(q, item, parent_pid)

    try:
        reader = get_reader(fmt_name, options=options)
        chunk = []
        for item in reader.read(Path(path)):
            chunk.append(encode_item(item))
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


def read_in_child(fmt_name: str, path: Path, options: dict | None = None, *,
                  as_dicts: bool = False) -> Iterator:
    """Yield what ``get_reader(fmt_name).read(path)`` yields, parsed in a child process.

    With ``as_dicts``, each record comes in its JSON form (:meth:`Record.to_dict`: what ingest stores)
    instead of as a :class:`Record` (the child sends that form; rebuilding the Record to turn it back
    into a dict was a fifth of ingest's time); ParseIssues come as they are either way.

    Raises whatever the reader raised (ParseError, UnsafeXMLError...), in the parent.
    """
    ctx = mp.get_context("fork")
    q = ctx.Queue(maxsize=QUEUE_CHUNKS)
    watch_r, watch_w = os.pipe()
    proc = ctx.Process(target=_child, args=(fmt_name, options, str(path), q, os.getpid(),
                                            (watch_r, watch_w)), daemon=True)
    try:
        proc.start()
    finally:
        os.close(watch_r)
    try:
        while True:
            try:
                kind, payload = q.get(timeout=5.0)
            except queue.Empty:
                if not proc.is_alive():
                    raise ParseError(f"the reader process died (exit code {proc.exitcode}); the records "
                                     "before it are kept", file=str(path))
                continue
            if kind == "items":
                for item in payload:
                    yield decode_item(item, as_dicts)
            elif kind == "error":
                raise payload
            else:
                break
    finally:
        os.close(watch_w)  # the child sees end-of-file and ends, even if it is blocked on the queue
        stop_process(proc)
        q.close()


def decode_item(item, as_dicts: bool):
    """An item as :func:`encode_item` sent it: a record (JSON bytes) as its dict (``as_dicts``) or as
    a :class:`Record`; a prepared record's :class:`~serendip.literature.prepared.Wire`
    (:func:`serendip.literature.prepared.prepare`) as a
    :class:`~serendip.literature.prepared.PreparedRecord`; anything else as itself (a Record sent as
    itself becomes its dict with ``as_dicts``)."""
    if isinstance(item, bytes):
        if isinstance(item, Wire):  # made ready to store by a parsing worker
            return PreparedRecord(item)
        data = orjson.loads(item)
        return data if as_dicts else Record.from_dict(data)
    return item.to_dict() if as_dicts and isinstance(item, Record) else item


def stop_process(proc) -> None:
    """End a child: SIGTERM, then SIGKILL if it has not ended within 5 s; joined either way."""
    if proc.is_alive():
        proc.terminate()
    proc.join(timeout=5)
    if proc.is_alive():
        proc.kill()
        proc.join(timeout=5)
