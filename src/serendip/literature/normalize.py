"""Normalisers for identifiers and titles shared by all readers and by deduplication."""
from __future__ import annotations

import re
import unicodedata
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from serendip.literature.record import Author

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
    if isinstance(text, str) and len(text) == 4 and text.isascii() and text.isdigit():  # "2019": no search
        year = int(text)
        return year if 1500 <= year <= 2199 else None
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


# --- person names -----------------------------------------------------------------------------

_SUFFIXES = {"jr": "Jr", "junior": "Jr", "sr": "Sr", "senior": "Sr", "ii": "II", "iii": "III",
             "iv": "IV", "2nd": "2nd", "3rd": "3rd", "4th": "4th"}
_DOTTED_INITIALS = re.compile(r"(?:[^\W\d_]\.\s?-?\s?){1,4}")
_BARE_INITIALS = re.compile(r"[^\W\d_]{1,3}|(?:[^\W\d_] ){1,3}[^\W\d_]")
_COLLECTIVE = re.compile(r"\b(?:group|collaboration|consortium|committee|network|investigators|"
                         r"society|association|organi[sz]ation|team|council|working party|"
                         r"task force|panel|study|trialists)\b", re.I)


def name_suffix(text: str | None) -> str | None:
    """A generational name suffix in normal form, or None when ``text`` is not one.

    "Jr", "jr.", "Junior" -> "Jr"; "Sr." -> "Sr"; "ii", "III", "IV" -> upper case; "3rd" kept.
    These are the suffixes PubMed's ``<Suffix>`` element carries (NLM element descriptions, Author).
    """
    if not text:
        return None
    return _SUFFIXES.get(text.strip().rstrip(".").strip().casefold())


def as_initials(text: str | None, *, bare: bool = True) -> str | None:
    """The initials ``text`` is made of, letters only ("J.A." -> "JA", "J. -P." -> "JP"), or None when
    it is not initials (a given name: "Jan", "Björn A.").

    Dotted forms ("J.", "J.A.", "J. A.", "J.-P.") always count; ``bare`` also accepts 1-3 upper-case
    letters without dots ("JA", PubMed/Scopus style; "L C") - callers turn it off when the whole
    name is in capitals ("LEE, IAN"), where such a word may be a given name.
    """
    if not text:
        return None
    t = text.strip()
    if _DOTTED_INITIALS.fullmatch(t) or (bare and _BARE_INITIALS.fullmatch(t) and t.isupper()):
        return "".join(c for c in t if c.isalpha()) or None
    return None


def parse_person(text: str | None) -> Author | None:
    """Parse one author name written as text into an :class:`~serendip.literature.record.Author`.

    Parameters
    ----------
    text : str
        ``"Family, Given"``, ``"Family, Given, Suffix"`` (RIS specification form, "Osei, Kwabena, Jr."),
        ``"Family, Given Suffix"`` (MEDLINE ``FAU``: "Ware, John E Jr"), ``"Family, Suffix, Given"``,
        ``"Given Family"``, ``"Family Initials"`` (``"Smith JA"``, PubMed/Scopus style) or
        ``"Family Initials Suffix"`` (MEDLINE ``AU``: ``"King ML Jr"``). Initials go to ``initials``
        (letters only), never to ``given``; a suffix goes to ``suffix``. A name without a comma that
        has a word such as "Group", "Consortium", "Collaboration" is a collective.

    Returns
    -------
    Author or None
        None for a blank name.
    """
    # imported here: record.py is the model, this module the rules (record.py imports nothing from here)
    from serendip.literature.record import Author

    text = collapse_ws(text)
    if not text:
        return None
    if "," not in text and _COLLECTIVE.search(text):
        return Author(collective=text)
    if "," in text:
        family, *rest = (p.strip() for p in text.split(","))
        suffix = None
        if len(rest) > 1 and name_suffix(rest[-1]):  # "Last, First, Jr." (RIS, MEDLINE FAU)
            suffix = name_suffix(rest.pop())
        elif len(rest) > 1 and name_suffix(rest[0]):  # BibTeX order "von Last, Jr, First"
            suffix = name_suffix(rest.pop(0))
        elif len(rest) == 1 and len(words := rest[0].split(" ")) > 1 and name_suffix(words[-1]):
            suffix, rest = name_suffix(words[-1]), [" ".join(words[:-1])]  # "Ware, John E Jr"
        return person(family, ", ".join(p for p in rest if p), suffix=suffix)
    words = text.split(" ")
    suffix = name_suffix(words[-1]) if len(words) > 2 else None
    if suffix:
        words = words[:-1]
    if len(words) == 1:
        return Author(family=words[0])
    if as_initials(words[-1]) and not as_initials(words[0]):
        return person(" ".join(words[:-1]), words[-1], suffix=suffix)
    return person(words[-1], " ".join(words[:-1]), suffix=suffix)


def person(family: str | None, given: str | None, *, initials: str | None = None,
           suffix: str | None = None) -> Author:
    """An :class:`~serendip.literature.record.Author` from name parts as a source splits them: a
    ``given`` that is only initials ("J.A.", "JA") is stored as ``initials``, not as the given name
    (bare upper-case letters count only when ``family`` is not itself all capitals)."""
    from serendip.literature.record import Author

    family, given = collapse_ws(family), collapse_ws(given)
    found = as_initials(given, bare=not (family or "").isupper())
    if found:
        given, initials = None, initials or found
    return Author(family=family, given=given, initials=initials, suffix=suffix)
