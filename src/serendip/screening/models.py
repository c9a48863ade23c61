"""Screening models, in the :data:`SCREENING_MODELS` registry.

A model is built once per (screening set, seed) on the set's :class:`~serendip.screening.features.FeatureStore`
and then refitted at each step: ``fit(rows, y, weight)`` on the labelled records, ``score(rows)`` on the
unlabelled ones (float64, higher = more likely an include). ``midpoint`` is the score of an undecided
record (0.5 for a probability, 0.0 for a margin; None for a rank fusion), read by the ``uncertainty``
query strategy.

Built in (settings read from ASReview's source, not tuned here):

* ``tfidf-nb``: ASReview 0.x-1.x's default: TF-IDF unigrams with English stop words
  (:data:`~serendip.screening.features.NB_TFIDF`), multinomial naive Bayes alpha 3.822, ``double``
  balance (``asreview/models/classifiers/nb.py``, ``feature_extraction/tfidf.py``).
* ``tfidf-svm``: ASReview 3.0.8's default ``elas_u4``: TF-IDF 1-2-grams, sublinear tf, max_df 0.95
  (:data:`~serendip.screening.features.ELAS_TFIDF`), ``LinearSVC(C=0.11, loss="squared_hinge")``
  ranked by its decision function, ``balanced`` weights with ratio 9.8 (``asreview/models/models.py``).
  The SVM's ``random_state`` is a ``RandomState(seed)``, the stream ``asreview simulate --seed`` seeds
  through ``np.random.seed``, so with the same priors the two simulations label the same records.
* ``tfidf-mesh-svm``: elas_u4's SVM and weights on the text TF-IDF with the records' MeSH headings beside
  it (:meth:`FeatureStore.text_mesh`, weight :data:`MESH_WEIGHT`; the text alone for a set mostly
  without MeSH).
* ``tfidf-logreg``: the same TF-IDF and weights, logistic regression (C=1, liblinear).
* ``minilm-logreg``: all-MiniLM-L6-v2 sentence embeddings (:meth:`FeatureStore.embeddings`), logistic
  regression (C=1, lbfgs), ``balanced`` ratio 9.8.
* Serendip's combinations of TF-IDF and embeddings, candidates for ``fused``:
  ``fused-stack`` (one ``elas_u4`` SVM on ``[TF-IDF | w * embedding]``, w = 1: both blocks have unit
  norm), ``fused-rrf`` (reciprocal rank fusion, k = 60, of ``tfidf-svm`` and ``minilm-logreg`` over the
  unlabelled records; Cormack, Clarke & Buettcher 2009, SIGIR), ``fused-mean`` (mean of the two
  models' scores standardised over the unlabelled records) and ``fused-mesh-mean`` (the same with
  ``tfidf-mesh-svm`` in place of ``tfidf-svm``); ``fused-mesh-wmean``: the same two models, their
  z-scores combined linearly with weights 3:1 (:data:`MESH_WMEAN_WEIGHTS`; Vogt & Cottrell 1999,
  Information Retrieval 1:151, fusion by a linear combination of scores), the embeddings a quarter of
  the fused score: a lighter touch than the equal weights of ``fused-mesh-mean``, which lost most on
  the reviews where MiniLM alone is weakest (the weight set once, not on a grid, but after seeing
  ``fused-mesh-mean``'s per-review figures on the same 14 reviews: not independent of them). In
  ``benchmarks/screening_cohen.py`` (14 Cohen reviews, seeds 0-4, rows of 2026-12-05, commit b33ba02) it
  reaches mean WSS@95 32.6 % and is above ASReview's elas_u4 on 9 of 14 reviews (``tfidf-mesh-svm``
  32.4 %, 8 of 14; ``fused-mesh-mean`` 31.4 %, 9 of 14; elas_u4 30.3 %).
* ``fused-auc3``: ``tfidf-svm``, ``tfidf-mesh-svm`` and ``minilm-logreg``, their z-scores weighted by how
  well each has ranked the records labelled so far
  (:class:`~serendip.screening.fusion.PrequentialFusion`: weight ``AUC - 0.5`` of its scores, given
  before each label, on the records read; equal weights until 5 includes and 5 excludes are read),
  so each review's own labels choose between text, MeSH and embeddings. Written on
  2026-12-05 after seeing that ``fused-mesh-wmean`` lost 5 reviews to ASReview, and after a look at seed 0
  of those 5 with a two-part variant (dropped: it lost 4 of them); no setting changed after that look.
  In ``benchmarks/screening_cohen.py`` (14 reviews, seeds 0-4) it is above ASReview's elas_u4 on 10 of 14
  reviews, but its mean WSS@95 (31.1 %) is below ``fused-mesh-wmean``'s (32.6 %): it loses most where MeSH
  helps most (NSAIDS, Opiods, UrinaryIncontinence), so the leave-one-review-out choice does not pick it.
* ``fused-mesh-auc``: ``fused-mesh-wmean``'s two models and 3:1 weights, each weight scaled by the part's
  prequential ``AUC - 0.5`` (:class:`~serendip.screening.fusion.PrequentialFusion` with prior 3:1), so a
  review where the embeddings rank the records read badly gives them less than a quarter, one where they rank well more.
  Written on 2026-12-06 after seeing the rows of ``fused-mesh-wmean`` and ``fused-auc3`` on the same 14
  reviews (``fused-auc3`` gained where the embeddings are weak and lost where MeSH helps most, having
  ``tfidf-svm`` without MeSH as a third part): not independent of them. No setting of it was tried
  before its figures in ``benchmarks/screening_cohen.py`` (14 reviews, seeds 0-4, commit 8cf0eb1): mean
  WSS@95 32.4 %, above elas_u4 on 8 of 14 reviews, within 2.0 points of ``fused-mesh-wmean`` on each.
* ``fused``: Serendip's choice, ``fused-mesh-wmean`` since 2026-12-06 (:data:`FUSED_CHOICE`); before,
  the fusion chosen on 2026-12-04 by simulation on the 11 Cohen reviews then not scored (seeds 0-1):
  ``fused-mean``, 31.1 % (``fused-rrf`` 30.8, ``fused-stack`` 29.6; ``tfidf-svm``, no combination,
  31.3). Since 2026-12-05
  ``benchmarks/screening_cohen.py`` scores all 14 reviews (seeds 0-4) and chooses Serendip's model for
  each review on the other 13 among its ``CANDIDATES`` (the combinations in this list; the choice per
  review is in the rows' ``chosen`` setting). Screening sessions default to ``tfidf-mesh-svm`` (0.25
  points of WSS@95 below ``fused-mesh-wmean`` on the mean, and no sentence embeddings to compute for every
  record of a workspace).
* ``fused-lr3``: the three parts of ``fused-auc3``, their z-scores weighted by a logistic regression fitted
  on the review's own prequential (z-score, label) pairs
  (:class:`~serendip.screening.fusion.PrequentialStack`; stacking, Wolpert 1992), so the labels set how
  sharply one part is preferred, which ``AUC - 0.5`` fixes in advance.
  Written on 2026-12-06 after seeing ``fused-auc3`` and ``fused-mesh-auc`` on the same 14 reviews
  (``fused-auc3`` gains where MeSH hurts, BetaBlockers and ProtonPumpInhibitors, and loses where MeSH helps
  most, its weights being too flat to follow the MeSH model there): not independent of them. It has no
  setting of its own (the regression's C = 1 and balanced class weights are scikit-learn's and
  ASReview's usual ones), and none was tried before its figures in ``benchmarks/screening_cohen.py``
  (commit 8cf0eb1): mean WSS@95 31.2 %, above elas_u4 on 9 of 14 reviews (BetaBlockers and
  ProtonPumpInhibitors won, SkeletalMuscleRelaxants 34.5 % and NSAIDS 32.1 % far below the MeSH models).
* ``fused-mesh-pick``: ``fused-mesh-wmean`` (SVM 3 : MiniLM 1) whose SVM is ``tfidf-mesh-svm`` or
  ``tfidf-svm``, whichever has the higher prequential ROC-AUC on the records labelled so far
  (:class:`~serendip.screening.fusion.PrequentialPick`; ``tfidf-mesh-svm`` until 5 includes and 5
  excludes are read, and on ties), so a review whose MeSH headings mislead drops them while the MiniLM
  share stays a quarter. Written on 2026-12-06 (session 38) after seeing every candidate above on the same
  14 reviews: ``fused-mesh-wmean`` loses to elas_u4 where the MeSH SVM alone is below the text SVM
  (ProtonPumpInhibitors, BetaBlockers, OralHypoglycemics), and ``fused-auc3``/``fused-lr3`` switch weights too
  flatly or too noisily to keep the MeSH gains; not independent of them. Its settings are those of
  ``fused-mesh-wmean`` and ``fused-auc3``; none was tried before its one run in
  ``benchmarks/screening_cohen.py`` (commit 6d51fa0): mean WSS@95 32.0 %, above elas_u4 on 10 of 14 reviews
  (CalciumChannelBlockers won), but it drops the MeSH SVM where the two SVMs rank the records read alike
  and MeSH still helps (NSAIDS 35.1 against ``fused-mesh-wmean``'s 40.0 %), so the leave-one-review-out
  choice keeps ``fused-mesh-wmean``.
* ``fused-wmean3``: ``fused-mesh-wmean`` with ASReview's text SVM (``tfidf-svm``) as a third part at half the
  MeSH SVM's weight, fixed: z-scores weighted 3 : 1.5 : 1 (:data:`WMEAN3_WEIGHTS`), so where the MeSH
  headings mislead the text SVM still holds a third of the SVMs' share, with no prequential switch to follow
  noise as ``fused-mesh-pick``'s did. Written on 2026-12-06 (session 39) after seeing every candidate above on
  the same 14 reviews, and after a static check (scratch, no rows: 5-fold cross-validated scores of the
  three parts fitted on each review's full labels, 3 fold seeds, WSS@95 of the fused order): mean 34.3 %
  against 33.8 % for ``fused-mesh-wmean``'s two parts and 33.0 % for a half-weight MeSH block (the only
  other setting checked). Not independent of those reviews. Its one run in ``benchmarks/screening_cohen.py``
  (14 reviews, seeds 0-4, commit a9970a3): mean WSS@95 31.7 %, above elas_u4 on 10 of 14 reviews. The text SVM
  won the three reviews ``fused-mesh-wmean`` lost by under half a point (BetaBlockers 31.1, CalciumChannelBlockers
  28.5, ProtonPumpInhibitors 25.1 %), but cost most where MeSH helps (Opiods 38.6 against 43.8 %,
  UrinaryIncontinence 12.2 against 17.8 %), so the leave-one-review-out choice keeps ``fused-mesh-wmean``.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from serendip.registry import Registry
from serendip.screening.features import ELAS_TFIDF, NB_TFIDF, FeatureStore
from serendip.screening.fusion import (
    Fusion,
    PrequentialFusion,
    PrequentialPick,
    PrequentialStack,
)
from serendip.screening.learner import Learner

__all__ = ["FUSED_CHOICE", "SCREENING_MODELS", "Learner", "ScreeningModel", "model_names"]

#: ``balanced`` ratio of ASReview 3.0.8's elas_u4
ELAS_RATIO = 9.8
#: weight of the MeSH block beside the text TF-IDF in ``tfidf-mesh-svm``
MESH_WEIGHT = 0.5
#: weights of ``tfidf-mesh-svm`` and ``minilm-logreg`` in ``fused-mesh-wmean``
MESH_WMEAN_WEIGHTS = (3.0, 1.0)
#: weights of ``tfidf-mesh-svm``, ``tfidf-svm`` and ``minilm-logreg`` in ``fused-wmean3``
WMEAN3_WEIGHTS = (3.0, 1.5, 1.0)


@dataclass(frozen=True)
class ScreeningModel:
    """One registered model.

    Attributes
    ----------
    name : str
    build : callable
        ``build(store: FeatureStore, seed: int) -> Learner``.
    balance : tuple of (str, dict)
        Default balancer (a name of :data:`~serendip.screening.strategies.BALANCERS`) and its params.
    description, reference : str
    needs_embeddings : bool
        Whether ``build`` computes sentence embeddings (minutes on CPU the first time for a set).
    """

    name: str
    build: Callable[[FeatureStore, int], Learner]
    balance: tuple[str, dict] = field(default=("balanced", {"ratio": ELAS_RATIO}))
    description: str = ""
    reference: str = ""
    needs_embeddings: bool = False


SCREENING_MODELS: Registry[ScreeningModel] = Registry("screening model")


def model_names() -> list[str]:
    """Registered model names (aliases included), sorted."""
    return SCREENING_MODELS.keys()


def _svm(seed: int):
    from sklearn.svm import LinearSVC

    state = np.random.RandomState(seed)  # one stream over every fit, as np.random.seed in asreview
    return lambda: LinearSVC(C=0.11, loss="squared_hinge", random_state=state)


def _logreg_liblinear():
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=1.0, solver="liblinear")


def _logreg_lbfgs():
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=1.0, max_iter=1000)


def _nb():
    from sklearn.naive_bayes import MultinomialNB

    return MultinomialNB(alpha=3.822)


def _tfidf_svm(store: FeatureStore, seed: int) -> Learner:
    return Learner(store.tfidf(ELAS_TFIDF), _svm(seed), "margin")


def _mesh_svm(store: FeatureStore, seed: int) -> Learner:
    return Learner(store.text_mesh(MESH_WEIGHT), _svm(seed), "margin")


def _minilm_logreg(store: FeatureStore, seed: int) -> Learner:
    return Learner(store.embeddings(), _logreg_lbfgs, "proba")


def _stack(store: FeatureStore, seed: int, weight: float = 1.0) -> Learner:
    from scipy import sparse

    X = sparse.hstack([store.tfidf(ELAS_TFIDF), sparse.csr_matrix(weight * store.embeddings())]).tocsr()
    return Learner(X, _svm(seed), "margin")


def _mesh_wmean(store: FeatureStore, seed: int) -> Learner:
    return Fusion([_mesh_svm(store, seed), _minilm_logreg(store, seed)], "mean", MESH_WMEAN_WEIGHTS)


def _wmean3(store: FeatureStore, seed: int) -> Learner:
    return Fusion([_mesh_svm(store, seed), _tfidf_svm(store, seed), _minilm_logreg(store, seed)], "mean",
                  WMEAN3_WEIGHTS)


def _auc3(store: FeatureStore, seed: int) -> Learner:
    return PrequentialFusion([_tfidf_svm(store, seed), _mesh_svm(store, seed), _minilm_logreg(store, seed)])


def _lr3(store: FeatureStore, seed: int) -> Learner:
    return PrequentialStack([_tfidf_svm(store, seed), _mesh_svm(store, seed), _minilm_logreg(store, seed)])


def _mesh_auc(store: FeatureStore, seed: int) -> Learner:
    return PrequentialFusion([_mesh_svm(store, seed), _minilm_logreg(store, seed)], MESH_WMEAN_WEIGHTS)


def _mesh_pick(store: FeatureStore, seed: int) -> Learner:
    svm, emb = MESH_WMEAN_WEIGHTS
    return PrequentialPick([_tfidf_svm(store, seed), _mesh_svm(store, seed), _minilm_logreg(store, seed)],
                           (svm, svm, emb), pick=(0, 1), default=1)


_ASR3 = "ASReview 3.0.8, asreview/models/models.py (elas_u4)"
_MODELS = [
    ScreeningModel("tfidf-nb", lambda store, seed: Learner(store.tfidf(NB_TFIDF), _nb, "proba"),
                   ("double", {}), "TF-IDF + multinomial naive Bayes (ASReview 1's default)",
                   "ASReview 1.x asreview/models/classifiers/nb.py, feature_extraction/tfidf.py, balance/double.py"),
    ScreeningModel("tfidf-svm", _tfidf_svm, description="TF-IDF 1-2-grams + linear SVM (ASReview 3's elas_u4)",
                   reference=_ASR3),
    ScreeningModel("tfidf-mesh-svm", _mesh_svm,
                   description="TF-IDF 1-2-grams and MeSH headings + linear SVM (elas_u4's classifier)",
                   reference=_ASR3 + " classifier; MeSH features: Cohen et al. 2006 (JAMIA 13:206)"),
    ScreeningModel("tfidf-logreg", lambda store, seed: Learner(store.tfidf(ELAS_TFIDF), _logreg_liblinear, "proba"),
                   description="TF-IDF 1-2-grams + logistic regression", reference=_ASR3 + " features and weights"),
    ScreeningModel("minilm-logreg", _minilm_logreg, description="MiniLM sentence embeddings + logistic regression",
                   reference="Reimers & Gurevych 2019 (Sentence-BERT); all-MiniLM-L6-v2", needs_embeddings=True),
    ScreeningModel("fused-stack", _stack, description="one linear SVM on TF-IDF and MiniLM embeddings side by side",
                   reference=_ASR3 + " classifier; Serendip", needs_embeddings=True),
    ScreeningModel("fused-rrf", lambda store, seed: Fusion([_tfidf_svm(store, seed), _minilm_logreg(store, seed)],
                                                            "rrf"),
                   description="reciprocal rank fusion of tfidf-svm and minilm-logreg",
                   reference="Cormack, Clarke & Buettcher 2009 (SIGIR)", needs_embeddings=True),
    ScreeningModel("fused-mean", lambda store, seed: Fusion([_tfidf_svm(store, seed), _minilm_logreg(store, seed)],
                                                             "mean"),
                   description="mean of the z-scored scores of tfidf-svm and minilm-logreg",
                   reference="Serendip (score averaging)", needs_embeddings=True),
    ScreeningModel("fused-mesh-mean", lambda store, seed: Fusion([_mesh_svm(store, seed),
                                                                  _minilm_logreg(store, seed)], "mean"),
                   description="mean of the z-scored scores of tfidf-mesh-svm and minilm-logreg",
                   reference="Serendip (score averaging)", needs_embeddings=True),
    ScreeningModel("fused-mesh-wmean", _mesh_wmean,
                   description="weighted mean (3:1) of the z-scored scores of tfidf-mesh-svm and minilm-logreg",
                   reference="Vogt & Cottrell 1999 (Information Retrieval 1:151), linear score fusion",
                   needs_embeddings=True),
    ScreeningModel("fused-wmean3", _wmean3,
                   description="weighted mean (3 : 1.5 : 1) of the z-scored scores of tfidf-mesh-svm, tfidf-svm "
                               "and minilm-logreg",
                   reference="Vogt & Cottrell 1999 (Information Retrieval 1:151), linear score fusion",
                   needs_embeddings=True),
    ScreeningModel("fused-auc3", _auc3,
                   description="z-scores of tfidf-svm, tfidf-mesh-svm and minilm-logreg weighted by their "
                               "prequential ROC-AUC on the records labelled so far",
                   reference="Dawid 1984 (prequential assessment); Vogt & Cottrell 1999 (linear score fusion)",
                   needs_embeddings=True),
    ScreeningModel("fused-lr3", _lr3,
                   description="z-scores of tfidf-svm, tfidf-mesh-svm and minilm-logreg weighted by a logistic "
                               "regression fitted on their prequential scores of the records labelled so far",
                   reference="Wolpert 1992 (stacked generalisation); Dawid 1984 (prequential assessment)",
                   needs_embeddings=True),
    ScreeningModel("fused-mesh-auc", _mesh_auc,
                   description="z-scores of tfidf-mesh-svm and minilm-logreg weighted 3:1, each weight scaled by "
                               "the part's prequential ROC-AUC on the records labelled so far",
                   reference="Dawid 1984 (prequential assessment); Vogt & Cottrell 1999 (linear score fusion)",
                   needs_embeddings=True),
    ScreeningModel("fused-mesh-pick", _mesh_pick,
                   description="fused-mesh-wmean whose SVM is tfidf-mesh-svm or tfidf-svm, whichever has ranked "
                               "the records labelled so far better (prequential ROC-AUC)",
                   reference="Dawid 1984 (prequential assessment); Vogt & Cottrell 1999 (linear score fusion)",
                   needs_embeddings=True),
]
for _m in _MODELS:
    SCREENING_MODELS.add(_m.name, _m)

#: How ``fused`` is chosen. Since 2026-12-06 (commit adc2650) the benchmark's leave-one-review-out choice is
#: ``fused-mesh-wmean`` on a domain-adapted encoder's embeddings (``--adapted-model``, mean WSS@95 0.3296, above
#: ASReview on 9 of 14 reviews): the same registered model, so ``fused`` stays ``fused-mesh-wmean``, and the
#: encoder is a setting (``screen simulate --embedding-model``). Before: ``benchmarks/screening_cohen.py``'s
#: leave-one-review-out choice (for each Cohen
#: review, the candidate of highest mean WSS@95 over the other 13; seeds 0-4, strategy max), the same
#: candidate for all 14 reviews in the rows of commits 6d51fa0 and a9970a3 (2026-12-06); the figures are the
#: candidates' mean WSS@95 over all 14. Until 2026-12-06 ``fused`` was ``fused-mean``, chosen on 2026-12-04
#: on the 11 reviews then not scored (seeds 0-1: fused-mean 0.3114, fused-rrf 0.3083, fused-stack 0.2962,
#: tfidf-svm 0.3131).
FUSED_CHOICE = {"chosen": "fused-mesh-wmean", "on": "14 Cohen reviews, each chosen on the other 13, seeds 0-4",
                "wss@95": {"fused-mesh-wmean": 0.3261, "fused-mesh-auc": 0.3238, "tfidf-mesh-svm": 0.3236,
                           "fused-mesh-pick": 0.3197, "fused-mesh-mean": 0.3145, "fused-lr3": 0.3123,
                           "fused-auc3": 0.3109, "fused-wmean3": 0.3168, "fused-mesh-wmean@adapted": 0.3296}}
SCREENING_MODELS.register("fused")(SCREENING_MODELS.get(FUSED_CHOICE["chosen"]))
