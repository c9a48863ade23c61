"""A compatibility-folded view of a text (Unicode NFKC) that maps every position back to the original.

The knowledge graph's taggers (:mod:`serendip.kg.taggers`) and the screening keyword highlighter
(:mod:`serendip.screening.highlight`) match on the folded view, so full-width forms (``ＰＤ``, ``ｃｉｓｐｌａｔｉｎ``), ligatures
(``ﬁ``), squared units (``㎎``) and other compatibility characters match the lexicon's plain forms,
while the spans they give are offsets into the original text (``text[start:end]`` is what was
written, full-width letters included).

NFKC (Unicode Standard Annex #15, "Unicode Normalization Forms") can change a text's length: ``ﬁ``
becomes ``fi``, ``㎎`` ``mg``, and ``e`` + U+0301 COMBINING ACUTE ACCENT one ``é``. The text is
therefore folded by clusters (a character and the combining marks after it, ``unicodedata.combining``
> 0, or the characters NFKC composes with it: a decomposed Hangul syllable's jamo, a two-part Indic vowel
sign), each normalised on its own, and every folded character remembers the original cluster it came
from (:class:`Folded`). A span of the folded view maps back only when it starts and ends on cluster
boundaries (:meth:`Folded.original`): a word that is part of one cluster (``1`` of ``½`` -> ``1⁄2``)
has no exact original span.
"""
from __future__ import annotations

import unicodedata
from dataclasses import dataclass

__all__ = ["Folded", "fold"]


@dataclass(frozen=True, slots=True)
class Folded:
    """``text`` folded: ``starts[j]`` and ``ends[j]`` are the original offsets (end exclusive) of the
    cluster folded character ``j`` came from (``len(starts) == len(ends) == len(text)``); ``identity``
    when the text was NFKC already: ``text`` is the original, every offset maps to itself, and
    ``starts`` and ``ends`` are empty (not needed)."""

    text: str
    starts: tuple[int, ...]
    ends: tuple[int, ...]
    identity: bool = False

    def original(self, start: int, end: int) -> tuple[int, int] | None:
        """The original offsets ``(start, end)`` of the folded span ``text[start:end]`` (0 <= start <
        end <= len(text)), or None when either end falls inside a cluster's folded form (the span
        covers only part of one original character or cluster)."""
        if self.identity:
            return start, end
        if start > 0 and self.starts[start - 1] == self.starts[start]:
            return None
        if end < len(self.text) and self.starts[end] == self.starts[end - 1]:
            return None
        return self.starts[start], self.ends[end - 1]


def _joins(text: str, i: int, j: int) -> bool:
    """Whether ``text[j]`` belongs to the cluster ``text[i:j]``: a combining mark, or a character NFKC
    composes with it (a Hangul vowel or final jamo after its leading one, a Bengali or Tamil two-part vowel
    sign: combining class 0, yet not foldable on its own). An ASCII character never does."""
    char = text[j]
    if char.isascii():
        return False
    if unicodedata.combining(char):
        return True
    head = text[i:j]
    return unicodedata.normalize("NFKC", head + char) != unicodedata.normalize("NFKC", head) + unicodedata.normalize(
        "NFKC", char)


def fold(text: str) -> Folded:
    """``text`` in NFKC, folded cluster by cluster with each folded character's original offsets (the
    module docstring).

    Examples
    --------
    >>> f = fold("ﬁne ＰＤ")
    >>> f.text, f.original(5, 7), f.original(0, 1)
    ('fine PD', (4, 6), None)
    """
    if text.isascii() or unicodedata.is_normalized("NFKC", text):
        return Folded(text, (), (), identity=True)
    parts: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    i, n = 0, len(text)
    while i < n:
        j = i + 1
        while j < n and _joins(text, i, j):
            j += 1
        folded = unicodedata.normalize("NFKC", text[i:j])
        parts.append(folded)
        starts.extend([i] * len(folded))
        ends.extend([j] * len(folded))
        i = j
    return Folded("".join(parts), tuple(starts), tuple(ends))
