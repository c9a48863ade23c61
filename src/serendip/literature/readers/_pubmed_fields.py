"""PubMed XML record elements -> :class:`Record` fields (used by :mod:`.pubmed_xml`).

Element paths follow the NLM PubMed DTD (https://dtd.nlm.nih.gov/ncbi/pubmed/doc/out/250101/index.html)
and the element descriptions at https://www.nlm.nih.gov/bsd/licensee/elements_descriptions.html.

Speed (this runs once per record in ingest's parsing child, its busier process): children are walked
with ``getchildren()`` (a quarter faster than iterating the element; the same nodes in the same order)
and an element without child elements has its text read inline (:func:`_leaf_or_text`).
"""
from __future__ import annotations

import re

from lxml import etree

from serendip.literature import normalize as norm
from serendip.literature.record import (
    AbstractSection,
    Author,
    MeshHeading,
    MeshQualifier,
    Record,
)

__all__ = ["cited_pmids", "parse_record"]

_NOT_AVAILABLE = {"[not available].", "[not available]", "not available", "not available."}
_MONTHS = {m: i for i, m in enumerate(
    ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"], 1)}
_MEDLINE_MONTH = re.compile(r"^\s*\d{4}\s+([A-Za-z]{3})")


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


def _leaf_or_text(el) -> str | None:
    """:func:`_text` of an element, with the common case (no child element) inline: the hot loops
    (authors, MeSH, lists) call this once per element, saving the general path's checks."""
    if len(el):
        return _text(el)
    raw = el.text
    return (" ".join(raw.split()) or None) if raw else None


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
    parts = {c.tag: c.text for c in pub_date.getchildren()}
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


#: Author children read as text -> their slot in :func:`_author`
_AUTHOR_TEXT = {"LastName": 0, "ForeName": 1, "Initials": 2, "Suffix": 3, "CollectiveName": 4}


def _author(a) -> Author | None:
    """One ``Author`` element (children read in one pass), or None when it names nobody."""
    vals = [None, None, None, None, None]  # family, given, initials, suffix, collective
    orcid = None
    affs: list[str] = []
    for c in a.getchildren():
        tag = c.tag
        slot = _AUTHOR_TEXT.get(tag)
        if slot is not None:
            vals[slot] = _leaf_or_text(c)
        elif tag == "AffiliationInfo":
            for x in c.getchildren():
                if x.tag == "Affiliation":
                    t = _leaf_or_text(x)
                    if t:
                        affs.append(t)
        elif tag == "Identifier":
            if orcid is None and (c.get("Source") or "").upper() == "ORCID":
                orcid = norm.orcid(c.text)
    family, given, initials, suffix, collective = vals
    if not (family or given or initials or collective):
        return None
    return Author(family, given, collective, affs, orcid, initials,
                  (norm.name_suffix(suffix) or suffix) if suffix else suffix)


def _authors(author_list) -> list[Author]:
    if author_list is None:
        return []
    out = []
    for a in author_list.getchildren():
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
    for at in abstract.getchildren():
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


def _mesh(mesh_list) -> list[MeshHeading]:
    """Every ``MeshHeading``: descriptor (with its ``UI``) and qualifiers, each with its ``MajorTopicYN``
    flag."""
    if mesh_list is None:
        return []
    headings: list[MeshHeading] = []
    current: MeshHeading | None = None
    for c in mesh_list.iter("DescriptorName", "QualifierName"):
        if c.tag == "DescriptorName":
            name = _leaf_or_text(c)
            ui = (c.get("UI") or "").strip() or None
            current = MeshHeading(name, c.get("MajorTopicYN") == "Y", [], ui) if name else None
            if current is not None:
                headings.append(current)
        elif current is not None and (name := _leaf_or_text(c)):
            current.qualifiers.append(MeshQualifier(name, c.get("MajorTopicYN") == "Y"))
    return headings


def _ids(data) -> tuple[list[str], list[str]]:
    """``ArticleIdList/ArticleId`` values of IdType ``doi`` and of IdType ``pmc`` (in document order),
    direct children of ``data`` only; one pass for both."""
    dois: list[str] = []
    pmcs: list[str] = []
    if data is None:
        return dois, pmcs
    for lst in data.getchildren():
        if lst.tag == "ArticleIdList":
            for x in lst.getchildren():
                id_type = x.get("IdType")
                if id_type == "doi" or id_type == "pmc":
                    text = x.text
                    if text:
                        (dois if id_type == "doi" else pmcs).append(text)
    return dois, pmcs


def cited_pmids(data) -> list[str]:
    """PMIDs of the works the record cites: ``ReferenceList/Reference/ArticleIdList/ArticleId`` of IdType
    ``pubmed`` under ``PubmedData`` (nested reference lists included), normalised, in document order, each
    once; [] without a reference list (most records: PubMed gives one where PMC deposited it)."""
    if data is None:
        return []
    found = (norm.pmid(x.text) for x in data.iterfind("ReferenceList//Reference/ArticleIdList/ArticleId")
             if x.get("IdType") == "pubmed")
    return list(dict.fromkeys(p for p in found if p))


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
    for c in journal.getchildren():
        if c.tag == "Title":
            rec.journal = _text(c)
        elif c.tag == "JournalIssue":
            for x in c.getchildren():
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
    for c in mc.getchildren():
        tag = c.tag
        if tag == "PMID":
            rec.pmid = norm.pmid(c.text)
        elif tag == "Article":
            art = c
        elif tag == "MeshHeadingList":
            rec.mesh_headings = _mesh(c)
            rec.mesh_terms = [h.descriptor for h in rec.mesh_headings]
        elif tag == "KeywordList":
            rec.keywords += [t for t in (_leaf_or_text(x) for x in c.getchildren() if x.tag == "Keyword") if t]
        elif tag == "VernacularTitle":  # before the 2025 DTD moved it into Article
            vern = c
    if art is None:
        raise ValueError("MedlineCitation has no Article element")
    title = None
    dois = []
    for c in art.getchildren():
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
            rec.publication_types = [t for t in (_leaf_or_text(x) for x in c.getchildren()) if t]
        elif tag == "ELocationID":
            if c.get("EIdType") == "doi":
                dois.append(c.text)
        elif tag == "Pagination":
            for x in c.getchildren():
                if x.tag == "MedlinePgn" and x.text:
                    rec.extra["pages"] = _text(x)
    _titles(rec, title, vern)
    data_dois, pmcs = _ids(pubmed_data)
    rec.doi = _first_doi(dois + data_dois)
    rec.pmcid = next(filter(None, map(norm.pmcid, pmcs)), None)
    refs = cited_pmids(pubmed_data)
    if refs:
        rec.extra["cited_pmids"] = refs


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
    data_dois, pmcs = _ids(data)
    rec.doi = _first_doi([x.text for x in doc.iterfind("ArticleIdList/ArticleId")
                          if x.get("IdType") == "doi"] + data_dois)
    rec.pmcid = next(filter(None, map(norm.pmcid, pmcs)), None)
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
        for c in el.getchildren():
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
