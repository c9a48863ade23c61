"""PAINS / Brenk alerts and the rule of five on molecules whose alerts are known."""
import pytest

from serendip.chem.filters import alerts, check_molecule, lipinski_violations


def test_benzylidene_rhodanine_is_pains_ene_rhod_and_brenk_michael_acceptor():
    report = check_molecule("O=C1NC(=S)SC1=Cc1ccccc1")
    assert report.pains == ["ene_rhod_A(235)"]
    assert report.brenk == ["Michael_acceptor_1", "Thiocarbonyl_group"]
    assert report.passes_lipinski and not report.clean


def test_azo_phenol_is_pains_azo_a():
    assert check_molecule("Oc1ccc(N=Nc2ccccc2)cc1").pains == ["azo_A(324)"]


def test_nicotine_is_clean():
    report = check_molecule("CN1CCC[C@H]1c1cccnc1")
    assert (report.pains, report.brenk, report.lipinski) == ([], [], [])
    assert report.clean


def test_long_fatty_acid_breaks_two_rules_of_five():
    report = check_molecule("C" * 38 + "C(=O)O")
    assert report.lipinski == ["MW 579.1 > 500", "logP 14.52 > 5"]
    assert not report.passes_lipinski


def test_one_violation_still_passes():
    from rdkit import Chem

    # bromocriptine-sized peptide-like molecule would break more; a C30 acid breaks only logP
    mol = Chem.MolFromSmiles("C" * 29 + "C(=O)O")
    assert [v.split()[0] for v in lipinski_violations(mol)] == ["logP"]
    assert check_molecule(mol).passes_lipinski


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="C1CC"):
        check_molecule("C1CC")
    from rdkit import Chem

    with pytest.raises(ValueError, match="unknown alert family 'TOX'"):
        alerts(Chem.MolFromSmiles("C"), "TOX")


def test_a_megabyte_smiles_is_refused_unparsed_and_csv_reads_the_long_line(tmp_path):
    from serendip.chem.readers import _split
    from serendip.chem.standardize import MAX_SMILES_CHARS, parse_smiles

    huge = "C" * 1_000_000
    assert _split(f"{huge},name", ",") == [huge, "name"]
    mol, reason = parse_smiles(huge)
    assert mol is None and reason == f"a SMILES of 1,000,000 characters, longer than {MAX_SMILES_CHARS:,}: not parsed"
