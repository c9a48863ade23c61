"""Ingestion: read files with the registered readers, deduplicate, store in batches, report.

Each batch of records is written in one transaction, so a killed ingest leaves only whole records
(the next ingest of the same file adds the rest and skips what is stored). Bad records never stop the
run: each is reported with file, line or record and reason, and kept in the report.

Speed: records go from reader to database in their JSON form (:meth:`Record.to_dict`, what is stored
and merged): a file parsed in a child arrives as JSON and is only decoded, never rebuilt into a Record
(that rebuild, then ``to_dict`` again, was a fifth of the storing process's time); a file parsed by
several processes (:mod:`serendip.literature.parallel_read`) arrives made ready to store
(:mod:`serendip.literature.prepared`: keys, columns and the stored JSON text computed there); keys are computed
on that form (:func:`serendip.literature.dedupe.keys_of_dict`). A stored batch is emptied before the
per-batch young-generation collection, so the collection no longer rescans its records. The SQLite
settings are unchanged (WAL, ``synchronous=NORMAL``: a committed batch survives the process being
killed); a larger ``wal_autocheckpoint`` or ``cache_size`` showed no gain (the cache only added memory).

The inputs are checked before anything is written in :mod:`serendip.literature.ingest_inputs`; the
report and its database row are :mod:`serendip.literature.ingest_report`.
"""
from __future__ import annotations

import gc
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from serendip.errors import ParseError, SerendipError
from serendip.literature.batch_store import store_batch
from serendip.literature.deletions import CitationDeletion, apply_deletions
from serendip.literature.file_report import FileReport, is_empty, no_record_error
from serendip.literature.ingest_inputs import column_mapping, expand_paths, prepare
from serendip.literature.ingest_report import (
    REPORT_COLUMNS,
    IngestReport,
    close_dead_reports,
    open_report,
    record_report,
    report_row,
)
from serendip.literature.parallel_read import (
    read_parallel,
    supports_parallel,
    worker_count,
)
from serendip.literature.prefetch import read_in_child
from serendip.literature.prepared import PreparedRecord
from serendip.literature.record import ParseIssue, Record, record_label
from serendip.workspace.locks import ingest_lock

#: the names importers take from here (the report and the inputs live in their own modules)
__all__ = ["BATCH", "MAX_RECORD_CHARS", "PREFETCH_BYTES", "REPORT_COLUMNS", "WHOLE_FILE_ERRORS", "IngestReport",
           "column_mapping", "expand_paths", "ingest", "report_row"]

BATCH = 2000
#: a record whose title + abstract exceed this is reported and skipped (a real abstract is < 10,000
#: characters; a 50 MB one would make indexing take gigabytes of memory)
MAX_RECORD_CHARS = 1_000_000
#: files larger than this are parsed in a child process (see :mod:`serendip.literature.prefetch`)
PREFETCH_BYTES = 4 * 1024 * 1024


def _stream(reader, path: Path, options: dict | None) -> Iterator[dict | ParseIssue]:
    """The reader's records in their JSON form (:meth:`Record.to_dict`, what is stored and merged);
    a big file is parsed in a child process while this one stores (same records, same order), and
    the child's JSON arrives as dicts, never rebuilt into :class:`Record` objects."""
    if not (path.is_file() and path.stat().st_size > PREFETCH_BYTES):
        return (item.to_dict() if isinstance(item, Record) else item for item in reader.read(path))
    if supports_parallel(reader) and worker_count() >= 2:  # records come made ready to store
        return read_parallel(reader, path, options, prepared=True)
    return read_in_child(reader.name, path, options, as_dicts=True)


def _too_long(item: dict | PreparedRecord) -> int:
    """Characters of title, vernacular title and abstract when over :data:`MAX_RECORD_CHARS`, else 0."""
    n_chars = item.n_chars if isinstance(item, PreparedRecord) else len(item.get("title") or "") + len(
        item.get("vernacular_title") or "") + sum(len(sec.get("text") or "") for sec in item.get("abstract_sections") or ())
    return n_chars if n_chars > MAX_RECORD_CHARS else 0


#: the fields that identify a record; a record with none of them and no text is not stored
ID_FIELDS = ("pmid", "doi", "pmcid", "source_key")


def _is_blank(item: dict | PreparedRecord) -> bool:
    """True when ``item`` has no title, vernacular title or abstract text and none of :data:`ID_FIELDS`:
    nothing to search, show or match it by (``{}`` in a JSON Lines file, a line of another kind of JSON)."""
    if isinstance(item, PreparedRecord):  # its size and head fields tell, without decoding it, but pmcid
        if item.n_chars or item.get("pmid") or item.get("doi") or item.get("source_key"):
            return False
        item = item.data
    if item.get("title") or item.get("vernacular_title"):
        return False
    if any(sec.get("text") for sec in item.get("abstract_sections") or ()):
        return False
    return not any(item.get(name) for name in ID_FIELDS)


def _surrogate_in(value: Any, path: str = "") -> str | None:
    """``"<field> holds U+DCFF"`` for the first string in ``value`` (a record's JSON form, nested dicts and
    lists) holding a lone surrogate code point (U+D800-U+DFFF: not a Unicode character, so it cannot be
    encoded as UTF-8 and stored; a JSON text can spell one as ``"\\udcff"``), else None."""
    if isinstance(value, str):
        if not value.isascii():
            for ch in value:
                if "\ud800" <= ch <= "\udfff":
                    return f"{path or 'text'} holds U+{ord(ch):04X}"
        return None
    if isinstance(value, dict):
        items = value.items()
    elif isinstance(value, (list, tuple)):
        items = ((f"{i + 1}", v) for i, v in enumerate(value))
    else:
        return None
    for key, v in items:
        found = _surrogate_in(v, f"{path}.{key}" if path else str(key))
        if found:
            return found
    return None


def _skip_issue(item: dict | PreparedRecord, reason: str) -> ParseIssue:
    """A :class:`ParseIssue` naming ``item``'s file and line (or record number) and ``reason``."""
    index, line = item.get("source_index"), item.get("source_line")
    return ParseIssue(file=str(item.get("source_file")), line=line,
                      record=None if line is not None or index is None else str(index + 1), reason=reason)


def _blank_skipped(items: Iterator[dict | ParseIssue]) -> Iterator[dict | ParseIssue]:
    """``items`` with each record that cannot be stored replaced by a :class:`ParseIssue` naming its file
    and line (or number): a blank record (:func:`_is_blank`: it would be stored again by each ingest of
    the file, having no key to be found a duplicate by) and a record whose text holds a lone surrogate
    (:func:`_surrogate_in`; before, the UTF-8 encoding of its batch failed the whole file). The one check
    every reader's records go through, so such a record is reported and skipped like an unreadable
    one and the rest of the file is kept. A prepared record (a parsing worker's) was encoded by orjson
    already, which refuses surrogates: it holds none."""
    for item in items:
        if isinstance(item, (dict, PreparedRecord)) and _is_blank(item):
            fmt = item.get("source_format") or "record"
            yield _skip_issue(item, f"{fmt} record skipped: no title, no abstract and no identifier "
                                    f"(PMID, DOI, PMCID or id)")
        elif isinstance(item, dict) and (bad := _surrogate_in(item)):
            yield _skip_issue(item, f"{record_label(item)} skipped: its {bad}, a lone surrogate, not a Unicode "
                                    f"character (the text cannot be stored as UTF-8)")
        else:
            yield item


def _batched(items: Iterator[dict | ParseIssue], size: int, report: IngestReport):
    """Lists of ``size`` records (JSON form); the consumer may empty a list once it is stored."""
    batch: list[dict] = []
    for item in items:
        if isinstance(item, ParseIssue):
            report.failed += 1
            report.skipped += 1
            report.errors.append(str(item))
            continue
        if isinstance(item, CitationDeletion):  # applied after the records read before it are stored
            if batch:
                yield batch
                batch = []
            yield item
            continue
        n_chars = _too_long(item)
        if n_chars:
            report.failed += 1
            report.skipped += 1
            line = item.get("source_line")
            where = f"line {line}, " if line else ""
            report.errors.append(f"{item.get('source_file')}: {where}{record_label(item)}: title and "
                                 f"abstract hold {n_chars:,} characters, over the {MAX_RECORD_CHARS:,} "
                                 f"limit; skipped")
            continue
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


#: what makes one file fail whole (the other files are still ingested): a reader refusing the file, or
#: a file that cannot be opened, decompressed or decoded
WHOLE_FILE_ERRORS = (SerendipError, OSError, UnicodeError, EOFError)


def _counted(items: Iterator[dict | ParseIssue], entry: FileReport) -> Iterator[dict | ParseIssue]:
    for item in items:
        if isinstance(item, (dict, PreparedRecord)):
            entry.read += 1
        yield item


def _store_file(engine: Engine, reader, path: Path, reader_options: dict | None, report: IngestReport,
                entry: FileReport, progress: Callable[[int], None] | None, batch_size: int) -> None:
    """Read one file and store its records, a batch per transaction (the counts go in ``report``)."""
    source = _stream(reader, path, reader_options)
    try:
        _store_batches(engine, _counted(_blank_skipped(source), entry), report, progress, batch_size)
    finally:  # stop a parsing child now, even when storing failed or the ingest was interrupted
        close = getattr(source, "close", None)
        if close is not None:
            close()


def _store_batches(engine: Engine, stream: Iterator[dict | ParseIssue], report: IngestReport,
                   progress: Callable[[int], None] | None, batch_size: int) -> None:
    for batch in _batched(stream, batch_size, report):
        if isinstance(batch, CitationDeletion):
            _delete(engine, batch, report)
            continue
        with engine.begin() as conn:
            stored = store_batch(conn, batch, report.id)
        report.ingested += stored.new
        report.duplicates += stored.duplicates
        report.merged += stored.merged
        report.conflicts.extend(stored.conflicts)
        report.withdrawn.extend(stored.withdrawn)
        report.withdrawn_lines.extend(stored.withdrawn_lines)
        for by, n_by in stored.withdrawn_by.items():
            report.withdrawn_by[by] = report.withdrawn_by.get(by, 0) + n_by
        n = len(batch)
        batch.clear()  # free the batch's records before collecting: the collection then scans little
        gc.collect(1)
        if progress:
            progress(n)


def _delete(engine: Engine, deletion: CitationDeletion, report: IngestReport) -> None:
    """Apply one ``<DeleteCitation>`` in its own transaction and count what it did in ``report``."""
    with engine.begin() as conn:
        outcome = apply_deletions(conn, deletion)
    report.deleted += len(outcome.deleted)
    report.kept.extend(outcome.kept)
    report.not_found += len(outcome.not_found)
    report.already_deleted += len(outcome.already_deleted)


def _fail_whole(report: IngestReport, entry: FileReport, error: Exception | str) -> None:
    """Mark ``entry`` failed whole: its reason in ``entry.error``, one line ``<path>: <reason>`` in
    ``report.errors`` and one more in ``report.failed`` (as a whole-file failure always counted)."""
    message = str(error)
    entry.error = message.removeprefix(f"{entry.path}: ")
    report.failed += 1
    report.errors.append(message if message.startswith(entry.path) else f"{entry.path}: {message}")


#: the counts of a :class:`FileReport` taken as the growth of the :class:`IngestReport` ones (lists by length)
_FILE_COUNTS = ("ingested", "duplicates", "failed", "skipped", "deleted", "kept", "not_found", "already_deleted",
                "withdrawn")


def _counts(report: IngestReport) -> dict:
    """The :data:`_FILE_COUNTS` of ``report`` (a list by its length) and a copy of ``withdrawn_by``."""
    out: dict = {name: getattr(report, name) for name in _FILE_COUNTS}
    out.update((name, len(v)) for name, v in list(out.items()) if isinstance(v, list))
    out["withdrawn_by"] = dict(report.withdrawn_by)
    return out


def _set_file_counts(entry: FileReport, before: dict, after: dict) -> None:
    """Set ``entry``'s counts to what its file added to the ingest's (``after`` less ``before``)."""
    for name in _FILE_COUNTS:
        setattr(entry, name, after[name] - before[name])
    old = before["withdrawn_by"]
    entry.withdrawn_by = {by: n - old.get(by, 0) for by, n in after["withdrawn_by"].items() if n != old.get(by, 0)}


def _ingest_one(engine: Engine, path: Path, reader, reader_options: dict | None, fmt: str,
                report: IngestReport, progress: Callable[[int], None] | None, batch_size: int) -> None:
    """Ingest one file into ``report`` and add its :class:`FileReport`; a file that fails whole is
    reported (``report.failed`` + 1, one line in ``report.errors``), never raised."""
    unrecognised = isinstance(reader, ParseError)
    entry = FileReport(str(path), fmt if unrecognised else reader.name)
    report.files.append(entry)
    if is_empty(path):
        entry.warnings.append("empty file: nothing to ingest")
        return
    if unrecognised:  # format not recognised: reported, the others go on
        _fail_whole(report, entry, reader)
        return
    before = _counts(report)
    error: Exception | str | None = None
    try:
        _store_file(engine, reader, path, reader_options, report, entry, progress, batch_size)
    except WHOLE_FILE_ERRORS as exc:  # unreadable: report it, keep what came before, go on
        error = exc
    _set_file_counts(entry, before, _counts(report))
    if error is None and entry.read == 0 and not entry.has_deletions:
        if fmt != "auto":
            error = no_record_error(fmt)
        elif entry.skipped:  # every record it holds was skipped: nothing of this file is stored
            error = (f"none of its {entry.skipped} record(s) could be read (each is listed above as "
                     f"skipped)")
        else:
            entry.warnings.append(f"no record found (read as {entry.format})")
    if error is not None:
        _fail_whole(report, entry, error)


def ingest(engine: Engine, paths: Iterable[str | Path], fmt: str = "auto",
           progress: Callable[[int], None] | None = None, batch_size: int = BATCH,
           options: dict | None = None, encoding: str | None = None,
           on_wait: Callable[[str], None] | None = None) -> IngestReport:
    """Ingest files into the workspace database.

    Parameters
    ----------
    engine : the workspace's SQLAlchemy engine.
    paths : files or folders; a folder holding ``corpus.jsonl[.gz]`` is one BEIR corpus.
    fmt : a reader name from :data:`serendip.literature.readers.READERS`, or ``"auto"`` to sniff.
    progress : called with the number of records handled since the last call (for a progress bar).
    options : reader options, e.g. ``{"mapping": {"title": "Headline"}}`` (CSV column mapping).
    encoding : the text encoding of files without a byte-order mark (``--encoding``, e.g.
        ``"cp1252"``); None detects each file's (:func:`serendip.core.files.detect_encoding`). The
        encoding each text file is read with is in the report's ``encodings``.
    on_wait : told, in one sentence, when this ingest waits for another's lock (see
        :func:`serendip.workspace.locks.ingest_lock`).

    Returns
    -------
    IngestReport, also stored in table ``ingest_reports``, with one
    :class:`~serendip.literature.file_report.FileReport` per file in ``files``.

    Raises
    ------
    ParseError
        If a path is missing.
    ConfigError
        An unknown format, ``encoding`` empty or not a text encoding, or reader options no input takes.

    A file that fails whole (format not recognised, unreadable, rejected by its reader, or no record
    found by a format given explicitly) is reported as one error, keeps the records stored before the
    failure, and the other files are still ingested. An empty file is skipped with a warning.
    """
    files, readers, report = prepare(paths, fmt, options, encoding)
    # Automatic garbage collection rescans every live object as records pile up and cost half of the
    # ingest time; records hold no reference cycles, so collect young objects once per batch instead.
    gc_was_enabled = gc.isenabled()
    gc.disable()
    t0 = time.perf_counter()
    open_report(engine, report)
    status = "failed"
    lock = ingest_lock(engine, on_wait=on_wait)
    locked = False
    try:
        lock.__enter__()
        locked = True
        close_dead_reports(engine, report.id)
        for path, (reader, reader_options) in zip(files, readers):
            _ingest_one(engine, path, reader, reader_options, fmt, report, progress, batch_size)
        status = "done"
    except (KeyboardInterrupt, SystemExit):  # Ctrl-C, or SIGTERM in the CLI: stored batches are kept
        status = "interrupted"
        raise
    finally:
        if locked:
            lock.__exit__(None, None, None)
        if gc_was_enabled:
            gc.enable()
        report.seconds = time.perf_counter() - t0
        record_report(engine, report, status)
    return report
