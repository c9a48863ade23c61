"""The pre-training config schema: :class:`PretrainConfig`, read from TOML/YAML, overridden by flags.

The ``kind`` names a :data:`~serendip.models.registries.PRETRAIN_CORPORA` entry (``text`` here;
``dna`` registered by :mod:`serendip.genomics`); the corpus kind's own options live in the
``[windows]`` table and are validated by the model the entry declares (``options_model``). A
``tokenizer.kind`` names a :data:`~serendip.models.registries.TOKENIZERS` entry (default: the corpus
kind's ``default_tokenizer``).
"""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from serendip.core.config import StrictModel, describe_validation_error, validate_config
from serendip.errors import ConfigError
from serendip.models.config import (
    Seed,
    apply_overrides,
    read_config_file,
    registered_name,
)
from serendip.models.registries import PRETRAIN_CORPORA, TOKENIZERS

__all__ = [
    "LEARNING_RATES",
    "SIZES",
    "DataSection",
    "ModelSection",
    "OutputSection",
    "PretrainConfig",
    "TokenizerSection",
    "TrainingSection",
    "apply_pretrain_overrides",
    "corpus_kind",
    "load_pretrain_config",
    "pretrain_config_from_options",
]

#: Size presets: hidden size, layers, attention heads, feed-forward size. ``base`` is BERT-base
#: (Devlin et al. 2019, 110 M parameters with a 30k vocabulary; DNABERT's size); ``tiny`` trains on a
#: CPU in minutes.
SIZES: dict[str, dict[str, int]] = {
    "tiny": {"hidden_size": 128, "num_hidden_layers": 2, "num_attention_heads": 2, "intermediate_size": 512},
    "small": {"hidden_size": 256, "num_hidden_layers": 4, "num_attention_heads": 4, "intermediate_size": 1024},
    "base": {"hidden_size": 768, "num_hidden_layers": 12, "num_attention_heads": 12, "intermediate_size": 3072},
}

#: Default peak learning rate by size (continued pre-training from ``model.init_from``: 5e-5). tiny:
#: measured - after 300 steps of 16 x 512 bp on E. coli, 2e-3 gave held-out perplexity 2,189 against
#: 3,112 with 5e-4 (unigram baseline 3,566); base: BERT's 1e-4 (Devlin et al. 2019).
LEARNING_RATES: dict[str, float] = {"tiny": 2e-3, "small": 1e-3, "base": 1e-4}


def corpus_kind(name: str) -> Any:
    """The :data:`PRETRAIN_CORPORA` entry ``name``, after importing the installed domains.

    Raises
    ------
    ConfigError
        Unknown kind (the message lists the registered ones, and any domain that failed to import).
    """
    from serendip.models.plugins import load_domains

    load_domains()
    return PRETRAIN_CORPORA.get(name)


class DataSection(StrictModel):
    """Input files (or a registered dataset) and the held-out split.

    ``format`` None: from the suffix (the corpus kind decides; e.g. FASTA suffixes for dna, ``.txt``
    one document a line, else a :data:`~serendip.models.registries.DATA_READERS` reader reading
    ``text_column``). ``max_bp`` / ``max_documents``: use only the first so many bases (dna, over all
    records in order) or documents (text) - recorded in the report, never applied silently.
    """

    inputs: list[Path] = Field(default_factory=list)
    dataset: str | None = None
    dataset_files: str = "*"
    format: str | None = None
    text_column: str = "text"
    max_bp: int | None = Field(None, ge=1)
    max_documents: int | None = Field(None, ge=1)
    heldout: float = Field(0.05, ge=0.0, lt=0.5)
    max_heldout_windows: int = Field(256, ge=1)
    block_tokens: int = Field(128, ge=8)  # text: tokens per training block, special tokens included

    @field_validator("format")
    @classmethod
    def _registered(cls, fmt: str | None) -> str | None:
        return None if fmt is None else registered_name("DATA_READERS", "serendip.models.example_readers", fmt)


class TokenizerSection(StrictModel):
    """A TOKENIZERS name (None: the corpus kind's default, ``kmer`` for dna, ``bpe`` for text) and its
    options (``k``: k-mer length), or a saved tokenizer folder (``path``)."""

    kind: str | None = None
    k: int = Field(6, ge=1, le=8)
    vocab_size: int = Field(4096, ge=16)
    min_frequency: int = Field(2, ge=1)
    path: Path | None = None

    @field_validator("kind")
    @classmethod
    def _registered(cls, kind: str | None) -> str | None:
        """A TOKENIZERS name (domains loaded first): refused with the others when the file is read."""
        if kind is None:
            return None
        from serendip.models.plugins import load_domains

        load_domains()
        TOKENIZERS.get(kind)  # ConfigError (a ValueError) listing the registered tokenizers
        return kind.lower()


class ModelSection(StrictModel):
    """BERT dimensions: a size preset, each field overridable; or ``init_from`` a local model folder
    (continued pre-training; its tokenizer is used and the dims are ignored)."""

    size: Literal["tiny", "small", "base"] = "tiny"
    hidden_size: int | None = Field(None, ge=8)
    num_hidden_layers: int | None = Field(None, ge=1)
    num_attention_heads: int | None = Field(None, ge=1)
    intermediate_size: int | None = Field(None, ge=8)
    max_position_embeddings: int = Field(512, ge=16)
    dropout: float = Field(0.1, ge=0.0, lt=1.0)
    init_from: Path | None = None

    def dims(self) -> dict[str, int]:
        """The preset's dims with the fields set here; raises ConfigError on heads not dividing."""
        out = dict(SIZES[self.size])
        for key in out:
            value = getattr(self, key)
            if value is not None:
                out[key] = value
        if out["hidden_size"] % out["num_attention_heads"]:
            raise ConfigError(f"model.hidden_size ({out['hidden_size']}) must be a multiple of "
                              f"model.num_attention_heads ({out['num_attention_heads']})")
        return out


class TrainingSection(StrictModel):
    """Optimisation. ``max_steps`` None: ``epochs`` passes over the training windows. ``lr`` is
    AdamW's peak learning rate (None: by model size, :data:`LEARNING_RATES`); ``mask_span`` None: the
    tokenizer's ``mask_span`` (k for the k-mer tokenizer), else 1."""

    max_steps: int | None = Field(None, ge=1)
    epochs: float = Field(1.0, gt=0.0)
    batch_size: int = Field(16, ge=1)
    lr: float | None = Field(None, gt=0.0)  # None: LEARNING_RATES[model.size], 5e-5 with init_from
    weight_decay: float = Field(0.01, ge=0.0)
    warmup_ratio: float = Field(0.05, ge=0.0, lt=1.0)
    warmup_steps: int | None = Field(None, ge=0)
    max_grad_norm: float = Field(1.0, gt=0.0)
    mlm_probability: float = Field(0.15, gt=0.0, lt=1.0)
    mask_span: int | None = Field(None, ge=1)
    eval_every: int = Field(100, ge=1)
    checkpoint_every: int | None = Field(None, ge=1)  # steps between checkpoints (None: none)
    #: steps that train only the masked-LM head weights ``model.init_from`` lacks (new ones), the rest
    #: frozen, at ``head_lr``, before the ``max_steps``/``epochs`` steps (None: min(200, a quarter of
    #: those) when some head weights are new, else 0)
    head_warmup_steps: int | None = Field(None, ge=0)
    head_lr: float = Field(1e-3, gt=0.0)
    seed: Seed = 0
    device: str | None = None  # None: "cuda" if available else "cpu"
    bf16: bool = False  # bfloat16 autocast (GPU)


class OutputSection(StrictModel):
    """Where the model folder goes; an existing non-empty folder needs ``overwrite``. ``resume``: go on
    from the checkpoint an interrupted run left in ``<dir>.partial`` (``training.checkpoint_every``)."""

    dir: Path = Path("pretrained/model")
    overwrite: bool = False
    resume: bool = False


def _options(model: type[BaseModel], value: Any) -> BaseModel:
    """``value`` (a mapping, a model or None) validated as ``model``; ValueError naming each bad key."""
    if isinstance(value, model):
        return value
    if isinstance(value, BaseModel):
        value = value.model_dump()
    try:
        return model.model_validate(value or {})
    except ValidationError as exc:
        raise ValueError(describe_validation_error(exc, model)) from None


class PretrainConfig(StrictModel):
    """A whole pre-training run. ``windows``: the options of the corpus kind (its ``options_model``;
    for dna :class:`serendip.genomics.corpus.WindowsSection`), kept as given for a kind without one."""

    kind: str = "dna"
    data: DataSection = Field(default_factory=DataSection)
    windows: Any = Field(None, validate_default=True)
    tokenizer: TokenizerSection = Field(default_factory=TokenizerSection)
    model: ModelSection = Field(default_factory=ModelSection)
    training: TrainingSection = Field(default_factory=TrainingSection)
    output: OutputSection = Field(default_factory=OutputSection)

    @field_validator("kind")
    @classmethod
    def _registered_kind(cls, kind: str) -> str:
        try:
            corpus_kind(kind)
        except ConfigError as exc:
            raise ValueError(str(exc)) from None
        return kind.lower()

    @field_validator("windows", mode="before")
    @classmethod
    def _corpus_options(cls, value: Any, info: ValidationInfo) -> Any:
        kind = info.data.get("kind")
        if kind is None:
            return value
        options = corpus_kind(kind).options_model
        if options is not None:
            return _options(options, value)
        if value:  # a kind without options keeps a table that another kind takes (a left-over)
            models = [k.options_model for _, k in PRETRAIN_CORPORA.items() if k.options_model is not None]
            errors = []
            for model in models:
                try:
                    _options(model, value)
                    return value
                except ValueError as exc:
                    errors.append(str(exc))
            raise ValueError(f"kind {kind!r} takes no windows options"
                             + (f" and the table is not valid for another kind: {errors[0]}" if errors else ""))
        return value

    @model_validator(mode="after")
    def _consistent(self) -> PretrainConfig:
        name = self.tokenizer_kind()
        kinds = getattr(TOKENIZERS.get(name), "corpus_kinds", None) if name in TOKENIZERS else None
        if kinds and self.kind not in kinds:
            default = corpus_kind(self.kind).default_tokenizer
            raise ValueError(f"the {name} tokenizer is for kind={' or '.join(map(repr, kinds))}; "
                             f"use tokenizer.kind={default!r} for {self.kind}")
        return self

    def tokenizer_kind(self) -> str:
        """``tokenizer.kind``, or the corpus kind's default tokenizer (lower case)."""
        return (self.tokenizer.kind or corpus_kind(self.kind).default_tokenizer).lower()

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (paths as strings), for the report."""
        return self.model_dump(mode="json")


def load_pretrain_config(path: str | Path) -> PretrainConfig:
    """Read and validate a pre-training config (``.toml``, or ``.yaml``/``.yml``).

    Relative paths in the file (``data.inputs``, ``tokenizer.path``, ``model.init_from``,
    ``output.dir``) are taken relative to the file's folder.

    Raises
    ------
    ConfigError
        Unreadable file, unknown suffix, a syntax error, an unknown key (a dotted path, with the keys
        allowed there), or a bad value. The message starts with the file path.
    """
    path = Path(path)
    cfg = validate_config(read_config_file(path), str(path), PretrainConfig)
    base = path.resolve().parent

    def rel(p: Path | None) -> Path | None:
        return p if p is None or p.is_absolute() else base / p

    cfg.data.inputs = [rel(p) for p in cfg.data.inputs]
    cfg.tokenizer.path = rel(cfg.tokenizer.path)
    cfg.model.init_from = rel(cfg.model.init_from)
    cfg.output.dir = rel(cfg.output.dir)
    return cfg


def apply_pretrain_overrides(cfg: PretrainConfig, overrides: Sequence[str]) -> PretrainConfig:
    """A new config with ``key=value`` overrides applied (``training.max_steps=200``,
    ``data.inputs=["a.fa", "b.fa"]``, ``model.init_from=null``); values in TOML syntax, else strings
    (see :func:`serendip.models.config.apply_overrides`).

    Raises
    ------
    ConfigError
        A flag without ``=``, an unknown key, or a bad value; the message names the key.
    """
    return apply_overrides(cfg, overrides, example="training.max_steps=200")


def _put(data: dict[str, Any], dotted: str, value: Any) -> None:
    node = data
    *parents, last = dotted.split(".")
    for part in parents:
        node = node.setdefault(part, {})
    node[last] = value


def pretrain_config_from_options(
        config: str | Path | None = None, *, fasta: Sequence[Path] | None = None,
        inputs: Sequence[Path] | None = None, dataset: str | None = None, dataset_files: str | None = None,
        kind: str | None = None, size: str | None = None, max_steps: int | None = None,
        out: Path | None = None, overwrite: bool = False, seed: int | None = None,
        device: str | None = None, checkpoint_every: int | None = None, resume: bool = False,
        overrides: Sequence[str] | None = None) -> PretrainConfig:
    """The run's config from a file (or the defaults), then options, then ``key=value`` overrides.

    The options of ``serendip pretrain``: ``fasta`` and ``inputs`` become ``data.inputs`` (FASTA
    files imply ``kind="dna"`` unless ``kind`` is given); ``dataset``, ``dataset_files``, ``size``,
    ``max_steps``, ``out``, ``seed``, ``device`` set ``data.dataset``, ``data.dataset_files``,
    ``model.size``, ``training.max_steps``, ``output.dir``, ``training.seed``, ``training.device``;
    ``overwrite`` and ``resume`` set ``output.overwrite`` and ``output.resume``, ``checkpoint_every``
    ``training.checkpoint_every``. ``overrides`` are applied last
    (:func:`apply_pretrain_overrides`).

    Raises
    ------
    ConfigError
        A bad file, a bad option value (the message starts with ``options:`` and names the key), or
        a bad override.
    """
    cfg = load_pretrain_config(config) if config is not None else PretrainConfig()
    data = cfg.model_dump(mode="python")
    files = [*(fasta or []), *(inputs or [])]
    if files:
        _put(data, "data.inputs", files)
    if fasta and kind is None:
        kind = "dna"
    for key, value in (("kind", kind), ("data.dataset", dataset), ("data.dataset_files", dataset_files),
                       ("model.size", size), ("training.max_steps", max_steps), ("output.dir", out),
                       ("training.seed", seed), ("training.device", device),
                       ("training.checkpoint_every", checkpoint_every)):
        if value is not None:
            _put(data, key, value)
    if overwrite:
        _put(data, "output.overwrite", True)
    if resume:
        _put(data, "output.resume", True)
    cfg = validate_config(data, "options", PretrainConfig)
    return apply_pretrain_overrides(cfg, overrides) if overrides else cfg
