"""Goal-directed design methods, from a registry, each spending a :class:`BudgetedOracle`.

* ``graph_ga`` - Jensen's graph genetic algorithm (Jensen 2019, Chem. Sci. 10:3567) as run in PMO
  (Gao et al. 2022; ``mol_opt/main/graph_ga/run.py`` and ``hparams_default.yaml``: population 120,
  offspring 70, mutation rate 0.067, score-proportional mating pool, early stop after 5 generations
  whose top-100 mean rose by less than 1e-3).
* ``screening`` - "best in the training set": score a random order of the starting pool until the
  budget is spent (PMO's ``screening`` baseline, ``mol_opt/main/screening/run.py``).
* ``surrogate_ga`` - Serendip's method: the same graph GA, but each generation breeds ``oversample``
  times more children than it may score and sends to the oracle only those a nearest-neighbour
  surrogate ranks best. The surrogate is a Tanimoto k-nearest-neighbour regression (Morgan radius 2,
  2048 bits) over every molecule scored so far (the experience replay), i.e. a surrogate-assisted
  evolutionary algorithm (Jin 2011, Swarm Evol. Comput. 1:61) with a pre-screening filter (Emmerich,
  Giannakoglou & Naujoks 2006, IEEE Trans. Evol. Comput. 10:421). Mating is rank-based
  (weights ``1 / (k N + rank)``, Tripp, Daxberger & Hernández-Lobato 2020, NeurIPS, with k = 0.01).

Each method is ``method(oracle, pool, rng, **options) -> None`` and stops when the oracle's budget is
spent (or, for the GAs, at the early stop; PMO then fills the AUC tail with the last top-10 mean).
"""
from __future__ import annotations

import random
from collections.abc import Callable, Sequence

import numpy as np
from rdkit import Chem, DataStructs
from rdkit.Chem import rdFingerprintGenerator

from serendip.chem.design.budget import BudgetedOracle
from serendip.chem.design.graph_ops import reproduce
from serendip.errors import ConfigError
from serendip.registry import Registry

Method = Callable[..., None]
METHODS: Registry[Method] = Registry("design method")


def _top100_mean(oracle: BudgetedOracle) -> float:
    return float(np.mean([v for _, v in oracle.top(100)])) if oracle.calls else 0.0


def _start(oracle: BudgetedOracle, pool: Sequence[str], rng: random.Random, size: int):
    """``size`` random pool molecules, scored, as (score, mol) pairs (invalid pool entries skipped)."""
    if len(pool) < size:
        raise ConfigError(f"the starting pool has {len(pool)} molecules, fewer than the population {size}")
    population = []
    for smi in rng.sample(list(pool), size):
        mol = Chem.MolFromSmiles(smi)
        if mol is not None:
            population.append((oracle.score(smi), mol))
    return sorted(population, key=lambda t: -t[0])


def _select(population: list, offspring: list, oracle: BudgetedOracle, size: int) -> list:
    """The best ``size`` of population + offspring (unique canonical SMILES), scoring new ones."""
    seen, merged = set(), []
    for mol in [m for _, m in population] + [m for m in offspring if m is not None]:
        try:
            smi = Chem.MolToSmiles(mol)
        except (ValueError, RuntimeError):
            continue
        parsed = None if smi in seen else Chem.MolFromSmiles(smi)
        if parsed is None:
            continue
        seen.add(smi)
        merged.append((oracle.score(smi), parsed))
    merged.sort(key=lambda t: -t[0])
    return merged[:size]


def _stalled(oracle: BudgetedOracle, before: float, state: dict, patience: int) -> bool:
    """PMO's early stop: True after ``patience`` generations raising the top-100 mean by < 1e-3."""
    if oracle.calls <= 100:
        return False
    state["stall"] = state.get("stall", 0) + 1 if _top100_mean(oracle) - before < 1e-3 else 0
    return state["stall"] >= patience


@METHODS.register("graph_ga")
def graph_ga(oracle: BudgetedOracle, pool: Sequence[str], rng: random.Random, *, population_size: int = 120,
             offspring_size: int = 70, mutation_rate: float = 0.067, patience: int = 5) -> None:
    """Jensen's graph GA with PMO's defaults (see the module docstring)."""
    population = _start(oracle, pool, rng, population_size)
    state: dict = {}
    while not oracle.finished:
        before = _top100_mean(oracle)
        weights = [s + 1e-10 for s, _ in population]
        mating = rng.choices([m for _, m in population], weights=weights, k=population_size)
        offspring = [reproduce(rng.choice(mating), rng.choice(mating), mutation_rate, rng)
                     for _ in range(offspring_size)]
        population = _select(population, offspring, oracle, population_size)
        if _stalled(oracle, before, state, patience):
            return


@METHODS.register("screening", "best_in_training_set")
def screening(oracle: BudgetedOracle, pool: Sequence[str], rng: random.Random) -> None:
    """Score the pool in a random order until the budget is spent or the pool ends."""
    order = list(range(len(pool)))
    rng.shuffle(order)
    for i in order:
        if oracle.finished:
            return
        oracle.score(pool[i])


class KNNSurrogate:
    """Tanimoto k-nearest-neighbour regression on Morgan bit fingerprints (radius 2, 2048 bits).

    ``predict(mols)`` returns an ndarray of shape (n_mols,): the similarity-weighted mean score of the
    ``k`` most similar molecules added so far (0.0 before any is added).
    """

    def __init__(self, k: int = 5):
        self.k = k
        self._gen = rdFingerprintGenerator.GetMorganGenerator(radius=2, fpSize=2048)
        self._fps: list = []
        self._scores: list[float] = []

    def add(self, history: Sequence[tuple[str, float]]) -> None:
        """Add the ``(SMILES, score)`` pairs of ``history`` not added yet (history only grows)."""
        for smi, score in history[len(self._fps):]:
            self._fps.append(self._gen.GetFingerprint(Chem.MolFromSmiles(smi)))
            self._scores.append(score)

    def predict(self, mols: Sequence[Chem.Mol]) -> np.ndarray:
        if not self._fps:
            return np.zeros(len(mols))
        scores = np.asarray(self._scores)
        out = np.empty(len(mols))
        for i, mol in enumerate(mols):
            sims = np.asarray(DataStructs.BulkTanimotoSimilarity(self._gen.GetFingerprint(mol), self._fps))
            top = np.argpartition(-sims, min(self.k, len(sims)) - 1)[:self.k]
            w = sims[top] + 1e-6
            out[i] = float(np.dot(w, scores[top]) / w.sum())
        return out


def _children(mating: list, weights: list[float], n: int, rate: float, oracle: BudgetedOracle,
              rng: random.Random) -> list:
    """Up to ``n`` distinct, sanitised children not scored before (at most ``4 n`` attempts)."""
    kids, seen = [], set()
    for _ in range(4 * n):
        if len(kids) >= n:
            break
        a, b = rng.choices(mating, weights=weights, k=2)
        child = reproduce(a, b, rate, rng)
        if child is None:
            continue
        try:
            smi = Chem.MolToSmiles(child)
        except (ValueError, RuntimeError):
            continue
        mol = Chem.MolFromSmiles(smi)
        if mol is None or smi in seen or smi in oracle:
            continue
        seen.add(smi)
        kids.append(mol)
    return kids


@METHODS.register("surrogate_ga")
def surrogate_ga(oracle: BudgetedOracle, pool: Sequence[str], rng: random.Random, *, population_size: int = 120,
                 offspring_size: int = 70, mutation_rate: float = 0.067, oversample: int = 3,
                 rank_k: float = 0.01, neighbours: int = 5, patience: int = 5) -> None:
    """Graph GA with rank-based mating and a kNN-surrogate pre-screen (see the module docstring)."""
    population = _start(oracle, pool, rng, population_size)
    surrogate = KNNSurrogate(neighbours)
    state: dict = {}
    while not oracle.finished:
        before = _top100_mean(oracle)
        surrogate.add(oracle.history)
        mating = [m for _, m in population]  # sorted best first by _select
        weights = [1.0 / (rank_k * len(mating) + r) for r in range(len(mating))]
        kids = _children(mating, weights, oversample * offspring_size, mutation_rate, oracle, rng)
        if kids:
            order = np.argsort(-surrogate.predict(kids), kind="stable")[:offspring_size]
            kids = [kids[i] for i in order]
        population = _select(population, kids, oracle, population_size)
        if _stalled(oracle, before, state, patience):
            return
