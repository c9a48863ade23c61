"""Checks :func:`serendip.kg.exchange.import_graph` makes before it writes anything: the header line of a
``serendip kg export`` file, every line UTF-8 (the first that is not is named), and the file whole (as
many entity and edge lines as the header records, ending with a line break)."""
from __future__ import annotations

import json
from pathlib import Path

from serendip.errors import ParseError

__all__ = ["FORMAT", "check_complete", "not_utf8", "read_header"]

#: The ``format`` of an export's header line
FORMAT = "serendip-kg"


def not_utf8(line: str) -> str | None:
    """Why ``line`` (decoded with ``errors="surrogateescape"``) is not UTF-8 text, naming the first bad
    byte and its column (1-based, in characters); None when it is."""
    if line.isascii():
        return None
    try:
        line.encode("utf-8")
    except UnicodeEncodeError as exc:
        byte = ord(line[exc.start]) - 0xDC00
        return f"not UTF-8 text (byte 0x{byte:02x} at column {exc.start + 1})"
    return None


def read_header(path: Path, first: str | None) -> dict:
    """The header of an export whose first line is ``first`` (read with ``errors="surrogateescape"``);
    ParseError naming ``path``, line 1, when it is not UTF-8 or not a version-1 header with counts."""
    bad = not_utf8(first or "")
    if bad:
        raise ParseError(f"{bad}; nothing imported", file=str(path), line=1)
    try:
        head = json.loads(first or "")
    except json.JSONDecodeError:
        head = None
    if not isinstance(head, dict) or head.get("kind") != "graph" or head.get("format") != FORMAT:
        raise ParseError(f"not a Serendip knowledge-graph export: the first line is not a {FORMAT!r} header "
                         f"(written by `serendip kg export`)", file=str(path), line=1)
    if head.get("version") != 1:
        raise ParseError(f"export version {head.get('version')!r}; this Serendip reads version 1", file=str(path), line=1)
    counts = head.get("counts")
    if not isinstance(counts, dict) or not all(type(counts.get(k)) is int and counts[k] >= 0
                                               for k in ("entities", "edges")):
        raise ParseError("the header does not record the entity and edge counts (written by `serendip kg export`)",
                         file=str(path), line=1)
    return head


def check_complete(path: Path, fh, head: dict) -> None:
    """Read the rest of ``fh`` (after the header) and raise ParseError, naming ``path`` and the line
    where the file ends, unless it holds as many entity and edge lines as the header records and ends
    with a line break: a file cut short (a copy or download stopped) is refused before anything is
    written. Lines that are not JSON count as lines here; they are skipped and reported on import. ``fh``
    is read with ``errors="surrogateescape"``: the first line that is not UTF-8 is refused, naming it."""
    want = {"entity": head["counts"]["entities"], "edge": head["counts"]["edges"]}
    seen = {"entity": 0, "edge": 0, "other": 0}
    lineno, last = 1, "\n"
    for lineno, line in enumerate(fh, 2):
        last = line
        bad = not_utf8(line)
        if bad:
            raise ParseError(f"{bad}; nothing imported", file=str(path), line=lineno)
        if not line.strip():
            continue
        try:
            kind = json.loads(line).get("kind")
        except (ValueError, AttributeError):
            kind = None
        seen[kind if kind in want else "other"] += 1
    found = f"{seen['entity']:,} entity and {seen['edge']:,} edge lines"
    if not last.endswith("\n"):
        raise ParseError(f"the file is cut short: its last line is incomplete (the header records "
                         f"{want['entity']:,} entities and {want['edge']:,} edges; {found} read); nothing imported",
                         file=str(path), line=lineno)
    if sum(seen.values()) != sum(want.values()) or seen["entity"] > want["entity"] or seen["edge"] > want["edge"]:
        short = sum(seen.values()) < sum(want.values())
        raise ParseError(f"{'the file is cut short: ' if short else ''}the header records {want['entity']:,} "
                         f"entities and {want['edge']:,} edges, the file holds {found}"
                         + (f" and {seen['other']:,} unreadable line{'s' * (seen['other'] != 1)}" if seen["other"] else "")
                         + f" (it ends at line {lineno}); nothing imported", file=str(path), line=lineno)
