"""Strict entity-level NER scores over character spans, and a dictionary (lexicon) baseline.

Scores (:func:`strict_scores`): an entity is ``(document id, start, end, type)`` with character
offsets; a predicted entity is a true positive only when the same tuple is gold (exact boundaries
and type; a partial overlap counts as one false positive and one false negative). This is the
entity-level F1 reported for BC5CDR mention recognition by BioBERT (Lee et al. 2020) and BLURB (Gu et
al. 2021), and seqeval's ``mode="strict"`` (Nakayama, seqeval; CoNLL-2000 chunk F1), here on document
character offsets instead of token positions, so the score depends neither on a tokenizer nor on how a
document was cut into windows. (The BioCreative V CDR challenge itself scored disease recognition at
concept level, MeSH ids per abstract; Wei et al. 2015: that is the normalisation score,
:func:`concept_scores`, of :mod:`serendip.kg.normalise`'s output.)
Precision = TP / predicted, recall = TP / gold, F1 = 2PR / (P + R) (0 when P + R = 0), per type and
micro-averaged over all types.

Baseline (:class:`DictionaryTagger`): the surface forms of training mentions, per type (short forms
matched with their case, longer ones case-insensitively, stop-words and single letters left out);
tagging finds, left to right, the longest lexicon entry that starts at each word (words of
:func:`serendip.kg.ner_data.tokenize`, so matches start and end on word boundaries) and skips past it.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

from serendip.core.fold import fold
from serendip.kg.ner_data import tokenize
from serendip.kg.pubtator import Document

__all__ = ["Concept", "DictionaryTagger", "concept_scores", "gold_concepts", "gold_spans", "predicted_concepts",
           "spans_from_mapping", "strict_scores"]

#: A ``case_kept_max`` no form reaches: :func:`~serendip.kg.normalise.normal_form` then folds nothing
_UNFOLDED = 1 << 30

#: An entity: (document id, start, end, type); offsets in characters, end exclusive
Entity = tuple[str, int, int, str]


def gold_spans(docs: Iterable[Document]) -> set[Entity]:
    """Every mention of ``docs`` as ``(pmid, start, end, type)`` (a span annotated twice counts once)."""
    return {(d.pmid, m.start, m.end, m.type) for d in docs for m in d.mentions}


def spans_from_mapping(spans: Mapping[str, Iterable[tuple[int, int, str]]]) -> set[Entity]:
    """``{pmid: [(start, end, type), ...]}`` (as :func:`serendip.kg.ner_data.merge_window_tags` returns)
    as a set of entities ``(pmid, start, end, type)``."""
    return {(pmid, s, e, t) for pmid, items in spans.items() for s, e, t in items}


def _prf(tp: int, n_pred: int, n_gold: int) -> dict[str, Any]:
    p = tp / n_pred if n_pred else 0.0
    r = tp / n_gold if n_gold else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return {"precision": p, "recall": r, "f1": f, "tp": tp, "n_pred": n_pred, "n_gold": n_gold}


def strict_scores(gold: Iterable[Entity], predicted: Iterable[Entity]) -> dict[str, dict[str, Any]]:
    """Strict (exact span and type) precision, recall and F1 per entity type and micro over all.

    Parameters
    ----------
    gold, predicted : iterables of (doc id, start, end, type)
        Duplicates count once (sets).

    Returns
    -------
    dict
        ``{type: {"precision", "recall", "f1", "tp", "n_pred", "n_gold"}, ..., "micro": {...}}`` for every
        type seen in gold or predictions; floats in [0, 1], counts as int.
    """
    gold, predicted = set(gold), set(predicted)
    tp = gold & predicted
    n_gold, n_pred, n_tp = (Counter(e[3] for e in s) for s in (gold, predicted, tp))
    out = {t: _prf(n_tp[t], n_pred[t], n_gold[t]) for t in sorted(set(n_gold) | set(n_pred))}
    out["micro"] = _prf(len(tp), len(predicted), len(gold))
    return out


class DictionaryTagger:
    """Longest-match lexicon tagger (the dictionary baseline).

    Built from documents' mentions: each mention text, cut into words by
    :func:`~serendip.kg.ner_data.tokenize`, is an entry of its type; a surface form annotated with
    several types takes the type it was annotated with most often (ties: the first seen). Tagging is
    greedy left to right: at each word, the longest entry starting there is taken and the scan resumes
    after it.

    Case follows the normaliser's rule (:func:`serendip.kg.normalise.normal_form`): an entry whose normal
    form has at most ``case_kept_max`` characters is a short form (an abbreviation or a symbol: ``NO``
    nitric oxide, ``ALL`` the leukaemia, ``P`` phosphorus, ``Mg``) and matches only with its case as
    annotated, so ``no``, ``all``, ``p`` and ``mg`` in running text are not tagged; longer entries match
    case-insensitively. Stop-words are kept out: an entry whose words are all English stop-words
    (scikit-learn's ``ENGLISH_STOP_WORDS``, from the Glasgow Information Retrieval Group list) is kept
    only when written in capitals (``CAN``, ``ALL``), and then matches only in capitals. Entries of
    fewer than ``min_chars`` characters (single letters: ``T`` in ``T cell``, ``P`` in ``P < 0.05``)
    are left out. ``case_kept_max=0``, ``min_chars=1``, ``stopwords=()`` and an all-lower-case match
    give back a plain case-insensitive lexicon.

    Parameters
    ----------
    docs : iterable of Document
        The annotated documents whose mentions make the lexicon.
    case_kept_max : int, default :data:`serendip.kg.normalise.CASE_KEPT_MAX`
        Longest normal form (characters) matched with its case.
    min_chars : int, default 2
        Shortest normal form (characters) kept as an entry.
    stopwords : iterable of str or None
        Lower-case stop-words; None: scikit-learn's ``ENGLISH_STOP_WORDS`` (318 words).

    Attributes
    ----------
    n_entries : int
        Distinct entries in the lexicon (case-kept forms counted by their case).
    n_dropped : int
        Distinct surface forms left out (too short, or stop-words not in capitals).
    """

    def __init__(self, docs: Iterable[Document], *, case_kept_max: int | None = None, min_chars: int = 2,
                 stopwords: Iterable[str] | None = None):
        from serendip.kg.normalise import CASE_KEPT_MAX, normal_form

        if stopwords is None:
            from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS as stopwords
        stop = frozenset(w.lower() for w in stopwords)
        keep_max = CASE_KEPT_MAX if case_kept_max is None else case_kept_max
        counts: dict[tuple[bool, tuple[str, ...]], Counter] = {}
        dropped: set[str] = set()
        for doc in docs:
            for m in doc.mentions:
                text = fold(m.text).text
                words = [w.text for w in tokenize(text)]
                form = normal_form(text, _UNFOLDED)  # as the normaliser measures it, case kept
                if not words:
                    continue
                all_stop = all(w.lower() in stop for w in words)
                if len(form) < min_chars or (all_stop and not text.isupper()):
                    dropped.add(m.text)
                    continue
                exact = len(form) <= keep_max or all_stop
                key = tuple(words) if exact else tuple(w.lower() for w in words)
                counts.setdefault((exact, key), Counter())[m.type] += 1
        self._tries: dict[bool, dict] = {False: {}, True: {}}  # exact case -> trie
        for (exact, key), by_type in counts.items():
            node = self._tries[exact]
            for word in key:
                node = node.setdefault(word, {})
            node[None] = by_type.most_common(1)[0][0]  # Counter keeps first-seen order on ties
        self.n_entries = len(counts)
        self.n_dropped = len(dropped)

    @staticmethod
    def _longest(trie: dict, words: list[str], i: int) -> tuple[int, str] | None:
        node, j, match = trie, i, None
        while j < len(words) and words[j] in node:
            node = node[words[j]]
            j += 1
            if None in node:
                match = (j, node[None])
        return match

    def tag(self, text: str) -> list[tuple[int, int, str]]:
        """Entity spans ``(start, end, type)`` in character offsets of ``text``, in order, disjoint.

        Matched on the NFKC view of ``text`` (:func:`serendip.core.fold.fold`: ``ＰＤ`` matches ``PD``, ``ﬁ``
        is ``fi``), the spans given in offsets of ``text`` itself; a match that begins or ends inside
        one original character's folded form (``1`` of ``½``) is not taken."""
        folded = fold(text)
        words = tokenize(folded.text)
        exact = [w.text for w in words]
        lowered = [w.lower() for w in exact]
        out, i = [], 0
        while i < len(words):
            found = [m for m in (self._longest(self._tries[True], exact, i),
                                 self._longest(self._tries[False], lowered, i)) if m is not None]
            end, typ = max(found, key=lambda m: m[0]) if found else (i, "")  # the longer; a tie: case-kept
            span = folded.original(words[i].start, words[end - 1].end) if found else None
            if span is None:
                i += 1
                continue
            out.append((*span, typ))
            i = end
        return out

    def predict(self, docs: Iterable[Document]) -> set[Entity]:
        """Entities ``(pmid, start, end, type)`` tagged in each document's ``title + " " + abstract``."""
        return {(d.pmid, s, e, t) for d in docs for s, e, t in self.tag(d.text)}


#: A normalised concept of a document: (PMID, entity type, MeSH id)
Concept = tuple[str, str, str]


def gold_concepts(docs: Iterable[Document]) -> set[Concept]:
    """The gold concepts of ``docs`` as the BioCreative V CDR task scored them (Wei et al., "Overview of
    the BioCreative V Chemical Disease Relation (CDR) Task", 2015): per document the set of ``(pmid, type,
    mesh id)`` of its mentions, a composite ``D1|D2`` giving each id, ``-1`` (unresolved) giving none."""
    return {(d.pmid, m.type, i) for d in docs for m in d.mentions for i in m.ids if i is not None}


def predicted_concepts(results: Mapping[str, Iterable[Any]]) -> set[Concept]:
    """``{pmid: [NormalisedMention]}`` (:class:`serendip.kg.normalise.NormalisedMention`: anything with
    ``mention.type`` and ``ids``) as document-level concepts, like :func:`gold_concepts`; unresolved
    mentions give none."""
    return {(pmid, r.mention.type, i) for pmid, rs in results.items() for r in rs for i in r.ids}


def concept_scores(gold: Iterable[Concept], predicted: Iterable[Concept]) -> dict[str, dict[str, Any]]:
    """Document-level concept precision, recall and F1 per entity type and micro over all types: a
    predicted ``(pmid, type, id)`` is a true positive when it is gold; the BioCreative V disease
    normalisation (DNER) measure (Wei et al. 2015), here for every type.

    Returns
    -------
    dict
        As :func:`strict_scores`: ``{type: {"precision", "recall", "f1", "tp", "n_pred", "n_gold"}, ...,
        "micro": {...}}``.
    """
    gold, predicted = set(gold), set(predicted)
    tp = gold & predicted
    n_gold, n_pred, n_tp = (Counter(c[1] for c in s) for s in (gold, predicted, tp))
    out = {t: _prf(n_tp[t], n_pred[t], n_gold[t]) for t in sorted(set(n_gold) | set(n_pred))}
    out["micro"] = _prf(len(tp), len(predicted), len(gold))
    return out
