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
were tuned on); a search with the run uses them unless told otherwise.

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

__all__ = ["NOT_RELEVANT", "RELEVANT", "SETTINGS_FILE", "CrossEncoderReranker", "read_reranker_settings",
           "reranker_config", "write_reranker_settings"]

#: the two classes of a reranker run (the pair task's labels)
RELEVANT, NOT_RELEVANT = "relevant", "not_relevant"
#: the tuned search settings of a reranker run, in its folder
SETTINGS_FILE = "reranker.json"


def write_reranker_settings(run_dir: str | Path, *, rerank_k: int, weight: float, tuned_on: str,
                            ndcg_at_10: float | None = None) -> Path:
    """Write ``<run_dir>/reranker.json`` (atomically): the rerank depth and fusion weight a search uses
    with this run by default, and ``tuned_on`` (the queries they were chosen on, never test queries).

    Raises
    ------
    ConfigError
        ``rerank_k`` < 1 or ``weight`` outside [0, 1].
    """
    from serendip.errors import ConfigError
    from serendip.retrieval.index_files import atomic_write_text

    if int(rerank_k) < 1 or not 0.0 <= float(weight) <= 1.0:
        raise ConfigError(f"reranker settings: rerank_k must be >= 1 and weight in [0, 1], got {rerank_k}, {weight}")
    path = Path(run_dir) / SETTINGS_FILE
    atomic_write_text(path, json.dumps({"rerank_k": int(rerank_k), "weight": float(weight), "tuned_on": tuned_on,
                                        "ndcg@10": ndcg_at_10}, indent=1))
    return path


def read_reranker_settings(run_dir: str | Path) -> dict:
    """``{"rerank_k": int, "weight": float, ...}`` of ``<run_dir>/reranker.json``; {} when absent.

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
        k, w = int(data["rerank_k"]), float(data["weight"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise DataError(f"{path}: not reranker settings ({exc}); delete it or write it again") from None
    if k < 1 or not 0.0 <= w <= 1.0:
        raise DataError(f"{path}: rerank_k must be >= 1 and weight in [0, 1], got {k}, {w}")
    return {**data, "rerank_k": k, "weight": w}


class CrossEncoderReranker:
    """A fine-tuned ``pair`` run used as a reranker.

    Parameters
    ----------
    bundle : ModelBundle
        The run's model, tokenizer, task and label space (:func:`serendip.models.predict.load_run_model`).
    source : str
        Where it came from (the run folder), for :attr:`description`.
    batch_size : int, default 64
        Pairs per forward pass (64: the default 50 candidates in one pass).
    settings : dict, optional
        Its tuned ``rerank_k`` and ``weight`` (:func:`read_reranker_settings`), kept as attributes.

    Raises
    ------
    DataError
        The run's classes are not :data:`RELEVANT` and :data:`NOT_RELEVANT`.
    """

    def __init__(self, bundle: Any, source: str, batch_size: int = 64, settings: dict | None = None):
        classes = list(bundle.label_space.classes) if bundle.label_space is not None else []
        if sorted(classes) != sorted((RELEVANT, NOT_RELEVANT)) or not bundle.task.needs_pair:
            raise DataError(f"run {source} is not a cross-encoder reranker: its task is {bundle.task.name!r} with "
                            f"classes {classes}; a reranker is a 'pair' run labelled {RELEVANT!r} / "
                            f"{NOT_RELEVANT!r} (see benchmarks/evidence_rerank.py)")
        self.bundle = bundle
        self.batch_size = int(batch_size)
        self._pos, self._neg = classes.index(RELEVANT), classes.index(NOT_RELEVANT)
        self.description = f"cross-encoder {source} (max_length {bundle.max_length})"
        settings = settings or {}
        #: defaults for a search (:func:`serendip.retrieval.rerank.reranker_defaults`): None, 1.0 untuned
        self.rerank_k: int | None = settings.get("rerank_k")
        self.weight: float = float(settings.get("weight", 1.0))

    @classmethod
    def load(cls, path: str | Path, *, device: str | None = None, batch_size: int = 64) -> CrossEncoderReranker:
        """The reranker of the run folder ``path``, with its tuned settings (``reranker.json``) if any.

        Raises
        ------
        RunNotFound
            ``path`` is not a complete run folder.
        DataError
            The run saved no model, is not a reranker (see the class), or its settings are bad.
        """
        from serendip.models.predict import load_run_model

        return cls(load_run_model(path, device=device), str(path), batch_size, read_reranker_settings(path))

    def score(self, query: str, texts: Sequence[str]) -> np.ndarray:
        """Log-odds of relevance of each text to ``query``: float64 array of shape (len(texts),).

        The pairs are tokenized as the engine's ``sequence`` head does (``tokenizer(query, text,
        truncation=True, max_length=run's max_length)``: the longer text is cut first), padded on the
        right per batch, and scored in eval mode without gradients.
        """
        import torch

        b = self.bundle
        out = np.zeros(len(texts), dtype=np.float64)
        with torch.no_grad():
            for start in range(0, len(texts), self.batch_size):
                chunk = [t or "" for t in texts[start:start + self.batch_size]]
                enc = b.tokenizer([query] * len(chunk), chunk, truncation=True, max_length=b.max_length,
                                  padding=True, return_tensors="pt")
                logits = b.model(**{k: v.to(b.device) for k, v in enc.items()}).logits.to("cpu", torch.float64)
                out[start:start + len(chunk)] = (logits[:, self._pos] - logits[:, self._neg]).numpy()
        return out


def reranker_config(train: str | Path, dev: str | Path | None, run_dir: str | Path, *, epochs: int = 1,
                    max_length: int = 256, batch_size: int = 16, lr: float = 5e-5, warmup_ratio: float = 0.1,
                    seed: int = 0, backbone: str | None = None, imbalance: str = "none", name: str = "cross-encoder"):
    """The engine config (:class:`~serendip.models.config.FineTuneConfig`) that fine-tunes a
    cross-encoder reranker on a JSON-lines file of (``text``, ``text_pair``, ``label``) rows, as
    :func:`serendip.evidence.rerank_data.reranker_examples` writes them.

    The ``pair`` task with :data:`RELEVANT` as the positive class; full fine-tuning of the backbone
    (default: the bundled all-MiniLM-L6-v2); AdamW with linear warm-up (``warmup_ratio``) and decay;
    ``imbalance`` an engine imbalance method (``"class_weight"``: the loss weighted against the
    positives' rarity); no early stopping (with ``dev`` given, the best epoch by dev macro F1 is kept); nothing is carved
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
        "backbone": backbone or DEFAULT_BACKBONE, "imbalance": {"method": imbalance},
        "training": {"epochs": epochs, "batch_size": batch_size, "lr": lr, "warmup_ratio": warmup_ratio,
                     "max_length": max_length, "seed": seed, "early_stopping": {"patience": None}},
        "output": {"run_dir": str(run_dir), "name": name, "plots": False}})


def _load(path: Path) -> CrossEncoderReranker:
    return CrossEncoderReranker.load(path)


RERANKERS.add("cross-encoder", RerankerSpec(
    "cross-encoder", _load, description="a fine-tuned (query, document) pair classifier; RUN_OR_PATH names its "
                                        "run (benchmarks/evidence_rerank.py trains one on SciFact)"))
