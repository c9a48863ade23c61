"""Genomics: FASTA/FASTQ reading and validation, k-mers, reverse complement, augmentations, GUE tasks.

Importing this package registers, in the engine's registries (:mod:`serendip.models.registries`):

* ``DATA_READERS["fasta"]`` (aliases ``fastq``, ``fa``, ``fna``, ``fq``): :func:`serendip.genomics.fasta.read_fasta_examples`;
* ``AUGMENTATIONS["reverse_complement"]`` and ``AUGMENTATIONS["random_substitution"]``
  (:mod:`serendip.genomics.augment`).

Biopython and SciPy are imported only inside the functions that use them.

Modules: :mod:`~serendip.genomics.fasta` (``read_sequences``, ``iter_sequences``, ``Sequence``,
``Issue``), :mod:`~serendip.genomics.kmers` (``kmers``, ``kmer_counts``, ``kmer_vocabulary``; the function
``kmers`` is not re-exported here, so that ``serendip.genomics.kmers`` stays the module),
:mod:`~serendip.genomics.revcomp` (``reverse_complement``, ``complement``),
:mod:`~serendip.genomics.augment`, :mod:`~serendip.genomics.gue` (``load_gue``).
"""
from __future__ import annotations

from serendip.genomics import augment  # noqa: F401  (registers augmentations)
from serendip.genomics.fasta import (
    ALPHABETS,
    Issue,
    Sequence,
    iter_sequences,
    read_fasta_examples,
    read_sequences,
)
from serendip.genomics.gue import GUE_TASKS, GueSplits, SplitReport, load_gue
from serendip.genomics.kmers import kmer_counts, kmer_vocabulary
from serendip.genomics.revcomp import complement, reverse_complement

__all__ = [
    "ALPHABETS",
    "GUE_TASKS",
    "GueSplits",
    "Issue",
    "Sequence",
    "SplitReport",
    "complement",
    "iter_sequences",
    "kmer_counts",
    "kmer_vocabulary",
    "load_gue",
    "read_fasta_examples",
    "read_sequences",
    "reverse_complement",
]
