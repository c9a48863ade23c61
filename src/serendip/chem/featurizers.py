"""Molecular featurizers in :data:`FEATURIZERS`: Morgan/ECFP bits and counts, RDKit 2D descriptors, MACCS.

A featurizer maps n SMILES to a float64 matrix of shape (n, d). Names combine with ``+``
(``"rdkit2d+morgan-counts"`` stacks the two blocks). Every featurizer is RDKit's:

* ``morgan`` / ``ecfp4``: Morgan fingerprint bits, radius 2, 2,048 bits (Rogers & Hahn 2010, ECFP;
  ``rdFingerprintGenerator.GetMorganGenerator``); ``morgan-counts``: the same with counts.
* ``rdkit2d``: the 217 descriptors of ``rdkit.Chem.Descriptors.CalcMolDescriptors`` (the list chemprop's
  ``rdkit_2d`` and descriptastorus use). A descriptor RDKit returns as NaN or ±inf (``Ipc`` overflow,
  ``BCUT2D_*`` on an element without Gasteiger parameters), or beyond float32's range (forests compute
  in float32), is stored as NaN, never 0: both forests and LightGBM treat NaN as missing;
  :attr:`RDKit2D.nonfinite_` counts them per descriptor. ``Ipc`` (Bonchev's information content,
  which passes 1e38 on large molecules) is stored as its log10.
* ``maccs``: the 167 MACCS keys (Durant et al. 2002).
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
from rdkit import Chem, DataStructs, rdBase
from rdkit.Chem import Descriptors, MACCSkeys, rdFingerprintGenerator

from serendip.errors import DataError
from serendip.registry import Registry

__all__ = ["FEATURIZERS", "Morgan", "RDKit2D", "featurize", "get_featurizer", "to_mol"]


def to_mol(smiles: str) -> Chem.Mol:
    """RDKit molecule of ``smiles``.

    Raises
    ------
    DataError
        RDKit cannot parse it (names the SMILES); callers give checked SMILES (``read_molecules``).
    """
    with rdBase.BlockLogs():
        mol = Chem.MolFromSmiles(smiles)
    if mol is None:
        raise DataError(f"RDKit cannot parse the SMILES {smiles}; read files with serendip.chem.read_molecules")
    return mol


@dataclass
class Morgan:
    """Morgan (ECFP-like) fingerprint: ``radius``, ``n_bits``, ``counts`` (bit counts, not 0/1).

    ``__call__(mols) -> ndarray of shape (n, n_bits)``, float64."""

    radius: int = 2
    n_bits: int = 2048
    counts: bool = False

    @property
    def name(self) -> str:
        return f"morgan{'-counts' if self.counts else ''}-r{self.radius}-{self.n_bits}"

    def __call__(self, mols: Sequence[Chem.Mol]) -> np.ndarray:
        gen = rdFingerprintGenerator.GetMorganGenerator(radius=self.radius, fpSize=self.n_bits)
        fn = gen.GetCountFingerprintAsNumPy if self.counts else gen.GetFingerprintAsNumPy
        out = np.zeros((len(mols), self.n_bits), dtype=np.float64)
        for i, mol in enumerate(mols):
            out[i] = fn(mol)
        return out


_F32_MAX = float(np.finfo(np.float32).max)


@dataclass
class RDKit2D:
    """RDKit's 2D descriptors (``Descriptors._descList``, 217 in RDKit 2026.03).

    ``__call__(mols) -> ndarray of shape (n, 217)``, float64; ``Ipc`` as log10; non-finite values and
    values beyond float32's range are NaN and counted in ``nonfinite_`` (descriptor name -> count,
    over every call)."""

    nonfinite_: dict[str, int] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return "rdkit2d"

    @property
    def names(self) -> list[str]:
        return [n for n, _ in Descriptors._descList]

    def __call__(self, mols: Sequence[Chem.Mol]) -> np.ndarray:
        fns = Descriptors._descList
        out = np.empty((len(mols), len(fns)), dtype=np.float64)
        with rdBase.BlockLogs(), np.errstate(all="ignore"):
            for i, mol in enumerate(mols):
                for j, (_, fn) in enumerate(fns):
                    try:
                        out[i, j] = fn(mol)
                    except Exception:  # RDKit raising on an odd molecule: a missing value, counted below
                        out[i, j] = np.nan
        ipc = [j for j, (n, _) in enumerate(fns) if n == "Ipc"]
        if ipc:  # Ipc grows like a factorial and passes 1e38 on large molecules: kept as log10
            with np.errstate(all="ignore"):
                out[:, ipc] = np.log10(out[:, ipc])
        bad = ~np.isfinite(out) | (np.abs(out) > _F32_MAX)  # forests compute in float32
        out[bad] = np.nan
        for j in np.flatnonzero(bad.any(axis=0)):
            self.nonfinite_[fns[j][0]] = self.nonfinite_.get(fns[j][0], 0) + int(bad[:, j].sum())
        return out


@dataclass
class MACCS:
    """The 167 MACCS keys (bit 0 unused, as RDKit): ``ndarray of shape (n, 167)``, float64."""

    @property
    def name(self) -> str:
        return "maccs"

    def __call__(self, mols: Sequence[Chem.Mol]) -> np.ndarray:
        out = np.zeros((len(mols), 167), dtype=np.float64)
        for i, mol in enumerate(mols):
            DataStructs.ConvertToNumpyArray(MACCSkeys.GenMACCSKeys(mol), out[i])
        return out


Featurizer = Callable[[Sequence[Chem.Mol]], np.ndarray]
FEATURIZERS: Registry[Callable[[], Featurizer]] = Registry("molecular featurizer")
FEATURIZERS.add("morgan", lambda: Morgan())
FEATURIZERS.add("ecfp4", lambda: Morgan())
FEATURIZERS.add("morgan-counts", lambda: Morgan(counts=True))
FEATURIZERS.add("ecfp6-counts", lambda: Morgan(radius=3, counts=True))
FEATURIZERS.add("rdkit2d", RDKit2D)
FEATURIZERS.add("maccs", MACCS)


def get_featurizer(name: str) -> Featurizer:
    """A fresh featurizer for ``name`` (a :data:`FEATURIZERS` key).

    Raises
    ------
    ConfigError
        Unknown name (the message lists the registered ones).
    """
    return FEATURIZERS.get(name)()


#: (featurizer name, SMILES) -> feature row; filled by :func:`featurize` (benchmarks reuse it).
_CACHE: dict[tuple[str, str], np.ndarray] = {}


def featurize(smiles: Sequence[str], spec: str, *, cache: bool = True) -> np.ndarray:
    """Features of ``smiles`` for ``spec`` (one name or names joined by ``+``).

    Parameters
    ----------
    smiles : sequence of str
        Parseable SMILES (n of them).
    spec : str
        ``"rdkit2d"``, ``"morgan-counts"``, ``"rdkit2d+morgan-counts"``...
    cache : bool, default True
        Keep rows in a process-wide cache keyed by (name, SMILES), so ensembles and seeds featurise
        each molecule once.

    Returns
    -------
    ndarray of shape (n, d), float64
        The blocks side by side in ``spec`` order; NaN marks a missing descriptor.
    """
    blocks = []
    for name in spec.split("+"):
        name = name.strip().lower()
        fz = get_featurizer(name)
        todo = [s for s in dict.fromkeys(smiles) if not cache or (name, s) not in _CACHE]
        if todo:
            rows = fz([to_mol(s) for s in todo])
            if not cache:
                local = dict(zip(todo, rows))
                blocks.append(np.stack([local[s] for s in smiles]) if smiles else rows)
                continue
            _CACHE.update({(name, s): r for s, r in zip(todo, rows)})
        if cache:
            blocks.append(np.stack([_CACHE[(name, s)] for s in smiles]) if smiles else np.zeros((0, 0)))
    return np.hstack(blocks)
