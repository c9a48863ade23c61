"""What an ingest did with each input file: the per-file lines of an ingest report.

A file *fails whole* when nothing of it could be read as records: its format is not recognised, it
cannot be opened or decoded, a reader rejects it (a CSV without a title or abstract column), or a format
given with ``--format`` finds no record in it. The records of a file read before a failure are kept.
An empty file, or one in which the sniffed format finds no record, is only warned about.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

from serendip.errors import ParseError

#: the columns of :meth:`FileReport.row`, for a per-file summary table
FILE_COLUMNS = ("file", "format", "read", "ingested", "duplicates", "skipped", "status")


@dataclass
class FileReport:
    """One input file of an ingest.

    ``read`` counts the records the reader yielded; ``skipped`` the bad records skipped (unparsable
    ones, which ``read`` does not count, and records over the size limit); ``failed`` is ``skipped``
    plus one when the file failed whole; ``error`` is set when the file failed whole; ``warnings``
    holds other notes (empty file, no record found). ``deleted``, ``kept`` and ``not_found`` count the
    PMIDs of its ``<DeleteCitation>`` (PubMed update files): records deleted, records kept because
    another file holds them, PMIDs the workspace does not hold (and did not when an earlier deletion
    withdrew them: "not in the workspace"); ``already_deleted`` the PMIDs whose records an earlier
    deletion removed; ``withdrawn`` the PubMed copies in this file skipped because a deletion read
    before withdrew their PMID, and ``withdrawn_by`` the same per ``<DeleteCitation>`` file (keyed
    ``"DeleteCitation in update.xml"``).
    """

    path: str
    format: str = "?"
    read: int = 0
    ingested: int = 0
    duplicates: int = 0
    failed: int = 0
    error: str | None = None
    warnings: list[str] = field(default_factory=list)
    skipped: int = 0
    deleted: int = 0
    kept: int = 0
    not_found: int = 0
    already_deleted: int = 0
    withdrawn: int = 0
    withdrawn_by: dict[str, int] = field(default_factory=dict)

    @property
    def has_deletions(self) -> bool:
        return bool(self.deleted or self.kept or self.not_found or self.already_deleted)

    def deletion_note(self) -> str:
        """``"deleted 2, kept 1 (other files hold it), not in the workspace 1"``; empty without deletions."""
        if not self.has_deletions:
            return ""
        note = (f"deleted {self.deleted}, kept {self.kept} (other files hold {'it' if self.kept == 1 else 'them'}), "
                f"not in the workspace {self.not_found}")
        return note + (f", already deleted {self.already_deleted}" if self.already_deleted else "")

    def withdrawn_notes(self) -> list[str]:
        """One line per ``<DeleteCitation>`` file that withdrew PubMed copies in this file: ``"2 PubMed
        records skipped: deleted by DeleteCitation in update.xml"``."""
        return [f"{n} PubMed record{'s' if n != 1 else ''} skipped: deleted by {by}"
                for by, n in self.withdrawn_by.items()]

    @property
    def failed_whole(self) -> bool:
        return self.error is not None

    def status(self) -> str:
        """``"FAILED"`` (whole file), ``"empty"``, ``"warning"`` or ``"ok"``; the reasons are in
        ``error`` and ``warnings``."""
        if self.error is not None:
            return "FAILED"
        if self.warnings:
            return "empty" if self.warnings[0].startswith("empty file") else "warning"
        return "ok"

    def error_line(self) -> str | None:
        """``"<path>: <reason>"`` for a file that failed whole (as in the report's ``errors``)."""
        return None if self.error is None else f"{self.path}: {self.error}"

    def row(self) -> tuple[str, ...]:
        """The strings of :data:`FILE_COLUMNS`."""
        return (self.path, self.format, str(self.read), str(self.ingested), str(self.duplicates),
                str(self.skipped), self.status())

    def to_dict(self) -> dict:
        return asdict(self)


def no_record_error(fmt: str) -> str:
    """The whole-file failure of a format given with ``--format`` that finds no record."""
    return (f"format {fmt!r} (given with --format) found no record in this file; check the format, or "
            "leave --format out to recognise it")


def is_empty(path) -> bool:
    """True for a regular file of 0 bytes, or holding only whitespace (un-gzipped when compressed)."""
    from serendip.literature.readers import read_head

    try:
        if not path.is_file():
            return False
        if path.stat().st_size == 0:
            return True
        if path.stat().st_size > 4096:
            return False
        return not read_head(path, 8192).strip()
    except (OSError, EOFError, ParseError):  # unreadable or undecodable: not empty; its reader says why
        return False
