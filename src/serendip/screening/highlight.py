"""Keyword highlighting for screening: the reviewer's include and exclude keywords found in a record's
title and abstract, so the words that decide a record stand out while reading it (a feature screening
tools offer and reviewers ask for: Rayyan's include / exclude keyword highlighting; Ouzzani et al. 2016,
Systematic Reviews 5:210).

A keyword matches case-insensitively and as whole words: ``rat`` finds "Rat" and "rats," not "rate" or
"pirate". Written conventions:

* ``random*``: a ``*`` at the end of a word matches any word ending (``random*`` finds "randomised",
  "randomized", "Randomly"); a ``*`` anywhere else is refused;
* ``double blind``: words separated by spaces or hyphens match any run of spaces, hyphens and dashes
  (U+2010-U+2015 and the minus sign too, as PubMed and PDF text write them), so the phrase finds
  "double-blind", "double\u2010blind" and "double blind", and ``covid-19`` finds "COVID\u201019".

Where matches overlap, the one starting first wins, then the longer (``double blind`` over ``blind``);
on the same span an exact keyword wins over a ``word*`` one (``rats`` over ``rat*``), then an exclude
keyword over an include one (the reason to exclude is the one not to miss); each character is in at most
one highlight. Runs of spaces inside a keyword count as one (``double   blind`` is ``double blind``).

Text and keywords are compared in Unicode compatibility form (NFKC, Unicode Standard Annex #15): the
ligature in "\ufb01sh" (from a PDF) is "fish", a full-width "\uff21" is "A", and "cafe" with a combining
accent is "caf\u00e9"; a soft hyphen or a zero-width space inside a word is skipped. Offsets are Python string indices (code points) into the text given, as stored,
never into a normalised copy (:func:`serendip.core.fold.fold`): a highlight covers the original characters
its match came from, and a match that starts or ends inside one character's folded form is not shown.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from serendip.core.fold import fold
from serendip.errors import ConfigError

__all__ = ["KEYWORD_KINDS", "MAX_KEYWORD_CHARS", "Highlight", "check_keyword", "find_highlights", "keyword_pattern"]

#: What a keyword marks: words that suggest an include, or an exclude
KEYWORD_KINDS = ("include", "exclude")
#: Longest keyword accepted (characters)
MAX_KEYWORD_CHARS = 200

#: what separates a phrase's words: white space and the hyphens and dashes of Unicode (after NFKC: the
#: non-breaking hyphen is U+2010, the full-width hyphen-minus "-"), minus sign included
_SEPARATORS = r"\s\-\u2010-\u2015\u2212"
_WORD = re.compile(rf"[^{_SEPARATORS}]+")
#: invisible characters a word may hold (soft hyphen, zero-width space, non-joiner and joiner, word joiner,
#: byte-order mark): skipped when matching, so "ran\u00addomised" is "randomised"
_INVISIBLE = frozenset("\u00ad\u200b\u200c\u200d\u2060\ufeff")


@dataclass(frozen=True)
class Highlight:
    """One keyword found: ``text[start:end]`` of the ``field`` (``"title"`` or ``"abstract"``) matched
    ``term`` (the keyword as stored), a keyword of ``kind`` (``"include"`` or ``"exclude"``)."""

    field: str
    start: int
    end: int
    term: str
    kind: str

    def to_dict(self) -> dict:
        return {"field": self.field, "start": self.start, "end": self.end, "term": self.term, "kind": self.kind}


def check_keyword(term: str) -> str:
    """``term`` stripped, each run of spaces or tabs inside it made one space; or ConfigError naming it:
    empty, over :data:`MAX_KEYWORD_CHARS` characters, a line break, no letter or digit, or a ``*`` not at
    the end of a word."""
    if not isinstance(term, str) or not term.strip():
        raise ConfigError(f"keyword {term!r} is empty")
    if "\n" in term or "\r" in term:
        raise ConfigError(f"keyword {term.strip()!r} holds a line break: give one keyword or phrase per argument")
    text = re.sub(r"\s+", " ", unicodedata.normalize("NFKC", term).strip())
    if len(text) > MAX_KEYWORD_CHARS:
        raise ConfigError(f"keyword {text[:40]!r}... has {len(text)} characters, over {MAX_KEYWORD_CHARS}")
    if not re.search(r"\w", text):
        raise ConfigError(f"keyword {text!r} has no letter or digit")
    for word in _WORD.findall(text):
        if "*" in word[:-1] or word == "*":
            raise ConfigError(f"keyword {text!r}: a * may only end a word (random* finds randomised, randomized)")
    return text


@lru_cache(maxsize=1024)
def keyword_pattern(term: str) -> re.Pattern:
    """The compiled, case-insensitive pattern of ``term`` (see the module docstring). Raises ConfigError
    as :func:`check_keyword`."""
    parts = []
    for word in _WORD.findall(check_keyword(term)):
        parts.append(re.escape(word[:-1]) + r"\w*" if word.endswith("*") else re.escape(word))
    return re.compile(r"(?<!\w)" + f"[{_SEPARATORS}]+".join(parts) + r"(?!\w)", re.IGNORECASE)


def _searchable(text: str):
    """(the text keywords are matched in, ``original(start, end)`` -> the span of ``text`` it came from or
    None): ``text`` folded (:func:`~serendip.core.fold.fold`) with the :data:`_INVISIBLE` characters left out."""
    view = fold(text)
    if not _INVISIBLE.intersection(view.text):
        return view.text, view.original
    kept = [j for j, char in enumerate(view.text) if char not in _INVISIBLE]
    return "".join(view.text[j] for j in kept), lambda start, end: view.original(kept[start], kept[end - 1] + 1)


def find_highlights(text: str | None, keywords: dict[str, str], field: str) -> list[Highlight]:
    """Every keyword of ``keywords`` (term -> kind, kinds of :data:`KEYWORD_KINDS`) found in ``text``,
    as non-overlapping :class:`Highlight` s sorted by ``start`` (the first-starting, then the longest,
    match wins an overlap). ``text`` None or empty gives []. Raises ConfigError for a bad term or kind."""
    if not text:
        return []
    searched, original = _searchable(text)
    found = []
    for term, kind in keywords.items():
        if kind not in KEYWORD_KINDS:
            raise ConfigError(f"keyword {term!r}: kind must be one of {', '.join(KEYWORD_KINDS)}, got {kind!r}")
        rank = (term.endswith("*"), kind != "exclude")  # exact before word*, then exclude before include
        for m in keyword_pattern(term).finditer(searched):
            span = original(m.start(), m.end()) if m.end() > m.start() else None
            if span is not None:  # None: the match starts or ends inside one character's folded form
                found.append((span[0], span[0] - span[1], rank, term, kind))
    out: list[Highlight] = []
    for start, neg_len, _rank, term, kind in sorted(found):
        if out and start < out[-1].end:
            continue
        out.append(Highlight(field, start, start - neg_len, term, kind))
    return out
