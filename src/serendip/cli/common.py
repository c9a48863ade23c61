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
    TimeRemainingColumn,
)
from rich.text import Text
from typer.core import TyperCommand

from serendip.workspace.paths import WORKSPACE_HELP

console = Console()
err_console = Console(stderr=True)
STATE = {"debug": False}

WorkspaceOpt = typer.Option(None, "--workspace", "-w", help=WORKSPACE_HELP)


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


class EtaColumn(TimeRemainingColumn):
    """Time left at the current rate (``eta 0:01:23``); blank while the total is not known."""

    def render(self, task) -> Text:
        if task.total is None:
            return Text("")
        return Text.assemble("eta ", super().render(task))


def rate_progress(unit: str = "records") -> Progress:
    """A Rich progress bar on stderr showing count, total, rate (``unit``/s), elapsed time and the time
    left (for a task whose total is known)."""
    return Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                    RateColumn(unit), TimeElapsedColumn(), EtaColumn(), console=err_console)


def open_workspace(path: Path | None, *, required: bool = True):
    """The workspace at ``path``, else the default one (the one policy:
    :func:`serendip.workspace.paths.resolve_workspace_path`); None when ``required`` is False and the
    default folder is not a workspace."""
    from serendip.workbench import Workspace
    from serendip.workspace.paths import resolve_workspace_path

    folder = resolve_workspace_path(path, required=required)
    return Workspace.open(folder) if folder is not None else None


def modes_help() -> str:
    """The registered retrieval modes with their one-line descriptions, read now (not at import)."""
    from serendip.retrieval.modes import RETRIEVAL_MODES, mode_names

    return "; ".join(f"{name}: {RETRIEVAL_MODES.get(name).description}" if RETRIEVAL_MODES.get(name).description
                     else name for name in mode_names())


def corpus_kinds_help() -> str:
    """The registered pre-training corpus kinds (domains loaded first), read now (not at import)."""
    from serendip.models.plugins import load_domains
    from serendip.models.registries import PRETRAIN_CORPORA

    load_domains()
    return ", ".join(name for name, _ in PRETRAIN_CORPORA.canonical_items())


def encoders_help() -> str:
    """The registered dense encoders with their one-line descriptions, read now (not at import)."""
    from serendip.retrieval.encoders import ENCODERS

    return "; ".join(f"{name}: {spec.description}" if spec.description else name
                     for name, spec in ENCODERS.canonical_items())


#: option name -> the function giving its registered choices (help text built when shown)
REGISTRY_CHOICES = {"mode": modes_help, "modes": modes_help, "kind": corpus_kinds_help,
                    "encoder": encoders_help}


class RegistryHelpCommand(TyperCommand):
    """A command whose registry-backed options (:data:`REGISTRY_CHOICES`: ``--mode``, ``--kind``)
    list the registered entries each time help is shown or arguments are parsed, so an entry
    registered after import (a plugin, a test) appears in ``--help``. The option's own help text is
    kept as the first sentence."""

    def get_params(self, ctx):
        params = super().get_params(ctx)
        for param in params:
            choices = REGISTRY_CHOICES.get(param.name or "")
            if choices is not None:
                base = getattr(param, "_base_help", None)
                if base is None:
                    base = param._base_help = param.help or ""
                param.help = f"{base} Registered: {choices()}."
        return params
