"""Small parts shared by the metric bundles (:mod:`serendip.models.metrics`,
:mod:`serendip.models.token_metrics`): NaN, plain floats, the input-length check."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from serendip.errors import DataError

NAN = float("nan")


def _f(x: Any) -> float:
    """A plain Python float (NaN stays NaN)."""
    return float(x)


def _check_lengths(**arrays: Sequence) -> int:
    lengths = {name: len(a) for name, a in arrays.items() if a is not None}
    if len(set(lengths.values())) > 1:
        got = ", ".join(f"{k}={v}" for k, v in lengths.items())
        raise DataError(f"metric inputs differ in length: {got}")
    n = next(iter(lengths.values()))
    if n == 0:
        raise DataError("cannot compute metrics on 0 examples")
    return n
