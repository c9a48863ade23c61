"""The screening step of ``serendip demo``: a simulated screening of one Cohen (2006) review on real labels,
ASReview's default model beside the model Serendip's screening sessions use, with the default stopping rule.

:func:`run_screening_demo` simulates :data:`DEMO_REVIEW` (the first review issue 17 quotes ASReview on:
310 records) with :data:`DEMO_MODELS` over :data:`DEMO_SEEDS`, 1 prior include and 1 prior exclude per
seed drawn as ``asreview simulate --prior-seed`` draws them, the same priors for both models
(:func:`serendip.screening.simulate.simulate`). ``tfidf-svm`` screens in exactly the order ASReview 3.0.8's
``elas_u4`` does for the same seed, so its figures are ASReview's; the same runs make
``benchmarks/screening_cohen.py``'s rows for this review (WSS@95 22.7 ± 1.0 % and 24.1 ± 2.2 % there).
The collection is read from the data mirror only (it has no download address): without it the step is
skipped with the reason, never faked.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

__all__ = ["DEMO_DATASET", "DEMO_MODELS", "DEMO_REVIEW", "DEMO_SEEDS", "ScreeningDemo", "run_screening_demo"]

DEMO_DATASET = "cohen-2006"
#: the review simulated (310 records, 92 abstract-level includes)
DEMO_REVIEW = "Antihistamines"
#: ASReview 3.0.8's default model (elas_u4) as Serendip runs it, and the sessions' default model
DEMO_MODELS = ("tfidf-svm", "tfidf-mesh-svm")
#: the benchmark's seeds
DEMO_SEEDS = (0, 1, 2, 3, 4)


@dataclass
class ScreeningDemo:
    """What :func:`run_screening_demo` did: the ``review`` simulated, one
    :class:`~serendip.screening.simulate.SimulationResult` per model (``results``, in :data:`DEMO_MODELS`
    order), the wall ``seconds``, or ``skipped``: why nothing ran (``results`` empty)."""

    review: str
    results: list[Any] = field(default_factory=list)
    seconds: float = 0.0
    skipped: str | None = None


def run_screening_demo(review: str = DEMO_REVIEW, models: tuple[str, ...] = DEMO_MODELS,
                       seeds: tuple[int, ...] = DEMO_SEEDS) -> ScreeningDemo:
    """Simulate screening ``review`` of the Cohen collection with each of ``models`` over ``seeds``.

    Returns
    -------
    ScreeningDemo
        ``skipped`` set (and no results) when the collection is not in the data mirror.

    Raises
    ------
    DataError, ParseError
        The mirror's files are damaged (a sha256 mismatch, an unreadable line), or ``review`` is not in them.
    ConfigError
        An unknown model name.
    """
    from serendip import datasets
    from serendip.errors import DatasetNotFound
    from serendip.screening.data import load_screening_set
    from serendip.screening.features import FeatureContext, FeatureStore
    from serendip.screening.simulate import simulate

    t0 = time.perf_counter()
    try:
        files = datasets.resolve(DEMO_DATASET)
    except DatasetNotFound as exc:
        return ScreeningDemo(review, skipped=str(exc))
    data = load_screening_set(files["cohen/records.jsonl.gz"], files["cohen/labels.tsv"], review)
    store = FeatureStore(data, FeatureContext())  # one TF-IDF fit shared by both models
    results = [simulate(data, model, "max", list(seeds), store=store) for model in models]
    return ScreeningDemo(review, results, time.perf_counter() - t0)
