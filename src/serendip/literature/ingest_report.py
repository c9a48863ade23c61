"""The report of an ingest: counts, per-file lines, one-line summary, its row in the database, and
stored reports as table rows.

:class:`IngestReport` is what :func:`serendip.literature.ingest.ingest` returns; it is stored in table
``ingest_reports`` as ``running`` when the ingest starts (:func:`open_report`) and with its counts when
it ends (:func:`record_report`); :func:`close_dead_reports` closes the rows of ingests that died, and
:func:`report_row` turns a stored one into the strings of a table row.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone

from sqlalchemy import Engine, func, insert, select, update

from serendip.literature.file_report import FileReport
from serendip.workspace.schema import ingest_reports, records


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
    #: PMIDs a ``<DeleteCitation>`` of an earlier ingest (or an earlier file) had already withdrawn
    already_deleted: int = 0
    #: PMIDs of PubMed copies skipped because a ``<DeleteCitation>`` withdrew them (tombstones)
    withdrawn: list[str] = field(default_factory=list)
    #: one line per such copy: ``"<file>: line N, PMID X: skipped: deleted by DeleteCitation in <file>"``
    withdrawn_lines: list[str] = field(default_factory=list)
    #: the number of such copies per ``<DeleteCitation>`` file (``"DeleteCitation in update.xml"``)
    withdrawn_by: dict[str, int] = field(default_factory=dict)
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
        n = self.ingested + self.duplicates + self.skipped + len(self.withdrawn)
        return n / self.seconds if self.seconds > 0 else 0.0

    def to_dict(self) -> dict:
        return {"id": self.id, "paths": self.paths, "format": self.format, "ingested": self.ingested,
                "duplicates": self.duplicates, "failed": self.failed, "errors": self.errors,
                "merged": self.merged, "conflicts": self.conflicts, "encodings": self.encodings,
                "seconds": round(self.seconds, 3), "files": [f.to_dict() for f in self.files],
                "failed_files": [f.path for f in self.failed_files], "warnings": self.warnings,
                "files_failed": self.files_failed, "skipped": self.skipped, "deleted": self.deleted,
                "kept": self.kept, "not_found": self.not_found, "already_deleted": self.already_deleted,
                "withdrawn": self.withdrawn, "withdrawn_lines": self.withdrawn_lines,
                "withdrawn_by": self.withdrawn_by}

    def summary(self) -> str:
        """One line: ``"ingested 12, duplicates 3, records skipped 1, files failed 0 (2,400
        records/s)"``; with ``"; 2 merged into stored records, 1 conflicting value kept"`` and
        ``"; deleted 2, kept 1 (other files hold it), not in the workspace 1, already deleted 1"`` and
        ``"; 3 PubMed copies skipped: deleted by DeleteCitation in update.xml"`` after it when there were any (each
        ``<DeleteCitation>`` file named, with its count when there are several)."""
        merged = (f"; {self.merged} merged into stored records, {len(self.conflicts)} conflicting "
                  f"value{'s' if len(self.conflicts) != 1 else ''} kept" if self.merged or self.conflicts else "")
        deleted = ""
        if self.deleted or self.kept or self.not_found or self.already_deleted:
            deleted = (f"; deleted {self.deleted}, kept {len(self.kept)} (other files hold "
                       f"{'it' if len(self.kept) == 1 else 'them'}), not in the workspace {self.not_found}")
            if self.already_deleted:
                deleted += f", already deleted {self.already_deleted}"
        if self.withdrawn:
            by = [b if len(self.withdrawn_by) == 1 else f"{b} ({n})" for b, n in self.withdrawn_by.items()]
            deleted += (f"; {len(self.withdrawn)} PubMed cop{'y' if len(self.withdrawn) == 1 else 'ies'} "
                        f"skipped: deleted by {', '.join(by)}")
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


def open_report(engine: Engine, report: IngestReport) -> None:
    """Store ``report`` as a ``running`` row of table ``ingest_reports`` and set its ``id``."""
    with engine.begin() as conn:
        report.id = conn.execute(insert(ingest_reports).values(
            started_at=datetime.now(timezone.utc), status="running", paths=report.paths, format=report.format,
            ingested=0, duplicates=0, failed=0, errors=[])).inserted_primary_key[0]


def record_report(engine: Engine, report: IngestReport, status: str) -> None:
    """Store the counts of ``report`` and its ``status`` (``done``, ``failed`` or ``interrupted``) in
    its row. Tried twice (an interrupted commit can leave a pooled connection unusable: the engine's
    pool is then disposed); a failure to record an ingest that did not end ``done`` is not raised, so
    that it never masks the error that ended the ingest.

    Raises
    ------
    sqlalchemy.exc.SQLAlchemyError
        The row of a ``done`` ingest cannot be written.
    """
    for attempt in (1, 2):
        try:
            with engine.begin() as conn:
                conn.execute(update(ingest_reports).where(ingest_reports.c.id == report.id).values(
                    finished_at=datetime.now(timezone.utc), status=status, ingested=report.ingested,
                    duplicates=report.duplicates, failed=report.failed, errors=report.errors,
                    merged=report.merged, conflicts=report.conflicts, deleted=report.deleted,
                    skipped=report.skipped, withdrawn=len(report.withdrawn)))
            return
        except Exception:  # noqa: BLE001 - never mask the original error while recording the report
            if attempt == 1:
                engine.dispose()
            elif status == "done":
                raise


def close_dead_reports(engine: Engine, current: int) -> None:
    """Reports still ``running`` while this ingest holds the lock belong to ingests that died (killed,
    power lost): mark them ``interrupted`` with the records they did store (whole batches)."""
    with engine.begin() as conn:
        dead = conn.execute(select(ingest_reports.c.id).where(
            ingest_reports.c.status == "running", ingest_reports.c.id != current)).scalars().all()
        for report_id in dead:
            stored = conn.execute(select(func.count()).select_from(records).where(
                records.c.ingest_id == report_id)).scalar_one()
            conn.execute(update(ingest_reports).where(ingest_reports.c.id == report_id).values(
                status="interrupted", ingested=stored, finished_at=datetime.now(timezone.utc)))
