"""PMO's call counting and AUC top-k on hand-computed histories."""
from __future__ import annotations

import pytest

pytest.importorskip("rdkit")

from serendip.chem.design.budget import BudgetedOracle, top_auc  # noqa: E402
from serendip.errors import ConfigError  # noqa: E402


def test_auc_top1_by_hand_with_and_without_the_filled_tail():
    # 250 calls, budget 300, read every 100: best 0.2 after 100, 0.5 after 200, 0.8 after 250
    scores = [0.0] * 250
    scores[10], scores[150], scores[240] = 0.2, 0.5, 0.8
    # trapezoids from (0, 0): 100*(0+0.2)/2 + 100*(0.2+0.5)/2 + 50*(0.5+0.8)/2 = 10 + 35 + 32.5
    assert top_auc(scores, 1, budget=300, freq=100, finish=False) == pytest.approx(77.5 / 300)
    # a finished run keeps 0.8 for the 50 calls it did not spend
    assert top_auc(scores, 1, budget=300, freq=100) == pytest.approx((77.5 + 40) / 300)


def test_auc_top2_averages_the_two_best_and_counts_only_the_budget():
    scores = [0.4, 0.2, 1.0, 0.6]  # top-2 means: after 2 calls 0.3, after 4 calls 0.8
    assert top_auc(scores, 2, budget=4, freq=2) == pytest.approx((2 * 0.3 / 2 + 2 * (0.3 + 0.8) / 2) / 4)
    assert top_auc(scores + [1.0, 1.0], 2, budget=4, freq=2) == pytest.approx(top_auc(scores, 2, budget=4, freq=2))
    assert top_auc([], 10) == 0.0
    assert top_auc([1.0] * 10_000, 10) == pytest.approx(0.995)  # the first 100 calls climb from 0
    with pytest.raises(ConfigError):
        top_auc([0.5], 0)


def test_budget_counts_unique_valid_molecules_and_stops():
    seen = []

    def oracle(smiles):
        seen.append(smiles)
        return len(smiles) / 10

    wrapped = BudgetedOracle(oracle, budget=3)
    assert wrapped.score("CCO") == pytest.approx(0.3)
    assert wrapped.score("OCC") == pytest.approx(0.3)  # same molecule: stored score, not a call
    assert wrapped.score("not a smiles") == 0.0        # invalid: 0, not a call
    assert wrapped.calls == 1 and not wrapped.finished
    wrapped.score_many(["CCCC", "c1ccccc1", "CCCCCC"])
    assert wrapped.finished and wrapped.calls == 3
    assert [s for s, _ in wrapped.history] == ["CCO", "CCCC", "c1ccccc1"]
    assert wrapped.score("CCCCCC") == 0.0 and wrapped.calls == 3  # past the budget: not scored
    assert seen == ["CCO", "CCCC", "c1ccccc1"]
    assert wrapped.top(1) == [("c1ccccc1", pytest.approx(0.8))]
    assert wrapped.auc(1, freq=1) == pytest.approx(top_auc([0.3, 0.4, 0.8], 1, budget=3, freq=1))
    with pytest.raises(ConfigError):
        BudgetedOracle(oracle, budget=0)
