"""GuacaMol oracles on known and hand-computed values; bounds; invalid input scores 0."""
from __future__ import annotations

import math

import pytest

pytest.importorskip("rdkit")

from rdkit import Chem  # noqa: E402
from rdkit.Chem import Descriptors, rdFingerprintGenerator  # noqa: E402

from serendip.chem.design.oracles import (  # noqa: E402
    ORACLES,
    PMO_ORACLES,
    REDISCOVERY,
    SITAGLIPTIN,
    get_oracle,
)
from serendip.chem.design.scoring import parse_formula  # noqa: E402
from serendip.errors import ConfigError  # noqa: E402

DRUGS = ["CC(=O)Oc1ccccc1C(=O)O", "CN1C=NC2=C1C(=O)N(C(=O)N2C)C", "c1ccccc1", "CCCCCCCCCCC",
         "NC(=O)c1ccc(Cl)cc1CCNP(=O)(F)F", "O=C(O)C(Cc1ccccc1)N"]


@pytest.mark.parametrize("drug", sorted(REDISCOVERY))
def test_each_target_rediscovers_itself_with_score_one(drug):
    oracle = get_oracle(f"{drug}_rediscovery")
    smiles = REDISCOVERY[drug]
    assert oracle(smiles) == pytest.approx(1.0)
    # any writing of the same molecule (RDKit's canonical SMILES here) is the same molecule
    assert oracle(Chem.MolToSmiles(Chem.MolFromSmiles(smiles))) == pytest.approx(1.0)
    assert oracle("CCO") < 0.1


def test_qed_matches_the_values_in_rdkits_qed_docstring():
    qed = get_oracle("qed")  # RDKit rdkit/Chem/QED.py doctests: famotidine, cimetidine, tegaserod
    assert qed("N=C(CCSCc1csc(N=C(N)N)n1)NS(N)(=O)=O") == pytest.approx(0.253, abs=1e-3)
    assert qed("CNC(=NCCSCc1nc[nH]c1C)NC#N") == pytest.approx(0.234, abs=1e-3)
    assert qed("CCCCCNC(=N)NN=Cc1c[nH]c2ccc(CO)cc12") == pytest.approx(0.234, abs=1e-3)


def test_sa_matches_ertls_reference_scores():
    # the first rows of RDKit Contrib/SA_Score/data/zim.100.txt (Ertl & Schuffenhauer's output)
    reference = {"Cc1c(C(=O)NCCO)[n+](=O)c2ccccc2n1[O-]": 3.166, "OC(c1ccncc1)c1ccc(OCC[NH+]2CCCC2)cc1": 3.822,
                 "CC(C(=O)[O-])c1ccc(-c2ccccc2)cc1": 2.462, "NC(=[NH2+])NCC1COc2ccccc2O1": 3.290,
                 "CC12CCC3C(CCC4CC(=O)CCC43C)C1CCC2=O": 3.912}
    sa = get_oracle("sa")
    for smiles, value in reference.items():
        assert sa(smiles) == pytest.approx((10 - value) / 9, abs=1e-3 / 9 + 1e-9)


def _count_tanimoto(a: str, b: str, radius: int) -> float:
    """sum of min counts / sum of max counts over the Morgan environments of a and b."""
    gen = rdFingerprintGenerator.GetMorganGenerator(radius=radius)
    fa, fb = (gen.GetSparseCountFingerprint(Chem.MolFromSmiles(s)).GetNonzeroElements() for s in (a, b))
    keys = set(fa) | set(fb)
    return sum(min(fa.get(k, 0), fb.get(k, 0)) for k in keys) / sum(max(fa.get(k, 0), fb.get(k, 0)) for k in keys)


def test_median1_is_the_geometric_mean_of_two_count_tanimotos():
    menthol, camphor = "CC(C)C1CCC(C)CC1O", "CC1(C)C2CCC1(C)C(=O)C2"
    t = _count_tanimoto(menthol, camphor, 2)
    assert 0 < t < 1
    assert get_oracle("median1")(menthol) == pytest.approx(math.sqrt(t))
    probe = "CC1CCC(C(C)C)C(=O)C1"  # menthone
    expected = math.sqrt(_count_tanimoto(probe, menthol, 2) * _count_tanimoto(probe, camphor, 2))
    assert get_oracle("median1")(probe) == pytest.approx(expected)


def test_isomer_scores_exact_formulas_one_and_a_near_miss_by_hand():
    assert parse_formula("C9H10N2O2PF2Cl") == [("C", 9), ("H", 10), ("N", 2), ("O", 2), ("P", 1), ("F", 2), ("Cl", 1)]
    assert get_oracle("isomers_c11h24")("CCCCCCCCCCC") == pytest.approx(1.0)
    assert get_oracle("isomers_c11h24")("CC(C)CCCCCCCC") == pytest.approx(1.0)
    assert get_oracle("isomers_c9h10n2o2pf2cl")("NC(=O)c1ccc(Cl)cc1CCNP(=O)(F)F") == pytest.approx(1.0)
    # decane C10H22 for C11H24: C off 1 (sigma 1), H off 2 (sigma 1), 32 vs 35 atoms (sigma 2)
    expected = math.exp(-(0.5 * 1 + 0.5 * 4 + 0.5 * (3 / 2) ** 2) / 3)
    assert get_oracle("isomers_c11h24")("CCCCCCCCCC") == pytest.approx(expected)


def test_sitagliptin_on_itself_is_penalised_only_for_similarity():
    # similarity 1 -> Gaussian(mu 0, sigma 0.1) = exp(-50); logP, TPSA, formula exact -> 1
    assert get_oracle("sitagliptin_mpo")(SITAGLIPTIN) == pytest.approx(math.exp(-50 / 4), rel=1e-6)


def test_fexofenadine_mpo_on_fexofenadine_by_hand():
    smi = "CC(C)(C(=O)O)c1ccc(cc1)C(O)CCCN2CCC(CC2)C(O)(c3ccccc3)c4ccccc4"
    mol = Chem.MolFromSmiles(smi)
    tpsa, logp = Descriptors.TPSA(mol), Descriptors.MolLogP(mol)
    tpsa_term = 1.0 if tpsa >= 90 else math.exp(-0.5 * ((tpsa - 90) / 10) ** 2)
    logp_term = 1.0 if logp <= 4 else math.exp(-0.5 * (logp - 4) ** 2)
    assert get_oracle("fexofenadine_mpo")(smi) == pytest.approx((1.0 * tpsa_term * logp_term) ** (1 / 3))


def test_valsartan_smarts_needs_the_substructure():
    oracle = get_oracle("valsartan_smarts")
    valsartan = "CCCCC(=O)N(Cc1ccc(-c2ccccc2-c2nn[nH]n2)cc1)C(C(C)C)C(=O)O"
    assert oracle(valsartan) > 0
    assert oracle(SITAGLIPTIN) == 0.0  # sitagliptin's properties but not the SMARTS


@pytest.mark.parametrize("name", ORACLES.keys())
def test_every_oracle_is_bounded_and_scores_invalid_input_zero(name):
    oracle = get_oracle(name)
    for smiles in DRUGS:
        assert 0.0 <= oracle(smiles) <= 1.0
    for bad in ["", "   ", "C1CC", "not a smiles", "C(C)(C)(C)(C)C", None]:
        assert oracle(bad) == 0.0


def test_pmo_oracles_are_registered_and_unknown_names_are_refused():
    assert set(PMO_ORACLES) <= set(ORACLES.keys())
    with pytest.raises(ConfigError, match="unknown oracle 'drd2'"):
        get_oracle("drd2")
