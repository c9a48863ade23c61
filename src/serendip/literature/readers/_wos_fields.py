"""Web of Science field tags -> :class:`Record`, shared by the tab-delimited and plain-text readers.

Both Web of Science export formats carry the same two-letter field tags (Clarivate, *Web of Science
Core Collection Field Tags*, images.webofknowledge.com/images/help/WOS/hs_wos_fieldtags.html); only
the layout differs (one row per record with a header of tags, or one ``TAG value`` line per field with
3-space continuation lines). A reader turns a record into ``{tag: text}`` where a multi-valued field
(authors, addresses) is one ``"; "``-separated string, as the tab-delimited export writes it, and
calls :func:`wos_record`.

Mapped: ``TI`` title, ``AF`` (else ``AU``) authors with ``CA`` group authors, ``C1`` affiliations
and ``OI`` ORCID iDs per author, ``SO`` journal (``JI`` abbreviation in ``extra``), ``PY`` year (the
``EA`` early-access date's when there is no ``PY``), ``PD`` month, ``DI`` DOI, ``PM`` PMID, ``AB``
abstract, ``DE`` author keywords, ``ID`` Keywords Plus (``extra``), ``LA`` language, ``DT`` document
types, ``UT`` accession number (``source_key``), ``VL IS BP EP AR SN EI PU PT PD`` to ``extra``.
"""
from __future__ import annotations

import re

from serendip.literature import normalize as norm
from serendip.literature.readers.csv_table import parse_person
from serendip.literature.record import AbstractSection, Author, Record

#: tags whose lines in the plain-text export are separate values (joined with "; "), not a wrapped text
LIST_TAGS = frozenset({"AU", "AF", "BA", "BF", "CA", "GP", "BE", "C1", "C3", "CR"})
#: tag -> ``extra`` key for values kept as they are
EXTRA_TAGS = {"VL": "volume", "IS": "issue", "BP": "start_page", "EP": "end_page", "AR": "article_number",
              "SN": "issn", "EI": "eissn", "PU": "publisher", "PT": "type", "JI": "journal_abbrev",
              "PD": "date"}
_MONTHS = {m: i for i, m in enumerate(
    ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"), 1)}
_C1_GROUP = re.compile(r"\[([^\]]*)\]\s*([^\[]*)")
_BOMS = {b"\xff\xfe": "utf-16-le", b"\xfe\xff": "utf-16-be", b"\xef\xbb\xbf": "utf-8"}


def head_text(head: bytes) -> str:
    """The start of a file as text for sniffing: UTF-16 (either byte order) or UTF-8 after its BOM."""
    for bom, encoding in _BOMS.items():
        if head.startswith(bom):
            return head[len(bom):].decode(encoding, errors="ignore")
    return head.decode("utf-8", errors="ignore")


def _split(value: str | None) -> list[str]:
    """A ``"; "``-separated cell as its non-blank parts, whitespace collapsed."""
    return [p for part in (value or "").split(";") if (p := norm.collapse_ws(part))]


def accession(ut: str | None) -> str | None:
    """A Web of Science accession number ``UT`` as WoS prints it, its database prefixed in capitals:
    ``"WOS:000424022700066"``, ``"MEDLINE:29370169"``; a bare number gets ``WOS:``. It is the record's
    source key and, with no format name before it, its source id in either export layout."""
    if not ut:
        return None
    db, sep, number = ut.partition(":")
    return f"{db.strip().upper()}:{number.strip()}" if sep else f"WOS:{ut}"


def _month(pd: str | None) -> int | None:
    """The month of a ``PD`` value (``"JAN"``, ``"JAN 15"``, ``"JAN-FEB"``), or None (``"SPR"``)."""
    word = (pd or "").strip()[:3].upper()
    return _MONTHS.get(word)


def _affiliations(c1: str | None) -> dict[str, list[str]]:
    """Full author name -> addresses from ``C1`` (``[Name1; Name2] Address; [Name3] Address``)."""
    out: dict[str, list[str]] = {}
    for names, address in _C1_GROUP.findall(c1 or ""):
        address = norm.collapse_ws(address.strip().rstrip(";"))
        if not address:
            continue
        for name in _split(names):
            out.setdefault(name, []).append(address)
    return out


def _authors(values: dict[str, str]) -> list[Author]:
    """``AF`` full names (else ``AU``), each with its ``C1`` addresses, then ``CA`` group authors."""
    names = _split(values.get("AF")) or _split(values.get("AU"))
    where = _affiliations(values.get("C1"))
    authors = []
    for name in names:
        if (author := parse_person(name)) is not None:
            author.affiliations = list(where.get(name, []))
            authors.append(author)
    _orcids(authors, values.get("OI"))
    authors += [Author(collective=group) for group in _split(values.get("CA"))]
    return authors


def _orcids(authors: list[Author], oi: str | None) -> None:
    """Set ORCID iDs from ``OI`` (``"Solomon, Anthony/0000-0001-7101-6649; ..."``): each goes to the
    one author whose ``Family, Given`` starts with the name given (none when two authors match)."""
    for entry in _split(oi):
        name, _, value = entry.rpartition("/")
        if not (orcid := norm.orcid(value)):
            continue
        matches = [a for a in authors if a.display.casefold().startswith(name.strip().casefold())]
        if len(matches) == 1:
            matches[0].orcid = orcid


def wos_record(values: dict[str, str], rec: Record) -> Record:
    """Fill ``rec`` from one Web of Science record's ``{tag: text}`` (see the module docstring).

    Parameters
    ----------
    values : dict of str to str
        Field tag -> value; a multi-valued field is one ``"; "``-separated string.
    rec : Record
        The record to fill (its ``source_*`` fields already set by the reader).

    Returns
    -------
    Record
        ``rec``; unparseable identifiers are kept raw in ``extra`` (``doi_raw``, ``pmid_raw``).
    """
    def get(tag: str) -> str | None:
        return norm.collapse_ws(values.get(tag))

    rec.title = get("TI")
    if (abstract := get("AB")):
        rec.abstract_sections = [AbstractSection(text=abstract)]
    rec.authors = _authors(values)
    rec.journal = get("SO")
    rec.year = norm.first_year(get("PY")) or norm.first_year(get("EA"))  # early access: no PY yet
    rec.month = _month(get("PD"))
    rec.source_key = accession(get("UT"))
    for tag, field, fn in (("DI", "doi", norm.doi), ("PM", "pmid", norm.pmid)):
        raw = get(tag)
        setattr(rec, field, fn(raw))
        if raw and getattr(rec, field) is None:
            rec.extra[f"{field}_raw"] = raw
    rec.keywords = _split(values.get("DE"))
    rec.language = _split(values.get("LA"))
    rec.publication_types = _split(values.get("DT"))
    if (plus := _split(values.get("ID"))):
        rec.extra["keywords_plus"] = plus
    for tag, key in EXTRA_TAGS.items():
        if (v := get(tag)):
            rec.extra[key] = v
    return rec


def is_tag(text: str) -> bool:
    """Whether ``text`` is a Web of Science field tag (two characters: a capital, then a capital or
    digit)."""
    return len(text) == 2 and text[0].isascii() and text[0].isupper() and (
        text[1].isascii() and (text[1].isupper() or text[1].isdigit()))
