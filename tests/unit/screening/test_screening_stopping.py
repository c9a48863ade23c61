"""Stopping rules on constructed screening orders: when they stop and the recall they estimate,
against values worked out by hand (hypergeometric probabilities as ratios of binomials)."""
from __future__ import annotations

from math import comb

import numpy as np
import pytest

from serendip.screening.stopping import (
    STOPPING_RULES,
    ConsecutiveExcludes,
    Hypergeometric,
    hypergeometric_p,
)


def test_consecutive_excludes_stops_after_n_excludes_in_a_row():
    rule = ConsecutiveExcludes(n=3)
    seq = [1, 0, 1, 0, 0, 0, 1, 0, 0, 0]
    assert rule.first_stop(seq, 10) == 6
    assert not rule.check(seq[:5], 10).stop and rule.check(seq[:6], 10).stop
    # 2 found, 4 unscreened, the last 3 all excludes: 4 * (0 + 1) / (3 + 2) = 0.8 guessed missing
    assert rule.check(seq[:6], 10).recall_estimate == pytest.approx(2 / 2.8)
    assert rule.first_stop([0, 0, 0], 10) is None       # n excludes but not more than n records yet
    assert rule.check([1, 0], 2) == rule.check([1, 0], 2) and rule.check([1, 0], 2).stop  # all screened


def test_hypergeometric_p_value_is_the_smallest_tail_probability():
    # 8 of 10 screened, includes first; target 0.95: H0 total >= floor(2 / 0.95) + 1 = 3.
    # a tail of w <= 6 excludes drawn from 2 + w records holding 1 include: P(0 found) = 2 / (2 + w)
    seq = [1, 1, 0, 0, 0, 0, 0, 0]
    assert hypergeometric_p(seq, 10, 3) == pytest.approx(2 / 8)
    tail7 = 1 - comb(2, 2) * comb(7, 5) / comb(9, 7)     # w = 7 holds one include: P(X <= 1)
    assert tail7 > 2 / 8
    assert Hypergeometric().p_value(seq, 10) == pytest.approx(2 / 8)


def test_hypergeometric_stops_once_h0_is_rejected():
    # 10 includes then excludes, 100 records: H0 total >= 11; p = left / (left + w) for the longest
    # all-exclude tail: 5 / 90 at 95 screened (>= 0.05), 4 / 90 at 96 (< 0.05)
    seq = [1] * 10 + [0] * 90
    rule = Hypergeometric(target=0.95, alpha=0.05)
    assert rule.p_value(seq[:95], 100) == pytest.approx(5 / 90)
    assert rule.p_value(seq[:96], 100) == pytest.approx(4 / 90)
    assert rule.first_stop(seq, 100) == 96
    assert rule.check(seq[:96], 100).stop and not rule.check(seq[:95], 100).stop


def test_hypergeometric_recall_bound():
    seq = [1] * 10 + [0] * 90
    rule = Hypergeometric()
    # at 96 screened H0 "11 includes" is rejected: every total above 10 is, so recall >= 10 / 10
    assert rule.recall_bound(seq[:96], 100) == pytest.approx(1.0)
    # at 95: 11 is not rejected (p = 5/90) but 12 is (p = 5*4 / (90*89)): recall >= 10 / 11
    assert rule.recall_bound(seq[:95], 100) == pytest.approx(10 / 11)
    assert rule.recall_bound([0, 0], 100) == 0.0 and rule.recall_bound([1] * 100, 100) == 1.0
    # more screened without a new include never lowers the bound
    bounds = [rule.recall_bound(seq[:m], 100) for m in range(10, 100, 10)]
    assert bounds == sorted(bounds)


def test_an_impossible_h0_has_p_zero():
    # 99 of 100 screened, 20 found: H0 needs floor(20 / 0.95) + 1 = 22 includes, 1 record left
    assert hypergeometric_p([1] * 20 + [0] * 79, 100, 22) == 0.0


@pytest.mark.parametrize("name", STOPPING_RULES.keys())
def test_every_rule_stops_where_its_check_first_says_stop(name):
    rule = STOPPING_RULES.get(name)
    seq = [1, 1, 0, 1, 0] + [0] * 195
    m = rule.first_stop(seq, 200)
    assert m is not None and rule.check(seq[:m], 200).stop
    assert not any(rule.check(seq[:k], 200).stop for k in range(1, m))
    est = [rule.check(seq[:k], 200).recall_estimate for k in (5, m, 200)]
    assert all(0 <= e <= 1 for e in est) and est[-1] == 1.0
    with pytest.raises(ValueError):
        rule.check([0, 2], 10)


def test_every_rule_has_a_case_here():
    assert set(STOPPING_RULES.keys()) == {"consecutive-excludes", "hypergeometric"}, (
        "a new stopping rule needs its own hand-worked test in this file")


def _every_tail_p(y, n_total, total):
    """The p-value over every tail (the paper's definition), for checking the shortcut."""
    from scipy.stats import hypergeom

    y = np.asarray(y)
    k = np.cumsum(y[::-1])
    draws = np.arange(1, len(y) + 1)
    urn = n_total - len(y) + draws
    succ = total - (y.sum() - k)
    if ((succ > urn) | (draws - k > urn - succ)).any():
        return 0.0
    return hypergeom.cdf(k, urn, succ, draws).min()


def test_the_longest_tails_give_the_same_p_as_every_tail():
    rng = np.random.default_rng(1)
    for _ in range(150):
        n_total = int(rng.integers(5, 90))
        y = (rng.random(int(rng.integers(1, n_total + 1))) < rng.random() * 0.6).astype(int)
        for total in range(int(y.sum()), int(y.sum()) + 4):
            assert hypergeometric_p(y, n_total, total) == pytest.approx(_every_tail_p(y, n_total, total), abs=1e-12)
