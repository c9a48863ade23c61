"""Screening metrics on hand-made screening orders, against values worked out by hand."""
from __future__ import annotations

import numpy as np
import pytest

from serendip.errors import DataError
from serendip.screening.metrics import atd, recall_curve, rrf, screening_metrics, wss

# 10 records, includes screened 1st, 3rd and 6th
ORDER = [1, 0, 1, 0, 0, 1, 0, 0, 0, 0]


def test_wss_is_the_share_unscreened_minus_what_random_leaves():
    # WSS@95: ceil(0.95 * 3) = 3 includes -> found after 6 records: 4/10 - 0.05
    assert wss(ORDER, 0.95) == pytest.approx(0.35)
    assert wss(ORDER, 1.0) == pytest.approx(0.40)
    # 2 of 3 includes (recall 0.667 >= 0.5) after 3 records: 7/10 - 0.5
    assert wss(ORDER, 0.5) == pytest.approx(0.20)


def test_wss_at_an_exact_share_needs_that_many_includes_not_one_more():
    # 20 includes: 0.95 * 20 = 19 exactly; the 19th is the 19th record, the 20th the 30th of 40
    order = [1] * 19 + [0] * 10 + [1] + [0] * 10
    assert wss(order, 0.95) == pytest.approx(21 / 40 - 0.05)
    assert wss(order, 1.0) == pytest.approx(10 / 40)


def test_rrf_is_the_recall_after_the_first_tenth():
    assert rrf(ORDER, 0.10) == pytest.approx(1 / 3)     # floor(1.0) = 1 record screened
    assert rrf(ORDER, 0.30) == pytest.approx(2 / 3)     # 3 records
    assert rrf([0] * 9 + [1], 0.10) == 0.0
    assert rrf(ORDER[:9], 0.10) == 0.0                  # floor(0.9) = 0 records: nothing found yet


def test_atd_is_the_mean_position_of_the_includes():
    assert atd(ORDER) == pytest.approx((1 + 3 + 6) / 3)
    assert screening_metrics(ORDER) == pytest.approx(
        {"wss@95": 0.35, "wss@100": 0.40, "rrf@10": 1 / 3, "atd": 10 / 3, "atd_share": 1 / 3})


def test_recall_curve():
    x, r = recall_curve(ORDER)
    assert x.tolist() == list(range(1, 11))
    assert r.tolist() == pytest.approx([1 / 3, 1 / 3, 2 / 3, 2 / 3, 2 / 3, 1, 1, 1, 1, 1])


def test_a_perfect_and_a_worst_order():
    best, worst = [1, 1] + [0] * 8, [0] * 8 + [1, 1]
    assert wss(best, 1.0) == pytest.approx(0.8) and wss(worst, 1.0) == 0.0
    assert wss(worst, 0.95) == pytest.approx(-0.05)     # below random
    assert atd(best) == 1.5 and atd(worst) == 9.5


@pytest.mark.parametrize("bad", [[], [0, 0, 0], [1, 2], np.zeros((2, 2))])
def test_bad_orders_are_refused(bad):
    with pytest.raises(DataError):
        screening_metrics(bad)
    with pytest.raises(ValueError, match="recall"):
        wss(ORDER, 0.0)
