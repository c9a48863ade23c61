"""The engine's registries. Domains add entries; the engine looks them up by name.

* :data:`TASKS` - task kinds (sequence classification, regression, token classification, pairs).
* :data:`AUGMENTATIONS` - classes with ``name`` and ``apply(examples, rng) -> list[Example]``
  returning NEW examples only (the originals are kept by the caller); applied to training data only.
* :data:`DATA_READERS` - functions ``read(path, **options) -> list[Example]`` for input formats
  (csv, tsv, jsonl here; fasta registered by ``serendip.genomics``).
* :data:`TOKENIZERS` - tokenizer factories for ``pretrain`` (k-mer, BPE...).
* :data:`METRICS` - metric functions by name.
"""
from __future__ import annotations

from serendip.registry import Registry

TASKS: Registry = Registry("task")
AUGMENTATIONS: Registry = Registry("augmentation")
DATA_READERS: Registry = Registry("data format")
TOKENIZERS: Registry = Registry("tokenizer")
METRICS: Registry = Registry("metric")
