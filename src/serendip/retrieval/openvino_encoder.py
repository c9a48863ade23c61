"""The ``openvino-int8`` encoder: the ONNX export quantised to int8 by NNCF and run by OpenVINO (CPU).

Quantisation is static post-training quantisation (NNCF ``nncf.quantize``, ``model_type=TRANSFORMER``:
int8 weights per output channel and int8 activations on the matrix products, the ranges of the
activations measured once on calibration text; softmax and layer norm stay in floating point). The
calibration text is :data:`CALIBRATION_FILE`, passages written for Serendip (no third-party text), so
the quantised model depends only on the model folder, the calibration file and the NNCF version, never
on the corpus being indexed. On an AVX-512 VNNI CPU the matrix products then run as int8 dot products.

Measured on a 200-abstract SciFact sample (2 threads, interleaved with the PyTorch encoder in the same
run, on a shared machine): 4.5x the PyTorch encoder's documents/s (76 against 17), cosine to the
PyTorch vectors >= 0.991 (mean 0.996); SciFact test nDCG@10 0.6513 (PyTorch 0.6451). Unlike ONNX
Runtime's dynamic int8, the activation ranges are fixed, so a text's vector does not depend on the
other texts of its batch. Batches of at most :data:`MAX_BATCH` texts run in parallel on OpenVINO
streams of one thread each (smaller batches and no synchronisation between threads inside a matrix
product were both measured faster on 2 cores).

The quantised model is cached beside the ONNX exports (:func:`serendip.retrieval.onnx_export.export_folder`)
as ``model-ov-int8-<key>.xml`` / ``.bin``, ``key`` hashing the calibration file and the NNCF and OpenVINO
versions; both files are written under temporary names and renamed (the ``.xml`` last, so its
presence means the pair is complete). Needs the optional packages ``openvino`` and ``nncf``
(``pip install 'serendip[openvino]'``); queries import neither torch nor transformers once exported.
"""
from __future__ import annotations

import contextlib
import hashlib
import io
import logging
import os
import threading
from pathlib import Path

import numpy as np

from serendip.core.files import read_text, sha256_file
from serendip.errors import ConfigError
from serendip.retrieval.encoders import TokenEncoder
from serendip.retrieval.onnx_export import ExportError, exported_model

__all__ = ["CALIBRATION_FILE", "MAX_BATCH", "OpenVinoEncoder", "calibration_texts", "openvino_int8_model"]

CALIBRATION_FILE = Path(__file__).resolve().parent / "data" / "calibration.txt"
#: largest batch run at once (SciFact abstracts, 2 threads, two streams, same run: docs/s 57 at 4,
#: 50 at 8, 49 at 16, 40 at 32; another run 76 at 4, 72 at 2, 66 at 1, 64 at 16)
MAX_BATCH = 4
_lock = threading.Lock()


def _require_openvino() -> None:
    """Raise ConfigError when openvino or nncf is not installed (nncf is only found, not imported: it
    imports torch, which a query must not)."""
    missing = [name for name in ("openvino", "nncf") if not _installed(name)]
    if missing:
        raise ConfigError(f"the encoder 'openvino-int8' needs the optional packages openvino and nncf "
                          f"({', '.join(missing)} missing): pip install 'serendip[openvino]', or choose "
                          f"another encoder (torch, onnx, onnx-int8)")


def _installed(name: str) -> bool:
    import importlib.util

    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):  # a None entry in sys.modules, or a broken package
        return False


def calibration_texts() -> list[str]:
    """The calibration passages: the paragraphs of :data:`CALIBRATION_FILE` (``#`` lines are comments)."""
    lines = [ln for ln in read_text(CALIBRATION_FILE).splitlines() if not ln.startswith("#")]
    return [p.strip() for p in "\n".join(lines).split("\n\n") if p.strip()]


def _model_key() -> str:
    from importlib.metadata import version

    text = f"{sha256_file(CALIBRATION_FILE)}|nncf {version('nncf')}|openvino {version('openvino')}"
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def _quantise(folder: str, plain: Path, out: Path) -> None:
    """Calibrate and quantise ``plain`` (ONNX) into ``out`` (OpenVINO IR), atomically."""
    import nncf
    import openvino as ov

    tokens = TokenEncoder(folder)
    items = [feed for _, feed in tokens.feeds(calibration_texts(), 1)]
    model = ov.Core().read_model(str(plain))
    from nncf.common.logging import nncf_logger

    level = nncf_logger.level
    nncf.set_log_level(logging.ERROR)  # no progress tables
    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            quantised = nncf.quantize(model, nncf.Dataset(items), model_type=nncf.ModelType.TRANSFORMER,
                                      subset_size=len(items))
    finally:
        nncf.set_log_level(level)
    tmp = out.with_name(f".{out.stem}.{os.getpid()}.{threading.get_ident()}.tmp.xml")
    ov.save_model(quantised, str(tmp))
    os.replace(tmp.with_suffix(".bin"), out.with_suffix(".bin"))
    os.replace(tmp, out)


def openvino_int8_model(folder: str | Path) -> Path:
    """The cached int8 OpenVINO model (``.xml``) of ``folder``, exported and quantised on first use.

    Parameters
    ----------
    folder : str or Path
        A local sentence-transformers model folder.

    Returns
    -------
    Path
        ``export_folder(folder) / "model-ov-int8-<key>.xml"`` (its ``.bin`` beside it).

    Raises
    ------
    ConfigError
        openvino or nncf is not installed.
    ExportError
        The export or the quantisation failed (names the model folder).
    """
    _require_openvino()
    plain = exported_model(folder, "plain")
    out = plain.parent / f"model-ov-int8-{_model_key()}.xml"
    if out.is_file():
        return out
    with _lock:
        if not out.is_file():
            try:
                _quantise(str(folder), plain, out)
            except Exception as exc:  # noqa: BLE001 - any failure of NNCF / OpenVINO becomes one error
                raise ExportError(f"could not quantise the embedding model {folder} to int8 with OpenVINO in "
                                  f"{out.parent}: {type(exc).__name__}: {exc}") from exc
    return out


class OpenVinoEncoder(TokenEncoder):
    """A sentence-transformers folder, int8, run by OpenVINO's CPU plugin (see the module docstring).

    Batches run asynchronously on OpenVINO streams of one thread each (``PERFORMANCE_HINT``
    THROUGHPUT), one batch per stream at a time: on 2 cores, two streams ran 1.5x faster than one
    stream of two threads (same batches, same run).

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
        The export or quantisation failed.
    """

    def __init__(self, folder: str, threads: int | None = None, max_batch: int = MAX_BATCH):
        _require_openvino()
        import openvino as ov

        super().__init__(folder, max_batch=max_batch)
        self.path = openvino_int8_model(folder)
        config: dict = {"PERFORMANCE_HINT": "THROUGHPUT"}
        if threads:
            config.update(INFERENCE_NUM_THREADS=int(threads), NUM_STREAMS=int(threads))
        self.compiled = ov.Core().compile_model(str(self.path), "CPU", config)
        jobs = int(self.compiled.get_property("OPTIMAL_NUMBER_OF_INFER_REQUESTS"))
        self._queue = ov.AsyncInferQueue(self.compiled, max(1, jobs))
        self._inputs = {p.get_any_name() for p in self.compiled.inputs}
        self._run_lock = threading.Lock()  # one encode() at a time shares the queue

    def _forward(self, feed: dict[str, np.ndarray]) -> np.ndarray:
        with self._run_lock:
            request = self._queue[0]
            request.infer({k: v for k, v in feed.items() if k in self._inputs})
            return np.array(request.get_output_tensor(0).data, dtype=np.float32)

    def encode(self, texts: list[str], batch_size: int = 64) -> np.ndarray:
        """Embed ``texts``: float32 array (len(texts), dim), rows in input order (batches in parallel)."""
        from serendip.retrieval.encoders import _pool

        out = np.zeros((len(texts), self.compiled.output(0).get_partial_shape()[2].get_length()),
                       dtype=np.float32)
        errors: list[BaseException] = []

        def done(request, item) -> None:
            idx, mask = item
            try:
                vecs = _pool(request.get_output_tensor(0).data, mask, self.config.pooling).astype(np.float32)
                if self.config.normalize:
                    vecs /= np.clip(np.linalg.norm(vecs, axis=1, keepdims=True), 1e-12, None)
                out[idx] = vecs
            except BaseException as exc:  # noqa: BLE001 - raised in the caller's thread below
                errors.append(exc)

        with self._run_lock:
            self._queue.set_callback(done)
            for idx, feed in self.feeds(texts, batch_size):
                self._queue.start_async({k: v for k, v in feed.items() if k in self._inputs},
                                        (idx, feed["attention_mask"]))
            self._queue.wait_all()
        if errors:
            raise errors[0]
        return out
