"""Shared CLI helpers: the console, error handling (exit 2, no traceback), progress bars, user text
shown verbatim (:func:`labelled`, :func:`cells`) and help shown as written (:class:`SerendipTyper`)."""
from __future__ import annotations

import contextlib
import inspect
import os
import signal
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape
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
from typer.core import DEFAULT_MARKUP_MODE, TyperCommand, TyperGroup

from serendip.cli.display import visible
from serendip.workspace.paths import WORKSPACE_HELP

console = Console()
err_console = Console(stderr=True)
STATE = {"debug": False}



def workspace_path(value: str | Path) -> Path:
    """A workspace folder given on the command line as a Path; an empty or blank one (``-w ""``, an
    unset shell variable) is a usage error (exit 2), not the current directory (``Path("")`` is ``.``)."""
    if isinstance(value, str) and not value.strip():
        raise typer.BadParameter(f"the workspace folder is empty ({value!r}): name a folder, e.g. -w "
                                 "./serendip-workspace, or -w . for the current directory")
    return Path(value)


def workspace_option(default: Path | None = None, help: str = WORKSPACE_HELP):
    """The ``-w/--workspace`` option of every command: a folder checked by :func:`workspace_path`
    (help shows its type as ``<path>``, as for a plain Path option)."""
    return typer.Option(default, "--workspace", "-w", help=help, parser=workspace_path, metavar="<path>")


WorkspaceOpt = workspace_option()


def labelled(label: str, text: object) -> str:
    """Console markup: ``label`` (our own Rich markup, e.g. ``"[yellow]warning:[/]"``), a space, then
    ``text`` shown verbatim: user data (titles, paths, record keys, messages) has its brackets escaped,
    so ``"Aspirin [corrected]"`` keeps ``[corrected]`` and a path holding ``[/`` cannot break the line;
    control and bidi characters other than newline and tab are shown as escapes (:func:`visible`)."""
    return f"{label} {escape(visible(text, keep=chr(10) + chr(9)))}"


def cells(*values: object) -> tuple[Text, ...]:
    """Table cells shown verbatim (:class:`rich.text.Text`, never parsed as markup), one per value, each
    on one line: every character :func:`visible` escapes, newline and tab included, shown as an escape
    (a file named ``"weird\\nname.ris"`` stays one line). A value that is already a :class:`Text` (e.g.
    from :func:`lines_cell`) is passed through as it is."""
    return tuple(v if isinstance(v, Text) else Text(visible(v)) for v in values)


def lines_cell(parts: Iterable[object]) -> Text:
    """One table cell listing ``parts`` one per line (the files of one ingest): each part escaped by
    :func:`visible` (a newline or tab inside a part shown as ``\\x0a`` / ``\\x09``), then joined with
    real newlines, so a cell of n parts is n lines, however the parts are named."""
    return Text("\n".join(visible(p) for p in parts))


def os_error_text(exc: OSError) -> str:
    """An OS error on a named file as one plain line naming it: ``cannot open /x/y.jsonl: no such file or
    directory`` (not Python's ``[Errno 2] No such file or directory: '/x/y.jsonl'``)."""
    why = (exc.strerror or str(exc)).lower()
    where = exc.filename if exc.filename2 is None else f"{exc.filename} -> {exc.filename2}"
    return f"cannot open {where}: {why}" if where is not None else why


@contextlib.contextmanager
def handle_errors() -> Iterator[None]:
    """Print a SerendipError, or an OS error on a named file (:func:`os_error_text`), in one or two
    lines and exit with code 2."""
    from serendip.errors import SerendipError

    try:
        yield
    except (SerendipError, OSError) as exc:
        if STATE["debug"] or (isinstance(exc, OSError) and exc.filename is None):
            raise
        text = os_error_text(exc) if isinstance(exc, OSError) else exc
        err_console.print(labelled("[bold red]error:[/]", text), highlight=False, soft_wrap=True)
        raise typer.Exit(2) from None


@contextlib.contextmanager
def terminate_as_exit():
    """While the block runs, SIGTERM ends the process through ``SystemExit(143)``, so what a command does
    on Ctrl-C it does on ``kill`` too: an ingest's batch in progress rolls back and its report is marked
    interrupted, a fine-tuning run or a kg build is marked failed, a pre-training checkpoint is kept
    (outside the main thread, nothing changes)."""
    def on_term(signum, frame):
        raise SystemExit(128 + signum)

    try:
        previous = signal.signal(signal.SIGTERM, on_term)
    except ValueError:  # not the main thread
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def format_rate(rate: float | None, unit: str) -> str:
    """``5,210 records/s``; below 10/s one decimal (``0.4 records/s``, never "0 records/s"); ``?`` when
    not known yet."""
    if not rate:
        return f"? {unit}/s"
    return f"{rate:,.0f} {unit}/s" if rate >= 10 else f"{rate:.1f} {unit}/s"


class RateColumn(ProgressColumn):
    """Items per second, e.g. ``5,210 records/s``."""

    def __init__(self, unit: str):
        super().__init__()
        self.unit = unit

    def render(self, task) -> Text:
        speed = task.finished_speed or task.speed
        return Text(format_rate(speed, self.unit))


class EtaColumn(TimeRemainingColumn):
    """Time left at the current rate (``eta 0:01:23``); blank while the total is not known."""

    def render(self, task) -> Text:
        if task.total is None:
            return Text("")
        return Text.assemble("eta ", super().render(task))


#: seconds between two plain progress lines of a step when stderr is not a terminal
PLAIN_EVERY_S = 10.0


def _clock(seconds: float | None) -> str:
    seconds = int(seconds or 0)
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


class RateProgress(Progress):
    """A :class:`rich.progress.Progress` that, when its console is not a terminal (output redirected to a
    file or a pipe, where Rich draws nothing until the end), prints plain lines instead: one per step
    every :data:`PLAIN_EVERY_S` seconds (``embed: 1,024/5,000 records (20%), 512 records/s, eta
    0:00:08``) and one when the step ends (``embed: 5,000 records done in 0:00:10, 500 records/s``;
    ``stopped after`` instead of ``done`` when it ends by an exception: Ctrl-C, a kill, an error, or
    :meth:`stop` with ``interrupted``). On a terminal it is Rich's bar, unchanged."""

    def __init__(self, *columns, unit: str, **kwargs):
        super().__init__(*columns, **kwargs)
        self.unit = unit
        self.plain = not self.console.is_terminal
        if self.plain:  # the lines say it all: no bars drawn at the end
            self.live.transient = True
        self._said: dict = {}  # task id -> (monotonic time, completed) of its last line
        self.interrupted = False

    def __exit__(self, exc_type, exc_val, exc_tb) -> None:
        self.interrupted = self.interrupted or exc_type is not None
        super().__exit__(exc_type, exc_val, exc_tb)

    def advance(self, task_id, advance: float = 1) -> None:
        super().advance(task_id, advance)
        self._tell(task_id)

    def update(self, task_id, **kwargs) -> None:
        super().update(task_id, **kwargs)
        self._tell(task_id)

    def stop(self) -> None:
        if not self.plain:
            super().stop()
            return
        for task in self.tasks:  # steps of unknown length end here
            if task.completed and self._said.get(task.id, (0, None))[1] != task.completed:
                self._say(task, done=True)
        if not self.disable:
            self.live.stop()  # not Rich's blank line after the (undrawn) bars

    def _tell(self, task_id) -> None:
        if not self.plain:
            return
        task = self._tasks[task_id]
        last_time, last_done = self._said.get(task_id, (task.start_time or time.monotonic(), None))
        if task.total is not None and task.completed >= task.total:
            if last_done != task.completed:
                self._say(task, done=True)
        elif time.monotonic() - last_time >= PLAIN_EVERY_S and last_done != task.completed:
            self._say(task, done=False)

    def _say(self, task, done: bool) -> None:
        unit, elapsed = self.unit, task.elapsed or 0.0
        rate = task.completed / elapsed if elapsed > 0 else None
        speed = format_rate(rate, unit)
        if done:  # "1 record done": the unit's plural "s" dropped for one
            noun = unit[:-1] if task.completed == 1 and unit.endswith("s") else unit
            line = (f"{task.description}: stopped after {task.completed:,.0f} {noun} in {_clock(elapsed)}, {speed}"
                    if self.interrupted else
                    f"{task.description}: {task.completed:,.0f} {noun} done in {_clock(elapsed)}, {speed}")
        elif task.total:
            eta = f", eta {_clock((task.total - task.completed) / rate)}" if rate else ""
            line = (f"{task.description}: {task.completed:,.0f}/{task.total:,.0f} {unit} "
                    f"({100 * task.completed / task.total:.0f}%), {speed}{eta}")
        else:
            line = f"{task.description}: {task.completed:,.0f} {unit}, {speed}"
        self._said[task.id] = (time.monotonic(), task.completed)
        self.console.print(line, markup=False, highlight=False, soft_wrap=True)


def rate_progress(unit: str = "records") -> Progress:
    """A Rich progress bar on stderr showing count, total, rate (``unit``/s), elapsed time and the time
    left (for a task whose total is known); plain lines every :data:`PLAIN_EVERY_S` seconds instead when
    stderr is not a terminal (:class:`RateProgress`)."""
    return RateProgress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                        RateColumn(unit), TimeElapsedColumn(), EtaColumn(), console=err_console, unit=unit)


@contextlib.contextmanager
def lazy_progress(unit: str = "records"):
    """A ``steps(name, total) -> advance(n)`` callback (:mod:`serendip.core.progress`) whose
    :func:`rate_progress` bar opens on stderr only when a step starts: a call with no long step prints
    nothing."""
    opened: list = []

    def steps(name: str, total: int | None):
        if not opened:
            bar = rate_progress(unit)
            opened.append((bar, bar.__enter__()))
        bar = opened[0][1]
        task = bar.add_task(name, total=total)
        return lambda n: bar.advance(task, n)

    try:
        yield steps
    finally:
        if opened:
            opened[0][0].__exit__(None, None, None)


def open_workspace(path: Path | None, *, required: bool = True):
    """The workspace at ``path``, else the default one (the one policy:
    :func:`serendip.workspace.paths.resolve_workspace_path`: ``$SERENDIP_WORKSPACE``, the workspace
    holding the current directory, ``./serendip-workspace``); None when ``required`` is False and the
    default folder is not a workspace.

    Raises
    ------
    WorkspaceError
        No path, no ``$SERENDIP_WORKSPACE`` and no workspace found: the message says how to name one.
    """
    from serendip.errors import WorkspaceError
    from serendip.workbench import Workspace
    from serendip.workspace.paths import (
        CONFIG_NAME,
        NO_WORKSPACE_HINT,
        is_workspace,
        resolve_workspace_path,
    )

    folder = resolve_workspace_path(path, required=required)
    if folder is None:
        return None
    if path is None and "SERENDIP_WORKSPACE" not in os.environ and not is_workspace(folder):
        raise WorkspaceError(f"no Serendip workspace found: neither {Path.cwd()} nor its parent folders hold a "
                             f"{CONFIG_NAME}, and {folder} is not a workspace; {NO_WORKSPACE_HINT}")
    return Workspace.open(folder)


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


def rerankers_help() -> str:
    """The registered rerankers (domains loaded first) with their one-line descriptions, read now."""
    from serendip.models.plugins import load_domains
    from serendip.retrieval.rerank import RERANKERS

    load_domains()
    return "; ".join(f"{name}: {spec.description}" if spec.description else name
                     for name, spec in RERANKERS.canonical_items()) or "none (no domain registers one)"


def rerank_backends_help() -> str:
    """The backends of each registered reranker (domains loaded first), read now."""
    from serendip.models.plugins import load_domains
    from serendip.retrieval.rerank import RERANKERS

    load_domains()
    return "; ".join(f"{name}: {', '.join(spec.backends) or 'one way'}"
                     for name, spec in RERANKERS.canonical_items()) or "none (no domain registers a reranker)"


def backends_help() -> str:
    """The registered answer backends (domains loaded first) with their descriptions, read now."""
    from serendip.evidence.generators import GENERATORS
    from serendip.models.plugins import load_domains

    load_domains()
    return "; ".join(f"{name}: {spec.description}" if spec.description else name
                     for name, spec in GENERATORS.canonical_items())


def _described(registry) -> str:
    return "; ".join(f"{name}: {spec.description}" if getattr(spec, "description", "") else name
                     for name, spec in registry.canonical_items())


def screen_models_help() -> str:
    """The registered screening models (``fused`` naming the combination chosen), read now."""
    from serendip.screening.models import FUSED_CHOICE, SCREENING_MODELS

    return f"{_described(SCREENING_MODELS)}; fused: Serendip's choice, {FUSED_CHOICE['chosen']}"


def strategies_help() -> str:
    """The registered query strategies with their descriptions, read now."""
    from serendip.screening.strategies import QUERY_STRATEGIES

    return _described(QUERY_STRATEGIES)


def balancers_help() -> str:
    """The registered balancers with their descriptions, read now."""
    from serendip.screening.strategies import BALANCERS

    return _described(BALANCERS)


#: option name -> the function giving its registered choices (help text built when shown)
REGISTRY_CHOICES = {"mode": modes_help, "modes": modes_help, "kind": corpus_kinds_help,
                    "encoder": encoders_help, "reranker": rerankers_help, "backend": backends_help,
                    "rerank_backend": rerank_backends_help, "screen_model": screen_models_help,
                    "strategy": strategies_help, "balance": balancers_help}


def plain_help(text: str | None, markup: bool = DEFAULT_MARKUP_MODE == "rich") -> str | None:
    """Help text as it should be shown: each paragraph on one line (typer keeps a docstring's single
    line breaks as hard breaks in a group's command list, so a sentence stopped mid-line) and, when
    typer reads help as Rich markup (``markup``), its brackets escaped (``serendip[ray]`` would lose
    ``[ray]``). None or empty text is returned as is."""
    if not text:
        return text
    paragraphs = (" ".join(line.strip() for line in para.splitlines())
                  for para in inspect.cleandoc(text).split("\n\n"))
    joined = "\n\n".join(p for p in paragraphs if p)
    return escape(joined) if markup else joined


def _show_as_written(command: TyperCommand | TyperGroup) -> None:
    """:func:`plain_help` on the help of ``command`` and of each of its options and arguments."""
    markup = command.rich_markup_mode == "rich"
    command.help = plain_help(command.help, markup)
    for param in command.params:
        if getattr(param, "help", None):
            param.help = plain_help(param.help, markup)


def usage_name(param) -> str:
    """An argument as the usage line shows it, the POSIX / click convention: ``NAME`` (its metavar or
    name, upper case) when required, ``[NAME]`` when optional, ``...`` after one that takes several
    values (typer 0.2x writes a required one as ``{name}``)."""
    name = (param.metavar or param.name or "").upper()
    if not param.required:
        name = f"[{name}]"
    return name + ("..." if param.nargs != 1 else "")


class SerendipCommand(TyperCommand):
    """A command whose help and whose options' help are shown as written (:func:`plain_help`), and
    whose usage line names its arguments as :func:`usage_name` does (``kg paths [OPTIONS] A B``)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        _show_as_written(self)

    def collect_usage_pieces(self, ctx) -> list[str]:
        pieces = [self.options_metavar] if self.options_metavar else []
        for param in self.get_params(ctx):
            argument = getattr(param, "param_type_name", None) == "argument"
            pieces.extend([usage_name(param)] if argument else param.get_usage_pieces(ctx))
        return pieces


class SerendipGroup(TyperGroup):
    """A command group whose help and whose options' help are shown as written (:func:`plain_help`)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        _show_as_written(self)


class SerendipTyper(typer.Typer):
    """:class:`typer.Typer` whose groups and commands show help as written: :class:`SerendipGroup`,
    and :class:`SerendipCommand` for a command that names no class of its own."""

    def __init__(self, **kwargs):
        kwargs.setdefault("cls", SerendipGroup)
        super().__init__(**kwargs)

    def command(self, *args, cls: type[TyperCommand] | None = None, **kwargs):
        return super().command(*args, cls=cls or SerendipCommand, **kwargs)


class RegistryHelpCommand(SerendipCommand):
    """A command whose registry-backed options (:data:`REGISTRY_CHOICES`: ``--mode``, ``--kind``)
    list the registered entries each time help is shown, so an entry registered after import (a plugin,
    a test) appears in ``--help``. The option's own help text is kept as the first sentence. The
    registries are read only for help: a plain run never loads the domain packages to list them (a
    cold ``search`` would otherwise import every domain)."""

    def get_help(self, ctx):
        for param in super().get_params(ctx):
            choices = REGISTRY_CHOICES.get(param.name or "")
            if choices is not None:
                base = getattr(param, "_base_help", None)
                if base is None:
                    base = param._base_help = param.help or ""
                listed = plain_help(choices(), self.rich_markup_mode == "rich")
                param.help = f"{base} Registered: {listed}."
        return super().get_help(ctx)
