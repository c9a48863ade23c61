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

Baseline (:class:`DictionaryTagger`): the lower-cased surface forms of training mentions, per type;
tagging finds, left to right, the longest lexicon entry that starts at each word (words of
:func:`serendip.kg.ner_data.tokenize`, so matches start and end on word boundaries) and skips past it.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

from serendip.kg.ner_data import tokenize
from serendip.kg.pubtator import Document

__all__ = ["Concept", "DictionaryTagger", "concept_scores", "gold_concepts", "gold_spans", "predicted_concepts",
           "spans_from_mapping", "strict_scores"]

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

    Built from documents' mentions: each mention text, lower-cased and cut into words by
    :func:`~serendip.kg.ner_data.tokenize`, is an entry of its type; a surface form annotated with
    several types takes the type it was annotated with most often (ties: the first seen). Tagging is
    case-insensitive and greedy left to right: at each word, the longest entry starting there is taken
    and the scan resumes after it.

    Attributes
    ----------
    n_entries : int
        Distinct surface forms in the lexicon.
    """

    def __init__(self, docs: Iterable[Document]):
        counts: dict[tuple[str, ...], Counter] = {}
        for doc in docs:
            for m in doc.mentions:
                key = tuple(w.text.lower() for w in tokenize(m.text))
                if key:
                    counts.setdefault(key, Counter())[m.type] += 1
        self._trie: dict = {}
        for key, by_type in counts.items():
            node = self._trie
            for word in key:
                node = node.setdefault(word, {})
            node[None] = by_type.most_common(1)[0][0]  # Counter keeps first-seen order on ties
        self.n_entries = len(counts)

    def tag(self, text: str) -> list[tuple[int, int, str]]:
        """Entity spans ``(start, end, type)`` in character offsets of ``text``, in order, disjoint."""
        words = tokenize(text)
        lowered = [w.text.lower() for w in words]
        out, i = [], 0
        while i < len(words):
            node, j, match = self._trie, i, None
            while j < len(words) and lowered[j] in node:
                node = node[lowered[j]]
                j += 1
                if None in node:
                    match = (j, node[None])
            if match is None:
                i += 1
                continue
            end, typ = match
            out.append((words[i].start, words[end - 1].end, typ))
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
