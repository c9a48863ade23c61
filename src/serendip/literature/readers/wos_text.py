"""Web of Science plain-text export (*Plain text file* / *Other reference software*).

Shape (Clarivate, *Web of Science Core Collection Field Tags*; the sample exports in
knh11545/commandline4expertsearchers test/data/WoS_other_reference_software_*.txt)::

    FN Clarivate Analytics Web of Science
    VR 1.0
    PT J
    AU Asampong, E
       Gyeke, MDP
    TI Caregivers' views on stigmatization and discrimination of people
       affected by leprosy in Ghana
    ...
    UT WOS:000424022700066
    PM 29377890
    ER

    EF

A field is a two-letter tag, one space and its value; each following line indented by three spaces
continues it: another value for the list fields (authors, addresses), the wrapped text otherwise.
``FN``/``VR`` open the file, ``ER`` closes a record, ``EF`` the file. The fields are mapped by
:func:`serendip.literature.readers._wos_fields.wos_record`; ``UT`` is the ``source_key``.
"""
from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from serendip.core.files import bad_bytes, read_text_lenient
from serendip.literature.readers import register_reader
from serendip.literature.readers._wos_fields import LIST_TAGS, head_text, wos_record
from serendip.literature.record import ParseIssue, Record

_LINE_END = re.compile(r"\r\n|\r|\n")
_FIELD = re.compile(r"^([A-Z][A-Z0-9])(?: (.*))?$")
_FILE_TAGS = ("FN", "VR", "EF")
_STRAY = "text outside a record (no 'PT' line before it) skipped"


class _Chunk:
    """One record: its first line, ``{tag: [lines]}`` and why it is broken if it is."""

    __slots__ = ("line", "fields", "last", "error")

    def __init__(self, line: int):
        self.line = line
        self.fields: dict[str, list[str]] = {}
        self.last: str | None = None
        self.error: str | None = None

    def add(self, no: int, line: str) -> None:
        if (m := _FIELD.match(line)):
            self.last = m.group(1)
            self.fields.setdefault(self.last, []).append(m.group(2) or "")
        elif line.startswith(" ") and self.last is not None:
            self.fields[self.last].append(line.strip())
        elif self.error is None:
            self.error = f"line {no} is neither a field tag nor an indented continuation: {line[:40]!r}"
        if self.error is None and (bad := bad_bytes(line)) is not None:
            self.error = f"line {no} is not UTF-8 text ({bad})"

    def values(self) -> dict[str, str]:
        return {tag: ("; " if tag in LIST_TAGS else " ").join(v for v in parts if v)
                for tag, parts in self.fields.items()}


def _split(lines: list[str], file: str) -> Iterator[_Chunk | ParseIssue]:
    """Group lines into records (``PT`` or the first field after ``ER`` .. ``ER``); report stray text
    and records left open."""
    chunk: _Chunk | None = None
    stray: int | None = None
    for no, line in enumerate(lines, 1):
        m = _FIELD.match(line)
        tag = m.group(1) if m else None
        if chunk is None:
            if tag in _FILE_TAGS or not line.strip():
                continue
            if tag is not None and tag != "ER":
                if stray is not None:
                    yield ParseIssue(file=file, line=stray, reason=_STRAY)
                    stray = None
                chunk = _Chunk(no)
                chunk.add(no, line)
            elif stray is None:
                stray = no
            continue
        if tag == "ER":
            yield chunk
            chunk = None
        elif tag == "PT" and "PT" in chunk.fields:
            chunk.error = f"no 'ER' line before the next 'PT' (line {no})"
            yield chunk
            chunk = _Chunk(no)
            chunk.add(no, line)
        elif line.strip():
            chunk.add(no, line)
    if chunk is not None:
        chunk.error = chunk.error or "no 'ER' line before the end of the file"
        yield chunk
    elif stray is not None:
        yield ParseIssue(file=file, line=stray, reason=_STRAY)


@register_reader("wos", label="Web of Science plain-text export (FN/VR/ER)", aliases=("wos-text", "isi"),
                 priority=45, id_keyed=True, id_namespace="")
class WosTextReader:
    """Read a Web of Science plain-text export: one :class:`Record` per ``PT`` ... ``ER`` block."""

    name = "wos"

    def __init__(self, encoding: str | None = None) -> None:
        self.encoding = encoding  # the file's text encoding (--encoding); None: BOM, then detected

    def sniff(self, path: Path, head: bytes) -> bool:
        """True when the first line is ``FN <exporter>`` followed by ``VR``, or a ``PT <type>`` line
        (UTF-8, or UTF-16 with a BOM)."""
        lines = [ln for ln in _LINE_END.split(head_text(head)) if ln.strip()][:2]
        if len(lines) == 2 and lines[0].startswith("FN ") and lines[1].startswith("VR "):
            return True
        return bool(lines) and re.fullmatch(r"PT [A-Z]\s*", lines[0]) is not None

    def read(self, path: Path) -> Iterator[Record | ParseIssue]:
        """Yield a :class:`Record` per record, a :class:`ParseIssue` per record skipped.

        Parameters
        ----------
        path : Path
            A Web of Science plain-text export.

        Yields
        ------
        Record or ParseIssue
            ``source_line`` is the record's first line (1-based), ``source_index`` its 0-based
            position among the records (skipped ones counted), ``source_key`` the ``UT`` accession.
            Skipped with an issue: a record without ``ER`` (before the next ``PT`` or the end of the
            file), one with a line that is neither a field nor a continuation or holds bytes that
            are not UTF-8, one with neither title nor abstract; text outside any record.

        Raises
        ------
        ParseError
            The file cannot be read.
        """
        file = str(path)
        lines = _LINE_END.split(read_text_lenient(path, self.encoding))
        index = 0
        for item in _split(lines, file):
            if isinstance(item, ParseIssue):
                yield item
                continue
            yield self._record(item, file, index)
            index += 1

    def _record(self, chunk: _Chunk, file: str, index: int) -> Record | ParseIssue:
        if chunk.error is not None:
            return ParseIssue(file=file, line=chunk.line, record=str(index + 1),
                              reason=f"record skipped: {chunk.error}")
        rec = Record(source_file=file, source_format=self.name, source_index=index, source_line=chunk.line)
        wos_record(chunk.values(), rec)
        if not rec.title and not rec.abstract:
            return ParseIssue(file=file, line=chunk.line, record=str(index + 1),
                              reason="record skipped: no title (TI) and no abstract (AB)")
        return rec
