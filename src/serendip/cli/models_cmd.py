"""``serendip finetune CONFIG``, ``serendip tune TUNE_CONFIG``, ``serendip predict --run ID INPUT``,
``serendip runs list | show ID``.

Thin wrappers over :func:`serendip.models.train.finetune`, :func:`serendip.models.tune.tune`,
:func:`serendip.models.predict.predict`, :mod:`serendip.models.runs` and
:mod:`serendip.models.summaries`: they parse, call and print. optuna, torch and transformers are
imported only when a command runs.

Without ``-w``, the default workspace ($SERENDIP_WORKSPACE, else the workspace folder the current
directory is in, else ./serendip-workspace) is used when it exists; otherwise ``finetune`` writes to the config's ``output.run_dir`` and records no database row,
and ``predict`` / ``runs show`` need a run folder path instead of an id.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer
from rich.markup import escape
from rich.table import Table

from serendip.cli.common import (
    SerendipTyper,
    WorkspaceOpt,
    cells,
    console,
    err_console,
    handle_errors,
    labelled,
    lines_cell,
    rate_progress,
    terminate_as_exit,
)
from serendip.cli.display import json_line, visible

runs_app = SerendipTyper(no_args_is_help=True, help="Fine-tuning runs recorded in the workspace.")


def _workspace(path: Path | None, *, required: bool = False):
    """The workspace at ``path``; without a path, the default one if it exists (else None, or the
    'not a workspace' error when ``required``)."""
    from serendip.cli.common import open_workspace

    return open_workspace(path, required=required)


def _finetune_stopped(stop: BaseException) -> None:
    """After Ctrl-C or SIGTERM in ``finetune``: say so, and that the run is kept marked failed; exit 130
    (Ctrl-C) or the SystemExit's status (143 for SIGTERM)."""
    from serendip.models.runs import failure_text

    status = stop.code if isinstance(stop, SystemExit) and isinstance(stop.code, int) else 130
    err_console.print(labelled("[yellow]stopped:[/]", f"{failure_text(stop)}; the run is kept, marked failed "
                               "(`serendip runs list`, `serendip runs show ID`)"), highlight=False, soft_wrap=True)
    raise typer.Exit(status)


def _num(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4f}"
    return "-" if value is None else str(value)


def finetune_cmd(
    config: Path = typer.Argument(..., help="Fine-tuning config (.toml or .yaml)."),
    set_: list[str] = typer.Option(None, "--set", help="Override a config key: key=value "
                                   "(e.g. training.lr=3e-5, peft.method=lora). Repeatable."),
    workspace: Path | None = WorkspaceOpt,
    no_merge: bool = typer.Option(False, "--no-merge", help="Save the LoRA/AdaLoRA adapter only "
                                  "(do not merge it into the backbone)."),
    json_out: bool = typer.Option(False, "--json", help="Print the run's metrics as JSON."),
) -> None:
    """Fine-tune a model as CONFIG says; writes a run folder (and a row in the workspace's runs)."""
    from serendip.models.config import apply_overrides, load_config
    from serendip.models.summaries import metrics_summary, numeric_metrics
    from serendip.models.train import finetune

    with handle_errors(), terminate_as_exit():  # SIGTERM: the run is marked failed (interrupted)
        cfg = apply_overrides(load_config(config), set_ or [])
        ws = _workspace(workspace)
        with rate_progress("steps") as bar:
            task_id = bar.add_task("fine-tuning", total=None)

            def progress(done: int, total: int, info: dict) -> None:
                bar.update(task_id, completed=done, total=total)
                if "dev" in info:
                    metrics = info["dev"]
                    shown = ", ".join(f"{k} {_num(metrics.get(k))}" for k in
                                      dict.fromkeys([cfg.training.early_stopping.metric or "",
                                                     "mcc", "f1_macro", "f1", "rmse", "accuracy"])
                                      if k and k in metrics)
                    bar.console.print(visible(f"epoch {info['epoch']}: dev {shown}"), markup=False, highlight=False)

            try:
                result = finetune(cfg, ws, progress=progress, merge=not no_merge)
            except (KeyboardInterrupt, SystemExit) as stop:
                bar.interrupted = True
                bar.stop()
                _finetune_stopped(stop)
        skipped = skipped_rows(result.run_dir)
        if skipped and not json_out:
            err_console.print(visible(f"skipped {len(skipped)} row(s) of the data files (first: {skipped[0]}); all of "
                              f"them in {result.run_dir / 'split_report.json'}"), markup=False, highlight=False,
                              soft_wrap=True)
        if json_out:
            print(json_line({"run_id": result.run_id, "run_dir": str(result.run_dir), "skipped_rows": len(skipped),
                             **metrics_summary(result.metrics)}))
            return
        m = result.metrics
        sel = m["selection"]
        console.print(f"run [bold]{escape(visible(result.run_id))}[/] done: {escape(visible(result.run_dir))}",
                      highlight=False)
        console.print(visible(f"trainable parameters: {result.trainable_params:,} of "
                      f"{result.total_params:,} ({result.trainable_fraction:.2%})"), markup=False, highlight=False)
        console.print(visible(f"best dev {sel['metric']}: {_num(sel['best_value'])} (epoch "
                      f"{sel['best_epoch']})"), markup=False, highlight=False)
        if m.get("test"):
            console.print(visible("test: " + ", ".join(f"{k} {_num(v)}" for k, v in
                                               numeric_metrics(m["test"]).items())), markup=False, highlight=False)
        for note in m.get("notes", []):
            err_console.print(visible(f"note: {note}"), markup=False, highlight=False)


def skipped_rows(run_dir: Path) -> list[str]:
    """The rows (records, documents) the data readers or the task skipped in a run, as messages naming
    file and line, from its ``split_report.json`` (empty when it has none)."""
    path = Path(run_dir) / "split_report.json"
    if not path.is_file():
        return []
    issues = json.loads(path.read_text(encoding="utf-8")).get("issues") or []
    return [str(i.get("message") or i) for i in issues]


def tune_cmd(
    config: Path = typer.Argument(..., help="Tune file (.toml or .yaml): `config` (the fine-tuning "
                                  "config), n_trials, timeout_s, seed, pruner, [space]."),
    trials: int | None = typer.Option(None, "--trials", min=1, help="Number of trials "
                                      "(overrides n_trials)."),
    timeout: float | None = typer.Option(None, "--timeout", min=1, help="Stop starting trials "
                                         "after this many seconds (overrides timeout_s)."),
    set_: list[str] = typer.Option(None, "--set", help="Override a fine-tuning config key: "
                                   "key=value (e.g. training.epochs=5). Repeatable."),
    workspace: Path | None = WorkspaceOpt,
    json_out: bool = typer.Option(False, "--json", help="Print the result and trials as JSON."),
) -> None:
    """Search hyper-parameters with Optuna (TPE, pruning on the per-epoch dev metric); every trial
    is a fine-tuning run. Results: <runs>/tune-<id>/ (tune.json, trials.json, trials.csv)."""
    from serendip.models.config import apply_overrides
    from serendip.models.tune import check_space, load_tune_config, tune

    with handle_errors():
        tcfg, cfg = load_tune_config(config)
        if set_:
            cfg = apply_overrides(cfg, set_)
            check_space(cfg, tcfg.space)
        updates = {k: v for k, v in (("n_trials", trials), ("timeout_s", timeout)) if v is not None}
        if updates:
            tcfg = tcfg.model_copy(update=updates)
        ws = _workspace(workspace)

        def on_trial(row: dict) -> None:
            if json_out:
                return
            params = ", ".join(f"{k}={_num(v)}" for k, v in row["params"].items())
            value = f" {_num(row['value'])}" if row["value"] is not None else ""
            extra = f" ({row['error']})" if row.get("error") else ""
            err_console.print(visible(f"trial {row['number']}: {row['state']}{value} [{params}] "
                              f"run {row['run_id'] or '-'}{extra}"), markup=False, highlight=False)

        result = tune(cfg, tcfg, ws, on_trial=on_trial)
        if json_out:
            print(json_line({**result.to_dict(), "trials": result.trials}, default=str))
        else:
            console.print(f"tune [bold]{escape(visible(result.id))}[/]: {len(result.trials)} trial(s), "
                          f"{result.count('complete')} complete, {result.count('pruned')} pruned, "
                          f"{result.count('fail')} failed; results in {escape(visible(result.path))}",
                          highlight=False)
            if result.best_value is not None:
                console.print(visible(f"best dev {result.metric}: {_num(result.best_value)} (trial "
                              f"{result.best_trial}, run {result.best_run_id})"), markup=False, highlight=False)
                for k, v in result.best_params.items():
                    console.print(visible(f"  {k} = {v!r}"), markup=False, highlight=False)
        if result.best_value is None:
            err_console.print("[bold red]error:[/] no trial completed", highlight=False)
            raise typer.Exit(1)


def predict_cmd(
    input_path: Path = typer.Argument(..., help="Input file: CSV, TSV, JSON Lines, FASTA/FASTQ or another registered format."),
    run: str = typer.Option(..., "--run", help="Run id (in the workspace) or run folder."),
    output: Path | None = typer.Option(None, "--output", "-o",
                                       help="Output CSV (default: <input name>.predictions.csv here)."),
    workspace: Path | None = WorkspaceOpt,
    batch_size: int = typer.Option(32, "--batch-size", help="Examples per batch."),
    fmt: str | None = typer.Option(None, "--format", help="Input format (default: from the suffix)."),
    json_out: bool = typer.Option(False, "--json", help="Print the report as JSON."),
) -> None:
    """Predict every example of INPUT with a fine-tuned run; write a CSV of labels and probabilities."""
    from serendip.models.predict import default_output_path, predict
    from serendip.models.runs import resolve_run

    with handle_errors():
        ws = _workspace(workspace)
        run_dir = resolve_run(run, ws)
        out = output or default_output_path(input_path)
        with rate_progress("examples") as bar:
            task_id = bar.add_task("predicting", total=None)
            report = predict(run_dir, input_path, out, batch_size=batch_size, format=fmt,
                             progress=lambda done, total: bar.update(task_id, completed=done,
                                                                     total=total))
        if json_out:
            print(json_line(report.to_dict()))
            return
        console.print(visible(f"{report.n} prediction(s) written to {report.output}"), markup=False, highlight=False)
        for issue in report.skipped:
            err_console.print(visible(f"skipped: {issue}"), markup=False, highlight=False)
        for note in report.notes:
            err_console.print(visible(f"note: {note}"), markup=False, highlight=False)


def runs_table(infos: list) -> Table:
    """The ``runs list`` table, readable at 80 columns with nothing cut short: the id (which is the
    UTC creation time, ``YYYYMMDD-HHMMSS-xxxxxx``), status and dev / test scores never wrap; task,
    backbone and the run's name (when it differs from the id) share the one column that wraps."""
    from rich import box

    rows = []
    for i in infos:
        head = i.summary()
        sel = head["metric"]
        scores = "-"
        if sel:
            scores = f"{sel} {_num(head['dev'])}" + (
                f" / {_num(head['test'])}" if head["test"] is not None else "")
        about = lines_cell([i.task or "-", Path(i.backbone or "-").name])
        if i.name and i.name != i.id:
            about.append("\n").append(visible(i.name), style="dim")
        rows.append((i.id, i.status, about, scores))
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True, padding=(0, 1))
    for col, values in zip(("id", "status"), zip(*rows) if rows else ((), ())):
        table.add_column(col, no_wrap=True, min_width=max([len(v) for v in values] + [len(col)]))
    table.add_column("task / backbone / name", overflow="fold")
    table.add_column("dev / test", no_wrap=True,
                     min_width=max([len(r[3]) for r in rows] + [len("dev / test")]))
    for ident, status, about_cell, score in rows:  # the about cell is a ready Text, its parts escaped
        table.add_row(*cells(ident, status), about_cell, *cells(score))
    return table


@runs_app.command("list")
def runs_list(workspace: Path | None = WorkspaceOpt,
              json_out: bool = typer.Option(False, "--json", help="Print the runs as JSON.")) -> None:
    """Runs of the workspace, newest first."""
    from serendip.models.runs import list_runs

    with handle_errors():
        ws = _workspace(workspace, required=True)
        infos = list_runs(ws)
        if json_out:
            print(json_line([i.to_dict() for i in infos], default=str))
            return
        if not infos:  # no empty table: one line saying what to run
            err_console.print("no runs yet: `serendip finetune CONFIG` makes one")
            return
        console.print(runs_table(infos))


@runs_app.command("show")
def runs_show(run: str = typer.Argument(..., help="Run id (a unique prefix will do) or run folder."),
              workspace: Path | None = WorkspaceOpt,
              json_out: bool = typer.Option(False, "--json", help="Print as JSON.")) -> None:
    """One run: status, files, selection, dev and test metrics."""
    from serendip.models.runs import read_json, read_run, resolve_run
    from serendip.models.summaries import metric_table, metrics_summary

    with handle_errors():
        ws = _workspace(workspace)
        run_dir = resolve_run(run, ws)
        info = read_run(run_dir)
        metrics_file = run_dir / "metrics.json"
        metrics = read_json(metrics_file) if metrics_file.is_file() else None
        if json_out:
            print(json_line({**info.to_dict(), "summary": metrics_summary(metrics) if metrics else None},
                            default=str))
            return
        console.print(f"[bold]{escape(visible(info.id))}[/] {escape(visible(info.name))}  "
                      f"status: {escape(visible(info.status))}",
                      highlight=False)
        console.print(visible(f"folder: {info.path}") + "\n" + visible(f"task: {info.task}  backbone: {info.backbone}"),
                      markup=False, highlight=False)
        if info.error:
            console.print(visible(f"error: {info.error}", keep="\n"), markup=False, highlight=False)
        if metrics:
            sel = metrics["selection"]
            chosen = (f"{sel['metric']} ({sel['mode']}), best epoch {sel['best_epoch']} of {sel['epochs_run']}"
                      if sel.get("best_epoch") is not None else
                      f"none (no dev split), the last of {sel['epochs_run']} epoch(s) kept")
            console.print(visible(f"selection: {chosen}; trainable parameters "
                          f"{metrics['trainable_params']:,} ({metrics['trainable_fraction']:.2%})"),
                          markup=False, highlight=False)
            rows = metric_table(metrics)
            if rows:  # no dev and no test split: no metric to show (the notes say so)
                table = Table()
                table.add_column("metric")
                table.add_column("dev (best)", justify="right")
                table.add_column("test", justify="right")
                for name, best, test in rows:
                    table.add_row(*cells(name, _num(best), _num(test)))
                console.print(table)
            for note in metrics.get("notes", []):
                console.print(visible(f"note: {note}"), markup=False, highlight=False)


def register(app: typer.Typer) -> None:
    app.command("finetune")(finetune_cmd)
    app.command("tune")(tune_cmd)
    app.command("predict")(predict_cmd)
    app.add_typer(runs_app, name="runs")
