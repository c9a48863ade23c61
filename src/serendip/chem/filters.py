"""Structural alerts and rule-of-five checks a medicinal chemist reads beside every designed molecule.

* PAINS: the 480 pan-assay interference substructures of Baell & Holloway 2010 (J. Med. Chem.
  53:2719), families A, B and C, as RDKit ships them (``FilterCatalogParams.FilterCatalogs.PAINS``).
* Brenk: the 105 unwanted / reactive / toxic groups of Brenk et al. 2008 (ChemMedChem 3:435), RDKit's
  ``FilterCatalogs.BRENK``.
* Lipinski's rule of five (Lipinski et al. 1997, Adv. Drug Deliv. Rev. 23:3): molecular weight <= 500 Da,
  Crippen logP <= 5, H-bond donors <= 5 (``Lipinski.NumHDonors``), H-bond acceptors <= 10
  (``Lipinski.NumHAcceptors``); "passes" with at most one violation, as the paper states poor absorption
  "is more likely when there are more than 5 H-bond donors, ... [with] two parameters out of range".

The catalogs are built once per process (RDKit's catalog construction takes ~0.1 s).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

from rdkit import Chem
from rdkit.Chem import Crippen, Descriptors, Lipinski
from rdkit.Chem.FilterCatalog import FilterCatalog, FilterCatalogParams

__all__ = ["ALERT_CATALOGS", "AlertReport", "alerts", "lipinski_violations", "check_molecule"]

#: alert family name -> RDKit catalog
ALERT_CATALOGS = {"PAINS": FilterCatalogParams.FilterCatalogs.PAINS,
                  "Brenk": FilterCatalogParams.FilterCatalogs.BRENK}


@lru_cache(maxsize=None)
def _catalog(family: str) -> FilterCatalog:
    if family not in ALERT_CATALOGS:
        raise ValueError(f"unknown alert family {family!r}; known: {', '.join(ALERT_CATALOGS)}")
    params = FilterCatalogParams()
    params.AddCatalog(ALERT_CATALOGS[family])
    return FilterCatalog(params)


def alerts(mol: Chem.Mol, family: str) -> list[str]:
    """Names of the ``family`` alerts (``"PAINS"`` or ``"Brenk"``) that match ``mol``, sorted, each once.

    Raises
    ------
    ValueError
        Unknown family.
    """
    return sorted({entry.GetDescription() for entry in _catalog(family).GetMatches(mol)})


def lipinski_violations(mol: Chem.Mol) -> list[str]:
    """The rule-of-five limits ``mol`` exceeds, e.g. ``["MW 612.7 > 500"]`` (empty: none)."""
    out = []
    mw, logp = Descriptors.MolWt(mol), Crippen.MolLogP(mol)
    donors, acceptors = Lipinski.NumHDonors(mol), Lipinski.NumHAcceptors(mol)
    if mw > 500:
        out.append(f"MW {mw:.1f} > 500")
    if logp > 5:
        out.append(f"logP {logp:.2f} > 5")
    if donors > 5:
        out.append(f"HBD {donors} > 5")
    if acceptors > 10:
        out.append(f"HBA {acceptors} > 10")
    return out


@dataclass
class AlertReport:
    """Alerts of one molecule: PAINS and Brenk alert names, rule-of-five violations."""

    smiles: str
    pains: list[str] = field(default_factory=list)
    brenk: list[str] = field(default_factory=list)
    lipinski: list[str] = field(default_factory=list)

    @property
    def passes_lipinski(self) -> bool:
        """At most one rule-of-five violation."""
        return len(self.lipinski) <= 1

    @property
    def clean(self) -> bool:
        """No PAINS alert, no Brenk alert and passes the rule of five."""
        return not self.pains and not self.brenk and self.passes_lipinski

    def to_dict(self) -> dict:
        return {"smiles": self.smiles, "pains": self.pains, "brenk": self.brenk, "lipinski": self.lipinski,
                "passes_lipinski": self.passes_lipinski}


def check_molecule(smiles_or_mol: str | Chem.Mol) -> AlertReport:
    """:class:`AlertReport` of a SMILES or an RDKit molecule.

    Raises
    ------
    ValueError
        A SMILES RDKit cannot parse (the SMILES is named).
    """
    mol = Chem.MolFromSmiles(smiles_or_mol) if isinstance(smiles_or_mol, str) else smiles_or_mol
    if mol is None:
        raise ValueError(f"RDKit cannot parse the SMILES {smiles_or_mol}")
    smiles = smiles_or_mol if isinstance(smiles_or_mol, str) else Chem.MolToSmiles(mol)
    return AlertReport(smiles, alerts(mol, "PAINS"), alerts(mol, "Brenk"), lipinski_violations(mol))
