"""The cross-encoder reranker: a ``pair`` run of the engine that reads (query, document) together.

A cross-encoder (Nogueira & Cho 2019, "Passage Re-ranking with BERT", arXiv:1901.04085) encodes the
query and a candidate document as one input, ``[CLS] query [SEP] document [SEP]``, and classifies the
pair as relevant or not; candidates are ranked by the classifier's log-odds of relevance,
``logit[relevant] - logit[not_relevant]``. Serendip's is fine-tuned through the engine's ``pair`` task
(:mod:`serendip.models.tasks`) from the offline all-MiniLM-L6-v2, on (claim, abstract) pairs labelled
:data:`RELEVANT` / :data:`NOT_RELEVANT` (:mod:`serendip.evidence.rerank_data`; the run is made by
:func:`reranker_config` + :func:`serendip.models.train.finetune`, see
``benchmarks/evidence_rerank.py``).

The rerank depth and fusion weight chosen for a run on held-out training queries are kept beside its
model in ``<run>/reranker.json`` (:func:`write_reranker_settings`: ``rerank_k``, ``weight``, what they
were tuned on, and optionally ``max_length``, the tokens per pair read at search time); a search with
the run uses them unless told otherwise.

Cost: a pair costs about its token count (the pairs are grouped by length and padded per batch,
:func:`pair_batches`), so a search-time ``max_length`` below the training one (the claim, then the
title and the first words of the abstract) buys depth for the same time; a run trained with fewer
backbone layers (``reranker_config(layers=N)``, the engine's ``backbone.layers``) costs about
N / 6 of the full MiniLM's per pair.

Backends (:data:`BACKENDS`, named as the dense encoders of :mod:`serendip.retrieval.encoders`):
``torch`` (the run's model in PyTorch), ``onnx`` (``<run>/model`` exported to ONNX, ONNX Runtime's BERT
fusions, fp32: the torch scores within 1e-4), ``onnx-int8`` (the export with int8 weights, dynamic
quantisation per channel: scores differ slightly, the ranking nearly not) and ``openvino-int8`` (the
export with int8 weights and activations, static quantisation by NNCF calibrated on (query, document)
pairs of Serendip's own passages, run by OpenVINO: :mod:`serendip.evidence.rerank_openvino`; optional
extra ``serendip[openvino]``). The exports are made on first use and cached
(:mod:`serendip.retrieval.onnx_export`, kind ``sequence-classifier``). Default
(:func:`default_backend`): ``onnx-int8`` where onnxruntime is installed, else ``torch`` (the default
never needs an optional extra).

Importing this module registers ``cross-encoder`` in :data:`serendip.retrieval.rerank.RERANKERS`.
"""
from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from serendip.errors import DataError
from serendip.retrieval.rerank import RERANKERS, RerankerSpec

__all__ = ["BACKENDS", "MIN_LENGTH", "NOT_RELEVANT", "OPENVINO", "RELEVANT", "SETTINGS_FILE", "CrossEncoderReranker",
           "default_backend", "pair_batches", "read_reranker_settings", "reranker_config", "write_reranker_settings"]

#: the two classes of a reranker run (the pair task's labels)
RELEVANT, NOT_RELEVANT = "relevant", "not_relevant"
#: the tuned search settings of a reranker run, in its folder
SETTINGS_FILE = "reranker.json"
#: backend -> the ONNX export variant it runs from (None: PyTorch; ``openvino-int8`` quantises ``plain``)
BACKENDS = {"torch": None, "onnx": "fp32", "onnx-int8": "int8", "openvino-int8": "plain"}
#: the backend run by OpenVINO (the others by ONNX Runtime or PyTorch)
OPENVINO = "openvino-int8"
#: the fewest tokens per pair a reranker reads ([CLS] query [SEP] document [SEP] needs room for both)
MIN_LENGTH = 16


def default_backend() -> str:
    """``"onnx-int8"`` when onnxruntime is importable (found without importing it), else ``"torch"``."""
    import importlib.util

    return "onnx-int8" if importlib.util.find_spec("onnxruntime") is not None else "torch"


def write_reranker_settings(run_dir: str | Path, *, rerank_k: int, weight: float, tuned_on: str,
                            ndcg_at_10: float | None = None, max_length: int | None = None) -> Path:
    """Write ``<run_dir>/reranker.json`` (atomically): the rerank depth and fusion weight a search uses
    with this run by default, ``tuned_on`` (the queries they were chosen on, never test queries) and,
    when given, ``max_length``: the tokens per (query, document) pair read at search time (None: the
    run's training ``max_length``).

    Raises
    ------
    ConfigError
        ``rerank_k`` < 1, ``weight`` outside [0, 1], or ``max_length`` < :data:`MIN_LENGTH`.
    """
    from serendip.errors import ConfigError
    from serendip.retrieval.index_files import atomic_write_text

    if int(rerank_k) < 1 or not 0.0 <= float(weight) <= 1.0:
        raise ConfigError(f"reranker settings: rerank_k must be >= 1 and weight in [0, 1], got {rerank_k}, {weight}")
    if max_length is not None and int(max_length) < MIN_LENGTH:
        raise ConfigError(f"reranker settings: max_length must be >= {MIN_LENGTH} tokens, got {max_length}")
    data = {"rerank_k": int(rerank_k), "weight": float(weight), "tuned_on": tuned_on, "ndcg@10": ndcg_at_10}
    if max_length is not None:
        data["max_length"] = int(max_length)
    path = Path(run_dir) / SETTINGS_FILE
    atomic_write_text(path, json.dumps(data, indent=1))
    return path


def read_reranker_settings(run_dir: str | Path) -> dict:
    """``{"rerank_k": int, "weight": float, ...}`` of ``<run_dir>/reranker.json`` (``max_length``: int,
    when it was written); {} when absent.

    Raises
    ------
    DataError
        The file is not JSON or holds values out of range (names the file).
    """
    path = Path(run_dir) / SETTINGS_FILE
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        k, w = data["rerank_k"], float(data["weight"])
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise DataError(f"{path}: not reranker settings ({exc}); delete it or write it again") from None
    if not isinstance(k, int) or isinstance(k, bool):  # 1e999, 2.5, "20": never rounded or read as a count
        raise DataError(f"{path}: rerank_k must be a whole number >= 1, got {k!r}")
    if k < 1 or not 0.0 <= w <= 1.0:
        raise DataError(f"{path}: rerank_k must be >= 1 and weight in [0, 1], got {k}, {w}")
    out = {**data, "rerank_k": k, "weight": w}
    if data.get("max_length") is not None:
        length = data["max_length"]
        if not isinstance(length, int) or isinstance(length, bool) or length < MIN_LENGTH:
            raise DataError(f"{path}: max_length must be an integer >= {MIN_LENGTH} (tokens per pair), got {length!r}")
    return out


class CrossEncoderReranker:
    """A fine-tuned ``pair`` run used as a reranker.

    Parameters
    ----------
    bundle : ModelBundle
        The run's model, tokenizer, task and label space (:func:`serendip.models.predict.load_run_model`;
        for the ONNX backends loaded with ``weights=False``: no PyTorch model).
    source : str
        Where it came from (the run folder), for :attr:`description`.
    batch_size : int, default 64
        Pairs per forward pass (64: the default 50 candidates in one pass).
    settings : dict, optional
        Its tuned ``rerank_k`` and ``weight`` (:func:`read_reranker_settings`), kept as attributes.
    session : onnxruntime.InferenceSession, optional
        The ONNX export of the run's model that scores the pairs (the ONNX backends); None: the bundle's
        PyTorch model.
    compiled : serendip.retrieval.openvino_int8.CompiledModel, optional
        The int8 OpenVINO model that scores the pairs (``openvino-int8``), in batches of at most
        :data:`~serendip.retrieval.openvino_int8.MAX_BATCH` run in parallel.
    backend : str, default "torch"
        A name of :data:`BACKENDS`, for :attr:`description`.
    max_length : int, optional
        Tokens per (query, document) pair at scoring time (the document is cut first); default the
        run's training ``max_length`` (``bundle.max_length``).

    Raises
    ------
    DataError
        The run's classes are not :data:`RELEVANT` and :data:`NOT_RELEVANT`.
    ConfigError
        ``max_length`` < :data:`MIN_LENGTH`.
    """

    def __init__(self, bundle: Any, source: str, batch_size: int = 64, settings: dict | None = None, *,
                 session: Any = None, compiled: Any = None, backend: str = "torch", max_length: int | None = None):
        classes = _reranker_classes(bundle, source)
        #: tokens per pair read at scoring time
        self.max_length = _check_length(bundle.max_length if max_length is None else max_length, source)
        self.bundle = bundle
        self.session = session
        self.compiled = compiled
        self.backend = backend
        self.batch_size = int(batch_size)
        self._pos, self._neg = classes.index(RELEVANT), classes.index(NOT_RELEVANT)
        self.description = f"cross-encoder {source} ({backend}, max_length {self.max_length})"
        settings = settings or {}
        #: defaults for a search (:func:`serendip.retrieval.rerank.reranker_defaults`): None, 1.0 untuned
        self.rerank_k: int | None = settings.get("rerank_k")
        self.weight: float = float(settings.get("weight", 1.0))
        self._inputs = {i.name for i in session.get_inputs()} if session is not None else None

    @classmethod
    def load(cls, path: str | Path, *, device: str | None = None, batch_size: int = 64,
             backend: str | None = None, threads: int | None = None,
             max_length: int | None = None) -> CrossEncoderReranker:
        """The reranker of the run folder ``path``, with its tuned settings (``reranker.json``) if any.

        Parameters
        ----------
        path : str or Path
            A run folder of a ``pair`` run (:func:`reranker_config`).
        device : str, optional
            PyTorch device of the ``torch`` backend (default: CUDA when available, else CPU); the others
            run on the CPU.
        batch_size : int, default 64
            Pairs per forward pass.
        backend : str, optional
            A name of :data:`BACKENDS`; default :func:`default_backend`. The ONNX and OpenVINO backends
            export ``<run>/model`` on first use (cached by content, :mod:`serendip.retrieval.onnx_export`;
            ``openvino-int8`` then quantises it, :mod:`serendip.evidence.rerank_openvino`).
        threads : int, optional
            ONNX Runtime intra-op threads, or OpenVINO threads (one stream each); default: the runtime's
            own choice.
        max_length : int, optional
            Tokens per pair at scoring time; default the run's ``reranker.json`` ``max_length`` where
            it has one, else the run's training ``max_length``. ``openvino-int8`` is calibrated on pairs
            of this length (a new length quantises once more, cached).

        Raises
        ------
        ConfigError
            An unknown ``backend`` (the message lists them); ``openvino-int8`` without the packages
            openvino and nncf (the message names ``pip install 'serendip[openvino]'``); ``max_length``
            < :data:`MIN_LENGTH`.
        RunNotFound
            ``path`` is not a complete run folder.
        DataError
            The run saved no model, is not a reranker (see the class), its settings are bad, or (ONNX
            backends) it saved only a PEFT adapter, no ``model/`` folder.
        ExportError
            The export or quantisation failed, or its cached file cannot be loaded (one line naming the
            file).
        """
        from serendip.errors import ConfigError
        from serendip.models.predict import load_run_model

        backend = backend or default_backend()
        if backend not in BACKENDS:
            raise ConfigError(f"unknown reranker backend {backend!r}; expected one of: {', '.join(BACKENDS)}")
        if backend == OPENVINO:
            from serendip.evidence.rerank_openvino import require

            require()  # before anything is loaded
        settings = read_reranker_settings(path)
        if max_length is None:
            max_length = settings.get("max_length")
        if max_length is not None:
            _check_length(max_length, str(path))
        if BACKENDS[backend] is None:
            return cls(load_run_model(path, device=device), str(path), batch_size, settings, max_length=max_length)
        from serendip.retrieval.onnx_export import exported_model, open_session

        bundle = load_run_model(path, weights=False)
        _reranker_classes(bundle, str(path))  # a run that is no reranker is refused before any export
        folder = Path(path) / "model"
        if not (folder / "config.json").is_file():
            raise DataError(f"run {path} has no model/ folder (it saved a PEFT adapter only): the {backend} "
                            f"backend exports the merged model; use the torch backend")
        session = compiled = None
        if backend == OPENVINO:
            from serendip.evidence.rerank_openvino import compile_reranker

            compiled = compile_reranker(folder, bundle.tokenizer, max_length or bundle.max_length, threads)
            width = compiled.output_dim()
        else:
            session = open_session(exported_model(folder, BACKENDS[backend], kind="sequence-classifier"), threads)
            width = session.get_outputs()[0].shape[-1]
        if isinstance(width, int) and width != len(bundle.label_space.classes):
            raise DataError(f"run {path}: the exported model has {width} outputs but the run has "
                            f"{len(bundle.label_space.classes)} classes")
        return cls(bundle, str(path), batch_size, settings, session=session, compiled=compiled, backend=backend,
                   max_length=max_length)

    def score(self, query: str, texts: Sequence[str]) -> np.ndarray:
        """Log-odds of relevance of each text to ``query``: float64 array of shape (len(texts),), in the
        order of ``texts``.

        The pairs are tokenized at :attr:`max_length` tokens and batched by :func:`pair_batches` (batches of at most ``batch_size``;
        ``openvino-int8``: of at most :data:`~serendip.retrieval.openvino_int8.MAX_BATCH`, run in
        parallel) and scored without gradients; the score is ``logit[relevant] - logit[not_relevant]``
        in float64.
        """
        b = self.bundle
        out = np.zeros(len(texts), dtype=np.float64)
        if not len(texts):
            return out
        queries = [query] * len(texts)
        if self.compiled is not None:
            from serendip.retrieval.openvino_int8 import MAX_BATCH

            def done(idx: np.ndarray, logits: np.ndarray) -> None:
                out[idx] = logits[:, self._pos].astype(np.float64) - logits[:, self._neg].astype(np.float64)

            self.compiled.run(pair_batches(b.tokenizer, self.max_length, queries, texts,
                                           min(self.batch_size, MAX_BATCH)), done)
            return out
        for idx, feed in pair_batches(b.tokenizer, self.max_length, queries, texts, self.batch_size):
            logits = self._logits(feed)
            out[idx] = logits[:, self._pos] - logits[:, self._neg]
        return out

    def _logits(self, feed: dict[str, np.ndarray]) -> np.ndarray:
        """float64 logits (batch, 2) of one padded batch (int64 arrays (batch, seq))."""
        if self.session is not None:
            inputs = {k: v for k, v in feed.items() if k in self._inputs}
            if "token_type_ids" in self._inputs and "token_type_ids" not in inputs:
                # a tokenizer that gives none: zeros, as the PyTorch model assumes when given none
                inputs["token_type_ids"] = np.zeros_like(feed["input_ids"])
            got = self.session.run(None, inputs)[0]
            return np.asarray(got, dtype=np.float64)
        import torch

        b = self.bundle
        with torch.inference_mode():
            logits = b.model(**{k: torch.from_numpy(v).to(b.device) for k, v in feed.items()}).logits
        return logits.to("cpu", torch.float64).numpy()


def pair_batches(tokenizer: Any, max_length: int, queries: Sequence[str], texts: Sequence[str], batch_size: int):
    """Yield (row indices, inputs) per length batch of the (query, text) pairs, as a reranker scores them.

    The pairs are tokenized as the engine's ``sequence`` head does (``tokenizer(query, text,
    truncation=True, max_length=max_length)``: the longer text is cut first; a None text is ""),
    grouped by token count into batches of at most ``batch_size``
    (:func:`~serendip.retrieval.encoders.length_batches`, longest first) and padded on the right to
    the longest of each batch. Inputs: ``input_ids``, ``attention_mask`` and ``token_type_ids`` when the
    tokenizer gives them, int64 arrays (len(indices), longest pair of the batch in tokens); indices:
    int64 array of rows of ``texts``.
    """
    from serendip.retrieval.encoders import length_batches

    enc = tokenizer(list(queries), [t or "" for t in texts], truncation=True, max_length=max_length)
    keys = [k for k in ("input_ids", "attention_mask", "token_type_ids") if k in enc]
    pad_id = tokenizer.pad_token_id or 0
    for idx in length_batches([len(ids) for ids in enc["input_ids"]], batch_size):
        width = max(len(enc["input_ids"][i]) for i in idx)
        feed = {}
        for key in keys:
            arr = np.full((len(idx), width), pad_id if key == "input_ids" else 0, dtype=np.int64)
            for row, i in enumerate(idx):
                arr[row, :len(enc[key][i])] = enc[key][i]
            feed[key] = arr
        yield idx, feed


def _check_length(max_length: Any, source: str) -> int:
    """``max_length`` as an int; ConfigError (naming ``source``) unless an integer >= :data:`MIN_LENGTH`."""
    from serendip.errors import ConfigError

    if isinstance(max_length, bool) or not isinstance(max_length, (int, np.integer)) or max_length < MIN_LENGTH:
        raise ConfigError(f"reranker {source}: max_length must be an integer >= {MIN_LENGTH} tokens per pair, "
                          f"got {max_length!r}")
    return int(max_length)


def _reranker_classes(bundle: Any, source: str) -> list[str]:
    """The run's classes; DataError unless a ``pair`` run of :data:`RELEVANT` / :data:`NOT_RELEVANT`."""
    classes = list(bundle.label_space.classes) if bundle.label_space is not None else []
    if sorted(classes) != sorted((RELEVANT, NOT_RELEVANT)) or not bundle.task.needs_pair:
        raise DataError(f"run {source} is not a cross-encoder reranker: its task is {bundle.task.name!r} with "
                        f"classes {classes}; a reranker is a 'pair' run labelled {RELEVANT!r} / "
                        f"{NOT_RELEVANT!r} (see benchmarks/evidence_rerank.py)")
    return classes


def reranker_config(train: str | Path, dev: str | Path | None, run_dir: str | Path, *, epochs: int = 1,
                    max_length: int = 256, batch_size: int = 16, lr: float = 5e-5, warmup_ratio: float = 0.1,
                    seed: int = 0, backbone: str | None = None, imbalance: str = "none", name: str = "cross-encoder",
                    layers: int | None = None):
    """The engine config (:class:`~serendip.models.config.FineTuneConfig`) that fine-tunes a
    cross-encoder reranker on a JSON-lines file of (``text``, ``text_pair``, ``label``) rows, as
    :func:`serendip.evidence.rerank_data.reranker_examples` writes them.

    The ``pair`` task with :data:`RELEVANT` as the positive class; full fine-tuning of the backbone
    (default: the bundled all-MiniLM-L6-v2); AdamW with linear warm-up (``warmup_ratio``) and decay;
    ``imbalance`` an engine imbalance method (``"class_weight"``: the loss weighted against the
    positives' rarity); ``layers`` keeps the backbone's first N transformer layers only (the engine's
    ``backbone.layers``: a smaller, faster reranker; None: all); no early stopping (with ``dev`` given, the best epoch by dev macro F1 is kept); nothing is carved
    out of ``train`` (its pairs share queries: a dev set is a file of held-out queries) and there is
    no test split (the reranker is scored by retrieval metrics, not here).

    Raises
    ------
    ConfigError
        A value the config refuses (e.g. ``epochs`` < 1).
    """
    from serendip.models.config import DEFAULT_BACKBONE, FineTuneConfig

    data: dict[str, Any] = {"train": str(train), "columns": {"text_pair": "text_pair", "id": "id"},
                            "split": {"dev": 0.0, "test": 0.0, "seed": seed}}
    if dev is not None:
        data["dev"] = str(dev)
    return FineTuneConfig.model_validate({
        "task": {"name": "pair", "params": {"positive_label": RELEVANT}}, "data": data,
        "backbone": {"name": backbone or DEFAULT_BACKBONE, "layers": layers}, "imbalance": {"method": imbalance},
        "training": {"epochs": epochs, "batch_size": batch_size, "lr": lr, "warmup_ratio": warmup_ratio,
                     "max_length": max_length, "seed": seed, "early_stopping": {"patience": None}},
        "output": {"run_dir": str(run_dir), "name": name, "plots": False}})


def _load(path: Path, backend: str | None = None) -> CrossEncoderReranker:
    return CrossEncoderReranker.load(path, backend=backend)


RERANKERS.add("cross-encoder", RerankerSpec(
    "cross-encoder", _load, description="a fine-tuned (query, document) pair classifier; RUN_OR_PATH names its "
                                        "run (benchmarks/evidence_rerank.py trains one on SciFact)",
    backends=tuple(BACKENDS)))
