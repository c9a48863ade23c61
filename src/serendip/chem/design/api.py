"""``optimize(oracle, method, budget, seed)``: one goal-directed design run, scored as PMO does."""
from __future__ import annotations

import gzip
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from serendip.chem.design.budget import BudgetedOracle
from serendip.chem.design.methods import METHODS
from serendip.chem.design.oracles import get_oracle
from serendip.errors import DataError

#: The starting pool of every method: the MOSES train subset in the data mirror
MOSES_TRAIN = "moses/train_subset_250k_seed0.csv.gz"


@dataclass
class DesignResult:
    """One run: ``history`` is the list of (canonical SMILES, score) in oracle-call order (length =
    calls <= budget); ``auc_top10`` is PMO's AUC top-10 (tail filled when the run stopped early);
    ``top10`` the best ten (SMILES, score); ``wall_s`` seconds."""

    oracle: str
    method: str
    seed: int
    budget: int
    history: list[tuple[str, float]]
    auc_top10: float
    top10: list[tuple[str, float]]
    wall_s: float
    options: dict = field(default_factory=dict)

    @property
    def calls(self) -> int:
        return len(self.history)


def read_smiles_column(path: str | Path, column: str = "SMILES") -> list[str]:
    """The ``column`` of a CSV (optionally gzip'ed) with a header line, one molecule a line.

    Raises DataError naming the file when it is empty or its header lacks ``column``.
    """
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as fh:
        header = fh.readline().rstrip("\r\n").split(",")
        if column not in header:
            raise DataError(f"{path}, line 1: no column '{column}' in the header ({', '.join(header)})")
        i = header.index(column)
        return [line.rstrip("\r\n").split(",")[i] for line in fh if line.strip()]


def moses_pool() -> list[str]:
    """The 250k MOSES train-subset SMILES (dataset ``moses`` via :func:`serendip.datasets.resolve`)."""
    from serendip import datasets

    return read_smiles_column(datasets.resolve("moses")[MOSES_TRAIN])


def optimize(oracle: str | Callable[[str], float], method: str = "graph_ga", budget: int = 10_000, seed: int = 0,
             pool: Sequence[str] | None = None, **options) -> DesignResult:
    """Run design ``method`` on ``oracle`` within ``budget`` unique oracle calls.

    Parameters
    ----------
    oracle : str or callable
        A name in :data:`~serendip.chem.design.oracles.ORACLES` or ``SMILES -> float`` in [0, 1].
    method : str, default="graph_ga"
        A name in :data:`~serendip.chem.design.methods.METHODS` (``graph_ga``, ``surrogate_ga``,
        ``screening``).
    budget : int, default=10000
        Unique valid molecules the method may score (PMO's budget).
    seed : int, default=0
        Seeds the method's ``random.Random`` (starting population, operators, sampling).
    pool : sequence of str, optional
        Starting molecules (GAs) or the library screened; default the MOSES 250k train subset.
    **options
        Method options (e.g. ``population_size``, ``mutation_rate``, ``oversample``).

    Returns
    -------
    DesignResult

    Raises
    ------
    ConfigError
        Unknown oracle or method name, a budget below 1, or a pool smaller than the population.
    """
    fn = get_oracle(oracle) if isinstance(oracle, str) else oracle
    name = oracle if isinstance(oracle, str) else getattr(oracle, "name", getattr(oracle, "__name__", "oracle"))
    run = METHODS.get(method)
    wrapped = BudgetedOracle(fn, budget)
    start = time.perf_counter()
    run(wrapped, moses_pool() if pool is None else pool, random.Random(seed), **options)
    return DesignResult(oracle=name, method=method, seed=seed, budget=budget, history=list(wrapped.history),
                        auc_top10=wrapped.auc(10), top10=wrapped.top(10), wall_s=time.perf_counter() - start,
                        options=dict(options))
