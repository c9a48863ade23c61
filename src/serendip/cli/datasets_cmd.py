"""``serendip datasets list | fetch NAME``."""
from __future__ import annotations

from collections.abc import Callable

import typer
from rich import box
from rich.markup import escape
from rich.table import Table

from serendip.cli.common import SerendipTyper, cells, console, handle_errors
from serendip.cli.display import visible

app = SerendipTyper(no_args_is_help=True, help="The registry of public datasets.")


@app.command("list")
def list_() -> None:
    """Registered datasets, their licence and where they are found (mirror, cache or missing)."""
    from serendip.datasets import list_datasets, status

    with handle_errors():
        console.print(datasets_table(list_datasets(), status))


def datasets_table(datasets: list, status: Callable[[str], str]) -> Table:
    """The ``datasets list`` table, readable at 80 columns: names are never cut short (the column is
    as wide as the longest name), licence and description share one column and wrap."""
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column("name", no_wrap=True, min_width=max([len(d.name) for d in datasets] + [4]))
    table.add_column("files", justify="right", no_wrap=True)
    table.add_column("found", no_wrap=True)
    table.add_column("licence / description", overflow="fold")
    for ds in datasets:
        table.add_row(*cells(ds.name, len(ds.files), status(ds.name)),
                      f"{escape(ds.licence)}\n[dim]{escape(ds.description)}[/dim]")
    return table


@app.command("fetch")
def fetch(name: str = typer.Argument(..., help="Dataset name, e.g. scifact.")) -> None:
    """Resolve a dataset (mirror, then cache, then download) and print its local files."""
    from serendip.datasets import fetch as fetch_

    with handle_errors():
        for rel, loc in fetch_(name).items():
            console.print(f"{visible(rel)}\t{visible(loc.path)}\t({loc.origin})", markup=False, highlight=False)
