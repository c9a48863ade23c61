"""PubMed / MEDLINE XML reader (``PubmedArticleSet``, ``MedlineCitationSet``; plain or gzip).

Streams the file with :func:`lxml.etree.iterparse` and clears each record after use, so memory stays
flat in the file size. Element paths follow the NLM PubMed DTD
(https://dtd.nlm.nih.gov/ncbi/pubmed/doc/out/250101/index.html) and the element descriptions at
https://www.nlm.nih.gov/bsd/licensee/elements_descriptions.html.

Security: before parsing, the prolog (everything before the root element) is scanned and a document
whose DOCTYPE declares any entity (``<!ENTITY``: billion laughs, XXE) is refused with
:class:`~serendip.errors.UnsafeXMLError`. The parser itself never loads a DTD, never touches the
network, never substitutes entities and keeps libxml2's size limits (``huge_tree=False``), so a
normal PubMed ``<!DOCTYPE ... "https://dtd.nlm.nih.gov/...">`` line is accepted and not fetched.
An entity reference left unexpanded because of that (``&name;`` declared only in an external DTD)
makes its record a :class:`ParseIssue`, never text.

A ``<DeleteCitation>`` element (PubMed update files: the PMIDs PubMed withdrew, after the articles)
is streamed like a record and yielded as a :class:`~serendip.literature.deletions.CitationDeletion`,
which ingest applies to the stored records.
"""
from __future__ import annotations

import gzip
import re
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from lxml import etree

from serendip.errors import ParseError, UnsafeXMLError
from serendip.literature.deletions import CitationDeletion
from serendip.literature.normalize import pmid as norm_pmid
from serendip.literature.readers import register_reader
from serendip.literature.readers._pubmed_fields import parse_record
from serendip.literature.record import ParseIssue, Record

#: record elements per root element
_RECORD_TAGS = {
    "PubmedArticleSet": ("PubmedArticle", "PubmedBookArticle", "DeleteCitation"),
    "MedlineCitationSet": ("MedlineCitation", "DeleteCitation"),
    "PubmedArticle": ("PubmedArticle",),
    "PubmedBookArticle": ("PubmedBookArticle",),
    "MedlineCitation": ("MedlineCitation",),
}
_PROLOG_LIMIT = 1 << 20  # bytes of prolog scanned before the root element at most
_ENTITY_DECL = re.compile(r"<!\s*ENTITY", re.I)


try:  # ISA-L's gzip decoder is about 3x faster than zlib's on big PubMed files
    from isal import igzip as _gzip
    from isal.isal_zlib import error as _GzipError
except ImportError:  # pragma: no cover - isal is a dependency; stdlib fallback
    _gzip = gzip
    _GzipError = zlib.error


def _open(path: Path) -> IO[bytes]:
    with open(path, "rb") as fh:
        magic = fh.read(2)
    return _gzip.open(path, "rb") if magic == b"\x1f\x8b" else open(path, "rb")


def _decode_prolog(data: bytes) -> str:
    """Prolog bytes as text good enough to find markup.

    NUL bytes are dropped (UTF-16/32 ASCII range), a byte-order mark too, the rest is read as
    Latin-1 (markup characters are ASCII in every encoding XML allows).
    """
    text = data.replace(b"\x00", b"").decode("latin-1")
    for bom in ("\xef\xbb\xbf", "\xff\xfe", "\xfe\xff"):
        if text.startswith(bom):
            return text[len(bom):]
    return text


def check_prolog(path: Path) -> str:
    """Scan the prolog of an XML file and return the root element's name.

    Parameters
    ----------
    path : Path
        XML file, plain or gzip-compressed (detected by its magic bytes).

    Returns
    -------
    str
        The root element name (e.g. ``"PubmedArticleSet"``).

    Raises
    ------
    UnsafeXMLError
        The DOCTYPE declares an entity (internal, parameter or external: billion laughs, XXE),
        or the prolog is longer than 1 MiB or its DOCTYPE is not closed.
    ParseError
        No root element (empty file, not XML).
    """
    with _open(path) as fh:
        data = b""
        while True:
            chunk = fh.read(65536)
            data += chunk
            text = _decode_prolog(data)
            state, value = _scan_prolog(text)
            if state == "root":
                return value
            if state == "unsafe":
                raise UnsafeXMLError(value, file=str(path))
            if state == "error":
                raise ParseError(value, file=str(path))
            if not chunk:  # "more" wanted but the file ended
                raise ParseError("no XML root element found", file=str(path))
            if len(data) > _PROLOG_LIMIT:
                raise UnsafeXMLError(
                    f"XML prolog (before the root element) is longer than {_PROLOG_LIMIT} bytes; "
                    "refused", file=str(path))


def _scan_prolog(text: str) -> tuple[str, str]:
    """Tokenise ``text`` up to the root start tag.

    Returns ("root", name), or ("more" | "unsafe" | "error", reason).
    """
    pos = 0
    n = len(text)
    while True:
        while pos < n and text[pos] in " \t\r\n":
            pos += 1
        if pos >= n:
            return "more", ""
        if text[pos] != "<":
            return "error", "text before the root element: not an XML document"
        if text.startswith("<?", pos):
            end = text.find("?>", pos)
            if end < 0:
                return "more", ""
            pos = end + 2
        elif text.startswith("<!--", pos):
            end = text.find("-->", pos)
            if end < 0:
                return "more", ""
            pos = end + 3
        elif text.startswith("<!", pos):
            end = _doctype_end(text, pos)
            decl = text[pos:end if end > 0 else n]
            if _ENTITY_DECL.search(decl):
                return "unsafe", ("the DOCTYPE declares entities (<!ENTITY ...>); entity expansion "
                                  "and external entities (billion laughs, XXE) are refused")
            if end < 0:
                return "more", ""
            pos = end
        else:
            m = re.match(r"<([A-Za-z_][\w.\-]*:)?([A-Za-z_][\w.\-]*)", text[pos:pos + 200])
            if not m:
                return ("more", "") if n - pos < 200 else ("error", "malformed root start tag")
            return "root", m.group(2)


def _doctype_end(text: str, pos: int) -> int:
    """Index after the ``>`` closing the declaration at ``pos`` (quotes, ``[...]`` aware), or -1."""
    quote = None
    depth = 0
    for i in range(pos + 2, len(text)):
        c = text[i]
        if quote:
            if c == quote:
                quote = None
        elif c in "\"'":
            quote = c
        elif c == "[":
            depth += 1
        elif c == "]":
            depth -= 1
        elif c == ">" and depth <= 0:
            return i + 1
    return -1


@register_reader("pubmed", label="PubMed/MEDLINE XML", aliases=("pubmed-xml",),
                 suffixes=(".xml", ".xml.gz"), priority=20)
class PubmedXMLReader:
    """Read PubMed XML (``PubmedArticleSet`` / ``MedlineCitationSet``; ``.xml`` or ``.xml.gz``).

    Source: NLM PubMed DTD, https://dtd.nlm.nih.gov/ncbi/pubmed/ .
    """

    name = "pubmed"

    def sniff(self, path: Path, head: bytes) -> bool:
        """Whether ``head`` (first bytes, un-gzipped) shows a PubMed XML root element."""
        return any(t in head for t in (b"<PubmedArticleSet", b"<MedlineCitationSet",
                                       b"<PubmedArticle"))

    def read(self, path: Path) -> Iterator[Record | ParseIssue | CitationDeletion]:
        """Yield a :class:`Record` per article, a :class:`ParseIssue` per unusable one, and a
        :class:`~serendip.literature.deletions.CitationDeletion` per ``<DeleteCitation>``.

        Records keep file order; ``source_index`` is the 0-based position among record elements and
        ``source_line`` the line of the record's start tag. An issue's ``record`` is the 1-based
        record number (or its PMID). A record with an XML syntax error gives one issue naming its
        line; the records before and after it are still read (see :func:`resume_records`).

        Raises
        ------
        UnsafeXMLError
            The DOCTYPE declares entities (billion laughs, XXE); nothing is parsed.
        ParseError
            Not PubMed XML, or the file fails before any record could be read.
        """
        path = Path(path)
        file = str(path)
        root_name = check_prolog(path)
        tags = _RECORD_TAGS.get(root_name)
        if tags is None:
            raise ParseError(f"root element <{root_name}> is not PubmedArticleSet or "
                             "MedlineCitationSet", file=file)
        index = 0
        deletions = 0  # <DeleteCitation> elements yielded (they come after the records)
        last_line = None
        syntax_error = None
        with _open(path) as fh:
            events = etree.iterparse(
                fh, events=("end",), tag=tags, resolve_entities=False, no_network=True,
                load_dtd=False, dtd_validation=False, huge_tree=False, remove_comments=True,
                remove_pis=True)
            try:
                for _, el in events:
                    parent = el.getparent()
                    if parent is not None and parent.getparent() is not None:
                        continue  # a nested element of the same name, not a record
                    last_line = start_line(el)
                    if el.tag == "DeleteCitation":
                        yield deletion_of(el, file)
                        deletions += 1
                    else:
                        yield self._record(el, file, index)
                        index += 1
                    el.clear(keep_tail=True)
                    if parent is not None:
                        while el.getprevious() is not None:
                            del parent[0]
            except etree.XMLSyntaxError as exc:
                syntax_error = exc
            except (OSError, EOFError, zlib.error, _GzipError) as exc:  # truncated or corrupt gzip stream
                if index + deletions == 0:
                    raise ParseError(f"cannot read: {exc}", file=file) from exc
                yield ParseIssue(file=file, line=last_line, reason=(
                    f"cannot read further ({exc}); reading stopped after {index} records"))
        if syntax_error is None:
            return
        # A streaming parser cannot go on after a syntax error: re-read the file record by record
        # from the failing one, so that only the broken record is lost.
        resumed = 0
        for item in resume_records(path, root_name, index + deletions):
            resumed += 1
            yield item
        if resumed == 0:
            line = syntax_error.lineno or last_line
            if index + deletions == 0:
                raise ParseError(f"XML syntax error: {syntax_error.msg}", file=file, line=line)
            yield ParseIssue(file=file, line=line, reason=(
                f"XML syntax error: {syntax_error.msg}; reading stopped after {index} records"))

    def split_blocks(self, path: Path, wanted=None):
        """The file cut into blocks of raw record elements, for ingest's parallel parsing
        (:func:`serendip.literature.readers._pubmed_split.split_blocks`)."""
        from serendip.literature.readers._pubmed_split import split_blocks

        return split_blocks(Path(path), wanted=wanted)

    def parse_block(self, block, file: str):
        """The items of one block as :meth:`read` gives them, and where the block stops
        (:func:`serendip.literature.readers._pubmed_split.parse_block`)."""
        from serendip.literature.readers._pubmed_split import parse_block

        return parse_block(block, file)

    @staticmethod
    def _record(el, file: str, index: int) -> Record | ParseIssue:
        rec = Record(source_file=file, source_format="pubmed", source_index=index,
                     source_line=start_line(el))
        try:
            parse_record(el, rec)
        except ValueError as exc:
            pmid = rec.pmid
            return ParseIssue(file=file, line=start_line(el),
                              record=f"PMID {pmid}" if pmid else str(index + 1),
                              reason=f"<{el.tag}> skipped: {exc}")
        return rec


#: libxml2 stores an element's line in 16 bits: from this line on it reports the line where the
#: element's first text child ends instead (``xmlGetLineNo``; lxml's ``sourceline``)
_LIBXML2_LINE_CAP = 65535


def start_line(el) -> int | None:
    """The 1-based line of ``el``'s start tag, right past line 65,535 too.

    For an element that starts on or after line 65,535, libxml2 (2.9-2.14) answers with the last line
    of the element's first text child (``el.text``, usually the newline and indentation after the
    start tag), so ``el.sourceline`` is too large by the newlines in ``el.text``; they are taken off.
    Exact for a start tag written on one line (as PubMed's ``<PubmedArticle>`` and
    ``<DeleteCitation>`` are). Call it before the element is cleared.
    """
    line = el.sourceline
    if line is not None and line >= _LIBXML2_LINE_CAP and el.text:
        line -= el.text.count("\n")
    return line


def deletion_of(el, file: str) -> CitationDeletion:
    """The PMIDs of a ``<DeleteCitation>`` element (``<PMID Version="1">123</PMID>``...); a PMID that
    is not digits is left out. ``Version`` is not kept: stored records hold PMIDs without versions."""
    pmids = [p for p in (norm_pmid(c.text) for c in el.iterchildren("PMID")) if p]
    return CitationDeletion(file=file, line=start_line(el), pmids=pmids)


def _record_pieces(path: Path, root_name: str) -> Iterator[tuple[int, bytes]]:
    """Raw bytes of each record element with its 1-based start line, cut at record start tags.

    Streams the (decompressed) file with a bounded buffer. A piece runs from one record start tag to
    the next (the last one to the end of the file).
    """
    tags = _RECORD_TAGS[root_name]
    start_re = re.compile(rb"<(?:" + b"|".join(t.encode() for t in tags) + rb")[\s>/]")
    with _open(path) as fh:
        buf = b""
        buf_line = 1  # line of buf[0]
        eof = False
        while not eof:
            try:
                block = fh.read(1 << 20)
            except (OSError, EOFError, zlib.error, _GzipError):
                block = b""
            eof = not block
            buf += block
            starts = [m.start() for m in start_re.finditer(buf)]
            if not eof and starts:
                starts_done, keep_from = starts[:-1], starts[-1]
            elif eof:
                starts_done, keep_from = starts, len(buf)
            else:
                starts_done, keep_from = [], max(0, len(buf) - 64)
            bounds = starts_done + [keep_from]
            pos, line = 0, buf_line
            for a, b in zip(bounds, bounds[1:]):
                line += buf.count(b"\n", pos, a)
                pos = a
                yield line, buf[a:b]
            buf_line = line + buf.count(b"\n", pos, keep_from)
            buf = buf[keep_from:]


def resume_records(path: Path, root_name: str, start: int) -> Iterator[Record | ParseIssue]:
    """Records ``start``, ``start + 1``, ... of a PubMed XML file, each parsed on its own.

    Used after a syntax error stopped the streaming parser: a record that does not parse gives a
    :class:`ParseIssue` with its line; the others are read as usual. Entity declarations were
    already refused by :func:`check_prolog`; undefined entities stay errors (never expanded).
    """
    file = str(path)
    tags = _RECORD_TAGS[root_name]
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False,
                             huge_tree=False, remove_comments=True, remove_pis=True)
    for index, (line, piece) in enumerate(_record_pieces(path, root_name)):
        if index < start:
            continue
        # cut after the record's own end tag (drops whitespace and the root's end tag)
        ends = [piece.rfind(b"</" + t.encode() + b">") + len(t) + 3 for t in tags
                if piece.rfind(b"</" + t.encode() + b">") >= 0]
        body = piece[:max(ends)] if ends else piece
        try:
            el = etree.fromstring(body, parser)
        except etree.XMLSyntaxError as exc:
            yield ParseIssue(file=file, line=line + (exc.lineno or 1) - 1, record=str(index + 1),
                             reason=f"XML syntax error: {exc.msg}; record skipped")
            continue
        if el.tag == "DeleteCitation":
            deletion = deletion_of(el, file)
            deletion.line = line
            yield deletion
            continue
        item = PubmedXMLReader._record(el, file, index)
        if isinstance(item, Record):
            item.source_line = line
        else:
            item.line = line
        yield item
