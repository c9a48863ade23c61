"""The training engine: tasks, data, augmentation, PEFT, metrics, plots, runs, pre-training.

Domain-free: ``serendip.genomics``, ``serendip.chem`` and ``serendip.kg`` register their readers,
tokenizers, augmentations and tasks into :mod:`serendip.models.registries`; the engine never imports a
domain package. Heavy libraries (torch, transformers, peft) are imported inside functions only.
"""
