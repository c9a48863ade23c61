"""C17 - SMILES file: invalid valence, unclosed ring, salts/mixtures, header line, blank line.

Right values: ``shared/cases/C17_smiles-valence-salt-blank/CASE.md``: 4 molecules (lines 2, 3, 6, 8),
exactly 2 errors (line 4 invalid valence, line 7 unclosed ring), header and blank line neither; the
salts keep their largest fragment (``CC(=O)[O-]``, ``c1ccccc1``), reported.
"""
from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("rdkit")

from serendip.chem import read_molecules  # noqa: E402


def test_case_c17_lines_errors_and_parents(cases_dir: Path) -> None:
    path = cases_dir / "C17_smiles-valence-salt-blank" / "molecules.smi"
    ms = read_molecules(path)
    assert [(m.line, m.name) for m in ms.molecules] == [
        (2, "aspirin-like"), (3, "sodium acetate salt"), (6, "phenol"), (8, "benzene with HCl")]
    assert [(i.line, i.name, i.smiles) for i in ms.issues] == [
        (4, "neutral four-bond nitrogen", "CN(C)(C)C"), (7, "unclosed ring", "C1CC")]
    assert all(Path(i.file).name == "molecules.smi" for i in ms.issues)
    assert "valence" in ms.issues[0].reason.lower() and "N, 4" in ms.issues[0].reason
    assert "unclosed ring" in ms.issues[1].reason
    assert str(ms.issues[0]).startswith("molecules.smi, line 4 (neutral four-bond nitrogen)")
    salt, hcl = ms.molecules[1], ms.molecules[3]
    assert (salt.n_fragments, salt.largest_fragment, salt.smiles) == (2, "CC(=O)[O-]", "CC(=O)O")
    assert (hcl.n_fragments, hcl.largest_fragment, hcl.smiles) == (2, "c1ccccc1", "c1ccccc1")
    assert salt.changes and "removed [Na+]" in salt.changes[0]          # reported, not silent
    assert ms.molecules[0].changes == [] and ms.records == 6              # header and blank line: neither



def test_case_c17_through_the_engine_data_reader(cases_dir: Path) -> None:
    from serendip.models.plugins import load_domains
    from serendip.models.registries import DATA_READERS

    load_domains()
    issues: list = []
    got = DATA_READERS.get("smiles")(cases_dir / "C17_smiles-valence-salt-blank" / "molecules.smi", label=None,
                                     issues=issues)
    assert [(e.id, e.text, e.meta["line"]) for e in got] == [
        ("aspirin-like", "CC(=O)Oc1ccccc1C(=O)O", 2), ("sodium acetate salt", "CC(=O)O", 3),
        ("phenol", "Oc1ccccc1", 6), ("benzene with HCl", "c1ccccc1", 8)]
    assert [(i.line, i.record) for i in issues] == [(4, "neutral four-bond nitrogen"), (7, "unclosed ring")]
