"""Recall curves of simulations as a PNG (matplotlib's object API, Agg; no pyplot, no window)."""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from serendip.errors import ConfigError
from serendip.screening.simulate import SimulationResult

__all__ = ["check_plot_path", "plot_recall"]


def check_plot_path(path: str | Path) -> Path:
    """``path`` as a Path, or ConfigError when no PNG can be written there: it is a folder, or a part of
    it is a file (``afile/x.png``). Called before a simulation runs, so a bad path costs no run; missing
    folders are fine (:func:`plot_recall` creates them)."""
    out = Path(path)
    if out.is_dir():
        raise ConfigError(f"--plot {out}: a folder, not a PNG file path")
    for parent in out.parents:
        if parent.exists():
            if not parent.is_dir():
                raise ConfigError(f"--plot {out}: {parent} is a file, not a folder")
            break
    return out


def plot_recall(results: Sequence[SimulationResult], labels_by_set: dict[str, np.ndarray], path: str | Path
                ) -> Path:
    """Recall against the share of records screened (priors left out), one thin line per seed and one
    colour per result, with random screening's diagonal and the 95 % recall level.

    Parameters
    ----------
    results : sequence of SimulationResult
    labels_by_set : dict of str to ndarray
        Each result's set name -> its labels (int8, shape (n,)), to read the runs' screening orders.
    path : str or Path
        PNG written (folders created).

    Returns
    -------
    Path

    Raises
    ------
    ConfigError
        matplotlib is not installed.
    """
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise ConfigError("the recall plot needs matplotlib, which is not installed (pip install matplotlib)") from None
    fig = Figure(figsize=(6.0, 4.5), dpi=120, layout="constrained")
    ax = fig.add_subplot()
    colours = [f"C{i}" for i in range(10)]
    for i, res in enumerate(results):
        labels = labels_by_set[res.dataset]
        for j, run in enumerate(res.runs):
            y = run.labels_after_priors(labels, res.n)
            x = np.arange(1, len(y) + 1) / len(y)
            ax.plot(x, np.cumsum(y) / y.sum(), color=colours[i % 10], lw=1,
                    label=f"{res.model} ({len(res.runs)} seeds)" if j == 0 else None)
    ax.plot([0, 1], [0, 1], color="grey", ls="--", lw=1, label="random")
    ax.axhline(0.95, color="grey", ls=":", lw=1)
    ax.set_xlabel("share of records screened")
    ax.set_ylabel("recall")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.01)
    ax.set_title(", ".join(sorted({r.dataset for r in results})))
    ax.legend(loc="lower right", fontsize=8)
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, format="png")
    return out
