"""Every entry of the chem registries is exercised: each split partitions the rows, each property model
(Chemprop's: the one-epoch smoke test in test_chem_models.py) fits and predicts both tasks."""
from __future__ import annotations

import numpy as np
import pytest
from chem_helpers import small_set

from serendip.chem import PROPERTY_MODELS, SPLITTERS, make_model, make_split


@pytest.mark.parametrize("kind", list(SPLITTERS))
def test_every_split_partitions_the_rows(kind: str) -> None:
    smi = small_set()[::2]
    y = np.arange(len(smi)) % 2
    sp = make_split(kind, smi, seed=1, y=y)
    parts = [set(p.tolist()) for p in (sp.train, sp.val, sp.test)]
    assert sum(map(len, parts)) == len(smi) and set().union(*parts) == set(range(len(smi)))
    assert sp.seed == 1 and sp.kind.startswith(kind.split("_")[0])
    again = make_split(kind, smi, seed=1, y=y)
    np.testing.assert_array_equal(again.test, sp.test)                  # seeded: the same split again


@pytest.mark.parametrize("name", [n for n in PROPERTY_MODELS if "chemprop" not in n])
def test_every_feature_model_fits_both_tasks(name: str) -> None:
    smi = small_set()[:60]
    from rdkit import Chem

    heavy = np.array([Chem.MolFromSmiles(s).GetNumHeavyAtoms() for s in smi], dtype=float)
    for task, y in (("regression", heavy), ("classification", (heavy > np.median(heavy)).astype(float))):
        m = make_model(name, task, seed=0).fit(smi[:45], y[:45], smi[45:52], y[45:52])
        p = m.predict(smi[52:])
        assert p.shape == (8,) and np.isfinite(p).all()
        if task == "classification":
            assert ((p >= 0) & (p <= 1)).all()
        else:
            assert np.sqrt(np.mean((p - y[52:]) ** 2)) < np.std(y)     # better than the mean
