"""Which sentence embeddings a screening model reads: the bundled all-MiniLM-L6-v2, a local
sentence-transformers folder, or a domain-adapted encoder that ``serendip pretrain`` wrote (a
transformers checkpoint: ``config.json`` and weights, no sentence-transformers files).

A checkpoint is embedded as sentence-transformers embeds all-MiniLM-L6-v2 (Reimers & Gurevych 2019,
Sentence-BERT): the last hidden states averaged over the non-padding tokens (mean pooling), inputs
truncated at :data:`MAX_TOKENS` tokens, each vector L2-normalised; a masked-LM head in the checkpoint
is not used. Its vectors are cached like MiniLM's (:class:`~serendip.screening.features.FeatureStore`),
keyed by the folder and the sha256 of its weights, configuration and tokenizer (:func:`model_digest`), so
retraining or editing the checkpoint in place never reuses stale vectors.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from serendip.core.files import sha256_file
from serendip.errors import ConfigError
from serendip.screening.features import FeatureContext

__all__ = ["MAX_TOKENS", "checkpoint_folder", "embedding_context", "embedding_model_id", "model_digest"]

#: Tokens per text for a checkpoint (sentence-transformers' ``max_seq_length`` of all-MiniLM-L6-v2)
MAX_TOKENS = 256
_WEIGHTS = ("model.safetensors", "pytorch_model.bin")


def checkpoint_folder(path: str | Path) -> Path | None:
    """The transformers checkpoint at ``path`` or at ``path/model`` (a ``serendip pretrain`` run folder),
    or None when neither holds ``config.json`` and a weights file."""
    for folder in (Path(path), Path(path) / "model"):
        if (folder / "config.json").is_file() and any((folder / w).is_file() for w in _WEIGHTS):
            return folder
    return None


def _mean_pool_embedder(folder: Path, batch_size: int = 32):
    """``embed(texts) -> float32 (len(texts), hidden)``: mean-pooled last hidden states of ``folder``; the
    model is loaded on the first call (never when every vector comes from the cache)."""
    loaded: list = []

    def embed(texts: list[str]) -> np.ndarray:
        import torch

        if not loaded:
            from transformers import AutoModel, AutoTokenizer

            from serendip.models.backbone import quiet_hf

            try:
                with quiet_hf():  # its load report lists the masked-LM head left out: expected here
                    loaded.extend((AutoTokenizer.from_pretrained(folder), AutoModel.from_pretrained(folder).eval()))
            except Exception as exc:  # transformers / safetensors raise many kinds on a damaged checkpoint
                raise ConfigError(f"could not load the checkpoint {folder}: {type(exc).__name__}: "
                                  f"{str(exc).splitlines()[0] if str(exc) else 'no message'}") from exc
        tokenizer, model = loaded
        out = [np.zeros((0, model.config.hidden_size), np.float32)]
        with torch.no_grad():
            for start in range(0, len(texts), batch_size):
                batch = tokenizer(texts[start:start + batch_size], padding=True, truncation=True,
                                  max_length=MAX_TOKENS, return_tensors="pt")
                hidden = model(**batch).last_hidden_state
                mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                out.append(((hidden * mask).sum(1) / mask.sum(1).clamp(min=1.0)).numpy().astype(np.float32))
        return np.concatenate(out)

    return embed


#: files whose bytes decide a model's vectors besides its weights: architecture, tokenizer, pooling
_MODEL_FILES = ("config.json", "tokenizer.json", "tokenizer_config.json", "vocab.txt", "merges.txt",
                "special_tokens_map.json", "sentencepiece.bpe.model", "spiece.model", "modules.json",
                "sentence_bert_config.json", "config_sentence_transformers.json")


def model_digest(folder: Path) -> str | None:
    """sha256 (64 hex) identifying the model in ``folder``: of the lines ``relative/path:sha256`` (sorted)
    of its weights (:data:`_WEIGHTS`) and the files that decide its vectors beside them (config, tokenizer,
    pooling: :data:`_MODEL_FILES`), in ``folder`` and in its module subfolders (``0_Transformer/``,
    ``1_Pooling/``, ``2_Dense/`` of a sentence-transformers folder); None when no weights file is there."""
    import hashlib

    folders = [folder, *(sub for sub in sorted(folder.iterdir()) if sub.is_dir())]
    files = [d / name for d in folders for name in (*_WEIGHTS, *_MODEL_FILES) if (d / name).is_file()]
    if not any(f.name in _WEIGHTS for f in files):
        return None
    lines = "".join(f"{f.relative_to(folder).as_posix()}:{sha256_file(f)}\n" for f in sorted(files))
    return hashlib.sha256(lines.encode("utf-8")).hexdigest()


def embedding_model_id(model: str | Path) -> tuple[str, str]:
    """``(folder, sha256)`` of an embedding model a screening session stores: the resolved folder
    :func:`embedding_context` reads and the sha256 (64 hex digits) of its weights, configuration and
    tokenizer (:func:`model_digest`), so a session can tell when the model it was started with has changed.

    Raises
    ------
    ConfigError
        As :func:`embedding_context`, or a sentence-transformers folder without ``model.safetensors`` or
        ``pytorch_model.bin``.
    """
    embedding_context(model)  # the same checks, the same messages
    path = Path(model).expanduser().resolve()
    folder = path if (path / "modules.json").is_file() else checkpoint_folder(path)
    digest = model_digest(folder)
    if digest is None:
        raise ConfigError(f"{folder} has no weights file ({' or '.join(_WEIGHTS)}, in it or in a module "
                          "subfolder) to identify the model by")
    return str(path), digest


def embedding_context(model: str | Path | None = None) -> FeatureContext:
    """The :class:`FeatureContext` of ``model``: None, the bundled MiniLM; a sentence-transformers folder
    (``modules.json``), read by the ONNX encoder; a transformers checkpoint (:func:`checkpoint_folder`),
    mean-pooled (see the module docstring).

    Raises
    ------
    ConfigError
        ``model`` is not a folder, or a folder with neither sentence-transformers files nor a checkpoint.
    """
    if model is None:
        return FeatureContext()
    path = Path(model).expanduser()
    if not path.is_dir():
        raise ConfigError(f"embedding model {str(model)!r} is not a folder (give a sentence-transformers folder or "
                          "a checkpoint written by `serendip pretrain`; model hub downloads are off)")
    if (path / "modules.json").is_file():
        digest = model_digest(path)  # in the cache key: a folder retrained in place gets new vectors
        return FeatureContext(model=str(path.resolve()), cache_key=f"sha256:{digest}" if digest else None)
    folder = checkpoint_folder(path)
    if folder is None:
        raise ConfigError(f"{path} holds neither a sentence-transformers model (modules.json) nor a transformers "
                          f"checkpoint (config.json with {' or '.join(_WEIGHTS)}), nor one in {path / 'model'}")
    return FeatureContext(embed=_mean_pool_embedder(folder.resolve()),
                          cache_key=f"mean-pool:{folder.resolve()}:{model_digest(folder)}")
