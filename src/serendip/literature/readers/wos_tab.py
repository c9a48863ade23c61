"""Web of Science tab-delimited export ("savedrecs.txt", *Tab delimited file* in the export dialog).

Shape (Clarivate, *Web of Science Core Collection Field Tags*; sample exports of the
UWNETLAB/metaknowledge and deryc/Web_of_Science_Automatic_Keyword_Extraction_from_Abstracts
projects): a header row of two-letter field tags (``PT AU BA BE GP AF BF CA TI SO ... UT PM ...``),
then one record per line, fields separated by tabs, never quoted, every data row ending in a trailing
tab (one empty field more than the header). Multi-valued fields (authors, addresses, keywords) are
``"; "``-separated inside their cell. The file is UTF-16 LE with a BOM from the Windows option and
UTF-8 from the Mac option; decoding is the shared opener's (:func:`serendip.core.files.read_text_lenient`).
The fields are mapped by :func:`serendip.literature.readers._wos_fields.wos_record`; the accession
number ``UT`` (``WOS:000424022700066``) is the record's ``source_key`` and an identity.
"""
from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from serendip.core.files import bad_bytes, read_text_lenient
from serendip.errors import ParseError
from serendip.literature.readers import register_reader
from serendip.literature.readers._wos_fields import head_text, is_tag, wos_record
from serendip.literature.record import ParseIssue, Record

_LINE_END = re.compile(r"\r\n|\r|\n")
def _header(line: str) -> list[str]:
    """The tags of a header line, trailing empty cells dropped."""
    cells = [c.strip() for c in line.lstrip("\ufeff").split("\t")]
    while cells and not cells[-1]:
        cells.pop()
    return cells


@register_reader("wos-tab", label="Web of Science tab-delimited export", aliases=("wos-tsv",),
                 priority=45, id_keyed=True, id_namespace="")
class WosTabReader:
    """Read a Web of Science tab-delimited export: one :class:`Record` per data row."""

    name = "wos-tab"

    def __init__(self, encoding: str | None = None) -> None:
        self.encoding = encoding  # the file's text encoding (--encoding); None: BOM, then detected

    def sniff(self, path: Path, head: bytes) -> bool:
        """True when the first line is tab-separated field tags starting ``PT`` or ``FN`` and holding
        ``TI`` and ``UT`` (or ``AU``) (UTF-8 or UTF-16 with a BOM)."""
        text = head_text(head)
        first = _LINE_END.split(text, 1)[0]
        tags = _header(first)
        return (len(tags) >= 5 and tags[0] in ("PT", "FN") and all(is_tag(t) for t in tags)
                and "TI" in tags and ("UT" in tags or "AU" in tags))

    def read(self, path: Path) -> Iterator[Record | ParseIssue]:
        """Yield a :class:`Record` per data row, a :class:`ParseIssue` per row skipped.

        Parameters
        ----------
        path : Path
            A Web of Science tab-delimited export.

        Yields
        ------
        Record or ParseIssue
            ``source_line`` is the row's 1-based line, ``source_index`` its 0-based position among
            the data rows (skipped rows counted), ``source_key`` the ``UT`` accession. Skipped with an
            issue: a row with another number of fields than the header (the one trailing empty field
            every row carries is not counted), a row with bytes that are not UTF-8, a row with neither
            title nor abstract. Blank lines are not records.

        Raises
        ------
        ParseError
            The file cannot be read, or its first line is not a header of field tags.
        """
        file = str(path)
        lines = _LINE_END.split(read_text_lenient(path, self.encoding))
        start = next((i for i, ln in enumerate(lines) if ln.strip()), None)
        header = _header(lines[start]) if start is not None else []
        if not header or not all(is_tag(t) for t in header):
            raise ParseError("no header row of Web of Science field tags (PT AU ... UT) on the first "
                             "line; export the records again as 'Tab delimited file'", file=file,
                             line=None if start is None else start + 1)
        index = 0
        for no, line in enumerate(lines[start + 1:], start + 2):
            if not line.strip():
                continue
            yield self._record(line, header, file, no, index)
            index += 1

    def _record(self, line: str, header: list[str], file: str, no: int, index: int) -> Record | ParseIssue:
        cells = line.split("\t")
        while len(cells) > len(header) and not cells[-1].strip():
            cells.pop()  # the trailing tab of every row
        if len(cells) != len(header):
            return ParseIssue(file=file, line=no, record=str(index + 1), reason=(
                f"row skipped: {len(cells)} fields, the header has {len(header)}"))
        if (bad := bad_bytes(line)) is not None:
            return ParseIssue(file=file, line=no, record=str(index + 1), reason=(
                f"row skipped: not UTF-8 text ({bad}); export the records again"))
        rec = Record(source_file=file, source_format=self.name, source_index=index, source_line=no)
        wos_record(dict(zip(header, cells)), rec)
        if not rec.title and not rec.abstract:
            return ParseIssue(file=file, line=no, record=str(index + 1),
                              reason="row skipped: no title (TI) and no abstract (AB)")
        return rec
