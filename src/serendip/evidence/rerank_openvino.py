"""The cross-encoder reranker's ``openvino-int8`` backend: the run's ONNX export quantised to int8
weights and activations by NNCF and run by OpenVINO (:mod:`serendip.retrieval.openvino_int8`, as the
dense encoder ``openvino-int8``).

Calibration (:func:`calibration_pairs`): a cross-encoder reads (query, document) pairs, so its
activation ranges are measured on pairs, built deterministically from the passages of
:data:`~serendip.retrieval.openvino_int8.CALIBRATION_FILE` (written for Serendip, no third-party text):
for each passage *i* of *n*, its first sentence as the query paired with passage *i* itself (a pair
that matches, as a relevant candidate does) and with passage *(i + 1) mod n* (one that does not); 2n
pairs, one per batch. They are tokenized exactly as the reranker tokenizes at search time
(:func:`serendip.evidence.rerank.pair_batches`: the run's tokenizer and the reranker's ``max_length``,
the run's own or a shorter search-time one), so a reranker that reads 128-token pairs is calibrated on
128-token pairs; the cache key hashes these inputs, so a change of tokenizer or ``max_length``
quantises again (once; each is cached).

Measured on the SciFact reranker run (MiniLM-L6, 128 tokens; 3 test claims x their BM25 top 50
abstracts; 2 threads, interleaved with ``onnx-int8`` in the same loop on a busy 2-core machine, load
average 4.6): Spearman with the torch scores 0.993-0.996 (``onnx-int8`` 0.983-0.993), top-10 the same
as torch's for all 3 (``onnx-int8``: 9, 10, 10 of 10); per-query median 539-642 ms against
``onnx-int8``'s 1246-1370 ms (about 2.2x).

The quantised model is cached beside the run's ONNX exports (``model-ov-int8-<key>.xml`` / ``.bin`` in
:func:`serendip.retrieval.onnx_export.export_folder` of ``<run>/model``, kind ``sequence-classifier``).
Needs the optional packages ``openvino`` and ``nncf`` (``pip install 'serendip[openvino]'``).
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np

from serendip.retrieval.openvino_int8 import (
    CompiledModel,
    calibration_texts,
    quantised_model,
    require_openvino,
)

__all__ = ["calibration_feeds", "calibration_pairs", "compile_reranker", "require", "reranker_int8_model"]

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def require() -> None:
    """ConfigError (one line, naming ``pip install 'serendip[openvino]'``) when openvino or nncf is missing."""
    require_openvino("the reranker backend 'openvino-int8'", "another backend (torch, onnx, onnx-int8)")


def calibration_pairs() -> list[tuple[str, str]]:
    """The calibration (query, document) pairs, in a fixed order (see the module docstring): for each
    calibration passage, its first sentence with the passage itself, then with the next passage."""
    passages = calibration_texts()
    pairs = []
    for i, passage in enumerate(passages):
        query = _SENTENCE_END.split(passage, maxsplit=1)[0]
        pairs.append((query, passage))
        pairs.append((query, passages[(i + 1) % len(passages)]))
    return pairs


def calibration_feeds(tokenizer: Any, max_length: int) -> list[dict[str, np.ndarray]]:
    """:func:`calibration_pairs` as model inputs, one pair per batch, tokenized as the reranker does
    (:func:`serendip.evidence.rerank.pair_batches`): int64 arrays of shape (1, tokens)."""
    from serendip.evidence.rerank import pair_batches

    pairs = calibration_pairs()
    return [feed for _, feed in pair_batches(tokenizer, max_length, [q for q, _ in pairs], [d for _, d in pairs], 1)]


def reranker_int8_model(folder: str | Path, tokenizer: Any, max_length: int) -> Path:
    """The cached int8 OpenVINO model (``.xml``) of the sequence classifier in ``folder``, exported to
    ONNX and quantised on first use.

    Parameters
    ----------
    folder : str or Path
        A run's ``model/`` folder (a Hugging Face sequence classifier).
    tokenizer : transformers tokenizer
        The run's tokenizer.
    max_length : int
        Tokens per pair at search time (the run's ``max_length``, or a search-time one).

    Raises
    ------
    ConfigError
        openvino or nncf is not installed.
    ExportError
        The export or the quantisation failed (names the model folder).
    """
    from serendip.retrieval.onnx_export import exported_model

    require()
    plain = exported_model(folder, "plain", kind="sequence-classifier")
    return quantised_model(plain, calibration_feeds(tokenizer, max_length), f"the sequence classifier {folder}")


def compile_reranker(folder: str | Path, tokenizer: Any, max_length: int, threads: int | None = None) -> CompiledModel:
    """:func:`reranker_int8_model` compiled for OpenVINO's CPU (``threads`` streams of one thread each;
    default: OpenVINO's choice).

    Raises
    ------
    ConfigError, ExportError
        As :func:`reranker_int8_model`; ExportError also when the cached files cannot be loaded (one
        line naming the ``.xml``).
    """
    return CompiledModel(reranker_int8_model(folder, tokenizer, max_length), threads)
