"""serendip.chem.augment: ``randomized_smiles`` (SMILES enumeration) in the engine's augmentation registry."""
from __future__ import annotations

import numpy as np
import pytest
from rdkit import Chem

from serendip.chem.augment import RandomizedSmiles, randomized_smiles
from serendip.errors import ConfigError, DataError
from serendip.models.augment import apply_augmentations, build_views, view_failures
from serendip.models.example import Example
from serendip.models.registries import AUGMENTATIONS

MOLS = {"aspirin": "CC(=O)Oc1ccccc1C(=O)O", "alanine": "C[C@@H](N)C(=O)O", "stilbene": "C(/c1ccccc1)=C\\c1ccccc1",
        "pyrrole": "c1cc[nH]c1", "nitro": "[O-][N+](=O)c1ccccc1", "salt": "CC(=O)[O-].[Na+]"}


def _canon(smi: str) -> str:
    mol = Chem.MolFromSmiles(smi)
    assert mol is not None, smi
    return Chem.MolToSmiles(mol)


def _examples() -> list[Example]:
    return [Example(text=s, label=str(i), id=name) for i, (name, s) in enumerate(MOLS.items())]


def test_registered_under_its_name() -> None:
    import serendip.chem  # noqa: F401  (the domain registers it)

    assert AUGMENTATIONS.get("randomized_smiles") is RandomizedSmiles


def test_variants_are_new_valid_smiles_of_the_same_molecule() -> None:
    aug = RandomizedSmiles(n=4)
    out = aug.apply(_examples(), np.random.default_rng(0))
    assert len(out) == 4 * len(MOLS)  # every molecule here has at least 5 distinct SMILES
    by_id: dict[str, list[str]] = {}
    for ex in out:
        base = ex.id.rsplit(":rs", 1)[0]
        by_id.setdefault(base, []).append(ex.text)
        assert _canon(ex.text) == _canon(MOLS[base])  # canonicalises back, stereo and charges kept
        assert ex.label == str(list(MOLS).index(base)) and ex.meta["augmented_from"] == base
    for name, texts in by_id.items():
        assert len(texts) == 4 and len(set(texts)) == 4 and MOLS[name] not in texts
    assert [e.id for e in out[:4]] == ["aspirin:rs0", "aspirin:rs1", "aspirin:rs2", "aspirin:rs3"]
    assert aug.last_counts["failed_check"] == 0 and aug.last_counts["short"] == 0


def test_same_seed_same_output_other_seed_other_output() -> None:
    a = [e.text for e in RandomizedSmiles(n=3).apply(_examples(), 7)]
    b = [e.text for e in RandomizedSmiles(n=3).apply(_examples(), np.random.default_rng(7))]
    c = [e.text for e in RandomizedSmiles(n=3).apply(_examples(), 8)]
    assert a == b and a != c


def test_small_molecule_gives_fewer_distinct_variants_and_counts_them() -> None:
    aug = RandomizedSmiles(n=5, max_tries=10)
    out = aug.apply([Example(text="CCO", label="1", id="ethanol")], 0)
    # CCO has exactly three other SMILES without ring closures: OCC, C(C)O, C(O)C
    assert sorted(e.text for e in out) == ["C(C)O", "C(O)C", "OCC"]
    assert aug.last_counts["short"] == 1 and aug.last_counts["duplicates"] == 50 - 3


def test_a_variant_failing_its_check_is_dropped_and_counted(monkeypatch: pytest.MonkeyPatch) -> None:
    import serendip.chem.augment as mod

    monkeypatch.setattr(mod, "_canonical", lambda smi: "not the same molecule")
    aug = RandomizedSmiles(n=2)
    assert aug.apply([Example(text=MOLS["aspirin"], label="1", id="aspirin")], 0) == []
    assert aug.last_counts["failed_check"] == 20  # max_tries * n permutations, all distinct, all refused


def test_bad_valence_is_named() -> None:
    bad = [Example(text="CCO", label="1", id="ok"), Example(text="C(C)(C)(C)(C)C", label="2", id="pentavalent")]
    with pytest.raises(DataError, match=r"example 'pentavalent': the SMILES 'C\(C\)\(C\)\(C\)\(C\)C' is not a "
                                        r"valid molecule \(Explicit valence for atom # 0 C, 5"):
        RandomizedSmiles().apply(bad, 0)
    with pytest.raises(DataError, match=r"example #0 \(file.csv, line 4\): .*unclosed ring"):
        RandomizedSmiles().apply([Example(text="C1CC", label="1", source="file.csv, line 4")], 0)


def test_view_is_deterministic_and_same_molecule() -> None:
    aug = RandomizedSmiles()
    views = [aug.view(MOLS["aspirin"]) for _ in range(3)]
    assert views[0] == views[1] == views[2] != MOLS["aspirin"]
    assert _canon(views[0]) == _canon(MOLS["aspirin"])
    assert RandomizedSmiles(view_seed=1).view(MOLS["aspirin"]) != views[0]
    assert RandomizedSmiles().view("C") == "C"  # one atom: no other SMILES, the text itself
    with pytest.raises(DataError, match="not a valid molecule"):
        aug.view("C1CC")


def test_engine_leakage_filter_views_and_report() -> None:
    train = [Example(text="OCC", label="1", id="ethanol"), Example(text=MOLS["aspirin"], label="2", id="aspirin")]
    test = [Example(text="C(C)O", label="1", id="t1")]  # a variant of a training molecule in the test split
    out, report = apply_augmentations(train, [{"name": "randomized_smiles", "params": {"n": 3}}],
                                      eval_sets=[test], seed=0)
    texts = [e.text for e in out]
    assert texts[:2] == ["OCC", MOLS["aspirin"]] and "C(C)O" not in texts
    count = report.augmentations[0]
    assert (count.generated, count.dropped_eval_duplicate, count.kept) == (6, 1, 5)
    # OCC has exactly three other SMILES (CCO, C(C)O, C(O)C): none short
    assert count.details == {"failed_check": 0, "duplicates": count.details["duplicates"], "short": 0}
    (view,) = build_views([{"name": "randomized_smiles", "params": {}}])
    assert _canon(view(MOLS["salt"])) == _canon(MOLS["salt"])
    assert view_failures([Example(text="C1CC", label="1", id="bad")], [view])[0][0] == 0


def test_bad_parameters_are_refused() -> None:
    with pytest.raises(ConfigError, match="n must be a positive integer"):
        RandomizedSmiles(n=0)
    with pytest.raises(ConfigError, match="view_seed must be a non-negative integer"):
        RandomizedSmiles(view_seed=-1)


def test_randomized_smiles_function_follows_the_permutation() -> None:
    mol = Chem.MolFromSmiles("CCO")
    assert randomized_smiles(mol, np.random.default_rng(0)) == randomized_smiles(mol, np.random.default_rng(0))
