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
        for col in ("name", "files", "licence", "found", "description"):
            table.add_column(col, overflow="fold")
        for ds in list_datasets():
            table.add_row(ds.name, str(len(ds.files)), ds.licence, status(ds.name), ds.description)
        console.print(table)


@app.command("fetch")
def fetch(name: str = typer.Argument(..., help="Dataset name, e.g. scifact.")) -> None:
    """Resolve a dataset (mirror, then cache, then download) and print its local files."""
    from serendip.datasets import fetch as fetch_

    with handle_errors():
        for rel, path in fetch_(name).items():
            console.print(f"{rel}\t{path}", highlight=False)
