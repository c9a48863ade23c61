"""Contradictions: pairs of records whose findings on the same claim conflict.

1. **Sentences**: the titles and abstract sentences (:func:`serendip.evidence.passages.split_record`)
   of the records in scope: a query's top-``k`` records, or every record of the workspace (at most
   ``limit``: a larger workspace is refused, never silently cut).
2. **Same claim**: sentence pairs from *different* records whose embeddings (the workspace's dense
   encoder, cosine) reach ``min_similarity``; each sentence keeps its ``neighbours`` most similar
   partners. Of these candidates the ``max_candidates`` most similar are scored, and the result says
   how many there were.
3. **Conflict**: the claim-verification label model (:class:`serendip.evidence.verify.Verifier`, trained
   on SciFact by ``serendip verify --train``) reads each pair both ways, one sentence as the claim and
   the other as the evidence; the pair's score is the mean of the two P(CONTRADICT) (the model is not
   symmetric). Pairs at or above ``min_score`` are returned, highest first.

The approach is that of natural-language-inference contradiction search over claim pairs (de Marneffe,
Rafferty & Manning 2008, "Finding contradictions in text", ACL; for scientific claims: Wadden et al.
2020's SciFact label model as the NLI model).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from serendip.errors import DataError, IndexNotBuilt


@dataclass
class Finding:
    """One side of a pair: the record (id, PMID, title) and the sentence with its offsets into the
    stored ``field`` (``"title"`` or ``"abstract"``)."""

    record_id: int
    pmid: str | None
    title: str | None
    field: str
    start: int
    end: int
    text: str

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class ContradictionPair:
    """Two findings that conflict: ``similarity`` their cosine, ``p_ab`` P(CONTRADICT) with ``a`` as the
    claim and ``b`` as the evidence, ``p_ba`` the other way, ``score`` their mean."""

    a: Finding
    b: Finding
    similarity: float
    p_ab: float
    p_ba: float

    @property
    def score(self) -> float:
        return (self.p_ab + self.p_ba) / 2

    def to_dict(self) -> dict[str, Any]:
        return {"score": round(self.score, 4), "similarity": round(self.similarity, 4),
                "p_contradict_ab": round(self.p_ab, 4), "p_contradict_ba": round(self.p_ba, 4),
                "a": self.a.to_dict(), "b": self.b.to_dict()}


@dataclass
class ContradictionReport:
    """What a search found: the pairs shown (at most ``max_pairs``), what was read to find them, and
    ``found``: the pairs at or above ``min_score`` before the cap."""

    pairs: list[ContradictionPair]
    records: int
    sentences: int
    candidates: int
    scored: int
    found: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {"records": self.records, "sentences": self.sentences, "candidate_pairs": self.candidates,
                "scored_pairs": self.scored, "pairs_found": self.found, "pairs": [p.to_dict() for p in self.pairs]}


def candidate_pairs(vectors: np.ndarray, owners: np.ndarray, min_similarity: float, neighbours: int,
                    block: int = 1024) -> list[tuple[int, int, float]]:
    """Cross-record sentence pairs by cosine.

    Parameters
    ----------
    vectors : float32 array (n, d)
        L2-normalised sentence embeddings.
    owners : int array (n,)
        The record of each sentence; pairs within one record are never formed.
    min_similarity : float
    neighbours : int
        Partners kept per sentence (its most similar ones).
    block : int
        Rows compared at a time (memory ``block * n`` floats).

    Returns
    -------
    list of (i, j, cosine) with i < j, unique, most similar first.
    """
    found: dict[tuple[int, int], float] = {}
    for lo in range(0, len(vectors), block):
        sims = vectors[lo:lo + block] @ vectors.T
        sims[owners[lo:lo + block, None] == owners[None, :]] = -np.inf
        top = np.argsort(-sims, axis=1, kind="stable")[:, :neighbours]
        for r, row in enumerate(top):
            i = lo + r
            for j in row:
                s = float(sims[r, j])
                if s >= min_similarity:
                    found[(min(i, int(j)), max(i, int(j)))] = s
    return sorted(((i, j, s) for (i, j), s in found.items()), key=lambda t: (-t[2], t[0], t[1]))


def _scope(ws, query: str | None, k: int, limit: int) -> list[int]:
    if query is not None:
        from serendip.evidence.answer import check_question

        hits = ws.search(check_question(query), k=k)
        if not hits and ws.count() == 0:
            raise IndexNotBuilt("the workspace holds no records: run `serendip ingest PATH` first")
        return [h.record_id for h in hits]
    total = ws.count()
    if total > limit:
        raise DataError(f"the workspace holds {total:,} records, over --limit {limit:,}: give --query to "
                        f"narrow it, or raise --limit")
    return [rid for rid, _ in ws.records()]


def find_contradictions(ws, query: str | None = None, *, k: int = 50, limit: int = 2000,
                        min_similarity: float = 0.6, neighbours: int = 5, max_candidates: int = 2000,
                        min_score: float = 0.5, max_pairs: int = 20, verifier: Any = "auto",
                        progress: Callable[[str, int, int], None] | None = None) -> ContradictionReport:
    """Pairs of records whose findings conflict (see the module docstring).

    Parameters
    ----------
    ws : Workspace
    query : str, optional
        Search the top-``k`` records for it; None: every record (at most ``limit``).
    min_similarity, neighbours, max_candidates, min_score, max_pairs
        See the module docstring; ``max_pairs`` caps the pairs returned.
    verifier : Verifier or "auto"
        "auto": the workspace's trained runs.
    progress : callable, optional
        ``progress(stage, done, total)`` as sentences are embedded and pairs scored.

    Returns
    -------
    ContradictionReport

    Raises
    ------
    DataError
        No trained verifier; too many records without a query; a bad query.
    IndexNotBuilt
        No records or no dense index.
    """
    from serendip.evidence.passages import split_record

    if query is not None and not query.strip():
        raise DataError("the query is empty: give words to search, or leave --query out to read every record")
    _check_settings(k=k, limit=limit, neighbours=neighbours, max_candidates=max_candidates,
                    max_pairs=max_pairs, min_score=min_score, min_similarity=min_similarity)
    if verifier == "auto":
        from serendip.evidence.api import verifier_runs
        from serendip.evidence.verify import Verifier

        verifier = Verifier(*verifier_runs(ws))
    record_ids = _scope(ws, query, k, limit)
    dense = ws.searcher().dense
    if dense is None:
        raise IndexNotBuilt("`serendip contradictions` compares sentences with the dense index: run "
                            "`serendip index` without --no-dense first")
    titles = _texts(ws, record_ids)
    findings: list[Finding] = []
    for rid in record_ids:
        title, abstract, pmid = titles.get(rid, (None, None, None))
        for p in split_record(title, abstract, record=str(rid)):
            findings.append(Finding(rid, pmid, title, p.field_name, p.start, p.end, p.text))
    vectors = _embed(dense, [f.text for f in findings], progress)
    owners = np.array([f.record_id for f in findings], dtype=np.int64)
    cands = candidate_pairs(vectors, owners, min_similarity, neighbours) if len(findings) > 1 else []
    scored = cands[:max_candidates]
    pairs = _score(verifier, findings, scored, progress)
    found = sorted((p for p in pairs if p.score >= min_score), key=lambda p: -p.score)
    return ContradictionReport(found[:max_pairs], len(record_ids), len(findings), len(cands), len(scored),
                               len(found))


def _check_settings(*, min_score: float, min_similarity: float, **counts: int) -> None:
    """:class:`DataError` naming the first setting out of its range."""
    for name, value in counts.items():
        if int(value) < 1:
            raise DataError(f"{name.replace('_', '-')} must be at least 1, got {value}")
    if not 0.0 <= min_score <= 1.0:
        raise DataError(f"min-score is a probability: give a value in [0, 1], got {min_score}")
    if not -1.0 <= min_similarity <= 1.0:
        raise DataError(f"min-similarity is a cosine: give a value in [-1, 1], got {min_similarity}")


def _texts(ws, record_ids) -> dict[int, tuple[str | None, str | None, str | None]]:
    """``{record id: (title, abstract, pmid)}`` as stored."""
    return {rid: (rec.title, rec.abstract, rec.pmid) for rid, rec in ws.records(record_ids)}


def _embed(dense, texts: list[str], progress, batch: int = 256) -> np.ndarray:
    parts = []
    for lo in range(0, len(texts), batch):
        parts.append(dense.encode_documents(texts[lo:lo + batch]))
        if progress:
            progress("embedding sentences", min(lo + batch, len(texts)), len(texts))
    return np.concatenate(parts) if parts else np.zeros((0, 0), dtype=np.float32)


def _score(verifier, findings: list[Finding], cands, progress, batch: int = 64) -> list[ContradictionPair]:
    out = []
    for lo in range(0, len(cands), batch):
        chunk = cands[lo:lo + batch]
        pairs = [(findings[i].text, findings[j].text) for i, j, _ in chunk]
        ab = verifier.label_probabilities(pairs)["CONTRADICT"]
        ba = verifier.label_probabilities([(b, a) for a, b in pairs])["CONTRADICT"]
        out.extend(ContradictionPair(findings[i], findings[j], s, float(x), float(y))
                   for (i, j, s), x, y in zip(chunk, ab, ba))
        if progress:
            progress("scoring pairs", min(lo + batch, len(cands)), len(cands))
    return out
