"""Fine-tuning: a plain PyTorch training loop over a local Hugging Face backbone.

:func:`finetune` runs one :class:`~serendip.models.config.FineTuneConfig` end to end:

1. domain packages are imported (:func:`serendip.models.plugins.load_domains`), so a config naming the
   ``fasta`` format or a DNA augmentation finds it; Python, NumPy and torch are seeded, and with
   ``training.deterministic`` ``torch.use_deterministic_algorithms(True, warn_only=True)`` is on for
   the run (the previous setting is restored afterwards);
2. the splits are read (:func:`~serendip.models.data.load_splits_from_config`), the label space is
   fitted on the training labels, and dev/test labels are checked against it (an unseen label is a
   :class:`~serendip.errors.DataError` naming it);
3. class imbalance (``imbalance.method``): resampling of the training split, or a class-weighted or
   focal loss (:mod:`serendip.models.imbalance`); then augmentations of the training split only
   (:func:`~serendip.models.augment.apply_augmentations`, never dev or test);
4. the backbone (a local folder, or the bundled all-MiniLM-L6-v2) is loaded with
   ``AutoModelForSequenceClassification`` (``AutoModelForTokenClassification`` for token tasks) with
   ``num_labels`` and ``problem_type`` from the task, and its own tokenizer (``AutoTokenizer``, local
   files only - nothing is downloaded);
5. optional PEFT: LoRA (Hu et al. 2021, arXiv:2106.09685) or AdaLoRA (Zhang et al. 2023,
   arXiv:2303.10512) through ``peft``; AdaLoRA's rank budget is updated after every optimizer step
   (``model.base_model.update_and_allocate(global_step)``, before the gradients are cleared) and its
   orthogonal regularisation (weight ``orth_reg_weight``) is added to our loss, as ``peft`` does when
   the model computes the loss itself;
6. training: AdamW (no weight decay on biases and LayerNorm weights), linear warm-up then linear decay
   to 0, gradient norm clipped at 1.0; the loss is computed here, per task (cross-entropy with class
   weights, focal, BCE-with-logits, MSE on standardised targets), not by the model;
7. after each epoch the dev split is scored; the best epoch by the selection metric
   (``training.early_stopping.metric``, default the task's primary metric) is kept, and training stops
   after ``patience`` epochs without improvement; the best weights are restored and scored on test;
8. export: the model (LoRA/AdaLoRA weights merged into the backbone with ``merge_and_unload`` unless
   ``merge=False``) and its tokenizer as safetensors, the adapter alone, and the run record
   (:mod:`serendip.models.runs`).

Regression targets are standardised with the training mean and standard deviation for the loss; the
scaling is stored in ``label_space.json`` and undone before any metric or prediction.
"""
from __future__ import annotations

import contextlib
import copy
import dataclasses
import importlib.util
import inspect
import math
import random
import time
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from serendip.errors import ConfigError, DataError, SerendipError
from serendip.models.example import Example
from serendip.models.tasks import (
    IGNORE_INDEX,
    LabelSpace,
    Task,
    TokenTask,
    example_name,
    make_task,
)

__all__ = [
    "GRAD_CLIP_NORM",
    "ModelBundle",
    "RunResult",
    "count_parameters",
    "finetune",
    "load_backbone",
    "merge_peft",
    "model_outputs",
    "resolve_backbone",
    "seed_everything",
]

#: Gradient norm clipping threshold (the Hugging Face Trainer's default ``max_grad_norm``).
GRAD_CLIP_NORM = 1.0
#: Metric names for which lower is better when the direction is not configured.
_LOWER_IS_BETTER = ("loss", "rmse", "mse", "mae", "hamming_loss", "error")

Progress = Callable[[int, int, Mapping[str, Any]], None]


# -- results ---------------------------------------------------------------------------------------
@dataclass
class RunResult:
    """What :func:`finetune` returns.

    Attributes
    ----------
    run_id, run_dir : the run's id and folder (see :mod:`serendip.models.runs`).
    metrics : dict
        As ``metrics.json``: ``dev`` (one dict per epoch), ``best`` (the selected epoch's dev
        metrics), ``test`` (the exported model on the test split; None without a test split),
        ``selection``, parameter counts, notes.
    history : list of dict
        One row per epoch (``epoch``, ``step``, ``train_loss``, ``eval_loss``, ``eval_<metric>``, ``lr``).
    best_epoch : int or None
        1-based; None without a dev split (the last epoch is kept).
    trainable_params, total_params : int
    trainable_fraction : float
        ``trainable_params / total_params`` in (0, 1].
    model, tokenizer :
        The exported model (merged when PEFT was merged) in eval mode, on the training device, and
        its tokenizer: the same weights as ``<run_dir>/model``.
    task, label_space, target_scaling :
        What predictions need (``target_scaling`` ``{"mean", "std"}`` for regression, else None).
    max_length : int
    """

    run_id: str
    run_dir: Path
    metrics: dict[str, Any]
    history: list[dict[str, Any]]
    best_epoch: int | None
    selection_metric: str
    selection_mode: str
    trainable_params: int
    total_params: int
    task: Task
    label_space: LabelSpace | None
    max_length: int
    target_scaling: dict[str, float] | None = None
    model: Any = field(default=None, repr=False)
    tokenizer: Any = field(default=None, repr=False)
    splits: Any = field(default=None, repr=False)

    @property
    def trainable_fraction(self) -> float:
        return self.trainable_params / self.total_params if self.total_params else 0.0

    @property
    def test_metrics(self) -> dict[str, Any] | None:
        return self.metrics.get("test")

    @property
    def best_dev_metrics(self) -> dict[str, Any] | None:
        return self.metrics.get("best")


@dataclass
class ModelBundle:
    """A model ready for inference and what decoding its outputs needs (see :func:`model_outputs`)."""

    model: Any
    tokenizer: Any
    task: Task
    label_space: LabelSpace | None
    max_length: int
    target_scaling: dict[str, float] | None = None
    device: str = "cpu"
    #: test-time views (text -> text, e.g. the reverse complement): outputs are averaged over the
    #: original input and each view (see :func:`model_outputs`)
    views: tuple[Callable[[str], str], ...] = ()


# -- seeding and determinism -----------------------------------------------------------------------
@contextlib.contextmanager
def seed_everything(seed: int, deterministic: bool = True) -> Iterator[None]:
    """Seed ``random``, NumPy's global generator and torch (CPU and CUDA); with ``deterministic``,
    turn on ``torch.use_deterministic_algorithms(True, warn_only=True)`` (and cuBLAS' deterministic
    workspace) until the block ends, then restore the previous setting."""
    import os

    import torch

    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(seed)
    previous = (torch.are_deterministic_algorithms_enabled(),
                torch.is_deterministic_algorithms_warn_only_enabled())
    if deterministic:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.use_deterministic_algorithms(True, warn_only=True)
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(previous[0], warn_only=previous[1])


@contextlib.contextmanager
def _quiet_hf() -> Iterator[None]:
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


# -- backbone --------------------------------------------------------------------------------------
def resolve_backbone(name: str) -> str:
    """A local model folder for ``name``: a folder path (holding ``config.json``) or the bundled
    default (``sentence-transformers/all-MiniLM-L6-v2``, sha256-checked by
    :func:`serendip.retrieval.dense.resolve_model`).

    Raises
    ------
    ConfigError
        Neither a local model folder nor the bundled default (hub downloads are off).
    """
    path = Path(str(name)).expanduser()
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise ConfigError(f"backbone folder {path} has no config.json (not a Hugging Face model "
                              f"folder)")
        return str(path.resolve())
    from serendip.retrieval.dense import _DEFAULT_ALIASES, resolve_model

    if str(name).lower() in _DEFAULT_ALIASES:
        return resolve_model(str(name))
    raise ConfigError(f"backbone {name!r} is not a local folder; model hub downloads are off in "
                      f"Serendip. Give the path of a local Hugging Face model folder, or use the "
                      f"bundled 'sentence-transformers/all-MiniLM-L6-v2'.")


def _head(task: Task) -> str:
    return "token" if task.per_token else "sequence"


def _auto_class(head: str) -> Any:
    from transformers import (
        AutoModelForSequenceClassification,
        AutoModelForTokenClassification,
    )

    return AutoModelForTokenClassification if head == "token" else AutoModelForSequenceClassification


def load_backbone(folder: str, task: Task, space: LabelSpace | None, *,
                  tokenizer_folder: str | None = None) -> tuple[Any, Any]:
    """``(model, tokenizer)`` from a local folder, with a fresh head of ``task.num_outputs(space)``
    outputs, the task's ``problem_type`` and ``id2label`` from the label space.

    Raises
    ------
    ConfigError
        The folder holds no loadable model or tokenizer (the message names the folder).
    """
    from transformers import AutoTokenizer

    from serendip.models.tokenizers import register_auto_classes

    register_auto_classes()  # the k-mer tokenizer of `serendip pretrain`

    n_out = task.num_outputs(space)
    kwargs: dict[str, Any] = {"num_labels": n_out, "local_files_only": True}
    if task.problem_type is not None:
        kwargs["problem_type"] = task.problem_type
    if space is not None:
        kwargs["id2label"] = dict(enumerate(space.classes))
        kwargs["label2id"] = {c: i for i, c in enumerate(space.classes)}
    with _quiet_hf():
        try:
            tokenizer = AutoTokenizer.from_pretrained(tokenizer_folder or folder, local_files_only=True)
        except (OSError, ValueError, KeyError) as exc:
            raise ConfigError(f"cannot load a tokenizer from {tokenizer_folder or folder}: {exc}") from None
        try:
            model = _auto_class(_head(task)).from_pretrained(folder, **kwargs)
        except (OSError, ValueError, KeyError) as exc:
            raise ConfigError(f"cannot load a model from {folder}: {exc}") from None
    if not getattr(tokenizer, "is_fast", False) and task.per_token:
        raise ConfigError(f"the token task needs a fast tokenizer (word ids); {folder} has a slow one")
    if tokenizer.pad_token_id is None:
        raise ConfigError(f"the tokenizer in {tokenizer_folder or folder} has no padding token")
    return model, tokenizer


# -- PEFT ------------------------------------------------------------------------------------------
def _peft_task_type(task: Task) -> Any:
    from peft import TaskType

    return TaskType.TOKEN_CLS if task.per_token else TaskType.SEQ_CLS


def apply_peft(model: Any, peft_cfg: Any, task: Task, total_steps: int) -> Any:
    """Wrap ``model`` with LoRA or AdaLoRA as ``peft_cfg`` says (``method == "none"``: unchanged).

    The classification head is trained in full (PEFT's ``modules_to_save`` for SEQ_CLS/TOKEN_CLS).
    AdaLoRA gets ``total_step = total_steps``.

    Raises
    ------
    ConfigError
        AdaLoRA's ``tinit + tfinal`` leaves no step for rank allocation, or no target module matched.
    """
    if peft_cfg.method == "none":
        return model
    from peft import AdaLoraConfig, LoraConfig, get_peft_model

    common = {"task_type": _peft_task_type(task), "lora_alpha": peft_cfg.alpha,
              "lora_dropout": peft_cfg.dropout, "target_modules": peft_cfg.target_modules}
    if peft_cfg.method == "lora":
        pcfg = LoraConfig(r=peft_cfg.r, **common)
    else:
        ada = peft_cfg.adalora
        if ada.tinit + ada.tfinal >= total_steps:
            raise ConfigError(f"peft.adalora: tinit ({ada.tinit}) + tfinal ({ada.tfinal}) must be below "
                              f"the number of training steps ({total_steps}); lower them or train longer")
        pcfg = AdaLoraConfig(init_r=ada.init_r, target_r=ada.target_r, tinit=ada.tinit,
                             tfinal=ada.tfinal, deltaT=ada.deltaT, beta1=ada.beta1, beta2=ada.beta2,
                             orth_reg_weight=ada.orth_reg_weight, total_step=total_steps, **common)
    with _quiet_hf():
        try:
            return get_peft_model(model, pcfg)
        except ValueError as exc:
            raise ConfigError(f"peft.{peft_cfg.method}: {exc}") from None


def _is_adalora(model: Any) -> bool:
    return type(getattr(model, "base_model", None)).__name__ == "AdaLoraModel"


def _adalora_orth_reg(model: Any) -> Any:
    """AdaLoRA's orthogonal regularisation ``mean ||P P^T - I||_F`` over the lora_A (P) and lora_B
    (Q^T Q) matrices, times ``orth_reg_weight`` - as ``peft.AdaLoraModel.forward`` adds it to a
    model-computed loss (Zhang et al. 2023, eq. 4)."""
    import torch

    base = model.base_model
    name = base.trainable_adapter_name
    weight = base.peft_config[name].orth_reg_weight
    total, n = None, 0
    for pname, p in base.model.named_parameters():
        if ("lora_A" in pname or "lora_B" in pname) and name in pname and p.numel():
            cov = p @ p.T if "lora_A" in pname else p.T @ p
            eye = torch.eye(*cov.shape, dtype=cov.dtype, device=cov.device)
            term = torch.norm(cov - eye, p="fro")
            total = term if total is None else total + term
            n += 1
    if total is None or weight == 0:
        return None
    return weight * total / n


def merge_peft(model: Any) -> Any:
    """A plain Transformers model with the LoRA/AdaLoRA updates merged into its weights
    (``merge_and_unload`` on a deep copy; ``model`` stays usable). A non-PEFT model is returned as is."""
    if not hasattr(model, "merge_and_unload"):
        return model
    with _quiet_hf():
        merged = copy.deepcopy(model).merge_and_unload()
    merged.eval()
    return merged


def count_parameters(model: Any) -> tuple[int, int]:
    """``(trainable, total)`` numbers of parameters (elements) of ``model``."""
    trainable = total = 0
    for p in model.parameters():
        total += p.numel()
        if p.requires_grad:
            trainable += p.numel()
    return trainable, total


# -- encoding and batching -------------------------------------------------------------------------
def _encode(tokenizer: Any, task: Task, examples: Sequence[Example], max_length: int,
            targets: Any = None) -> tuple[list[dict[str, Any]], int]:
    """Per-example features (``input_ids``, ``attention_mask``, ``token_type_ids`` when the tokenizer
    makes them, ``word_ids`` and piece-level ``labels`` for token tasks) and the number of
    examples that ``max_length`` truncated."""
    if not examples:
        return [], 0
    if task.per_token:
        words = [TokenTask.tokens(ex) for ex in examples]
        enc = tokenizer(words, is_split_into_words=True, truncation=True, max_length=max_length)
        with _quiet_hf():  # no "longer than the maximum" warning: truncation is counted below
            full = tokenizer(words, is_split_into_words=True, truncation=False)
    else:
        texts = [ex.text for ex in examples]
        pairs = [ex.text_pair or "" for ex in examples] if task.needs_pair or any(
            ex.text_pair is not None for ex in examples) else None
        enc = tokenizer(texts, pairs, truncation=True, max_length=max_length)
        with _quiet_hf():
            full = tokenizer(texts, pairs, truncation=False)
    keys = [k for k in ("input_ids", "attention_mask", "token_type_ids") if k in enc]
    feats: list[dict[str, Any]] = []
    n_truncated = 0
    for i in range(len(examples)):
        f = {k: list(enc[k][i]) for k in keys}
        if len(full["input_ids"][i]) > len(f["input_ids"]):
            n_truncated += 1
        if task.per_token:
            f["word_ids"] = enc.word_ids(i)
            f["n_words"] = len(words[i])
            if targets is not None:
                f["labels"] = TokenTask.align_labels(f["word_ids"], targets[i])
        feats.append(f)
    return feats, n_truncated


def _collate(feats: Sequence[Mapping[str, Any]], pad_id: int) -> dict[str, Any]:
    """Right-padded int64 tensors of shape (batch, longest): ids with ``pad_id``, masks and type ids
    with 0, piece labels with IGNORE_INDEX."""
    import torch

    width = max(len(f["input_ids"]) for f in feats)
    pads = {"input_ids": pad_id, "attention_mask": 0, "token_type_ids": 0, "labels": IGNORE_INDEX}
    out = {}
    for key, pad in pads.items():
        if key in feats[0]:
            out[key] = torch.tensor([list(f[key]) + [pad] * (width - len(f[key])) for f in feats],
                                    dtype=torch.long)
    return out


def _batches(n: int, batch_size: int, order: Sequence[int] | None = None) -> Iterator[list[int]]:
    idx = list(range(n)) if order is None else list(order)
    for start in range(0, n, batch_size):
        yield idx[start:start + batch_size]


# -- loss ------------------------------------------------------------------------------------------
def _make_loss(task: Task, imbalance: Any, train: Sequence[Example], space: LabelSpace | None,
               train_targets: Any) -> tuple[Callable[[Any, Any], Any], dict[str, Any]]:
    """The loss function ``loss(logits, targets)`` and a description for the record."""
    import torch
    import torch.nn.functional as F

    from serendip.models.imbalance import FocalLoss, class_weights, pos_weights

    method = imbalance.method
    info: dict[str, Any] = {"loss": task.loss, "imbalance": method}
    weight = None
    if method in ("class_weight", "focal") and task.loss == "mse":
        raise ConfigError(f"imbalance.method = {method!r} does not apply to regression; use 'none'")
    if method == "class_weight":
        if task.loss == "bce_with_logits":
            weight = torch.as_tensor(pos_weights(train_targets))
            info["pos_weight"] = weight.tolist()
        else:
            labels = ([t for ex in train for t in ex.label] if task.per_token
                      else [ex.label for ex in train])
            weight = torch.as_tensor(class_weights(labels, space.classes))
            info["class_weight"] = dict(zip(space.classes, weight.tolist()))
    if method == "focal":
        alpha = imbalance.focal_alpha
        if task.loss == "bce_with_logits" and isinstance(alpha, list):
            raise ConfigError("imbalance.focal_alpha for a multi-label task is one float (the weight "
                              "of positives), not a list")
        focal = FocalLoss(imbalance.focal_gamma, alpha, multilabel=task.loss == "bce_with_logits",
                          ignore_index=IGNORE_INDEX)
        info.update(focal_gamma=imbalance.focal_gamma, focal_alpha=alpha)

        def focal_loss(logits: Any, y: Any) -> Any:
            if task.per_token:
                return focal(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))
            return focal(logits, y)

        return focal_loss, info

    def loss(logits: Any, y: Any) -> Any:
        w = weight.to(logits.device) if weight is not None else None
        if task.loss == "cross_entropy":
            return F.cross_entropy(logits.reshape(-1, logits.shape[-1]).float(), y.reshape(-1),
                                   weight=w, ignore_index=IGNORE_INDEX)
        if task.loss == "bce_with_logits":
            return F.binary_cross_entropy_with_logits(logits.float(), y.float(), pos_weight=w)
        if task.loss == "mse":
            return F.mse_loss(logits.reshape(-1).float(), y.reshape(-1).float())
        raise ConfigError(f"task {task.name!r} has an unknown loss {task.loss!r}")

    return loss, info


def _targets_tensor(task: Task, encoded: Any, idx: Sequence[int], scaling: Mapping[str, float] | None
                    ) -> Any:
    import torch

    if task.loss == "cross_entropy":
        return torch.as_tensor(np.asarray(encoded)[list(idx)], dtype=torch.long)
    arr = np.asarray(encoded, dtype=np.float32)[list(idx)]
    if scaling is not None:
        arr = (arr - scaling["mean"]) / scaling["std"]
    return torch.as_tensor(arr, dtype=torch.float32)


# -- inference -------------------------------------------------------------------------------------
def model_outputs(bundle: ModelBundle, examples: Sequence[Example], *, batch_size: int = 32,
                  progress: Callable[[int, int], None] | None = None,
                  _feats: list[dict[str, Any]] | None = None) -> Any:
    """Model outputs of ``examples`` in the form :meth:`Task.predict` / :meth:`Task.evaluate` take.

    Returns
    -------
    ndarray of shape (n, K), float64
        Logits for single-label and multi-label tasks.
    ndarray of shape (n,), float64
        Regression values, in the units of the training labels (scaling undone).
    list of n ndarrays of shape (n_words_i, K), float64
        Per-word logits for token tasks (NaN rows: words lost to truncation).

    Examples are processed in order, ``batch_size`` at a time, in eval mode with gradients off, so the
    same model and batch size give the same numbers. ``progress(done, total)`` is called after each
    batch, in examples (with test-time views: the share of all passes done, in examples).

    With test-time views (``bundle.views``, from augmentations marked ``test_time``), the outputs are
    the mean of the outputs of the original inputs and of each view of ``text`` (``text_pair`` is
    left as it is): logits are averaged for classification, values for regression. Token tasks take
    no views (refused when the run is configured).
    """
    if bundle.views and not bundle.task.per_token:
        passes = 1 + len(bundle.views)

        def pass_progress(k: int) -> Callable[[int, int], None] | None:
            # one bar over all passes, counted in examples: the share of all passes done, rounded
            # down, so n examples read "n/n" only when every view has been scored
            if progress is None:
                return None
            return lambda done, n: progress((k * n + done) // passes, n)

        plain = model_outputs(dataclasses.replace(bundle, views=()), examples, batch_size=batch_size,
                              progress=pass_progress(0), _feats=_feats)
        total = np.array(plain, dtype=np.float64, copy=True)
        for k, view in enumerate(bundle.views, start=1):
            viewed = []
            for ex in examples:
                try:
                    viewed.append(dataclasses.replace(ex, text=view(ex.text)))
                except DataError as exc:
                    raise DataError(f"example {example_name(ex)}: {exc}") from None
            total += model_outputs(dataclasses.replace(bundle, views=()), viewed, batch_size=batch_size,
                                   progress=pass_progress(k))
        return total / passes
    import torch

    model, task = bundle.model, bundle.task
    feats = _feats if _feats is not None else _encode(bundle.tokenizer, task, examples,
                                                     bundle.max_length)[0]
    model.eval()
    device = bundle.device
    pad_id = bundle.tokenizer.pad_token_id
    seq_out: list[np.ndarray] = []
    tok_out: list[np.ndarray] = []
    done = 0
    with torch.no_grad():
        for idx in _batches(len(feats), batch_size):
            batch = _collate([feats[i] for i in idx], pad_id)
            batch.pop("labels", None)
            logits = model(**{k: v.to(device) for k, v in batch.items()}).logits
            logits = logits.detach().to("cpu", torch.float64).numpy()
            if task.per_token:
                for row, i in enumerate(idx):
                    f = feats[i]
                    n_pieces = len(f["input_ids"])
                    tok_out.append(TokenTask.word_logits(logits[row, :n_pieces], f["word_ids"],
                                                         f["n_words"]))
            else:
                seq_out.append(logits)
            done += len(idx)
            if progress is not None:
                progress(done, len(feats))
    if task.per_token:
        return tok_out
    if not seq_out:
        width = task.num_outputs(bundle.label_space)
        return np.zeros((0,) if task.loss == "mse" else (0, width))
    out = np.concatenate(seq_out, axis=0)
    if task.loss == "mse":
        out = out.reshape(-1)
        if bundle.target_scaling is not None:
            out = out * bundle.target_scaling["std"] + bundle.target_scaling["mean"]
    return out


def _eval_loss(bundle: ModelBundle, feats: list[dict[str, Any]], encoded: Any,
               loss_fn: Callable[[Any, Any], Any], batch_size: int) -> float:
    import torch

    model, task = bundle.model, bundle.task
    total, count = 0.0, 0
    with torch.no_grad():
        for idx in _batches(len(feats), batch_size):
            batch = _collate([feats[i] for i in idx], bundle.tokenizer.pad_token_id)
            y = batch.pop("labels") if task.per_token else _targets_tensor(
                task, encoded, idx, bundle.target_scaling)
            logits = model(**{k: v.to(bundle.device) for k, v in batch.items()}).logits
            total += float(loss_fn(logits, y.to(bundle.device))) * len(idx)
            count += len(idx)
    return total / count if count else float("nan")


# -- selection -------------------------------------------------------------------------------------
def _selection(cfg: Any, task: Task) -> tuple[str, str]:
    es = cfg.training.early_stopping
    metric = es.metric or task.primary_metric
    if es.mode is not None:
        return metric, es.mode
    if metric == task.primary_metric:
        return metric, "max" if task.greater_is_better else "min"
    lower = any(metric == m or metric.endswith(m) for m in _LOWER_IS_BETTER)
    return metric, "min" if lower else "max"


def _check_metric_name(task: Task, space: LabelSpace | None, dev: Sequence[Example],
                       name: str) -> None:
    """Raise ConfigError before training when ``name`` is not a dev metric of the task (scored on
    constant dummy outputs, which costs no model call)."""
    if not dev or name in ("loss", "eval_loss"):
        return
    k = task.num_outputs(space)
    if task.per_token:
        dummy: Any = [np.zeros((len(TokenTask.tokens(ex)), k)) for ex in dev]
    elif task.loss == "mse":
        dummy = np.zeros(len(dev))
    else:
        dummy = np.zeros((len(dev), k))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        metrics = task.evaluate(dev, dummy, space)
    _metric_value(metrics, float("nan"), name)


def _metric_value(metrics: Mapping[str, Any], eval_loss: float, name: str) -> float:
    if name in ("loss", "eval_loss"):
        return eval_loss
    value = metrics.get(name)
    if not isinstance(value, (int, float, np.integer, np.floating)) or isinstance(value, bool):
        choices = sorted(k for k, v in metrics.items()
                         if isinstance(v, (int, float)) and not isinstance(v, bool))
        raise ConfigError(f"training.early_stopping.metric {name!r} is not a dev metric of this "
                          f"task; choose one of: loss, {', '.join(choices)}")
    return float(value)


def _improved(value: float, best: float | None, mode: str) -> bool:
    if not math.isfinite(value):
        return False
    if best is None:
        return True
    return value > best if mode == "max" else value < best


def _history_row(epoch: int, step: int, train_loss: float, lr: float, eval_loss: float | None,
                 metrics: Mapping[str, Any] | None) -> dict[str, Any]:
    row: dict[str, Any] = {"epoch": epoch, "step": step, "train_loss": train_loss, "lr": lr}
    if eval_loss is not None:
        row["eval_loss"] = eval_loss
    for k, v in (metrics or {}).items():
        if k != "n" and isinstance(v, (int, float, np.floating)) and not isinstance(v, bool):
            row[f"eval_{k}"] = float(v)
    return row


# -- optional trackers -----------------------------------------------------------------------------
def _flat(data: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"training.lr": 5e-05, ...}`` from a nested dict (lists kept as values)."""
    out: dict[str, Any] = {}
    for k, v in data.items():
        if isinstance(v, Mapping):
            out.update(_flat(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out


class _Trackers:
    """MLflow and TensorBoard logging when asked for and installed; otherwise a note, never a crash."""

    def __init__(self, cfg: Any, run: Any):
        self.notes: list[str] = []
        self.mlflow = None
        self.tb = None
        out = cfg.output
        if out.mlflow:
            if importlib.util.find_spec("mlflow") is None:
                self.notes.append("output.mlflow: mlflow is not installed; MLflow logging skipped")
            else:
                try:
                    import mlflow

                    mlflow.set_tracking_uri(out.mlflow_tracking_uri or (run.path / "mlruns").as_uri())
                    mlflow.start_run(run_name=run.info.name)
                    mlflow.log_params({k: str(v)[:250] for k, v in _flat(cfg.to_dict()).items()})
                    mlflow.set_tag("serendip.run_id", run.id)
                    self.mlflow = mlflow
                except Exception as exc:  # pragma: no cover - depends on an optional package
                    self.notes.append(f"output.mlflow: MLflow logging failed ({exc}); skipped")
        if out.tensorboard:
            if importlib.util.find_spec("tensorboard") is None:
                self.notes.append("output.tensorboard: tensorboard is not installed; TensorBoard "
                                  "logging skipped")
            else:
                try:
                    from torch.utils.tensorboard import SummaryWriter

                    self.tb = SummaryWriter(log_dir=str(run.path / "tensorboard"))
                except Exception as exc:  # pragma: no cover
                    self.notes.append(f"output.tensorboard: TensorBoard logging failed ({exc}); skipped")

    def log(self, row: Mapping[str, Any], step: int) -> None:
        values = {k: float(v) for k, v in row.items()
                  if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)}
        try:
            if self.mlflow is not None:
                self.mlflow.log_metrics(values, step=step)
            if self.tb is not None:
                for k, v in values.items():
                    self.tb.add_scalar(k, v, step)
        except Exception as exc:  # pragma: no cover
            self.notes.append(f"tracker logging failed at step {step}: {exc}")

    def close(self, status: str = "FINISHED") -> None:
        try:
            if self.mlflow is not None:
                self.mlflow.end_run(status=status)
            if self.tb is not None:
                self.tb.close()
        except Exception:  # pragma: no cover
            pass


# -- plots -----------------------------------------------------------------------------------------
def _plots(run_dir: Path, history: list[dict[str, Any]], task: Task, space: LabelSpace | None,
           examples: Sequence[Example], outputs: Any, split: str) -> list[str]:
    """Draw the plots; returns notes for any that could not be drawn."""
    from serendip.models import plots

    notes: list[str] = []
    out = run_dir / "plots"
    try:
        keys = [k for k in dict.fromkeys(k for r in history for k in r) if k.startswith("eval_")
                and "loss" not in k]
        plots.plot_history(history, out, metrics=keys)
    except (DataError, ValueError) as exc:
        notes.append(f"plots: curves not drawn ({exc})")
    if task.label_kind != "class" or space is None or not len(examples):
        return notes
    try:
        preds = task.predict(outputs, space, examples)
        y_true = [ex.label for ex in examples]
        plots.plot_confusion_matrix(y_true, preds.labels, space.classes, out)
        plots.plot_roc(y_true, preds.scores, space.classes, out)
        plots.plot_pr(y_true, preds.scores, space.classes, out)
    except (DataError, ValueError) as exc:
        notes.append(f"plots: {split} confusion matrix / ROC / PR not drawn ({exc})")
    return notes


# -- the run ---------------------------------------------------------------------------------------
def _base_dir(cfg: Any, workspace: Any) -> Path:
    if workspace is not None:
        return Path(workspace.path) / "runs"
    return Path(cfg.output.run_dir)


def _save_pretrained(obj: Any, folder: Path) -> None:
    params = inspect.signature(obj.save_pretrained).parameters
    kwargs = {"safe_serialization": True} if "safe_serialization" in params else {}
    obj.save_pretrained(str(folder), **kwargs)


def _check_labels(task: Task, space: LabelSpace | None, splits: Mapping[str, Sequence[Example]]) -> None:
    """Encode dev/test labels with the training label space: an unseen label raises DataError."""
    for name, exs in splits.items():
        if exs and space is not None:
            try:
                task.encode(exs, space)
            except DataError as exc:
                raise DataError(f"{name} split: {exc}") from None


def finetune(cfg: Any, workspace: Any = None, progress: Progress | None = None, *,
             merge: bool = True) -> RunResult:
    """Fine-tune a backbone on a task as ``cfg`` says; write the run folder; return the result.

    Parameters
    ----------
    cfg : FineTuneConfig, or the path of a config file (TOML/YAML)
    workspace : Workspace, optional
        With a workspace the run goes to ``<workspace>/runs/<id>/`` and is recorded in its ``runs``
        table; without one it goes to ``cfg.output.run_dir/<id>/``.
    progress : callable, optional
        ``progress(done_steps, total_steps, info)`` after each optimizer step (``info``: ``epoch``,
        ``loss``) and after each dev evaluation (``info``: ``epoch``, ``dev``: the metric dict).
    merge : bool, default True
        Merge LoRA/AdaLoRA weights into the exported model (``merge_and_unload``); the adapter is
        saved on its own too. False: only the adapter is saved, and prediction loads the backbone
        and applies it.

    Returns
    -------
    RunResult

    Raises
    ------
    ConfigError
        Unknown task, format or augmentation; a backbone that is not local; an impossible AdaLoRA
        schedule; an imbalance method that does not fit the task; an unknown selection metric.
    DataError
        Unusable data: a missing column, no examples, a dev/test label absent from training, too
        few classes. Raised before the run folder is made.
    SerendipError
        Training diverged (non-finite loss). The run is recorded as failed.
    """
    from serendip.models.config import FineTuneConfig, load_config
    from serendip.models.plugins import load_domains

    if not isinstance(cfg, FineTuneConfig):
        cfg = load_config(cfg)
    load_domains()
    task = make_task(cfg.task.name, **cfg.task.params)
    tr = cfg.training
    with seed_everything(tr.seed, tr.deterministic):
        return _finetune(cfg, task, workspace, progress, merge)


def _finetune(cfg: Any, task: Task, workspace: Any, progress: Progress | None,
              merge: bool) -> RunResult:
    import torch

    from serendip.models.augment import (
        apply_augmentations,
        build_views,
        test_time_specs,
        view_failures,
    )
    from serendip.models.data import load_splits_from_config
    from serendip.models.imbalance import resample
    from serendip.models.runs import RunFolder, data_fingerprints, package_versions

    t_start = time.perf_counter()
    tr = cfg.training
    splits = load_splits_from_config(cfg.data, task)
    space = task.fit_labels(splits.train)
    _check_labels(task, space, {"dev": splits.dev, "test": splits.test})

    # imbalance (resampling) then augmentation, on the training split only
    train = list(splits.train)
    resample_report = None
    if cfg.imbalance.method in ("oversample", "undersample"):
        if task.label_kind != "class":
            raise ConfigError(f"imbalance.method = {cfg.imbalance.method!r} needs one class per "
                              f"example; the {task.name} task has none. Use class_weight or focal")
        train, resample_report = resample(train, cfg.imbalance.method, seed=tr.seed)
    train, augment_report = apply_augmentations(train, cfg.augmentations,
                                                eval_sets=(splits.dev, splits.test), seed=tr.seed)
    tta = test_time_specs(cfg.augmentations)
    if tta and task.per_token:
        raise ConfigError(f"test_time augmentation ({', '.join(a['name'] for a in tta)}) needs a "
                          f"sequence-level task; the {task.name} task labels tokens")
    views = build_views(tta)
    for split_name, exs in (("dev", splits.dev), ("test", splits.test)):
        failed = view_failures(exs, views)
        if failed:
            shown = "; ".join(msg for _, msg in failed[:3])
            raise DataError(f"{len(failed)} {split_name} example(s) cannot take the test-time "
                            f"augmentation ({', '.join(a['name'] for a in tta)}): {shown}")
    if not train:
        raise DataError("the training split is empty")
    scaling = None
    if task.loss == "mse":
        y = np.asarray([ex.label for ex in train], dtype=np.float64)
        std = float(y.std())
        scaling = {"mean": float(y.mean()), "std": std if std > 0 else 1.0}
    train_targets = task.encode(train, space)
    loss_fn, loss_info = _make_loss(task, cfg.imbalance, train, space, train_targets)

    backbone = resolve_backbone(cfg.backbone.name)
    tok_folder = resolve_backbone(cfg.backbone.tokenizer) if cfg.backbone.tokenizer else None
    device = tr.device or ("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(f"training.device = {device!r} but no CUDA device is available; use "
                          f"'cpu' or leave it unset")
    model, tokenizer = load_backbone(backbone, task, space, tokenizer_folder=tok_folder)

    steps_per_epoch = math.ceil(len(train) / tr.batch_size)
    total_steps = steps_per_epoch * tr.epochs
    model = apply_peft(model, cfg.peft, task, total_steps)
    adalora = _is_adalora(model)
    model.to(device)
    trainable, total = count_parameters(model)

    dev_targets = task.encode(splits.dev, space) if splits.dev else None
    test_targets = task.encode(splits.test, space) if splits.test else None
    train_feats, trunc_train = _encode(tokenizer, task, train, tr.max_length, train_targets)
    dev_feats, trunc_dev = _encode(tokenizer, task, splits.dev, tr.max_length, dev_targets)
    test_feats, trunc_test = _encode(tokenizer, task, splits.test, tr.max_length, test_targets)
    metric_name, mode = _selection(cfg, task)
    _check_metric_name(task, space, splits.dev, metric_name)

    run = RunFolder.create(_base_dir(cfg, workspace), name=cfg.output.name, task=task.name,
                           backbone=cfg.backbone.name, config=cfg.to_dict(), workspace=workspace)
    trackers = None
    try:
        notes = run.notes
        truncated = {"train": trunc_train, "dev": trunc_dev, "test": trunc_test}
        for split_name, n in truncated.items():
            if n:
                notes.append(f"{n} {split_name} example(s) longer than training.max_length = "
                             f"{tr.max_length} tokens were truncated")
        run.write_json("config.resolved.json", cfg.to_dict())
        run.write_json("data_files.json", data_fingerprints(
            {"train": cfg.data.train, "dev": cfg.data.dev, "test": cfg.data.test}))
        run.write_json("versions.json", package_versions())
        label_record = {"task": {"name": cfg.task.name, "params": cfg.task.params},
                        "classes": list(space.classes) if space is not None else None,
                        "target_scaling": scaling, "max_length": tr.max_length,
                        "columns": cfg.data.columns.model_dump(), "format": cfg.data.format,
                        "options": cfg.data.options}
        run.write_json("label_space.json", label_record)
        run.write_json("split_report.json", splits.report.to_dict())
        run.write_json("augment_report.json", {
            **augment_report.to_dict(),
            "resample": resample_report.to_dict() if resample_report is not None else None})
        trackers = _Trackers(cfg, run)
        notes.extend(trackers.notes)

        from serendip.models.optim import make_optimizer

        optimizer, scheduler = make_optimizer(model, lr=tr.lr, weight_decay=tr.weight_decay,
                                              warmup_steps=int(tr.warmup_ratio * total_steps),
                                              total_steps=total_steps)
        generator = torch.Generator().manual_seed(tr.seed)
        bundle = ModelBundle(model, tokenizer, task, space, tr.max_length, scaling, device, views)

        history: list[dict[str, Any]] = []
        dev_metrics: list[dict[str, Any]] = []
        best_value: float | None = None
        best_epoch: int | None = None
        best_state: dict[str, Any] | None = None
        since_best = 0
        step = 0
        pad_id = tokenizer.pad_token_id
        stopped_early = False
        for epoch in range(1, tr.epochs + 1):
            model.train()
            order = torch.randperm(len(train_feats), generator=generator).tolist()
            epoch_loss, seen = 0.0, 0
            for idx in _batches(len(train_feats), tr.batch_size, order):
                batch = _collate([train_feats[i] for i in idx], pad_id)
                y = batch.pop("labels") if task.per_token else _targets_tensor(
                    task, train_targets, idx, scaling)
                logits = model(**{k: v.to(device) for k, v in batch.items()}).logits
                task_loss = loss_fn(logits, y.to(device))
                loss = task_loss
                if adalora:
                    reg = _adalora_orth_reg(model)
                    if reg is not None:
                        loss = task_loss + reg
                if not torch.isfinite(loss):
                    raise SerendipError(f"training diverged: the loss is {loss.item()} at epoch "
                                        f"{epoch}, step {step + 1}; lower training.lr "
                                        f"(now {tr.lr:g}) or check the labels")
                loss.backward()
                torch.nn.utils.clip_grad_norm_([p for p in model.parameters() if p.requires_grad],
                                               GRAD_CLIP_NORM)
                optimizer.step()
                scheduler.step()
                step += 1
                if adalora:
                    # after the step, before the gradients are cleared (peft's documented order)
                    model.base_model.update_and_allocate(step)
                optimizer.zero_grad(set_to_none=True)
                # the task loss (AdaLoRA's regulariser left out), comparable with the dev loss
                epoch_loss += float(task_loss.detach()) * len(idx)
                seen += len(idx)
                if progress is not None:
                    progress(step, total_steps, {"epoch": epoch, "loss": float(task_loss.detach())})
            train_loss = epoch_loss / max(1, seen)
            lr_now = float(scheduler.get_last_lr()[0])
            if dev_feats:
                outputs = model_outputs(bundle, splits.dev, batch_size=tr.batch_size, _feats=dev_feats)
                metrics = task.evaluate(splits.dev, outputs, space)
                eval_loss = _eval_loss(bundle, dev_feats, dev_targets, loss_fn, tr.batch_size)
                value = _metric_value(metrics, eval_loss, metric_name)
                dev_metrics.append({"epoch": epoch, "eval_loss": eval_loss, **metrics})
                row = _history_row(epoch, step, train_loss, lr_now, eval_loss, metrics)
                history.append(row)
                trackers.log(row, step)
                if progress is not None:
                    progress(step, total_steps, {"epoch": epoch, "dev": metrics, metric_name: value})
                if _improved(value, best_value, mode):
                    best_value, best_epoch, since_best = value, epoch, 0
                    best_state = {k: v.detach().to("cpu", copy=True)
                                  for k, v in model.state_dict().items()}
                else:
                    since_best += 1
                    patience = tr.early_stopping.patience
                    if patience is not None and since_best >= patience and epoch < tr.epochs:
                        notes.append(f"early stopping after epoch {epoch}: dev {metric_name} has not "
                                     f"improved for {patience} epoch(s)")
                        stopped_early = True
                        break
            else:
                row = _history_row(epoch, step, train_loss, lr_now, None, None)
                history.append(row)
                trackers.log(row, step)
            run.write_json("history.json", history)  # after every epoch: a killed run keeps it
        if not dev_feats:
            notes.append("no dev split: no model selection, the last epoch is kept")
        elif best_state is None:
            notes.append(f"dev {metric_name} was never finite: the last epoch is kept")
        if best_state is not None:
            model.load_state_dict(best_state)
        model.eval()

        # export: merge PEFT weights, check the merge, score test with the exported model
        peft_used = cfg.peft.method != "none"
        exported = merge_peft(model) if (peft_used and merge) else model
        merge_check = None
        if exported is not model:
            probe, probe_feats = (splits.dev, dev_feats) if dev_feats else (splits.test, test_feats)
            if probe_feats:
                before = model_outputs(bundle, probe, batch_size=tr.batch_size, _feats=probe_feats)
                after = model_outputs(dataclasses.replace(bundle, model=exported), probe,
                                      batch_size=tr.batch_size, _feats=probe_feats)
                a = np.concatenate([np.ravel(x) for x in before]) if task.per_token else np.ravel(before)
                b = np.concatenate([np.ravel(x) for x in after]) if task.per_token else np.ravel(after)
                finite = np.isfinite(a) & np.isfinite(b)
                merge_check = {"max_abs_diff": float(np.max(np.abs(a[finite] - b[finite])))
                               if finite.any() else 0.0, "n_examples": len(probe)}
        out_bundle = dataclasses.replace(bundle, model=exported)
        test_metrics = None
        test_outputs = None
        if test_feats:
            test_outputs = model_outputs(out_bundle, splits.test, batch_size=tr.batch_size,
                                         _feats=test_feats)
            test_metrics = task.evaluate(splits.test, test_outputs, space)
        else:
            notes.append("no test split: no test metrics")

        model_format = None
        if cfg.output.save_model:
            if peft_used:
                adapter_dir = run.path / "adapter"
                with _quiet_hf():
                    # AdaLoRA can prune a matrix to rank 0; peft then warns about DeepSpeed/FSDP
                    # shards, which do not exist here
                    warnings.filterwarnings("ignore", message=".*LoRA tensor.*invalid shape.*")
                    _save_pretrained(model, adapter_dir)
                    tokenizer.save_pretrained(str(adapter_dir))
            if exported is not model or not peft_used:
                with _quiet_hf():
                    _save_pretrained(exported, run.path / "model")
                    tokenizer.save_pretrained(str(run.path / "model"))
                model_format = "merged" if peft_used else "full"
            else:
                model_format = "adapter"
        else:
            notes.append("output.save_model = false: no model saved (prediction needs one)")
        run.write_json("model.json", {
            "format": model_format, "head": _head(task), "backbone": backbone,
            "backbone_name": cfg.backbone.name, "tokenizer": tok_folder,
            "peft": cfg.peft.model_dump() if peft_used else None, "device": device,
            "test_time_augmentations": tta})

        plot_split, plot_examples, plot_outputs = "test", splits.test, test_outputs
        if test_outputs is None and dev_feats:
            plot_split, plot_examples = "dev", splits.dev
            plot_outputs = model_outputs(out_bundle, splits.dev, batch_size=tr.batch_size,
                                         _feats=dev_feats)
        if cfg.output.plots and history:
            notes.extend(_plots(run.path, history, task, space, plot_examples, plot_outputs,
                                plot_split))

        best = next((d for d in dev_metrics if d["epoch"] == best_epoch), None)
        summary = {
            "selection": {"metric": metric_name, "mode": mode, "best_epoch": best_epoch,
                          "best_value": best_value, "stopped_early": stopped_early,
                          "epochs_run": len(history)},
            "dev": dev_metrics, "best": best, "test": test_metrics,
            "trainable_params": trainable, "total_params": total,
            "trainable_fraction": trainable / total if total else 0.0,
            "peft": cfg.peft.method, "loss": loss_info, "merge_check": merge_check,
            "test_time_augmentations": [a["name"] for a in tta],
            "sizes": {"train": len(train), "dev": len(splits.dev), "test": len(splits.test)},
            "device": device, "steps": step, "wall_s": time.perf_counter() - t_start,
            "notes": notes,
        }
        run.write_json("history.json", history)
        run.write_json("metrics.json", summary)
        record = {"selection_metric": metric_name, "best_epoch": best_epoch,
                  f"dev_{metric_name}": best_value,
                  **({f"test_{k}": v for k, v in test_metrics.items()
                      if isinstance(v, (int, float)) and not isinstance(v, bool)}
                     if test_metrics else {}),
                  "trainable_params": trainable, "trainable_fraction": summary["trainable_fraction"]}
        if trackers is not None:
            trackers.log({f"test_{k}": v for k, v in (test_metrics or {}).items()}, step)
            trackers.close()
        run.finish(record)
    except BaseException as exc:
        if trackers is not None:
            trackers.close("FAILED")
        run.fail(exc)
        raise
    return RunResult(run_id=run.id, run_dir=run.path, metrics=summary, history=history,
                     best_epoch=best_epoch, selection_metric=metric_name, selection_mode=mode,
                     trainable_params=trainable, total_params=total, task=task, label_space=space,
                     max_length=tr.max_length, target_scaling=scaling, model=exported,
                     tokenizer=tokenizer, splits=splits)
