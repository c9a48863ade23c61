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
from typing import Any

from serendip.errors import ConfigError, DataError, SerendipError
from serendip.models.tune_config import (
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
    PrunerConfig,
    TuneConfig,
    apply_params,
    check_space,
    load_tune_config,
    parse_tune_config,
)

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

    from serendip.models.recording import base_dir

    check_space(cfg, tune_cfg.space)
    if cfg.data.dev is None and cfg.data.split.dev <= 0:
        raise ConfigError("tuning needs a dev split to score trials: give data.dev or "
                          "data.split.dev > 0")
    metric, mode = _selection(cfg)
    result = _new_result(tune_cfg, Path(base_dir(cfg, workspace)), metric, mode, workspace)
    keys = list(tune_cfg.space)
    verbosity = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        study = optuna.create_study(
            study_name=result.study_name, storage=result.storage, direction=result.direction,
            sampler=optuna.samplers.TPESampler(seed=tune_cfg.seed), pruner=tune_cfg.pruner.build())
        study.set_user_attr("metric", metric)
        objective = _Objective(cfg, tune_cfg, workspace, Path(base_dir(cfg, workspace)),
                               result.study_name, metric, progress)

        def after_trial(study_: Any, frozen: Any) -> None:
            _refresh(study, result, tune_cfg, keys)
            if on_trial is not None:
                row = next((r for r in result.trials if r["number"] == frozen.number), None)
                if row is not None:
                    on_trial(row)

        study.optimize(objective, n_trials=tune_cfg.n_trials, timeout=tune_cfg.timeout_s,
                       catch=(_TrialFailed,), callbacks=[after_trial], gc_after_trial=True)
        _refresh(study, result, tune_cfg, keys)
    finally:
        optuna.logging.set_verbosity(verbosity)
    return result


def _new_result(tune_cfg: TuneConfig, base: Path, metric: str, mode: str, workspace: Any
                ) -> TuneResult:
    """An empty result with a new id and its folder ``<base>/tune-<id>`` made."""
    from serendip.models.runs import new_run_id

    tune_id = new_run_id()
    study_name = f"tune-{tune_id}"
    folder = (base / study_name).resolve()
    try:
        folder.mkdir(parents=True, exist_ok=False)
    except OSError as exc:
        raise SerendipError(f"cannot create the tune folder {folder}: {exc.strerror or exc}") from None
    storage = f"sqlite:///{folder / 'study.db'}" if workspace is not None else None
    direction = tune_cfg.direction or ("maximize" if mode == "max" else "minimize")
    return TuneResult(id=tune_id, path=folder, study_name=study_name, metric=metric,
                      direction=direction, best_value=None, best_params=None, best_trial=None,
                      best_run_id=None, storage=storage)


def _refresh(study: Any, result: TuneResult, tune_cfg: TuneConfig, keys: list[str]) -> None:
    """Update ``result`` from the study (trials, best so far) and rewrite the result files."""
    import optuna

    result.trials = _trial_rows(study, keys)
    done = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    if done:
        best = study.best_trial
        result.best_value, result.best_trial = best.value, best.number
        result.best_params = {k: best.params[k] for k in keys if k in best.params}
        result.best_run_id = best.user_attrs.get("run_id")
    _write_results(result.path, result, tune_cfg, keys)


class _Objective:
    """One trial: a fine-tuning run with the sampled values; its best dev value is the objective.

    The dev value of every epoch is reported to Optuna, and a pruned trial's run is marked
    ``pruned``; a failed run (not a data error) fails the trial only."""

    def __init__(self, cfg: Any, tune_cfg: TuneConfig, workspace: Any, base: Path, study_name: str,
                 metric: str, progress: Callable[[int, int, Mapping[str, Any]], None] | None):
        self.cfg, self.space, self.workspace, self.base = cfg, tune_cfg.space, workspace, base
        self.study_name, self.metric, self.progress = study_name, metric, progress

    def _reporter(self, trial: Any) -> Callable[[int, int, Mapping[str, Any]], None]:
        import optuna

        def report(done: int, total: int, info: Mapping[str, Any]) -> None:
            if self.progress is not None:
                self.progress(done, total, info)
            if "dev" not in info:
                return
            epoch = int(info["epoch"])
            trial.set_user_attr("epochs", epoch)
            value = info.get(self.metric)
            if value is None or not math.isfinite(float(value)):
                return
            trial.report(float(value), epoch)
            if trial.should_prune():
                raise optuna.TrialPruned(f"pruned after epoch {epoch}: dev {self.metric} "
                                         f"{float(value):.4g}")

        return report

    def _run_id(self, trial: Any, name: str) -> Path | None:
        run_dir = _find_run(self.base, name)
        if run_dir is not None:
            trial.set_user_attr("run_id", run_dir.name)
        return run_dir

    def __call__(self, trial: Any) -> float:
        import optuna

        from serendip.models.train import finetune

        params = {key: d.suggest(trial, key) for key, d in self.space.items()}
        name = f"{self.study_name}-{trial.number}"
        try:
            trial_cfg = apply_params(self.cfg, params)
            trial_cfg = trial_cfg.model_copy(
                update={"output": trial_cfg.output.model_copy(update={"name": name})})
            result = finetune(trial_cfg, self.workspace, progress=self._reporter(trial))
        except optuna.TrialPruned as exc:
            run_dir = self._run_id(trial, name)
            if run_dir is not None:
                _mark_pruned(run_dir, self.workspace, str(exc))
            raise
        except DataError:
            raise
        except SerendipError as exc:
            self._run_id(trial, name)
            trial.set_user_attr("error", f"{type(exc).__name__}: {exc}")
            raise _TrialFailed(str(exc)) from exc
        trial.set_user_attr("run_id", result.run_id)
        value = result.metrics["selection"]["best_value"]
        if value is None or not math.isfinite(float(value)):
            trial.set_user_attr("error", f"dev {self.metric} was never finite")
            return float("nan")  # Optuna records the trial as failed
        return float(value)
