"""Shared CLI helpers: the console, error handling (exit 2, no traceback), progress bars."""
from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.text import Text

console = Console()
err_console = Console(stderr=True)
STATE = {"debug": False}

WorkspaceOpt = typer.Option(None, "--workspace", "-w",
                            help="Workspace folder (default: $SERENDIP_WORKSPACE or ./serendip-workspace).")


@contextlib.contextmanager
def handle_errors() -> Iterator[None]:
    """Print a SerendipError (or a missing file) in one or two lines and exit with code 2."""
    from serendip.errors import SerendipError

    try:
        yield
    except (SerendipError, FileNotFoundError, PermissionError) as exc:
        if STATE["debug"]:
            raise
        err_console.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
        raise typer.Exit(2) from None


class RateColumn(ProgressColumn):
    """Items per second, e.g. ``5,210 records/s``."""

    def __init__(self, unit: str):
        super().__init__()
        self.unit = unit

    def render(self, task) -> Text:
        speed = task.finished_speed or task.speed
        return Text(f"{speed:,.0f} {self.unit}/s" if speed else f"? {self.unit}/s")


def rate_progress(unit: str = "records") -> Progress:
    """A Rich progress bar on stderr showing count, total, rate (``unit``/s) and elapsed time."""
    return Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                    RateColumn(unit), TimeElapsedColumn(), console=err_console)


def open_workspace(path: Path | None):
    from serendip.workspace.workspace import Workspace

    return Workspace.open(path)
