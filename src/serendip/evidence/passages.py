"""Passages: a record's title and the sentences of its abstract, with character offsets.

A record's passages, in order: the title (passage 0, whole, when the record has one) then each
sentence of the abstract as the sentence splitter gives it. Sentences are found by pySBD, the
rule-based "Golden Rules" splitter (Sadvilkar & Neumann 2020, "PySBD: Pragmatic Sentence Boundary
Disambiguation", NLP-OSS workshop; package ``pysbd``), run with ``clean=False`` so it returns
the text unchanged; abbreviations such as "e.g.", "Fig. 2", "et al." and decimal numbers do not end a
sentence.

Offsets are Python string indices (Unicode code points, not bytes) into the text as stored: the
record's ``title`` or its ``abstract`` (:attr:`serendip.literature.record.Record.abstract`, the
sections joined by one space), so ``text[start:end] == sentence`` always holds; leading and trailing
white space is not part of a passage. A sentence the splitter returns that cannot be found, in order,
in the text is an error naming the record (never repaired).
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from serendip.errors import DataError

__all__ = ["ABSTRACT", "FIELDS", "TITLE", "Passage", "split_record", "split_sentences", "splitter_name"]

TITLE, ABSTRACT = 0, 1
#: field code -> name (the ``field`` of a :class:`Passage`)
FIELDS = ("title", "abstract")


@dataclass(frozen=True, slots=True)
class Passage:
    """One passage of a record.

    Attributes
    ----------
    number : int
        Its place in the record, from 0 (the title when there is one).
    field : int
        :data:`TITLE` (0) or :data:`ABSTRACT` (1): which stored text the offsets index.
    start, end : int
        Character offsets (code points) into that text: ``text[start:end]`` is the passage.
    text : str
        The passage.
    """

    number: int
    field: int
    start: int
    end: int
    text: str

    @property
    def field_name(self) -> str:
        return FIELDS[self.field]

    def to_dict(self) -> dict:
        return {"number": self.number, "field": self.field_name, "start": self.start, "end": self.end,
                "text": self.text}


@lru_cache(maxsize=1)
def _segmenter():
    try:
        import pysbd
    except ImportError as exc:  # a dependency of serendip; a broken install is named
        raise DataError(f"the sentence splitter pysbd is not installed ({exc}); pip install 'pysbd>=0.3.4'") from None
    return pysbd.Segmenter(language="en", clean=False)


def splitter_name() -> str:
    """The splitter and its version, recorded with the passage index (``"pysbd 0.3.4"``)."""
    from importlib.metadata import version

    return f"pysbd {version('pysbd')}"


def _strip_span(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def split_sentences(text: str, *, where: str = "text") -> list[tuple[int, int]]:
    """The sentences of ``text`` as ``(start, end)`` character offsets, in order, white space trimmed.

    Parameters
    ----------
    text : str
        Any text; an empty or blank one has no sentence.
    where : str
        Names the text in an error (``"record 12 abstract"``).

    Returns
    -------
    list of (int, int)
        ``text[start:end]`` is each sentence, non-empty, with no leading or trailing white space.

    Raises
    ------
    DataError
        The splitter returned a sentence that is not the next piece of ``text`` (it changed the text).
    """
    if not text or not text.strip():
        return []
    spans = []
    cursor = 0
    for piece in _segmenter().segment(text):
        core = piece.strip()
        if not core:
            continue
        at = text.find(core, cursor)
        if at < 0 or text[cursor:at].strip():
            raise DataError(f"{where}: the sentence splitter returned {core[:60]!r}, which is not the next "
                            f"text after offset {cursor}")
        spans.append(_strip_span(text, at, at + len(core)))
        cursor = at + len(core)
    if text[cursor:].strip():
        raise DataError(f"{where}: the sentence splitter left text after offset {cursor} unsplit")
    return spans


def split_record(title: str | None, abstract: str | None, *, record: str = "?") -> list[Passage]:
    """The passages of one record: its title (passage 0, when not blank), then its abstract's
    sentences.

    Parameters
    ----------
    title, abstract : str or None
        As stored (``Record.title``, ``Record.abstract``); None or blank: no passage from it.
    record : str
        The record's id, for error messages.

    Returns
    -------
    list of Passage
        Numbered from 0 in order; empty when the record has no text.

    Raises
    ------
    DataError
        See :func:`split_sentences` (names the record and field).
    """
    out: list[Passage] = []
    if title and title.strip():
        start, end = _strip_span(title, 0, len(title))
        out.append(Passage(0, TITLE, start, end, title[start:end]))
    for start, end in split_sentences(abstract or "", where=f"record {record} abstract"):
        out.append(Passage(len(out), ABSTRACT, start, end, abstract[start:end]))
    return out
