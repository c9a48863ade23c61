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
from serendip.literature import normalize as norm
from serendip.literature.readers import register_reader
from serendip.literature.record import AbstractSection, Author, ParseIssue, Record

#: record elements per root element
_RECORD_TAGS = {
    "PubmedArticleSet": ("PubmedArticle", "PubmedBookArticle"),
    "MedlineCitationSet": ("MedlineCitation",),
    "PubmedArticle": ("PubmedArticle",),
    "PubmedBookArticle": ("PubmedBookArticle",),
    "MedlineCitation": ("MedlineCitation",),
}
_PROLOG_LIMIT = 1 << 20  # bytes of prolog scanned before the root element at most
_NOT_AVAILABLE = {"[not available].", "[not available]", "not available", "not available."}
_MONTHS = {m: i for i, m in enumerate(
    ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"], 1)}
_MEDLINE_MONTH = re.compile(r"^\s*\d{4}\s+([A-Za-z]{3})")
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


def _text(el) -> str | None:
    """Plain text of an element: all text nodes in document order, whitespace runs collapsed.

    Raises ValueError for an entity reference left unexpanded (the record is then reported).
    """
    if el is None:
        return None
    if len(el) == 0:
        raw = el.text
    else:
        for ent in el.iter(etree.Entity):  # only when an external DTD was referenced, never loaded
            raise ValueError(f"undefined entity reference {ent.text} in <{el.tag}> "
                             "(entities are never expanded)")
        raw = "".join(el.itertext())
    if not raw:
        return None
    return " ".join(raw.split()) or None


def _inner_html(el) -> str | None:
    """The element's content with its inline tags kept (only when it has child elements)."""
    if el is None or len(el) == 0:
        return None
    parts = [el.text or ""]
    parts += [etree.tostring(child, encoding="unicode", with_tail=True) for child in el]
    return norm.collapse_ws("".join(parts))


def _month(value: str | None) -> int | None:
    if not value:
        return None
    v = value.strip().lower()
    if v.isdigit():
        m = int(v)
        return m if 1 <= m <= 12 else None
    return _MONTHS.get(v[:3])


def _pub_date(pub_date, extra: dict) -> tuple[int | None, int | None]:
    """Year and month of a ``PubDate``: Year, else the first year in MedlineDate or Season."""
    if pub_date is None:
        return None, None
    parts = {c.tag: c.text for c in pub_date}
    medline, season = parts.get("MedlineDate"), parts.get("Season")
    if medline:
        extra["pub_date_raw"] = medline.strip()
    if season:
        extra["season"] = season.strip()
    year = norm.first_year(parts.get("Year")) or norm.first_year(medline) or norm.first_year(season)
    month = _month(parts.get("Month"))
    if month is None and medline:
        m = _MEDLINE_MONTH.match(medline)
        month = _MONTHS.get(m.group(1).lower()) if m else None
    return year, month


def _author(a) -> Author | None:
    """One ``Author`` element (children read in one pass), or None when it names nobody."""
    family = given = initials = collective = orcid = None
    affs: list[str] = []
    for c in a:
        tag = c.tag
        if tag == "LastName":
            family = _text(c)
        elif tag == "ForeName":
            given = _text(c)
        elif tag == "Initials":
            initials = _text(c)
        elif tag == "AffiliationInfo":
            for x in c:
                if x.tag == "Affiliation":
                    t = _text(x)
                    if t:
                        affs.append(t)
        elif tag == "Identifier":
            if orcid is None and (c.get("Source") or "").upper() == "ORCID":
                orcid = norm.orcid(c.text)
        elif tag == "CollectiveName":
            collective = _text(c)
    given = given or initials
    if not (family or given or collective):
        return None
    return Author(family=family, given=given, collective=collective, affiliations=affs, orcid=orcid)


def _authors(author_list) -> list[Author]:
    if author_list is None:
        return []
    out = []
    for a in author_list:
        # ValidYN="N": NLM found the name invalid (e.g. corrected by an erratum)
        if a.tag != "Author" or a.get("ValidYN") == "N":
            continue
        author = _author(a)
        if author is not None:
            out.append(author)
    return out


def _abstract(abstract, extra: dict) -> list[AbstractSection]:
    """Every ``AbstractText`` with Label and NlmCategory; CopyrightInformation goes to extra."""
    if abstract is None:
        return []
    sections = []
    for at in abstract:
        tag = at.tag
        if tag == "AbstractText":
            text = _text(at)
            if text:
                sections.append(AbstractSection(text=text, label=at.get("Label") or None,
                                                category=at.get("NlmCategory") or None))
        elif tag == "CopyrightInformation":
            copyright_ = _text(at)
            if copyright_:
                extra["abstract_copyright"] = copyright_
    if not sections:  # e.g. <Abstract><AbstractText/></Abstract>: an element but no text
        extra["abstract_empty"] = True
    return sections


def _mesh(mesh_list, extra: dict) -> list[str]:
    """Descriptor names; ``extra["mesh"]`` keeps each heading as ``[descriptor, major, qualifiers]``
    with major topics marked ``*`` in the qualifier strings (as in MEDLINE text: ``"methods*"``)."""
    if mesh_list is None:
        return []
    terms: list[str] = []
    details: list[list] = []
    quals: list[str] = []
    for c in mesh_list.iter("DescriptorName", "QualifierName"):
        if c.tag == "DescriptorName":
            name = _text(c)
            quals = []
            if name:
                terms.append(name)
                details.append([name, c.get("MajorTopicYN") == "Y", quals])
        else:
            quals.append((c.text or "").strip() + ("*" if c.get("MajorTopicYN") == "Y" else ""))
    if details:
        extra["mesh"] = details
    return terms


def _ids(data, id_type: str) -> list[str]:
    """``ArticleIdList/ArticleId`` values of one IdType, direct children of ``data`` only."""
    if data is None:
        return []
    return [x.text for lst in data if lst.tag == "ArticleIdList"
            for x in lst if x.get("IdType") == id_type and x.text]


def _first_doi(candidates) -> str | None:
    for c in candidates:
        d = norm.doi(c)
        if d:
            return d
    return None


def _titles(rec: Record, title_el, vernacular_el) -> None:
    title = _text(title_el)
    rec.vernacular_title = _text(vernacular_el)
    if title and title.lower() in _NOT_AVAILABLE:
        rec.extra["title_not_available"] = title
        title = None
    rec.title = title or rec.vernacular_title
    html = _inner_html(title_el)
    if html and title:
        rec.extra["title_html"] = html


def _journal(journal, rec: Record) -> None:
    for c in journal:
        if c.tag == "Title":
            rec.journal = _text(c)
        elif c.tag == "JournalIssue":
            for x in c:
                tag = x.tag
                if tag == "PubDate":
                    rec.year, rec.month = _pub_date(x, rec.extra)
                elif tag in ("Volume", "Issue"):
                    v = _text(x)
                    if v:
                        rec.extra[tag.lower()] = v


def _from_citation(mc, pubmed_data, rec: Record) -> None:
    """Fill ``rec`` from a ``MedlineCitation`` (and its sibling ``PubmedData``, if any)."""
    art = None
    vern = None
    for c in mc:
        tag = c.tag
        if tag == "PMID":
            rec.pmid = norm.pmid(c.text)
        elif tag == "Article":
            art = c
        elif tag == "MeshHeadingList":
            rec.mesh_terms = _mesh(c, rec.extra)
        elif tag == "KeywordList":
            rec.keywords += [t for t in (_text(x) for x in c if x.tag == "Keyword") if t]
        elif tag == "VernacularTitle":  # before the 2025 DTD moved it into Article
            vern = c
    if art is None:
        raise ValueError("MedlineCitation has no Article element")
    title = None
    dois = []
    for c in art:
        tag = c.tag
        if tag == "ArticleTitle":
            title = c
        elif tag == "VernacularTitle":
            vern = c
        elif tag == "Abstract":
            rec.abstract_sections = _abstract(c, rec.extra)
        elif tag == "AuthorList":
            rec.authors = _authors(c)
        elif tag == "Journal":
            _journal(c, rec)
        elif tag == "Language":
            lang = _text(c)
            if lang:
                rec.language.append(lang)
        elif tag == "PublicationTypeList":
            rec.publication_types = [t for t in (_text(x) for x in c) if t]
        elif tag == "ELocationID":
            if c.get("EIdType") == "doi":
                dois.append(c.text)
        elif tag == "Pagination":
            for x in c:
                if x.tag == "MedlinePgn" and x.text:
                    rec.extra["pages"] = _text(x)
    _titles(rec, title, vern)
    rec.doi = _first_doi(dois + _ids(pubmed_data, "doi"))
    rec.pmcid = next(filter(None, map(norm.pmcid, _ids(pubmed_data, "pmc"))), None)


def _from_book(el, rec: Record) -> None:
    """Fill ``rec`` from a ``PubmedBookArticle`` (``BookDocument`` + ``PubmedBookData``)."""
    doc = el.find("BookDocument")
    if doc is None:
        raise ValueError("PubmedBookArticle has no BookDocument element")
    rec.pmid = norm.pmid(doc.findtext("PMID"))
    book = doc.find("Book")
    title_el = doc.find("ArticleTitle")
    if title_el is None and book is not None:
        title_el = book.find("BookTitle")
    _titles(rec, title_el, doc.find("VernacularTitle"))
    rec.abstract_sections = _abstract(doc.find("Abstract"), rec.extra)
    rec.authors = _authors(doc.find("AuthorList"))
    if book is not None:
        rec.journal = _text(book.find("BookTitle"))
        rec.year, rec.month = _pub_date(book.find("PubDate"), rec.extra)
        if not rec.authors:
            rec.authors = _authors(book.find("AuthorList"))
    rec.language = [t for t in (_text(x) for x in doc.iterfind("Language")) if t]
    rec.publication_types = [t for t in (_text(x) for x in doc.iterfind("PublicationType")) if t]
    rec.keywords = [t for t in (_text(x) for x in doc.iterfind("KeywordList/Keyword")) if t]
    data = el.find("PubmedBookData")
    rec.doi = _first_doi([x.text for x in doc.iterfind("ArticleIdList/ArticleId")
                          if x.get("IdType") == "doi"] + _ids(data, "doi"))
    rec.pmcid = next(filter(None, map(norm.pmcid, _ids(data, "pmc"))), None)
    rec.extra["book"] = True


def parse_record(el, rec: Record) -> None:
    """Fill ``rec`` from one record element (PubmedArticle, PubmedBookArticle or MedlineCitation).

    Raises
    ------
    ValueError
        The record is unusable (no MedlineCitation/Article, no valid PMID).
    """
    if el.tag == "PubmedArticle":
        mc = data = None
        for c in el:
            if c.tag == "MedlineCitation":
                mc = c
            elif c.tag == "PubmedData":
                data = c
        if mc is None:
            raise ValueError("PubmedArticle has no MedlineCitation element")
        _from_citation(mc, data, rec)
    elif el.tag == "MedlineCitation":
        _from_citation(el, None, rec)
    else:
        _from_book(el, rec)
    if rec.pmid is None:
        raise ValueError("missing or non-numeric PMID")


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

    def read(self, path: Path) -> Iterator[Record | ParseIssue]:
        """Yield a :class:`Record` per article, a :class:`ParseIssue` per unusable one.

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
                    last_line = el.sourceline
                    yield self._record(el, file, index)
                    index += 1
                    el.clear(keep_tail=True)
                    if parent is not None:
                        while el.getprevious() is not None:
                            del parent[0]
            except etree.XMLSyntaxError as exc:
                syntax_error = exc
            except (OSError, EOFError, zlib.error, _GzipError) as exc:  # truncated or corrupt gzip stream
                if index == 0:
                    raise ParseError(f"cannot read: {exc}", file=file) from exc
                yield ParseIssue(file=file, line=last_line, reason=(
                    f"cannot read further ({exc}); reading stopped after {index} records"))
        if syntax_error is None:
            return
        # A streaming parser cannot go on after a syntax error: re-read the file record by record
        # from the failing one, so that only the broken record is lost.
        resumed = 0
        for item in resume_records(path, root_name, index):
            resumed += 1
            yield item
        if resumed == 0:
            line = syntax_error.lineno or last_line
            if index == 0:
                raise ParseError(f"XML syntax error: {syntax_error.msg}", file=file, line=line)
            yield ParseIssue(file=file, line=line, reason=(
                f"XML syntax error: {syntax_error.msg}; reading stopped after {index} records"))

    @staticmethod
    def _record(el, file: str, index: int) -> Record | ParseIssue:
        rec = Record(source_file=file, source_format="pubmed", source_index=index,
                     source_line=el.sourceline)
        try:
            parse_record(el, rec)
        except ValueError as exc:
            pmid = rec.pmid
            return ParseIssue(file=file, line=el.sourceline,
                              record=f"PMID {pmid}" if pmid else str(index + 1),
                              reason=f"<{el.tag}> skipped: {exc}")
        return rec


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
        item = PubmedXMLReader._record(el, file, index)
        if isinstance(item, Record):
            item.source_line = line
        else:
            item.line = line
        yield item
