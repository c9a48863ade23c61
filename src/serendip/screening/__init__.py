"""Screening prioritisation (issue 17): active learning over labelled or unlabelled records.

A domain package: nothing in the engine imports it; :func:`serendip.models.plugins.load_domains`
imports it (its registries fill then) and the CLI's ``serendip screen`` wraps its API.

Registries: :data:`~serendip.screening.models.SCREENING_MODELS` (``tfidf-nb``, ``tfidf-svm``,
``tfidf-logreg``, ``minilm-logreg``, the ``fused-*`` combinations and ``fused``, Serendip's chosen one),
:data:`~serendip.screening.strategies.QUERY_STRATEGIES` (``max``, ``uncertainty``, ``mixed``,
``random``), :data:`~serendip.screening.strategies.BALANCERS` (``none``, ``balanced``, ``double``) and
:data:`~serendip.screening.stopping.STOPPING_RULES` (``consecutive-excludes``, ``hypergeometric``).

Modules: :mod:`~serendip.screening.data` (records and labels read, checked and joined),
:mod:`~serendip.screening.features` (TF-IDF, cached sentence embeddings), :mod:`~serendip.screening.metrics`
(WSS@R, RRF@x, ATD), :mod:`~serendip.screening.stopping`, :mod:`~serendip.screening.simulate` (seeded
simulation as ``asreview simulate`` runs it), :mod:`~serendip.screening.plot` (recall curves),
:mod:`~serendip.screening.session` (screening sessions over a workspace's records, stored by
:mod:`~serendip.screening.store`, Alembic revisions 0008, 0011 and 0012), :mod:`~serendip.screening.highlight` and
:mod:`~serendip.screening.keywords` (a session's include / exclude keywords, found in each record shown),
:mod:`~serendip.screening.duplicates` (labelled records the shown one may duplicate),
:mod:`~serendip.screening.export` (labels as
CSV or RIS) and :mod:`~serendip.screening.recommend` (records like given ones, with reasons).
"""
from serendip.screening.data import ScreeningSet, load_screening_set
from serendip.screening.features import FeatureContext, FeatureStore
from serendip.screening.metrics import atd, recall_curve, rrf, screening_metrics, wss
from serendip.screening.models import SCREENING_MODELS
from serendip.screening.simulate import SimulationResult, simulate
from serendip.screening.stopping import STOPPING_RULES
from serendip.screening.strategies import BALANCERS, QUERY_STRATEGIES

__all__ = ["BALANCERS", "QUERY_STRATEGIES", "SCREENING_MODELS", "STOPPING_RULES", "FeatureContext", "FeatureStore",
           "ScreeningSet", "SimulationResult", "atd", "load_screening_set", "recall_curve", "rrf",
           "screening_metrics", "simulate", "wss"]
