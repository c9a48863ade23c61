"""Line-level input for :mod:`serendip.genomics.fasta`: UTF-8 text with universal newlines (plain or
gzip by magic bytes), the FASTA/FASTQ sniffer, and the line-tracking handle Biopython reads through (so
every record's header line is known). Kept apart so each module stays small.
"""
from __future__ import annotations

import gzip
import io
import zlib
from pathlib import Path
from typing import Literal

from serendip.errors import ParseError

_GZIP_MAGIC = b"\x1f\x8b"


def _open_text(path: Path) -> io.TextIOBase:
    """Open ``path`` as UTF-8 text with universal newlines, un-gzipping by magic bytes."""
    try:
        with open(path, "rb") as fh:
            magic = fh.read(2)
        # returned open: the caller closes it (``with _open_text(...)``)
        raw = gzip.open(path, "rb") if magic == _GZIP_MAGIC else open(path, "rb")  # noqa: SIM115
    except OSError as exc:
        raise ParseError(f"cannot read file: {exc}", file=str(path)) from None
    return io.TextIOWrapper(raw, encoding="utf-8-sig", newline=None)


def sniff_format(path: str | Path, max_lines: int = 100) -> Literal["fasta", "fastq"] | None:
    """``"fasta"`` or ``"fastq"`` from the first line starting with ``>`` or ``@``.

    Only the first ``max_lines`` non-blank lines are looked at (a few lines of text before the first
    record are allowed; :func:`iter_sequences` reports them).

    Returns
    -------
    str or None
        None for an empty (or all-blank) file.

    Raises
    ------
    ParseError
        The file cannot be read, or none of its first ``max_lines`` non-blank lines starts with
        ``>`` or ``@`` (the message quotes the first one).
    """
    path = Path(path)
    first: tuple[int, str] | None = None
    seen = 0
    with _open_text(path) as fh:
        try:
            for no, line in enumerate(fh, 1):
                if line[:1] == ">":
                    return "fasta"
                if line[:1] == "@":
                    return "fastq"
                text = line.strip()
                if not text:
                    continue
                first = first or (no, text)
                seen += 1
                if seen >= max_lines:
                    break
        except (UnicodeDecodeError, OSError, EOFError, zlib.error) as exc:
            raise ParseError(f"cannot read file: {exc}", file=str(path)) from None
    if first is not None:
        raise ParseError(f"not FASTA or FASTQ: no line starts with '>' or '@' (line {first[0]} starts "
                         f"with {first[1][:20]!r})", file=str(path), line=first[0])
    return None


class _TrackedLines:
    """A read-only text handle that counts lines and keeps the lines of the record being read.

    Biopython reads through it (``readline`` and iteration only). ``buffer`` holds
    ``(line number, text)`` since the last :meth:`take`; ``eof`` says the stream is exhausted.
    """

    def __init__(self, stream: io.TextIOBase):
        self._stream = stream
        self.lineno = 0
        self.buffer: list[tuple[int, str]] = []
        self.eof = False
        self._pending: tuple[int, str] | None = None

    # the handle protocol Biopython needs
    def read(self, n: int = -1) -> str:
        if n == 0:
            return ""
        raise io.UnsupportedOperation("read")

    def readline(self) -> str:
        if self._pending is not None:
            item, self._pending = self._pending, None
            self.buffer.append(item)
            return item[1]
        line = self._stream.readline()
        if not line:
            self.eof = True
            return ""
        self.lineno += 1
        self.buffer.append((self.lineno, line))
        return line

    def __iter__(self) -> _TrackedLines:
        return self

    def __next__(self) -> str:
        line = self.readline()
        if not line:
            raise StopIteration
        return line

    # helpers for this module
    def skip_to(self, marker: str) -> tuple[int, int, int]:
        """Skip lines until one starting with ``marker``; it is read again by the next ``readline``.

        Returns (first, last, count) of the skipped non-blank lines (0, 0, 0 when none).
        """
        first = last = count = 0
        while True:
            line = self._stream.readline()
            if not line:
                self.eof = True
                break
            self.lineno += 1
            if line[0] == marker:
                self._pending = (self.lineno, line)
                break
            if line.strip():
                first = first or self.lineno
                last = self.lineno
                count += 1
        return first, last, count

    def take(self) -> list[tuple[int, str]]:
        """Lines of the record just returned by the parser (the next header, if read, stays)."""
        if self.eof or len(self.buffer) < 2:
            lines, self.buffer = self.buffer, []
        else:
            lines, self.buffer = self.buffer[:-1], self.buffer[-1:]
        return lines
