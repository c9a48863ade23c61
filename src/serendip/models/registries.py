"""The engine's registries. Domains add entries; the engine looks them up by name.

* :data:`TASKS` - task kinds (sequence classification, regression, token classification, pairs).
* :data:`LOSSES` - loss builders by name (a task names its default; a config may name another).
* :data:`HEADS` - model heads / target encodings by name (how logits are produced and compared
  with targets: sequence classification, regression, per-token).
* :data:`IMBALANCE_METHODS` - class-imbalance methods (loss weighting, focal loss, resampling).
* :data:`PEFT_METHODS` - parameter-efficient fine-tuning methods (``none``, ``lora``, ``adalora``).
* :data:`AUGMENTATIONS` - classes with ``name`` and ``apply(examples, rng) -> list[Example]``
  returning NEW examples only (the originals are kept by the caller); applied to training data only.
* :data:`DATA_READERS` - functions ``read(path, **options) -> list[Example]`` for input formats
  (csv, tsv, jsonl here; fasta registered by ``serendip.genomics``).
* :data:`TOKENIZERS` - tokenizer factories for ``pretrain`` (k-mer, BPE...).
* :data:`PRETRAIN_CORPORA` - pre-training corpus builders by ``kind`` (``text`` here; ``dna``
  registered by ``serendip.genomics``).
* :data:`METRICS` - metric functions by name.

Every registry is listed in :data:`ALL` so that the registry meta-tests run over each entry.
"""
from __future__ import annotations

from serendip.registry import Registry

TASKS: Registry = Registry("task")
LOSSES: Registry = Registry("loss")
HEADS: Registry = Registry("head")
IMBALANCE_METHODS: Registry = Registry("imbalance method")
PEFT_METHODS: Registry = Registry("PEFT method")
AUGMENTATIONS: Registry = Registry("augmentation")
DATA_READERS: Registry = Registry("data format")
TOKENIZERS: Registry = Registry("tokenizer")
PRETRAIN_CORPORA: Registry = Registry("pre-training corpus kind")
METRICS: Registry = Registry("metric")

#: name -> registry, for the meta-tests and ``serendip --help`` texts.
ALL: dict[str, Registry] = {
    "tasks": TASKS, "losses": LOSSES, "heads": HEADS, "imbalance_methods": IMBALANCE_METHODS,
    "peft_methods": PEFT_METHODS, "augmentations": AUGMENTATIONS, "data_readers": DATA_READERS,
    "tokenizers": TOKENIZERS, "pretrain_corpora": PRETRAIN_CORPORA, "metrics": METRICS,
}
