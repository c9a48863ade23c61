"""``serendip screen simulate``: simulated screening prioritisation on labelled records (wraps
:func:`serendip.screening.simulate`)."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.table import Table
from rich.text import Text

from serendip.cli.common import (
    RegistryHelpCommand,
    SerendipTyper,
    cells,
    console,
    err_console,
    handle_errors,
    labelled,
    rate_progress,
)
from serendip.cli.display import count, json_line, visible

app = SerendipTyper(no_args_is_help=True, help="Screening prioritisation: active learning over records.")


def _seeds(text: str) -> list[int]:
    from serendip.errors import ConfigError

    try:
        seeds = [int(part) for part in text.split(",")]
    except ValueError:
        raise ConfigError(f"--seeds takes whole numbers separated by commas (e.g. 0,1,2), got {text!r}") from None
    if len(set(seeds)) != len(seeds) or any(s < 0 for s in seeds):
        raise ConfigError(f"--seeds must be distinct numbers >= 0, got {text!r}")
    return seeds


def _bar_steps(bar):
    """A ``steps(name, total) -> advance`` callback opening one task of ``bar`` per step."""
    def steps(name: str, total: int | None):
        task = bar.add_task(name, total=total)
        return lambda n: bar.advance(task, n)
    return steps


def percent_sd(mean: float, sd: float | None) -> str:
    """``mean`` (a share) as ``"12.3 % ± 0.4"`` (no ``±`` part when ``sd`` is None)."""
    return f"{100 * mean:.1f} %" + (f" ± {100 * sd:.1f}" if sd is not None else "")


def summary_table(result) -> Table:
    """WSS@95, WSS@100, RRF@10 and ATD (mean ± sd over seeds), then each stopping rule's outcome."""
    s = result.summary()
    title = (f"{result.dataset}: {count(result.n, 'record')}, {result.n_includes:,} includes; {result.model}, "
             f"{result.strategy}, {result.balance}; seeds {','.join(str(r.seed) for r in result.runs)}")
    table = Table(title=Text(visible(title)), title_justify="left")
    for col in ("metric", "mean ± sd", "per seed"):
        table.add_column(col)
    for key, name in (("wss@95", "WSS@95"), ("wss@100", "WSS@100"), ("rrf@10", "RRF@10")):
        table.add_row(*cells(name, percent_sd(*s[key]), ", ".join(f"{100 * r.metrics[key]:.1f}" for r in result.runs)))
    mean, sd = s["atd"]
    table.add_row(*cells("ATD (records)", f"{mean:.1f}" + (f" ± {sd:.1f}" if sd is not None else ""),
                         ", ".join(f"{r.metrics['atd']:.1f}" for r in result.runs)))
    for rule in result.runs[0].stops:
        outs = [r.stops[rule] for r in result.runs]
        table.add_row(*cells(f"stop {rule}: recall reached", percent_sd(*s[f"stop:{rule}:recall"]),
                             ", ".join(f"{100 * o.recall:.1f}" for o in outs)))
        table.add_row(*cells(f"stop {rule}: records saved", percent_sd(*s[f"stop:{rule}:saved"]),
                             ", ".join(f"{100 * o.saved:.1f}" for o in outs)))
        table.add_row(*cells(f"stop {rule}: recall it estimated", "",
                             ", ".join(f"{100 * o.recall_estimate:.1f}" for o in outs)))
    return table


@app.command("simulate", cls=RegistryHelpCommand)
def simulate_cmd(
        data: list[Path] = typer.Option(..., "--data", help="Records: JSON-lines file (.gz allowed) with pmid, "
                                        "title, abstract per line; repeat the option for several files."),
        labels: Path = typer.Option(..., "--labels", help="Labels TSV with columns review, pmid and the label "
                                    "column."),
        review: str = typer.Option(..., "--review", help="The review in the labels file to simulate."),
        screen_model: str = typer.Option("tfidf-svm", "--model", help="Screening model."),
        strategy: str = typer.Option("max", "--strategy", help="Query strategy."),
        balance: Optional[str] = typer.Option(None, "--balance", help="Balancer (default: the model's own)."),
        seeds: str = typer.Option("0", "--seeds", help="Seeds, comma-separated (0,1,2): one simulation each, "
                                  "each with its own prior include and exclude."),
        label_column: str = typer.Option("label_abstract_screening", "--label-column",
                                         help="Labels column: label_abstract_screening or label_included."),
        retrain_every: int = typer.Option(1, "--retrain-every", min=1, help="Refit the model every N labels "
                                          "(1: after each label, as ASReview)."),
        embedding_model: Optional[Path] = typer.Option(None, "--embedding-model", help="Sentence embeddings of "
                                                       "the models that read them: a sentence-transformers folder "
                                                       "or a `serendip pretrain` checkpoint (mean-pooled); default "
                                                       "the bundled all-MiniLM-L6-v2."),
        plot: Optional[Path] = typer.Option(None, "--plot", help="Write the recall curves to this PNG."),
        json_out: bool = typer.Option(False, "--json", help="Print the result (settings, per-seed runs, "
                                      "summary) as JSON."),
) -> None:
    """Simulate screening a labelled review: WSS@95, WSS@100, RRF@10, ATD and the stopping rules."""
    from serendip.screening import (
        BALANCERS,
        QUERY_STRATEGIES,
        SCREENING_MODELS,
        load_screening_set,
        simulate,
    )
    from serendip.screening.embedding_source import embedding_context
    from serendip.screening.plot import check_plot_path, plot_recall

    with handle_errors():
        seed_list = _seeds(seeds)
        SCREENING_MODELS.get(screen_model)  # a wrong name fails before any file is read
        if plot is not None:
            check_plot_path(plot)  # and a PNG path that cannot be written, before any run
        context = embedding_context(embedding_model)
        QUERY_STRATEGIES.get(strategy)
        if balance is not None:
            BALANCERS.get(balance)
        ds = load_screening_set(data, labels, review, label_column)
        for issue in ds.issues:
            err_console.print(labelled("[yellow]warning:[/]", issue), highlight=False, soft_wrap=True)
        with rate_progress("records") as bar:
            result = simulate(ds, screen_model, strategy, seed_list, balance=balance, retrain_every=retrain_every,
                              context=context, steps=_bar_steps(bar))
        if plot is not None:
            written = plot_recall([result], {ds.name: ds.labels}, plot)
        if json_out:
            print(json_line(result.to_dict()))
        else:
            console.print(summary_table(result))
            console.print(f"{ds.n_marked_missing} titles/abstracts given as 'NA' read as missing; features "
                          f"{result.features_s:.1f} s, simulations "
                          f"{sum(r.wall_s for r in result.runs):.1f} s", highlight=False, markup=False)
        if plot is not None:
            err_console.print(labelled("recall curves:", written), highlight=False)


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="screen")
