"""JSON Lines reader: one JSON object per line (https://jsonlines.org), plain or gzip-compressed.

Keys (case-sensitive, first present wins): ``title``; ``abstract`` or ``text`` (a string, or a list of
sentences joined by one space); ``authors`` (a list of names or of ``{"family", "given"}`` /
``{"name"}`` objects, or one ``;``-separated string); ``year``; ``month``; ``doi``; ``pmid``;
``pmcid``; ``journal``; ``keywords``; ``mesh`` / ``mesh_terms``; ``id`` / ``_id`` / ``doc_id``.
Each line is decoded and parsed on its own, so one bad line (invalid JSON, invalid UTF-8, not an
object) is reported with its line number and the other lines are kept.

``--format auto`` picks this format when the first non-blank line is a JSON object, or, for a file
named ``.jsonl`` / ``.ndjson`` (gzipped or not) whose first line is bad, when at least half of its
first :data:`SNIFF_LINES` non-blank lines are (:func:`mostly_json_objects`): the bad line is then
reported as with ``--format jsonl``, while text that is not JSON Lines is still refused however named.
"""
from __future__ import annotations

import json
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

from serendip.core.files import (
    SAMPLE_BYTES,
    TextEncoding,
    bom_encoding,
    open_binary,
    open_text,
    read_sample,
)
from serendip.errors import ParseError
from serendip.literature import normalize as norm
from serendip.literature.readers import read_head, register_reader
from serendip.literature.readers.csv_table import parse_person, split_authors
from serendip.literature.record import AbstractSection, Author, ParseIssue, Record

_ID_KEYS = ("id", "_id", "doc_id")
#: file names of JSON Lines files (lower case), compressed forms included
JSONL_SUFFIXES = (".jsonl", ".ndjson", ".jsonl.gz", ".ndjson.gz")
#: how many non-blank lines ``auto`` looks at in a JSON Lines-named file whose first line is bad
SNIFF_LINES = 20
#: the size of the head the sniffers are given (:func:`~serendip.literature.readers.read_head`)
HEAD_BYTES = 4096
#: longest line read as one record; longer lines are reported and skipped, never held whole in memory
MAX_LINE_BYTES = 16 * 1024 * 1024
_KNOWN = {"title", "abstract", "text", "authors", "year", "month", "doi", "pmid", "pmcid", "journal",
          "keywords", "mesh", "mesh_terms", *_ID_KEYS}


class _Utf8Lines:
    """A text stream's lines as UTF-8 bytes (``readline(limit)``, like a binary file)."""

    def __init__(self, text: IO[str]):
        self.text = text

    def readline(self, limit: int = -1) -> bytes:
        return self.text.readline(limit).encode("utf-8", errors="surrogatepass")

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.text.close()


def open_lines(path: Path) -> IO[bytes]:
    """Open ``path`` for reading bytes, un-gzipping it when it starts with the gzip magic bytes; a
    UTF-16 or UTF-32 file (with its byte-order mark: Windows PowerShell writes those) is re-encoded
    as UTF-8, the encoding of JSON text otherwise (RFC 8259).

    Raises
    ------
    ParseError
        The file cannot be opened.
    """
    name = bom_encoding(read_sample(path, 4))
    if name in ("utf-16", "utf-32"):
        return _Utf8Lines(open_text(path, TextEncoding(name, "byte-order mark")))
    return open_binary(path)


def json_objects(path: Path) -> Iterator[tuple[int, dict[str, Any] | str]]:
    """Yield ``(line number, object)`` for each non-blank line, or ``(line number, error)``.

    A line that is not valid UTF-8, not valid JSON or not a JSON object gives an error message
    instead of an object. A corrupt or truncated gzip stream ends the iteration with one error.

    Raises
    ------
    ParseError
        The file cannot be opened.
    """
    with open_lines(path) as fh:
        no = 0
        try:
            while True:
                raw = fh.readline(MAX_LINE_BYTES + 1)
                if not raw:
                    break
                no += 1
                if len(raw) > MAX_LINE_BYTES and not raw.endswith(b"\n"):
                    # an over-long line: skip to its end without holding it in memory
                    while raw and not raw.endswith(b"\n"):
                        raw = fh.readline(1 << 20)
                    yield no, (f"line longer than {MAX_LINE_BYTES:,} bytes (no record is that large); "
                               "skipped")
                    continue
                if not raw.strip():
                    continue
                try:
                    obj = json.loads(raw.decode("utf-8-sig" if no == 1 else "utf-8"))
                except UnicodeDecodeError as exc:
                    yield no, f"not UTF-8 ({exc.reason} at byte {exc.start})"
                    continue
                except json.JSONDecodeError as exc:
                    yield no, f"invalid JSON: {exc.msg} (column {exc.colno})"
                    continue
                if not isinstance(obj, dict):
                    yield no, f"a JSON {type(obj).__name__}, not an object"
                    continue
                yield no, obj
        except (OSError, EOFError, zlib.error) as exc:
            yield no + 1, f"cannot read further ({exc}); reading stopped"


def sampled_objects(path: Path, head: bytes) -> list[dict[str, Any] | None]:
    """The first :data:`SNIFF_LINES` non-blank lines of ``path`` parsed: a dict for a JSON object
    line, None for any other line. The lines are those of ``head`` (the sniffers' head, as UTF-8) when
    it is shorter than :data:`HEAD_BYTES` (the whole file), else of the first
    :data:`~serendip.core.files.SAMPLE_BYTES` of ``path`` (un-gzipped, as UTF-8); a line cut off by
    the sample's end is left out. Empty when the file cannot be read or its text encoding cannot be
    told."""
    sample, cut = head, False
    if len(head) >= HEAD_BYTES:
        try:
            sample = read_head(path, SAMPLE_BYTES)
        except ParseError:
            return []
        cut = len(sample) >= SAMPLE_BYTES
    lines = sample.decode("utf-8", errors="replace").lstrip("\ufeff").split("\n")
    if cut and len(lines) > 1:
        lines.pop()  # may be cut off by the sample's end
    out: list[dict[str, Any] | None] = []
    for line in (ln for ln in lines if ln.strip()):
        try:
            obj = json.loads(line)
        except (ValueError, RecursionError):  # not JSON (or nested too deep to parse)
            obj = None
        out.append(obj if isinstance(obj, dict) else None)
        if len(out) == SNIFF_LINES:
            break
    return out


def mostly_json_objects(path: Path, head: bytes, key: str | None = None) -> bool:
    """Whether ``path``, a file named like JSON Lines (:data:`JSONL_SUFFIXES`), holds JSON Lines even
    though its first line may be bad: at least half of its first :data:`SNIFF_LINES` non-blank lines
    (:func:`sampled_objects`; ``head``: the sniffers' head) are JSON objects (having ``key``, when
    given). False for any other name or for a folder, so that a file's content alone never makes a
    bad first line acceptable."""
    if path.is_dir() or not path.name.lower().endswith(JSONL_SUFFIXES):
        return False
    objs = sampled_objects(path, head)
    good = sum(1 for obj in objs if obj is not None and (key is None or key in obj))
    return good > 0 and 2 * good >= len(objs)


def records_from_lines(path: Path, build: Callable[[dict[str, Any], int, int], Record | ParseIssue]
                       ) -> Iterator[Record | ParseIssue]:
    """Run ``build(object, index, line)`` on each JSON object line of ``path`` and yield what it
    returns; yield a :class:`ParseIssue` (file, line, 1-based record number, ``"line skipped: ..."``)
    for each bad line (see :func:`json_objects`).

    ``index`` is the 0-based position among non-blank lines (bad ones counted), ``line`` 1-based.

    Raises
    ------
    ParseError
        The file cannot be opened.
    """
    file = str(path)
    for index, (line, obj) in enumerate(json_objects(path)):
        if isinstance(obj, str):
            yield ParseIssue(file=file, line=line, record=str(index + 1), reason=f"line skipped: {obj}")
        else:
            yield build(obj, index, line)


def _text(value: Any) -> str | None:
    if isinstance(value, list):
        value = " ".join(v for v in value if isinstance(v, str))
    if value is None:
        return None
    return norm.collapse_ws(str(value))


def _authors(value: Any) -> list[Author]:
    if isinstance(value, str):
        return split_authors(value)
    out: list[Author] = []
    for item in value if isinstance(value, list) else []:
        if isinstance(item, str):
            author = parse_person(item)
        elif isinstance(item, dict):
            if item.get("family") or item.get("given") or item.get("collective"):
                suffix = _text(item.get("suffix"))
                author = Author(family=_text(item.get("family")), given=_text(item.get("given")),
                                collective=_text(item.get("collective")),
                                orcid=norm.orcid(item.get("orcid")),
                                initials=_text(item.get("initials")),
                                suffix=norm.name_suffix(suffix) or suffix)
            else:
                author = parse_person(str(item.get("name") or ""))
        else:
            author = None
        if author:
            out.append(author)
    return out


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        value = value.split(";")
    return [t for v in value if (t := _text(v))] if isinstance(value, list) else []


def _first(obj: dict[str, Any], *keys: str) -> Any:
    for k in keys:
        if obj.get(k) not in (None, "", []):
            return obj[k]
    return None


def record_from_object(obj: dict[str, Any], rec: Record) -> Record:
    """Fill ``rec`` from one JSON object with the keys described in the module docstring.

    Unknown keys are kept in ``rec.extra``; an identifier that does not normalise is kept there as
    ``<name>_raw``. Never raises for odd value types: a value of the wrong type is ignored.
    """
    rec.title = _text(obj.get("title"))
    abstract = _text(_first(obj, "abstract", "text"))
    if abstract:
        rec.abstract_sections = [AbstractSection(text=abstract)]
    rec.authors = _authors(obj.get("authors"))
    rec.year = norm.first_year(_text(obj.get("year")))
    month = obj.get("month")
    rec.month = month if isinstance(month, int) and 1 <= month <= 12 else None
    rec.journal = _text(obj.get("journal"))
    rec.keywords = _strings(obj.get("keywords"))
    rec.mesh_terms = _strings(_first(obj, "mesh_terms", "mesh"))
    key = _first(obj, *_ID_KEYS)
    rec.source_key = None if key is None else str(key)
    for field, fn in (("doi", norm.doi), ("pmid", norm.pmid), ("pmcid", norm.pmcid)):
        raw = _text(obj.get(field))
        setattr(rec, field, fn(raw))
        if raw and getattr(rec, field) is None:
            rec.extra[f"{field}_raw"] = raw
    for k, v in obj.items():
        if k not in _KNOWN:
            rec.extra[k] = v
    return rec


@register_reader("jsonl", label="JSON Lines", suffixes=JSONL_SUFFIXES, priority=60, id_keyed=True)
class JSONLReader:
    """Read JSON Lines files of bibliographic records."""

    name = "jsonl"

    def sniff(self, path: Path, head: bytes) -> bool:
        """True when the first non-blank line of ``head`` is a JSON object (or, when cut off by the
        4 KiB head, starts like one: ``{"key":``), or when ``path`` is named ``.jsonl`` / ``.ndjson``
        and most of its first lines are (:func:`mostly_json_objects`)."""
        text = head.decode("utf-8", errors="ignore").lstrip("\ufeff").lstrip()
        first, sep, _ = text.partition("\n")
        if text.startswith("{"):
            try:
                if isinstance(json.loads(first), dict):
                    return True
            except json.JSONDecodeError:
                if not sep and text[1:].lstrip().startswith('"'):
                    return True
        return mostly_json_objects(path, head)

    def read(self, path: Path) -> Iterator[Record | ParseIssue]:
        """Yield one :class:`Record` per JSON object line, or a :class:`ParseIssue` for a bad line.

        Parameters
        ----------
        path : Path
            A ``.jsonl`` file, plain or gzip-compressed (detected by its magic bytes).

        Yields
        ------
        Record or ParseIssue
            ``source_line`` is the 1-based line, ``source_index`` the 0-based position among
            non-blank lines (bad ones counted). Blank lines are skipped.

        Raises
        ------
        ParseError
            The file cannot be opened.
        """
        file = str(path)
        yield from records_from_lines(path, lambda obj, index, line: record_from_object(obj, Record(
            source_file=file, source_format=self.name, source_index=index, source_line=line)))
