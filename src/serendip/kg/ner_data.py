"""PubTator documents as examples of the engine's ``token`` task, in sliding windows, and back.

Words: :func:`tokenize` splits text into runs of letters, runs of digits, and single other
non-space characters (:data:`WORD_PATTERN`), each with its character offsets, so a hyphen, slash or
bracket is a word of its own ("cocaine-induced" -> ``cocaine``, ``-``, ``induced``) and so is a digit run
("5-HT6" -> ``5``, ``-``, ``HT``, ``6``). On the BioCreative V CDR corpus this puts every gold mention
boundary of the training and development sets on a word boundary, and all but one (``acidA``, a
missing space in the source text) of the test set (:func:`boundaries_inside_words`).

Tags: IOB2 (Ramshaw & Marcus 1995; the B- on every entity's first word, as seqeval's ``IOB2``
scheme): ``B-<type>``/``I-<type>`` on the words of each mention, ``O`` elsewhere (:func:`iob2_tags`).

Windows: a document of n words becomes examples of at most ``window`` words that overlap by at least
``overlap`` (:func:`window_bounds`); nothing is truncated. Each example's ``meta`` keeps the PMID, the
window's number, its first word's index in the document and every word's character offsets, so
:func:`merge_window_tags` maps per-window tags back to document-level character spans: each word takes
its tag from the window where it lies farthest from an edge (most context on both sides).
"""
from __future__ import annotations

import bisect
import re
import warnings
from collections import defaultdict
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import NamedTuple

from serendip.errors import ConfigError, DataError
from serendip.issues import Issue
from serendip.kg.pubtator import Document, Mention, unique_documents
from serendip.models.example import Example
from serendip.models.registries import DATA_READERS

__all__ = ["DEFAULT_OVERLAP", "DEFAULT_WINDOW", "WORD_PATTERN", "Word", "boundaries_inside_words",
           "decode_iob2", "document_examples", "iob2_tags", "merge_window_tags", "read_ner_examples",
           "tokenize", "window_bounds"]

#: Words: a run of letters, a run of digits, or one other non-space character (``_`` included)
WORD_PATTERN = re.compile(r"[^\W\d_]+|\d+|[^\w\s]|_")
DEFAULT_WINDOW = 128
DEFAULT_OVERLAP = 32

#: A character span with its entity type: (start, end, type), end exclusive
Span = tuple[int, int, str]


class Word(NamedTuple):
    """A word and its 0-based character offsets (end exclusive) in the text it came from."""

    text: str
    start: int
    end: int


def tokenize(text: str) -> list[Word]:
    """The words of ``text`` by :data:`WORD_PATTERN`, in order; white space is never part of a word."""
    return [Word(m.group(), m.start(), m.end()) for m in WORD_PATTERN.finditer(text)]


def boundaries_inside_words(docs: Iterable[Document]) -> int:
    """How many mention boundaries (starts and ends counted apart) of ``docs`` fall inside a word of
    :func:`tokenize` rather than on a word's first or last character; 0 means every mention is a
    whole number of words."""
    count = 0
    for doc in docs:
        words = tokenize(doc.text)
        starts, ends = {w.start for w in words}, {w.end for w in words}
        count += sum((m.start not in starts) + (m.end not in ends) for m in doc.mentions)
    return count


def window_bounds(n_words: int, window: int = DEFAULT_WINDOW, overlap: int = DEFAULT_OVERLAP
                  ) -> list[tuple[int, int]]:
    """Word ranges ``[start, end)`` covering ``n_words`` words in windows of ``window`` words.

    Windows start every ``window - overlap`` words; the last one ends at ``n_words`` (it is moved back
    to hold ``window`` words, so it may overlap its neighbour by more). A document of at most
    ``window`` words is one window; one of 0 words gives no window.

    Raises
    ------
    ConfigError
        ``window`` < 1, or ``overlap`` outside ``[0, window)``.
    """
    if window < 1 or not 0 <= overlap < window:
        raise ConfigError(f"NER windows need window >= 1 and 0 <= overlap < window; got window {window}, "
                          f"overlap {overlap}")
    if n_words <= window:
        return [(0, n_words)] if n_words else []
    bounds, start = [], 0
    while start + window < n_words:
        bounds.append((start, start + window))
        start += window - overlap
    bounds.append((n_words - window, n_words))
    return bounds


def iob2_tags(words: Sequence[Word], mentions: Iterable[Mention]) -> tuple[list[str], list[tuple[Mention, str]]]:
    """IOB2 tags (one per word) from character-offset mentions.

    Mentions are taken by start (longer first at one start). A mention is tagged on the words it
    overlaps; when a boundary falls inside a word it is still tagged on those covering words and
    reported; a mention overlapping one already tagged is not tagged (IOB2 cannot nest) and reported.

    Returns
    -------
    tags : list of str, length ``len(words)``
    problems : list of (Mention, reason)
        The mentions tagged inexactly or not at all, each with why.
    """
    tags = ["O"] * len(words)
    problems: list[tuple[Mention, str]] = []
    starts, ends = [w.start for w in words], [w.end for w in words]
    for m in sorted(mentions, key=lambda m: (m.start, -m.end)):
        # the words overlapping [m.start, m.end): from the first ending after m.start to the last
        # starting before m.end (words are sorted and disjoint)
        idx = list(range(bisect.bisect_right(ends, m.start), bisect.bisect_left(starts, m.end)))
        if not idx:
            problems.append((m, "covers no word; not tagged"))
            continue
        if any(tags[i] != "O" for i in idx):
            problems.append((m, "overlaps an earlier mention; not tagged (IOB2 cannot nest)"))
            continue
        if words[idx[0]].start != m.start or words[idx[-1]].end != m.end:
            covering = f"{words[idx[0]].start}-{words[idx[-1]].end}"
            problems.append((m, f"has a boundary inside a word; tagged on the words covering it ({covering})"))
        tags[idx[0]] = f"B-{m.type}"
        for i in idx[1:]:
            tags[i] = f"I-{m.type}"
    return tags, problems


def document_examples(doc: Document, *, window: int = DEFAULT_WINDOW, overlap: int = DEFAULT_OVERLAP,
                      labelled: bool = True, source: str | None = None
                      ) -> tuple[list[Example], list[tuple[Mention, str]]]:
    """One ``token``-task example per window of ``doc`` (see :func:`window_bounds`).

    Each example: ``id`` ``"<PMID>:w<k>"`` (k from 0); ``text`` the window's stretch of the document
    text; ``label`` its IOB2 tags (None when not ``labelled``); ``meta``: ``tokens`` (the words),
    ``pmid``, ``window`` (k), ``n_windows``, ``word_start`` (index of its first word in the
    document), ``n_doc_words``, ``offsets`` (``[start, end]`` per word, character offsets in
    ``doc.text``), ``file``, ``line``.

    Returns
    -------
    examples : list of Example
        Empty for a document without words.
    problems : list of (Mention, reason)
        From :func:`iob2_tags` (empty when not ``labelled``).

    Raises
    ------
    ConfigError
        Bad ``window``/``overlap``.
    """
    words = tokenize(doc.text)
    tags, problems = iob2_tags(words, doc.mentions) if labelled else (None, [])
    bounds = window_bounds(len(words), window, overlap)
    examples = []
    for k, (a, b) in enumerate(bounds):
        examples.append(Example(
            text=doc.text[words[a].start:words[b - 1].end], label=None if tags is None else tags[a:b],
            id=f"{doc.pmid}:w{k}", source=f"{source or '<pubtator>'}, PMID {doc.pmid}, words {a}-{b}",
            meta={"tokens": [w.text for w in words[a:b]], "pmid": doc.pmid, "window": k,
                  "n_windows": len(bounds), "word_start": a, "n_doc_words": len(words),
                  "offsets": [[w.start, w.end] for w in words[a:b]], "file": source, "line": doc.line}))
    return examples, problems


@DATA_READERS.register("pubtator-ner")
def read_ner_examples(path: str | Path, *, window: int = DEFAULT_WINDOW, overlap: int = DEFAULT_OVERLAP,
                      issues: list[Issue] | None = None) -> list[Example]:
    """Token-task examples (IOB2 tags of every mention type in the file) from a PubTator file.

    The ``pubtator-ner`` data format: ``data.format = "pubtator-ner"``, with ``data.options`` ``window``
    and ``overlap`` (words; defaults :data:`DEFAULT_WINDOW`, :data:`DEFAULT_OVERLAP`). Give the dev file
    explicitly: a dev split carved from these examples would put windows of one document on both sides.

    Parameters
    ----------
    path : str or Path
        A PubTator file (``.gz`` read compressed).
    window, overlap : int
    issues : list, optional
        Receives an :class:`~serendip.issues.Issue` per skipped document (a bad line, a repeated PMID,
        no words) and per mention tagged inexactly or not at all (see :func:`iob2_tags`); without it
        a bad line or a repeated PMID raises, and the mention problems are warnings.

    Returns
    -------
    list of Example
        See :func:`document_examples`; documents in file order.

    Raises
    ------
    ParseError
        (Without ``issues``) as :func:`~serendip.kg.pubtator.read_pubtator`, or a PMID given twice.
    ConfigError
        Bad ``window``/``overlap``.
    """
    path = Path(path)
    window_bounds(0, window, overlap)  # check the options before reading
    out: list[Example] = []
    for doc in unique_documents(path, issues):
        examples, problems = document_examples(doc, window=window, overlap=overlap, source=str(path))
        if not examples and issues is not None:
            issues.append(Issue(str(path), "no words (empty title and abstract); no example", doc.line,
                                doc.pmid))
        for m, why in problems:
            issue = Issue(str(path), f"mention {m.text!r} ({m.type}, {m.start}-{m.end}) {why}", m.line, doc.pmid)
            if issues is None:
                warnings.warn(str(issue), stacklevel=2)
            else:
                issues.append(issue)
        out.extend(examples)
    return out


def decode_iob2(tags: Sequence[str]) -> list[tuple[int, int, str]]:
    """Entities ``(first word, end word exclusive, type)`` from IOB2 tags.

    Chunking as conlleval (CoNLL-2000) and seqeval's default mode: ``B-X`` starts an entity; ``I-X``
    continues an entity of type X and otherwise starts one (a model's ill-formed ``O I-X`` is read as an
    entity rather than dropped); ``O`` ends one. A tag that is not ``O``, ``B-*`` or ``I-*`` raises
    :class:`~serendip.errors.DataError`.
    """
    out: list[tuple[int, int, str]] = []
    start, kind = None, None
    for i, tag in enumerate([*tags, "O"]):
        prefix, _, typ = tag.partition("-")
        if tag != "O" and (prefix not in ("B", "I") or not typ):
            raise DataError(f"tag {tag!r} at word {i} is not IOB2 (O, B-<type> or I-<type>)")
        if kind is not None and (tag == "O" or prefix == "B" or typ != kind):
            out.append((start, i, kind))
            start, kind = None, None
        if tag != "O" and kind is None:
            start, kind = i, typ
    return out


def merge_window_tags(examples: Sequence[Example], tags: Sequence[Sequence[str]]) -> dict[str, list[Span]]:
    """Document-level entity spans from per-window tags.

    Parameters
    ----------
    examples : sequence of Example
        Windows made by :func:`document_examples` (any order; several documents).
    tags : sequence of sequences of str
        Predicted (or gold) IOB2 tags, ``tags[i]`` one per word of ``examples[i]``.

    Returns
    -------
    dict
        PMID -> entity spans ``(start, end, type)`` in character offsets of the document text, sorted.
        Each word's tag comes from the window where it is farthest from an edge (``min(j, len - 1 - j)``
        for word j of a window; ties: the earlier window); then :func:`decode_iob2`.

    Raises
    ------
    DataError
        A tag list of the wrong length, an example without window metadata, or a document with words
        that no given window covers.
    """
    if len(examples) != len(tags):
        raise DataError(f"{len(tags)} tag lists for {len(examples)} examples")
    docs: dict[str, dict] = {}
    for ex, window_tags in zip(examples, tags):
        meta = ex.meta or {}
        if not {"pmid", "word_start", "n_doc_words", "offsets"} <= set(meta):
            raise DataError(f"example {ex.id}: no window metadata (made by document_examples?)")
        offsets = meta["offsets"]
        if len(window_tags) != len(offsets):
            raise DataError(f"example {ex.id}: {len(window_tags)} tags for {len(offsets)} words")
        d = docs.setdefault(meta["pmid"], {"n": meta["n_doc_words"], "best": defaultdict(lambda: (-1, "O", None))})
        for j, (tag, span) in enumerate(zip(window_tags, offsets)):
            depth = min(j, len(offsets) - 1 - j)
            i = meta["word_start"] + j
            if depth > d["best"][i][0]:
                d["best"][i] = (depth, tag, span)
    out: dict[str, list[Span]] = {}
    for pmid, d in docs.items():
        missing = [i for i in range(d["n"]) if i not in d["best"]]
        if missing:
            raise DataError(f"PMID {pmid}: words {missing[0]}.. are in no window ({len(missing)} of {d['n']})")
        words = [d["best"][i] for i in range(d["n"])]
        out[pmid] = sorted((words[a][2][0], words[b - 1][2][1], typ)
                           for a, b, typ in decode_iob2([w[1] for w in words]))
    return out
