"""DNA data augmentations, registered in :data:`serendip.models.registries.AUGMENTATIONS`.

Each is a class with ``name`` and ``apply(examples, rng) -> list[Example]`` returning NEW examples only
(the caller keeps the originals and applies augmentations to training data only). New examples keep
the label, ``text_pair`` and ``source`` of their original; ``meta`` is the original's plus
``augmented_from`` (the original's id) and ``augmentation`` (the name). They are meant for
sequence-level labels: a per-position label is not reversed or changed.

* ``reverse_complement``: one new example per example, the IUPAC reverse complement of ``text``
  (case kept). The reverse strand carries the same information for strand-agnostic tasks; used as
  augmentation and test-time averaging by e.g. DeepBind (Alipanahi et al., Nat. Biotechnol. 33:831,
  2015) and Basset (Kelley et al., Genome Res. 26:990, 2016).
* ``random_substitution``: ``copies`` new examples per example, where each A/C/G/T (any case) is
  replaced, independently with probability ``rate``, by one of the three other bases chosen uniformly
  (case kept); other characters (N, IUPAC codes) are never changed. ``meta["n_substitutions"]`` gives
  the count (a copy may have none).
"""
from __future__ import annotations

from collections.abc import Sequence as Seq

import numpy as np

from serendip.errors import ConfigError, DataError
from serendip.genomics.revcomp import reverse_complement
from serendip.models.augment import as_generator
from serendip.models.example import Example
from serendip.models.registries import AUGMENTATIONS

__all__ = ["RandomSubstitution", "ReverseComplement"]

_CODE = np.full(256, 4, dtype=np.uint8)
for _i, _b in enumerate(b"ACGT"):
    _CODE[_b] = _i
    _CODE[_b + 32] = _i
_UPPER = np.frombuffer(b"ACGT", dtype=np.uint8)
_LOWER = np.frombuffer(b"acgt", dtype=np.uint8)


def _derived(ex: Example, text: str, name: str, suffix: str, **extra) -> Example:
    meta = dict(ex.meta)
    meta.update(augmented_from=ex.id, augmentation=name, **extra)
    return Example(text=text, label=ex.label, text_pair=ex.text_pair,
                   id=None if ex.id is None else f"{ex.id}{suffix}", source=ex.source, meta=meta)


@AUGMENTATIONS.register("reverse_complement")
class ReverseComplement:
    """Reverse complement of every example (see module docstring).

    Parameters
    ----------
    rna : bool, default=False
        Complement A to U instead of T.
    """

    name = "reverse_complement"

    def __init__(self, rna: bool = False):
        self.rna = rna

    def view(self, text: str) -> str:
        """The reverse complement of ``text`` (test-time averaging view).

        Raises
        ------
        DataError
            A character that is not an IUPAC nucleotide code (named with its position).
        """
        return reverse_complement(text, rna=self.rna)

    def apply(self, examples: Seq[Example], rng: np.random.Generator | int | None = None) -> list[Example]:
        """One new example per example (``id`` + ``":rc"``); ``rng`` is unused (deterministic).

        Raises
        ------
        DataError
            An example's text holds a character that is not an IUPAC nucleotide code (the message
            names the example id, the character and its position).
        """
        out = []
        for i, ex in enumerate(examples):
            try:
                text = reverse_complement(ex.text, rna=self.rna)
            except DataError as exc:
                raise DataError(f"example {ex.id or i}: {exc}") from None
            out.append(_derived(ex, text, self.name, ":rc"))
        return out


@AUGMENTATIONS.register("random_substitution")
class RandomSubstitution:
    """Random base substitutions at a per-base rate (see module docstring).

    Parameters
    ----------
    rate : float, default=0.01
        Probability that each A/C/G/T is substituted, in [0, 1].
    copies : int, default=1
        New examples per example.
    """

    name = "random_substitution"

    def __init__(self, rate: float = 0.01, copies: int = 1):
        if not 0.0 <= float(rate) <= 1.0:
            raise ConfigError(f"random_substitution rate must be in [0, 1], got {rate!r}")
        if int(copies) != copies or copies < 1:
            raise ConfigError(f"random_substitution copies must be a positive integer, got {copies!r}")
        self.rate = float(rate)
        self.copies = int(copies)

    def apply(self, examples: Seq[Example], rng: np.random.Generator | int | None = None) -> list[Example]:
        """``copies`` new examples per example (ids + ``":sub<j>"``), drawn from ``rng``.

        Parameters
        ----------
        examples : sequence of Example
            DNA texts (any characters; only A/C/G/T of either case are substituted).
        rng : numpy.random.Generator or int
            The random source (an int seeds a new generator); same seed, same output.
        """
        gen = as_generator(rng)
        out = []
        for ex in examples:
            raw = np.frombuffer(ex.text.encode("ascii", "replace"), dtype=np.uint8)
            codes = _CODE[raw]
            eligible = codes < 4
            for j in range(self.copies):
                hit = eligible & (gen.random(raw.size) < self.rate)
                new = raw.copy()
                if hit.any():
                    shifted = (codes[hit] + gen.integers(1, 4, size=int(hit.sum()))) % 4
                    new[hit] = np.where(raw[hit] >= 97, _LOWER[shifted], _UPPER[shifted])
                text = ex.text if not hit.any() else _splice(ex.text, new, hit)
                out.append(_derived(ex, text, self.name, f":sub{j}", n_substitutions=int(hit.sum())))
        return out


def _splice(text: str, new: np.ndarray, hit: np.ndarray) -> str:
    """``text`` with the positions in ``hit`` (all ASCII bases) replaced by ``new``'s bytes."""
    chars = list(text)
    for p in np.flatnonzero(hit):
        chars[p] = chr(new[p])
    return "".join(chars)
