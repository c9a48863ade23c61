"""CID candidate pairs as sequence-classification examples of the engine: marked text that fits the model.

Input (one example per candidate pair, :func:`serendip.kg.relations.document_candidates`): the
document's sentences with every mention of the pair's chemical wrapped as ``@ text @`` and every
mention of its disease as ``# text #``; other mentions are left as written. These are the punctuation
entity markers of Zhou & Chen ("An Improved Baseline for Sentence-level Relation Extraction", AACL 2022,
arXiv:2102.01373: ``@ ... @`` around the subject, ``# ... #`` around the object, characters already in
the vocabulary, so no new embeddings are learnt from a few thousand examples), applied to every
mention of each entity as document-level relation extraction does (Zhou et al., "Document-Level
Relation Extraction with Adaptive Thresholding and Localized Context Pooling" (ATLOP), AAAI 2021,
arXiv:2010.11304, which marks all mentions and evaluates on this corpus, CDR). A marker costs one word
piece on each side, where ``[C]``/``[/C]`` would cost three or four with a BERT vocabulary, and a
prefix ``chemical: X; disease: Y`` would repeat what the markers already say. The role is in the
marker, so the chemical of the pair is always ``@`` and the disease ``#``.

Fitting (:class:`CidTextFitter`), so that nothing is cut silently: the stages below are tried in order
and the first whose text has at most ``max_length`` word pieces (the model's special tokens included)
is taken; the stage is kept in ``meta["fit"]`` and counted (:func:`fit_counts`):

1. ``whole``: every sentence;
2. ``neighbours``: the title, the sentences holding a mention of either concept, and their neighbours;
3. ``entity``: the title and the sentences holding a mention of either concept;
4. ``cut``: sentences taken while they fit, in this order: those holding both concepts, the title,
   then the others holding one concept, nearest first to a sentence holding the other; some
   sentences mentioning the pair are left out;
5. ``truncated``: even the first sentence of that order is over ``max_length``: it is kept whole
   and the engine truncates it (its own note counts such examples too).

Sentences are joined by one space, in document order.
"""
from __future__ import annotations

import hashlib
import warnings
from collections import Counter
from collections.abc import Iterable, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

from serendip.errors import ConfigError
from serendip.issues import Issue
from serendip.kg.pubtator import Document, unique_documents
from serendip.kg.relations import (
    Candidate,
    document_candidates,
    document_sentences,
    sentence_of,
)
from serendip.models.config import DEFAULT_BACKBONE
from serendip.models.example import Example
from serendip.models.registries import DATA_READERS

__all__ = ["CHEMICAL_MARKS", "DEFAULT_MAX_LENGTH", "DISEASE_MARKS", "FIT_STAGES", "LABELS", "CidTextFitter",
           "fit_counts", "mark_sentence", "pair_examples", "read_cid_examples"]

CHEMICAL_MARKS = ("@ ", " @")
DISEASE_MARKS = ("# ", " #")
#: The fitting stages, in the order tried (module docstring)
FIT_STAGES = ("whole", "neighbours", "entity", "cut", "truncated")
#: (positive, negative) class names of the examples
LABELS = ("CID", "none")
DEFAULT_MAX_LENGTH = 256


def mark_sentence(text: str, start: int, end: int, spans: Iterable[tuple[int, int, tuple[str, str]]]) -> str:
    """``text[start:end]`` with each span ``(a, b, (open, close))`` overlapping it wrapped in its marks
    (clipped to the sentence). At one offset, closing marks go before opening ones."""
    inserts: list[tuple[int, int, str]] = []
    for a, b, (open_, close) in spans:
        if a < end and b > start:
            inserts.append((max(a, start), 1, open_))
            inserts.append((min(b, end), 0, close))
    out, cursor = [], start
    for pos, _, mark in sorted(inserts, key=lambda x: (x[0], x[1])):
        out += [text[cursor:pos], mark]
        cursor = pos
    out.append(text[cursor:end])
    return "".join(out)


class CidTextFitter:
    """The marked text of a candidate that fits ``max_length`` word pieces (module docstring).

    Parameters
    ----------
    tokenizer : a Hugging Face tokenizer (counts word pieces, special tokens included)
    max_length : int
        Most word pieces per example; the engine's ``training.max_length`` must not be smaller.
    """

    def __init__(self, tokenizer: Any, max_length: int = DEFAULT_MAX_LENGTH):
        if max_length < 8:
            raise ConfigError(f"pubtator-cid: max_length must be at least 8 word pieces, got {max_length}")
        self.tokenizer, self.max_length = tokenizer, max_length
        self._special = self.count("")

    def count(self, text: str) -> int:
        """Word pieces of ``text`` as the model reads it (special tokens included)."""
        return len(self.tokenizer(text, truncation=False)["input_ids"])

    def fit(self, doc: Document, cand: Candidate, sentences: Sequence[tuple[int, int]]) -> tuple[str, str]:
        """``(text, stage)`` for ``cand`` of ``doc``; ``sentences`` from
        :func:`~serendip.kg.relations.document_sentences`. (Transformers' warning about a text over the
        model's length is silenced: measuring such texts is the point.)"""
        from serendip.models.backbone import quiet_hf

        with quiet_hf():
            return self._fit(doc, cand, sentences)

    def _fit(self, doc: Document, cand: Candidate, sentences: Sequence[tuple[int, int]]) -> tuple[str, str]:
        spans = [(m.start, m.end, CHEMICAL_MARKS) for m in cand.chemical_mentions]
        spans += [(m.start, m.end, DISEASE_MARKS) for m in cand.disease_mentions]
        pieces = [mark_sentence(doc.text, s, e, spans) for s, e in sentences]
        chem = {sentence_of(sentences, m.start) for m in cand.chemical_mentions}
        dis = {sentence_of(sentences, m.start) for m in cand.disease_mentions}
        either, title = chem | dis, {0} if doc.title.strip() else set()
        near = {j for i in either for j in (i - 1, i, i + 1) if 0 <= j < len(pieces)}
        for stage, keep in (("whole", range(len(pieces))), ("neighbours", near | title),
                            ("entity", either | title)):
            text = " ".join(pieces[i] for i in sorted(keep))
            if self.count(text) <= self.max_length:
                return text, stage
        return self._cut(pieces, chem, dis, title)

    def _cut(self, pieces: list[str], chem: set[int], dis: set[int], title: set[int]) -> tuple[str, str]:
        def distance(i: int) -> int:
            other = dis if i in chem else chem
            return min((abs(i - j) for j in other), default=len(pieces))

        order = sorted(chem & dis) + sorted(title - (chem & dis))
        order += sorted((chem | dis) - set(order), key=lambda i: (distance(i), i))
        kept: list[int] = []
        used = self._special
        for i in order:
            n = self.count(pieces[i]) - self._special
            if used + n <= self.max_length:
                kept.append(i)
                used += n
        while len(kept) > 1 and self.count(" ".join(pieces[i] for i in sorted(kept))) > self.max_length:
            kept.pop()  # a tokenizer whose counts do not add up over spaces
        if not kept:
            return pieces[order[0]], "truncated"
        return " ".join(pieces[i] for i in sorted(kept)), "cut"


def pair_examples(doc: Document, fitter: CidTextFitter, *, labelled: bool = True,
                  sentences: Sequence[tuple[int, int]] | None = None, source: str | None = None,
                  keep: Any = None) -> list[tuple[Candidate, Example]]:
    """One ``binary``-task example per candidate pair of ``doc`` (with the candidate).

    Each example: ``id`` ``"<PMID>:<chemical>:<disease>"``; ``text`` the fitted marked text; ``label``
    ``"CID"`` or ``"none"`` (None when not ``labelled``); ``meta``: ``pmid``, ``chemical``, ``disease``,
    ``fit`` (the stage of :data:`FIT_STAGES`), ``file``, ``line``. ``keep(candidate) -> bool``, when
    given, drops the candidates it refuses (the reader's negative sampling).
    """
    found, _ = document_candidates(doc, labelled=labelled)
    if keep is not None:
        found = [c for c in found if keep(c)]
    if not found:
        return []
    sentences = document_sentences(doc) if sentences is None else sentences
    out = []
    for cand in found:
        text, stage = fitter.fit(doc, cand, sentences)
        label = None if cand.label is None else LABELS[0] if cand.label else LABELS[1]
        out.append((cand, Example(
            text=text, label=label, id=f"{doc.pmid}:{cand.chemical}:{cand.disease}",
            source=f"{source or '<pubtator>'}, PMID {doc.pmid}",
            meta={"pmid": doc.pmid, "chemical": cand.chemical, "disease": cand.disease, "fit": stage,
                  "file": source, "line": doc.line})))
    return out


def fit_counts(examples: Iterable[Example]) -> dict[str, int]:
    """How many examples took each fitting stage (every stage of :data:`FIT_STAGES`, zeros included)."""
    counts = Counter(ex.meta.get("fit") for ex in examples)
    return {stage: counts.get(stage, 0) for stage in FIT_STAGES}


@lru_cache(maxsize=4)
def _tokenizer(backbone: str) -> Any:
    from serendip.models.backbone import load_tokenizer, resolve_backbone

    return load_tokenizer(resolve_backbone(backbone))


def _sampler(negatives: float, seed: int):
    """Keep every positive and a fraction ``negatives`` of the negatives, chosen by a hash of (seed,
    PMID, chemical, disease): the same pairs whatever the file order."""
    if negatives >= 1.0:
        return None

    def keep(c: Candidate) -> bool:
        if c.label:
            return True
        h = hashlib.blake2b(f"{seed}:{c.pmid}:{c.chemical}:{c.disease}".encode(), digest_size=8).digest()
        return int.from_bytes(h, "big") / 2**64 < negatives

    return keep


@DATA_READERS.register("pubtator-cid")
def read_cid_examples(path: str | Path, *, backbone: str = DEFAULT_BACKBONE, max_length: int = DEFAULT_MAX_LENGTH,
                      negatives: float = 1.0, seed: int = 0, issues: list[Issue] | None = None) -> list[Example]:
    """Binary-task examples (``CID`` / ``none``) of every candidate pair of a PubTator file.

    The ``pubtator-cid`` data format: ``data.format = "pubtator-cid"``, with ``data.options``
    ``backbone`` (the model whose tokenizer counts word pieces: give the training backbone),
    ``max_length`` (word pieces; the same as ``training.max_length``), ``negatives`` (fraction of the
    negative pairs kept, in (0, 1]; 1 keeps all) and ``seed`` (which negatives). The options apply to
    every file read with them (train and dev alike). Set ``task.params.positive_label = "CID"``.

    Parameters
    ----------
    path : str or Path
        A PubTator file with ``CID`` relation lines (``.gz`` read compressed).
    backbone, max_length, negatives, seed :
    issues : list, optional
        Receives an :class:`~serendip.issues.Issue` per skipped document (a bad line, a repeated PMID)
        and per gold pair without a candidate; without it a bad line or repeated PMID raises and the
        missing pairs are warnings.

    Returns
    -------
    list of Example
        See :func:`pair_examples`; documents in file order.

    Raises
    ------
    ParseError
        (Without ``issues``) as :func:`~serendip.kg.pubtator.read_pubtator`, or a PMID given twice.
    ConfigError
        ``negatives`` outside (0, 1], ``max_length`` < 8, or a backbone without a local tokenizer.
    """
    if not 0.0 < negatives <= 1.0:
        raise ConfigError(f"pubtator-cid: negatives must be in (0, 1], got {negatives}")
    path = Path(path)
    fitter = CidTextFitter(_tokenizer(str(backbone)), max_length)
    keep = _sampler(negatives, seed)
    out: list[Example] = []
    for doc in unique_documents(path, issues):
        for _, chem, dis in document_candidates(doc)[1]:
            issue = Issue(str(path), f"CID pair {chem}-{dis} has no candidate (a side has no resolved mention); "
                          f"no example", doc.line, doc.pmid)
            if issues is None:
                warnings.warn(str(issue), stacklevel=2)
            else:
                issues.append(issue)
        out += [ex for _, ex in pair_examples(doc, fitter, source=str(path), keep=keep)]
    return out
