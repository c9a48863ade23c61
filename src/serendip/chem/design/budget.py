"""A budgeted oracle that counts calls the way PMO does, and PMO's AUC top-k.

PMO (Gao, Fu, Sun & Coley 2022, "Sample Efficiency Matters: A Benchmark for Practical Molecular
Optimization", NeurIPS Datasets and Benchmarks; code ``wenhao-gao/mol_opt``, ``main/optimizer.py``,
class ``Oracle`` and function ``top_auc``) counts one call per *unique* canonical molecule: an
invalid SMILES scores 0 and is not counted, a molecule seen before returns its stored score and is
not counted again, and the run ends when the budget (10,000) is spent.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

import numpy as np
from rdkit import Chem

from serendip.chem.design.oracles import parse
from serendip.errors import ConfigError


def top_auc(scores: Sequence[float], top_k: int = 10, *, budget: int = 10_000, freq: int = 100,
            finish: bool = True) -> float:
    """PMO's area under the curve of the mean top-``k`` score against oracle calls.

    Parameters
    ----------
    scores : sequence of float, length n
        Scores of the unique molecules in the order they were first scored (n <= ``budget`` is
        expected; only the first ``budget`` count).
    top_k : int, default=10
        How many best scores are averaged (fewer while fewer are known).
    budget : int, default=10000
        The call budget the area is normalised by.
    freq : int, default=100
        The curve is read every ``freq`` calls (PMO's ``freq_log``) and integrated by the trapezoid
        rule from (0 calls, 0.0); the last segment ends at n calls.
    finish : bool, default=True
        A run that ended before the budget keeps its final top-k mean until ``budget`` (the tail is
        filled, as PMO's ``top_auc(..., finish=True)``).

    Returns
    -------
    float
        The area divided by ``budget``, in [0, 1] for scores in [0, 1]; 0.0 for no scores.

    Notes
    -----
    Mirrors ``mol_opt/main/optimizer.py::top_auc``: checkpoints at ``freq, 2 freq, ...`` strictly
    below ``min(n, budget)``, then a final segment to ``n``.
    """
    if top_k < 1 or budget < 1 or freq < 1:
        raise ConfigError(f"top_auc needs top_k, budget and freq >= 1, got: {top_k}, {budget}, {freq}")
    vals = np.asarray(list(scores), dtype=float)[:budget]
    n = len(vals)
    if n == 0:
        return 0.0

    def top_mean(m: int) -> float:
        return float(np.mean(np.sort(vals[:m])[::-1][:top_k]))

    area, prev, called = 0.0, 0.0, 0
    for idx in range(freq, min(n, budget), freq):
        now = top_mean(idx)
        area += freq * (now + prev) / 2
        prev, called = now, idx
    now = top_mean(n)
    area += (n - called) * (now + prev) / 2
    if finish and n < budget:
        area += (budget - n) * now
    return area / budget


class BudgetedOracle:
    """Wrap ``oracle(smiles) -> float`` so that unique valid molecules are counted against a budget.

    Parameters
    ----------
    oracle : callable
        ``str -> float`` (e.g. an :class:`~serendip.chem.design.oracles.Oracle`).
    budget : int, default=10000
        Unique valid molecules that may be scored.

    Attributes
    ----------
    history : list of (str, float)
        ``(canonical SMILES, score)`` of every counted call, in call order (length <= budget).
    """

    def __init__(self, oracle: Callable[[str], float], budget: int = 10_000):
        if budget < 1:
            raise ConfigError(f"budget must be at least 1, got: {budget}")
        self.oracle = oracle
        self.budget = budget
        self.history: list[tuple[str, float]] = []
        self._seen: dict[str, float] = {}

    @property
    def calls(self) -> int:
        """Unique valid molecules scored so far."""
        return len(self.history)

    @property
    def finished(self) -> bool:
        """True once the budget is spent."""
        return len(self.history) >= self.budget

    def __contains__(self, smiles: str) -> bool:
        return smiles in self._seen

    def score(self, smiles: str) -> float:
        """The score of ``smiles``: 0.0 (not counted) when invalid, the stored score (not counted)
        when already seen, 0.0 (not counted) when new but the budget is spent; otherwise the oracle's
        score, counted and appended to :attr:`history`."""
        mol = parse(smiles)
        if mol is None:
            return 0.0
        key = Chem.MolToSmiles(mol)
        if key in self._seen:
            return self._seen[key]
        if self.finished:
            return 0.0
        value = float(self.oracle(key))
        self._seen[key] = value
        self.history.append((key, value))
        return value

    def score_many(self, smiles: Iterable[str]) -> list[float]:
        """:meth:`score` of each, in order."""
        return [self.score(smi) for smi in smiles]

    def top(self, k: int = 10) -> list[tuple[str, float]]:
        """The ``k`` best ``(SMILES, score)`` so far, best first (ties: earlier first)."""
        return sorted(self.history, key=lambda t: -t[1])[:k]

    def auc(self, top_k: int = 10, freq: int = 100, finish: bool = True) -> float:
        """:func:`top_auc` of :attr:`history` within :attr:`budget`."""
        return top_auc([v for _, v in self.history], top_k, budget=self.budget, freq=freq, finish=finish)
