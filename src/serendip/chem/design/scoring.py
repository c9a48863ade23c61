"""Building blocks of the GuacaMol objectives: score modifiers, fingerprints, descriptors.

Each piece follows its published definition in GuacaMol (Brown, Fiscato, Segler & Vaucher 2019,
"GuacaMol: Benchmarking Models for de Novo Molecular Design", J. Chem. Inf. Model. 59:1096-1108,
doi:10.1021/acs.jcim.8b00839) and the reference code ``BenevolentAI/guacamol``
(``guacamol/score_modifier.py``, ``utils/fingerprints.py``, ``utils/descriptors.py``,
``common_scoring_functions.py``), re-written here on RDKit's fingerprint generators (the legacy
``AllChem.GetMorganFingerprint`` / ``GetAtomPairFingerprint`` GuacaMol calls give the same
similarities). The synthetic-accessibility score is Ertl & Schuffenhauer 2009 (J. Cheminform. 1:8,
doi:10.1186/1758-2946-1-8) as shipped by RDKit in ``Contrib/SA_Score``.
"""
from __future__ import annotations

import importlib.util
import math
import re
from collections.abc import Callable, Sequence
from functools import lru_cache

import numpy as np
from rdkit import Chem, DataStructs, RDConfig
from rdkit.Chem import Descriptors, rdFingerprintGenerator, rdMolDescriptors

from serendip.errors import ConfigError

Modifier = Callable[[float], float]


# --- score modifiers (guacamol/score_modifier.py) ---------------------------------------------------

def gaussian(mu: float, sigma: float) -> Modifier:
    """``exp(-0.5 ((x - mu) / sigma)**2)``: 1 at ``x = mu`` (GuacaMol ``GaussianModifier``)."""
    return lambda x: math.exp(-0.5 * ((x - mu) / sigma) ** 2)


def min_gaussian(mu: float, sigma: float) -> Modifier:
    """1 for ``x <= mu``, a half Gaussian above (GuacaMol ``MinGaussianModifier``: "at most mu")."""
    g = gaussian(mu, sigma)
    return lambda x: g(max(x, mu))


def max_gaussian(mu: float, sigma: float) -> Modifier:
    """1 for ``x >= mu``, a half Gaussian below (GuacaMol ``MaxGaussianModifier``: "at least mu")."""
    g = gaussian(mu, sigma)
    return lambda x: g(min(x, mu))


def clipped(upper_x: float, lower_x: float = 0.0) -> Modifier:
    """Linear from 0 at ``lower_x`` to 1 at ``upper_x``, clipped to [0, 1] (``ClippedScoreModifier``)."""
    slope = 1.0 / (upper_x - lower_x)
    return lambda x: float(np.clip(slope * (x - lower_x), 0.0, 1.0))


def identity(x: float) -> float:
    """The raw score (GuacaMol's default ``LinearModifier(slope=1)``)."""
    return x


# --- fingerprints (guacamol/utils/fingerprints.py) --------------------------------------------------

_GENERATORS = {
    "ECFP4": lambda: rdFingerprintGenerator.GetMorganGenerator(radius=2),
    "ECFP6": lambda: rdFingerprintGenerator.GetMorganGenerator(radius=3),
    "FCFP4": lambda: rdFingerprintGenerator.GetMorganGenerator(
        radius=2, atomInvariantsGenerator=rdFingerprintGenerator.GetMorganFeatureAtomInvGen()),
    "AP": lambda: rdFingerprintGenerator.GetAtomPairGenerator(maxDistance=10),
}


@lru_cache(maxsize=None)
def _generator(kind: str):
    if kind not in _GENERATORS:
        raise ConfigError(f"unknown fingerprint {kind!r}; expected one of: {', '.join(sorted(_GENERATORS))}")
    return _GENERATORS[kind]()


def fingerprint(mol: Chem.Mol, kind: str):
    """Unfolded count fingerprint of ``mol``: ``ECFP4``/``ECFP6`` (Morgan radius 2/3), ``FCFP4``
    (Morgan radius 2 on feature invariants) or ``AP`` (atom pairs up to distance 10), as GuacaMol.
    Raises ConfigError for another ``kind``."""
    return _generator(kind).GetSparseCountFingerprint(mol)


def tanimoto(target_smiles: str, kind: str) -> Callable[[Chem.Mol], float]:
    """``mol -> Tanimoto(fp(mol), fp(target))`` on count fingerprints of ``kind`` (GuacaMol
    ``TanimotoScoringFunction``: sum of minimum counts over sum of maximum counts)."""
    target = Chem.MolFromSmiles(target_smiles)
    if target is None:
        raise ConfigError(f"similarity target {target_smiles} is not a valid SMILES")
    ref = fingerprint(target, kind)
    return lambda mol: DataStructs.TanimotoSimilarity(fingerprint(mol, kind), ref)


# --- descriptors (guacamol/utils/descriptors.py) ----------------------------------------------------

def logp(mol: Chem.Mol) -> float:
    """Wildman-Crippen logP (RDKit ``MolLogP``)."""
    return Descriptors.MolLogP(mol)


def tpsa(mol: Chem.Mol) -> float:
    """Topological polar surface area in Å² (Ertl 2000; RDKit ``TPSA``)."""
    return Descriptors.TPSA(mol)


def bertz(mol: Chem.Mol) -> float:
    """Bertz molecular complexity index (RDKit ``BertzCT``)."""
    return Descriptors.BertzCT(mol)


def num_rings(mol: Chem.Mol) -> float:
    """Number of rings (SSSR)."""
    return float(rdMolDescriptors.CalcNumRings(mol))


def num_aromatic_rings(mol: Chem.Mol) -> float:
    """Number of aromatic rings."""
    return float(rdMolDescriptors.CalcNumAromaticRings(mol))


def atom_count(element: str) -> Callable[[Chem.Mol], float]:
    """``mol -> number of atoms of element`` (hydrogens counted, implicit ones included, for ``H``)."""
    def count(mol: Chem.Mol) -> float:
        if element == "H":
            mol = Chem.AddHs(mol)
        return float(sum(1 for a in mol.GetAtoms() if a.GetSymbol() == element))
    return count


def num_atoms(mol: Chem.Mol) -> float:
    """Total number of atoms, hydrogens included."""
    return float(Chem.AddHs(mol).GetNumAtoms())


# --- combinations (guacamol/scoring_function.py, common_scoring_functions.py) ----------------------

Term = tuple[Callable[[Chem.Mol], float], Modifier]


def geometric_mean(terms: Sequence[Term]) -> Callable[[Chem.Mol], float]:
    """``mol -> (prod_i m_i(f_i(mol)))**(1/n)`` (GuacaMol ``GeometricMeanScoringFunction``)."""
    def score(mol: Chem.Mol) -> float:
        vals = [mod(f(mol)) for f, mod in terms]
        return float(np.prod(vals) ** (1.0 / len(vals)))
    return score


def arithmetic_mean(terms: Sequence[Term]) -> Callable[[Chem.Mol], float]:
    """``mol -> mean_i m_i(f_i(mol))`` (GuacaMol ``ArithmeticMeanScoringFunction``, equal weights)."""
    def score(mol: Chem.Mol) -> float:
        return float(np.mean([mod(f(mol)) for f, mod in terms]))
    return score


def parse_formula(formula: str) -> list[tuple[str, int]]:
    """``"C9H10N2O2PF2Cl"`` -> ``[("C", 9), ("H", 10), ("N", 2), ("O", 2), ("P", 1), ("F", 2),
    ("Cl", 1)]`` (GuacaMol ``parse_molecular_formula``). Raises ConfigError on an empty formula."""
    pairs = [(el, int(n) if n else 1) for el, n in re.findall(r"([A-Z][a-z]*)(\d*)", formula)]
    if not pairs:
        raise ConfigError(f"molecular formula {formula!r} names no element")
    return pairs


def isomer_score(formula: str) -> Callable[[Chem.Mol], float]:
    """GuacaMol ``IsomerScoringFunction`` (geometric mean): one Gaussian (sigma 1) per element on its
    count, and one (sigma 2) on the total atom count, hydrogens included; 1 for an exact isomer."""
    pairs = parse_formula(formula)
    terms: list[Term] = [(atom_count(el), gaussian(n, 1.0)) for el, n in pairs]
    terms.append((num_atoms, gaussian(sum(n for _, n in pairs), 2.0)))
    return geometric_mean(terms)


def smarts_present(smarts: str) -> Callable[[Chem.Mol], float]:
    """``mol -> 1.0`` if the SMARTS matches, else 0.0 (GuacaMol ``SMARTSScoringFunction``)."""
    pattern = Chem.MolFromSmarts(smarts)
    if pattern is None:
        raise ConfigError(f"invalid SMARTS {smarts}")
    return lambda mol: 1.0 if mol.HasSubstructMatch(pattern) else 0.0


# --- synthetic accessibility (Ertl & Schuffenhauer 2009, RDKit Contrib) ----------------------------

@lru_cache(maxsize=1)
def _sascorer():
    path = f"{RDConfig.RDContribDir}/SA_Score/sascorer.py"
    spec = importlib.util.spec_from_file_location("serendip_rdkit_sascorer", path)
    if spec is None or spec.loader is None:
        raise ConfigError(f"RDKit's SA_Score contribution is missing: expected {path} (and "
                          "fpscores.pkl.gz beside it) inside the rdkit package")
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except FileNotFoundError as exc:
        raise ConfigError(f"RDKit's SA_Score contribution is missing: {exc}") from None
    return module


def sa_score(mol: Chem.Mol) -> float:
    """Synthetic accessibility, 1 (easy) .. 10 (hard), Ertl & Schuffenhauer 2009, computed by RDKit's
    ``Contrib/SA_Score/sascorer.py`` with its fragment scores ``fpscores.pkl.gz``."""
    return float(_sascorer().calculateScore(mol))
