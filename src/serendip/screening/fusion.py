"""Fusions of screening learners: several :class:`~serendip.screening.learner.Learner` fitted on the same
labelled rows, their scores combined into one ranking. Fixed combinations (:class:`Fusion`: reciprocal rank
fusion, a weighted mean of z-scores) and combinations whose weights follow the set's own labels as
screening goes (:class:`PrequentialFusion`, :class:`PrequentialStack`, :class:`PrequentialPick`)."""
from __future__ import annotations

import numpy as np

from serendip.screening.learner import Learner

__all__ = ["Fusion", "PrequentialFusion", "PrequentialPick", "PrequentialStack", "z_scores"]


class Fusion(Learner):
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
        z = z_scores(scores)
        if self.weights is None:
            return np.mean(z, axis=0)
        weights = np.asarray(self.weights, dtype=np.float64)
        return weights @ z / weights.sum()


def z_scores(scores: list[np.ndarray]) -> np.ndarray:
    """Each part's scores standardised over the scored rows (population sd; a constant part gives 0s),
    stacked: shape (n_parts, n_rows)."""
    return np.array([(s - s.mean()) / (s.std() or 1.0) for s in scores])


class PrequentialFusion(Fusion):
    """A weighted mean of the parts' z-scores whose weights follow the set's own labels, prequentially.

    Each record labelled since the last fit was scored, before its label was known, by every part
    (z-scores over the unlabelled records of that step); those (z, label) pairs accumulate. Once they
    hold ``min_each`` includes and ``min_each`` excludes, part i weighs ``prior_i * max(AUC_i - 0.5, 0)``,
    AUC_i being the ROC-AUC of its z-scores on them (Mann-Whitney, ties half); before that, or when no
    part is above chance, the weights are ``prior``. Prequential ("test then train") assessment:
    Dawid 1984, JRSS A 147:278. The records are those the fused ranking put on top, so the AUC measures
    how each part orders the candidates actually read, the part of the ranking that decides WSS.

    Parameters
    ----------
    parts : list of Learner
    prior : tuple of float, optional
        One weight >= 0 per part, not all 0 (default: equal weights).
    min_each : int, default 5
        Includes and excludes (each) to gather before the labels set the weights; at least 1.

    Raises
    ------
    ValueError
        If ``prior`` has not one finite weight >= 0 per part or they are all 0, or ``min_each`` is not an
        integer >= 1.
    """

    def __init__(self, parts: list[Learner], prior: tuple[float, ...] | None = None, min_each: int = 5):
        prior = (1.0,) * len(parts) if prior is None else tuple(prior)
        if len(prior) != len(parts) or not all(np.isfinite(w) and w >= 0 for w in prior) or sum(prior) <= 0:
            raise ValueError(f"prior {prior} must give each of the {len(parts)} parts a finite weight >= 0, "
                             "not all 0")
        if isinstance(min_each, bool) or not isinstance(min_each, int) or min_each < 1:
            raise ValueError(f"min_each must be an integer >= 1, got {min_each!r}")
        super().__init__(parts, "mean", prior)
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

    def prequential_auc(self) -> np.ndarray | None:
        """Each part's ROC-AUC on the (z, label) pairs gathered so far, float64 of shape (n_parts,)
        (Mann-Whitney U / (includes * excludes), ties counted half); None before ``min_each`` includes
        and ``min_each`` excludes."""
        from scipy.stats import rankdata

        labels = np.asarray(self._hist_y, dtype=np.int8)
        n_inc, n_exc = int(labels.sum()), int(len(labels) - labels.sum())
        if min(n_inc, n_exc) < self.min_each:  # min_each >= 1: both classes present
            return None
        ranks = np.apply_along_axis(rankdata, 0, np.array(self._hist_z))  # (n, parts)
        return (ranks[labels == 1].sum(axis=0) - n_inc * (n_inc + 1) / 2) / (n_inc * n_exc)

    def current_weights(self) -> np.ndarray:
        """float64 weights of shape (n_parts,), summing to 1, from the (z, label) pairs gathered so far."""
        auc = self.prequential_auc()
        weights = self.prior
        if auc is not None:
            above = self.prior * np.maximum(auc - 0.5, 0.0)
            weights = above if above.sum() > 0 else self.prior
        return weights / weights.sum()

    def score(self, rows) -> np.ndarray:
        z = z_scores([part.score(rows) for part in self.parts])
        self._scored_rows, self._scored_z = np.asarray(rows, dtype=np.int64), z
        return np.asarray(self.weights) @ z / float(np.sum(self.weights))


class PrequentialStack(PrequentialFusion):
    """A linear combination of the parts' z-scores whose weights a logistic regression fits on the set's own
    prequential (z, label) pairs (those of :class:`PrequentialFusion`): stacking (Wolpert 1992, Neural
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


class PrequentialPick(PrequentialFusion):
    """A weighted mean of the parts' z-scores in which one of several alternative parts is used at a time:
    the one whose z-scores have ranked the set's own records best so far (highest prequential ROC-AUC,
    :meth:`PrequentialFusion.prequential_auc`; a tie keeps ``default``). The other parts keep their
    ``prior`` weights throughout. Before ``min_each`` includes and excludes are gathered, ``default`` is
    the alternative used. Model selection by prequential assessment (Dawid 1984, JRSS A 147:278), made
    again before each fit.

    Parameters
    ----------
    parts : list of Learner
    prior : tuple of float
        Weight of each part (the alternatives' entries are the weight of whichever is used).
    pick : tuple of int
        Indices of the alternative parts (at least 2).
    default : int
        The alternative used until the labels decide, and on ties; one of ``pick``.
    min_each : int, default 5
        Includes and excludes (each) to gather before the labels choose; at least 1.

    Raises
    ------
    ValueError
        If ``pick`` is not a tuple or list of at least 2 part indices (int), ``default`` is not one of them,
        or ``prior`` / ``min_each`` are refused by :class:`PrequentialFusion`.
    """

    def __init__(self, parts: list[Learner], prior: tuple[float, ...], pick: tuple[int, ...], default: int,
                 min_each: int = 5):
        def index(i) -> bool:
            return isinstance(i, int) and not isinstance(i, bool)

        if not isinstance(pick, (tuple, list)) or not all(map(index, pick)) or not index(default) \
                or len(set(pick)) < 2 or not set(pick) <= set(range(len(parts))) or default not in pick:
            raise ValueError(f"pick {pick} must name at least 2 of the {len(parts)} parts and hold default {default}")
        self.pick, self.default = tuple(pick), default
        super().__init__(parts, prior, min_each)
        self.weights = tuple(self.current_weights().tolist())

    def chosen(self) -> int:
        """Index of the alternative in use: the best prequential ROC-AUC among ``pick`` (ties:
        ``default``), ``default`` before the labels decide."""
        auc = self.prequential_auc()
        if auc is None:
            return self.default
        best = max(auc[i] for i in self.pick)
        return self.default if auc[self.default] >= best else next(i for i in self.pick if auc[i] == best)

    def current_weights(self) -> np.ndarray:
        """float64 weights of shape (n_parts,), summing to 1: ``prior``, the unused alternatives at 0."""
        keep = self.chosen()
        weights = np.array([0.0 if i in self.pick and i != keep else w for i, w in enumerate(self.prior)])
        return weights / weights.sum()
