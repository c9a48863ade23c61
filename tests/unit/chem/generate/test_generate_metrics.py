"""serendip.chem.generate.metrics: the MOSES metrics on tiny sets worked out by hand."""
from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from serendip.chem.generate.metrics import (
    ReferenceStats,
    average_agg_tanimoto,
    cos_similarity,
    evaluate,
    internal_diversities,
    internal_diversity,
    morgan_fingerprints,
    parse_all,
    scaffold_counts,
    scaffold_of,
)
from serendip.errors import DataError


def test_validity_uniqueness_novelty_by_hand() -> None:
    # 5 strings: 1 invalid, 1 empty; valid: ethanol twice (two spellings), benzene -> 3 valid, 2 distinct
    gen = ["CCO", "OCC", "c1ccccc1", "C1CC", ""]
    ev = evaluate(gen, train_canonical={"CCO"}, ks=(2, 1000))
    assert ev.metrics["valid"] == pytest.approx(3 / 5)
    assert ev.metrics["unique@2"] == pytest.approx(1 / 2)            # CCO, OCC: one molecule
    assert ev.metrics["unique@1k"] == pytest.approx(2 / 3) and ev.counts["k_used@1000"] == 3
    assert ev.metrics["novelty"] == pytest.approx(1 / 2)             # benzene new, ethanol in train
    assert ev.counts == {"n": 5, "n_valid": 3, "n_unique": 2, "n_empty": 1, "k_used@2": 2, "k_used@1000": 3}


def test_intdiv_of_identical_molecules_is_zero_and_of_disjoint_bits_is_half() -> None:
    fps = morgan_fingerprints(parse_all(["c1ccccc1CCN"] * 4))
    assert internal_diversity(fps) == pytest.approx(0.0) and internal_diversity(fps, p=2) == pytest.approx(0.0)
    a = np.array([[1, 1, 0, 0], [0, 0, 1, 1]], dtype=np.uint8)   # T = 1 on the diagonal, 0 off it
    assert internal_diversity(a) == pytest.approx(0.5)               # 1 - mean(1, 0, 0, 1)
    assert internal_diversity(a, p=2) == pytest.approx(1 - np.sqrt(0.5))
    b = np.array([[1, 1, 1, 0]], dtype=np.uint8)                     # T(a0, b) = 2/3, T(a1, b) = 1/4
    assert average_agg_tanimoto(a, b, agg="max") == pytest.approx(2 / 3)
    assert average_agg_tanimoto(a, b, agg="mean") == pytest.approx((2 / 3 + 1 / 4) / 2)


def test_blockwise_equals_one_block() -> None:
    rng = np.random.default_rng(0)
    x = (rng.random((50, 64)) < 0.2).astype(np.uint8)
    y = (rng.random((37, 64)) < 0.2).astype(np.uint8)
    for agg, p in (("max", 1), ("mean", 1), ("mean", 2)):
        assert average_agg_tanimoto(x, y, agg=agg, p=p, block=7) == pytest.approx(
            average_agg_tanimoto(x, y, agg=agg, p=p, block=4096))
    assert internal_diversities(x, block=9) == pytest.approx((internal_diversity(x), internal_diversity(x, p=2)))


def test_scaffolds_and_cosine() -> None:
    mols = parse_all(["c1ccccc1CC", "c1ccc2ccccc2c1CCO", "CCCC"])
    assert scaffold_of(mols[0]) == "c1ccccc1" and scaffold_of(mols[2]) is None
    assert scaffold_counts(mols) == Counter({"c1ccc2ccccc2c1": 1})   # MOSES keeps scaffolds of >= 2 rings
    assert cos_similarity(Counter(a=1, b=1), Counter(a=2, b=2)) == pytest.approx(1.0)
    assert cos_similarity(Counter(a=1), Counter(b=1)) == pytest.approx(0.0)
    ev = evaluate(["c1ccccc1CC", "c1ccncc1CC", "CCCC"], train_scaffolds={"c1ccccc1"})
    assert ev.metrics["scaffold_novelty"] == pytest.approx(1 / 2)   # pyridine new, benzene seen


def test_reference_metrics_against_itself(tmp_path: Path) -> None:
    ref_smiles = ["CCO", "c1ccccc1CC(=O)O", "CC(C)Cc1ccc(cc1)C(C)C(=O)O", "c1ccc2[nH]ccc2c1", "CCN(CC)CC",
                  "not a smiles"]
    ref = ReferenceStats.compute(ref_smiles)
    assert ref.n == 5 and ref.n_invalid == 1 and ref.fps.shape == (5, 128)  # packed bits
    ref.save(tmp_path / "ref")
    ref = ReferenceStats.load(tmp_path / "ref")
    ev = evaluate(ref_smiles[:5], refs={"Test": ref})
    assert ev.metrics["SNN/Test"] == pytest.approx(1.0)
    assert ev.metrics["Frag/Test"] == pytest.approx(1.0) and ev.metrics["Scaf/Test"] == pytest.approx(1.0)
    assert abs(ev.metrics["FCD/Test"]) < 1e-3                        # same set: distance 0
    with pytest.raises(DataError, match="no generated SMILES"):
        evaluate([])
    with pytest.raises(DataError, match="not reference statistics"):
        ReferenceStats.load(tmp_path)
