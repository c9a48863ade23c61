"""The domain-adapted encoder's systems of ``screening_cohen.py`` (``--adapted-model``): ``NAME@adapted:<digest>``
per :data:`ADAPTED_MODELS`, the registered model they run, and the name rows and tables show."""
from __future__ import annotations

import os
from pathlib import Path

__all__ = ["ADAPTED_ENV", "ADAPTED_MODELS", "adapted_systems", "model_of", "shown_name"]

#: models also run on a domain-adapted encoder's embeddings with ``--adapted-model`` (systems ``NAME@adapted``);
#: the fusion joins the candidates
ADAPTED_MODELS = ("minilm-logreg", "fused-mesh-wmean")
ADAPTED_ENV = "SERENDIP_BENCH_ADAPTED_MODEL"
#: what an ``@adapted`` row's settings name as its encoder (set by :func:`main`)
_ADAPTED: dict[str, str] = {}


def model_of(system: str) -> str:
    """The registered model a system runs: ``fused-mesh-wmean@adapted:1a2b…`` -> ``fused-mesh-wmean``."""
    return system.split("@", 1)[0]


def shown_name(system: str) -> str:
    """A system's name in rows and tables: the adapted encoder's digest left to the settings."""
    return system.split(":", 1)[0]


def _identity(path: Path, ctx) -> str:
    """What the digest of :func:`adapted_systems` hashes: ``mean-pool:<checkpoint folder>:<sha256 of its
    weights file>`` for a checkpoint (the embeddings' cache key until 2026-12-06, kept so the systems of the
    stored runs keep their names), the folder for a sentence-transformers model."""
    from serendip.core.files import sha256_file
    from serendip.screening.embedding_source import checkpoint_folder

    folder = checkpoint_folder(path)
    if ctx.embed is None or folder is None:
        return ctx.model
    weights = next(folder / w for w in ("model.safetensors", "pytorch_model.bin") if (folder / w).is_file())
    return f"mean-pool:{folder.resolve()}:{sha256_file(weights)}"


def adapted_systems(path: Path | None) -> list[str]:
    """``NAME@adapted:<digest>`` per :data:`ADAPTED_MODELS` for the encoder at ``path`` ([] without one): the
    digest (12 hex of the sha256 of :func:`_identity`: the folder and its weights' sha256) keeps a stored run
    from being reused for another encoder. Sets :data:`ADAPTED_ENV` for the workers and the rows' label."""
    if path is None:
        return []
    import hashlib

    from serendip.screening.embedding_source import embedding_context

    ctx = embedding_context(path)  # refuses a path that is no encoder, before any run
    digest = hashlib.sha256(_identity(Path(path), ctx).encode("utf-8")).hexdigest()[:12]
    os.environ[ADAPTED_ENV] = str(Path(path).resolve())
    _ADAPTED["label"] = f"{Path(path).resolve().name} ({digest})"
    return [f"{m}@adapted:{digest}" for m in ADAPTED_MODELS]
