"""Summaries of a fine-tuning run's ``metrics.json`` for people and for ``--json`` output: what
``serendip finetune`` and ``serendip runs show`` print, as data (the CLI only formats it).
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["metric_table", "metrics_summary", "numeric_metrics"]


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def metrics_summary(metrics: Mapping[str, Any]) -> dict[str, Any]:
    """The headline part of ``metrics.json`` as strict JSON (NaN -> None): ``selection``, ``best``
    (dev metrics of the selected epoch), ``test``, parameter counts and ``notes``."""
    from serendip.models.runs import _strict

    return _strict({"selection": metrics.get("selection"), "best": metrics.get("best"),
                    "test": metrics.get("test"), "trainable_params": metrics.get("trainable_params"),
                    "total_params": metrics.get("total_params"),
                    "trainable_fraction": metrics.get("trainable_fraction"),
                    "notes": metrics.get("notes", [])})


def numeric_metrics(metrics: Mapping[str, Any] | None) -> dict[str, float | int]:
    """The numeric entries of a metric dict (``n``, the example count, left out)."""
    return {k: v for k, v in (metrics or {}).items() if _is_number(v) and k != "n"}


def metric_table(metrics: Mapping[str, Any]) -> list[tuple[str, Any, Any]]:
    """Rows ``(metric, best dev value, test value)`` of ``metrics.json``, for every numeric metric
    of the best dev epoch or the test split (a value the split lacks is None)."""
    best, test = metrics.get("best") or {}, metrics.get("test") or {}
    keys = [k for k in dict.fromkeys([*best, *test]) if _is_number(best.get(k, test.get(k)))]
    return [(k, best.get(k), test.get(k)) for k in keys]
