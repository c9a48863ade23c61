"""Training pairs for the cross-encoder reranker: judged positives and mined hard negatives.

For each training query: one pair per relevant document of its judgements (qrels, relevance > 0),
labelled :data:`~serendip.evidence.rerank.RELEVANT`, and ``negatives`` pairs labelled
:data:`~serendip.evidence.rerank.NOT_RELEVANT`, drawn (seeded, without replacement) from the top
``depth`` documents a first-stage retrieval ranks for the query, leaving out the judged-relevant ones:
hard negatives, as the reranker will meet them (Nogueira & Cho 2019 train on BM25 top-1000 negatives;
Karpukhin et al. 2020, DPR, section 3.2 on hard negatives from BM25). Unjudged documents are taken
as not relevant, SciFact's and BEIR's convention.

Queries are split into fit and held-out sets by query (:func:`split_queries`), never by pair, so no
query's pairs are on both sides. Held-out (test) queries passed as ``exclude`` are refused, so a
benchmark cannot train on them by mistake.
"""
from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence

import numpy as np

from serendip.errors import DataError
from serendip.evidence.rerank import NOT_RELEVANT, RELEVANT

__all__ = ["reranker_examples", "split_queries"]


def split_queries(qids: Iterable[str], held_fraction: float = 0.1, seed: int = 0) -> tuple[list[str], list[str]]:
    """(fit, held-out) query ids: a ``numpy.random.default_rng(seed)`` permutation of the sorted ids,
    the first ``round(n * held_fraction)`` held out; each list in sorted order."""
    ids = sorted(set(map(str, qids)), key=lambda q: (len(q), q))
    order = np.random.default_rng(seed).permutation(len(ids))
    n_held = int(round(len(ids) * held_fraction))
    held = {ids[i] for i in order[:n_held]}
    return [q for q in ids if q not in held], [q for q in ids if q in held]


def reranker_examples(queries: Mapping[str, str], qrels: Mapping[str, Mapping[str, int]],
                      ranked: Mapping[str, Sequence[str]], texts: Mapping[str, str], qids: Sequence[str], *,
                      negatives: int = 5, depth: int = 50, seed: int = 0,
                      exclude: Collection[str] = ()) -> list[dict]:
    """Reranker training rows for the queries ``qids``.

    Parameters
    ----------
    queries : mapping
        query id -> query text.
    qrels : mapping
        query id -> {doc id: relevance}; relevance > 0 is relevant.
    ranked : mapping
        query id -> doc ids of the first-stage ranking, best first (at least ``depth`` of them when
        the corpus has them).
    texts : mapping
        doc id -> the document text the reranker reads (title and abstract).
    qids : sequence of str
        The training queries, each with a judgement.
    negatives : int, default 5
        Hard negatives per query (fewer when the top ``depth`` hold fewer unjudged documents).
    depth : int, default 50
        Negatives are drawn from the top ``depth`` of ``ranked``.
    seed : int, default 0
        Seeds ``numpy.random.default_rng`` for the draw (one generator, queries in ``qids`` order).
    exclude : collection of str
        Query ids that must not be trained on (the test queries).

    Returns
    -------
    list of dict
        ``{"id": "<qid>:<doc>", "text": query, "text_pair": document, "label": RELEVANT | NOT_RELEVANT}``,
        per query its positives (in doc id order) then its negatives (in rank order).

    Raises
    ------
    DataError
        A query in ``exclude``, or without text, judgement, ranking, or a document without text.
    """
    banned = set(map(str, exclude)) & set(map(str, qids))
    if banned:
        raise DataError(f"{len(banned)} held-out query(ies) among the training queries (e.g. "
                        f"{sorted(banned)[:3]}); train only on training queries")
    rng = np.random.default_rng(seed)
    rows: list[dict] = []
    for qid in qids:
        for what, table in (("text", queries), ("judgement", qrels), ("ranking", ranked)):
            if qid not in table:
                raise DataError(f"query {qid}: no {what}")
        positives = sorted(d for d, rel in qrels[qid].items() if rel > 0)
        pool = [d for d in list(ranked[qid])[:depth] if d not in set(positives)]
        picked = sorted(rng.choice(len(pool), size=min(negatives, len(pool)), replace=False).tolist()) if pool else []
        for doc, label in [(d, RELEVANT) for d in positives] + [(pool[i], NOT_RELEVANT) for i in picked]:
            if not texts.get(doc, "").strip():
                raise DataError(f"query {qid}: document {doc} has no text")
            rows.append({"id": f"{qid}:{doc}", "text": queries[qid], "text_pair": texts[doc], "label": label})
    return rows
