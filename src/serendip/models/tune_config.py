"""The settings of a hyper-parameter search (see :mod:`serendip.models.tune` for the file format):
the search-space distributions, the pruner, :class:`TuneConfig`, and reading a tune file with its
search space checked against the fine-tuning config.
"""
from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, ValidationError, model_validator

from serendip.core.config import StrictModel, describe_validation_error
from serendip.errors import ConfigError
from serendip.models.config import Seed

__all__ = [
    "CategoricalDistribution",
    "FloatDistribution",
    "IntDistribution",
    "PrunerConfig",
    "TuneConfig",
    "apply_params",
    "check_space",
    "load_tune_config",
    "parse_tune_config",
]


_Strict = StrictModel


# -- distributions -----------------------------------------------------------------------------------
class _RangeDistribution(_Strict):
    """A number in ``[low, high]`` (subclasses set the field types); ``log`` needs ``low > 0``."""

    @model_validator(mode="after")
    def _check(self) -> _RangeDistribution:
        if self.low > self.high:
            raise ValueError(f"low ({self.low}) must not exceed high ({self.high})")
        if self.log and self.low <= 0:
            raise ValueError(f"log = true needs low > 0 (got {self.low})")
        self._check_step()
        return self

    def _check_step(self) -> None:
        """ValueError when ``step`` does not fit ``log``."""

    def candidates(self) -> list[Any]:
        return [self.low, self.high]


class FloatDistribution(_RangeDistribution):
    """A float in ``[low, high]``; ``log``: sampled on a log scale; ``step``: a grid (not with log)."""

    type: Literal["float"]
    low: float
    high: float
    log: bool = False
    step: float | None = Field(None, gt=0)

    def _check_step(self) -> None:
        if self.log and self.step is not None:
            raise ValueError("log and step cannot be used together")

    def suggest(self, trial: Any, key: str) -> float:
        """A value for ``key`` from an ``optuna.Trial``."""
        return trial.suggest_float(key, self.low, self.high, log=self.log, step=self.step)


class IntDistribution(_RangeDistribution):
    """An integer in ``[low, high]`` by ``step``; ``log``: sampled on a log scale (step 1 only)."""

    type: Literal["int"]
    low: int
    high: int
    step: int = Field(1, ge=1)
    log: bool = False

    def _check_step(self) -> None:
        if self.log and self.step != 1:
            raise ValueError("log = true needs step = 1")

    def suggest(self, trial: Any, key: str) -> int:
        """A value for ``key`` from an ``optuna.Trial``."""
        return trial.suggest_int(key, self.low, self.high, step=self.step, log=self.log)


class CategoricalDistribution(_Strict):
    """One of ``choices`` (numbers, strings, booleans or null)."""

    type: Literal["categorical"]
    choices: list[bool | int | float | str | None] = Field(min_length=1)

    def candidates(self) -> list[Any]:
        return list(self.choices)

    def suggest(self, trial: Any, key: str) -> Any:
        """A value for ``key`` from an ``optuna.Trial``."""
        return trial.suggest_categorical(key, self.choices)


Distribution = Annotated[FloatDistribution | IntDistribution | CategoricalDistribution,
                         Field(discriminator="type")]


# -- pruners ------------------------------------------------------------------------------------------
class PrunerConfig(_Strict):
    """Which Optuna pruner stops unpromising trials, and its settings (unused ones are ignored)."""

    type: Literal["none", "median", "successive_halving", "threshold"] = "median"
    # median
    n_startup_trials: int = Field(1, ge=0)
    n_warmup_steps: int = Field(0, ge=0)
    interval_steps: int = Field(1, ge=1)
    # successive halving
    min_resource: int | Literal["auto"] = 1
    reduction_factor: int = Field(3, ge=2)
    min_early_stopping_rate: int = Field(0, ge=0)
    # threshold
    lower: float | None = None
    upper: float | None = None

    @model_validator(mode="before")
    @classmethod
    def _short(cls, value: Any) -> Any:
        return {"type": value} if isinstance(value, str) else value

    @model_validator(mode="after")
    def _check(self) -> PrunerConfig:
        if self.type == "threshold" and self.lower is None and self.upper is None:
            raise ValueError("the threshold pruner needs lower and/or upper")
        return self

    def build(self) -> Any:
        import optuna

        p = optuna.pruners
        if self.type == "none":
            return p.NopPruner()
        if self.type == "median":
            return p.MedianPruner(n_startup_trials=self.n_startup_trials,
                                  n_warmup_steps=self.n_warmup_steps,
                                  interval_steps=self.interval_steps)
        if self.type == "successive_halving":
            return p.SuccessiveHalvingPruner(min_resource=self.min_resource,
                                             reduction_factor=self.reduction_factor,
                                             min_early_stopping_rate=self.min_early_stopping_rate)
        return p.ThresholdPruner(lower=self.lower, upper=self.upper,
                                 n_warmup_steps=self.n_warmup_steps)


class TuneConfig(_Strict):
    """A hyper-parameter search (see the module docstring for the file format).

    ``config``: the fine-tuning config file (None when the config is given in Python).
    ``n_trials`` / ``timeout_s``: stop after that many trials / seconds (at least one of them).
    ``direction`` None: "maximize" or "minimize" as the selection metric's mode says.
    """

    config: Path | None = None
    n_trials: int | None = Field(20, ge=1)
    timeout_s: float | None = Field(None, gt=0)
    seed: Seed = 0
    direction: Literal["maximize", "minimize"] | None = None
    name: str | None = None
    pruner: PrunerConfig = Field(default_factory=PrunerConfig)
    space: dict[str, Distribution] = Field(min_length=1)

    @model_validator(mode="after")
    def _check(self) -> TuneConfig:
        if self.n_trials is None and self.timeout_s is None:
            raise ValueError("give n_trials or timeout_s (or both); otherwise the search never ends")
        return self


# -- reading and checking -------------------------------------------------------------------------------
def _toml_value(value: Any) -> str:
    """``value`` written as an override value (TOML syntax; None as ``null``)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value) if math.isfinite(value) else ("nan" if math.isnan(value)
                                                         else ("inf" if value > 0 else "-inf"))
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise ConfigError(f"cannot set a config key to {value!r}")


def apply_params(cfg: Any, params: Mapping[str, Any]) -> Any:
    """A copy of the FineTuneConfig ``cfg`` with dotted keys set (``{"training.lr": 1e-4}``).

    Raises
    ------
    ConfigError
        An unknown key or a value of the wrong type; the message names the key.
    """
    from serendip.models.config import apply_overrides

    for key, value in params.items():
        try:
            cfg = apply_overrides(cfg, [f"{key}={_toml_value(value)}"])
        except ConfigError as exc:
            raise ConfigError(f"search space key {key!r} = {value!r}: {exc}") from None
    return cfg


def check_space(cfg: Any, space: Mapping[str, Any]) -> None:
    """Check that every search-space key exists in the fine-tuning config and accepts the ends of its
    range (every choice of a categorical).

    Raises
    ------
    ConfigError
        Naming the first bad key (``search space key 'training.lrr' ...``).
    """
    for key, dist in space.items():
        if not key or any(not part for part in key.split(".")):
            raise ConfigError(f"search space key {key!r}: expected a dotted config key such as "
                              f"'training.lr'")
        for value in dist.candidates():
            apply_params(cfg, {key: value})


def parse_tune_config(data: Any, where: str = "tune config") -> TuneConfig:
    """Validate a mapping as a :class:`TuneConfig` (ConfigError naming the key otherwise)."""
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: the tune settings must be a table/mapping")
    try:
        return TuneConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(f"{where}: {describe_validation_error(exc, TuneConfig)}") from None


def load_tune_config(path: str | Path) -> tuple[TuneConfig, Any]:
    """Read a tune file; return ``(tune_config, finetune_config)``, the search space checked.

    ``config`` (required in a file) is read relative to the tune file's folder.

    Raises
    ------
    ConfigError
        An unreadable file, an unknown or bad key (named), no ``config``, or a search-space key that
        the fine-tuning config does not have.
    """
    from serendip.models.config import load_config, read_config_file

    path = Path(path)
    tcfg = parse_tune_config(read_config_file(path), str(path))
    if tcfg.config is None:
        raise ConfigError(f"{path}: config: required key missing (the fine-tuning config file)")
    if not tcfg.config.is_absolute():
        tcfg.config = path.resolve().parent / tcfg.config
    cfg = load_config(tcfg.config)
    try:
        check_space(cfg, tcfg.space)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None
    return tcfg, cfg
