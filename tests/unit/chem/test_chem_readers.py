"""Molecule files in (case C17: tests/cases/test_c17_smiles.py): BBBP's raw 2,050 rows, .smi layouts, SDF, duplicates merged, standardisation."""
from __future__ import annotations

from pathlib import Path

import pytest

from serendip.chem import Standardizer, read_molecules
from serendip.chem.standardize import parse_smiles
from serendip.errors import DataError


@pytest.mark.data
def test_bbbp_raw_reports_exactly_its_11_invalid_rows(mirror: Path) -> None:
    path = mirror / "moleculenet" / "BBBP_2050_raw.csv"
    ms = read_molecules(path, value_columns=["p_np"])
    kept = sum(len(m.sources) for m in ms.molecules)         # records kept, duplicates merged into one
    assert ms.records == 2050 and kept == 2039 and len(ms.molecules) == 2039 - sum(len(d.sources) - 1
                                                                                  for d in ms.duplicates)
    # num 60, 62, 393, 616, 644, 647-651, 687 (SOURCE.md); the header is line 1, CRLF line ends
    by_line = {i.line: i for i in ms.issues}
    assert sorted(by_line) == [61, 63, 393, 616, 644, 647, 648, 649, 650, 651, 687]
    assert by_line[61].smiles == "O=N([O-])C1=C(CN=C1NCCSCc2ncccc2)Cc3ccccc3" and by_line[61].name == "15"
    assert all("valence" in i.reason.lower() for i in ms.issues)


def test_smi_without_header_name_first_or_second(tmp_path: Path) -> None:
    a = tmp_path / "a.smi"
    a.write_text("CCO ethanol\nc1ccccc1 benzene ring\n")
    b = tmp_path / "b.smi"
    b.write_text("ethanol\tCCO\r\nbenzene\tc1ccccc1\r\n")
    got_a, got_b = read_molecules(a), read_molecules(b)
    assert [(m.name, m.smiles) for m in got_a.molecules] == [("ethanol", "CCO"), ("benzene ring", "c1ccccc1")]
    assert [(m.name, m.smiles, m.line) for m in got_b.molecules] == [("ethanol", "CCO", 1), ("benzene", "c1ccccc1", 2)]


def test_smi_first_line_named_smiles_is_a_record_not_a_header(tmp_path: Path) -> None:
    headless = tmp_path / "headless.smi"
    headless.write_text("CCO smiles\nc1ccccc1 benzene\n")
    assert [(m.name, m.smiles, m.line) for m in read_molecules(headless).molecules] == [
        ("smiles", "CCO", 1), ("benzene", "c1ccccc1", 2)]
    headed = tmp_path / "headed.smi"
    headed.write_text("SMILES Name\nCCO ethanol\n")
    assert [(m.name, m.smiles, m.line) for m in read_molecules(headed).molecules] == [("ethanol", "CCO", 2)]
    # a header whose other column name parses as SMILES (B-B-B-P, C-N) stays a header
    for text in ("SMILES BBBP\nCCO 1\nCCN 0\n", "smiles,CN\nCCO,1\nCCN,0\n"):
        other = tmp_path / ("o.smi" if " " in text else "o.csv")
        other.write_text(text)
        assert [(m.smiles, m.line) for m in read_molecules(other).molecules] == [("CCO", 2), ("CCN", 3)], text
    for sep in ("\t", ","):  # the same record rule in tab- and comma-separated files
        named = tmp_path / "named.txt"
        named.write_text(f"CCO{sep}smiles\nc1ccccc1{sep}benzene\n")
        assert [(m.name, m.smiles) for m in read_molecules(named, fmt="smi").molecules] == [
            ("smiles", "CCO"), ("benzene", "c1ccccc1")]


def test_csv_duplicates_merged_with_their_values(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    path.write_text("id,SMILES,logS\nm1,OCC,-0.5\nm2,CCO,-0.7\nm3,[Na+].CC(=O)[O-],1.0\nm4,CC(=O)O,x\n")
    ms = read_molecules(path, value_columns=["logS"])
    assert [m.name for m in ms.molecules] == ["m1", "m3"]
    assert ms.molecules[0].values["logS"] == pytest.approx(-0.6)
    (dup,) = ms.duplicates
    assert dup.values == {"logS": [-0.5, -0.7]} and [s[1] for s in dup.sources] == [2, 3] and dup.conflicting
    assert [(i.line, i.name) for i in ms.issues] == [(5, "m4")] and "not a number" in ms.issues[0].reason


def test_missing_column_and_unreadable_file(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    path.write_text("smiles,y\nCCO,1\n")
    with pytest.raises(DataError, match="no value column 'logS'"):
        read_molecules(path, value_columns=["logS"])
    with pytest.raises(DataError, match="cannot read"):
        read_molecules(tmp_path / "absent.smi")


def test_sdf_records_with_fields_and_a_bad_block(tmp_path: Path) -> None:
    from rdkit import Chem

    good = Chem.MolToMolBlock(Chem.MolFromSmiles("CCO")).replace("\n", "\n", 1)
    bad = Chem.MolToMolBlock(Chem.MolFromSmiles("CN(C)C"))
    # make the N four-bonded and neutral: add a fourth carbon bonded to it (valence error on sanitise)
    lines = bad.splitlines()
    counts = lines[3]
    n_atoms, n_bonds = int(counts[:3]), int(counts[3:6])
    atom = "    0.0000    0.0000    0.0000 C   0  0  0  0  0  0  0  0  0  0  0  0"
    lines[3] = f"{n_atoms + 1:3d}{n_bonds + 1:3d}" + counts[6:]
    lines.insert(4 + n_atoms, atom)
    lines.insert(4 + n_atoms + 1 + n_bonds, f"{2:3d}{n_atoms + 1:3d}  1  0")
    bad = "\n".join(lines)
    text = f"ethanol{good[good.index(chr(10)):]}> <logS>\n1.1\n\n$$$$\nquat{bad[bad.index(chr(10)):]}\n> <logS>\n2\n\n$$$$\n"
    path = tmp_path / "m.sdf"
    path.write_text(text)
    ms = read_molecules(path, value_columns=["logS"])
    assert [(m.name, m.smiles, m.values["logS"], m.line) for m in ms.molecules] == [("ethanol", "CCO", 1.1, 1)]
    (issue,) = ms.issues
    assert issue.name == "quat" and issue.line > 1 and "valence" in issue.reason.lower()


def test_tautomer_option_and_parse_reasons() -> None:
    mol, _ = parse_smiles("Oc1ccccn1")
    assert Standardizer()(mol).smiles == "Oc1ccccn1"
    assert Standardizer(tautomer=True)(mol).smiles == "O=c1cccc[nH]1"
    assert parse_smiles("") == (None, "empty SMILES")
    assert "Parse Error" in parse_smiles("C1CC")[1]


def test_reasons_name_no_smiles_twice_and_infinite_values_are_issues(tmp_path: Path) -> None:
    """RDKit echoes the SMILES Python-quoted ("Failed parsing SMILES 'C,C' for input: 'C,C'") under a
    caret line; the issue names the SMILES once, plainly, and keeps only RDKit's reasons."""
    assert parse_smiles("CC(C")[1] == "SMILES Parse Error: extra open parentheses; check for mistakes around position 3"
    path = tmp_path / "odd.csv"
    path.write_text('smiles,name,y\n"C,C",comma,1\nCCO,infinite,inf\nCCO,missing,nan\nF/C=C\\F,stereo,2\n')
    ms = read_molecules(path, value_columns=["y"])
    assert [str(i) for i in ms.issues] == [
        "odd.csv, line 2 (comma): C,C: SMILES Parse Error: syntax error; check for mistakes around position 2",
        "odd.csv, line 3 (infinite): CCO: value inf of column 'y' is not a finite number"]
    assert [(m.name, m.smiles) for m in ms.molecules] == [("missing", "CCO"), ("stereo", "F/C=C\\F")]
