"""OpenVINO int8 machinery shared by the dense encoder and the cross-encoder reranker: quantise an ONNX
export with NNCF on given calibration inputs, cache the result, and run it on OpenVINO's CPU streams.

Quantisation (:func:`quantised_model`) is static post-training quantisation (NNCF ``nncf.quantize``,
``model_type=TRANSFORMER``: int8 weights per output channel and int8 activations on the matrix
products, the activations' ranges measured once on the calibration inputs; softmax and layer norm stay
in floating point). On an AVX-512 VNNI CPU the matrix products then run as int8 dot products. Unlike
ONNX Runtime's dynamic int8, the activation ranges are fixed, so an input's output does not depend on
the other inputs of its batch. The calibration text is :data:`CALIBRATION_FILE`, passages written for
Serendip (no third-party text): what is quantised depends only on the model, these passages (as the
caller tokenizes them) and the NNCF / OpenVINO versions, never on the corpus being searched.

The quantised model is cached beside the ONNX export it was made from
(:func:`serendip.retrieval.onnx_export.export_folder`) as ``model-ov-int8-<key>.xml`` / ``.bin``,
``key`` hashing the calibration inputs (names, shapes and values of every array) and the NNCF and
OpenVINO versions; both files are written under temporary names and renamed (the ``.xml`` last, so its
presence means the pair is complete). A cached pair OpenVINO cannot load is an :class:`ExportError`
naming the file (:class:`CompiledModel`), never quantised again silently.

:class:`CompiledModel` runs batches asynchronously on OpenVINO streams of one thread each
(``PERFORMANCE_HINT`` THROUGHPUT), one batch per stream at a time: on 2 cores two streams ran 1.5x
faster than one stream of two threads, and batches of at most :data:`MAX_BATCH` inputs were fastest
(the encoder's measurements, :mod:`.openvino_encoder`).

Needs the optional packages ``openvino`` and ``nncf`` (``pip install 'serendip[openvino]'``); running a
cached model imports openvino only (nncf imports torch).
"""
from __future__ import annotations

import contextlib
import hashlib
import io
import logging
import os
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np

from serendip.core.files import read_text
from serendip.errors import ConfigError
from serendip.retrieval.onnx_export import ExportError

__all__ = ["CALIBRATION_FILE", "MAX_BATCH", "CompiledModel", "calibration_key", "calibration_texts",
           "quantised_model", "require_openvino"]

CALIBRATION_FILE = Path(__file__).resolve().parent / "data" / "calibration.txt"
#: largest batch run at once (SciFact abstracts, 2 threads, two streams, same run: docs/s 57 at 4,
#: 50 at 8, 49 at 16, 40 at 32; another run 76 at 4, 72 at 2, 66 at 1, 64 at 16)
MAX_BATCH = 4
_lock = threading.Lock()


def _installed(name: str) -> bool:
    """Whether ``name`` can be imported (found, not imported: nncf imports torch)."""
    import importlib.util

    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):  # a None entry in sys.modules, or a broken package
        return False


def require_openvino(subject: str, alternatives: str) -> None:
    """Raise ConfigError (one line) when openvino or nncf is not installed.

    ``subject`` names what needs them (e.g. "the encoder 'openvino-int8'"), ``alternatives`` what to
    choose instead (e.g. "another encoder (torch, onnx, onnx-int8)").
    """
    missing = [name for name in ("openvino", "nncf") if not _installed(name)]
    if missing:
        raise ConfigError(f"{subject} needs the optional packages openvino and nncf ({', '.join(missing)} "
                          f"missing): pip install 'serendip[openvino]', or choose {alternatives}")


def calibration_texts() -> list[str]:
    """The calibration passages: the paragraphs of :data:`CALIBRATION_FILE` (``#`` lines are comments)."""
    lines = [ln for ln in read_text(CALIBRATION_FILE).splitlines() if not ln.startswith("#")]
    return [p.strip() for p in "\n".join(lines).split("\n\n") if p.strip()]


def calibration_key(feeds: list[dict[str, np.ndarray]]) -> str:
    """12 hex digits of sha256 over the calibration inputs (every array's name, dtype, shape and bytes,
    in order) and the installed NNCF and OpenVINO versions."""
    from importlib.metadata import version

    h = hashlib.sha256(f"nncf {version('nncf')}|openvino {version('openvino')}\n".encode())
    for feed in feeds:
        for name in sorted(feed):
            arr = np.ascontiguousarray(feed[name])
            h.update(f"{name}|{arr.dtype.str}|{arr.shape}\n".encode())
            h.update(arr.tobytes())
    return h.hexdigest()[:12]


def _model_inputs(feed: dict[str, np.ndarray], names: set[str]) -> dict[str, np.ndarray]:
    """The arrays of ``feed`` the model takes; ``token_type_ids`` zeros when it takes them and the
    tokenizer gave none (as the PyTorch model assumes when given none)."""
    inputs = {k: v for k, v in feed.items() if k in names}
    if "token_type_ids" in names and "token_type_ids" not in inputs:
        inputs["token_type_ids"] = np.zeros_like(feed["input_ids"])
    return inputs


def _quantise(plain: Path, feeds: list[dict[str, np.ndarray]], out: Path) -> None:
    """Calibrate and quantise ``plain`` (ONNX) on ``feeds`` into ``out`` (OpenVINO IR), atomically."""
    import nncf
    import openvino as ov
    from nncf.common.logging import nncf_logger

    model = ov.Core().read_model(str(plain))
    names = {p.get_any_name() for p in model.inputs}
    items = [_model_inputs(feed, names) for feed in feeds]
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


def quantised_model(plain: str | Path, feeds: list[dict[str, np.ndarray]], what: str) -> Path:
    """The cached int8 OpenVINO model (``.xml``) of the ONNX file ``plain``, quantised on first use.

    Parameters
    ----------
    plain : str or Path
        An unfused ONNX export (:func:`serendip.retrieval.onnx_export.exported_model`, variant ``plain``).
    feeds : list of dict
        The calibration inputs, one batch each: ``input_ids``, ``attention_mask`` and optionally
        ``token_type_ids``, int64 arrays (batch, seq), tokenized as the caller tokenizes at run time.
    what : str
        The model, for errors (e.g. "the embedding model /path").

    Returns
    -------
    Path
        ``plain``'s folder / ``model-ov-int8-<key>.xml`` (its ``.bin`` beside it), ``key`` =
        :func:`calibration_key` of ``feeds``.

    Raises
    ------
    ExportError
        NNCF or OpenVINO failed to quantise or save the model (names ``what`` and the folder).
    """
    plain = Path(plain)
    out = plain.parent / f"model-ov-int8-{calibration_key(feeds)}.xml"
    if out.is_file():
        return out
    with _lock:
        if not out.is_file():
            try:
                _quantise(plain, feeds, out)
            except Exception as exc:  # noqa: BLE001 - any failure of NNCF / OpenVINO becomes one error
                raise ExportError(f"could not quantise {what} to int8 with OpenVINO in {out.parent}: "
                                  f"{type(exc).__name__}: {exc}") from exc
    return out


class CompiledModel:
    """A cached int8 model (:func:`quantised_model`) compiled for OpenVINO's CPU plugin, its batches run
    in parallel on streams of one thread each (see the module docstring).

    Parameters
    ----------
    path : str or Path
        The ``.xml`` file (its ``.bin`` beside it).
    threads : int, optional
        Inference threads, one stream each (default: OpenVINO's choice for the machine).

    Raises
    ------
    ExportError
        OpenVINO cannot read or compile the cached files (damaged on disk): one line naming the
        ``.xml`` and the ``.bin``, to delete so that the next use quantises the model again.
    """

    def __init__(self, path: str | Path, threads: int | None = None):
        import openvino as ov
        from openvino.frontend import FrontEndManager

        self.path = Path(path)
        config: dict = {"PERFORMANCE_HINT": "THROUGHPUT"}
        if threads:
            config.update(INFERENCE_NUM_THREADS=int(threads), NUM_STREAMS=int(threads))
        try:  # read by the IR front end only (no other front end tries, and logs, a damaged file)
            front = FrontEndManager().load_by_framework("ir")
            self.compiled = ov.Core().compile_model(front.convert(front.load(str(self.path))), "CPU", config)
        except Exception as exc:  # noqa: BLE001 - OpenVINO raises its own (pybind) exception types
            why = " ".join(ln.strip() for ln in str(exc).splitlines()
                           if ln.strip() and not ln.strip().startswith("Exception from"))
            raise ExportError(f"{self.path}: OpenVINO cannot load this cached int8 model ({type(exc).__name__}: "
                              f"{why[:300]}); delete it and {self.path.with_suffix('.bin').name} beside it "
                              f"and it is quantised again on next use") from None
        jobs = int(self.compiled.get_property("OPTIMAL_NUMBER_OF_INFER_REQUESTS"))
        self._queue = ov.AsyncInferQueue(self.compiled, max(1, jobs))
        self.inputs = {p.get_any_name() for p in self.compiled.inputs}
        self._run_lock = threading.Lock()  # one run at a time shares the queue

    def output_dim(self, axis: int = -1) -> int | None:
        """The size of the first output's ``axis`` (None when dynamic)."""
        dim = self.compiled.output(0).get_partial_shape()[axis]
        return dim.get_length() if dim.is_static else None

    def infer(self, feed: dict[str, np.ndarray]) -> np.ndarray:
        """The first output (float32 copy) of one batch, run synchronously."""
        with self._run_lock:
            request = self._queue[0]
            request.infer(_model_inputs(feed, self.inputs))
            return np.array(request.get_output_tensor(0).data, dtype=np.float32)

    def run(self, batches: Iterable[tuple[Any, dict[str, np.ndarray]]],
            done: Callable[[Any, np.ndarray], None]) -> None:
        """Run every ``(tag, feed)`` of ``batches`` on the streams; ``done(tag, output)`` is called once per
        batch (in OpenVINO's thread, in completion order) with the first output, a view valid only
        during the call. Returns when all are done; an exception of ``done`` is raised here then."""
        errors: list[BaseException] = []

        def callback(request, tag) -> None:
            try:
                done(tag, request.get_output_tensor(0).data)
            except BaseException as exc:  # noqa: BLE001 - raised in the caller's thread below
                errors.append(exc)

        with self._run_lock:
            self._queue.set_callback(callback)
            try:
                for tag, feed in batches:
                    self._queue.start_async(_model_inputs(feed, self.inputs), tag)
            finally:
                self._queue.wait_all()
        if errors:
            raise errors[0]
