"""Goal-directed molecular design scored the way PMO does (Gao et al. 2022, NeurIPS Datasets and
Benchmarks): GuacaMol oracles (:mod:`.oracles`), a budgeted oracle and AUC top-10 (:mod:`.budget`),
the graph GA, screening and Serendip's surrogate GA (:mod:`.methods`), property-model objectives
(:class:`PropertyOracle`, :mod:`.property`) and :func:`optimize`.

    >>> from serendip.chem.design import optimize
    >>> result = optimize("qed", "graph_ga", budget=1000, seed=0)   # doctest: +SKIP
    >>> result.auc_top10, result.top10[0]                            # doctest: +SKIP
"""
from serendip.chem.design.api import (
           DesignResult,
           moses_pool,
           optimize,
           read_smiles_column,
)
from serendip.chem.design.budget import BudgetedOracle, top_auc
from serendip.chem.design.methods import METHODS
from serendip.chem.design.oracles import ORACLES, PMO_ORACLES, Oracle, get_oracle
from serendip.chem.design.property import (
           AD_PENALTIES,
           CONSTRAINTS,
           PredictionRange,
           PropertyOracle,
)

__all__ = ["AD_PENALTIES", "CONSTRAINTS", "METHODS", "ORACLES", "PMO_ORACLES", "BudgetedOracle", "DesignResult",
           "Oracle", "PredictionRange", "PropertyOracle", "get_oracle", "moses_pool", "optimize", "read_smiles_column", "top_auc"]
