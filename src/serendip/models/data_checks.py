"""Checks on training data: texts shared across splits (:class:`Duplicate`, reported, never dropped)
and classes under 5 % of the training labels (:class:`ClassImbalanceWarning`). Used by
:func:`serendip.models.data.load_splits`, which re-exports these names."""
from __future__ import annotations

import warnings
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from serendip.models.example import Example
from serendip.models.tasks import Task

__all__ = ["IMBALANCE_THRESHOLD", "ClassImbalanceWarning", "Duplicate", "check_imbalance", "find_duplicates"]

#: A class under this fraction of the training labels raises :class:`ClassImbalanceWarning`.
IMBALANCE_THRESHOLD = 0.05
class ClassImbalanceWarning(UserWarning):
    """A class holds under 5 % of the training labels (see :data:`IMBALANCE_THRESHOLD`)."""


@dataclass(slots=True)
class Duplicate:
    """A text found in two splits.

    ``kind`` is ``"text"`` (same ``text``) or ``"text+pair"`` (same ``text`` and ``text_pair``; only
    checked when the data has pairs). ``splits`` names the two splits, ``ids`` the examples holding it
    in each, ``labels_agree`` whether all their labels are equal (False: a contradictory label).
    """

    kind: str
    splits: tuple[str, str]
    text: str
    text_pair: str | None
    ids: tuple[list[str | None], list[str | None]]
    labels_agree: bool


def find_duplicates(splits: Mapping[str, Sequence[Example]]) -> list[Duplicate]:
    """Texts that occur in two different splits.

    Compares ``text`` exactly (no case or whitespace folding: for DNA or SMILES case may matter), and,
    when any example has a ``text_pair``, also ``(text, text_pair)``.

    Returns
    -------
    list of Duplicate
        One per text and pair of splits, in split order (train/dev, train/test, dev/test).
    """
    names = list(splits)
    has_pairs = any(ex.text_pair is not None for exs in splits.values() for ex in exs)
    kinds: list[tuple[str, Callable[[Example], Any]]] = [("text", lambda ex: ex.text)]
    if has_pairs:
        kinds.append(("text+pair", lambda ex: (ex.text, ex.text_pair)))
    found: list[Duplicate] = []
    for kind, key in kinds:
        index: dict[str, dict[Any, list[Example]]] = {}
        for name in names:
            groups: dict[Any, list[Example]] = defaultdict(list)
            for ex in splits[name]:
                groups[key(ex)].append(ex)
            index[name] = groups
        for i, a in enumerate(names):
            for b in names[i + 1:]:
                shared = [k for k in index[a] if k in index[b]]
                for k in shared:
                    ga, gb = index[a][k], index[b][k]
                    labels = [ex.label for ex in ga + gb]
                    text, pair = (k if kind == "text+pair" else (k, None))
                    found.append(Duplicate(kind, (a, b), text, pair, ([ex.id for ex in ga],
                                           [ex.id for ex in gb]),
                                           all(lab == labels[0] for lab in labels)))
    return found


def _within(examples: Sequence[Example]) -> int:
    seen: set[str] = set()
    repeats = 0
    for ex in examples:
        if ex.text in seen:
            repeats += 1
        seen.add(ex.text)
    return repeats


def check_imbalance(examples: Sequence[Example], task: Task | None = None, *,
                    threshold: float = IMBALANCE_THRESHOLD, stacklevel: int = 2
                    ) -> list[dict[str, Any]]:
    """Classes under ``threshold`` of the training labels; warns :class:`ClassImbalanceWarning`.

    For single-label tasks the fraction is the class's share of the examples; for multi-label tasks
    its prevalence (share of examples carrying it). Regression and token tasks are not checked.
    Without a task, labels that are all strings are treated as single-label classes.

    Returns
    -------
    list of dict
        ``{"class": str, "count": int, "fraction": float}`` per rare class, rarest first.
    """
    if not examples:
        return []
    if task is not None:
        if task.label_kind not in ("class", "classes"):
            return []
        counts = task.label_counts(examples)
    elif all(isinstance(ex.label, str) for ex in examples):
        counts = defaultdict(int)
        for ex in examples:
            counts[ex.label] += 1
    else:
        return []
    n = len(examples)
    rare = sorted(({"class": str(c), "count": int(k), "fraction": k / n}
                   for c, k in counts.items() if k / n < threshold),
                  key=lambda r: (r["count"], r["class"]))
    if rare:
        listed = "; ".join(f"{r['class']!r}: {r['count']} of {n} ({r['fraction']:.1%})" for r in rare)
        warnings.warn(f"class imbalance: under {threshold:.0%} of the training labels: {listed}. "
                      f"Consider imbalance = class_weight, focal, oversample or undersample, and "
                      f"judge by MCC / macro F1 / PR-AUC rather than accuracy.",
                      ClassImbalanceWarning, stacklevel=stacklevel)
    return rare
