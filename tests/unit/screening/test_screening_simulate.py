"""Simulation: priors drawn as asreview simulate draws them, reproducible per seed, every include
found, metrics and stopping rules computed on the order; a perfectly separable set gives the WSS@95
and RRF@10 worked out by hand."""
from __future__ import annotations

import numpy as np
import pytest
from screening_helpers import tiny_set, toy_context

from serendip.errors import ConfigError, DataError
from serendip.screening.features import FeatureStore
from serendip.screening.simulate import choose_priors, simulate, simulate_seed


def test_priors_are_asreviews_draws():
    y = np.array([0, 1, 0, 0, 1, 1, 0])
    inc = np.random.RandomState(5).choice(np.flatnonzero(y == 1), 1, replace=False)[0]
    exc = np.random.RandomState(5).choice(np.flatnonzero(y == 0), 1, replace=False)[0]
    assert choose_priors(y, 5) == [inc, exc]
    assert y[choose_priors(y, 5)].tolist() == [1, 0]


def test_a_fixed_seed_gives_the_same_simulation():
    ds = tiny_set(6, 30)
    a = simulate(ds, "tfidf-svm", "mixed", [3, 4], context=toy_context())
    b = simulate(ds, "tfidf-svm", "mixed", [3, 4], context=toy_context())
    for ra, rb in zip(a.runs, b.runs):
        assert (ra.priors, ra.order, ra.metrics) == (rb.priors, rb.order, rb.metrics)
    assert a.runs[0].priors != a.runs[1].priors or a.runs[0].order != a.runs[1].order


def test_a_separable_set_gives_the_hand_computed_figures():
    # 12 records, 4 includes; after 1 prior include and 1 exclude: 10 records, 3 includes, all first.
    # WSS@95 = (10 - 3) / 10 - 0.05 = 0.65; WSS@100 = 0.7; RRF@10 = 1 of 3 in the first record; ATD 2
    res = simulate(tiny_set(), "tfidf-nb", "max", [0, 1, 2])
    for run in res.runs:
        assert run.metrics == pytest.approx({"wss@95": 0.65, "wss@100": 0.7, "rrf@10": 1 / 3, "atd": 2.0,
                                             "atd_share": 0.2})
        assert len(run.order) == 3 and sorted(run.priors + run.order) == sorted(run.priors + run.order)
    mean, sd = res.summary()["wss@95"]
    assert mean == pytest.approx(0.65) and sd == pytest.approx(0.0)
    assert res.to_dict()["summary"]["rrf@10"]["mean"] == pytest.approx(1 / 3)


def test_stopping_rules_are_scored_on_the_screening_order():
    ds = tiny_set(5, 120)
    run = simulate(ds, "tfidf-logreg", "max", [0]).runs[0]
    # prior include, prior exclude, the 4 other includes, then 50 excludes: stop after 56 records
    stop = run.stops["consecutive-excludes"]
    assert (stop.screened, stop.recall) == (56, 1.0) and stop.saved == pytest.approx((125 - 56) / 125)
    hyper = run.stops["hypergeometric"]
    assert hyper.recall == 1.0 and 5 < hyper.screened <= 125 and 0 < hyper.recall_estimate <= 1


def test_retraining_every_k_labels_and_progress():
    ds = tiny_set(6, 30)
    seen = []
    res = simulate(ds, "tfidf-svm", "max", [0, 1], retrain_every=4, stop_rules=(),
                   steps=lambda name, total: (seen.append((name, total)), lambda n: seen.append(n))[1])
    assert res.retrain_every == 4 and all(r.stops == {} for r in res.runs)
    assert seen[0] == ("simulate Toy", 2 * 34) and sum(seen[1:]) == 2 * 34


def test_bad_settings_are_config_errors():
    ds = tiny_set()
    with pytest.raises(ConfigError, match="unknown screening model 'bert'"):
        simulate(ds, "bert")
    with pytest.raises(ConfigError, match="unknown query strategy"):
        simulate(ds, "tfidf-nb", "greedy")
    with pytest.raises(ConfigError, match="at least one seed"):
        simulate(ds, seeds=[])
    with pytest.raises(ConfigError, match="retrain_every"):
        simulate(ds, retrain_every=0)
    with pytest.raises(ConfigError, match="ranks only"):
        simulate(ds, "fused-rrf", "uncertainty", context=toy_context())


def test_one_include_is_refused_naming_the_set_and_counts():
    # the prior include would be the only include: nothing left to find, no metric defined
    ds = tiny_set(1, 6)
    why = (r"tiny: review 'Toy' has 1 include\(s\) and 6 exclude\(s\) among its 7 labelled records; a screening "
           r"simulation needs at least 2 includes and 1 exclude: the priors take one include and one exclude, and "
           r"at least one include must remain to be found")
    with pytest.raises(DataError, match=why):
        simulate(ds, "tfidf-nb")
    with pytest.raises(DataError, match=why):
        simulate_seed(FeatureStore(ds, toy_context()), "tfidf-nb", "max", 0)
    assert len(simulate(tiny_set(2, 6), "tfidf-nb").runs[0].order) == 1  # two includes: one to find


def test_embeddings_are_cached_on_disk(tmp_path):
    calls = []

    def embed(texts):
        calls.append(len(texts))
        return np.ones((len(texts), 2), dtype=np.float32)

    ctx = toy_context(tmp_path)
    ctx.embed = embed
    first = FeatureStore(tiny_set(), ctx).embeddings()
    again = FeatureStore(tiny_set(), ctx).embeddings()
    assert calls == [12] and np.allclose(first, again) and np.allclose(np.linalg.norm(first, axis=1), 1)
    assert len(list(tmp_path.glob("*.npy"))) == 1


def test_embeddings_are_computed_in_chunks_with_progress(monkeypatch):
    """Chunks of EMBED_CHUNK records, each reported to ``steps``; the vectors those of one call (the toy
    embedding has no batches; the ONNX encoder's figures are in the EMBED_CHUNK comment)."""
    from serendip.screening import features

    monkeypatch.setattr(features, "EMBED_CHUNK", 5)
    data = tiny_set()                                   # 12 records: chunks of 5, 5, 2
    seen = []
    store = features.FeatureStore(data, toy_context(None), steps=lambda name, total: (
        seen.append((name, total)) or (lambda n: seen.append(n))))
    whole = features.FeatureStore(data, toy_context(None)).embeddings()
    assert store.embeddings() == pytest.approx(whole)
    assert seen == [("embed Toy", 12), 5, 5, 2]
