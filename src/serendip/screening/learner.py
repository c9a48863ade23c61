"""The screening learner: one scikit-learn classifier bound to a set's features, refitted at each step
(:class:`Learner`). Models of :data:`serendip.screening.models.SCREENING_MODELS` build these, and the
fusions of :mod:`serendip.screening.fusion` combine them."""
from __future__ import annotations

from collections.abc import Callable

import numpy as np

__all__ = ["Learner"]


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
