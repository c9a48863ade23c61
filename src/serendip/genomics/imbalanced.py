"""Derived imbalanced splits of a balanced binary task: keep every negative, sample the positives.

:func:`imbalanced_splits` turns official train/dev/test splits (e.g. GUE ``prom_core_all``, about
50 % positives, from :func:`serendip.genomics.gue.load_gue`) into splits in which the positive class is
a given fraction (default 5 %) of *each* split, separately: every negative row of a split is kept, in
its original order, and ``k = round(N_neg * f / (1 - f))`` positive rows of the same split are drawn
without replacement (``numpy.random.default_rng([seed, i])``, ``i`` the split's position among the
split names, so each split has its own stream and the draw of one split does not depend on another's
size); the kept rows keep their original order. Nothing moves between splits, so a sequence is in two
derived splits only where it was in both official splits (the official overlap, reported by
:func:`serendip.genomics.gue.split_report`, can only shrink). The same ``seed`` gives the same rows.

Used by ``benchmarks/imbalance_dna.py`` (class weights and focal loss against plain cross-entropy on
a rare positive class).
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from serendip.errors import DataError
from serendip.models.example import Example

__all__ = ["ImbalanceReport", "imbalanced_splits", "positives_to_keep"]


def positives_to_keep(n_negative: int, fraction: float) -> int:
    """Number of positives ``k`` with ``k / (n_negative + k)`` closest to ``fraction``:
    ``round(n_negative * fraction / (1 - fraction))`` (round half to even, Python's ``round``).

    Raises
    ------
    DataError
        ``fraction`` not in (0, 1).
    """
    if not 0.0 < fraction < 1.0:
        raise DataError(f"positive fraction must be in (0, 1); got {fraction}")
    return round(n_negative * fraction / (1.0 - fraction))


@dataclass
class ImbalanceReport:
    """What :func:`imbalanced_splits` kept, per split: ``negatives`` and ``positives`` kept,
    ``positives_available`` (in the official split), ``rows`` (kept total), ``fraction`` (positives /
    rows), and the ``seed`` and target ``target_fraction``."""

    seed: int
    target_fraction: float
    negatives: dict[str, int] = field(default_factory=dict)
    positives: dict[str, int] = field(default_factory=dict)
    positives_available: dict[str, int] = field(default_factory=dict)
    rows: dict[str, int] = field(default_factory=dict)
    fraction: dict[str, float] = field(default_factory=dict)

    def __str__(self) -> str:
        return "; ".join(f"{s}: {self.rows[s]} rows = {self.negatives[s]} negatives (all) + "
                         f"{self.positives[s]} of {self.positives_available[s]} positives "
                         f"({100 * self.fraction[s]:.2f} %)" for s in self.rows)


def imbalanced_splits(splits: Mapping[str, Sequence[Example]], fraction: float = 0.05, seed: int = 0,
                      *, positive: str = "1", negative: str = "0"
                      ) -> tuple[dict[str, list[Example]], ImbalanceReport]:
    """Splits with every negative kept and a seeded sample of positives making ``fraction`` of each.

    Parameters
    ----------
    splits : mapping of split name to sequence of Example
        E.g. a :class:`~serendip.genomics.gue.GueSplits` (``train``, ``dev``, ``test``). Labels are
        compared as given (GUE labels are the strings ``"0"`` and ``"1"``).
    fraction : float in (0, 1), default 0.05
        Target share of positives in every split (met to within one example: see
        :func:`positives_to_keep`).
    seed : int, default 0
        Seed of the positive draw (split ``i`` uses ``numpy.random.default_rng([seed, i])``).
    positive, negative : str
        The two labels.

    Returns
    -------
    (splits, report) : dict of str to list of Example, ImbalanceReport
        New lists holding the same Example objects (not copies), in their original order.

    Raises
    ------
    DataError
        A label other than ``positive``/``negative`` (the example is named), a split with no
        negative, or fewer positives available than needed.
    """
    report = ImbalanceReport(seed=seed, target_fraction=fraction)
    out: dict[str, list[Example]] = {}
    for i, (name, exs) in enumerate(splits.items()):
        pos_ix, neg = [], 0
        for j, e in enumerate(exs):
            if e.label == positive:
                pos_ix.append(j)
            elif e.label == negative:
                neg += 1
            else:
                raise DataError(f"{name} example {e.id or j}: label {e.label!r} is neither "
                                f"{positive!r} nor {negative!r}")
        if neg == 0:
            raise DataError(f"{name}: no negative ({negative!r}) example to keep")
        k = positives_to_keep(neg, fraction)
        if k > len(pos_ix):
            raise DataError(f"{name}: {k} positives needed for {fraction:.1%} of the split, only "
                            f"{len(pos_ix)} available")
        rng = np.random.default_rng([seed, i])
        chosen = set(rng.choice(np.asarray(pos_ix, dtype=np.int64), size=k, replace=False).tolist())
        out[name] = [e for j, e in enumerate(exs) if e.label == negative or j in chosen]
        report.negatives[name] = neg
        report.positives[name] = k
        report.positives_available[name] = len(pos_ix)
        report.rows[name] = len(out[name])
        report.fraction[name] = k / len(out[name])
    return out, report
