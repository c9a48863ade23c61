"""The engine's ``DATA_READERS["smiles"]``: a molecule file as examples for ``serendip finetune``.

Each molecule is read, checked, standardised and merged by :func:`serendip.chem.read_molecules`;
``text`` is the parent's canonical SMILES, ``label`` the value column as text (the task parses it:
a class name or a float), ``id`` the record's name. A record RDKit rejects is an issue (file, line,
reason), never an example.
"""
from __future__ import annotations

import math
import warnings
from pathlib import Path

from serendip.chem.molecules import read_molecules
from serendip.errors import DataError
from serendip.models.example import Example
from serendip.models.example_readers import DataIssue, with_suffixes
from serendip.models.registries import DATA_READERS

__all__ = ["read_smiles_examples"]


@DATA_READERS.register("smiles", "smi", "sdf")
@with_suffixes(".smi", ".smiles", ".sdf")
def read_smiles_examples(path: str | Path, *, label: str | None = "label", smiles: str | None = None,
                         issues: list[DataIssue] | None = None, tautomer: bool = False) -> list[Example]:
    """Examples from a SMILES (CSV/TSV/.smi) or SDF file.

    Parameters
    ----------
    path : str or Path
    label : str or None, default "label"
        The value column (header name or SD field); None reads unlabelled examples.
    smiles : str, optional
        The SMILES column's header (default: the first of ``smiles``, ``SMILES``, ``canonical_smiles``...).
    issues : list, optional
        Receives a :class:`DataIssue` per record left out (RDKit's reason, or a missing label); without
        a list each is a :class:`UserWarning`.
    tautomer : bool, default False
        Canonicalise tautomers too.

    Returns
    -------
    list of Example
        ``text`` = parent SMILES, ``label`` = value as text (None when unlabelled), ``id`` = name,
        ``source`` = ``"<file>, line <n>"``, ``meta`` = ``{"file", "line", "inchikey", "sources"}``
        (duplicates merged; the label is their mean).

    Raises
    ------
    DataError
        No molecule could be read (the first issue is named).
    """
    opts = {"value_columns": [label]} if label else {}
    if smiles:
        opts["smiles_column"] = smiles
    ms = read_molecules(path, tautomer=tautomer, **opts)
    found = [DataIssue(i.file, i.reason, i.line, i.name or None) for i in ms.issues]
    out = []
    for m in ms.molecules:
        value = m.values.get(label, math.nan) if label else None
        if label and not math.isfinite(value):
            found.append(DataIssue(m.file, f"no value in column '{label}'", m.line, m.name))
            continue
        text_label = None if value is None else (str(int(value)) if float(value).is_integer() else repr(value))
        out.append(Example(m.smiles, text_label, id=m.name, source=f"{m.file}, line {m.line}",
                           meta={"file": m.file, "line": m.line, "inchikey": m.inchikey,
                                 "sources": [list(s) for s in m.sources]}))
    if issues is not None:
        issues.extend(found)
    else:
        for issue in found:
            warnings.warn(str(issue), stacklevel=2)
    if not out:
        raise DataError(f"{path}: no molecule could be read" + (f" (first problem: {found[0]})" if found else ""))
    return out
