"""PubTator files with their mention offsets: documents, mentions and relations.

The PubTator text format (Wei et al., "PubTator: a web-based text mining tool for assisting biocuration",
NAR 2013; the layout of the BioCreative V CDR corpus, Li et al., Database 2016) holds one document per
block, blocks separated by blank lines::

    PMID|t|title
    PMID|a|abstract
    PMID<TAB>start<TAB>end<TAB>text<TAB>type<TAB>ids[<TAB>texts]     one line per mention
    PMID<TAB>CID<TAB>chemical id<TAB>disease id                      one line per relation

``start`` and ``end`` are 0-based character offsets, end exclusive, into the title and the abstract
joined by one space (``title + " " + abstract``); every mention is checked against that text.
``ids`` is a MeSH id, ``-1`` for a mention the annotators could not normalise, or a composite
``D1|D2`` for a mention of several concepts (then the optional 7th column gives each concept's own text,
``renal failure|hepatic failure``). An id of ``-1`` (or an empty id column, or no id column at all) is
kept as an unresolved id (``None``): the mention is never dropped. A trailing empty column is ignored.

:func:`parse_pubtator` raises :class:`~serendip.errors.ParseError` naming the file and line on the first
bad line; given an ``issues`` list it instead skips the document holding the bad line, appends one
:class:`~serendip.issues.Issue` (file, line, PMID, why) and keeps every other document.
"""
from __future__ import annotations

import gzip
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from serendip.errors import ParseError
from serendip.issues import Issue

__all__ = ["Document", "Mention", "Relation", "format_pubtator", "parse_pubtator", "read_pubtator",
           "write_pubtator"]

#: Id values that mean "not normalised" (kept as ``None``)
UNRESOLVED_IDS = ("-1", "")


@dataclass(frozen=True, slots=True)
class Mention:
    """One annotated mention.

    Attributes
    ----------
    start, end : int
        0-based character offsets (end exclusive) into :attr:`Document.text`.
    text : str
        The mention as written; equal to ``document.text[start:end]`` (checked when read).
    type : str
        The entity type, e.g. ``"Chemical"``, ``"Disease"``.
    ids : tuple of (str or None)
        The concept ids (MeSH for BC5CDR): one for a plain mention, several for a composite
        ``D1|D2``; ``None`` for an unresolved ``-1``.
    texts : tuple of str, optional
        A composite's individual concept texts (the 7th column), one per id; None when absent.
    line : int or None
        1-based line of the mention in its file (None for a mention made in code).
    """

    start: int
    end: int
    text: str
    type: str
    ids: tuple[str | None, ...] = (None,)
    texts: tuple[str, ...] | None = None
    line: int | None = None

    @property
    def resolved(self) -> bool:
        """True when at least one id is known (not ``-1``)."""
        return any(i is not None for i in self.ids)


@dataclass(frozen=True, slots=True)
class Relation:
    """A document-level relation line: ``type`` (e.g. ``"CID"``) between concept ids ``id1`` and ``id2``
    (for CID: chemical MeSH id, disease MeSH id)."""

    type: str
    id1: str
    id2: str
    line: int | None = None


@dataclass
class Document:
    """One PubTator document: PMID, title, abstract, mentions (file order) and relations.

    ``line`` is the 1-based line where the document starts in its file (None when made in code).
    """

    pmid: str
    title: str = ""
    abstract: str = ""
    mentions: list[Mention] = field(default_factory=list)
    relations: list[Relation] = field(default_factory=list)
    line: int | None = None

    @property
    def text(self) -> str:
        """``title + " " + abstract``: the text mention offsets index."""
        return f"{self.title} {self.abstract}"


def _ids(column: str) -> tuple[str | None, ...]:
    return tuple(None if i.strip() in UNRESOLVED_IDS else i.strip() for i in column.split("|"))


def _mention(fields: list[str], source: str, lineno: int) -> Mention:
    """A Mention from the fields after the PMID (``start end text type [ids [texts]]``)."""
    try:
        start, end = int(fields[0]), int(fields[1])
    except ValueError:
        raise ParseError(f"offsets {fields[0]!r}, {fields[1]!r} are not whole numbers", file=source,
                         line=lineno) from None
    if not 0 <= start < end:
        raise ParseError(f"bad offsets {start}-{end} (need 0 <= start < end)", file=source, line=lineno)
    ids = _ids(fields[4]) if len(fields) > 4 else (None,)
    texts = tuple(fields[5].split("|")) if len(fields) > 5 and fields[5] else None
    if texts is not None and len(texts) != len(ids):
        raise ParseError(f"{len(texts)} concept texts for {len(ids)} ids ({fields[4]!r})", file=source,
                         line=lineno)
    return Mention(start, end, fields[2], fields[3], ids, texts, lineno)


def _check_offsets(doc: Document, source: str) -> None:
    text = doc.text
    for m in doc.mentions:
        found = text[m.start:m.end]
        if found != m.text:
            raise ParseError(f"PMID {doc.pmid}: mention {m.text!r} at {m.start}-{m.end} but the text "
                             f"there is {found!r} (offsets index title + ' ' + abstract)",
                             file=source, line=m.line)


def _parse_block(block: list[tuple[int, str]], source: str) -> Document:
    """One document from its (line number, line) pairs. Raises ParseError on the first bad line."""
    doc: Document | None = None
    seen: set[str] = set()
    for lineno, line in block:
        head = line.split("\t", 1)[0]
        m = _TEXT_LINE.match(line)
        if m and not m.group(1).isdigit():
            raise ParseError(f"PMID {m.group(1)!r} is not a number (text lines are PMID|t|title and "
                             f"PMID|a|abstract)", file=source, line=lineno)
        if "|" in head and head[:head.find("|")].isdigit():
            parts = line.split("|", 2)
            kind = parts[1] if len(parts) == 3 else None
            if kind not in ("t", "a"):
                raise ParseError(f"unknown PubTator text field {kind!r} (expected PMID|t|title or "
                                 f"PMID|a|abstract)", file=source, line=lineno)
            pmid, text = parts[0], parts[2]
            doc = doc or Document(pmid, line=lineno)
            if doc.pmid != pmid:
                raise ParseError(f"PMID {pmid} inside document {doc.pmid} (a blank line must separate "
                                 f"documents)", file=source, line=lineno)
            if kind in seen or doc.mentions or doc.relations:
                raise ParseError(f"PMID {pmid}: a second {'title' if kind == 't' else 'abstract'} line, or "
                                 f"one after the annotations", file=source, line=lineno)
            seen.add(kind)
            setattr(doc, "title" if kind == "t" else "abstract", text)
            continue
        fields = line.split("\t")
        while fields and fields[-1] == "":
            fields.pop()
        if doc is None or fields[0] != doc.pmid:
            raise ParseError(f"annotation for PMID {fields[0]} outside its document", file=source,
                             line=lineno)
        if len(fields) == 4:
            if fields[1].isdigit():
                raise ParseError(f"a relation type {fields[1]!r} that is a number: a mention line with "
                                 f"missing fields?", file=source, line=lineno)
            doc.relations.append(Relation(fields[1], fields[2], fields[3], lineno))
        elif len(fields) in (5, 6, 7):
            doc.mentions.append(_mention(fields[1:], source, lineno))
        else:
            raise ParseError(f"expected an annotation: a mention (5 to 7 tab-separated fields) or a "
                             f"relation (4), got {len(fields)} fields", file=source, line=lineno)
    assert doc is not None
    _check_offsets(doc, source)
    return doc


_TEXT_LINE = re.compile(r"^([^\t|]+)\|([ta])\|")


def _blocks(lines: Iterable[str]) -> Iterator[list[tuple[int, str]]]:
    """The documents' lines: blocks separated by blank lines, and a new block wherever a title line
    (``PMID|t|``) names another PMID than the block's (a title line starts a document in this format,
    so two documents without the blank line between them are still two). A byte-order mark at the
    start of the file is not part of the first line."""
    block: list[tuple[int, str]] = []
    for lineno, raw in enumerate(lines, 1):
        line = raw.rstrip("\r\n")
        if lineno == 1:
            line = line.lstrip("\ufeff")
        if not line.strip():
            if block:
                yield block
            block = []
            continue
        m = _TEXT_LINE.match(line)
        if block and m and m.group(2) == "t" and not block[0][1].startswith(f"{m.group(1)}|"):
            yield block
            block = []
        block.append((lineno, line))
    if block:
        yield block


def parse_pubtator(lines: Iterable[str], source: str = "<pubtator>", *,
                   issues: list[Issue] | None = None) -> Iterator[Document]:
    """Parse PubTator text into documents, keeping mention offsets.

    Parameters
    ----------
    lines : iterable of str
        The file's lines (with or without line ends); see the module docstring for the layout.
    source : str
        The file name used in error messages.
    issues : list, optional
        Without it the first bad line raises. With it, a document holding a bad line is skipped and
        one :class:`~serendip.issues.Issue` (file, line, PMID, reason) is appended; the other
        documents are yielded.

    Yields
    ------
    Document
        In file order; every mention's ``text`` equals ``document.text[start:end]``.

    Raises
    ------
    ParseError
        (Without ``issues``) a line that is neither a text line, a mention nor a relation; a PMID
        that differs from its document's; offsets that are not whole numbers, not increasing, or
        whose text differs from the mention's (the message gives both strings); composite texts
        whose count differs from the ids'.
    """
    for block in _blocks(lines):
        try:
            yield _parse_block(block, source)
        except ParseError as exc:
            if issues is None:
                raise
            head = block[0][1]
            pmid = head.split("|", 1)[0].split("\t", 1)[0]
            issues.append(Issue(source, f"{exc.reason}; document skipped",
                                line=exc.line if exc.line is not None else block[0][0],
                                record=pmid if pmid.isdigit() else None))


def read_pubtator(path: str | Path, *, issues: list[Issue] | None = None) -> list[Document]:
    """The documents of a PubTator file (UTF-8; gzip-compressed read as such, by content, not name).

    Raises
    ------
    ParseError
        As :func:`parse_pubtator`; also when the file is not UTF-8 (naming the file).
    OSError
        The file cannot be opened.
    """
    path = Path(path)
    with open(path, "rb") as raw:
        gzipped = raw.read(2) == b"\x1f\x8b"  # gzip's magic number, whatever the file's name
    opener = gzip.open if gzipped else open
    with opener(path, "rt", encoding="utf-8") as fh:
        try:
            return list(parse_pubtator(fh, str(path), issues=issues))
        except UnicodeDecodeError as exc:
            raise ParseError(f"not UTF-8 text ({exc.reason})", file=str(path)) from None


def format_pubtator(doc: Document) -> str:
    """``doc`` as PubTator text (title, abstract, mentions, relations, then a blank line); unresolved ids
    are written ``-1``. :func:`parse_pubtator` reads it back to an equal document (``line`` aside)."""
    out = [f"{doc.pmid}|t|{doc.title}", f"{doc.pmid}|a|{doc.abstract}"]
    for m in doc.mentions:
        ids = "|".join("-1" if i is None else i for i in m.ids)
        extra = f"\t{'|'.join(m.texts)}" if m.texts else ""
        out.append(f"{doc.pmid}\t{m.start}\t{m.end}\t{m.text}\t{m.type}\t{ids}{extra}")
    out += [f"{doc.pmid}\t{r.type}\t{r.id1}\t{r.id2}" for r in doc.relations]
    return "\n".join(out) + "\n\n"


def write_pubtator(docs: Iterable[Document], path: str | Path) -> Path:
    """Write ``docs`` as a PubTator file (``.gz`` compressed); returns the path."""
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "wt", encoding="utf-8") as fh:
        for doc in docs:
            fh.write(format_pubtator(doc))
    return path


def unique_documents(path: str | Path, issues: list[Issue] | None = None) -> Iterator[Document]:
    """The documents of :func:`read_pubtator`, each PMID once: a repeated PMID is reported (an
    :class:`~serendip.issues.Issue` in ``issues``, its line named) and skipped; without ``issues`` it
    raises as :func:`read_pubtator` does for a bad line."""
    seen: set[str] = set()
    for doc in read_pubtator(path, issues=issues):
        if doc.pmid in seen:
            issue = Issue(str(path), f"PMID {doc.pmid} given twice; the repeat skipped", doc.line, doc.pmid)
            if issues is None:
                raise issue.to_error()
            issues.append(issue)
            continue
        seen.add(doc.pmid)
        yield doc
