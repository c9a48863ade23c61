"""IUPAC-aware reverse complement that keeps case (soft-masking survives).

Complements follow the IUPAC-IUB nucleotide table (Cornish-Bowden, "Nomenclature for incompletely
specified bases in nucleic acid sequences: recommendations 1984", Nucleic Acids Res. 13:3021-3030,
1985, Table 1): A<->T, C<->G, R (A/G) <-> Y (C/T), K (G/T) <-> M (A/C), B (not A) <-> V (not T),
D (not C) <-> H (not G); S (C/G), W (A/T) and N are their own complements. U (RNA) complements to A;
A complements to T, or to U with ``rna=True``. The gap ``-`` is kept as is.
"""
from __future__ import annotations

from serendip.errors import DataError

__all__ = ["COMPLEMENT", "complement", "reverse_complement"]

#: Upper-case IUPAC code -> its complement (Cornish-Bowden 1985, Table 1); lower case maps likewise.
COMPLEMENT: dict[str, str] = {
    "A": "T", "C": "G", "G": "C", "T": "A", "U": "A",
    "R": "Y", "Y": "R", "S": "S", "W": "W", "K": "M", "M": "K",
    "B": "V", "V": "B", "D": "H", "H": "D", "N": "N", "-": "-",
}


def _table(rna: bool) -> dict[int, str]:
    pairs = dict(COMPLEMENT)
    if rna:
        pairs["A"] = "U"
    table = {ord(k): v for k, v in pairs.items()}
    table.update({ord(k.lower()): v.lower() for k, v in pairs.items() if k.isalpha()})
    return table


_DNA = _table(False)
_RNA = _table(True)


def _check(seq: str, table: dict[int, str]) -> None:
    for i, ch in enumerate(seq):
        if ord(ch) not in table:
            raise DataError(f"cannot complement {ch!r} at position {i + 1} (1-based): not an IUPAC "
                            f"nucleotide code (A C G T U R Y S W K M B D H V N or -)")


def complement(seq: str, *, rna: bool = False) -> str:
    """Complement of ``seq``, base by base, case kept (``"acgR" -> "tgcY"``).

    Parameters
    ----------
    seq : str
        IUPAC nucleotide codes (any case) and ``-``.
    rna : bool, default=False
        Complement A to U instead of T.

    Raises
    ------
    DataError
        A character is not an IUPAC nucleotide code; the message gives it and its 1-based position.
    """
    table = _RNA if rna else _DNA
    if any(ord(c) not in table for c in set(seq)):
        _check(seq, table)
    return seq.translate(table)


def reverse_complement(seq: str, *, rna: bool = False) -> str:
    """Reverse complement of ``seq``, case kept (``"ACGTnn" -> "nnACGT"``, ``"AAR" -> "YTT"``):
    :func:`complement` (same parameters, same :class:`DataError` for a non-IUPAC character), reversed;
    the result has the length of ``seq``."""
    return complement(seq, rna=rna)[::-1]
