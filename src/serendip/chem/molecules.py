"""Molecule files to a checked, standardised, deduplicated :class:`MoleculeSet`.

Every record is parsed and sanitised by RDKit and standardised (:class:`~serendip.chem.standardize.
Standardizer`); a record that fails is kept out and reported as a :class:`MoleculeIssue` naming the
file, the 1-based line, the record's name, its SMILES and RDKit's reason, while the batch goes on
(case C17). Records with the same parent InChIKey are merged into one :class:`Molecule`; each merge is
reported as a :class:`Duplicate` with every contributing line and value (``merge=False`` keeps one
molecule per record and still reports each group of duplicates). What standardisation changed in a
record (a salt stripped, a charge neutralised, a tautomer) is kept in :attr:`Molecule.changes`.
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

__all__ = ["Duplicate", "Molecule", "MoleculeIssue", "MoleculeSet", "change_kind", "read_molecules",
           "standardize_records"]


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
        return f"{where}: {self.smiles}: {self.reason}" if self.smiles else f"{where}: {self.reason}"

    def to_json(self) -> dict:
        """``{"file", "line", "name", "smiles", "reason"}`` (the file as given)."""
        return {"file": self.file, "line": self.line, "name": self.name, "smiles": self.smiles,
                "reason": self.reason}


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

    def __str__(self) -> str:
        where = "; ".join(f"{Path(f).name} line {line}" + (f" ({name})" if name else "") for f, line, name in
                          self.sources)
        vals = "; ".join(f"{col} " + ", ".join("missing" if not math.isfinite(v) else f"{v:g}" for v in vs)
                         for col, vs in self.values.items())
        return f"{self.smiles}: {len(self.sources)} records ({where})" + (f", values {vals}" if vals else "")

    def to_json(self) -> dict:
        """``{"inchikey", "smiles", "sources": [{"file", "line", "name"}], "values", "conflicting"}``
        (a missing value is None)."""
        return {"inchikey": self.inchikey, "smiles": self.smiles,
                "sources": [{"file": f, "line": line, "name": name} for f, line, name in self.sources],
                "values": {c: [v if math.isfinite(v) else None for v in vs] for c, vs in self.values.items()},
                "conflicting": self.conflicting}


@dataclass
class MoleculeSet:
    """The result of :func:`read_molecules`: ``molecules`` kept, ``issues`` (records left out),
    ``duplicates`` (groups of records with one parent: merged, or with ``merge=False`` kept apart), the
    number of ``records`` read (blank and header lines excluded) and ``merged`` (whether duplicates
    were merged)."""

    molecules: list[Molecule]
    issues: list[MoleculeIssue]
    duplicates: list[Duplicate]
    records: int
    merged: bool = True

    @property
    def smiles(self) -> list[str]:
        """Parent SMILES, in file order of first appearance."""
        return [m.smiles for m in self.molecules]

    def values(self, column: str) -> np.ndarray:
        """``column`` over the molecules, float64 of shape (n_molecules,) (NaN where missing)."""
        return np.array([m.values.get(column, math.nan) for m in self.molecules], dtype=np.float64)

    @property
    def changed(self) -> list[Molecule]:
        """The molecules standardisation changed (a salt stripped, neutralised, a tautomer), in file order."""
        return [m for m in self.molecules if m.changes]

    def change_counts(self) -> dict[str, int]:
        """Records changed per kind of change: ``{"salt or fragment stripped": 3, "neutralised": 2, ...}``
        (a record may count under several kinds)."""
        counts: dict[str, int] = {}
        for m in self.changed:
            for c in m.changes:
                kind = change_kind(c)
                counts[kind] = counts.get(kind, 0) + 1
        return counts

    def summary(self) -> str:
        """One line: records read, molecules kept, records left out, duplicates, standardisation changes."""
        groups = "merged groups of duplicates" if self.merged else "groups of duplicates (kept apart)"
        return (f"{self.records} records: {len(self.molecules)} molecules, {len(self.issues)} left out, "
                f"{len(self.duplicates)} {groups}, {len(self.changed)} changed by standardisation")


def change_kind(change: str) -> str:
    """The kind of a :attr:`Molecule.changes` line: ``"salt or fragment stripped"``, ``"neutralised"``,
    ``"canonical tautomer"`` (the wording of :class:`~serendip.chem.standardize.Standardizer`)."""
    if change.startswith("kept the largest"):
        return "salt or fragment stripped"
    if change.startswith("neutralised"):
        return "neutralised"
    return "canonical tautomer" if change.startswith("canonical tautomer") else "other"


def _values(rec: RawRecord) -> tuple[dict[str, float], str | None]:
    out: dict[str, float] = {}
    for col, text in rec.values.items():
        if text.strip() == "":
            out[col] = math.nan
            continue
        try:
            out[col] = float(text)
        except ValueError:
            return out, f"value {text.strip()} of column '{col}' is not a number"
        if math.isinf(out[col]):  # "nan" reads as missing; an infinite value is no measurement
            return out, f"value {text.strip()} of column '{col}' is not a finite number"
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
        molecule per record (a benchmark that must keep the rows of a published file; predictions, one
        per input line); the groups sharing a parent are still reported in ``duplicates``.

    Returns
    -------
    MoleculeSet
    """
    std = standardizer or Standardizer()
    molecules: list[Molecule] = []
    issues: list[MoleculeIssue] = []
    seen: dict[str, int] = {}
    merged: dict[str, list[dict[str, float]]] = {}
    apart: dict[str, list[int]] = {}  # merge=False: parent InChIKey -> indices of its molecules
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
        apart.setdefault(parent.inchikey, []).append(len(molecules))
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
    for key, idx in apart.items():
        if len(idx) > 1:
            group = [molecules[i] for i in idx]
            cols = list(dict.fromkeys(c for m in group for c in m.values))
            duplicates.append(Duplicate(key, group[0].smiles, [m.sources[0] for m in group],
                                        {c: [m.values.get(c, math.nan) for m in group] for c in cols}))
    return MoleculeSet(molecules, issues, duplicates, n, merge)


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
    ["molecules.smi, line 4 (neutral four-bond nitrogen): CN(C)(C)C: Explicit valence ..."]
    """
    if isinstance(paths, (str, Path)):
        paths = [paths]

    def records() -> Iterable[RawRecord]:
        for p in paths:
            yield from reader_for(p, fmt)(p, **options)

    return standardize_records(records(), standardizer=Standardizer(tautomer=tautomer), merge=merge)
