"""Molecule files to a checked, standardised, deduplicated :class:`MoleculeSet`.

Every record is parsed and sanitised by RDKit and standardised (:class:`~serendip.chem.standardize.
Standardizer`); a record that fails is kept out and reported as a :class:`MoleculeIssue` naming the
file, the 1-based line, the record's name, its SMILES and RDKit's reason, while the batch goes on
(case C17). Records with the same parent InChIKey are merged into one :class:`Molecule`; each merge is
reported as a :class:`Duplicate` with every contributing line and value.
"""
from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from rdkit import Chem

from serendip.chem.readers import RawRecord, reader_for
from serendip.chem.standardize import Standardizer, parse_smiles

__all__ = ["Duplicate", "Molecule", "MoleculeIssue", "MoleculeSet", "read_molecules", "standardize_records"]


@dataclass(frozen=True)
class MoleculeIssue:
    """A record kept out: ``file``, 1-based ``line``, ``name``, ``smiles`` and ``reason``."""

    file: str
    line: int
    name: str
    smiles: str
    reason: str

    def __str__(self) -> str:
        where = f"{Path(self.file).name}, line {self.line}" + (f" ({self.name})" if self.name else "")
        return f"{where}: {self.smiles!r}: {self.reason}" if self.smiles else f"{where}: {self.reason}"


@dataclass
class Molecule:
    """A standardised molecule (after merging duplicates).

    Attributes
    ----------
    name : str
        The first record's name (``"<file name>:<line>"`` when it has none).
    smiles : str
        Canonical SMILES of the parent (largest organic fragment, neutral).
    inchikey : str
        Standard InChIKey of the parent: the identity used to merge.
    input_smiles : str
        The first record's SMILES as written (SDF: RDKit's SMILES of the molblock).
    file, line : str, int
        Where the first record is.
    n_fragments : int
        Fragments of the first record's input.
    largest_fragment : str
        Canonical SMILES of the kept fragment before neutralisation.
    changes : list of str
        What standardisation changed (empty if nothing).
    values : dict of str to float
        Each value column: the mean over merged records of its finite values (NaN if none).
    sources : list of (str, int, str)
        (file, line, name) of every record merged into this molecule.
    """

    name: str
    smiles: str
    inchikey: str
    input_smiles: str
    file: str
    line: int
    n_fragments: int
    largest_fragment: str
    changes: list[str] = field(default_factory=list)
    values: dict[str, float] = field(default_factory=dict)
    sources: list[tuple[str, int, str]] = field(default_factory=list)
    mol: Chem.Mol | None = field(default=None, repr=False, compare=False)


@dataclass
class Duplicate:
    """Records merged into one molecule: its ``inchikey``, ``smiles``, every source (file, line, name)
    and, per value column, the values seen in source order (``values["logS"] == [-2.1, -2.3]``)."""

    inchikey: str
    smiles: str
    sources: list[tuple[str, int, str]]
    values: dict[str, list[float]]

    @property
    def conflicting(self) -> bool:
        """Whether a value column holds different finite values."""
        return any(len({v for v in vs if math.isfinite(v)}) > 1 for vs in self.values.values())


@dataclass
class MoleculeSet:
    """The result of :func:`read_molecules`: ``molecules`` kept, ``issues`` (records left out),
    ``duplicates`` (merges) and the number of ``records`` read (blank and header lines excluded)."""

    molecules: list[Molecule]
    issues: list[MoleculeIssue]
    duplicates: list[Duplicate]
    records: int

    @property
    def smiles(self) -> list[str]:
        """Parent SMILES, in file order of first appearance."""
        return [m.smiles for m in self.molecules]

    def values(self, column: str) -> np.ndarray:
        """``column`` over the molecules, float64 of shape (n_molecules,) (NaN where missing)."""
        return np.array([m.values.get(column, math.nan) for m in self.molecules], dtype=np.float64)

    def summary(self) -> str:
        """One line: records read, molecules kept, records left out, duplicates merged."""
        return (f"{self.records} records: {len(self.molecules)} molecules, {len(self.issues)} left out, "
                f"{len(self.duplicates)} merged groups of duplicates")


def _values(rec: RawRecord) -> tuple[dict[str, float], str | None]:
    out: dict[str, float] = {}
    for col, text in rec.values.items():
        if text.strip() == "":
            out[col] = math.nan
            continue
        try:
            out[col] = float(text)
        except ValueError:
            return out, f"value {text!r} of column {col!r} is not a number"
    return out, None


def standardize_records(records: Iterable[RawRecord], *, standardizer: Standardizer | None = None,
                        merge: bool = True) -> MoleculeSet:
    """Parse, sanitise, standardise and (by default) merge records.

    Parameters
    ----------
    records : iterable of RawRecord
    standardizer : Standardizer, optional
        Default ``Standardizer()`` (no tautomer canonicalisation).
    merge : bool, default True
        Merge records with the same parent InChIKey (reported in ``duplicates``). ``False`` keeps one
        molecule per record (a benchmark that must keep the rows of a published file).

    Returns
    -------
    MoleculeSet
    """
    std = standardizer or Standardizer()
    molecules: list[Molecule] = []
    issues: list[MoleculeIssue] = []
    seen: dict[str, int] = {}
    merged: dict[str, list[dict[str, float]]] = {}
    n = 0
    for rec in records:
        n += 1
        name = rec.name or f"{Path(rec.file).name}:{rec.line}"
        if rec.error:
            issues.append(MoleculeIssue(rec.file, rec.line, rec.name, rec.smiles, rec.error))
            continue
        if rec.mol is not None:
            mol, reason = _sanitize(rec.mol)
            smiles_in = Chem.MolToSmiles(rec.mol) if mol is not None else ""
        else:
            mol, reason = parse_smiles(rec.smiles)
            smiles_in = rec.smiles
        values, bad = _values(rec)
        reason = reason or bad
        if mol is None or reason:
            issues.append(MoleculeIssue(rec.file, rec.line, rec.name, smiles_in or rec.smiles, reason or "?"))
            continue
        try:
            parent = std(mol)
        except Exception as exc:  # RDKit failing inside MolStandardize: report, go on
            issues.append(MoleculeIssue(rec.file, rec.line, rec.name, smiles_in,
                                        f"standardisation failed: {exc}"))
            continue
        source = (rec.file, rec.line, rec.name)
        if merge and parent.inchikey in seen:
            first = molecules[seen[parent.inchikey]]
            first.sources.append(source)
            merged.setdefault(parent.inchikey, [dict(first.values)]).append(values)
            continue
        seen[parent.inchikey] = len(molecules)
        molecules.append(Molecule(name, parent.smiles, parent.inchikey, smiles_in, rec.file, rec.line,
                                  parent.n_fragments, parent.largest_fragment, parent.changes, values,
                                  [source], parent.mol))
    duplicates = []
    for key, rows in merged.items():
        mol_ = molecules[seen[key]]
        cols = list(dict.fromkeys(c for r in rows for c in r))
        per_col = {c: [r.get(c, math.nan) for r in rows] for c in cols}
        mol_.values = {c: _mean(vs) for c, vs in per_col.items()}
        duplicates.append(Duplicate(key, mol_.smiles, list(mol_.sources), per_col))
    return MoleculeSet(molecules, issues, duplicates, n)


def _mean(values: Sequence[float]) -> float:
    finite = [v for v in values if math.isfinite(v)]
    return float(np.mean(finite)) if finite else math.nan


def _sanitize(mol: Chem.Mol) -> tuple[Chem.Mol | None, str | None]:
    mol = Chem.Mol(mol)
    try:
        Chem.SanitizeMol(mol)
    except Exception as exc:
        return None, " ".join(str(exc).split()) or type(exc).__name__
    return mol, None


def read_molecules(paths: str | Path | Sequence[str | Path], *, fmt: str | None = None,
                   tautomer: bool = False, merge: bool = True, **options) -> MoleculeSet:
    """Read molecule files into one :class:`MoleculeSet` (duplicates merged across files).

    Parameters
    ----------
    paths : path or sequence of paths
        SMILES text/CSV/TSV or SDF files (format from ``fmt`` or each suffix).
    fmt : str, optional
        A :data:`~serendip.chem.readers.MOLECULE_READERS` name for every file.
    tautomer : bool, default False
        Also canonicalise tautomers (RDKit ``TautomerEnumerator``).
    merge : bool, default True
        See :func:`standardize_records`.
    **options
        Passed to the reader (``value_columns``, ``smiles_column``, ``name_column``, ``header``,
        ``delimiter``, ``name_first``).

    Returns
    -------
    MoleculeSet

    Raises
    ------
    DataError, ParseError
        A file that cannot be read at all (missing, not UTF-8, a named column absent). Bad *records*
        never raise: they are in ``issues``.

    Examples
    --------
    >>> ms = read_molecules("molecules.smi")                                   # doctest: +SKIP
    >>> [str(i) for i in ms.issues]                                            # doctest: +SKIP
    ["molecules.smi, line 4 (neutral four-bond nitrogen): 'CN(C)(C)C': Explicit valence ..."]
    """
    if isinstance(paths, (str, Path)):
        paths = [paths]

    def records() -> Iterable[RawRecord]:
        for p in paths:
            yield from reader_for(p, fmt)(p, **options)

    return standardize_records(records(), standardizer=Standardizer(tautomer=tautomer), merge=merge)
