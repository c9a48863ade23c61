"""Featurizers (shapes, counts, NaN kept as NaN) and splits (random, scaffold, stratified, k-fold, Chemprop files)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from chem_helpers import small_set

from serendip.chem import (
    FEATURIZERS,
    SPLITTERS,
    featurize,
    make_split,
    write_chemprop_splits,
)
from serendip.chem.featurizers import RDKit2D, to_mol
from serendip.chem.splits import murcko_scaffold
from serendip.errors import ConfigError, DataError


def test_every_featurizer_shape_and_values() -> None:
    smi = ["CCO", "c1ccccc1O", "CC(=O)Nc1ccc(O)cc1"]
    widths = {"morgan": 2048, "ecfp4": 2048, "morgan-counts": 2048, "ecfp6-counts": 2048, "maccs": 167}
    for name in FEATURIZERS:
        X = featurize(smi, name, cache=False)
        assert X.shape[0] == 3 and X.dtype == np.float64
        if name in widths:
            assert X.shape[1] == widths[name]
    bits, counts = featurize(["CCCCCC"], "morgan"), featurize(["CCCCCC"], "morgan-counts")
    assert set(np.unique(bits)) <= {0.0, 1.0} and counts.max() > 1 and (bits > 0).sum() == (counts > 0).sum()
    both = featurize(smi, "rdkit2d+maccs")
    assert both.shape == (3, len(RDKit2D().names) + 167)
    np.testing.assert_array_equal(both[:, -167:], featurize(smi, "maccs"))


def test_rdkit2d_nonfinite_descriptors_are_nan_and_counted() -> None:
    fz = RDKit2D()
    X = fz([to_mol("[Se]1C=CC=C1"), to_mol("CCO")])   # selenium: no Gasteiger charges -> BCUT2D NaN
    assert np.isnan(X[0]).any() and not np.isinf(X).any()
    assert fz.nonfinite_ and all(v >= 1 for v in fz.nonfinite_.values())
    assert fz.nonfinite_.keys() == {fz.names[j] for j in np.flatnonzero(np.isnan(X).any(axis=0))}


def test_bad_names_and_smiles() -> None:
    with pytest.raises(ConfigError, match="expected one of"):
        featurize(["CCO"], "no-such-fp")
    with pytest.raises(DataError, match="C1CC"):
        to_mol("C1CC")
    with pytest.raises(ConfigError, match="sum"):
        make_split("random", ["C"] * 10, sizes=(0.5, 0.5, 0.5))


def test_random_split_is_the_default_rng_permutation() -> None:
    smi = small_set()
    sp = make_split("random", smi, seed=3)
    perm = np.random.default_rng(3).permutation(len(smi))
    n = len(smi)
    assert (sp.kind, sp.seed) == ("random", 3)
    np.testing.assert_array_equal(np.concatenate([sp.train, sp.val, sp.test]), perm)
    assert (len(sp.train), len(sp.val)) == (int(0.8 * n), int(0.1 * n))


def test_scaffold_split_keeps_scaffolds_apart_and_seed_matters() -> None:
    smi = small_set()
    sp = make_split("scaffold", smi, seed=0)
    parts = [set(murcko_scaffold(smi[i]) for i in idx) for idx in (sp.train, sp.val, sp.test)]
    assert not (parts[0] & parts[1] or parts[0] & parts[2] or parts[1] & parts[2])
    assert sorted(np.concatenate([sp.train, sp.val, sp.test]).tolist()) == list(range(len(smi)))
    assert len(sp.train) <= 0.8 * len(smi) and sp.kind == "scaffold"
    assert murcko_scaffold("CCO") == "" and murcko_scaffold("Cc1ccccc1") == "c1ccccc1"


def test_stratified_and_kfold() -> None:
    smi = small_set()
    y = np.array([i % 2 for i in range(len(smi))], dtype=float)
    sp = make_split("stratified", smi, y=y, seed=0)
    assert abs(y[sp.train].mean() - 0.5) < 0.05 and sp.kind == "stratified"
    folds = [make_split("kfold", smi, seed=1, k=4, fold=f) for f in range(4)]
    tests = np.concatenate([f.test for f in folds])
    assert sorted(tests.tolist()) == list(range(len(smi)))
    assert all(not set(f.test) & set(f.train) and not set(f.val) & set(f.train) for f in folds)
    assert set(SPLITTERS) >= {"random", "scaffold", "stratified", "kfold"}


@pytest.mark.slow
def test_chemprop_reads_the_split_file(tmp_path: Path) -> None:
    pytest.importorskip("chemprop")
    from chemprop.cli.utils.parsing import parse_indices

    smi = small_set()
    splits = [make_split("scaffold", smi, seed=s) for s in (0, 1)]
    path = write_chemprop_splits(splits, tmp_path / "splits.json")
    rows = json.loads(path.read_text())
    assert len(rows) == 2
    for row, sp in zip(rows, splits):
        assert parse_indices(row["train"]) == sp.train.tolist() and parse_indices(row["test"]) == sp.test.tolist()
