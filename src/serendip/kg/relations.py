"""Chemical-induced disease (CID) relations: candidate pairs, co-occurrence, the scorer, the classifier.

Task (the BioCreative V CDR relation task; Wei et al., "Assessing the state of the art in biomedical
relation extraction: overview of the BioCreative V chemical-disease relation (CDR) task", Database 2016,
baw032): for each abstract, the set of ``(chemical MeSH id, disease MeSH id)`` pairs where the
abstract says the chemical induces the disease. Relations are between *concepts* of the document, not
between mentions, and may span sentences.

Candidates (:func:`document_candidates`): every pair of a chemical concept and a disease concept of
one document, from its normalised mentions: a composite id ``D1|D2`` gives each of its ids (as the
BioCreative V evaluation splits them), an unresolved id (``-1``, ``None``) gives none. A candidate is
positive when the document's ``CID`` relations list it. A gold pair whose chemical or disease has no
mention is no candidate: those are counted (:attr:`CandidateReport.missing`), the recall ceiling.

Sentences (:func:`document_sentences`): the title is one sentence; the abstract is split by pySBD
(:func:`serendip.evidence.passages.split_sentences`); offsets index ``title + " " + abstract``. A
mention belongs to the sentence holding its first character.

Scorer (:func:`cid_scores`): micro precision, recall and F1 over ``(PMID, chemical id, disease id)``
triples against the gold relations of the same documents, the BioCreative V CID measure.

Baselines: :func:`cooccurrence_pairs` (``"sentence"``: a candidate is CID when a mention of each lies in
one sentence; ``"abstract"``: every candidate). :class:`Cooccurrence` counts, for any two concepts of a
collection, the abstracts and the sentences holding both, with NPMI (:func:`serendip.kg.graph.npmi`).

Classifier: :class:`CidClassifier` loads a run of the engine trained on the ``pubtator-cid`` data
(:mod:`serendip.kg.relation_data`) and gives each candidate its probability and an evidence sentence.
"""
from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from serendip.kg.pubtator import Document, Mention

__all__ = ["CHEMICAL", "DISEASE", "Candidate", "CandidateReport", "CidClassifier", "CidPrediction",
           "Cooccurrence", "PairCounts", "candidates", "cid_scores", "cooccurrence_pairs", "document_candidates",
           "document_sentences", "evidence_sentence", "gold_relations", "with_normalised"]

CHEMICAL, DISEASE = "Chemical", "Disease"
#: A document-level relation: (PMID, chemical MeSH id, disease MeSH id)
Triple = tuple[str, str, str]
#: Where :class:`CidClassifier` keeps the decision threshold in a run folder
THRESHOLD_FILE = "cid_threshold.json"


def document_sentences(doc: Document) -> list[tuple[int, int]]:
    """Sentence spans ``(start, end)`` of ``doc.text``: the title (when not blank), then the abstract's
    pySBD sentences shifted by ``len(title) + 1``. Raises DataError when the splitter changes the text."""
    from serendip.evidence.passages import split_sentences

    title = doc.title
    spans = [(len(title) - len(title.lstrip()), len(title.rstrip()))] if title.strip() else []
    shift = len(doc.title) + 1
    spans += [(s + shift, e + shift) for s, e in split_sentences(doc.abstract, where=f"PMID {doc.pmid} abstract")]
    return spans


def sentence_of(spans: Sequence[tuple[int, int]], offset: int) -> int:
    """Index of the sentence holding character ``offset`` (the last one starting at or before it)."""
    index = 0
    for i, (start, _) in enumerate(spans):
        if start <= offset:
            index = i
        else:
            break
    return index


def concept_ids(mention: Mention) -> tuple[str, ...]:
    """The resolved ids of a mention (a composite split, unresolved ones left out)."""
    return tuple(i for i in mention.ids if i is not None)


@dataclass
class Candidate:
    """One (chemical, disease) concept pair of a document.

    Attributes
    ----------
    pmid, chemical, disease : str
        The document and the two MeSH ids.
    chemical_mentions, disease_mentions : list of Mention
        The mentions carrying each id (document order).
    label : bool or None
        True when the document's CID relations list the pair (None: the document is unlabelled).
    """

    pmid: str
    chemical: str
    disease: str
    chemical_mentions: list[Mention] = field(default_factory=list)
    disease_mentions: list[Mention] = field(default_factory=list)
    label: bool | None = None

    @property
    def triple(self) -> Triple:
        return (self.pmid, self.chemical, self.disease)


def _by_concept(doc: Document, type: str) -> dict[str, list[Mention]]:
    out: dict[str, list[Mention]] = {}
    for m in sorted(doc.mentions, key=lambda m: (m.start, m.end)):
        if m.type == type:
            for i in dict.fromkeys(concept_ids(m)):
                out.setdefault(i, []).append(m)
    return out


def document_candidates(doc: Document, *, labelled: bool = True) -> tuple[list[Candidate], list[Triple]]:
    """The candidate pairs of one document and the gold CID pairs that are not among them.

    Returns
    -------
    candidates : list of Candidate
        Chemicals in order of first mention, then diseases likewise; ``label`` from the document's
        ``CID`` relations (None when not ``labelled``).
    missing : list of (pmid, chemical, disease)
        Gold pairs without a candidate (a side never mentioned, or only unresolved); empty when not
        ``labelled``.
    """
    chemicals, diseases = _by_concept(doc, CHEMICAL), _by_concept(doc, DISEASE)
    gold = {(r.id1, r.id2) for r in doc.relations if r.type == "CID"} if labelled else set()
    out = [Candidate(doc.pmid, c, d, cm, dm, ((c, d) in gold) if labelled else None)
           for c, cm in chemicals.items() for d, dm in diseases.items()]
    made = {(c.chemical, c.disease) for c in out}
    return out, [(doc.pmid, c, d) for c, d in sorted(gold - made)]


@dataclass
class CandidateReport:
    """Counts over a collection: documents, candidates, positive candidates, gold pairs and the gold
    pairs without a candidate (``missing``: the recall ceiling is ``1 - len(missing) / n_gold``)."""

    n_documents: int = 0
    n_candidates: int = 0
    n_positive: int = 0
    n_gold: int = 0
    missing: list[Triple] = field(default_factory=list)

    @property
    def recall_ceiling(self) -> float:
        return 1.0 - len(self.missing) / self.n_gold if self.n_gold else 1.0


def candidates(docs: Iterable[Document], *, labelled: bool = True) -> tuple[list[Candidate], CandidateReport]:
    """:func:`document_candidates` over ``docs``, with their :class:`CandidateReport`."""
    out: list[Candidate] = []
    report = CandidateReport()
    for doc in docs:
        found, missing = document_candidates(doc, labelled=labelled)
        out += found
        report.n_documents += 1
        report.n_candidates += len(found)
        report.n_positive += sum(bool(c.label) for c in found)
        report.n_gold += len({(r.id1, r.id2) for r in doc.relations if r.type == "CID"}) if labelled else 0
        report.missing += missing
    return out, report


def gold_relations(docs: Iterable[Document], type: str = "CID") -> set[Triple]:
    """``(pmid, id1, id2)`` of every relation line of ``type`` in ``docs``."""
    return {(d.pmid, r.id1, r.id2) for d in docs for r in d.relations if r.type == type}


def cid_scores(gold: Iterable[Triple], predicted: Iterable[Triple]) -> dict[str, Any]:
    """BioCreative V CID precision, recall and F1 (micro, over document-level triples; duplicates count
    once): ``{"precision", "recall", "f1"}`` floats in [0, 1] (0 when undefined), ``tp``, ``n_pred``,
    ``n_gold`` ints."""
    gold, predicted = set(gold), set(predicted)
    tp = len(gold & predicted)
    p = tp / len(predicted) if predicted else 0.0
    r = tp / len(gold) if gold else 0.0
    return {"precision": p, "recall": r, "f1": 2 * p * r / (p + r) if p + r else 0.0, "tp": tp,
            "n_pred": len(predicted), "n_gold": len(gold)}


def cooccurrence_pairs(docs: Iterable[Document], level: str = "sentence") -> set[Triple]:
    """The co-occurrence baseline: candidates whose chemical and disease have mentions in one sentence
    (``level="sentence"``) or anywhere in the abstract (``"abstract"``: every candidate). Raises
    ValueError for another level."""
    if level not in ("sentence", "abstract"):
        raise ValueError(f"co-occurrence level {level!r} is not one of sentence, abstract")
    out: set[Triple] = set()
    for doc in docs:
        found, _ = document_candidates(doc, labelled=False)
        if level == "abstract":
            out |= {c.triple for c in found}
            continue
        spans = document_sentences(doc) if found else []
        for c in found:
            chem = {sentence_of(spans, m.start) for m in c.chemical_mentions}
            if any(sentence_of(spans, m.start) in chem for m in c.disease_mentions):
                out.add(c.triple)
    return out


def evidence_sentence(doc: Document, cand: Candidate, spans: Sequence[tuple[int, int]] | None = None) -> str:
    """The sentence given as a candidate's evidence: the first holding mentions of both concepts, else
    the first holding a mention of either ("" for a document without sentences)."""
    spans = document_sentences(doc) if spans is None else spans
    if not spans:
        return ""
    chem = {sentence_of(spans, m.start) for m in cand.chemical_mentions}
    dis = {sentence_of(spans, m.start) for m in cand.disease_mentions}
    both = sorted(chem & dis) or sorted(chem | dis) or [0]
    s, e = spans[both[0]]
    return doc.text[s:e]


def with_normalised(doc: Document, normalised: Iterable[Any]) -> Document:
    """``doc`` with its mentions replaced by normalised ones (:class:`serendip.kg.normalise.NormalisedMention`:
    each mention takes the resolved ids, an unresolved one ``(None,)``); relations are kept."""
    mentions = [Mention(n.mention.start, n.mention.end, n.mention.text, n.mention.type, n.ids or (None,),
                        None, n.mention.line) for n in normalised]
    return Document(doc.pmid, doc.title, doc.abstract, mentions, list(doc.relations), doc.line)


@dataclass(frozen=True)
class PairCounts:
    """Co-occurrence of two concepts over a collection (:class:`Cooccurrence`): ``n_abstracts`` and
    ``n_sentences`` holding both, each concept's own abstract counts, NPMI over abstracts and over
    sentences (Bouma 2009; -1 when never together), and the PMIDs holding both (sorted)."""

    a: str
    b: str
    n_abstracts: int
    n_sentences: int
    n_a: int
    n_b: int
    npmi_abstract: float
    npmi_sentence: float
    pmids: tuple[str, ...]


class Cooccurrence:
    """Abstract- and sentence-level co-occurrence counts of every pair of concepts in ``docs``.

    Concepts are the resolved ids of the mentions (:func:`concept_ids`) of the given ``types`` (None:
    all). Counts: per concept the abstracts and sentences mentioning it; per unordered pair the
    abstracts and sentences mentioning both. Memory grows with the distinct pairs per sentence.
    """

    def __init__(self, docs: Iterable[Document], types: Sequence[str] | None = None):
        self.n_documents = self.n_sentences = 0
        self._doc: Counter = Counter()
        self._sent: Counter = Counter()
        self._pair_doc: Counter = Counter()
        self._pair_sent: Counter = Counter()
        self._pmids: dict[tuple[str, str], list[str]] = defaultdict(list)
        for doc in docs:
            self._add(doc, types)

    def _add(self, doc: Document, types: Sequence[str] | None) -> None:
        mentions = [m for m in doc.mentions if types is None or m.type in types]
        spans = document_sentences(doc) if mentions else []
        self.n_documents += 1
        self.n_sentences += max(1, len(spans))
        per_sentence: dict[int, set[str]] = defaultdict(set)
        for m in mentions:
            per_sentence[sentence_of(spans, m.start)].update(concept_ids(m))
        in_doc = set().union(*per_sentence.values()) if per_sentence else set()
        self._doc.update(in_doc)
        for ids in per_sentence.values():
            self._sent.update(ids)
            self._pair_sent.update(_pairs(ids))
        for pair in _pairs(in_doc):
            self._pair_doc[pair] += 1
            self._pmids[pair].append(doc.pmid)

    def pair(self, a: str, b: str) -> PairCounts:
        """The counts of concepts ``a`` and ``b`` (either order; zeros for unseen ones)."""
        from serendip.kg.graph import npmi

        key = (a, b) if a <= b else (b, a)
        n_ab, s_ab = self._pair_doc[key], self._pair_sent[key]
        npmi_doc = npmi(n_ab, self._doc[a], self._doc[b], max(1, self.n_documents))
        npmi_sent = npmi(s_ab, self._sent[a], self._sent[b], max(1, self.n_sentences))
        return PairCounts(a, b, n_ab, s_ab, self._doc[a], self._doc[b], npmi_doc, npmi_sent,
                          tuple(sorted(self._pmids.get(key, ()))))

    def pairs(self, min_abstracts: int = 1) -> list[PairCounts]:
        """Every pair seen together in at least ``min_abstracts`` abstracts, most abstracts first."""
        keys = sorted((k for k, n in self._pair_doc.items() if n >= min_abstracts),
                      key=lambda k: (-self._pair_doc[k], k))
        return [self.pair(*k) for k in keys]


def _pairs(ids: set[str]) -> list[tuple[str, str]]:
    ordered = sorted(ids)
    return [(x, y) for i, x in enumerate(ordered) for y in ordered[i + 1:]]


@dataclass(frozen=True)
class CidPrediction:
    """A scored candidate: PMID, chemical and disease MeSH ids, the classifier's probability of CID
    (0-1) and the evidence sentence (:func:`evidence_sentence`)."""

    pmid: str
    chemical: str
    disease: str
    probability: float
    evidence: str


class CidClassifier:
    """A CID classifier trained through the engine on ``pubtator-cid`` examples, loaded from its run.

    Parameters
    ----------
    run_dir : str or Path
        A run folder of :func:`serendip.models.train.finetune` (binary task, positive class ``CID``).
    threshold : float, optional
        Probability at or above which a candidate is a CID relation; default: the stacker's (below),
        else the run's ``cid_threshold.json`` (written by :meth:`save_threshold`), else 0.5.
    batch_size : int, default 32
    device : str, optional
    stacked : bool, default True
        Use the run's second-stage scorer (``cid_stacker.json``, :class:`serendip.kg.cid_stack.CidStacker`)
        when it has one: a candidate's probability is then the stacker's, from the classifier's and the
        document's features. False: the classifier's own probability.

    Raises
    ------
    RunNotFound, DataError
        As :func:`serendip.models.predict.load_run_model`; DataError also when the run has no ``CID`` class
        or its ``cid_threshold.json`` or ``cid_stacker.json`` is damaged.
    """

    def __init__(self, run_dir: str | Path, *, threshold: float | None = None, batch_size: int = 32,
                 device: str | None = None, stacked: bool = True):
        from serendip.errors import DataError
        from serendip.kg.cid_stack import STACKER_FILE, CidStacker
        from serendip.models.predict import load_run_model

        self.run_dir = Path(run_dir)
        self.bundle = load_run_model(self.run_dir, device=device)
        classes = list(self.bundle.label_space.classes) if self.bundle.label_space else []
        if "CID" not in classes:
            raise DataError(f"run {self.run_dir} has classes {classes}, not a CID classifier (no 'CID' class)")
        self._positive = classes.index("CID")
        stacker_file = self.run_dir / STACKER_FILE
        self.stacker = CidStacker.load(stacker_file) if stacked and stacker_file.is_file() else None
        if threshold is None and self.stacker is not None:
            threshold = self.stacker.threshold
        saved = self.run_dir / THRESHOLD_FILE
        if threshold is None and saved.is_file():
            try:
                threshold = float(json.loads(saved.read_text(encoding="utf-8"))["threshold"])
                if not 0.0 <= threshold <= 1.0:
                    raise ValueError(f"{threshold} is outside [0, 1]")
            except (OSError, ValueError, KeyError, TypeError) as exc:
                raise DataError(f"{saved}: not a saved CID threshold (a JSON object with a 'threshold' in [0, 1]: "
                                f"{type(exc).__name__} {exc}); delete it or give the threshold") from None
        self.threshold = 0.5 if threshold is None else float(threshold)
        self.batch_size = batch_size

    def save_threshold(self, threshold: float, source: str) -> Path:
        """Keep ``threshold`` (and where it was chosen, ``source``) in the run folder; it becomes this
        classifier's threshold and the default of later loads."""
        self.threshold = float(threshold)
        path = self.run_dir / THRESHOLD_FILE
        path.write_text(json.dumps({"threshold": self.threshold, "source": source}), encoding="utf-8")
        return path

    def probabilities(self, examples: Sequence[Any], progress: Any = None) -> list[float]:
        """P(CID) of ``pubtator-cid`` examples (:func:`serendip.kg.relation_data.pair_examples`), in order;
        examples with the same text are scored once. ``progress(done, total)`` is called after each batch
        (counted in distinct texts)."""
        from serendip.models.predict import predict_examples

        unique: dict[str, int] = {}
        firsts = []
        for ex in examples:
            if ex.text not in unique:
                unique[ex.text] = len(firsts)
                firsts.append(ex)
        if not firsts:
            return []
        scores = predict_examples(self.bundle, firsts, batch_size=self.batch_size, progress=progress).scores
        return [float(scores[unique[ex.text], self._positive]) for ex in examples]

    def pair_probabilities(self, pairs: Sequence[tuple[Document, Candidate, Sequence[tuple[int, int]]]],
                           examples: Sequence[Any], progress: Any = None) -> list[float]:
        """P(CID) of candidates given as ``(document, candidate, sentence spans)`` with their examples (the
        same order): the classifier's (:meth:`probabilities`), then the stacker's when one is loaded."""
        probs = self.probabilities(examples, progress)
        if self.stacker is None:
            return probs
        from serendip.kg.cid_stack import pair_features

        return [self.stacker.probability(pair_features(doc, cand, spans, p, self.stacker.prior))
                for (doc, cand, spans), p in zip(pairs, probs)]

    def predict(self, documents: Iterable[Document], *, threshold: float | None = None,
                all_candidates: bool = False, progress: Any = None) -> list[CidPrediction]:
        """CID relations of documents whose mentions carry MeSH ids (gold ones, or predicted ones made by
        :func:`with_normalised`); ``progress`` as in :meth:`probabilities`.

        Returns
        -------
        list of CidPrediction
            Candidates with probability >= ``threshold`` (default :attr:`threshold`), or every candidate
            with ``all_candidates``; in document order, then candidate order.
        """
        from serendip.kg.relation_data import CidTextFitter, pair_examples

        fitter = CidTextFitter(self.bundle.tokenizer, self.bundle.max_length)
        docs = list(documents)
        examples, where = [], []
        for doc in docs:
            spans = document_sentences(doc)
            for cand, ex in pair_examples(doc, fitter, labelled=False, sentences=spans):
                examples.append(ex)
                where.append((doc, cand, spans))
        cut = self.threshold if threshold is None else threshold
        out = []
        for (doc, cand, spans), p in zip(where, self.pair_probabilities(where, examples, progress)):
            if all_candidates or p >= cut:
                out.append(CidPrediction(doc.pmid, cand.chemical, cand.disease, p, evidence_sentence(doc, cand, spans)))
        return out
