"""One record read for the knowledge graph: tagged spans -> normalised mentions with their sentences,
and the entity pairs that co-occur in a sentence or only in the abstract.

The text a record's mentions are normalised in is ``title + " " + abstract`` (PubTator's convention,
so abbreviations defined in the abstract resolve mentions in the title); the title and the abstract are
tagged apart, so no mention spans the two. Sentences are the passages of
:func:`serendip.evidence.passages.split_record` (0 the title, then the abstract's sentences, pySBD);
a mention belongs to the passage that holds its first character. When the splitter fails on a record
(:class:`~serendip.errors.DataError`), each field is one sentence and the record is marked
``split=False`` (the build reports it); no mention is dropped.

Entities (:func:`serendip.kg.store.entity_key`): a resolved mention gives one entity per MeSH id (a
composite ``D1|D2`` mention gives two, each with the mention's offsets); an unresolved one gives the
entity of its type and normal form, ``mesh_id`` None.
"""
from __future__ import annotations

import bisect
import hashlib
from dataclasses import dataclass, field
from itertools import combinations

from serendip.errors import DataError
from serendip.evidence.passages import ABSTRACT, TITLE, Passage, split_record
from serendip.kg.normalise import Normaliser, normal_form
from serendip.kg.pubtator import Mention
from serendip.kg.store import entity_key

__all__ = ["MentionRow", "RecordRead", "read_record", "text_digest"]


def text_digest(title: str | None, abstract: str | None) -> str:
    """32 hex digits: the start of SHA-256 of ``title``, a unit separator and ``abstract`` (UTF-8)."""
    return hashlib.sha256(f"{title or ''}\x1f{abstract or ''}".encode()).hexdigest()[:32]


@dataclass(frozen=True, slots=True)
class MentionRow:
    """One mention of one entity: the entity (``key``, ``type``, ``mesh_id``), the surface ``text``,
    ``sentence`` (passage number), ``field`` (0 title, 1 abstract), ``start``/``end`` (code points into
    that field), and the normalisation ``method`` and ``score`` (0-100)."""

    key: str
    type: str
    mesh_id: str | None
    text: str
    sentence: int
    field: int
    start: int
    end: int
    method: str
    score: float


@dataclass
class RecordRead:
    """A record read: ``record_id``, ``pmid``, ``digest`` (:func:`text_digest`), ``split`` (False when
    the sentence splitter failed), ``passages``, ``mentions`` (list of :class:`MentionRow`, text
    order), ``sentence_pairs`` (``{(key a, key b): [sentence numbers]}``, keys sorted in each pair) and
    ``record_pairs`` (every pair of entities of the record, sorted keys), ``reused`` (the passages came
    from the passage index), ``title`` and ``abstract`` (as read, "" for None: the relation step marks
    its candidates in them)."""

    record_id: int
    pmid: str | None
    digest: str
    split: bool
    passages: list[Passage]
    mentions: list[MentionRow] = field(default_factory=list)
    sentence_pairs: dict[tuple[str, str], list[int]] = field(default_factory=dict)
    record_pairs: set[tuple[str, str]] = field(default_factory=set)
    reused: bool = False  # the passages came from the passage index
    title: str = ""
    abstract: str = ""


def _passages(record_id: int, title: str, abstract: str) -> tuple[list[Passage], bool]:
    try:
        return split_record(title, abstract, record=str(record_id)), True
    except DataError:
        out = []
        for code, text in ((TITLE, title), (ABSTRACT, abstract)):
            if text.strip():
                start = len(text) - len(text.lstrip())
                end = len(text.rstrip())
                out.append(Passage(len(out), code, start, end, text[start:end]))
        return out, False


def _sentence_of(passages: list[Passage], starts: dict[int, list[int]], fld: int, start: int) -> int:
    """The number of the passage of field ``fld`` holding character ``start`` (the nearest before it)."""
    i = bisect.bisect_right(starts[fld], start) - 1
    return [p for p in passages if p.field == fld][max(i, 0)].number


def read_record(record_id: int, pmid: str | None, title: str | None, abstract: str | None,
                spans: tuple[list, list], normaliser: Normaliser,
                passages: list[Passage] | None = None) -> RecordRead:
    """Read one record (see the module docstring).

    Parameters
    ----------
    record_id, pmid
        The record's workspace id and PMID (None when it has none).
    title, abstract : str or None
        As stored (the texts ``spans`` index).
    spans : (title spans, abstract spans)
        Each a list of ``(start, end, type)`` in character offsets of that field, from a tagger.
    normaliser : Normaliser
    passages : list of Passage, optional
        The record's sentences already split with the same splitter (the workspace's passage index,
        :mod:`serendip.evidence.passage_index`); None: split here.

    Raises
    ------
    DataError
        A span outside its text (a tagger fault), naming the record.
    """
    title, abstract = title or "", abstract or ""
    reused = passages is not None
    passages, split = (passages, True) if reused else _passages(record_id, title, abstract)
    rec = RecordRead(record_id, pmid, text_digest(title, abstract), split, passages, reused=reused, title=title,
                     abstract=abstract)
    shift = len(title) + 1
    located = [(TITLE, s, e, t) for s, e, t in spans[0]] + [(ABSTRACT, s, e, t) for s, e, t in spans[1]]
    fields = (title, abstract)
    mentions = [Mention(s + (shift if f == ABSTRACT else 0), e + (shift if f == ABSTRACT else 0),
                        fields[f][s:e], t) for f, s, e, t in located]
    if not mentions:
        return rec
    results = normaliser.normalise(f"{title} {abstract}", mentions, doc_id=f"record {record_id}")
    starts = {f: [p.start for p in passages if p.field == f] for f in (TITLE, ABSTRACT)}
    by_sentence: dict[int, set[str]] = {}
    for (f, s, e, t), nm in zip(located, results):
        sentence = _sentence_of(passages, starts, f, s)
        keys = ([(entity_key(t, i, ""), i) for i in nm.ids] if nm.ids
                else [(entity_key(t, None, normal_form(nm.mention.text)), None)])
        for key, mesh_id in keys:
            rec.mentions.append(MentionRow(key, t, mesh_id, nm.mention.text, sentence, f, s, e, nm.method, nm.score))
            by_sentence.setdefault(sentence, set()).add(key)
    for sentence, keys in sorted(by_sentence.items()):
        for pair in combinations(sorted(keys), 2):
            rec.sentence_pairs.setdefault(pair, []).append(sentence)
    rec.record_pairs = set(combinations(sorted({m.key for m in rec.mentions}), 2))
    return rec
