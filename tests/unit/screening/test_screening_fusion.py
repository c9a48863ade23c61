"""Score fusion of screening models: the z-score mean (equal and weighted) and reciprocal rank fusion on
hand-computed examples, and ``fused-mesh-wmean`` as registered: its parts, weights and its ranking of a
tiny set whose MeSH headings name the includes."""
from __future__ import annotations

import numpy as np
import pytest
from screening_helpers import tiny_set, toy_context

from serendip.screening.data import ScreeningSet
from serendip.screening.features import FeatureStore
from serendip.screening.fusion import (
    Fusion,
    PrequentialFusion,
    PrequentialPick,
    PrequentialStack,
)
from serendip.screening.learner import Learner
from serendip.screening.models import (
    MESH_WMEAN_WEIGHTS,
    SCREENING_MODELS,
    WMEAN3_WEIGHTS,
)
from serendip.screening.simulate import simulate


class _Fixed(Learner):
    """A learner whose scores are fixed per record (fit does nothing)."""

    def __init__(self, values):
        self.values, self.midpoint = np.asarray(values, dtype=np.float64), 0.0

    def fit(self, rows, y, weight) -> None:
        pass

    def score(self, rows):
        return self.values[rows]


A, B = [1.0, 2.0, 3.0, 6.0], [4.0, 0.0, 2.0, 2.0]
# z-scores (population sd): A mean 3, sd sqrt(3.5); B mean 2, sd sqrt(2)
ZA = (np.array(A) - 3.0) / np.sqrt(3.5)
ZB = (np.array(B) - 2.0) / np.sqrt(2.0)


def test_mean_fusion_is_the_mean_of_z_scores_and_weights_tilt_it():
    rows = np.arange(4)
    assert Fusion([_Fixed(A), _Fixed(B)], "mean").score(rows) == pytest.approx((ZA + ZB) / 2)
    got = Fusion([_Fixed(A), _Fixed(B)], "mean", (3.0, 1.0)).score(rows)
    assert got == pytest.approx((3 * ZA + ZB) / 4)
    assert got == pytest.approx([-0.4482, -0.7544, 0.0, 1.2027], abs=1e-4)
    # equal weights give the plain mean; a constant part (sd 0) adds nothing but its zeros
    assert Fusion([_Fixed(A), _Fixed(B)], "mean", (2.0, 2.0)).score(rows) == pytest.approx((ZA + ZB) / 2)
    assert Fusion([_Fixed(A), _Fixed([5.0] * 4)], "mean", (3.0, 1.0)).score(rows) == pytest.approx(3 * ZA / 4)


def test_rrf_sums_reciprocal_ranks():
    got = Fusion([_Fixed(A), _Fixed(B)], "rrf").score(np.arange(4))
    # A ranks records 3,2,1,0 as 1..4; B ranks 0, then 2 and 3 tied (stable: 2 first), then 1
    want = [1 / 64 + 1 / 61, 1 / 63 + 1 / 64, 1 / 62 + 1 / 62, 1 / 61 + 1 / 63]
    assert got == pytest.approx(want)


def test_fused_mesh_wmean_is_registered_with_its_parts_and_source():
    spec = SCREENING_MODELS.get("fused-mesh-wmean")
    assert spec.needs_embeddings and spec.balance == ("balanced", {"ratio": 9.8})
    assert "Vogt & Cottrell 1999" in spec.reference and "3:1" in spec.description
    learner = spec.build(FeatureStore(tiny_set(), toy_context()), 0)
    assert learner.how == "mean" and learner.weights == MESH_WMEAN_WEIGHTS == (3.0, 1.0)
    assert [p.kind for p in learner.parts] == ["margin", "proba"]
    assert learner.midpoint is None


def test_fused_mesh_wmean_finds_the_includes_first_and_follows_the_svm_where_the_parts_disagree():
    base = tiny_set(6, 30)
    mesh = [["Include Heading", "Humans"] if y else ["Humans"] for y in base.labels]
    ds = ScreeningSet(base.name, base.ids, base.titles, base.abstracts, base.labels, mesh=mesh, source="tiny")
    res = simulate(ds, "fused-mesh-wmean", "max", [0, 1], context=toy_context(), stop_rules=())
    for run in res.runs:
        assert sorted(ds.labels[run.order[:5]]) == [1] * 5          # the 5 includes left after the priors
        assert run.metrics["wss@100"] == pytest.approx(29 / 34)          # the 5 in the first 5 of 34
    # a 3:1 weight: where the SVM and the embedding model rank two records oppositely, the SVM's order wins
    svm, emb = _Fixed([2.0, 0.0, 1.0]), _Fixed([0.0, 2.0, 1.0])
    fused = Fusion([svm, emb], "mean", MESH_WMEAN_WEIGHTS).score(np.arange(3))
    assert fused[0] > fused[2] > fused[1]


def test_fused_wmean3_is_the_mesh_svm_the_text_svm_and_minilm_weighted_3_to_1_5_to_1():
    spec = SCREENING_MODELS.get("fused-wmean3")
    assert spec.needs_embeddings and spec.balance == ("balanced", {"ratio": 9.8})
    assert "Vogt & Cottrell 1999" in spec.reference and "3 : 1.5 : 1" in spec.description
    learner = spec.build(FeatureStore(tiny_set(), toy_context()), 0)
    assert learner.how == "mean" and learner.weights == WMEAN3_WEIGHTS == (3.0, 1.5, 1.0)
    assert [p.kind for p in learner.parts] == ["margin", "margin", "proba"]
    # z-scores of (0, 1, 2) are (-a, 0, a), a = sqrt(3/2); parts ranking 0,1,2 / 2,1,0 / 2,1,0 give
    # record 0: (-3 a + 1.5 a + a) / 5.5 = -a / 11, record 2: +a / 11, record 1: 0
    parts = [_Fixed([0.0, 1.0, 2.0]), _Fixed([2.0, 1.0, 0.0]), _Fixed([2.0, 1.0, 0.0])]
    a = np.sqrt(1.5)
    assert Fusion(parts, "mean", WMEAN3_WEIGHTS).score(np.arange(3)) == pytest.approx([-a / 11, 0.0, a / 11])


def test_prequential_fusion_weighs_each_part_by_its_auc_on_the_records_labelled_since_it_scored_them():
    # part 0 scores the includes (records 4, 5) above the excludes (0-3); part 1 is at chance on them
    good, half = _Fixed([0.0, 1.0, 2.0, 3.0, 4.0, 5.0]), _Fixed([5.0, 0.0, 4.0, 1.0, 3.0, 2.0])
    fusion = PrequentialFusion([good, half], min_each=2)
    fusion.fit(np.array([9]), np.array([1]), None)           # a prior: never scored, not counted
    assert fusion.weights == (0.5, 0.5)
    fusion.score(np.arange(6))
    fusion.fit(np.array([9, 0, 4]), np.array([1, 0, 1]), None)  # one include, one exclude: below min_each
    assert fusion.weights == (0.5, 0.5)
    fusion.fit(np.array([9, 0, 4, 1, 5, 2, 3]), np.array([1, 0, 1, 0, 1, 0, 0]), None)
    # includes {4, 5} against excludes {0, 1, 2, 3}: part 0 AUC 1; part 1 puts each include above
    # records 1 and 3 only: 4 / 8 = 0.5 -> weight 0, so part 0 alone decides
    assert fusion.weights == pytest.approx((1.0, 0.0))
    assert fusion.score(np.arange(6)) == pytest.approx((np.arange(6) - 2.5) / np.std(np.arange(6)))


def test_prequential_fusion_keeps_its_prior_when_no_part_beats_chance():
    worst = _Fixed([5.0, 4.0, 3.0, 2.0])
    fusion = PrequentialFusion([worst, _Fixed([3.0, 2.0, 1.0, 0.0])], prior=(3.0, 1.0), min_each=1)
    fusion.score(np.arange(4))
    fusion.fit(np.array([0, 3]), np.array([0, 1]), None)  # both parts put the exclude above the include
    assert fusion.current_weights() == pytest.approx([0.75, 0.25])


def test_prequential_fusions_are_registered_and_run_a_simulation():
    base = tiny_set(6, 30)
    mesh = [["Include Heading", "Humans"] if y else ["Humans"] for y in base.labels]
    ds = ScreeningSet(base.name, base.ids, base.titles, base.abstracts, base.labels, mesh=mesh, source="tiny")
    for name, n_parts, prior in (("fused-auc3", 3, [1 / 3] * 3), ("fused-mesh-auc", 2, [0.75, 0.25]),
                                 ("fused-lr3", 3, [1 / 3] * 3), ("fused-mesh-pick", 3, [0.0, 0.75, 0.25])):
        spec = SCREENING_MODELS.get(name)
        assert spec.needs_embeddings and "Dawid 1984" in spec.reference
        fusion = spec.build(FeatureStore(ds, toy_context()), 0)
        assert len(fusion.parts) == n_parts
        assert fusion.current_weights() == pytest.approx(prior)  # no label read yet: the prior
        assert [p.kind for p in fusion.parts][-2:] == ["margin", "proba"]  # tfidf-mesh-svm, minilm-logreg
        run = simulate(ds, name, "max", [0], context=toy_context(), stop_rules=()).runs[0]
        assert sorted(ds.labels[run.order[:5]]) == [1] * 5


def test_prequential_stack_weights_the_part_that_separates_the_labels():
    # the labels are 0 0 0 0 1 1 1 1: ``good`` ranks them perfectly, ``noise`` has the same mean in both
    good, noise = _Fixed([0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0]), _Fixed([7.0, 0.0, 5.0, 2.0, 6.0, 1.0, 4.0, 3.0])
    stack = PrequentialStack([good, noise], min_each=2)
    stack.score(np.arange(8))
    assert stack.current_weights() == pytest.approx([0.5, 0.5])  # no label read: the prior
    stack.fit(np.arange(8), np.array([0, 0, 0, 0, 1, 1, 1, 1]), None)
    weights = stack.current_weights()
    assert weights.sum() == pytest.approx(1.0) and weights[0] > 0.85  # the separating part takes most weight


def test_prequential_pick_uses_the_alternative_that_ranked_the_labelled_records_best():
    # labels of records 0-7: 0 0 0 0 1 1 1 1. ``good`` ranks them perfectly, ``bad`` inverts them
    good, bad = _Fixed([0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0]), _Fixed([7.0, 6.0, 5.0, 4.0, 3.0, 2.0, 1.0, 0.0])
    other = _Fixed([1.0, 0.0, 1.0, 0.0, 1.0, 0.0, 1.0, 0.0])
    pick = PrequentialPick([good, bad, other], (3.0, 3.0, 1.0), pick=(0, 1), default=1, min_each=2)
    assert pick.chosen() == 1 and pick.weights == pytest.approx((0.0, 0.75, 0.25))  # the default first
    rows = np.arange(8)
    assert pick.score(rows) == pytest.approx(0.75 * _z(bad.values) + 0.25 * _z(other.values))
    pick.fit(np.array([0, 4]), np.array([0, 1]), None)  # one include, one exclude: below min_each
    assert pick.chosen() == 1
    pick.score(rows)
    pick.fit(np.array([0, 4, 1, 5]), np.array([0, 1, 0, 1]), None)
    # records 0, 4, 1, 5, each scored before its label: ``good`` AUC 1, ``bad`` 0 -> ``good`` replaces ``bad``
    assert pick.prequential_auc() == pytest.approx([1.0, 0.0, 0.5])
    assert pick.chosen() == 0 and pick.weights == pytest.approx((0.75, 0.0, 0.25))
    assert pick.score(rows) == pytest.approx(0.75 * _z(good.values) + 0.25 * _z(other.values))


def test_prequential_pick_keeps_the_default_on_a_tie_and_refuses_a_bad_pick():
    same = [0.0, 1.0, 2.0, 3.0]
    pick = PrequentialPick([_Fixed(same), _Fixed(same)], (1.0, 1.0), pick=(0, 1), default=1, min_each=1)
    pick.score(np.arange(4))
    pick.fit(np.array([0, 3]), np.array([0, 1]), None)
    assert pick.prequential_auc() == pytest.approx([1.0, 1.0]) and pick.chosen() == 1
    for bad_pick, default in (((0,), 0), ((0, 2), 0), ((0, 1), 2), (None, 0), ((0.0, 1.0), 0), ((0, 1), True)):
        with pytest.raises(ValueError, match="pick"):
            PrequentialPick([_Fixed(same), _Fixed(same)], (1.0, 1.0), pick=bad_pick, default=default)


@pytest.mark.parametrize("prior, min_each, match", [
    ((1.0, 1.0, 1.0), 5, "prior"), ((0.0, 0.0), 5, "prior"), ((0.5, -1.0), 5, "prior"),
    ((1.0, float("nan")), 5, "prior"), ((1.0, 1.0), 0, "min_each"), ((1.0, 1.0), True, "min_each"),
])
def test_prequential_fusions_refuse_a_bad_prior_or_min_each(prior, min_each, match):
    same = [0.0, 1.0, 2.0, 3.0]
    for make in (lambda: PrequentialFusion([_Fixed(same), _Fixed(same)], prior, min_each),
                 lambda: PrequentialPick([_Fixed(same), _Fixed(same)], prior, pick=(0, 1), default=0,
                                         min_each=min_each)):
        with pytest.raises(ValueError, match=match):
            make()


def _z(values: np.ndarray) -> np.ndarray:
    return (values - values.mean()) / values.std()
