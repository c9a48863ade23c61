"""Filters of a screening run (:func:`serendip.chem.screen.screen_library`) and the extras written beside
each ranked candidate.

Filters are applied in :data:`FILTER_ORDER` and a molecule is counted under the *first* filter it fails
(the report's ``filtered`` counts add up to the molecules left out). The two before the prediction
(``lipinski``, ``min_qed``) save the model's time; the alert filters come last because substructure
matching is the slowest step (about 3 ms a molecule for PAINS's 480 patterns).

Sources: QED, Bickerton et al. 2012 (Nat. Chem. 4:90), RDKit ``Chem.QED.qed``; the rule of five, PAINS
and Brenk alerts as :mod:`serendip.chem.filters` computes them.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from rdkit import Chem
from rdkit.Chem import QED, Crippen, Descriptors

from serendip.chem.filters import alerts, lipinski_violations
from serendip.errors import ConfigError

__all__ = ["FILTER_ORDER", "ScreenFilters", "candidate_extras"]

#: The order filters are tried in; a molecule is counted under the first one it fails.
FILTER_ORDER = ("lipinski", "min_qed", "min_prediction", "max_prediction", "max_sd", "min_ad", "no_pains",
                "no_brenk")


@dataclass
class ScreenFilters:
    """What a candidate must satisfy (None / False: not checked).

    Attributes
    ----------
    lipinski : bool
        At most one rule-of-five violation (Lipinski et al. 1997).
    min_qed : float, optional
        QED (in [0, 1]) at least this.
    min_prediction, max_prediction : float, optional
        The model's prediction within [min, max] (the property's unit; a probability for a classifier).
    max_sd : float, optional
        Ensemble spread (standard deviation over members) at most this; needs a model of several members.
    min_ad : float, optional
        Applicability domain: Tanimoto similarity (Morgan r=2, 2,048 bits) to the nearest training
        molecule at least this (in [0, 1]).
    no_pains, no_brenk : bool
        No PAINS alert (Baell & Holloway 2010) / no Brenk alert (Brenk et al. 2008).
    """

    lipinski: bool = False
    min_qed: float | None = None
    min_prediction: float | None = None
    max_prediction: float | None = None
    max_sd: float | None = None
    min_ad: float | None = None
    no_pains: bool = False
    no_brenk: bool = False

    def __post_init__(self) -> None:
        for name in ("min_qed", "min_ad"):
            v = getattr(self, name)
            if v is not None and not 0.0 <= v <= 1.0:
                raise ConfigError(f"filter {name} must be in [0, 1]; got: {v!r}")
        for name in ("min_prediction", "max_prediction", "max_sd"):
            v = getattr(self, name)
            if v is not None and not math.isfinite(v):
                raise ConfigError(f"filter {name} must be a finite number; got: {v!r}")
        if self.max_sd is not None and self.max_sd < 0:
            raise ConfigError(f"filter max_sd must be >= 0; got: {self.max_sd!r}")
        lo, hi = self.min_prediction, self.max_prediction
        if lo is not None and hi is not None and lo > hi:
            raise ConfigError(f"filter min_prediction ({lo}) is above max_prediction ({hi}); nothing could pass")

    def active(self) -> list[str]:
        """The filters switched on, in :data:`FILTER_ORDER`."""
        return [n for n in FILTER_ORDER if getattr(self, n) not in (None, False)]

    def to_json(self) -> dict:
        return asdict(self)

    def before_prediction(self, mol: Chem.Mol) -> str | None:
        """The first of ``lipinski``, ``min_qed`` that ``mol`` fails, else None."""
        if self.lipinski and len(lipinski_violations(mol)) > 1:
            return "lipinski"
        if self.min_qed is not None and QED.qed(mol) < self.min_qed:
            return "min_qed"
        return None

    def after_prediction(self, mol: Chem.Mol, prediction: float, sd: float, ad: float) -> str | None:
        """The first of the remaining filters (:data:`FILTER_ORDER`) that the molecule fails, else None."""
        if self.min_prediction is not None and prediction < self.min_prediction:
            return "min_prediction"
        if self.max_prediction is not None and prediction > self.max_prediction:
            return "max_prediction"
        if self.max_sd is not None and not sd <= self.max_sd:
            return "max_sd"
        if self.min_ad is not None and ad < self.min_ad:
            return "min_ad"
        if self.no_pains and alerts(mol, "PAINS"):
            return "no_pains"
        if self.no_brenk and alerts(mol, "Brenk"):
            return "no_brenk"
        return None


def candidate_extras(smiles: str) -> dict:
    """Columns written beside a ranked candidate: ``qed``, ``mw`` (Da), ``logp`` (Crippen), ``pains``,
    ``brenk`` (alert names joined by ``"; "``, "" if none) and ``lipinski_violations`` (same form)."""
    mol = Chem.MolFromSmiles(smiles)
    return {"qed": QED.qed(mol), "mw": Descriptors.MolWt(mol), "logp": Crippen.MolLogP(mol),
            "pains": "; ".join(alerts(mol, "PAINS")), "brenk": "; ".join(alerts(mol, "Brenk")),
            "lipinski_violations": "; ".join(lipinski_violations(mol))}
