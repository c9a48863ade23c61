"""Hyper-parameter search over fine-tuning configs with Optuna (TPE sampler, optional pruning).

A tune file (TOML, or YAML) names a fine-tuning config and the keys to search::

    config = "finetune.toml"      # the fine-tuning config; relative paths: relative to this file
    n_trials = 20                 # stop after this many trials ...
    timeout_s = 3600              # ... or after this many seconds (either may be left out)
    seed = 0                      # the TPE sampler's seed
    # direction = "maximize"      # default: the direction of the selection metric

    pruner = {type = "median", n_startup_trials = 1, n_warmup_steps = 0}

    [space]                       # dotted fine-tuning config keys -> distributions
    "training.lr" = {type = "float", low = 1e-5, high = 1e-2, log = true}
    "training.batch_size" = {type = "categorical", choices = [8, 16, 32]}
    "peft.r" = {type = "int", low = 4, high = 32, step = 4}

The tune file is separate from the fine-tuning config, so the same fine-tuning config still runs on
its own with ``serendip finetune`` (and the best parameters can be given back to it with ``--set``).

Every trial is a normal fine-tuning run (:func:`serendip.models.train.finetune`: a run folder and,
with a workspace, a row of the ``runs`` table) named ``tune-<id>-<trial number>``. The objective is
the run's best dev value of the selection metric (``training.early_stopping.metric``, default the
task's primary metric); after each epoch the dev value is reported to Optuna
(``trial.report(value, epoch)``) and a trial the pruner stops is raised as ``optuna.TrialPruned``
from inside the training loop: its run is marked ``pruned``. A trial whose training fails
(diverged loss, an impossible setting for the sampled values) is recorded as failed and the search
goes on; a data error stops it.

Pruners (``pruner.type``): ``none``; ``median`` (Optuna's MedianPruner: ``n_startup_trials``,
``n_warmup_steps``, ``interval_steps``); ``successive_halving`` (SuccessiveHalvingPruner:
``min_resource``, ``reduction_factor``, ``min_early_stopping_rate``); ``threshold``
(ThresholdPruner: ``lower``, ``upper``, ``n_warmup_steps``). A bare name (``pruner = "median"``)
takes the defaults.

Results go to ``<runs>/tune-<id>/`` (``<workspace>/runs`` or the config's ``output.run_dir``):
``tune.json`` (best value, parameters, trial and run; counts; the tune settings), ``trials.json``
and ``trials.csv`` (one row per trial: number, state, value, run id, epochs, seconds, parameters,
error), rewritten after every trial. With a workspace the Optuna study is stored in
``tune-<id>/study.db`` (SQLite; ``optuna.load_study(study_name="tune-<id>",
storage="sqlite:///.../study.db")`` reads it back); without one it lives in memory.
"""
from __future__ import annotations

import csv
import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, ValidationError, model_validator

from serendip.core.config import StrictModel, describe_validation_error
from serendip.errors import ConfigError, DataError, SerendipError
from serendip.models.config import Seed

__all__ = [
    "CategoricalDistribution",
    "FloatDistribution",
    "IntDistribution",
    "PrunerConfig",
    "TuneConfig",
    "TuneResult",
    "apply_params",
    "check_space",
    "load_tune_config",
    "parse_tune_config",
    "tune",
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


class CategoricalDistribution(_Strict):
    """One of ``choices`` (numbers, strings, booleans or null)."""

    type: Literal["categorical"]
    choices: list[bool | int | float | str | None] = Field(min_length=1)

    def candidates(self) -> list[Any]:
        return list(self.choices)


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


# -- the search -----------------------------------------------------------------------------------------
@dataclass
class TuneResult:
    """What :func:`tune` returns (and ``tune.json`` holds).

    ``best_*`` are None when no trial completed. ``trials``: one dict per trial (``number``,
    ``state`` complete/pruned/fail/running, ``value``, ``run_id``, ``epochs``, ``duration_s``,
    ``params``, ``error``). ``storage``: the study's SQLite URL, None for an in-memory study.
    """

    id: str
    path: Path
    study_name: str
    metric: str
    direction: str
    best_value: float | None
    best_params: dict[str, Any] | None
    best_trial: int | None
    best_run_id: str | None
    trials: list[dict[str, Any]] = field(default_factory=list)
    storage: str | None = None

    def count(self, state: str) -> int:
        return sum(t["state"] == state for t in self.trials)

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "path": str(self.path), "study_name": self.study_name,
                "metric": self.metric, "direction": self.direction,
                "best": {"value": self.best_value, "params": self.best_params,
                         "trial": self.best_trial, "run_id": self.best_run_id},
                "n_trials": len(self.trials), "n_complete": self.count("complete"),
                "n_pruned": self.count("pruned"), "n_failed": self.count("fail"),
                "storage": self.storage}


def _selection(cfg: Any) -> tuple[str, str]:
    from serendip.models.plugins import load_domains
    from serendip.models.selection import selection_metric as selection
    from serendip.models.tasks import make_task

    load_domains()
    return selection(cfg, make_task(cfg.task.name, **cfg.task.params))


def _find_run(base: Path, name: str) -> Path | None:
    """The newest run folder under ``base`` whose ``run.json`` has ``name``."""
    found = []
    if base.is_dir():
        for child in base.iterdir():
            info = child / "run.json"
            if info.is_file():
                try:
                    data = json.loads(info.read_text(encoding="utf-8"))
                except (OSError, ValueError):
                    continue
                if data.get("name") == name:
                    found.append(child)
    return max(found, key=lambda p: p.name) if found else None


def _mark_pruned(run_dir: Path, workspace: Any, message: str) -> None:
    """Set a run's status from ``failed`` (how finetune ends on an exception) to ``pruned``."""
    from serendip.models.runs import RunFolder, RunInfo, write_json

    data = json.loads((run_dir / "run.json").read_text(encoding="utf-8"))
    data["status"], data["error"] = "pruned", message
    write_json(run_dir / "run.json", data)
    if workspace is not None:
        info = RunInfo.from_dict(data)
        RunFolder(run_dir, info, workspace)._update_row()


class _TrialFailed(Exception):
    """A trial's training failed; recorded, and the search goes on."""


def _trial_rows(study: Any, keys: list[str]) -> list[dict[str, Any]]:
    rows = []
    for t in study.trials:
        value = t.value if t.value is not None and math.isfinite(t.value) else None
        rows.append({"number": t.number, "state": t.state.name.lower(), "value": value,
                     "run_id": t.user_attrs.get("run_id"), "epochs": t.user_attrs.get("epochs"),
                     "duration_s": t.duration.total_seconds() if t.duration else None,
                     "params": {k: t.params[k] for k in keys if k in t.params},
                     "error": t.user_attrs.get("error")})
    return rows


def _write_results(folder: Path, result: TuneResult, tcfg: TuneConfig, keys: list[str]) -> None:
    from serendip.models.runs import write_json

    write_json(folder / "tune.json", {**result.to_dict(),
                                      "settings": tcfg.model_dump(mode="json")})
    write_json(folder / "trials.json", result.trials)
    tmp = folder / ".trials.csv.tmp"
    with open(tmp, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["number", "state", "value", "run_id", "epochs", "duration_s", *keys, "error"])
        for t in result.trials:
            w.writerow(["" if v is None else v for v in
                        (t["number"], t["state"], t["value"], t["run_id"], t["epochs"],
                         t["duration_s"], *(t["params"].get(k) for k in keys), t["error"])])
    tmp.replace(folder / "trials.csv")


def tune(cfg: Any, tune_cfg: TuneConfig, workspace: Any = None, *,
         on_trial: Callable[[dict[str, Any]], None] | None = None,
         progress: Callable[[int, int, Mapping[str, Any]], None] | None = None) -> TuneResult:
    """Search ``tune_cfg.space`` over fine-tuning runs of ``cfg`` with Optuna.

    Parameters
    ----------
    cfg : FineTuneConfig
        The base fine-tuning config; each trial sets the sampled keys on a copy.
    tune_cfg : TuneConfig
    workspace : Workspace, optional
        Trials are recorded in its ``runs`` table and the study in ``<ws>/runs/tune-<id>/study.db``;
        without one, runs and results go under ``cfg.output.run_dir`` and the study is in memory.
    on_trial : callable, optional
        ``on_trial(row)`` after each trial (``row`` as in :attr:`TuneResult.trials`).
    progress : callable, optional
        Passed to each :func:`~serendip.models.train.finetune` call.

    Returns
    -------
    TuneResult
        ``best_*`` None when no trial completed.

    Raises
    ------
    ConfigError
        A bad search space (the key is named), no dev split to score trials on.
    DataError
        Unusable data (the first trial stops the search).
    """
    import optuna

    from serendip.models.recording import base_dir as _base_dir
    from serendip.models.runs import new_run_id
    from serendip.models.train import finetune

    check_space(cfg, tune_cfg.space)
    if cfg.data.dev is None and cfg.data.split.dev <= 0:
        raise ConfigError("tuning needs a dev split to score trials: give data.dev or "
                          "data.split.dev > 0")
    metric, mode = _selection(cfg)
    direction = tune_cfg.direction or ("maximize" if mode == "max" else "minimize")

    tune_id = new_run_id()
    study_name = f"tune-{tune_id}"
    base = _base_dir(cfg, workspace)
    folder = (Path(base) / study_name).resolve()
    try:
        folder.mkdir(parents=True, exist_ok=False)
    except OSError as exc:
        raise SerendipError(f"cannot create the tune folder {folder}: {exc.strerror or exc}") from None
    storage = f"sqlite:///{folder / 'study.db'}" if workspace is not None else None
    keys = list(tune_cfg.space)

    verbosity = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        study = optuna.create_study(
            study_name=study_name, storage=storage, direction=direction,
            sampler=optuna.samplers.TPESampler(seed=tune_cfg.seed),
            pruner=tune_cfg.pruner.build())
        study.set_user_attr("metric", metric)

        def suggest(trial: Any) -> dict[str, Any]:
            params: dict[str, Any] = {}
            for key, d in tune_cfg.space.items():
                if isinstance(d, FloatDistribution):
                    params[key] = trial.suggest_float(key, d.low, d.high, log=d.log, step=d.step)
                elif isinstance(d, IntDistribution):
                    params[key] = trial.suggest_int(key, d.low, d.high, step=d.step, log=d.log)
                else:
                    params[key] = trial.suggest_categorical(key, d.choices)
            return params

        def objective(trial: Any) -> float:
            params = suggest(trial)
            name = f"{study_name}-{trial.number}"
            epochs: list[int] = []

            def report(done: int, total: int, info: Mapping[str, Any]) -> None:
                if progress is not None:
                    progress(done, total, info)
                if "dev" not in info:
                    return
                epoch = int(info["epoch"])
                epochs.append(epoch)
                trial.set_user_attr("epochs", epoch)
                value = info.get(metric)
                if value is None or not math.isfinite(float(value)):
                    return
                trial.report(float(value), epoch)
                if trial.should_prune():
                    raise optuna.TrialPruned(f"pruned after epoch {epoch}: dev {metric} "
                                             f"{float(value):.4g}")

            try:
                trial_cfg = apply_params(cfg, params)
                trial_cfg = trial_cfg.model_copy(
                    update={"output": trial_cfg.output.model_copy(update={"name": name})})
                result = finetune(trial_cfg, workspace, progress=report)
            except optuna.TrialPruned as exc:
                run_dir = _find_run(Path(base), name)
                if run_dir is not None:
                    trial.set_user_attr("run_id", run_dir.name)
                    _mark_pruned(run_dir, workspace, str(exc))
                raise
            except DataError:
                raise
            except SerendipError as exc:
                run_dir = _find_run(Path(base), name)
                if run_dir is not None:
                    trial.set_user_attr("run_id", run_dir.name)
                trial.set_user_attr("error", f"{type(exc).__name__}: {exc}")
                raise _TrialFailed(str(exc)) from exc
            trial.set_user_attr("run_id", result.run_id)
            value = result.metrics["selection"]["best_value"]
            if value is None or not math.isfinite(float(value)):
                trial.set_user_attr("error", f"dev {metric} was never finite")
                return float("nan")  # Optuna records the trial as failed
            return float(value)

        result = TuneResult(id=tune_id, path=folder, study_name=study_name, metric=metric,
                            direction=direction, best_value=None, best_params=None,
                            best_trial=None, best_run_id=None, storage=storage)

        def refresh() -> None:
            result.trials = _trial_rows(study, keys)
            done = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
            if done:
                best = study.best_trial
                result.best_value, result.best_trial = best.value, best.number
                result.best_params = {k: best.params[k] for k in keys if k in best.params}
                result.best_run_id = best.user_attrs.get("run_id")
            _write_results(folder, result, tune_cfg, keys)

        def after_trial(study_: Any, frozen: Any) -> None:
            refresh()
            if on_trial is not None:
                row = next((r for r in result.trials if r["number"] == frozen.number), None)
                if row is not None:
                    on_trial(row)

        study.optimize(objective, n_trials=tune_cfg.n_trials, timeout=tune_cfg.timeout_s,
                       catch=(_TrialFailed,), callbacks=[after_trial], gc_after_trial=True)
        refresh()
    finally:
        optuna.logging.set_verbosity(verbosity)
    return result
