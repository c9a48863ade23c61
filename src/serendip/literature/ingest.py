"""Ingestion: read files with the registered readers, deduplicate, store in batches, report.

Each batch of records is written in one transaction, so a killed ingest leaves only whole records
(the next ingest of the same file adds the rest and skips what is stored). Bad records never stop the
run: each is reported with file, line or record and reason, and kept in the report.
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
from serendip.errors import ConfigError, ParseError
from serendip.literature.batch_store import store_batch
from serendip.literature.prefetch import read_in_child
from serendip.literature.readers import reader_spec, reader_specs, sniff_format
from serendip.literature.record import ParseIssue, Record
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
    """What an ingest did. ``errors`` lists one line per skipped record (file, line/record, reason)."""

    id: int | None = None
    paths: list[str] = field(default_factory=list)
    format: str = "auto"
    ingested: int = 0
    duplicates: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0
    #: file -> the text encoding it was read with and how it was chosen (text formats only)
    encodings: dict[str, str] = field(default_factory=dict)
    #: duplicates that filled fields of the stored record (see :mod:`serendip.literature.merge`)
    merged: int = 0
    #: one line per conflicting value kept as an alternative (file, record, field, both values)
    conflicts: list[str] = field(default_factory=list)

    @property
    def records_per_s(self) -> float:
        n = self.ingested + self.duplicates + self.failed
        return n / self.seconds if self.seconds > 0 else 0.0

    def to_dict(self) -> dict:
        return {"id": self.id, "paths": self.paths, "format": self.format, "ingested": self.ingested,
                "duplicates": self.duplicates, "failed": self.failed, "errors": self.errors,
                "merged": self.merged, "conflicts": self.conflicts, "seconds": round(self.seconds, 3),
                "encodings": self.encodings}

    def summary(self) -> str:
        """One line: ``"ingested 12, duplicates 3, failed 1 (2,400 records/s)"``; with
        ``"; 2 merged into stored records, 1 conflicting value kept"`` after it when there were any."""
        merged = (f"; {self.merged} merged into stored records, {len(self.conflicts)} conflicting "
                  f"value{'s' if len(self.conflicts) != 1 else ''} kept" if self.merged or self.conflicts else "")
        return (f"ingested {self.ingested}, duplicates {self.duplicates}, failed {self.failed} "
                f"({self.records_per_s:,.0f} records/s){merged}")


#: the columns of :func:`report_row`, for a table of stored ingest reports
REPORT_COLUMNS = ("#", "started", "status", "ingested", "duplicates", "failed", "paths")


def report_row(stored: dict) -> tuple[str, ...]:
    """One stored ingest report (a row of table ``ingest_reports``, as ``Workspace.reports()`` gives)
    as the strings of :data:`REPORT_COLUMNS`: start time to the second, paths joined by ``", "``."""
    return (str(stored["id"]), str(stored["started_at"])[:19], stored["status"], str(stored["ingested"]),
            str(stored["duplicates"]), str(stored["failed"]), ", ".join(stored["paths"]))


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


def expand_paths(paths: Iterable[str | Path]) -> list[Path]:
    """Files to ingest: each path as given; a folder that is not a BEIR corpus yields its files.

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
            out.extend(sorted(f for f in p.rglob("*") if f.is_file() and not f.name.startswith(".")))
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
        out.append((spec.make(reader_options or None), reader_options or None))
    if options and not any_took:
        names = sorted({r.name for r, _ in out if not isinstance(r, ParseError)})
        takers = [s.name for s in reader_specs() if all(k in s.options for k in options)]
        raise ConfigError(f"reader options {sorted(options)} apply to none of the inputs "
                          f"(formats: {', '.join(names) or 'none recognised'}); they are for "
                          f"{', '.join(takers) or 'no format'}")
    return out


def _stream(reader, path: Path, options: dict | None) -> Iterator[Record | ParseIssue]:
    """The reader's records; a big file is parsed in a child process while this one stores (same
    records, same order)."""
    if not (path.is_file() and path.stat().st_size > PREFETCH_BYTES):
        return reader.read(path)
    return read_in_child(reader.name, path, options)


def _batched(items: Iterator[Record | ParseIssue], size: int, report: IngestReport):
    batch: list[Record] = []
    for item in items:
        if isinstance(item, ParseIssue):
            report.failed += 1
            report.errors.append(str(item))
            continue
        n_chars = len(item.title or "") + len(item.vernacular_title or "") + sum(
            len(sec.text) for sec in item.abstract_sections)
        if n_chars > MAX_RECORD_CHARS:
            report.failed += 1
            where = f"line {item.source_line}, " if item.source_line else ""
            report.errors.append(f"{item.source_file}: {where}{item.label}: title and abstract hold "
                                 f"{n_chars:,} characters, over the {MAX_RECORD_CHARS:,} limit; skipped")
            continue
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def ingest(engine: Engine, paths: Iterable[str | Path], fmt: str = "auto",
           progress: Callable[[int], None] | None = None, batch_size: int = BATCH,
           options: dict | None = None, encoding: str | None = None) -> IngestReport:
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

    Returns
    -------
    IngestReport, also stored in table ``ingest_reports``.

    Raises
    ------
    ParseError
        If a path is missing. A file whose format or encoding cannot be told, or that cannot be read
        at all, is reported as one error and the other files are still ingested.
    ConfigError
        ``encoding`` is not a text encoding, or no input takes the reader ``options``.
    """
    files = expand_paths(paths)
    if encoding:
        encoding = check_encoding(encoding)
    report = IngestReport(paths=[str(p) for p in files], format=fmt)
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
    try:
        lock = ingest_lock(engine)
        lock.__enter__()
        for path, (reader, reader_options) in zip(files, readers):
            if isinstance(reader, ParseError):  # format not recognised: reported, others go on
                report.failed += 1
                report.errors.append(str(reader))
                continue
            try:
                stream = _stream(reader, path, reader_options)
                for batch in _batched(stream, batch_size, report):
                    with engine.begin() as conn:
                        stored = store_batch(conn, batch, report.id)
                    report.ingested += stored.new
                    report.duplicates += stored.duplicates
                    report.merged += stored.merged
                    report.conflicts.extend(stored.conflicts)
                    gc.collect(1)
                    if progress:
                        progress(len(batch))
            except ParseError as exc:  # the whole file is unreadable: report it, go on with the others
                report.failed += 1
                report.errors.append(str(exc))
        status = "done"
    finally:
        if "lock" in locals():
            lock.__exit__(None, None, None)
        if gc_was_enabled:
            gc.enable()
        report.seconds = time.perf_counter() - t0
        try:
            with engine.begin() as conn:
                conn.execute(update(ingest_reports).where(ingest_reports.c.id == report.id).values(
                    finished_at=datetime.now(timezone.utc), status=status, ingested=report.ingested,
                    duplicates=report.duplicates, failed=report.failed, errors=report.errors,
                    merged=report.merged, conflicts=report.conflicts))
        except Exception:  # noqa: BLE001 - never mask the original error while recording the report
            if status == "done":
                raise
    return report
