"""Goal-directed design objectives ("oracles") from a registry, all computed offline with RDKit.

Every oracle maps a SMILES string to a score in [0, 1] (higher is better); an invalid or empty
SMILES scores 0.0 without raising, as the PMO benchmark's TDC oracles do (GuacaMol itself returns
-1). Definitions follow GuacaMol (Brown et al. 2019, J. Chem. Inf. Model. 59:1096,
doi:10.1021/acs.jcim.8b00839; ``guacamol/standard_benchmarks.py``), which the PMO benchmark (Gao,
Fu, Sun & Coley 2022, "Sample Efficiency Matters", NeurIPS Datasets and Benchmarks) reuses through
TDC; see :mod:`serendip.chem.design.scoring` for the pieces.

    >>> from serendip.chem.design.oracles import get_oracle
    >>> round(get_oracle("celecoxib_rediscovery")("Cc1ccc(-c2cc(C(F)(F)F)nn2-c2ccc(S(N)(=O)=O)cc2)cc1"), 3)
    1.0
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from rdkit import Chem, RDLogger
from rdkit.Chem import QED

from serendip.chem.design import scoring as s
from serendip.registry import Registry

RDLogger.DisableLog("rdApp.*")


@dataclass(frozen=True)
class Oracle:
    """A named objective: ``oracle(smiles) -> float`` in [0, 1].

    Attributes
    ----------
    name : str
        The registry name.
    score_mol : callable
        ``rdkit.Chem.Mol -> float``, the objective on a parsed, sanitised molecule.
    source : str
        Where the definition comes from (paper and reference-code function).
    """

    name: str
    score_mol: Callable[[Chem.Mol], float]
    source: str

    def __call__(self, smiles: str) -> float:
        """The score of ``smiles``; 0.0 for an unparsable, unsanitisable or empty SMILES."""
        mol = parse(smiles)
        return 0.0 if mol is None else self.score_parsed(mol)

    def score_parsed(self, mol: Chem.Mol) -> float:
        """The score of a parsed molecule, clipped to [0, 1]; 0.0 where RDKit fails on it."""
        try:
            value = float(self.score_mol(mol))
        except (ValueError, RuntimeError, ZeroDivisionError):  # RDKit's errors on odd valences etc.
            return 0.0
        return min(1.0, max(0.0, value)) if value == value else 0.0


def parse(smiles: str) -> Chem.Mol | None:
    """A sanitised RDKit molecule, or None for a non-string, unparsable or empty SMILES."""
    if not isinstance(smiles, str) or not smiles.strip():
        return None
    mol = Chem.MolFromSmiles(smiles)
    return mol if mol is not None and mol.GetNumAtoms() > 0 else None


#: name -> zero-argument factory building the :class:`Oracle` (targets are fingerprinted on build)
ORACLES: Registry[Callable[[], Oracle]] = Registry("oracle")

_GM = "Brown et al. 2019 (GuacaMol), guacamol/standard_benchmarks.py"


def _register(name: str, source: str):
    def deco(build: Callable[[], Callable[[Chem.Mol], float]]):
        ORACLES.add(name, lambda: Oracle(name, build(), source))
        return build
    return deco


def get_oracle(name: str) -> Oracle:
    """The oracle registered as ``name`` (see ``ORACLES.keys()``); ConfigError for an unknown name."""
    return ORACLES.get(name)()


@_register("qed", "Bickerton et al. 2012, Nat. Chem. 4:90 (RDKit QED.qed); GuacaMol qed_benchmark")
def _qed():
    return QED.qed


@_register("sa", "Ertl & Schuffenhauer 2009, J. Cheminform. 1:8 (RDKit Contrib SA_Score), "
                 "rescaled to (10 - SA) / 9 so that easy = 1")
def _sa():
    return lambda mol: (10.0 - s.sa_score(mol)) / 9.0


@_register("logp_target8", f"{_GM}: logP_benchmark(target=8.0), Gaussian(mu=8, sigma=1)")
def _logp8():
    return s.geometric_mean([(s.logp, s.gaussian(8.0, 1.0))])


@_register("logp_target_neg1", f"{_GM}: logP_benchmark(target=-1.0), Gaussian(mu=-1, sigma=1)")
def _logp_neg1():
    return s.geometric_mean([(s.logp, s.gaussian(-1.0, 1.0))])


#: Rediscovery targets of goal_directed_suite_v2 (ECFP4, clipped at similarity 1.0)
REDISCOVERY = {
    "celecoxib": "CC1=CC=C(C=C1)C1=CC(=NN1C1=CC=C(C=C1)S(N)(=O)=O)C(F)(F)F",
    "troglitazone": "Cc1c(C)c2OC(C)(COc3ccc(CC4SC(=O)NC4=O)cc3)CCc2c(C)c1O",
    "thiothixene": "CN(C)S(=O)(=O)c1ccc2Sc3ccccc3C(=CCCN4CCN(C)CC4)c2c1",
}
for _drug, _smi in REDISCOVERY.items():
    _register(f"{_drug}_rediscovery", f"{_GM}: similarity(rediscovery=True), ECFP4 Tanimoto")(
        lambda smi=_smi: s.tanimoto(smi, "ECFP4"))

#: Similarity targets of goal_directed_suite_v2 (clipped at 0.75)
_SIMILARITY = {"albuterol": ("CC(C)(C)NCC(O)c1ccc(O)c(CO)c1", "FCFP4"),
               "mestranol": ("COc1ccc2[C@H]3CC[C@@]4(C)[C@@H](CC[C@@]4(O)C#C)[C@@H]3CCc2c1", "AP")}
for _drug, (_smi, _fp) in _SIMILARITY.items():
    _register(f"{_drug}_similarity", f"{_GM}: similarity(threshold=0.75), {_fp} Tanimoto")(
        lambda smi=_smi, fp=_fp: s.geometric_mean([(s.tanimoto(smi, fp), s.clipped(0.75))]))


@_register("osimertinib_mpo", f"{_GM}: hard_osimertinib")
def _osimertinib():
    smi = "COc1cc(N(C)CCN(C)C)c(NC(=O)C=C)cc1Nc2nccc(n2)c3cn(C)c4ccccc34"
    return s.geometric_mean([(s.tanimoto(smi, "FCFP4"), s.clipped(0.8)),
                             (s.tanimoto(smi, "ECFP6"), s.min_gaussian(0.85, 0.1)),
                             (s.tpsa, s.max_gaussian(100, 10)), (s.logp, s.min_gaussian(1, 1))])


@_register("fexofenadine_mpo", f"{_GM}: hard_fexofenadine")
def _fexofenadine():
    smi = "CC(C)(C(=O)O)c1ccc(cc1)C(O)CCCN2CCC(CC2)C(O)(c3ccccc3)c4ccccc4"
    return s.geometric_mean([(s.tanimoto(smi, "AP"), s.clipped(0.8)), (s.tpsa, s.max_gaussian(90, 10)),
                             (s.logp, s.min_gaussian(4, 1))])


@_register("ranolazine_mpo", f"{_GM}: ranolazine_mpo (the suite-v2 version, with TPSA)")
def _ranolazine():
    smi = "COc1ccccc1OCC(O)CN2CCN(CC(=O)Nc3c(C)cccc3C)CC2"
    return s.geometric_mean([(s.tanimoto(smi, "AP"), s.clipped(0.7)), (s.logp, s.max_gaussian(7, 1)),
                             (s.atom_count("F"), s.gaussian(1, 1.0)), (s.tpsa, s.max_gaussian(95, 20))])


@_register("perindopril_mpo", f"{_GM}: perindopril_rings")
def _perindopril():
    smi = "O=C(OCC)C(NC(C(=O)N1C(C(=O)O)CC2CCCCC12)C)CCC"
    return s.geometric_mean([(s.tanimoto(smi, "ECFP4"), s.identity),
                             (s.num_aromatic_rings, s.gaussian(2, 0.5))])


@_register("amlodipine_mpo", f"{_GM}: amlodipine_rings")
def _amlodipine():
    smi = r"Clc1ccccc1C2C(=C(/N/C(=C2/C(=O)OCC)COCCN)C)\C(=O)OC"
    return s.geometric_mean([(s.tanimoto(smi, "ECFP4"), s.identity), (s.num_rings, s.gaussian(3, 0.5))])


SITAGLIPTIN = "Fc1cc(c(F)cc1F)CC(N)CC(=O)N3Cc2nnc(n2CC3)C(F)(F)F"


@_register("sitagliptin_mpo", f"{_GM}: sitagliptin_replacement")
def _sitagliptin():
    mol = Chem.MolFromSmiles(SITAGLIPTIN)
    return s.geometric_mean([(s.tanimoto(SITAGLIPTIN, "ECFP4"), s.gaussian(0, 0.1)),
                             (s.logp, s.gaussian(s.logp(mol), 0.2)), (s.tpsa, s.gaussian(s.tpsa(mol), 5)),
                             (s.isomer_score("C16H15F6N5O"), s.identity)])


@_register("zaleplon_mpo", f"{_GM}: zaleplon_with_other_formula")
def _zaleplon():
    return s.geometric_mean([(s.tanimoto("O=C(C)N(CC)C1=CC=CC(C2=CC=NC3=C(C=NN23)C#N)=C1", "ECFP4"), s.identity),
                             (s.isomer_score("C19H17N3O2"), s.identity)])


@_register("median1", f"{_GM}: median_camphor_menthol (ECFP4)")
def _median1():
    return s.geometric_mean([(s.tanimoto("CC(C)C1CCC(C)CC1O", "ECFP4"), s.identity),
                             (s.tanimoto("CC1(C)C2CCC1(C)C(=O)C2", "ECFP4"), s.identity)])


@_register("median2", f"{_GM}: median_tadalafil_sildenafil (ECFP6)")
def _median2():
    return s.geometric_mean([
        (s.tanimoto("O=C1N(CC(N2C1CC3=C(C2C4=CC5=C(OCO5)C=C4)NC6=C3C=CC=C6)=O)C", "ECFP6"), s.identity),
        (s.tanimoto("CCCC1=NN(C2=C1N=C(NC2=O)C3=C(C=CC(=C3)S(=O)(=O)N4CCN(CC4)C)OCC)C", "ECFP6"), s.identity)])


for _formula in ("C11H24", "C7H8N2O2", "C9H10N2O2PF2Cl"):
    _register(f"isomers_{_formula.lower()}", f"{_GM}: IsomerScoringFunction({_formula!r}), geometric mean")(
        lambda f=_formula: s.isomer_score(f))


@_register("valsartan_smarts", f"{_GM}: valsartan_smarts (SMARTS with sitagliptin's logP, TPSA, Bertz)")
def _valsartan():
    other = Chem.MolFromSmiles("NC(CC(=O)N1CCn2c(nnc2C(F)(F)F)C1)Cc1cc(F)c(F)cc1F")
    return s.geometric_mean([(s.smarts_present("CN(C=O)Cc1ccc(c2ccccc2)cc1"), s.identity),
                             (s.logp, s.gaussian(s.logp(other), 0.2)), (s.tpsa, s.gaussian(s.tpsa(other), 5)),
                             (s.bertz, s.gaussian(s.bertz(other), 30))])


#: The oracles of PMO's 23 that are defined offline here (drd2/gsk3b/jnk3 need trained classifiers and
#: deco_hop/scaffold_hop are left out), in the order of the PMO paper's table
PMO_ORACLES = ("albuterol_similarity", "amlodipine_mpo", "celecoxib_rediscovery", "fexofenadine_mpo",
               "isomers_c7h8n2o2", "isomers_c9h10n2o2pf2cl", "median1", "median2", "mestranol_similarity",
               "osimertinib_mpo", "perindopril_mpo", "qed", "ranolazine_mpo", "sitagliptin_mpo",
               "thiothixene_rediscovery", "troglitazone_rediscovery", "valsartan_smarts", "zaleplon_mpo")
