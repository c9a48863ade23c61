"""BEIR corpus reader: ``corpus.jsonl`` / ``corpus.jsonl.gz``, one ``{"_id", "title", "text"}`` per line.

Format as defined by BEIR (Thakur et al., NeurIPS 2021 Datasets & Benchmarks;
https://github.com/beir-cellar/beir, ``beir/datasets/data_loader.py``): ``_id`` (required, a string),
``title`` and ``text`` (either may be empty or missing), optional ``metadata`` (kept in
``Record.extra``). As in BEIR's own loader, a document with an empty title or text is still a
document: every line with an ``_id`` becomes a record, even one with nothing to search (case C20).
Text that is empty or only whitespace gives no abstract section.
"""
from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

from serendip.errors import ParseError
from serendip.literature import normalize as norm
from serendip.literature.readers import register_reader
from serendip.literature.readers.jsonl import mostly_json_objects, records_from_lines
from serendip.literature.record import AbstractSection, ParseIssue, Record

CORPUS_NAMES = ("corpus.jsonl", "corpus.jsonl.gz")
_ID_START = re.compile(r'^\s*\{\s*"_id"\s*:')


def corpus_file(path: Path) -> Path | None:
    """The corpus file for ``path``: the file itself, or ``corpus.jsonl(.gz)`` inside a folder."""
    if path.is_dir():
        for name in CORPUS_NAMES:
            if (path / name).is_file():
                return path / name
        return None
    return path


@register_reader("beir", label="BEIR corpus: a folder or its corpus.jsonl", priority=10, id_keyed=True)
class BEIRReader:
    """Read a BEIR corpus (a folder holding ``corpus.jsonl(.gz)``, or the file itself)."""

    name = "beir"

    def sniff(self, path: Path, head: bytes) -> bool:
        """True for a folder with ``corpus.jsonl(.gz)``, or a head whose first line is a JSON object
        with an ``_id`` key, or a ``.jsonl`` file whose first line is bad but most of whose first
        lines are such objects (:func:`~serendip.literature.readers.jsonl.mostly_json_objects`)."""
        if path.is_dir():
            return corpus_file(path) is not None
        first = head.decode("utf-8", errors="ignore").lstrip("\ufeff").lstrip().split("\n", 1)[0]
        try:
            obj = json.loads(first)
        except json.JSONDecodeError:  # first line longer than the head, or bad
            obj = None
            if _ID_START.match(first):
                return True
        if isinstance(obj, dict):
            return "_id" in obj
        return mostly_json_objects(path, head, key="_id")

    def read(self, path: Path) -> Iterator[Record | ParseIssue]:
        """Yield one :class:`Record` per corpus line, or a :class:`ParseIssue` for a bad line.

        Parameters
        ----------
        path : Path
            A BEIR dataset folder, or a ``corpus.jsonl`` / ``corpus.jsonl.gz`` file.

        Yields
        ------
        Record or ParseIssue
            ``source_key`` = ``_id``; ``title`` (None when blank); one
            :class:`AbstractSection` holding ``text`` only when it is not blank. ``source_line`` is
            the 1-based line, ``source_index`` the 0-based position among non-blank lines. A line
            that is not a JSON object, or has no ``_id``, is an issue.

        Raises
        ------
        ParseError
            A folder without ``corpus.jsonl(.gz)``, or a file that cannot be opened.
        """
        corpus = corpus_file(path)
        if corpus is None:
            raise ParseError(f"no {' or '.join(CORPUS_NAMES)} in this folder", file=str(path))
        yield from records_from_lines(corpus, lambda obj, index, line: self._record(obj, str(corpus), index, line))

    def _record(self, obj: dict, file: str, index: int, line: int) -> Record | ParseIssue:
        """One corpus line's record, or an issue: no ``_id``, a title or text that is not a string."""
        doc_id = obj.get("_id")
        if doc_id is None or (isinstance(doc_id, str) and not doc_id.strip()) or isinstance(
                doc_id, (dict, list, bool)):
            return ParseIssue(file=file, line=line, record=str(index + 1),
                              reason='line skipped: no "_id" (a BEIR document needs one)')
        bad = [k for k in ("title", "text") if not isinstance(obj.get(k), (str, type(None)))]
        if bad:
            return ParseIssue(file=file, line=line, record=str(doc_id), reason=(
                f'line skipped: "{bad[0]}" is a JSON {type(obj[bad[0]]).__name__}, not a string'))
        rec = Record(source_file=file, source_format=self.name, source_index=index,
                     source_line=line, source_key=str(doc_id).strip())
        rec.title = norm.collapse_ws(obj.get("title"))
        text = norm.collapse_ws(obj.get("text"))
        if text:
            rec.abstract_sections = [AbstractSection(text=text)]
        if isinstance(obj.get("metadata"), dict) and obj["metadata"]:
            rec.extra["metadata"] = obj["metadata"]
        return rec
