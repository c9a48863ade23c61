"""Ingestion: read files with the registered readers, deduplicate, store in batches, report.

Each batch of records is written in one transaction, so a killed ingest leaves only whole records
(the next ingest of the same file adds the rest and skips what is stored). Bad records never stop the
run: each is reported with file, line or record and reason, and kept in the report.

Speed: records go from reader to database in their JSON form (:meth:`Record.to_dict`, what is stored
and merged): a file parsed in a child arrives as JSON and is only decoded, never rebuilt into a Record
(that rebuild, then ``to_dict`` again, was a fifth of the storing process's time); keys are computed
on that form (:func:`serendip.literature.dedupe.keys_of_dict`). A stored batch is emptied before the
per-batch young-generation collection, so the collection no longer rescans its records. The SQLite
settings are unchanged (WAL, ``synchronous=NORMAL``: a committed batch survives the process being
killed); a larger ``wal_autocheckpoint`` or ``cache_size`` showed no gain (the cache only added memory).
"""
from __future__ import annotations

import gc
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy import Engine, insert, update

from serendip.core.files import check_encoding, detect_encoding
from serendip.errors import ConfigError, ParseError, SerendipError
from serendip.literature.batch_store import store_batch
from serendip.literature.deletions import CitationDeletion, apply_deletions
from serendip.literature.file_report import FileReport, is_empty, no_record_error
from serendip.literature.prefetch import read_in_child
from serendip.literature.readers import reader_spec, reader_specs, sniff_format
from serendip.literature.record import ParseIssue, Record, record_label
from serendip.workspace.locks import ingest_lock
from serendip.workspace.schema import ingest_reports

BATCH = 2000
#: a record whose title + abstract exceed this is reported and skipped (a real abstract is < 10,000
#: characters; a 50 MB one would make indexing take gigabytes of memory)
MAX_RECORD_CHARS = 1_000_000
#: files larger than this are parsed in a child process (see :mod:`serendip.literature.prefetch`)
PREFETCH_BYTES = 4 * 1024 * 1024


@dataclass
class IngestReport:
    """What an ingest did. ``errors`` lists one line per skipped record (file, line/record, reason)
    and per file that failed whole; ``failed`` counts both, ``skipped`` the records alone (and
    :attr:`files_failed` the files). ``deleted``, ``kept`` and ``not_found`` tell what the PubMed
    ``<DeleteCitation>`` PMIDs did (:mod:`serendip.literature.deletions`): ``kept`` holds one line per
    record kept because other files hold it."""

    id: int | None = None
    paths: list[str] = field(default_factory=list)
    format: str = "auto"
    ingested: int = 0
    duplicates: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0
    files: list[FileReport] = field(default_factory=list)
    #: file -> the text encoding it was read with and how it was chosen (text formats only)
    encodings: dict[str, str] = field(default_factory=dict)
    #: duplicates that filled fields of the stored record (see :mod:`serendip.literature.merge`)
    merged: int = 0
    #: one line per conflicting value kept as an alternative (file, record, field, both values)
    conflicts: list[str] = field(default_factory=list)
    skipped: int = 0
    deleted: int = 0
    kept: list[str] = field(default_factory=list)
    not_found: int = 0
    #: warnings about the inputs as given (a folder holding no file), before the per-file ones
    input_warnings: list[str] = field(default_factory=list)

    @property
    def files_failed(self) -> int:
        """The number of files that failed whole."""
        return len(self.failed_files)

    @property
    def failed_files(self) -> list[FileReport]:
        """The files that failed whole (nothing, or only a part before the failure, ingested)."""
        return [f for f in self.files if f.failed_whole]

    @property
    def warnings(self) -> list[str]:
        """One line per input warning (a folder holding no file) and per file warning (an empty file,
        no record found)."""
        return [*self.input_warnings, *(f"{f.path}: {w}" for f in self.files for w in f.warnings)]

    @property
    def records_per_s(self) -> float:
        n = self.ingested + self.duplicates + self.skipped
        return n / self.seconds if self.seconds > 0 else 0.0

    def to_dict(self) -> dict:
        return {"id": self.id, "paths": self.paths, "format": self.format, "ingested": self.ingested,
                "duplicates": self.duplicates, "failed": self.failed, "errors": self.errors,
                "merged": self.merged, "conflicts": self.conflicts, "encodings": self.encodings,
                "seconds": round(self.seconds, 3), "files": [f.to_dict() for f in self.files],
                "failed_files": [f.path for f in self.failed_files], "warnings": self.warnings,
                "files_failed": self.files_failed, "skipped": self.skipped, "deleted": self.deleted,
                "kept": self.kept, "not_found": self.not_found}

    def summary(self) -> str:
        """One line: ``"ingested 12, duplicates 3, records skipped 1, files failed 0 (2,400
        records/s)"``; with ``"; 2 merged into stored records, 1 conflicting value kept"`` and
        ``"; deleted 2, kept 1 (other files hold it), not found 1"`` after it when there were any."""
        merged = (f"; {self.merged} merged into stored records, {len(self.conflicts)} conflicting "
                  f"value{'s' if len(self.conflicts) != 1 else ''} kept" if self.merged or self.conflicts else "")
        deleted = ""
        if self.deleted or self.kept or self.not_found:
            deleted = (f"; deleted {self.deleted}, kept {len(self.kept)} (other files hold "
                       f"{'it' if len(self.kept) == 1 else 'them'}), not found {self.not_found}")
        return (f"ingested {self.ingested}, duplicates {self.duplicates}, records skipped {self.skipped}, "
                f"files failed {self.files_failed} ({self.records_per_s:,.0f} records/s){merged}{deleted}")


#: the columns of :func:`report_row`, for a table of stored ingest reports
REPORT_COLUMNS = ("#", "started", "status", "ingested", "duplicates", "deleted", "failed", "paths")


def _failed_cell(stored: dict) -> str:
    """``"1 file, 2 records skipped"`` (the parts that are not zero; ``"0"`` for none); a report
    stored before the split (``skipped`` NULL) gives its total as ``"3 (files + records)"``."""
    failed, skipped = stored["failed"] or 0, stored.get("skipped")
    if skipped is None:
        return f"{failed} (files + records)" if failed else "0"
    files = failed - skipped
    parts = [f"{files} file{'s' if files != 1 else ''}" if files else "",
             f"{skipped} record{'s' if skipped != 1 else ''} skipped" if skipped else ""]
    return ", ".join(p for p in parts if p) or "0"


def report_row(stored: dict, paths_sep: str = ", ") -> tuple[str, ...]:
    """One stored ingest report (a row of table ``ingest_reports``, as ``Workspace.reports()`` gives)
    as the strings of :data:`REPORT_COLUMNS`: start time to the second, files failed whole and records
    skipped told apart (:func:`_failed_cell`), paths joined by ``paths_sep``."""
    return (str(stored["id"]), str(stored["started_at"])[:19], stored["status"], str(stored["ingested"]),
            str(stored["duplicates"]), str(stored.get("deleted") or 0), _failed_cell(stored),
            paths_sep.join(stored["paths"]))


def column_mapping(items: Iterable[str]) -> dict[str, str]:
    """A CSV/TSV column mapping from ``FIELD=COLUMN`` strings (``serendip ingest --map``).

    Parameters
    ----------
    items : iterable of str
        E.g. ``["title=Headline", "abstract = Summary"]``; spaces around either side are dropped.

    Returns
    -------
    dict of str to str
        Record field -> column name (a later item for one field wins); empty for no items.

    Raises
    ------
    ConfigError
        An item without ``=`` or with an empty side.
    """
    mapping: dict[str, str] = {}
    for item in items:
        field_name, sep, column = item.partition("=")
        if not sep or not field_name.strip() or not column.strip():
            raise ConfigError(f"--map expects FIELD=COLUMN, got {item!r}")
        mapping[field_name.strip()] = column.strip()
    return mapping


def expand_paths(paths: Iterable[str | Path], empty: list[str] | None = None) -> list[Path]:
    """Files to ingest: each path as given; a folder that is not a BEIR corpus yields its files
    (hidden ones left out). A folder that yields none is named in ``empty`` when given.

    Raises
    ------
    ParseError
        If a path does not exist.
    """
    out: list[Path] = []
    for p in map(Path, paths):
        if not p.exists():
            raise ParseError("no such file or folder", file=str(p))
        if p.is_dir() and not any((p / n).exists() for n in ("corpus.jsonl", "corpus.jsonl.gz")):
            found = sorted(f for f in p.rglob("*") if f.is_file() and not f.name.startswith("."))
            if not found and empty is not None:
                empty.append(str(p))
            out.extend(found)
        else:
            out.append(p)
    return out


def _readers_for(files: list[Path], fmt: str, options: dict | None, encoding: str | None = None,
                 encodings: dict[str, str] | None = None) -> list:
    """Pick every file's reader before anything is written, so bad options fail up front.

    Options (a CSV column mapping) go to the readers that take them; it is an error only if none does.
    ``encoding`` (``--encoding``) goes to every reader of a text format (one taking ``encoding``),
    and the encoding each such file is read with is put in ``encodings`` (file -> description).
    A file whose format or text encoding cannot be told gets its ParseError in place of a reader.
    """
    out = []
    any_took = False
    for path in files:
        try:
            spec = reader_spec(fmt) if fmt != "auto" else sniff_format(path, encoding)
            takes = bool(options) and all(k in spec.options for k in options)
            any_took |= takes
            reader_options = dict(options) if takes else {}
            if "encoding" in spec.options and path.is_file():
                used = detect_encoding(path, encoding)
                if encodings is not None:
                    encodings[str(path)] = used.describe()
                if encoding:
                    reader_options["encoding"] = encoding
        except ParseError as exc:
            out.append((exc, None))
            continue
        except (OSError, EOFError) as exc:  # cannot be opened or un-gzipped to sniff: fails whole
            out.append((ParseError(f"cannot be read ({exc})", file=str(path)), None))
            continue
        out.append((spec.make(reader_options or None), reader_options or None))
    if options and not any_took:
        names = sorted({r.name for r, _ in out if not isinstance(r, ParseError)})
        takers = [s.name for s in reader_specs() if all(k in s.options for k in options)]
        raise ConfigError(f"reader options {sorted(options)} apply to none of the inputs "
                          f"(formats: {', '.join(names) or 'none recognised'}); they are for "
                          f"{', '.join(takers) or 'no format'}")
    return out


def _stream(reader, path: Path, options: dict | None) -> Iterator[dict | ParseIssue]:
    """The reader's records in their JSON form (:meth:`Record.to_dict`, what is stored and merged);
    a big file is parsed in a child process while this one stores (same records, same order), and
    the child's JSON arrives as dicts, never rebuilt into :class:`Record` objects."""
    if not (path.is_file() and path.stat().st_size > PREFETCH_BYTES):
        return (item.to_dict() if isinstance(item, Record) else item for item in reader.read(path))
    return read_in_child(reader.name, path, options, as_dicts=True)


def _too_long(item: dict) -> int:
    """Characters of title, vernacular title and abstract when over :data:`MAX_RECORD_CHARS`, else 0."""
    n_chars = len(item.get("title") or "") + len(item.get("vernacular_title") or "") + sum(
        len(sec.get("text") or "") for sec in item.get("abstract_sections") or ())
    return n_chars if n_chars > MAX_RECORD_CHARS else 0


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
        if isinstance(item, dict):
            entry.read += 1
        yield item


def _store_file(engine: Engine, reader, path: Path, reader_options: dict | None, report: IngestReport,
                entry: FileReport, progress: Callable[[int], None] | None, batch_size: int) -> None:
    """Read one file and store its records, a batch per transaction (the counts go in ``report``)."""
    source = _stream(reader, path, reader_options)
    try:
        _store_batches(engine, _counted(source, entry), report, progress, batch_size)
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


def _fail_whole(report: IngestReport, entry: FileReport, error: Exception | str) -> None:
    """Mark ``entry`` failed whole: its reason in ``entry.error``, one line ``<path>: <reason>`` in
    ``report.errors`` and one more in ``report.failed`` (as a whole-file failure always counted)."""
    message = str(error)
    entry.error = message.removeprefix(f"{entry.path}: ")
    report.failed += 1
    report.errors.append(message if message.startswith(entry.path) else f"{entry.path}: {message}")


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
    before = (report.ingested, report.duplicates, report.failed, report.skipped, report.deleted,
              len(report.kept), report.not_found)
    error: Exception | str | None = None
    try:
        _store_file(engine, reader, path, reader_options, report, entry, progress, batch_size)
    except WHOLE_FILE_ERRORS as exc:  # unreadable: report it, keep what came before, go on
        error = exc
    entry.ingested = report.ingested - before[0]
    entry.duplicates = report.duplicates - before[1]
    entry.failed = report.failed - before[2]
    entry.skipped = report.skipped - before[3]
    entry.deleted, entry.kept = report.deleted - before[4], len(report.kept) - before[5]
    entry.not_found = report.not_found - before[6]
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


def _close_dead_reports(engine: Engine, current: int) -> None:
    """Reports still ``running`` while this ingest holds the lock belong to ingests that died (killed,
    power lost): mark them ``interrupted`` with the records they did store (whole batches)."""
    from sqlalchemy import func, select

    from serendip.workspace.schema import records

    with engine.begin() as conn:
        dead = conn.execute(select(ingest_reports.c.id).where(
            ingest_reports.c.status == "running", ingest_reports.c.id != current)).scalars().all()
        for report_id in dead:
            stored = conn.execute(select(func.count()).select_from(records).where(
                records.c.ingest_id == report_id)).scalar_one()
            conn.execute(update(ingest_reports).where(ingest_reports.c.id == report_id).values(
                status="interrupted", ingested=stored, finished_at=datetime.now(timezone.utc)))


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
    empty_folders: list[str] = []
    files = expand_paths(paths, empty_folders)
    if encoding is not None and not encoding.strip():
        raise ConfigError("--encoding is empty: give a text encoding such as cp1252 or latin-1, or leave "
                          "the option out to detect each file's")
    if encoding:
        encoding = check_encoding(encoding)
    report = IngestReport(paths=[str(p) for p in files], format=fmt,
                          input_warnings=[f"no files in {d}: nothing to ingest" for d in empty_folders])
    readers = _readers_for(files, fmt, options, encoding, report.encodings)
    # Automatic garbage collection rescans every live object as records pile up and cost half of the
    # ingest time; records hold no reference cycles, so collect young objects once per batch instead.
    gc_was_enabled = gc.isenabled()
    gc.disable()
    t0 = time.perf_counter()
    with engine.begin() as conn:
        report.id = conn.execute(insert(ingest_reports).values(
            started_at=datetime.now(timezone.utc), status="running", paths=report.paths, format=fmt,
            ingested=0, duplicates=0, failed=0, errors=[])).inserted_primary_key[0]
    status = "failed"
    lock = ingest_lock(engine, on_wait=on_wait)
    locked = False
    try:
        lock.__enter__()
        locked = True
        _close_dead_reports(engine, report.id)
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
        for attempt in (1, 2):
            try:
                with engine.begin() as conn:
                    conn.execute(update(ingest_reports).where(ingest_reports.c.id == report.id).values(
                        finished_at=datetime.now(timezone.utc), status=status, ingested=report.ingested,
                        duplicates=report.duplicates, failed=report.failed, errors=report.errors,
                        merged=report.merged, conflicts=report.conflicts, deleted=report.deleted,
                        skipped=report.skipped))
                break
            except Exception:  # noqa: BLE001 - never mask the original error while recording the report
                if attempt == 1:  # an interrupted commit can leave a pooled connection unusable
                    engine.dispose()
                elif status == "done":
                    raise
    return report
