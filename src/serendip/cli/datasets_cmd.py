"""``serendip datasets list | fetch NAME``."""
from __future__ import annotations

import typer
from rich.table import Table

from serendip.cli.common import console, handle_errors

app = typer.Typer(no_args_is_help=True, help="The registry of public datasets.")


@app.command("list")
def list_() -> None:
    """Registered datasets, their licence and where they are found (mirror, cache or missing)."""
    from serendip.datasets import list_datasets, status

    with handle_errors():
        table = Table()
        table.add_column("name", no_wrap=True)
        table.add_column("files", justify="right")
        table.add_column("found")
        table.add_column("licence", max_width=28, overflow="ellipsis", no_wrap=True)
        table.add_column("description", max_width=60, overflow="ellipsis", no_wrap=True)
        for ds in list_datasets():
            table.add_row(ds.name, str(len(ds.files)), status(ds.name), ds.licence, ds.description)
        console.print(table)


@app.command("fetch")
def fetch(name: str = typer.Argument(..., help="Dataset name, e.g. scifact.")) -> None:
    """Resolve a dataset (mirror, then cache, then download) and print its local files."""
    from serendip.datasets import fetch as fetch_

    with handle_errors():
        for rel, loc in fetch_(name).items():
            console.print(f"{rel}\t{loc.path}\t({loc.origin})", highlight=False)
