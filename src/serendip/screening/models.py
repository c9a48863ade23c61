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
  well each has ranked the records labelled so far (:class:`_PrequentialFusion`: weight ``AUC - 0.5`` of
  its scores, given before each label, on the records read; equal weights until 5 includes and 5
  excludes are read), so each review's own labels choose between text, MeSH and embeddings. Written on
  2026-12-05 after seeing that ``fused-mesh-wmean`` lost 5 reviews to ASReview, and after a look at seed 0
  of those 5 with a two-part variant (dropped: it lost 4 of them); no setting changed after that look.
  In ``benchmarks/screening_cohen.py`` (14 reviews, seeds 0-4) it is above ASReview's elas_u4 on 10 of 14
  reviews, but its mean WSS@95 (31.1 %) is below ``fused-mesh-wmean``'s (32.6 %): it loses most where MeSH
  helps most (NSAIDS, Opiods, UrinaryIncontinence), so the leave-one-review-out choice does not pick it.
* ``fused-mesh-auc``: ``fused-mesh-wmean``'s two models and 3:1 weights, each weight scaled by the part's
  prequential ``AUC - 0.5`` (:class:`_PrequentialFusion` with prior 3:1), so a review where the
  embeddings rank the records read badly gives them less than a quarter, one where they rank well more.
  Written on 2026-12-06 after seeing the rows of ``fused-mesh-wmean`` and ``fused-auc3`` on the same 14
  reviews (``fused-auc3`` gained where the embeddings are weak and lost where MeSH helps most, having
  ``tfidf-svm`` without MeSH as a third part): not independent of them. No setting of it was tried
  before its figures in ``benchmarks/screening_cohen.py`` (14 reviews, seeds 0-4, commit 8cf0eb1): mean
  WSS@95 32.4 %, above elas_u4 on 8 of 14 reviews, within 2.0 points of ``fused-mesh-wmean`` on each.
* ``fused``: the fusion chosen on 2026-12-04 by simulation on the 11 Cohen reviews then not scored
  (seeds 0-1; figures in :data:`FUSED_CHOICE`): ``fused-mean``, 31.1 % (``fused-rrf`` 30.8,
  ``fused-stack`` 29.6; ``tfidf-svm``, no combination, 31.3). Since 2026-12-05
  ``benchmarks/screening_cohen.py`` scores all 14 reviews (seeds 0-4) and chooses Serendip's model for
  each review on the other 13 among its ``CANDIDATES`` (the combinations in this list; the choice per
  review is in the rows' ``chosen`` setting). Screening sessions default to ``tfidf-mesh-svm`` (0.25
  points of WSS@95 below ``fused-mesh-wmean`` on the mean, and no sentence embeddings to compute for every
  record of a workspace).
* ``fused-lr3``: the three parts of ``fused-auc3``, their z-scores weighted by a logistic regression fitted
  on the review's own prequential (z-score, label) pairs (:class:`_PrequentialStack`; stacking, Wolpert
  1992), so the labels set how sharply one part is preferred, which ``AUC - 0.5`` fixes in advance.
  Written on 2026-12-06 after seeing ``fused-auc3`` and ``fused-mesh-auc`` on the same 14 reviews
  (``fused-auc3`` gains where MeSH hurts, BetaBlockers and ProtonPumpInhibitors, and loses where MeSH helps
  most, its weights being too flat to follow the MeSH model there): not independent of them. It has no
  setting of its own (the regression's C = 1 and balanced class weights are scikit-learn's and
  ASReview's usual ones), and none was tried before its figures in ``benchmarks/screening_cohen.py``
  (commit 8cf0eb1): mean WSS@95 31.2 %, above elas_u4 on 9 of 14 reviews (BetaBlockers and
  ProtonPumpInhibitors won, SkeletalMuscleRelaxants 34.5 % and NSAIDS 32.1 % far below the MeSH models).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from serendip.registry import Registry
from serendip.screening.features import ELAS_TFIDF, NB_TFIDF, FeatureStore

__all__ = ["FUSED_CHOICE", "SCREENING_MODELS", "Learner", "ScreeningModel", "model_names"]

#: ``balanced`` ratio of ASReview 3.0.8's elas_u4
ELAS_RATIO = 9.8
#: weight of the MeSH block beside the text TF-IDF in ``tfidf-mesh-svm``
MESH_WEIGHT = 0.5
#: weights of ``tfidf-mesh-svm`` and ``minilm-logreg`` in ``fused-mesh-wmean``
MESH_WMEAN_WEIGHTS = (3.0, 1.0)


class Learner:
    """A model bound to one set's features: ``fit`` on labelled rows, ``score`` unlabelled rows.

    Parameters
    ----------
    X : array or sparse matrix of shape (n, d)
        The set's features.
    make : callable
        ``make() -> scikit-learn classifier`` (fresh each fit).
    kind : {"proba", "margin"}
        Score by ``predict_proba(X)[:, 1]`` (midpoint 0.5) or ``decision_function(X)`` (midpoint 0).
    """

    def __init__(self, X, make: Callable[[], object], kind: str):
        self.X, self.make, self.kind = X, make, kind
        self.midpoint: float | None = 0.5 if kind == "proba" else 0.0
        self.estimator = None

    def fit(self, rows: np.ndarray, y: np.ndarray, weight: np.ndarray | None) -> None:
        """Fit on the records ``rows`` (int64, labelling order) with labels ``y`` (int8) and sample
        weights (None: equal)."""
        self.estimator = self.make()
        self.estimator.fit(self.X[rows], y, sample_weight=weight)

    def score(self, rows: np.ndarray) -> np.ndarray:
        """float64 scores of the records ``rows``, shape (len(rows),).

        When the features are sparse and ``rows`` hold more than half the records, every record is
        scored and ``rows`` taken from the result: the same values (a sparse row's products are summed in
        its stored order either way) without copying most of the matrix (hundreds of MB at 10^5
        records). Dense features are sliced as before (BLAS may sum a sliced block in another order)."""
        from scipy import sparse

        whole = sparse.issparse(self.X) and len(rows) * 2 > self.X.shape[0]
        X = self.X if whole else self.X[rows]
        if self.kind == "proba":
            out = self.estimator.predict_proba(X)[:, 1].astype(np.float64)
        else:
            out = np.asarray(self.estimator.decision_function(X), dtype=np.float64)
        return out[rows] if whole else out


class _Fusion(Learner):
    """Learners fitted on the same rows; their scores combined over the scored rows by ``how``:
    ``"rrf"`` (sum of 1 / (60 + rank), rank 1 = highest) or ``"mean"`` (mean of z-scores, weighted by
    ``weights`` when given: sum of w_i z_i / sum of w_i, a linear combination of normalised scores, Vogt &
    Cottrell 1999, Information Retrieval 1:151; equal weights when None)."""

    def __init__(self, parts: list[Learner], how: str, weights: tuple[float, ...] | None = None):
        self.parts, self.how, self.weights = parts, how, weights
        self.midpoint = None

    def fit(self, rows, y, weight) -> None:
        for part in self.parts:
            part.fit(rows, y, weight)

    def score(self, rows) -> np.ndarray:
        scores = [part.score(rows) for part in self.parts]
        if self.how == "rrf":
            out = np.zeros(len(rows))
            for s in scores:
                rank = np.empty(len(s))
                rank[np.argsort(-s, kind="stable")] = np.arange(1, len(s) + 1)
                out += 1.0 / (60.0 + rank)
            return out
        z = _z_scores(scores)
        if self.weights is None:
            return np.mean(z, axis=0)
        weights = np.asarray(self.weights, dtype=np.float64)
        return weights @ z / weights.sum()


def _z_scores(scores: list[np.ndarray]) -> np.ndarray:
    """Each part's scores standardised over the scored rows (population sd; a constant part gives 0s),
    stacked: shape (n_parts, n_rows)."""
    return np.array([(s - s.mean()) / (s.std() or 1.0) for s in scores])


class _PrequentialFusion(_Fusion):
    """A weighted mean of the parts' z-scores whose weights follow the set's own labels, prequentially.

    Each record labelled since the last fit was scored, before its label was known, by every part
    (z-scores over the unlabelled records of that step); those (z, label) pairs accumulate. Once they
    hold ``min_each`` includes and ``min_each`` excludes, part i weighs ``prior_i * max(AUC_i - 0.5, 0)``,
    AUC_i being the ROC-AUC of its z-scores on them (Mann-Whitney, ties half); before that, or when no
    part is above chance, the weights are ``prior``. Prequential ("test then train") assessment:
    Dawid 1984, JRSS A 147:278. The records are those the fused ranking put on top, so the AUC measures
    how each part orders the candidates actually read, the part of the ranking that decides WSS.
    """

    def __init__(self, parts: list[Learner], prior: tuple[float, ...] | None = None, min_each: int = 5):
        super().__init__(parts, "mean", prior or (1.0,) * len(parts))
        self.prior, self.min_each = np.asarray(self.weights, dtype=np.float64), min_each
        self._seen: set[int] = set()
        self._scored_rows = np.zeros(0, dtype=np.int64)
        self._scored_z = np.zeros((len(parts), 0))
        self._hist_z: list[np.ndarray] = []
        self._hist_y: list[int] = []

    def fit(self, rows, y, weight) -> None:
        order = np.argsort(self._scored_rows, kind="stable")
        sorted_rows = self._scored_rows[order]
        for row, label in zip(np.asarray(rows).tolist(), np.asarray(y).tolist()):
            if row in self._seen:
                continue
            self._seen.add(row)
            at = int(np.searchsorted(sorted_rows, row))
            if at < len(sorted_rows) and sorted_rows[at] == row:  # scored before it was labelled
                self._hist_z.append(self._scored_z[:, order[at]])
                self._hist_y.append(int(label))
        self.weights = tuple(self.current_weights().tolist())
        super().fit(rows, y, weight)

    def current_weights(self) -> np.ndarray:
        """float64 weights of shape (n_parts,), summing to 1, from the (z, label) pairs gathered so far."""
        from scipy.stats import rankdata

        labels = np.asarray(self._hist_y, dtype=np.int8)
        n_inc, n_exc = int(labels.sum()), int(len(labels) - labels.sum())
        weights = self.prior
        if min(n_inc, n_exc) >= self.min_each:
            z = np.array(self._hist_z)  # (n, parts)
            ranks = np.apply_along_axis(rankdata, 0, z)
            auc = (ranks[labels == 1].sum(axis=0) - n_inc * (n_inc + 1) / 2) / (n_inc * n_exc)
            above = self.prior * np.maximum(auc - 0.5, 0.0)
            weights = above if above.sum() > 0 else self.prior
        return weights / weights.sum()

    def score(self, rows) -> np.ndarray:
        z = _z_scores([part.score(rows) for part in self.parts])
        self._scored_rows, self._scored_z = np.asarray(rows, dtype=np.int64), z
        return np.asarray(self.weights) @ z / float(np.sum(self.weights))


class _PrequentialStack(_PrequentialFusion):
    """A linear combination of the parts' z-scores whose weights a logistic regression fits on the set's own
    prequential (z, label) pairs (those of :class:`_PrequentialFusion`): stacking (Wolpert 1992, Neural
    Networks 5:241) on out-of-sample scores, as each z was given before its record's label was known.
    The regression (C = 1, ``balanced`` class weights) learns both which part to trust and how sharply;
    negative coefficients are set to 0 (a part never counts against a record); before ``min_each``
    includes and excludes, or when no coefficient is positive, the weights are ``prior``."""

    def current_weights(self) -> np.ndarray:
        from sklearn.linear_model import LogisticRegression

        labels = np.asarray(self._hist_y, dtype=np.int8)
        n_inc = int(labels.sum())
        weights = self.prior
        if min(n_inc, len(labels) - n_inc) >= self.min_each:
            stack = LogisticRegression(C=1.0, class_weight="balanced").fit(np.array(self._hist_z), labels)
            coef = np.maximum(stack.coef_[0], 0.0)
            weights = coef if coef.sum() > 0 else self.prior
        return weights / weights.sum()


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
    return _Fusion([_mesh_svm(store, seed), _minilm_logreg(store, seed)], "mean", MESH_WMEAN_WEIGHTS)


def _auc3(store: FeatureStore, seed: int) -> Learner:
    return _PrequentialFusion([_tfidf_svm(store, seed), _mesh_svm(store, seed), _minilm_logreg(store, seed)])


def _lr3(store: FeatureStore, seed: int) -> Learner:
    return _PrequentialStack([_tfidf_svm(store, seed), _mesh_svm(store, seed), _minilm_logreg(store, seed)])


def _mesh_auc(store: FeatureStore, seed: int) -> Learner:
    return _PrequentialFusion([_mesh_svm(store, seed), _minilm_logreg(store, seed)], MESH_WMEAN_WEIGHTS)


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
    ScreeningModel("fused-rrf", lambda store, seed: _Fusion([_tfidf_svm(store, seed), _minilm_logreg(store, seed)],
                                                            "rrf"),
                   description="reciprocal rank fusion of tfidf-svm and minilm-logreg",
                   reference="Cormack, Clarke & Buettcher 2009 (SIGIR)", needs_embeddings=True),
    ScreeningModel("fused-mean", lambda store, seed: _Fusion([_tfidf_svm(store, seed), _minilm_logreg(store, seed)],
                                                             "mean"),
                   description="mean of the z-scored scores of tfidf-svm and minilm-logreg",
                   reference="Serendip (score averaging)", needs_embeddings=True),
    ScreeningModel("fused-mesh-mean", lambda store, seed: _Fusion([_mesh_svm(store, seed),
                                                                  _minilm_logreg(store, seed)], "mean"),
                   description="mean of the z-scored scores of tfidf-mesh-svm and minilm-logreg",
                   reference="Serendip (score averaging)", needs_embeddings=True),
    ScreeningModel("fused-mesh-wmean", _mesh_wmean,
                   description="weighted mean (3:1) of the z-scored scores of tfidf-mesh-svm and minilm-logreg",
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
]
for _m in _MODELS:
    SCREENING_MODELS.add(_m.name, _m)

#: How ``fused`` was chosen: mean WSS@95 over the 11 Cohen reviews not scored by
#: ``benchmarks/screening_cohen.py`` (seeds 0 and 1, strategy max; ``--select``), 2026-12-04.
FUSED_CHOICE = {"chosen": "fused-mean", "on": "11 other Cohen reviews, seeds 0-1",
                "wss@95": {"fused-mean": 0.3114, "fused-rrf": 0.3083, "fused-stack": 0.2962, "tfidf-svm": 0.3131}}
SCREENING_MODELS.register("fused")(SCREENING_MODELS.get(FUSED_CHOICE["chosen"]))
