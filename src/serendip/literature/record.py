"""The bibliographic record every reader produces, and the issue a reader reports for a bad record.

Plain dataclasses (not pydantic) so that ingest stays above 5,000 records/s; ``to_dict``/``from_dict``
give the JSON form stored in the workspace database.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from serendip.issues import Issue


@dataclass(slots=True)
class Author:
    """One author: a person (``family``/``given``) or a collective name (``collective``).

    ``given`` is the given name as the source spells it ("James A"); ``initials`` the initials as the
    source gives them, letters only ("JA": PubMed ``<Initials>``, MEDLINE ``AU``), also when the source
    has nothing more ("Smith, J.A." -> given None, initials "JA"). ``suffix`` is a generational suffix
    in normal form ("Jr", "Sr", "II", "III", "IV", "2nd"...; see
    :func:`serendip.literature.normalize.name_suffix`), never glued to ``family`` or ``given``.
    ``orcid`` is in normal form ``0000-0002-1825-0097`` (see :func:`serendip.literature.normalize.orcid`).
    ``affiliations`` keeps every affiliation of this author, in document order.
    """

    family: str | None = None
    given: str | None = None
    collective: str | None = None
    affiliations: list[str] = field(default_factory=list)
    orcid: str | None = None
    initials: str | None = None
    suffix: str | None = None

    @property
    def display(self) -> str:
        """"Family, Given, Suffix" (initials when there is no given name), or the collective name."""
        if self.collective:
            return self.collective
        return ", ".join(p for p in (self.family, self.given or self.initials, self.suffix) if p)


@dataclass(slots=True)
class MeshQualifier:
    """A MeSH qualifier (subheading) of a heading; ``major``: marked as a major topic (``*``)."""

    name: str
    major: bool = False


@dataclass(slots=True)
class MeshHeading:
    """One MeSH heading: descriptor, its major-topic flag and its qualifiers, each with its own flag.

    MEDLINE text ``MH  - Neoplasms/*drug therapy`` and PubMed XML ``MajorTopicYN="Y"`` both give
    ``MeshHeading("Neoplasms", False, [MeshQualifier("drug therapy", True)])``; no ``*`` is kept in
    any name (NLM, MEDLINE/PubMed Data Element Descriptions, MH).
    """

    descriptor: str
    major: bool = False
    qualifiers: list[MeshQualifier] = field(default_factory=list)
    #: the descriptor's unique identifier (``D001241``) where the source gives it (PubMed XML's
    #: ``DescriptorName/@UI``; MEDLINE text and RIS do not); stored only when known
    ui: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out = {"descriptor": self.descriptor, "major": self.major,
               "qualifiers": [{"name": q.name, "major": q.major} for q in self.qualifiers]}
        if self.ui:
            out["ui"] = self.ui
        return out

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "MeshHeading":
        return cls(d["descriptor"], bool(d.get("major")),
                   [MeshQualifier(q["name"], bool(q.get("major"))) for q in d.get("qualifiers") or []],
                   d.get("ui") or None)


@dataclass(slots=True)
class AbstractSection:
    """One section of a (possibly structured) abstract.

    ``label`` is the label as displayed by the source (PubMed ``Label``, e.g. "MATERIALS AND METHODS");
    ``category`` the source's controlled category (PubMed ``NlmCategory``, e.g. "METHODS"); both may be
    None for an unstructured abstract.
    """

    text: str
    label: str | None = None
    category: str | None = None


@dataclass(slots=True)
class Record:
    """A bibliographic record as read from a file.

    Identifiers are normalised by the readers: ``pmid`` digits only, ``doi`` lower-case without
    ``https://doi.org/``, ``pmcid`` as ``PMC123``. ``source_key`` is the record's key in its source
    (BibTeX citation key, BEIR ``_id``, RIS ``ID``...). ``source_line`` is the 1-based line where the
    record starts in ``source_file`` (None where the format has no meaningful line, e.g. gzip XML).
    ``mesh_terms`` are the plain descriptor names users see; ``mesh_headings`` the same headings with
    qualifiers and major-topic flags (empty when the source gives descriptors only).
    ``extra`` holds format-specific fields (booktitle, raw date string, html title...).

    A stored record that several inputs contributed to (see :mod:`serendip.literature.merge`) lists
    them in ``sources`` (one dict per copy: ``file``, ``format``, ``key``, ``line``, ``index``) and
    keeps, per field, the conflicting values that lost to the primary one in ``alternatives``
    (field name -> list of values in the stored JSON form). Both are empty for a record as read.
    """

    title: str | None = None
    abstract_sections: list[AbstractSection] = field(default_factory=list)
    pmid: str | None = None
    doi: str | None = None
    pmcid: str | None = None
    source_key: str | None = None
    authors: list[Author] = field(default_factory=list)
    journal: str | None = None
    year: int | None = None
    month: int | None = None
    mesh_terms: list[str] = field(default_factory=list)
    keywords: list[str] = field(default_factory=list)
    publication_types: list[str] = field(default_factory=list)
    language: list[str] = field(default_factory=list)
    vernacular_title: str | None = None
    source_file: str | None = None
    source_format: str | None = None
    source_line: int | None = None
    source_index: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    mesh_headings: list[MeshHeading] = field(default_factory=list)
    sources: list[dict[str, Any]] = field(default_factory=list)
    alternatives: dict[str, list[Any]] = field(default_factory=dict)

    @property
    def abstract(self) -> str:
        """Plain abstract text: the section texts joined by one space, in order ("" if none)."""
        return " ".join(s.text for s in self.abstract_sections if s.text)

    @property
    def label(self) -> str:
        """A short human-readable reference for error messages: PMID, DOI, key or record number."""
        return _label(self.pmid, self.doi, self.source_key, self.source_index)

    def search_text(self) -> str:
        """Text indexed for BM25: title, vernacular title (when it differs from the title) and abstract,
        joined by spaces."""
        vern = self.vernacular_title if self.vernacular_title != self.title else None
        parts = [self.title or "", vern or "", self.abstract]
        return " ".join(p.strip() for p in parts if p and p.strip())

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (the stored form). Written out by hand: ``dataclasses.asdict`` deep-copies
        every nested value and was half of the ingest time."""
        return {
            "title": self.title,
            "abstract_sections": [{"text": s.text, "label": s.label, "category": s.category}
                                  for s in self.abstract_sections],
            "pmid": self.pmid, "doi": self.doi, "pmcid": self.pmcid, "source_key": self.source_key,
            "authors": [{"family": a.family, "given": a.given, "collective": a.collective,
                         "affiliations": list(a.affiliations), "orcid": a.orcid,
                         "initials": a.initials, "suffix": a.suffix} for a in self.authors],
            "journal": self.journal, "year": self.year, "month": self.month,
            "mesh_terms": list(self.mesh_terms), "keywords": list(self.keywords),
            "publication_types": list(self.publication_types), "language": list(self.language),
            "vernacular_title": self.vernacular_title, "source_file": self.source_file,
            "source_format": self.source_format, "source_line": self.source_line,
            "source_index": self.source_index, "extra": self.extra,
            "mesh_headings": [h.to_dict() for h in self.mesh_headings],
            "sources": [dict(s) for s in self.sources],
            "alternatives": {k: list(v) for k, v in self.alternatives.items()},
        }

    def __reduce__(self):
        """Pickle as plain tuples (sent between ingest's reader and writer processes): 4x faster
        than the default slots dataclass state."""
        return (_rebuild, (
            self.title, tuple((s.text, s.label, s.category) for s in self.abstract_sections),
            self.pmid, self.doi, self.pmcid, self.source_key,
            tuple((a.family, a.given, a.collective, a.affiliations, a.orcid, a.initials, a.suffix)
                  for a in self.authors),
            self.journal, self.year, self.month, self.mesh_terms, self.keywords, self.publication_types,
            self.language, self.vernacular_title, self.source_file, self.source_format, self.source_line,
            self.source_index, self.extra,
            tuple((h.descriptor, h.major, tuple((q.name, q.major) for q in h.qualifiers), h.ui)
                  for h in self.mesh_headings),
            self.sources, self.alternatives))

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Record":
        d = dict(d)
        d["authors"] = [Author(**a) for a in d.get("authors") or []]
        d["abstract_sections"] = [AbstractSection(**s) for s in d.get("abstract_sections") or []]
        d["mesh_headings"] = [MeshHeading.from_dict(h) for h in d.get("mesh_headings") or []]
        extra = d.get("extra")
        if not d["mesh_headings"] and isinstance(extra, dict) and extra.get("mesh"):
            d["extra"] = dict(extra)
            d["mesh_headings"] = _old_mesh(d["extra"].pop("mesh"))
        return cls(**d)


def record_label(d: dict[str, Any]) -> str:
    """:attr:`Record.label` of a record in its JSON form (:meth:`Record.to_dict`)."""
    return _label(d.get("pmid"), d.get("doi"), d.get("source_key"), d.get("source_index"))


def _label(pmid: str | None, doi: str | None, source_key: str | None, source_index: int | None) -> str:
    if pmid:
        return f"PMID {pmid}"
    if doi:
        return f"DOI {doi}"
    if source_key:
        return f"key {source_key}"
    return f"record {source_index}" if source_index is not None else "record"


def _old_mesh(rows: list) -> list[MeshHeading]:
    """Headings stored before :attr:`Record.mesh_headings` existed, as ``extra["mesh"]`` rows
    ``[descriptor, major, ["qualifier*", ...]]`` (a trailing ``*`` marked a major qualifier)."""
    return [MeshHeading(name, bool(major), [MeshQualifier(q.rstrip("*"), q.endswith("*"))
                                            for q in quals])
            for name, major, quals in rows]


def _rebuild(title, sections, pmid, doi, pmcid, source_key, authors, *rest) -> Record:
    *rest, headings, sources, alternatives = rest
    return Record(title, [AbstractSection(*s) for s in sections], pmid, doi, pmcid, source_key,
                  [Author(*a) for a in authors], *rest,
                  [MeshHeading(d, m, [MeshQualifier(*q) for q in qs], ui) for d, m, qs, ui in headings],
                  sources, alternatives)


@dataclass(slots=True)
class ParseIssue(Issue):
    """A bibliographic record a reader could not read (see :class:`serendip.issues.Issue`)."""
