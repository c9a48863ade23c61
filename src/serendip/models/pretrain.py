"""Masked-language-model pre-training: the public names of :mod:`serendip.models.pretraining`.

Kept so that ``from serendip.models.pretrain import PretrainConfig, pretrain, ...`` goes on working;
the code lives in :mod:`serendip.models.pretraining` (see its docstring for the config format).
"""
from __future__ import annotations

from serendip.models.pretraining import (
    LEARNING_RATES,
    SIZES,
    CorpusKind,
    CorpusSplit,
    DataSection,
    ModelSection,
    OutputSection,
    PretrainConfig,
    PretrainResult,
    TokenizerSection,
    TrainingSection,
    apply_pretrain_overrides,
    check_inputs,
    corpus_kind,
    load_pretrain_config,
    pretrain,
    pretrain_config_from_options,
)

__all__ = [
    "LEARNING_RATES",
    "SIZES",
    "CorpusKind",
    "CorpusSplit",
    "DataSection",
    "ModelSection",
    "OutputSection",
    "PretrainConfig",
    "PretrainResult",
    "TokenizerSection",
    "TrainingSection",
    "apply_pretrain_overrides",
    "check_inputs",
    "corpus_kind",
    "load_pretrain_config",
    "pretrain",
    "pretrain_config_from_options",
]
