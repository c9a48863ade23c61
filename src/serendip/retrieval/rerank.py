"""Rerankers: a second stage that re-scores the top candidates of a retrieval mode.

One registry, :data:`RERANKERS`, that the workbench's ``search(rerank=...)``, the CLI's ``--reranker``
choices and the benchmarks read. Retrieval itself registers none: a domain package registers its own
(``serendip.evidence`` registers ``cross-encoder``, a model fine-tuned through the engine), so a new
reranker is one registration::

    from serendip.retrieval.rerank import RERANKERS, RerankerSpec

    RERANKERS.add("mine", RerankerSpec("mine", load=my_loader, description="..."))

A loaded reranker is any object with ``score(query, texts) -> ndarray of shape (len(texts),)`` (higher
is more relevant) and a ``description`` string; it may carry the defaults chosen where it was trained,
``rerank_k`` (candidates to re-score) and ``weight`` (its share in a fusion with the first stage), which
a search uses unless told otherwise (:func:`reranker_defaults`). :func:`rerank` applies one to a
candidate list.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from serendip.errors import ConfigError
from serendip.registry import Registry

__all__ = ["DEFAULT_RERANK_K", "DEFAULT_RERANKER", "RERANKERS", "Reranker", "RerankerSpec", "rerank",
           "reranker_defaults", "reranker_names"]

#: candidates re-scored by default (the first stage's top 50)
DEFAULT_RERANK_K = 50
#: the reranker used when none is named
DEFAULT_RERANKER = "cross-encoder"

Scored = list[tuple[str, float]]


class Reranker(Protocol):
    """What a loaded reranker offers."""

    #: one line naming the model and where it came from, for reports
    description: str

    def score(self, query: str, texts: Sequence[str]) -> np.ndarray:
        """Relevance of each text to ``query``: float64 array of shape (len(texts),), higher is better."""
        ...


@dataclass(frozen=True)
class RerankerSpec:
    """One registered kind of reranker.

    Parameters
    ----------
    name : str
        Name used by ``--reranker`` (lower case).
    load : callable
        ``load(path: Path) -> Reranker``: a reranker from a model folder or run folder; raises a
        :class:`~serendip.errors.SerendipError` subclass, in one line, when the folder is not one.
        With ``backends``, also ``load(path, backend)``, ``backend`` one of them.
    description : str
        One line for ``--help``.
    backends : tuple of str, default ()
        The backends that can run it (``--rerank-backend``, ``retrieval.rerank_backend``; e.g. "torch",
        "onnx", "onnx-int8"); empty: it runs one way.
    """

    name: str
    load: Callable[..., Reranker]
    description: str = ""
    backends: tuple[str, ...] = ()


#: name -> :class:`RerankerSpec`
RERANKERS: Registry[RerankerSpec] = Registry("reranker")


def reranker_defaults(reranker: Reranker) -> tuple[int, float]:
    """``(rerank_k, weight)`` a search uses with ``reranker``: its own ``rerank_k`` and ``weight``
    attributes where it has them (chosen where it was trained), else :data:`DEFAULT_RERANK_K` and 1.0."""
    return (int(getattr(reranker, "rerank_k", None) or DEFAULT_RERANK_K),
            float(getattr(reranker, "weight", None) if getattr(reranker, "weight", None) is not None else 1.0))


def reranker_names() -> list[str]:
    """Names of the registered rerankers, sorted (read at call time, so late registrations show)."""
    return RERANKERS.keys()


def rerank(reranker: Reranker, query: str, candidates: Scored, texts: Sequence[str], k: int,
           weight: float = 1.0) -> Scored:
    """Re-score ``candidates`` with ``reranker`` and return the top ``k``.

    Parameters
    ----------
    reranker : Reranker
    query : str
    candidates : list of (doc_id, score)
        The first stage's ranking, best first.
    texts : sequence of str
        The text of each candidate, in the same order.
    k : int
        Number of results, >= 1.
    weight : float, default 1.0
        Share of the reranker in the final score, in [0, 1]. 1.0: the reranker's score alone (the
        returned scores are the reranker's). Below 1: the convex combination ``weight * r + (1 -
        weight) * f`` of the reranker's scores ``r`` and the first stage's ``f``, each min-max
        normalised over the candidates (Bruch, Gai & Ingber 2023, ACM TOIS: convex fusion).

    Returns
    -------
    list of (doc_id, score)
        At most ``k``, best first; ties keep the first stage's order.

    Raises
    ------
    ConfigError
        ``k`` < 1, ``weight`` outside [0, 1], or as many texts as candidates not given.
    """
    if k < 1:
        raise ConfigError(f"k must be >= 1, got {k}")
    if not 0.0 <= weight <= 1.0:
        raise ConfigError(f"rerank weight must be in [0, 1], got {weight}")
    if len(texts) != len(candidates):
        raise ConfigError(f"{len(texts)} texts for {len(candidates)} candidates")
    if not candidates:
        return []
    scores = np.asarray(reranker.score(query, list(texts)), dtype=np.float64)
    if scores.shape != (len(candidates),):
        raise ConfigError(f"reranker {reranker.description} returned scores of shape {scores.shape} for "
                          f"{len(candidates)} texts")
    if weight < 1.0:
        first = np.array([s for _, s in candidates], dtype=np.float64)
        scores = weight * _minmax(scores) + (1.0 - weight) * _minmax(first)
    order = sorted(range(len(candidates)), key=lambda i: (-scores[i], i))
    return [(candidates[i][0], float(scores[i])) for i in order[:k]]


def _minmax(x: np.ndarray) -> np.ndarray:
    """``(x - min) / (max - min)``; all ones when every value is equal (as :func:`fusion.normalise`)."""
    lo, hi = float(x.min()), float(x.max())
    return np.ones_like(x) if hi == lo else (x - lo) / (hi - lo)
