"""Uncertainty beside every prediction: split-conformal intervals and an applicability-domain score.

* :class:`SplitConformal`: split (inductive) conformal regression (Papadopoulos et al. 2002; Lei et
  al. 2018, "Distribution-free predictive inference for regression"), calibrated on the validation
  split. With an ensemble spread σ the score is normalised, ``|y - ŷ| / (σ + β)`` with β the median
  validation σ (Papadopoulos et al. 2011, normalised nonconformity), so intervals widen where the
  members disagree; the quantile is the ``ceil((n + 1)(1 - α)) / n`` empirical one, which gives
  coverage ≥ 1 - α on exchangeable data.
* :class:`ApplicabilityDomain`: the largest Tanimoto similarity of a molecule's Morgan fingerprint
  (radius 2, 2,048 bits) to any training molecule (a nearest-neighbour AD, as in Sheridan et al. 2004);
  1.0 = a training molecule, below about 0.3 = far from the training set.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from rdkit import DataStructs
from rdkit.Chem import rdFingerprintGenerator

from serendip.chem.featurizers import to_mol
from serendip.errors import DataError

__all__ = ["ApplicabilityDomain", "SplitConformal"]


@dataclass
class SplitConformal:
    """Split-conformal intervals: ``fit`` on validation, ``interval`` on new predictions.

    Parameters
    ----------
    alpha : float, default 0.1
        Miscoverage: intervals aim at 1 - α coverage (90 %).
    """

    alpha: float = 0.1

    def fit(self, y: np.ndarray, pred: np.ndarray, sigma: np.ndarray | None = None) -> SplitConformal:
        """Calibrate on validation targets ``y``, predictions ``pred`` and (optional) spreads ``sigma``,
        each of shape (n,).

        Raises
        ------
        DataError
            Fewer than ``ceil(1/α) - 1`` calibration points (no finite quantile) or shapes differ.
        """
        y, pred = np.asarray(y, np.float64), np.asarray(pred, np.float64)
        if y.shape != pred.shape:
            raise DataError(f"conformal calibration: {y.shape} targets, {pred.shape} predictions")
        n = len(y)
        k = math.ceil((n + 1) * (1 - self.alpha))
        if k > n:
            raise DataError(f"conformal calibration needs at least {math.ceil(1 / self.alpha) - 1} points "
                            f"for alpha={self.alpha}; got: {n}")
        self.beta_ = float(np.median(sigma)) + 1e-6 if sigma is not None else None
        scores = np.abs(y - pred) / self._scale(sigma)
        self.q_ = float(np.sort(scores)[k - 1])
        self.n_ = n
        return self

    def _scale(self, sigma: np.ndarray | None) -> np.ndarray | float:
        if self.beta_ is None:
            return 1.0
        if sigma is None:
            raise DataError("this conformal predictor was calibrated with ensemble spreads; give sigma")
        return np.asarray(sigma, np.float64) + self.beta_

    def interval(self, pred: np.ndarray, sigma: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(lower, upper), each of shape (n,), float64."""
        half = self.q_ * self._scale(sigma)
        pred = np.asarray(pred, np.float64)
        return pred - half, pred + half

    def to_json(self) -> dict:
        return {"alpha": self.alpha, "q": self.q_, "beta": self.beta_, "n": self.n_}

    @classmethod
    def from_json(cls, d: dict) -> SplitConformal:
        obj = cls(alpha=d["alpha"])
        obj.q_, obj.beta_, obj.n_ = d["q"], d["beta"], d["n"]
        return obj


class ApplicabilityDomain:
    """Nearest-neighbour applicability domain: max Tanimoto to the training molecules."""

    def __init__(self, radius: int = 2, n_bits: int = 2048):
        self.radius, self.n_bits = radius, n_bits
        self._gen = rdFingerprintGenerator.GetMorganGenerator(radius=radius, fpSize=n_bits)

    def _fps(self, smiles: Sequence[str]) -> list:
        return [self._gen.GetFingerprint(to_mol(s)) for s in smiles]

    def fit(self, smiles: Sequence[str]) -> ApplicabilityDomain:
        """Remember the training molecules' fingerprints (``smiles``: the training SMILES)."""
        if not smiles:
            raise DataError("applicability domain: no training molecules")
        self.train_ = self._fps(smiles)
        return self

    def score(self, smiles: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """(max Tanimoto of shape (n,) float64 in [0, 1], index of that nearest training molecule, int64)."""
        sims = np.zeros(len(smiles))
        nearest = np.zeros(len(smiles), dtype=np.int64)
        for i, fp in enumerate(self._fps(smiles)):
            row = np.asarray(DataStructs.BulkTanimotoSimilarity(fp, self.train_))
            nearest[i] = int(row.argmax())
            sims[i] = row[nearest[i]]
        return sims, nearest

    def to_bits(self) -> np.ndarray:
        """The training fingerprints packed (uint8 of shape (n_train, n_bits / 8)) for saving."""
        return np.packbits(np.stack([np.array(list(fp), dtype=np.uint8) for fp in self.train_]), axis=1)

    @classmethod
    def from_bits(cls, bits: np.ndarray, radius: int = 2, n_bits: int = 2048) -> ApplicabilityDomain:
        obj = cls(radius, n_bits)
        obj.train_ = []
        for row in np.unpackbits(bits, axis=1)[:, :n_bits]:
            fp = DataStructs.ExplicitBitVect(n_bits)
            fp.SetBitsFromList(np.flatnonzero(row).tolist())
            obj.train_.append(fp)
        return obj
