"""Genomics: FASTA/FASTQ reading and validation, k-mers, reverse complement, augmentations, GUE tasks.

Importing this package registers, in the engine's registries (:mod:`serendip.models.registries`):

* ``DATA_READERS["fasta"]`` (aliases ``fastq``, ``fa``, ``fna``, ``fq``): :func:`serendip.genomics.fasta_reader.read_fasta_examples`;
* ``AUGMENTATIONS["reverse_complement"]`` and ``AUGMENTATIONS["random_substitution"]``
  (:mod:`serendip.genomics.augment`);
* ``TOKENIZERS["kmer"]``: the DNABERT-style overlapping k-mer tokenizer
  (:mod:`serendip.genomics.tokenizer`);
* ``PRETRAIN_CORPORA["dna"]``: genomes cut into windows for pre-training (:mod:`serendip.genomics.corpus`).

Biopython, SciPy, ``tokenizers`` and ``transformers`` are imported only inside the functions that use them.

Modules: :mod:`~serendip.genomics.fasta` (``read_sequences``, ``iter_sequences``, ``Sequence``,
``Issue``), :mod:`~serendip.genomics.kmers` (``kmers``, ``kmer_counts``, ``kmer_vocabulary``; the function
``kmers`` is not re-exported here, so that ``serendip.genomics.kmers`` stays the module),
:mod:`~serendip.genomics.revcomp` (``reverse_complement``, ``complement``),
:mod:`~serendip.genomics.augment`, :mod:`~serendip.genomics.gue` (``load_gue``).
"""
from __future__ import annotations

from serendip.genomics import augment, corpus, tokenizer  # noqa: F401  (register their entries)
from serendip.genomics.fasta import (
    ALPHABETS,
    Issue,
    Sequence,
    iter_sequences,
    read_sequences,
)
from serendip.genomics.fasta_reader import read_fasta_examples
from serendip.genomics.gue import GUE_TASKS, GueSplitReport, GueSplits, load_gue
from serendip.genomics.kmers import kmer_counts, kmer_vocabulary
from serendip.genomics.revcomp import complement, reverse_complement

__all__ = [
    "ALPHABETS",
    "GUE_TASKS",
    "GueSplitReport",
    "GueSplits",
    "Issue",
    "Sequence",
    "complement",
    "iter_sequences",
    "kmer_counts",
    "kmer_vocabulary",
    "load_gue",
    "read_fasta_examples",
    "read_sequences",
    "reverse_complement",
]
