"""PubMed XML cut into blocks of raw record elements, parsed block by block in several processes.

Ingest's parallel path (:mod:`serendip.literature.parallel_read`): each worker decompresses the file
and cuts it at record start tags (:func:`split_blocks`, cheap: ISA-L inflate and ``bytes.find``), and
parses its share of the blocks (:func:`parse_block`: lxml ``fromstring`` of each record element, then
the same field extraction as the streaming reader). Parsing is nine tenths of the reader's work, so it
now runs on every core.

The parallel path gives exactly the items the streaming reader (:meth:`PubmedXMLReader.read
<serendip.literature.readers.pubmed_xml.PubmedXMLReader.read>`) gives, or hands over to it: wherever
a file is not plainly a ``PubmedArticleSet`` of well-formed records separated by whitespace (a
prolog with an internal DTD subset, comments or a non-UTF-8 encoding; text, comments or elements
between records; a record element that does not parse alone, e.g. one with an entity reference or a
syntax error; no root end tag at the end; a truncated or corrupt gzip stream, from the start of the
block being read), the block stops with a :class:`Fallback` naming the first item not given, and the
caller takes the streaming reader's items from that one on. A record element cut wrongly (a start tag inside a comment or CDATA section) cannot
parse alone, so it always falls back.
"""
from __future__ import annotations

import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from lxml import etree

from serendip.literature.parallel_read import Fallback

__all__ = ["BLOCK_RECORDS", "Block", "Fallback", "parse_block", "split_blocks"]

#: record elements per block (about 2.6 MB of PubMed XML)
BLOCK_RECORDS = 200
#: bytes read (decompressed) at a time
READ_BYTES = 1 << 20
_PROLOG_LIMIT = 1 << 20
_START = re.compile(rb"<(PubmedArticle|PubmedBookArticle|DeleteCitation)[\s>/]")
_RECORD_TAGS = (b"PubmedArticle", b"PubmedBookArticle", b"DeleteCitation")
_AFTER_NAME = frozenset(b" \t\r\n>/")
#: what may come before the first record: an XML declaration, a DOCTYPE without internal subset, the
#: root start tag (an optional UTF-8 byte-order mark first)
_PROLOG = re.compile(rb"\A(?:\xef\xbb\xbf)?\s*(?:<\?xml\s[^>]*\?>)?\s*(?:<!DOCTYPE\s[^>\[]*>)?\s*"
                     rb"<PubmedArticleSet(?:\s[^>]*)?>\s*\Z")
_ENCODING = re.compile(rb"\A(?:\xef\xbb\xbf)?\s*<\?xml\s[^>]*encoding\s*=\s*[\"']([^\"']*)[\"']")
_ROOT_END = re.compile(rb"\s*</PubmedArticleSet\s*>\s*\Z")


@dataclass(slots=True)
class Block:
    """Consecutive record elements of one file, as raw bytes.

    Attributes
    ----------
    first_item : items (records and ``DeleteCitation`` elements) of the file before this block.
    first_record : record elements before this block (the ``source_index`` of its first record).
    pieces : one ``(line, tag, raw)`` per element: the 1-based line of its start tag, the tag name
        (bytes) and the bytes from its start tag to the next element's start tag (the last element of
        the file: to the end of the file), or None for a block not wanted (see :func:`split_blocks`).
    last : whether this block ends the file (its last piece must end with the root's end tag).
    """

    first_item: int
    first_record: int
    pieces: list[tuple[int, bytes, bytes | None]]
    last: bool = False


def _prolog_ok(prefix: bytes) -> bool:
    """Whether the bytes before the first record are a plain prolog and the root start tag, in UTF-8."""
    if not _PROLOG.match(prefix):
        return False
    m = _ENCODING.match(prefix)
    return m is None or m.group(1).lower().replace(b"_", b"-") in (b"utf-8", b"utf8")


def split_blocks(path: Path, block_records: int | None = None, wanted=None) -> Iterator[Block | Fallback]:
    """Cut a PubMed XML file (plain or gzip) into :class:`Block` s of ``block_records`` elements
    (default :data:`BLOCK_RECORDS`); ``wanted(seq)`` (default: all) names the blocks whose raw bytes
    are kept (the others come with ``None`` in place of each element's bytes: counts and lines only).

    Memory is bounded (a 1 MiB read buffer plus one block). The last item yielded is the block with
    ``last=True``, or a :class:`Fallback` (then nothing follows): the prolog is not plain (see the
    module docstring), no record element was found, or the stream could not be read further.
    """
    from serendip.literature.readers.pubmed_xml import _GzipError, _open

    block_records = block_records or BLOCK_RECORDS
    items = records = seq = 0
    pending: list[tuple[int, bytes, bytes]] = []

    def block(last: bool = False) -> Block:
        nonlocal items, records, pending, seq
        out = Block(items, records, pending, last)
        seq += 1
        items += len(pending)
        records += sum(1 for _, tag, _ in pending if tag != b"DeleteCitation")
        pending = []
        return out

    with _open(path) as fh:
        buf, buf_line, started = b"", 1, False
        while True:
            try:
                chunk = fh.read(READ_BYTES)
            except (OSError, EOFError, zlib.error, _GzipError) as exc:
                # a failing read loses what it had decompressed (up to READ_BYTES); the streaming
                # reader, reading in smaller steps, keeps more: it goes on from this block's start
                yield Fallback(items, f"cannot read further ({exc})")
                return
            buf += chunk
            if not started:
                first = _START.search(buf)
                if first is None:
                    if not chunk or len(buf) > _PROLOG_LIMIT:
                        yield Fallback(0, "no record element found")
                        return
                    continue
                if not _prolog_ok(buf[:first.start()]):
                    yield Fallback(0, "the prolog is not a plain UTF-8 PubmedArticleSet start")
                    return
                buf_line += buf.count(b"\n", 0, first.start())
                buf, started = buf[first.start():], True
            starts = _starts(buf)
            ends = [s for s, _ in starts[1:]] + ([len(buf)] if not chunk else [])
            pos = 0
            for (a, tag), b in zip(starts, ends):
                buf_line += buf.count(b"\n", pos, a)
                pos = a
                keep_bytes = wanted is None or wanted(seq)
                pending.append((buf_line, tag, buf[a:b] if keep_bytes else None))
                if len(pending) >= block_records and chunk:
                    yield block()
            if not chunk:
                yield block(last=True)
                return
            keep = starts[-1][0]
            buf_line += buf.count(b"\n", pos, keep)
            buf = buf[keep:]


def _starts(buf: bytes) -> list[tuple[int, bytes]]:
    """``(offset, tag)`` of every record start tag in ``buf``, in order: what ``_START.finditer``
    finds, by ``bytes.find`` (twice as fast as the regular expression, which stops at every ``<``)."""
    out = []
    for tag in _RECORD_TAGS:
        needle = b"<" + tag
        i = buf.find(needle)
        while i >= 0:
            j = i + len(needle)
            if j < len(buf) and buf[j] in _AFTER_NAME:
                out.append((i, tag))
            i = buf.find(needle, j)
    if len({tag for _, tag in out}) > 1:
        out.sort()
    return out


def _parser() -> etree.XMLParser:
    """The streaming reader's parser settings: no entity expansion, no network, no DTD, no comments;
    and no table of ``xml:id`` attributes (``collect_ids=False``: nothing looks elements up by id)."""
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False,
                           remove_comments=True, remove_pis=True, collect_ids=False)


def parse_block(block: Block, file: str) -> tuple[list, Fallback | None]:
    """The items of ``block`` as the streaming reader gives them, and a :class:`Fallback` where the
    block stops.

    ``file`` is the path as the records name it (``str(path)``).
    """
    from serendip.literature.readers.pubmed_xml import PubmedXMLReader, deletion_of

    parser = _parser()
    out: list = []
    record = block.first_record
    last = len(block.pieces) - 1
    for j, (line, tag, piece) in enumerate(block.pieces):
        item = block.first_item + j
        end_tag = b"</" + tag + b">"
        end = piece.rfind(end_tag)
        if end < 0:
            return out, Fallback(item, "record element without its end tag")
        end += len(end_tag)
        try:
            el = etree.fromstring(piece[:end], parser)
        except etree.XMLSyntaxError as exc:
            return out, Fallback(item, f"record element does not parse alone: {exc.msg}")
        if tag == b"DeleteCitation":
            deletion = deletion_of(el, file)
            deletion.line = line
            out.append(deletion)
        else:
            rec = PubmedXMLReader._record(el, file, record)
            if hasattr(rec, "source_line"):
                rec.source_line = line
            else:
                rec.line = line
            out.append(rec)
            record += 1
        tail = piece[end:]
        if block.last and j == last:
            if not _ROOT_END.match(tail):
                return out, Fallback(item + 1, "the file does not end with </PubmedArticleSet>")
        elif tail.strip():
            return out, Fallback(item + 1, "content between record elements")
    return out, None
