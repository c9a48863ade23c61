"""IUPAC reverse complement (Cornish-Bowden 1985, Table 1), case kept."""
from __future__ import annotations

import pytest

from serendip.errors import DataError
from serendip.genomics.revcomp import COMPLEMENT, complement, reverse_complement

# Cornish-Bowden 1985 Table 1: symbol -> complement
IUPAC_TABLE = {"A": "T", "C": "G", "G": "C", "T": "A", "R": "Y", "Y": "R", "S": "S", "W": "W",
               "K": "M", "M": "K", "B": "V", "V": "B", "D": "H", "H": "D", "N": "N"}


def test_table_matches_cornish_bowden():
    for k, v in IUPAC_TABLE.items():
        assert COMPLEMENT[k] == v
        assert complement(k) == v and complement(k.lower()) == v.lower()


def test_reverse_complement_examples():
    assert reverse_complement("ACGT") == "ACGT"
    assert reverse_complement("AACG") == "CGTT"
    assert reverse_complement("ACGTnnRYkm-") == "-kmRYnnACGT"
    assert reverse_complement("ttttGGGGccccAAAA") == "TTTTggggCCCCaaaa"
    assert reverse_complement("") == ""


def test_involution_on_all_codes():
    s = "".join(IUPAC_TABLE) + "".join(IUPAC_TABLE).lower() + "-"
    assert reverse_complement(reverse_complement(s)) == s


def test_rna():
    assert reverse_complement("AUGC") == "GCAT"
    assert reverse_complement("AUGC", rna=True) == "GCAU"


def test_invalid_character_named_with_position():
    with pytest.raises(DataError, match=r"'#' at position 5"):
        reverse_complement("ACGT#ACGT")
    with pytest.raises(DataError, match="'E'"):
        complement("E")
