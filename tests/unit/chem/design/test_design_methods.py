"""Graph GA operators and the design methods on a small pool (fast, seeded)."""
from __future__ import annotations

import random

import pytest

pytest.importorskip("rdkit")

from rdkit import Chem  # noqa: E402

from serendip.chem.design import METHODS, optimize  # noqa: E402
from serendip.chem.design.graph_ops import reproduce  # noqa: E402
from serendip.chem.design.methods import KNNSurrogate  # noqa: E402
from serendip.errors import ConfigError  # noqa: E402

POOL = ["CC(=O)Oc1ccccc1C(=O)O", "CN1C=NC2=C1C(=O)N(C(=O)N2C)C", "CC(C)Cc1ccc(cc1)C(C)C(=O)O",
        "CC(=O)Nc1ccc(O)cc1", "COc1ccc2cc(ccc2c1)C(C)C(=O)O", "CN1CCC[C@H]1c1cccnc1",
        "OC(=O)c1ccccc1O", "CCN(CC)CCNC(=O)c1ccc(N)cc1", "Clc1ccc(cc1)C(c1ccccc1)N1CCNCC1",
        "CC1=CC(=O)C=CC1=O", "O=C(O)CCc1ccccc1", "CCOC(=O)c1ccccc1N", "Cc1ccccc1NC(=O)CN(CC)CC",
        "NC(=O)c1cccnc1", "CC(C)NCC(O)COc1cccc2ccccc12", "c1ccc2[nH]ccc2c1", "OCCN1CCN(CC1)c1ccccc1",
        "CC(=O)c1ccc(F)cc1", "COc1cc(C=O)ccc1O", "CCCCc1ccc(cc1)C(=O)O"]


def test_one_generation_of_graph_ga_gives_valid_new_molecules():
    rng = random.Random(0)
    parents = [Chem.MolFromSmiles(s) for s in POOL]
    children = [reproduce(rng.choice(parents), rng.choice(parents), 0.5, rng) for _ in range(40)]
    made = [c for c in children if c is not None]
    assert len(made) >= 20
    for child in made:
        smiles = Chem.MolToSmiles(child)
        assert Chem.MolFromSmiles(smiles) is not None
        assert 5 < child.GetNumAtoms() < 60
    assert len({Chem.MolToSmiles(c) for c in made} - set(map(Chem.CanonSmiles, POOL))) >= 10
    assert [Chem.MolToSmiles(p) for p in parents] == [Chem.CanonSmiles(s) for s in POOL]  # parents untouched


@pytest.mark.parametrize("method", ["graph_ga", "surrogate_ga"])
def test_ga_spends_the_budget_on_unique_molecules_and_is_seeded(method):
    small = {"population_size": 10, "offspring_size": 10, "patience": 100}
    result = optimize("qed", method, budget=60, seed=1, pool=POOL, **small)
    assert result.calls == 60
    smiles = [s for s, _ in result.history]
    assert len(set(smiles)) == 60 and all(Chem.MolFromSmiles(s) is not None for s in smiles)
    assert result.top10[0][1] == max(v for _, v in result.history)
    assert 0 < result.auc_top10 <= result.top10[0][1]
    again = optimize("qed", method, budget=60, seed=1, pool=POOL, **small)
    assert again.history == result.history


def test_screening_scores_pool_molecules_until_the_budget():
    result = optimize(lambda smi: len(smi) / 100, "best_in_training_set", budget=7, seed=0, pool=POOL)
    assert result.calls == 7
    assert {s for s, _ in result.history} <= {Chem.CanonSmiles(s) for s in POOL}
    assert optimize("qed", "screening", budget=100, pool=POOL).calls == len(POOL)  # pool ends first


def test_knn_surrogate_recalls_seen_scores_and_ranks_neighbours():
    surrogate = KNNSurrogate(k=1)
    assert list(surrogate.predict([Chem.MolFromSmiles("CCO")])) == [0.0]
    surrogate.add([("c1ccccc1O", 0.9), ("CCCCCCCC", 0.1)])
    pred = surrogate.predict([Chem.MolFromSmiles(s) for s in ("c1ccccc1O", "Cc1ccccc1O", "CCCCCCCCC")])
    assert pred[0] == pytest.approx(0.9) and pred[1] == pytest.approx(0.9) and pred[2] == pytest.approx(0.1)


def test_unknown_method_and_small_pool_are_refused():
    assert {"graph_ga", "surrogate_ga", "screening"} <= set(METHODS.keys())
    with pytest.raises(ConfigError, match="unknown design method"):
        optimize("qed", "reinvent", budget=10, pool=POOL)
    with pytest.raises(ConfigError, match="fewer than the population"):
        optimize("qed", "graph_ga", budget=10, pool=POOL[:5])


def test_read_smiles_column_reads_gzip_csv_and_names_a_bad_header(tmp_path):
    import gzip

    from serendip.chem.design import read_smiles_column
    from serendip.errors import DataError

    good = tmp_path / "pool.csv.gz"
    good.write_bytes(gzip.compress(b"SMILES\nCCO\n\nc1ccccc1\n"))
    assert read_smiles_column(good) == ["CCO", "c1ccccc1"]
    bad = tmp_path / "bad.csv"
    bad.write_text("smi,name\nCCO,ethanol\n")
    with pytest.raises(DataError, match=r"bad\.csv, line 1: no column 'SMILES' in the header \(smi, name\)"):
        read_smiles_column(bad)
