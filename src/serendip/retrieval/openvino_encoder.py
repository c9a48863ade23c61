"""The ``openvino-int8`` encoder: the ONNX export quantised to int8 by NNCF and run by OpenVINO (CPU).

Quantisation, the cache and the runner are :mod:`.openvino_int8`'s (static int8 weights and
activations, ``model-ov-int8-<key>.xml`` / ``.bin`` beside the ONNX exports, streams of one thread).
The calibration inputs are the passages of :data:`~.openvino_int8.CALIBRATION_FILE`, one per batch,
tokenized as the encoder tokenizes (:meth:`~serendip.retrieval.encoders.TokenEncoder.feeds`: the
folder's ``tokenizer.json``, its ``max_seq_length``), so the quantised model depends only on the model
folder, those passages and the NNCF / OpenVINO versions, never on the corpus being indexed.

Measured on a 200-abstract SciFact sample (2 threads, interleaved with the PyTorch encoder in the same
run, on a shared machine): 4.5x the PyTorch encoder's documents/s (76 against 17), cosine to the
PyTorch vectors >= 0.991 (mean 0.996); SciFact test nDCG@10 0.6513 (PyTorch 0.6451). Batches of at most
:data:`MAX_BATCH` texts run in parallel on OpenVINO streams of one thread each (smaller batches and no
synchronisation between threads inside a matrix product were both measured faster on 2 cores).

Needs the optional packages ``openvino`` and ``nncf`` (``pip install 'serendip[openvino]'``); queries
import neither torch nor transformers once exported.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from serendip.retrieval.encoders import TokenEncoder
from serendip.retrieval.onnx_export import exported_model
from serendip.retrieval.openvino_int8 import (
    CALIBRATION_FILE,
    MAX_BATCH,
    CompiledModel,
    calibration_texts,
    quantised_model,
    require_openvino,
)

__all__ = ["CALIBRATION_FILE", "MAX_BATCH", "OpenVinoEncoder", "calibration_texts", "openvino_int8_model"]


def _require() -> None:
    require_openvino("the encoder 'openvino-int8'", "another encoder (torch, onnx, onnx-int8)")


def openvino_int8_model(folder: str | Path, tokens: TokenEncoder | None = None) -> Path:
    """The cached int8 OpenVINO model (``.xml``) of ``folder``, exported and quantised on first use.

    Parameters
    ----------
    folder : str or Path
        A local sentence-transformers model folder.
    tokens : TokenEncoder, optional
        Its tokenization (default: read from ``folder``).

    Returns
    -------
    Path
        ``export_folder(folder) / "model-ov-int8-<key>.xml"`` (its ``.bin`` beside it;
        :func:`~.openvino_int8.quantised_model`).

    Raises
    ------
    ConfigError
        openvino or nncf is not installed.
    ExportError
        The export or the quantisation failed (names the model folder).
    """
    _require()
    tokens = tokens or TokenEncoder(str(folder))
    feeds = [feed for _, feed in tokens.feeds(calibration_texts(), 1)]
    return quantised_model(exported_model(folder, "plain"), feeds, f"the embedding model {folder}")


class OpenVinoEncoder(TokenEncoder):
    """A sentence-transformers folder, int8, run by OpenVINO's CPU plugin (see the module docstring).

    Parameters
    ----------
    folder : str
        Local sentence-transformers folder (with ``tokenizer.json``).
    threads : int, optional
        Inference threads, one stream each (default: OpenVINO's choice for the machine).
    max_batch : int
        Largest batch run at once (:data:`MAX_BATCH`).

    Raises
    ------
    ConfigError
        openvino / nncf missing, no ``tokenizer.json``, or an unsupported pooling.
    ExportError
        The export or quantisation failed, or the cached model cannot be loaded (one line naming it).
    """

    def __init__(self, folder: str, threads: int | None = None, max_batch: int = MAX_BATCH):
        _require()
        super().__init__(folder, max_batch=max_batch)
        self.path = openvino_int8_model(folder, self)
        self.compiled = CompiledModel(self.path, threads)

    def _forward(self, feed: dict[str, np.ndarray]) -> np.ndarray:
        return self.compiled.infer(feed)

    def encode(self, texts: list[str], batch_size: int = 64) -> np.ndarray:
        """Embed ``texts``: float32 array (len(texts), dim), rows in input order (batches in parallel)."""
        from serendip.retrieval.encoders import _pool

        out = np.zeros((len(texts), self.compiled.output_dim()), dtype=np.float32)

        def done(item, hidden: np.ndarray) -> None:
            idx, mask = item
            vecs = _pool(hidden, mask, self.config.pooling).astype(np.float32)
            if self.config.normalize:
                vecs /= np.clip(np.linalg.norm(vecs, axis=1, keepdims=True), 1e-12, None)
            out[idx] = vecs

        self.compiled.run((((idx, feed["attention_mask"]), feed) for idx, feed in self.feeds(texts, batch_size)), done)
        return out
