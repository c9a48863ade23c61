"""The backbone of a fine-tuning run: a local Hugging Face model folder, loaded offline with a fresh
head (the model class comes from the task's head, :mod:`serendip.models.heads`), and its tokenizer.

Nothing is downloaded: a backbone is a local folder holding ``config.json``, or the bundled
``sentence-transformers/all-MiniLM-L6-v2`` (sha256-checked by
:func:`serendip.retrieval.dense.resolve_model`).
"""
from __future__ import annotations

import contextlib
import inspect
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from serendip.errors import ConfigError
from serendip.models.tasks import LabelSpace, Task

__all__ = ["backbone_layers", "count_parameters", "load_backbone", "quiet_hf", "resolve_backbone", "save_pretrained"]


@contextlib.contextmanager
def quiet_hf() -> Iterator[None]:
    """Silence transformers' load reports and progress bars and peft's deprecation chatter."""
    from transformers.utils import logging as hf_logging

    level = hf_logging.get_verbosity()
    bars = hf_logging.is_progress_bar_enabled()
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            warnings.filterwarnings("ignore", message=".*deprecated.*")
            yield
    finally:
        hf_logging.set_verbosity(level)
        if bars:
            hf_logging.enable_progress_bar()


def resolve_backbone(name: str, what: str = "backbone") -> str:
    """A local model folder for ``name``: a folder path (holding ``config.json``; for ``what`` =
    ``"tokenizer"`` any folder, a tokenizer needing no model config) or the bundled default
    (``sentence-transformers/all-MiniLM-L6-v2``, sha256-checked by
    :func:`serendip.retrieval.dense.resolve_model`). ``what`` names it in errors.

    Raises
    ------
    ConfigError
        Neither a local model folder nor the bundled default (hub downloads are off).
    """
    path = Path(str(name)).expanduser()
    if path.is_dir():
        if what == "tokenizer":  # a tokenizer folder needs no model config
            return str(path.resolve())
        if not (path / "config.json").is_file():
            raise ConfigError(f"backbone folder {path} has no config.json (not a Hugging Face model "
                              f"folder)")
        return str(path.resolve())
    from serendip.retrieval.dense import _DEFAULT_ALIASES, resolve_model

    if str(name).lower() in _DEFAULT_ALIASES:
        return resolve_model(str(name))
    raise ConfigError(f"{what} {name!r} is not a local folder (looked in {Path.cwd()}; a config file's "
                      f"relative paths are read beside it first); model hub downloads are off in "
                      f"Serendip. Give the path of a local Hugging Face model folder, or use the "
                      f"bundled 'sentence-transformers/all-MiniLM-L6-v2'.")


def load_tokenizer(folder: str) -> Any:
    """``AutoTokenizer`` from a local folder (the k-mer tokenizer of ``serendip pretrain`` included).

    Raises
    ------
    ConfigError
        The folder holds no loadable tokenizer.
    """
    from transformers import AutoTokenizer

    from serendip.models.tokenizers import register_auto_classes

    register_auto_classes()  # the k-mer tokenizer of `serendip pretrain`
    with quiet_hf():
        try:
            return AutoTokenizer.from_pretrained(folder, local_files_only=True)
        except (OSError, ValueError, KeyError) as exc:
            raise ConfigError(f"cannot load a tokenizer from {folder}: {exc}") from None


def load_backbone(folder: str, task: Task, space: LabelSpace | None, *,
                  tokenizer_folder: str | None = None, layers: int | None = None) -> tuple[Any, Any]:
    """``(model, tokenizer)`` from a local folder, with a fresh head of ``task.num_outputs(space)``
    outputs (the model class of the task's head), the task's ``problem_type`` and, when there is one
    output per class, ``id2label`` from the label space. ``layers``: keep the first N transformer
    layers only (:func:`backbone_layers`; the others' weights are not loaded); None: all.

    A folder that is itself a fine-tuned model with a head (a run of ``serendip finetune``, a reranker)
    gives its encoder only: its head, of whatever size, is replaced by a freshly initialised one
    (:func:`_fresh_head`), so fine-tuning from it starts as from any other backbone.

    Raises
    ------
    ConfigError
        The folder holds no loadable model or tokenizer (the message names the folder), the head
        needs a fast tokenizer and the folder has a slow one, or ``layers`` cannot be kept (see
        :func:`backbone_layers`).
    """
    from serendip.models.heads import head_of

    head = head_of(task)
    n_out = task.num_outputs(space)
    kwargs: dict[str, Any] = {"num_labels": n_out, "local_files_only": True}
    if layers is not None:
        kwargs["num_hidden_layers"] = backbone_layers(folder, layers)
    if task.problem_type is not None:
        kwargs["problem_type"] = task.problem_type
    if space is not None and len(space) == n_out:  # one output per class: name the outputs
        kwargs["id2label"] = dict(enumerate(space.classes))
        kwargs["label2id"] = {c: i for i, c in enumerate(space.classes)}
    tokenizer = load_tokenizer(tokenizer_folder or folder)
    with quiet_hf():
        try:
            model, info = head.auto_class().from_pretrained(folder, ignore_mismatched_sizes=True,
                                                            output_loading_info=True, **kwargs)
        except (OSError, ValueError, KeyError) as exc:
            raise ConfigError(f"cannot load a model from {folder}: {exc}") from None
        model = _fresh_head(head, model, info)
    if head.needs_fast_tokenizer and not getattr(tokenizer, "is_fast", False):
        raise ConfigError(f"the {task.name} task needs a fast tokenizer (word ids); {folder} has a "
                          f"slow one")
    if tokenizer.pad_token_id is None:
        raise ConfigError(f"the tokenizer in {tokenizer_folder or folder} has no padding token")
    return model, tokenizer


def _fresh_head(head: Any, model: Any, info: dict) -> Any:
    """``model`` itself when its head was not in the checkpoint (a base encoder or a masked LM: the
    head is new already), else a model of the same config whose head is newly initialised and whose
    encoder (``model.base_model``) holds the loaded weights: a head read from the folder (same size) or
    partly read (a mismatched layer beside a matching one) is not kept."""
    prefix = model.base_model_prefix
    missing = set(info.get("missing_keys") or ())
    head_keys = [k for k in model.state_dict() if not k.startswith(prefix + ".")]
    if not head_keys or all(k in missing for k in head_keys):
        return model
    fresh = head.auto_class().from_config(model.config)
    fresh.base_model.load_state_dict(model.base_model.state_dict())
    return fresh


def backbone_layers(folder: str, layers: int) -> int:
    """``layers``, checked against the model in ``folder``: a transformer whose ``config.json`` counts
    its layers (``num_hidden_layers``, as BERT's) and has at least ``layers`` of them.

    Loading with ``num_hidden_layers=layers`` keeps layers 0 .. layers-1 with their pre-trained
    weights and drops the top ones (top-layer dropping: Sajjad et al. 2023, Computer Speech &
    Language 77, "On the effect of dropping layers of pre-trained transformer models", which found it
    the best of their dropping strategies for fine-tuning).

    Raises
    ------
    ConfigError
        ``layers`` < 1, the config has no ``num_hidden_layers``, or fewer layers than ``layers``
        (names the folder and its count).
    """
    import json

    try:
        have = json.loads((Path(folder) / "config.json").read_text(encoding="utf-8")).get("num_hidden_layers")
    except (OSError, ValueError) as exc:
        raise ConfigError(f"backbone {folder}: cannot read config.json to keep {layers} layers: {exc}") from None
    if not isinstance(have, int):
        raise ConfigError(f"backbone {folder}: its config.json has no num_hidden_layers; backbone.layers "
                          f"works with BERT-like transformers only (leave it unset)")
    if not 1 <= int(layers) <= have:
        raise ConfigError(f"{layers} layers asked of backbone {folder}, which has {have}: keep 1 to {have} "
                          f"(backbone.layers in a config, --layers on the command line)")
    return int(layers)


def count_parameters(model: Any) -> tuple[int, int]:
    """``(trainable, total)`` numbers of parameters (elements) of ``model``."""
    trainable = total = 0
    for p in model.parameters():
        total += p.numel()
        if p.requires_grad:
            trainable += p.numel()
    return trainable, total


def save_pretrained(obj: Any, folder: Path) -> None:
    """``obj.save_pretrained(folder)`` as safetensors when the object supports it."""
    params = inspect.signature(obj.save_pretrained).parameters
    kwargs = {"safe_serialization": True} if "safe_serialization" in params else {}
    obj.save_pretrained(str(folder), **kwargs)
