"""Sentences of a record with character offsets into its stored title and abstract.

Split with pysbd (Sadvilkar & Neumann, "PySBD: Pragmatic Sentence Boundary Disambiguation", NLP-OSS
2020), a rule-based splitter that keeps abbreviations such as "e.g.", "Fig. 2" and "p < 0.05" inside
their sentence, with ``char_span=True`` so each sentence comes with its span. The title is passage 0
of field ``title``; abstract sentences follow, numbered from 0 within field ``abstract``. Every
passage satisfies ``text[start:end] == passage.text`` on the stored field (whitespace around a
sentence is not part of it); nothing is dropped, normalised or truncated.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass

_local = threading.local()


@dataclass(frozen=True)
class Passage:
    """One sentence: ``field`` ("title" or "abstract"), its ``index`` within the field, the character
    span ``[start, end)`` in that stored field, and its ``text``."""

    field: str
    index: int
    start: int
    end: int
    text: str

    def to_dict(self) -> dict:
        return {"field": self.field, "index": self.index, "start": self.start, "end": self.end, "text": self.text}


def _segmenter():
    seg = getattr(_local, "segmenter", None)
    if seg is None:
        import pysbd

        seg = _local.segmenter = pysbd.Segmenter(language="en", clean=False, char_span=True)
    return seg


def sentence_spans(text: str | None) -> list[tuple[int, int]]:
    """``[(start, end), ...]``: the sentences of ``text`` as character spans, without surrounding
    whitespace, in order; ``[]`` for None or blank text."""
    if not text or not text.strip():
        return []
    spans = []
    pos = 0
    for seg in _segmenter().segment(text):
        start = text.find(seg.sent, pos) if text[seg.start:seg.end] != seg.sent else seg.start
        if start < 0:  # pysbd's span disagreed with the text: fall back to the next occurrence
            continue
        end = start + len(seg.sent)
        pos = end
        lead = len(seg.sent) - len(seg.sent.lstrip())
        trail = len(seg.sent) - len(seg.sent.rstrip())
        if end - trail > start + lead:
            spans.append((start + lead, end - trail))
    return _cover_gaps(text, spans)


def _cover_gaps(text: str, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Add any non-blank text pysbd's spans skipped as its own passage, so nothing is lost."""
    out, pos = [], 0
    for start, end in spans:
        gap = text[pos:start]
        if gap.strip():
            g0 = pos + len(gap) - len(gap.lstrip())
            out.append((g0, pos + len(gap.rstrip())))
        out.append((start, end))
        pos = end
    tail = text[pos:]
    if tail.strip():
        out.append((pos + len(tail) - len(tail.lstrip()), pos + len(tail.rstrip())))
    return out


def record_passages(title: str | None, abstract: str | None) -> list[Passage]:
    """The title (one passage, as stored, stripped) and the abstract's sentences, with offsets."""
    out = []
    if title and title.strip():
        lead = len(title) - len(title.lstrip())
        out.append(Passage("title", 0, lead, lead + len(title.strip()), title.strip()))
    for i, (start, end) in enumerate(sentence_spans(abstract)):
        out.append(Passage("abstract", i, start, end, abstract[start:end]))
    return out
