"""Local ONNX export of a Hugging Face model folder, cached under the Serendip cache.

A local model folder is exported on first use with torch's TorchScript-based exporter
(``torch.onnx.export(..., dynamo=False)``, opset 17), inputs ``input_ids``, ``attention_mask``,
``token_type_ids`` (int64, (batch, seq)). Two kinds of export (:data:`KINDS`):

- ``encoder``: the transformer of a sentence-transformers folder (e.g. the bundled all-MiniLM-L6-v2,
  ``AutoModel``), output ``last_hidden_state`` (float32, (batch, seq, hidden)); pooling and
  normalisation are done by the caller (:mod:`.encoders`), as the folder's ``modules.json`` says.
- ``sequence-classifier``: a fine-tuned sequence classifier (``AutoModelForSequenceClassification``,
  e.g. the cross-encoder reranker of :mod:`serendip.evidence.rerank`), output ``logits`` (float32,
  (batch, num_labels)).

Three variants of each:

- ``plain``: the export as traced (what OpenVINO's int8 quantisation starts from,
  :mod:`.openvino_int8`).
- ``fp32``: the export with ONNX Runtime's BERT graph fusions (``onnxruntime.transformers.optimizer``:
  attention, skip layer norm, GELU), for BERT-type models; other model types are kept unfused.
- ``int8``: the plain export quantised with ``onnxruntime.quantization.quantize_dynamic`` (int8 weights,
  per output channel; activations quantised at run time, Jacob et al. 2018). Per-tensor weights kept
  the cosine to the torch vectors only >= 0.90 on SciFact abstracts; per channel, >= 0.99.

Cache: ``$SERENDIP_CACHE/onnx/<key>/`` (default ``~/.cache/serendip/onnx``), where ``key`` hashes the
model folder's content (every file's sha256), :data:`EXPORT_VERSION` and the kind; each file is written
to a temporary name and renamed into place, so a killed export leaves no half file. ``export.json``
records the torch / onnx / onnxruntime versions used. A cached file ONNX Runtime cannot load (damaged
on disk) is an :class:`ExportError` naming it (:func:`open_session`), never re-exported silently.
Nothing here downloads anything.
"""
from __future__ import annotations

import hashlib
import json
import os
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

from serendip.core.files import sha256_file
from serendip.errors import SerendipError

__all__ = ["EXPORT_VERSION", "KINDS", "OPSET", "VARIANTS", "ExportError", "ExportKind", "export_folder",
           "exported_model", "model_fingerprint", "onnx_cache_dir", "open_session"]

#: Bumped whenever the exported graph would differ for the same model folder (keys the cache).
EXPORT_VERSION = "serendip-onnx-2"  # 2: OpenVINO int8 files beside the ONNX ones (issue 14)
OPSET = 17
#: variant -> file name in the cache folder
VARIANTS = {"fp32": "model.onnx", "int8": "model-int8.onnx", "plain": "model-plain.onnx"}
_PLAIN = VARIANTS["plain"]
INPUT_NAMES = ("input_ids", "attention_mask", "token_type_ids")


@dataclass(frozen=True)
class ExportKind:
    """What an export of a model folder computes: the ``transformers`` auto class that loads it, the
    attribute of its output that the graph returns, that output's dynamic axes, and its name in errors."""

    auto_class: str
    output: str
    output_axes: dict
    what: str


#: kind -> :class:`ExportKind` (see the module docstring)
KINDS = {"encoder": ExportKind("AutoModel", "last_hidden_state", {0: "batch", 1: "sequence"}, "embedding model"),
         "sequence-classifier": ExportKind("AutoModelForSequenceClassification", "logits", {0: "batch"},
                                           "sequence classifier")}

_lock = threading.Lock()
_fingerprints: dict[tuple, str] = {}


class ExportError(SerendipError):
    """The ONNX export (or quantisation) of a model failed, or a cached export cannot be loaded."""


def onnx_cache_dir() -> Path:
    """``$SERENDIP_CACHE/onnx``, else ``~/.cache/serendip/onnx`` (the same base as the evaluation
    workspaces, :func:`serendip.workspace.paths.eval_workspace_path`)."""
    base = os.environ.get("SERENDIP_CACHE", "").strip()
    return (Path(base).expanduser() if base else Path.home() / ".cache" / "serendip") / "onnx"


def _files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file() and ".git" not in p.relative_to(folder).parts)


def model_fingerprint(folder: str | Path) -> str:
    """sha256 (hex) over the relative path and sha256 of every file of a model folder.

    Remembered per process and on disk (``fingerprints.json`` in :func:`onnx_cache_dir`, keyed by the
    files' sizes and modification times), so a query in a new process does not re-read 90 MB of weights.
    """
    folder = Path(folder).resolve()
    files = _files(folder)
    stamp = tuple((str(p.relative_to(folder)), p.stat().st_size, p.stat().st_mtime_ns) for p in files)
    key = (str(folder), stamp)
    if key in _fingerprints:
        return _fingerprints[key]
    memo_path = onnx_cache_dir() / "fingerprints.json"
    try:
        memo = json.loads(memo_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        memo = {}
    entry = memo.get(str(folder)) if isinstance(memo, dict) else None
    if isinstance(entry, dict) and entry.get("stamp") == [list(s) for s in stamp]:
        digest = str(entry["sha256"])
    else:
        h = hashlib.sha256()
        for p, (rel, _, _) in zip(files, stamp):
            h.update(f"{rel}\0{sha256_file(p)}\n".encode())
        digest = h.hexdigest()
        memo = memo if isinstance(memo, dict) else {}
        memo[str(folder)] = {"stamp": [list(s) for s in stamp], "sha256": digest}
        try:
            _write_atomic(memo_path, json.dumps(memo, indent=1).encode())
        except OSError:
            pass  # a read-only cache only costs the hashing next time
    _fingerprints[key] = digest
    return digest


def _write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)


def _tmp_name(path: Path) -> Path:
    return path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")


def _export_plain(folder: Path, out: Path, kind: ExportKind) -> None:
    """TorchScript-trace export of the folder's model (``kind.auto_class``, returning ``kind.output``) to
    ``out`` (eager attention: a plain graph that ONNX Runtime's BERT fusions recognise)."""
    import warnings

    import torch
    import transformers
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    model = getattr(transformers, kind.auto_class).from_pretrained(
        str(folder), attn_implementation="eager", local_files_only=True).eval()

    class _Output(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, input_ids, attention_mask, token_type_ids):
            return getattr(self.inner(input_ids=input_ids, attention_mask=attention_mask,
                                      token_type_ids=token_type_ids), kind.output)

    sample = torch.ones((2, 8), dtype=torch.long)
    axes = {name: {0: "batch", 1: "sequence"} for name in INPUT_NAMES}
    axes[kind.output] = dict(kind.output_axes)
    tmp = _tmp_name(out)
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer warnings about python booleans in the attention code
        torch.onnx.export(_Output(model), (sample, sample, torch.zeros_like(sample)), str(tmp),
                          input_names=list(INPUT_NAMES), output_names=[kind.output],
                          dynamic_axes=axes, opset_version=OPSET, dynamo=False)
    os.replace(tmp, out)


def _fuse(folder: Path, plain: Path, out: Path) -> None:
    """ONNX Runtime's transformer fusions for BERT-type models; other types are copied unfused."""
    config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    tmp = _tmp_name(out)
    if config.get("model_type") == "bert":
        from onnxruntime.transformers.optimizer import optimize_model

        fused = optimize_model(str(plain), model_type="bert", num_heads=int(config["num_attention_heads"]),
                               hidden_size=int(config["hidden_size"]), opt_level=1)
        fused.save_model_to_file(str(tmp))
    else:
        tmp.write_bytes(plain.read_bytes())
    os.replace(tmp, out)


def _quantise(plain: Path, out: Path) -> None:
    import logging

    from onnxruntime.quantization import QuantType, quantize_dynamic

    tmp = _tmp_name(out)
    logging.disable(logging.WARNING)  # its root-logger advice to pre-process (not needed for dynamic)
    try:
        quantize_dynamic(str(plain), str(tmp), weight_type=QuantType.QInt8, per_channel=True)
    finally:
        logging.disable(logging.NOTSET)
    os.replace(tmp, out)


def export_folder(folder: str | Path, kind: str = "encoder") -> Path:
    """The cache folder of ``folder``'s exports of ``kind``: ``onnx_cache_dir() / <key>``, ``key``
    hashing the model folder's content, :data:`EXPORT_VERSION`, :data:`OPSET` and, for kinds other
    than ``encoder``, the kind (not created here)."""
    tail = "" if kind == "encoder" else f"|{kind}"
    key = hashlib.sha256(f"{model_fingerprint(folder)}|{EXPORT_VERSION}|{OPSET}{tail}".encode()).hexdigest()[:20]
    return onnx_cache_dir() / key


def exported_model(folder: str | Path, variant: str = "fp32", kind: str = "encoder") -> Path:
    """The cached ONNX file of ``folder``'s model, exported (and fused / quantised) on first use.

    Parameters
    ----------
    folder : str or Path
        A local Hugging Face model folder (a sentence-transformers folder for ``encoder``).
    variant : {"fp32", "int8", "plain"}
        See the module docstring.
    kind : {"encoder", "sequence-classifier"}
        What the graph returns (:data:`KINDS`).

    Returns
    -------
    Path
        The ``.onnx`` file in ``onnx_cache_dir() / <key>``.

    Raises
    ------
    ExportError
        When torch, transformers or onnxruntime fail to export, fuse or quantise the model (the message
        names the model folder and the cache folder).
    ValueError
        On an unknown ``variant`` or ``kind``.
    """
    if variant not in VARIANTS:
        raise ValueError(f"unknown ONNX variant {variant!r}; expected one of: {', '.join(VARIANTS)}")
    if kind not in KINDS:
        raise ValueError(f"unknown ONNX export kind {kind!r}; expected one of: {', '.join(KINDS)}")
    folder = Path(folder).resolve()
    target_dir = export_folder(folder, kind)
    target = target_dir / VARIANTS[variant]
    if target.is_file():
        return target
    with _lock:
        if target.is_file():
            return target
        try:
            target_dir.mkdir(parents=True, exist_ok=True)
            plain = target_dir / _PLAIN
            if not plain.is_file():
                _export_plain(folder, plain, KINDS[kind])
            if variant == "fp32":
                _fuse(folder, plain, target)
            elif variant == "int8":
                _quantise(plain, target)
            _write_info(folder, target_dir, kind)
        except Exception as exc:  # noqa: BLE001 - any failure of the exporters becomes one clear error
            raise ExportError(f"could not export the {KINDS[kind].what} {folder} to ONNX ({variant}) in "
                              f"{target_dir}: {type(exc).__name__}: {exc}") from exc
    return target


def open_session(path: str | Path, threads: int | None = None):
    """An ONNX Runtime CPU session of the exported file ``path`` (all graph optimisations on).

    Parameters
    ----------
    path : str or Path
        An ``.onnx`` file of :func:`exported_model`.
    threads : int, optional
        Intra-op threads (inter-op: 1); default: ONNX Runtime's own choice, the physical cores.

    Raises
    ------
    ExportError
        ONNX Runtime cannot load the file (a damaged cache file): one line naming it and the folder
        to delete so that the next use exports it again.
    """
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    if threads:
        options.intra_op_num_threads = int(threads)
        options.inter_op_num_threads = 1
    try:
        return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # noqa: BLE001 - ONNX Runtime raises its own (pybind) exception types
        first = (str(exc).strip().splitlines() or [""])[0][:300]
        raise ExportError(f"{path}: ONNX Runtime cannot load this cached export ({type(exc).__name__}: {first}); "
                          f"delete the folder {Path(path).parent} and it is exported again on next use") from None


def _write_info(folder: Path, target_dir: Path, kind: str) -> None:
    import onnx
    import onnxruntime
    import torch

    info = {"model_folder": str(folder), "kind": kind, "fingerprint": model_fingerprint(folder),
            "export_version": EXPORT_VERSION, "opset": OPSET, "torch": torch.__version__,
            "onnx": onnx.__version__, "onnxruntime": onnxruntime.__version__,
            "files": sorted(p.name for p in target_dir.glob("*.onnx"))}
    _write_atomic(target_dir / "export.json", json.dumps(info, indent=1).encode())
