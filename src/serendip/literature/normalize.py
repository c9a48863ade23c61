"""Normalisers for identifiers and titles shared by all readers and by deduplication."""
from __future__ import annotations

import re
import unicodedata

_DOI_PREFIX = re.compile(r"^\s*(?:https?://(?:dx\.)?doi\.org/|doi:\s*)", re.I)
_DOI_SHAPE = re.compile(r"^10\.\d{4,9}/\S+$")
_ORCID_DIGITS = re.compile(r"(\d{4})-?(\d{4})-?(\d{4})-?(\d{3}[\dX])\s*$", re.I)
_WS = re.compile(r"\s+")
_NON_ALNUM = re.compile(r"[\W_]+")
_YEAR = re.compile(r"(?<!\d)(1[5-9]\d\d|20\d\d|21\d\d)(?!\d)")


def doi(value: str | None) -> str | None:
    """Normalise a DOI: strip ``https://doi.org/`` / ``doi:`` prefixes and whitespace, lower-case.

    DOIs are case-insensitive (DOI Handbook §2.4). Returns None when the value is not DOI-shaped
    (``10.<registrant>/<suffix>``).
    """
    if not value:
        return None
    v = _DOI_PREFIX.sub("", value.strip()).strip().rstrip(".")
    v = v.lower()
    return v if _DOI_SHAPE.match(v) else None


def orcid(value: str | None) -> str | None:
    """Normalise an ORCID iD to ``0000-0002-1825-0097`` (4x4 digits, last may be X), no URL prefix."""
    if not value:
        return None
    m = _ORCID_DIGITS.search(value.strip())
    if not m:
        return None
    return "-".join(m.groups()).upper()


def pmid(value: str | None) -> str | None:
    """A PMID as a string of digits, or None."""
    if value is None:
        return None
    v = str(value).strip()
    return v if v.isdigit() else None


def pmcid(value: str | None) -> str | None:
    """A PMCID as ``PMC`` + digits, or None."""
    if not value:
        return None
    v = value.strip().upper()
    if v.isdigit():
        v = "PMC" + v
    return v if re.fullmatch(r"PMC\d+", v) else None


def collapse_ws(text: str | None) -> str | None:
    """Collapse each whitespace run to one space and strip; None stays None, "" becomes None."""
    if text is None:
        return None
    t = _WS.sub(" ", text).strip()
    return t or None


def first_year(text: str | None) -> int | None:
    """The first plausible 4-digit year (1500-2199) in ``text`` ("Spring 1990" -> 1990), or None."""
    if not text:
        return None
    m = _YEAR.search(str(text))
    return int(m.group(1)) if m else None


def title_key(title: str | None) -> str | None:
    """The deduplication key of a title: NFKC, case-folded, letters and digits only.

    A PubMed translated title's brackets ("[...]." ) and punctuation do not matter.
    """
    if not title:
        return None
    t = _NON_ALNUM.sub("", unicodedata.normalize("NFKC", title).casefold())
    return t or None
