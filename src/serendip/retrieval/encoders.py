"""Text encoders for the dense index: one registry, :data:`ENCODERS`, that the index, the config check,
the CLI's ``--encoder`` choices and ``benchmarks/encoder_speed.py`` read.

Built in:

- ``torch``: sentence-transformers on PyTorch (the path of every index built before issue 14). ST sorts
  each call's texts by length before batching.
- ``onnx``: the same model exported to ONNX (fp32, ONNX Runtime's BERT fusions) and run by ONNX Runtime
  (:mod:`.onnx_export`); pooling and normalisation done here.
- ``onnx-int8``: the export with int8 weights (dynamic quantisation, per channel).
- ``openvino-int8``: the export quantised to int8 weights and activations by NNCF (static, calibrated
  once on passages shipped with Serendip) and run by OpenVINO's CPU plugin
  (:mod:`.openvino_encoder`; optional extra ``serendip[openvino]``). The fastest on CPU: about 4.5x
  torch on 2 cores with AVX-512 VNNI (``benchmarks/encoder_speed.py``).

The ONNX and OpenVINO encoders (:class:`TokenEncoder`) tokenize with the ``tokenizers`` library (the folder's ``tokenizer.json``) and never
import torch, transformers or sentence-transformers once the model is exported (the export itself, done
once per model and cached, needs torch and transformers). They follow the folder's sentence-transformers
configuration as ST does: texts lower-cased when ``do_lower_case``; truncation at ``max_seq_length``
word pieces counting [CLS] and [SEP] (256 for all-MiniLM-L6-v2, not the tokenizer's own 512); the
pooling of ``1_Pooling/config.json`` (mean over the attention mask for MiniLM; CLS, max and
mean-sqrt-len also supported); L2 normalisation when ``modules.json`` lists a Normalize module (the
index normalises every vector again anyway). Texts are sorted by token count and batched, so a batch of
short texts is not padded to the longest abstract; output rows follow the input order.

A new backend is one registration::

    ENCODERS.add("openvino", EncoderSpec("openvino", load=my_loader, description="..."))
"""
from __future__ import annotations

import inspect
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from serendip.errors import ConfigError
from serendip.registry import Registry

__all__ = ["DEFAULT_ENCODER", "ENCODERS", "EncoderSpec", "OnnxEncoder", "STConfig", "TokenEncoder",
           "TorchEncoder", "TorchQueryEncoder", "encoder_names", "get_encoder", "length_batches"]

DEFAULT_ENCODER = "torch"


@dataclass(frozen=True)
class EncoderSpec:
    """One registered encoder backend.

    Parameters
    ----------
    name : str
        Name used by ``--encoder``, ``retrieval.encoder`` and the dense index's ``meta.json``.
    load : callable
        ``load(model_folder: str) -> encoder`` with ``encoder.encode(texts, batch_size)`` returning a
        float32 array (len(texts), dim), and optionally ``encoder.encode_queries(texts, batch_size)``
        (the same vectors by a path lighter to start, used for queries; default: ``encode``).
    description : str
        One line for ``--help``.
    """

    name: str
    load: Callable[[str], object]
    description: str = ""


#: name -> :class:`EncoderSpec`
ENCODERS: Registry[EncoderSpec] = Registry("encoder")


def encoder_names() -> list[str]:
    """Names of the registered encoders, sorted."""
    return ENCODERS.keys()


@dataclass(frozen=True)
class STConfig:
    """What a sentence-transformers folder says about tokenization, pooling and normalisation."""

    max_seq_length: int
    do_lower_case: bool
    pooling: str  # "mean", "cls", "max" or "mean_sqrt_len"
    normalize: bool

    @classmethod
    def read(cls, folder: str | Path) -> "STConfig":
        """Read ``sentence_bert_config.json``, ``modules.json`` and the pooling module's ``config.json``.

        Raises
        ------
        ConfigError
            When a file is missing or unreadable, or the pooling mode is not one supported here.
        """
        folder = Path(folder)
        try:
            sbert = json.loads((folder / "sentence_bert_config.json").read_text(encoding="utf-8"))
            modules = json.loads((folder / "modules.json").read_text(encoding="utf-8"))
            pool_mod = next(m for m in modules if m.get("type", "").endswith(".Pooling"))
            pool = json.loads((folder / pool_mod["path"] / "config.json").read_text(encoding="utf-8"))
        except (OSError, ValueError, StopIteration, KeyError, TypeError) as exc:
            raise ConfigError(f"{folder} is not a sentence-transformers folder the ONNX encoder can read "
                              f"(sentence_bert_config.json, modules.json with a Pooling module): {exc}") from None
        modes = [m for m in ("cls_token", "mean_tokens", "max_tokens", "mean_sqrt_len_tokens")
                 if pool.get(f"pooling_mode_{m}")]
        other = [k for k, v in pool.items() if k.startswith("pooling_mode_") and v
                 and k[len("pooling_mode_"):] not in ("cls_token", "mean_tokens", "max_tokens",
                                                      "mean_sqrt_len_tokens")]
        if len(modes) != 1 or other:
            raise ConfigError(f"{folder / pool_mod['path'] / 'config.json'}: the ONNX encoder supports one "
                              f"pooling mode of cls, mean, max, mean_sqrt_len; found {modes + other}")
        pooling = {"cls_token": "cls", "mean_tokens": "mean", "max_tokens": "max",
                   "mean_sqrt_len_tokens": "mean_sqrt_len"}[modes[0]]
        normalize = any(m.get("type", "").endswith(".Normalize") for m in modules)
        return cls(int(sbert.get("max_seq_length") or 512), bool(sbert.get("do_lower_case", False)),
                   pooling, normalize)


def length_batches(lengths: list[int], batch_size: int) -> list[np.ndarray]:
    """Indices of texts grouped into batches of similar length (longest first).

    Parameters
    ----------
    lengths : list of int
        Token count per text.
    batch_size : int

    Returns
    -------
    list of numpy.ndarray
        int64 index arrays, each at most ``batch_size`` long, covering ``range(len(lengths))`` once.
    """
    order = np.argsort(-np.asarray(lengths, dtype=np.int64), kind="stable")
    step = max(1, int(batch_size))
    return [order[i:i + step] for i in range(0, len(order), step)]


def _pool(hidden: np.ndarray, mask: np.ndarray, mode: str) -> np.ndarray:
    """(batch, seq, dim) hidden states and (batch, seq) mask -> (batch, dim) float32, as ST's Pooling."""
    m = mask[..., None].astype(hidden.dtype)
    if mode == "cls":
        return hidden[:, 0]
    if mode == "max":
        return np.where(m > 0, hidden, np.finfo(hidden.dtype).min).max(axis=1)
    summed = (hidden * m).sum(axis=1)
    counts = np.clip(m.sum(axis=1), 1e-9, None)
    return summed / (np.sqrt(counts) if mode == "mean_sqrt_len" else counts)


class TokenEncoder:
    """Tokenization, length batching, pooling and normalisation of a sentence-transformers folder (see
    the module docstring); a backend subclasses it and supplies :meth:`_forward`.

    Parameters
    ----------
    folder : str
        Local sentence-transformers folder (with ``tokenizer.json``).
    max_batch : int, optional
        Largest batch run at once, whatever ``encode``'s ``batch_size`` (a backend faster on smaller
        batches sets it); default: no cap.

    Raises
    ------
    ConfigError
        The folder has no ``tokenizer.json`` or an unsupported pooling.
    """

    def __init__(self, folder: str, max_batch: int | None = None):
        from tokenizers import Tokenizer

        self.folder = str(folder)
        self.config = STConfig.read(folder)
        tok_file = Path(folder) / "tokenizer.json"
        if not tok_file.is_file():
            raise ConfigError(f"{tok_file} is missing: the ONNX encoder needs the fast tokenizer's file")
        self.tokenizer = Tokenizer.from_file(str(tok_file))
        self.tokenizer.enable_truncation(max_length=self.config.max_seq_length)
        self.tokenizer.no_padding()
        self.max_batch = max_batch

    def feeds(self, texts: list[str], batch_size: int):
        """Yield (row indices, model inputs) per length batch of ``texts``.

        The inputs are ``input_ids``, ``attention_mask`` and ``token_type_ids``: int64 arrays
        (len(indices), longest text of the batch in word pieces), zero-padded.
        """
        if self.config.do_lower_case:
            texts = [t.lower() for t in texts]
        encodings = self.tokenizer.encode_batch(list(texts))
        step = min(batch_size, self.max_batch) if self.max_batch else batch_size
        for idx in length_batches([len(e.ids) for e in encodings], step):
            width = max(len(encodings[i].ids) for i in idx)
            ids = np.zeros((len(idx), width), dtype=np.int64)
            mask = np.zeros_like(ids)
            types = np.zeros_like(ids)
            for row, i in enumerate(idx):
                enc = encodings[i]
                n = len(enc.ids)
                ids[row, :n], mask[row, :n], types[row, :n] = enc.ids, enc.attention_mask, enc.type_ids
            yield idx, {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}

    def _forward(self, feed: dict[str, np.ndarray]) -> np.ndarray:
        """Last hidden states, float32 (batch, seq, dim), of one batch of :meth:`feeds`."""
        raise NotImplementedError

    def encode(self, texts: list[str], batch_size: int = 64) -> np.ndarray:
        """Embed ``texts``: float32 array (len(texts), dim), rows in input order."""
        out: np.ndarray | None = None
        for idx, feed in self.feeds(texts, batch_size):
            hidden = self._forward(feed)
            vecs = _pool(hidden, feed["attention_mask"], self.config.pooling).astype(np.float32)
            if self.config.normalize:
                vecs /= np.clip(np.linalg.norm(vecs, axis=1, keepdims=True), 1e-12, None)
            if out is None:
                out = np.zeros((len(texts), vecs.shape[1]), dtype=np.float32)
            out[idx] = vecs
        return out if out is not None else np.zeros((0, 0), dtype=np.float32)


class OnnxEncoder(TokenEncoder):
    """A sentence-transformers folder run by ONNX Runtime (see the module docstring).

    Parameters
    ----------
    folder : str
        Local sentence-transformers folder (with ``tokenizer.json``).
    variant : {"fp32", "int8"}
        Which export of :mod:`.onnx_export`.
    threads : int, optional
        ONNX Runtime intra-op threads (default: its own choice, the physical cores).

    Raises
    ------
    ConfigError
        The folder has no ``tokenizer.json`` or an unsupported pooling.
    ExportError
        The export failed, or its cached file cannot be loaded (damaged).
    """

    def __init__(self, folder: str, variant: str = "fp32", threads: int | None = None):
        from serendip.retrieval.onnx_export import exported_model, open_session

        super().__init__(folder)
        self.path = exported_model(folder, variant)
        self.session = open_session(self.path, threads)
        self._inputs = {i.name for i in self.session.get_inputs()}

    def _forward(self, feed: dict[str, np.ndarray]) -> np.ndarray:
        return self.session.run(None, {k: v for k, v in feed.items() if k in self._inputs})[0]


class TorchEncoder:
    """sentence-transformers on PyTorch, CPU (:func:`serendip.retrieval.dense.load_model`, which keeps
    one model per process; looked up on each call, so this object holds no model of its own).

    Queries (:meth:`encode_queries`) in a process that has not loaded that model (a search) are run by
    :class:`TorchQueryEncoder` instead: the same weights in PyTorch through ``transformers``' AutoModel,
    with :class:`TokenEncoder`'s tokenization, pooling and normalisation (cosine >= 0.99999 to the
    sentence-transformers vectors, ``tests/unit/retrieval/test_encoders.py``), without importing
    sentence-transformers and what it pulls in (scikit-learn, SciPy). Measured on 2 cores shared at load
    ~10: a cold ``serendip search --mode dense`` over 10k records took 22.6 s median against 26.1 s
    through sentence-transformers (3 alternating runs each), and 1.11x a bare transformers script
    (``benchmarks/cold_start.py``). Once this process embedded documents here, queries use the loaded
    model too (one copy of the weights).
    """

    def __init__(self, folder: str):
        self.folder = str(folder)
        self._documents = False  # whether encode() ran (the sentence-transformers model is loaded)
        self._query: TorchQueryEncoder | None = None
        self._lock = threading.Lock()

    def encode(self, texts: list[str], batch_size: int = 64) -> np.ndarray:
        """Embed ``texts`` (ST sorts by length inside): float32 array (len(texts), dim), L2-normalised."""
        from serendip.retrieval import dense

        self._documents = True
        return dense.load_model(self.folder).encode(list(texts), batch_size=batch_size, convert_to_numpy=True,
                                 normalize_embeddings=True, show_progress_bar=False)

    def encode_queries(self, texts: list[str], batch_size: int = 64) -> np.ndarray:
        """Embed queries: float32 array (len(texts), dim), L2-normalised (see the class docstring)."""
        from serendip.retrieval.embedding_model import model_loaded

        if self._documents or model_loaded(self.folder):
            return self.encode(texts, batch_size)
        with self._lock:
            if self._query is None:
                self._query = TorchQueryEncoder(self.folder)
        return self._query.encode(list(texts), batch_size)


class TorchQueryEncoder(TokenEncoder):
    """A sentence-transformers folder's transformer run by ``transformers.AutoModel`` in PyTorch (CPU,
    inference mode), with :class:`TokenEncoder`'s tokenization, pooling and normalisation: the
    sentence-transformers computation without sentence-transformers (see :class:`TorchEncoder`).

    Raises
    ------
    ConfigError
        The folder has no ``tokenizer.json`` or an unsupported pooling.
    """

    def __init__(self, folder: str):
        super().__init__(folder)
        import torch
        from transformers import AutoModel
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # no "Loading weights" bar in the CLI's output
        self._torch = torch
        self.model = AutoModel.from_pretrained(folder, local_files_only=True).eval()
        self._inputs = set(inspect.signature(self.model.forward).parameters)

    def _forward(self, feed: dict[str, np.ndarray]) -> np.ndarray:
        torch = self._torch
        with torch.inference_mode():
            out = self.model(**{k: torch.from_numpy(v) for k, v in feed.items() if k in self._inputs})
        return out.last_hidden_state.float().numpy()


ENCODERS.add("torch", EncoderSpec("torch", TorchEncoder,
                                  "sentence-transformers on PyTorch (reference, slowest)"))
ENCODERS.add("onnx", EncoderSpec("onnx", lambda folder: OnnxEncoder(folder, "fp32"),
                                 "ONNX Runtime, fp32 (same vectors as torch, cosine >= 0.9999)"))
ENCODERS.add("onnx-int8", EncoderSpec("onnx-int8", lambda folder: OnnxEncoder(folder, "int8"),
                                      "ONNX Runtime, int8 weights (vectors differ slightly)"))


def _load_openvino_int8(folder: str):
    from serendip.retrieval.openvino_encoder import OpenVinoEncoder

    return OpenVinoEncoder(folder)


ENCODERS.add("openvino-int8", EncoderSpec("openvino-int8", _load_openvino_int8,
                                          "OpenVINO, int8 weights and activations (fastest on CPU; needs "
                                          "the 'openvino' extra; vectors differ slightly)"))

_loaded: dict[tuple[str, str], object] = {}
_lock = threading.Lock()


def get_encoder(name: str, model: str):
    """The encoder ``name`` for ``model``, built once per process (thread-safe).

    Parameters
    ----------
    name : str
        A name of :data:`ENCODERS`.
    model : str
        Model name or local folder (:func:`serendip.retrieval.dense.resolve_model`).

    Raises
    ------
    ConfigError
        Unknown encoder (the message lists the registered ones) or model.
    ExportError
        The ONNX export failed.
    """
    from serendip.retrieval.dense import resolve_model

    spec = ENCODERS.get(name)
    folder = resolve_model(model)
    key = (spec.name, folder)
    with _lock:
        encoder = _loaded.get(key)
        if encoder is None:
            encoder = _loaded[key] = spec.load(folder)
    return encoder
