"""Meta-tests over the screening registries: every model, query strategy and balancer registered has a
case here and is exercised for real (PyKEEN's habit: an entry without a case fails the run).

Models run a simulation on a tiny separable set (two vocabularies; a 3-d count embedding stands in for
MiniLM) and must rank every include first; strategies and balancers are checked on hand-made scores
and training sets, then run in a simulation."""
from __future__ import annotations

import numpy as np
import pytest
from screening_helpers import tiny_set, toy_context

from serendip.errors import ConfigError
from serendip.screening.features import FeatureStore
from serendip.screening.models import FUSED_CHOICE, SCREENING_MODELS
from serendip.screening.simulate import simulate
from serendip.screening.strategies import BALANCERS, QUERY_STRATEGIES

PERFECT = {"wss@95": 0.65, "wss@100": 0.7, "rrf@10": 1 / 3, "atd": 2.0, "atd_share": 0.2}


def _case(table: dict, kind: str, name: str):
    if name not in table:
        pytest.fail(f"no test case for {kind} {name}: add one to the {kind} cases in {__file__}")
    return table[name]


# model name -> the midpoint its scores have (None: a rank fusion)
MODEL_CASES = {"tfidf-nb": 0.5, "tfidf-svm": 0.0, "tfidf-mesh-svm": 0.0, "tfidf-logreg": 0.5, "minilm-logreg": 0.5, "fused-stack": 0.0,
               "fused-rrf": None, "fused-mean": None, "fused-mesh-mean": None,
               "fused-mesh-wmean": None, "fused-auc3": None, "fused-mesh-auc": None,
               "fused-lr3": None, "fused-mesh-pick": None, "fused-wmean3": None}
MODEL_CASES["fused"] = MODEL_CASES[FUSED_CHOICE["chosen"]]


@pytest.mark.parametrize("name", SCREENING_MODELS.keys())
def test_model(name):
    case = _case(MODEL_CASES, "screening model", name)
    ds = tiny_set()
    res = simulate(ds, name, "max", [0, 1], context=toy_context(), stop_rules=())
    for run in res.runs:
        assert run.metrics == pytest.approx(PERFECT), (name, run.order)
    learner = SCREENING_MODELS.get(name).build(FeatureStore(ds, toy_context()), 0)
    assert learner.midpoint == case
    rows = np.array([0, 1, 2, 3])
    learner.fit(rows, ds.labels[rows], None)
    scores = learner.score(np.arange(len(ds)))
    assert scores.shape == (12,) and scores.dtype == np.float64 and np.isfinite(scores).all()
    assert scores[ds.labels == 1].min() > scores[ds.labels == 0].max()


def _scores():
    return np.array([0.1, 0.9, 0.55, 0.9, 0.3])


def _check_max(pick):
    assert pick(_scores(), 0.5, np.random.default_rng(0)) == 1          # ties: the first record


def _check_uncertainty(pick):
    assert pick(_scores(), 0.5, np.random.default_rng(0)) == 2
    assert pick(np.array([-2.0, 0.4, -0.1]), 0.0, np.random.default_rng(0)) == 2
    with pytest.raises(ConfigError, match="ranks only"):
        pick(_scores(), None, np.random.default_rng(0))


def _check_mixed(pick):
    rng = np.random.default_rng(1)
    picks = np.array([pick(_scores(), None, rng) for _ in range(4000)])
    share_max = np.mean(picks == 1)
    assert 0.95 + 0.05 / 5 - 0.02 < share_max < 0.95 + 0.05 / 5 + 0.02   # max, or a random draw of it
    assert set(picks.tolist()) == {0, 1, 2, 3, 4}


def _check_random(pick):
    rng = np.random.default_rng(2)
    counts = np.bincount([pick(_scores(), 0.5, rng) for _ in range(5000)], minlength=5)
    assert (np.abs(counts / 5000 - 0.2) < 0.03).all()


STRATEGY_CASES = {"max": _check_max, "uncertainty": _check_uncertainty, "mixed": _check_mixed,
                  "random": _check_random}


@pytest.mark.parametrize("name", QUERY_STRATEGIES.keys())
def test_query_strategy(name):
    _case(STRATEGY_CASES, "query strategy", name)(QUERY_STRATEGIES.get(name).pick)
    res = simulate(tiny_set(6, 30), "tfidf-svm", name, [0], stop_rules=())
    run = res.runs[0]
    assert len(set(run.priors + run.order)) == len(run.priors + run.order)
    assert tiny_set(6, 30).labels[run.priors + run.order].sum() == 6       # every include found


ROWS = np.arange(10) + 100
Y = np.array([1, 0, 0, 1, 0, 0, 0, 0, 0, 0], dtype=np.int8)


def _check_none(balance):
    rows, y, w = balance(ROWS, Y, np.random.default_rng(0))
    assert rows is ROWS and y is Y and w is None


def _check_balanced(balance):
    rows, y, w = balance(ROWS, Y, np.random.default_rng(0), ratio=9.8)
    assert (rows == ROWS).all() and w.sum() == pytest.approx(10)
    assert w[Y == 1].sum() / w[Y == 0].sum() == pytest.approx(9.8)     # includes weigh ratio x excludes
    _, _, w1 = balance(ROWS, Y, np.random.default_rng(0))
    assert w1[Y == 1].sum() == pytest.approx(w1[Y == 0].sum())


def _check_double(balance):
    # 2 includes of 10: include weight 2.155 * (2/8)^-0.94, exclude weight 1 - 0.211 / (1 + ln 10)
    w1, w0 = 2.155 * 0.25 ** -0.94, 1 - (1 - 0.789) / (1 + np.log(10))
    want = w1 * 2 * 10 / (w1 * 2 + w0 * 8)
    ones = set()
    for seed in range(30):
        rows, y, w = balance(ROWS, Y, np.random.default_rng(seed))
        assert len(rows) == 10 and w is None and set(rows.tolist()) <= set(ROWS.tolist())
        assert (y == Y[rows - 100]).all()
        ones.add(int(y.sum()))
    assert ones == {int(np.floor(want)), int(np.floor(want)) + 1}


BALANCER_CASES = {"none": _check_none, "balanced": _check_balanced, "double": _check_double}


@pytest.mark.parametrize("name", BALANCERS.keys())
def test_balancer(name):
    _case(BALANCER_CASES, "balancer", name)(BALANCERS.get(name).balance)
    run = simulate(tiny_set(), "tfidf-logreg", "max", [0], balance=name, stop_rules=()).runs[0]
    assert run.metrics == pytest.approx(PERFECT)


@pytest.mark.parametrize("kind", ["margin", "proba"])
def test_scoring_most_rows_of_sparse_features_gives_the_sliced_values(kind):
    from scipy import sparse
    from sklearn.naive_bayes import MultinomialNB
    from sklearn.svm import LinearSVC

    from serendip.screening.models import Learner

    rng = np.random.default_rng(0)
    X = sparse.random(3000, 800, density=0.03, format="csr", random_state=1)
    learner = Learner(X, (lambda: LinearSVC()) if kind == "margin" else MultinomialNB, kind)
    learner.fit(np.arange(120), (rng.random(120) < 0.3).astype(np.int8), None)
    for n in (2500, 100):  # the whole matrix scored (more than half), then a slice
        pool = np.sort(rng.choice(np.arange(120, 3000), n, replace=False))
        sliced = (learner.estimator.decision_function(X[pool]) if kind == "margin"
                  else learner.estimator.predict_proba(X[pool])[:, 1])
        got = learner.score(pool)
        assert got.dtype == np.float64 and got.shape == (n,) and np.array_equal(got, sliced)
