"""Cited answers over a workspace: ``ask(ws, question)`` (``serendip ask`` wraps it).

1. **Retrieve** the question's top-``k`` records with the workspace's search (default mode: hybrid).
2. **Passages**: each record's title and abstract sentences with character offsets
   (:func:`serendip.evidence.passages.split_record`), scored by **relevance**: the cosine of the
   question's and the passage's embeddings by the workspace's dense encoder (the offline
   all-MiniLM-L6-v2 unless the workspace chose another).
3. **Abstain**: when no passage reaches ``min_relevance`` the answer is "no evidence found" and no
   backend is called. The default, :data:`DEFAULT_MIN_RELEVANCE`, was chosen on SciFact **train**
   claims asked as questions against off-topic questions of a tuning set (never the dev claims nor the
   50 off-topic questions the benchmark scores): ``benchmarks/evidence_answer.py``.
4. **Supply** up to ``max_passages`` of the passages that reach it, chosen by maximal marginal
   relevance (Carbonell & Goldstein 1998, SIGIR: ``lambda * rel - (1 - lambda) * max cos(selected)``)
   on the passage's relevance plus ``record_weight`` times its record's reciprocal rank in the search
   (``1 / (1 + rank)``, rank 0 first: the record-level ranking, which sees BM25 and the whole abstract,
   is evidence a sentence's cosine alone lacks), from at most ``max_records`` records, numbered from 1.
   The defaults, :data:`DEFAULT_RECORD_WEIGHT` and :data:`DEFAULT_MAX_RECORDS`, were chosen on the
   same SciFact train claims (``benchmarks/evidence_answer.py``).
5. **Generate** with a backend of :data:`serendip.evidence.generators.GENERATORS`.
6. **Check** every sentence in code (:func:`serendip.evidence.citations.check_sentences`): it cites,
   cites only supplied passages, and is a verbatim quote of one or is found supported by the
   claim-verification label model (P(SUPPORT) >= ``min_support``). Grounded sentences carry their
   stance on the question (the label model on the question and what the sentence cites) when the
   verifier is trained; the others are returned apart with the reason, never as grounded.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from serendip.errors import DataError, IndexNotBuilt
from serendip.evidence.citations import AnswerSentence, check_sentences, parse_reply
from serendip.evidence.generators import GENERATORS, SuppliedPassage, check_options

#: passage relevance (cosine, all-MiniLM-L6-v2) below which a question finds no evidence
DEFAULT_MIN_RELEVANCE = 0.45
#: weight of a passage's record's reciprocal search rank added to its relevance when choosing passages
DEFAULT_RECORD_WEIGHT = 0.0
#: passages are taken from at most this many records (None: any number)
DEFAULT_MAX_RECORDS: int | None = None
#: a question longer than this is refused
MAX_QUESTION_CHARS = 2000
NO_EVIDENCE_FOUND = "no evidence found"
#: the status when evidence was found but no sentence the backend wrote passed the checks
NO_GROUNDED_ANSWER = "no grounded answer"
_STANCE = {"SUPPORT": "supports", "CONTRADICT": "contradicts", "NEI": "neutral"}


@dataclass
class Answer:
    """The answer to one question.

    Attributes
    ----------
    question, backend : str
    status : str
        ``"answered"`` (at least one grounded sentence), :data:`NO_EVIDENCE_FOUND` (no passage reached
        the relevance floor, or the backend wrote nothing) or :data:`NO_GROUNDED_ANSWER` (the backend
        wrote sentences and every one failed the checks: listed in ``rejected``).
    sentences : list of AnswerSentence
        The grounded sentences, in the order written.
    rejected : list of AnswerSentence
        Sentences the checks failed, each with its ``problem``; never shown as grounded.
    passages : list of SuppliedPassage
        What the backend was given (citation numbers index it).
    best_relevance : float
        The highest passage relevance found (NaN when no record had text).
    """

    question: str
    backend: str
    status: str
    sentences: list[AnswerSentence] = field(default_factory=list)
    rejected: list[AnswerSentence] = field(default_factory=list)
    passages: list[SuppliedPassage] = field(default_factory=list)
    best_relevance: float = float("nan")

    def to_dict(self) -> dict[str, Any]:
        return {"question": self.question, "backend": self.backend, "status": self.status,
                "best_relevance": None if np.isnan(self.best_relevance) else round(self.best_relevance, 4),
                "sentences": [s.to_dict() for s in self.sentences],
                "rejected": [s.to_dict() for s in self.rejected],
                "passages": [p.to_dict() for p in self.passages]}


def check_question(question: str) -> str:
    """The question stripped; :class:`DataError` when empty or over :data:`MAX_QUESTION_CHARS`."""
    from serendip.evidence.api import check_text

    return check_text(question, what="question", limit=MAX_QUESTION_CHARS, empty_hint="ask one question",
                      long_hint="ask one question, not a document")


def mmr(relevance: np.ndarray, vectors: np.ndarray, n: int, lam: float = 0.7) -> list[int]:
    """Maximal marginal relevance order (Carbonell & Goldstein 1998).

    Parameters
    ----------
    relevance : float array (m,)
        Each item's relevance to the query.
    vectors : float32 array (m, d)
        L2-normalised item embeddings (their dot products are the redundancy).
    n : int
        Items to select (at most m).
    lam : float, default 0.7
        Weight of relevance against redundancy, in [0, 1].

    Returns
    -------
    list of int: indices into ``relevance``, in selection order.
    """
    chosen: list[int] = []
    left = list(range(len(relevance)))
    while left and len(chosen) < n:
        if chosen:
            redundancy = (vectors[left] @ vectors[chosen].T).max(axis=1)
        else:
            redundancy = np.zeros(len(left))
        score = lam * relevance[left] - (1 - lam) * redundancy
        best = left[int(np.argmax(score))]
        chosen.append(best)
        left.remove(best)
    return chosen


def select_passages(found: list[dict], relevance: np.ndarray, vectors: np.ndarray, *, max_passages: int,
                    min_relevance: float, mmr_lambda: float = 0.7, record_weight: float = DEFAULT_RECORD_WEIGHT,
                    max_records: int | None = DEFAULT_MAX_RECORDS) -> list[int]:
    """The passages to supply, in order (indices into ``found``; see step 4 of the module docstring).

    Parameters
    ----------
    found : list of dict
        Passages as :func:`gather_passages` gives them (``record_id`` and the record's search ``rank``).
    relevance : float array (m,)
        Cosine of each passage with the question.
    vectors : float32 array (m, d)
        L2-normalised passage embeddings.
    max_passages, min_relevance, mmr_lambda, record_weight, max_records
        As in :func:`ask`.
    """
    keep = np.flatnonzero(relevance >= min_relevance)
    if not len(keep):
        return []
    prior = np.array([1.0 / (1 + found[i]["rank"]) for i in keep])
    order = [int(keep[i]) for i in mmr(relevance[keep] + record_weight * prior, vectors[keep], len(keep), mmr_lambda)]
    chosen: list[int] = []
    records: list[int] = []
    for i in order:
        rid = found[i]["record_id"]
        if rid not in records:
            if max_records is not None and len(records) >= max_records:
                continue
            records.append(rid)
        chosen.append(i)
        if len(chosen) == max_passages:
            break
    return chosen


def gather_passages(ws, question: str, k: int = 10, mode: str | None = None
                    ) -> tuple[list[dict], np.ndarray, np.ndarray]:
    """Every passage of the question's top-``k`` records (dicts: record id, PMID, the record's search
    ``rank`` from 0, field, offsets, text), their relevance (float64 (m,): cosine with the question)
    and embeddings (float32 (m, d), L2-normalised): stored ones (``serendip index --passage-vectors``)
    for records unchanged since, the others embedded now.

    Raises
    ------
    IndexNotBuilt
        No records, or no dense index.
    """
    from serendip.evidence.api import _abstracts
    from serendip.evidence.passage_index import record_digest
    from serendip.evidence.passage_vectors import stored_passages
    from serendip.evidence.passages import split_record

    hits = ws.search(question, mode=mode, k=k)
    if not hits and ws.count() == 0:
        raise IndexNotBuilt("the workspace holds no records: run `serendip ingest PATH` first")
    dense = ws.searcher().dense
    if dense is None:
        raise IndexNotBuilt("`serendip ask` scores passages with the dense index: run `serendip index` "
                            "without --no-dense first")
    texts = _abstracts(ws, [h.record_id for h in hits])
    stored = _passage_vectors(ws, dense)
    found, vectors, missing = [], [], []  # missing: positions in `found` to embed now
    for rank, h in enumerate(hits):
        title, abstract = texts.get(h.record_id, (None, None))
        got = stored.lookup(h.record_id, record_digest(title, abstract)) if stored is not None else None
        passages = (stored_passages(got[0], title, abstract) if got is not None
                    else split_record(title, abstract, record=str(h.record_id)))
        for j, p in enumerate(passages):
            if got is None:
                missing.append(len(found))
            vectors.append(got[1][j] if got is not None else None)
            found.append({"record_id": h.record_id, "pmid": h.pmid, "rank": rank, "field": p.field_name,
                          "start": p.start, "end": p.end, "text": p.text})
    if not found:
        return [], np.zeros(0), np.zeros((0, 0), dtype=np.float32)
    if missing:
        for j, v in zip(missing, dense.encode_documents([found[j]["text"] for j in missing])):
            vectors[j] = v
    vectors = np.asarray(np.stack(vectors), dtype=np.float32)
    relevance = vectors @ dense.encode_queries([question])[0]
    return found, relevance.astype(np.float64), vectors


def _passage_vectors(ws, dense):
    """The workspace's stored passage vectors when they were made by the dense index's model and
    encoder (:mod:`serendip.evidence.passage_vectors`), else None (passages embedded on the fly)."""
    from serendip.errors import IndexDamaged
    from serendip.evidence.passage_vectors import FOLDER, PassageVectors

    try:
        stored = PassageVectors.load(ws.index_dir / FOLDER)
    except (IndexNotBuilt, IndexDamaged, DataError):
        return None
    return stored if stored.matches(dense.model, dense.encoder_name) else None


def _stances(verifier, question: str, sentences: list[AnswerSentence], passages: list[SuppliedPassage]) -> None:
    by_number = {p.number: p.text for p in passages}
    pairs = [(question, " ".join(by_number[n] for n in s.cites)) for s in sentences]
    probs = verifier.label_probabilities(pairs)
    for i, s in enumerate(sentences):
        s.stance = _STANCE[max(probs, key=lambda label: probs[label][i])]


def ask(ws, question: str, *, k: int = 10, backend: str = "extractive", options: dict | None = None,
        mode: str | None = None, max_passages: int = 8, min_relevance: float = DEFAULT_MIN_RELEVANCE,
        mmr_lambda: float = 0.7, min_support: float = 0.5, verifier: Any = "auto",
        record_weight: float = DEFAULT_RECORD_WEIGHT, max_records: int | None = DEFAULT_MAX_RECORDS) -> Answer:
    """Answer ``question`` from the workspace's records, every sentence cited and checked.

    Parameters
    ----------
    ws : Workspace
    question : str
        Non-empty, at most :data:`MAX_QUESTION_CHARS` characters.
    k : int, default 10
        Records retrieved.
    backend : str, default "extractive"
        A name in :data:`~serendip.evidence.generators.GENERATORS`; ``options`` its options.
    mode : str, optional
        Retrieval mode (default: the workspace's).
    max_passages : int, default 8
        Passages supplied to the backend.
    min_relevance : float, default :data:`DEFAULT_MIN_RELEVANCE`
        Cosine a passage needs to be evidence.
    mmr_lambda : float, default 0.7
    record_weight : float, default :data:`DEFAULT_RECORD_WEIGHT`
        Weight of the record's reciprocal search rank in the passage choice (step 4).
    max_records : int or None, default :data:`DEFAULT_MAX_RECORDS`
        Passages come from at most this many records.
    min_support : float, default 0.5
        P(SUPPORT) a non-quoted sentence needs.
    verifier : Verifier, None or "auto"
        The claim-verification models (stance and the support check); ``"auto"``: the workspace's
        trained ones when present. Generative backends need one.

    Returns
    -------
    Answer

    Raises
    ------
    DataError
        A bad question or ``k``; a generative backend with no trained verifier.
    IndexNotBuilt
        No records, or no dense index.
    ConfigError
        An unknown backend or option; a backend that cannot load (its message says what to install).
    """
    question = check_question(question)
    for name, value in (("-k (records retrieved)", k), ("max_passages", max_passages), ("max_records", max_records)):
        if value is not None and value < 1:
            raise DataError(f"{name} must be at least 1, got {value}")
    spec = GENERATORS.get(backend)
    check_options(spec, options or {})
    generator = spec.load(dict(options or {}))  # bad settings are reported before any retrieval
    if verifier == "auto":
        verifier = _workspace_verifier(ws, required=spec.name != "extractive")
    found, relevance, vectors = gather_passages(ws, question, k, mode)
    best = float(relevance.max()) if len(relevance) else float("nan")
    answer = Answer(question, spec.name, NO_EVIDENCE_FOUND, best_relevance=best)
    order = select_passages(found, relevance, vectors, max_passages=max_passages, min_relevance=min_relevance,
                            mmr_lambda=mmr_lambda, record_weight=record_weight, max_records=max_records)
    if not order:
        return answer
    answer.passages = [SuppliedPassage(n, relevance=float(relevance[i]), **{f: v for f, v in found[i].items() if f != "rank"})
                       for n, i in enumerate(order, 1)]
    draft = generator.generate(question, answer.passages)
    drafts = parse_reply(draft) if isinstance(draft, str) else list(draft)
    support = verifier.support_probability if verifier is not None else None
    checked = check_sentences(drafts, answer.passages, support, min_support)
    answer.sentences = [s for s in checked if s.grounded]
    answer.rejected = [s for s in checked if not s.grounded]
    if answer.rejected and not answer.sentences:
        answer.status = NO_GROUNDED_ANSWER
    if answer.sentences:
        answer.status = "answered"
        if verifier is not None:
            _stances(verifier, question, answer.sentences, answer.passages)
    return answer


def _workspace_verifier(ws, *, required: bool):
    from serendip.evidence.api import verifier_runs
    from serendip.evidence.verify import Verifier

    try:
        runs = verifier_runs(ws)
    except DataError as exc:
        if required:
            raise DataError(f"generative answer backends need the verification model to check their "
                            f"sentences: {exc}") from None
        return None
    return Verifier(*runs)
