"""A skipped record, reported: the one shape every reader uses for "this record was not read"."""
from __future__ import annotations

from dataclasses import dataclass

from serendip.errors import ParseError


@dataclass(slots=True)
class Issue:
    """A record a reader could not read: reported, skipped, never silently dropped.

    ``file`` as given; ``reason`` in one sentence; ``line`` 1-based in ``file`` where known;
    ``record`` names the record (key, PMID, id or 1-based number).
    """

    file: str
    reason: str
    line: int | None = None
    record: str | None = None

    def __str__(self) -> str:
        where = [self.file]
        if self.line is not None:
            where.append(f"line {self.line}")
        if self.record:
            where.append(f"record {self.record}")
        return f"{', '.join(where)}: {self.reason}"

    def to_error(self) -> ParseError:
        """The same information as a :class:`~serendip.errors.ParseError` (for callers that raise)."""
        return ParseError(self.reason, file=self.file, line=self.line, record=self.record)
