"""Train/validation/test splits in :data:`SPLITTERS`, and split files Chemprop reads.

Every split is a :class:`Split` that carries its ``kind`` and ``seed``, stored beside every figure:

* ``random``: ``numpy.random.default_rng(seed).permutation(n)`` cut 80/10/10 (train first).
* ``scaffold``: Bemis–Murcko scaffolds (Bemis & Murcko 1996; RDKit ``MurckoScaffoldSmiles`` without
  chirality), *balanced* as chemprop v1 defines ``scaffold_balanced`` (Yang et al. 2019,
  ``chemprop/data/scaffold.py``): scaffold sets larger than half the validation or test size go first
  in random order, then the small sets in random order; each set goes whole to train while it fits,
  else to validation while it fits, else to test. The seed orders the sets (numpy ``default_rng``).
* ``stratified``: class-stratified (classification) or quantile-bin-stratified (regression) with
  scikit-learn's ``StratifiedShuffleSplit``.
* ``kfold``: fold ``fold`` of ``k`` shuffled folds as test, the next fold as validation.

:func:`write_chemprop_splits` writes the JSON list of ``{"train", "val", "test"}`` index lists that
``chemprop train --splits-file`` accepts (chemprop 2.3, ``cli/train.py``).
"""
from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from rdkit import rdBase
from rdkit.Chem.Scaffolds import MurckoScaffold

from serendip.chem.featurizers import to_mol
from serendip.errors import ConfigError
from serendip.registry import Registry

__all__ = ["SPLITTERS", "Split", "make_split", "murcko_scaffold", "write_chemprop_splits"]

SIZES = (0.8, 0.1, 0.1)


@dataclass(frozen=True)
class Split:
    """Index arrays (int64, into the dataset's rows) with the ``kind`` and ``seed`` that made them."""

    train: np.ndarray
    val: np.ndarray
    test: np.ndarray
    kind: str
    seed: int

    def to_json(self) -> dict:
        """``{"train": [...], "val": [...], "test": [...], "kind", "seed"}`` (plain ints)."""
        d = asdict(self)
        return {k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in d.items()}


Splitter = Callable[..., Split]
SPLITTERS: Registry[Splitter] = Registry("split")


def _check_sizes(sizes: Sequence[float]) -> tuple[float, float, float]:
    if len(sizes) != 3 or abs(sum(sizes) - 1) > 1e-6 or min(sizes) < 0:
        raise ConfigError(f"split sizes must be three fractions summing to 1; got: {list(sizes)}")
    return float(sizes[0]), float(sizes[1]), float(sizes[2])


@SPLITTERS.register("random")
def random_split(smiles: Sequence[str], *, seed: int = 0, sizes: Sequence[float] = SIZES, **_) -> Split:
    """``default_rng(seed).permutation(n)``: first ``int(0.8 n)`` train, next ``int(0.1 n)`` val, rest test."""
    f_train, f_val, _f = _check_sizes(sizes)
    n = len(smiles)
    perm = np.random.default_rng(seed).permutation(n)
    a, b = int(f_train * n), int(f_train * n) + int(f_val * n)
    return Split(perm[:a], perm[a:b], perm[b:], "random", seed)


def murcko_scaffold(smiles: str) -> str:
    """Bemis–Murcko scaffold SMILES of ``smiles`` (no chirality; "" for an acyclic molecule)."""
    with rdBase.BlockLogs():
        return MurckoScaffold.MurckoScaffoldSmiles(mol=to_mol(smiles), includeChirality=False)


@SPLITTERS.register("scaffold", "scaffold_balanced")
def scaffold_split(smiles: Sequence[str], *, seed: int = 0, sizes: Sequence[float] = SIZES, **_) -> Split:
    """Balanced Bemis–Murcko scaffold split (chemprop v1 ``scaffold_split(balanced=True)``)."""
    f_train, f_val, f_test = _check_sizes(sizes)
    n = len(smiles)
    groups: dict[str, list[int]] = defaultdict(list)
    for i, s in enumerate(smiles):
        groups[murcko_scaffold(s)].append(i)
    n_train, n_val, n_test = f_train * n, f_val * n, f_test * n
    sets = list(groups.values())
    big = [s for s in sets if len(s) > n_val / 2 or len(s) > n_test / 2]
    small = [s for s in sets if not (len(s) > n_val / 2 or len(s) > n_test / 2)]
    rng = np.random.default_rng(seed)
    ordered = [big[i] for i in rng.permutation(len(big))] + [small[i] for i in rng.permutation(len(small))]
    train: list[int] = []
    val: list[int] = []
    test: list[int] = []
    for idx in ordered:
        if len(train) + len(idx) <= n_train:
            train += idx
        elif len(val) + len(idx) <= n_val:
            val += idx
        else:
            test += idx
    return Split(np.array(train, dtype=np.int64), np.array(val, dtype=np.int64),
                 np.array(test, dtype=np.int64), "scaffold", seed)


@SPLITTERS.register("stratified")
def stratified_split(smiles: Sequence[str], *, y: np.ndarray, seed: int = 0, sizes: Sequence[float] = SIZES,
                     n_bins: int = 10, **_) -> Split:
    """Stratified on ``y``: classes as they are, a regression target cut into ``n_bins`` quantile bins."""
    from sklearn.model_selection import train_test_split

    f_train, f_val, f_test = _check_sizes(sizes)
    y = np.asarray(y, dtype=np.float64)
    if len(y) != len(smiles):
        raise ConfigError(f"stratified split: {len(y)} targets for {len(smiles)} molecules")
    classes = len(np.unique(y)) <= 20
    strata = y if classes else np.digitize(y, np.quantile(y, np.linspace(0, 1, n_bins + 1)[1:-1]))
    idx = np.arange(len(y))
    train, rest = train_test_split(idx, train_size=f_train, random_state=seed, stratify=strata)
    val, test = train_test_split(rest, train_size=f_val / (f_val + f_test), random_state=seed,
                                 stratify=strata[rest])
    return Split(np.sort(train), np.sort(val), np.sort(test), "stratified", seed)


@SPLITTERS.register("kfold")
def kfold_split(smiles: Sequence[str], *, seed: int = 0, k: int = 5, fold: int = 0, **_) -> Split:
    """Fold ``fold`` of ``k`` (``default_rng(seed).permutation`` cut in ``k`` near-equal parts) is test,
    fold ``fold + 1 (mod k)`` validation, the rest train."""
    if not 0 <= fold < k or k < 3:
        raise ConfigError(f"kfold needs k >= 3 and 0 <= fold < k; got: k={k}, fold={fold}")
    parts = np.array_split(np.random.default_rng(seed).permutation(len(smiles)), k)
    test, val = parts[fold], parts[(fold + 1) % k]
    train = np.concatenate([p for i, p in enumerate(parts) if i not in (fold, (fold + 1) % k)])
    return Split(train, val, test, f"kfold{k}-{fold}", seed)


def make_split(kind: str, smiles: Sequence[str], *, seed: int = 0, **options) -> Split:
    """The split ``kind`` (a :data:`SPLITTERS` name) of ``smiles`` with ``seed`` (options: ``sizes``,
    ``y`` for ``stratified``, ``k``/``fold`` for ``kfold``).

    Raises
    ------
    ConfigError
        Unknown kind, bad sizes.
    """
    return SPLITTERS.get(kind)(smiles, seed=seed, **options)


def write_chemprop_splits(splits: Sequence[Split], path: str | Path) -> Path:
    """Write ``splits`` as chemprop 2's ``--splits-file`` JSON (one ``{"train","val","test"}`` per replicate).

    Returns
    -------
    Path
        ``path``.
    """
    path = Path(path)
    rows = [{"train": s.train.tolist(), "val": s.val.tolist(), "test": s.test.tolist()} for s in splits]
    path.write_text(json.dumps(rows))
    return path
