"""SMILES enumeration, registered in :data:`serendip.models.registries.AUGMENTATIONS` as ``randomized_smiles``.

A molecule has many valid SMILES: one per choice of starting atom and branch order. Training on several
"randomised" SMILES of each molecule and averaging predictions over several at test time helps
SMILES-based models (Bjerrum, "SMILES Enumeration as Data Augmentation for Neural Network Modeling of
Molecules", arXiv:1703.07076, 2017; Arús-Pous et al., J. Cheminform. 11:71, 2019).

How a variant is made, reproducibly from the engine's ``numpy.random.Generator`` (RDKit's own
``doRandom=True`` draws from RDKit's global random state, which the engine cannot seed per
augmentation): the molecule's atoms are renumbered by a permutation drawn from the generator
(``Chem.RenumberAtoms``) and written with ``Chem.MolToSmiles(mol, canonical=False)``, which starts
at atom 0 and follows the new atom order. Every variant is then *checked*: parsed again and its
canonical SMILES compared with the original's. A variant that fails (it would be another molecule,
e.g. lost stereochemistry) is dropped and counted, never kept; a variant whose text equals the
original or an earlier variant of the same molecule is dropped and counted too (a small molecule has
few SMILES), so an example yields at most ``n`` new examples, drawn in at most ``max_tries * n``
permutations. The counts are the augmentation's :attr:`RandomizedSmiles.last_counts`, recorded by
the engine in the run's augmentation report.

New examples keep the label, ``text_pair`` and ``source`` of their original; ``id`` is the original's
plus ``":rs<j>"``; ``meta`` gets ``augmented_from`` and ``augmentation``. The engine drops a variant
whose text equals a dev or test text (the leakage filter of :func:`serendip.models.augment.apply_augmentations`).

The test-time view (:meth:`RandomizedSmiles.view`) is deterministic: the permutation is seeded from
the SHA-256 of the text and ``view_seed``, so the same SMILES always gives the same view. For ``k``
views, list ``k`` entries with ``train = false, test_time = true`` and distinct ``view_seed``.
"""
from __future__ import annotations

import hashlib
from collections.abc import Sequence as Seq
from typing import Any

import numpy as np
from rdkit import Chem, rdBase

from serendip.chem.standardize import parse_smiles
from serendip.errors import ConfigError, DataError
from serendip.models.augment import as_generator
from serendip.models.example import Example
from serendip.models.registries import AUGMENTATIONS

__all__ = ["RandomizedSmiles", "randomized_smiles"]


def _canonical(smiles: str) -> str | None:
    """RDKit's canonical SMILES of ``smiles``, or None when it does not parse."""
    with rdBase.BlockLogs():
        mol = Chem.MolFromSmiles(smiles)
    return None if mol is None else Chem.MolToSmiles(mol)


def randomized_smiles(mol: Chem.Mol, rng: np.random.Generator) -> str:
    """One SMILES of ``mol`` with its atoms in an order drawn from ``rng`` (unchecked).

    Parameters
    ----------
    mol : rdkit.Chem.Mol
        A sanitised molecule with N atoms.
    rng : numpy.random.Generator
        Draws one permutation of N atoms.

    Returns
    -------
    str
        ``Chem.MolToSmiles(Chem.RenumberAtoms(mol, perm), canonical=False)``: same seed, same string.
    """
    perm = rng.permutation(mol.GetNumAtoms()).tolist()
    return Chem.MolToSmiles(Chem.RenumberAtoms(mol, perm), canonical=False)


def _where(ex: Example, i: int) -> str:
    return f"example {ex.id!r}" if ex.id is not None else f"example #{i}" + (f" ({ex.source})" if ex.source else "")


@AUGMENTATIONS.register("randomized_smiles")
class RandomizedSmiles:
    """Randomised SMILES of every training example, each checked to canonicalise back (see module docstring).

    Parameters
    ----------
    n : int, default=5
        Most new examples per example (fewer when the molecule has fewer distinct SMILES or a
        variant fails its check).
    max_tries : int, default=10
        Permutations tried per example: at most ``max_tries * n``.
    view_seed : int, default=0
        Mixed into the seed of :meth:`view` (distinct seeds give distinct test-time views).

    Attributes
    ----------
    last_counts : dict
        After :meth:`apply`: ``{"failed_check", "duplicates", "short"}`` - variants dropped because they
        did not canonicalise back, variants equal to the original or an earlier variant, and examples
        that got fewer than ``n`` variants.
    """

    name = "randomized_smiles"

    def __init__(self, n: int = 5, max_tries: int = 10, view_seed: int = 0):
        for key, value in (("n", n), ("max_tries", max_tries)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ConfigError(f"randomized_smiles {key} must be a positive integer, got {value!r}")
        if isinstance(view_seed, bool) or not isinstance(view_seed, (int, np.integer)) or view_seed < 0:
            raise ConfigError(f"randomized_smiles view_seed must be a non-negative integer, got {view_seed!r}")
        self.n, self.max_tries, self.view_seed = int(n), int(max_tries), int(view_seed)
        self.last_counts: dict[str, Any] = {"failed_check": 0, "duplicates": 0, "short": 0}

    def _mol(self, text: str, where: str) -> tuple[Chem.Mol, str]:
        mol, reason = parse_smiles(text.strip() if isinstance(text, str) else "")
        if mol is None:
            raise DataError(f"{where}: the SMILES {text!r} is not a valid molecule ({reason}); "
                            f"fix or remove it (read molecule files with the 'smiles' reader to skip and "
                            f"report such records)")
        return mol, Chem.MolToSmiles(mol)

    def variants(self, text: str, rng: np.random.Generator, where: str = "SMILES", n: int | None = None,
                 counts: dict[str, Any] | None = None) -> list[str]:
        """Up to ``n`` (default ``self.n``) distinct checked randomised SMILES of ``text``, never
        ``text`` itself; what was dropped is added to ``counts`` (default :attr:`last_counts`).

        Raises
        ------
        DataError
            ``text`` is not a valid molecule (names ``where`` and RDKit's reason).
        """
        n = self.n if n is None else n
        counts = self.last_counts if counts is None else counts
        mol, canonical = self._mol(text, where)
        seen, out = {text}, []
        for _ in range(self.max_tries * n):
            if len(out) == n:
                break
            smi = randomized_smiles(mol, rng)
            if smi in seen:
                counts["duplicates"] += 1
                continue
            if _canonical(smi) != canonical:
                counts["failed_check"] += 1
                continue
            seen.add(smi)
            out.append(smi)
        if len(out) < n:
            counts["short"] += 1
        return out

    def apply(self, examples: Seq[Example], rng: np.random.Generator | int | None = None) -> list[Example]:
        """Up to ``n`` new examples per example (ids + ``":rs<j>"``), drawn from ``rng``.

        Parameters
        ----------
        examples : sequence of Example
            ``text`` is a SMILES.
        rng : numpy.random.Generator or int
            The random source (an int seeds a new generator); same seed, same output.

        Returns
        -------
        list of Example
            New examples only, in input order.

        Raises
        ------
        DataError
            An example's text is not a valid molecule (the message names the example and RDKit's reason).
        """
        gen = as_generator(rng)
        self.last_counts = {"failed_check": 0, "duplicates": 0, "short": 0}
        out = []
        for i, ex in enumerate(examples):
            for j, smi in enumerate(self.variants(ex.text, gen, _where(ex, i))):
                meta = {**(ex.meta or {}), "augmented_from": ex.id, "augmentation": self.name}
                out.append(Example(text=smi, label=ex.label, text_pair=ex.text_pair,
                                   id=None if ex.id is None else f"{ex.id}:rs{j}", source=ex.source, meta=meta))
        return out

    def view(self, text: str) -> str:
        """A deterministic checked randomised SMILES of ``text`` (test-time averaging view).

        The permutation is seeded from SHA-256 of ``"<view_seed>:<text>"``; when no permutation in
        ``max_tries`` gives a different checked SMILES, ``text`` itself is returned (the same molecule).

        Raises
        ------
        DataError
            ``text`` is not a valid molecule.
        """
        digest = hashlib.sha256(f"{self.view_seed}:{text}".encode()).digest()
        gen = np.random.default_rng(int.from_bytes(digest[:8], "little"))
        found = self.variants(text, gen, n=1, counts={"failed_check": 0, "duplicates": 0, "short": 0})
        return found[0] if found else text
