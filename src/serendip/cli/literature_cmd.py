"""``serendip init | ingest | search | reports`` (and ``index``, from :mod:`serendip.cli.index_cmd`)."""
from __future__ import annotations

import time
from pathlib import Path
from typing import Optional

import typer
from rich import box
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from serendip.cli.common import (
    REGISTRY_CHOICES,
    RegistryHelpCommand,
    WorkspaceOpt,
    cells,
    console,
    err_console,
    handle_errors,
    labelled,
    lines_cell,
    open_workspace,
    rate_progress,
    terminate_as_exit,
    workspace_option,
    workspace_path,
)
from serendip.cli.display import count, json_line, visible
from serendip.retrieval.rerank import DEFAULT_RERANK_K, DEFAULT_RERANKER


def _format_help() -> str:
    """``--format`` help, from the reader registry: ``auto`` and each format with its label. A reader
    module that fails to import is named here (and raised when ``ingest`` runs), so the rest of the
    CLI still starts."""
    from serendip.literature.readers import ReaderImportError, reader_specs

    try:
        specs = reader_specs()
    except ReaderImportError as exc:
        return f"auto (sniff each file) or a format name; the formats cannot be listed: {exc}"
    return "auto (sniff each file) or one of: " + ", ".join(
        f"{'/'.join((s.name, *s.aliases))} ({s.label})" for s in specs)


def init(path: Optional[Path] = typer.Argument(None, help="Folder (default: $SERENDIP_WORKSPACE or ./serendip-workspace).",
                                               parser=workspace_path),
         database: Optional[str] = typer.Option(None, "--database", help="SQLAlchemy URL, e.g. postgresql+psycopg://user@127.0.0.1/db (default: SQLite in the folder)."),
         partitions: Optional[int] = typer.Option(None, "--partitions", help="PostgreSQL only, when the workspace is made: partition the records table by hash of id into N partitions (for 10^7+ records)."),
         nested: bool = typer.Option(False, "--nested", help="Make the workspace even inside another workspace's folder."),
         workspace: Optional[Path] = workspace_option(help="The folder, as every other command takes it (the same "
                                                      "as PATH; give one of the two).")) -> None:
    """Create a workspace: database (migrated with Alembic) and folders for indexes, models, runs.

    The folder is PATH or -w/--workspace PATH, as other commands take it. A new workspace inside an
    existing one is refused (exit 2) unless --nested is given: commands run without -w use the nearest
    workspace holding the current directory, so the outer one would be used everywhere in its folder
    but inside the new one."""
    from serendip.errors import ConfigError, WorkspaceError
    from serendip.workbench import Workspace
    from serendip.workspace.paths import (
        enclosing_workspace,
        is_workspace,
        resolve_workspace_path,
    )

    with handle_errors():
        if path is not None and workspace is not None and path != workspace:
            raise ConfigError(f"two folders given, PATH {path} and -w {workspace}: give one of the two")
        path = path if path is not None else workspace
        target = resolve_workspace_path(path, discover=False)
        outer = None if nested or is_workspace(target) else enclosing_workspace(target)
        if outer is not None:
            raise WorkspaceError(f"{target} is inside the workspace {outer} (a command without -w would pick "
                                 f"one of the two by the folder it is run from); choose a folder outside "
                                 f"it, or pass --nested")
        ws = Workspace.init(path, database=database, partitions=partitions)
        layout = f", records in {ws.config.partitions} partitions" if ws.config.partitions else ""
        console.print(f"workspace ready at [bold]{escape(visible(ws.path))}[/] "
                      f"({escape(ws.config.database or 'SQLite')}{layout}), {count(ws.count(), 'record')}", highlight=False)


def ingest(paths: list[Path] = typer.Argument(..., help="Files or folders to ingest."),
           fmt: str = typer.Option("auto", "--format", "-f", help="Input format."),
           workspace: Optional[Path] = WorkspaceOpt,
           columns: Optional[list[str]] = typer.Option(None, "--map", help="CSV/TSV column mapping FIELD=COLUMN, e.g. --map title=Headline (repeatable)."),
           encoding: Optional[str] = typer.Option(None, "--encoding", help="Text encoding of files without a byte-order mark, e.g. cp1252 or latin-1 (default: detected per file)."),
           json_out: bool = typer.Option(False, "--json", help="Print the report as JSON.")) -> None:
    """Ingest literature files (the formats of --format), sniffing each file's format by default.

    Exit status 0 when every file was read, 1 when some file failed whole (the others are kept), 2 for
    a usage error (reported before anything is read, with no progress bar)."""
    from serendip.literature.ingest import column_mapping

    with handle_errors(), terminate_as_exit():
        mapping = column_mapping(columns or [])
        ws = open_workspace(workspace)
        with LazyBar("ingest") as bar:  # finished and stopped before the report is printed
            report = ws.ingest(paths, fmt=fmt, progress=bar, mapping=mapping or None, encoding=encoding,
                               on_wait=lambda msg: err_console.print(labelled("[yellow]waiting:[/]", msg),
                                                                     highlight=False))
        if json_out:
            print(json_line(report.to_dict()))
        else:
            print_ingest_report(report)
    if report.failed_files:
        raise typer.Exit(1)


class LazyBar:
    """A progress callback (``bar(n)``: ``n`` more records handled) whose bar starts at the first
    records stored, so that an error found while the inputs are checked is printed alone, before any
    bar. Its elapsed time and rate count from when it was made (the start of the ingest), as the
    summary's rate does. Used as a context manager: leaving the block finishes the bar (its total set to
    its count: ``"ingest ━━━ 5,183/5,183"``, or the plain ``"ingest: 5,183 records done"`` line when
    stderr is not a terminal) and stops it, so that nothing of it is drawn after the report printed
    next."""

    def __init__(self, description: str, unit: str = "records") -> None:
        self.description, self.unit = description, unit
        self.t0 = time.monotonic()  # the clock of Rich's Progress (Console.get_time)
        self.bar = None
        self.task = None

    def __call__(self, n: int) -> None:
        if self.bar is None:
            self.bar = rate_progress(self.unit)
            self.bar.start()
            self.task = self.bar.add_task(self.description, total=None)
            self.bar.tasks[-1].start_time = self.t0
        self.bar.advance(self.task, n)

    def __enter__(self) -> "LazyBar":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if self.bar is None:
            return
        if exc_type is None:  # finished: the count is the total, the rate is over the whole ingest
            task = self.bar.tasks[-1]
            self.bar.update(self.task, total=task.completed)
            if task.finished_time:
                task.finished_speed = task.completed / task.finished_time
        self.bar.stop()
        self.bar = None


def print_ingest_report(report) -> None:
    """Skipped records and warnings on stderr; the per-file table and the totals on stdout; the files
    that failed whole, named on stderr last."""
    from serendip.literature.file_report import FILE_COLUMNS

    failed = report.failed_files
    whole = {f.error_line() for f in failed}
    for line in report.errors:
        if line not in whole:
            err_console.print(labelled("[yellow]skipped:[/]", line), highlight=False, soft_wrap=True)
    for line in report.warnings:
        err_console.print(labelled("[yellow]warning:[/]", line), highlight=False, soft_wrap=True)
    for file, used in report.encodings.items():
        if not used.startswith("utf-8"):
            console.print(visible(f"read {file} as {used}"), markup=False, highlight=False, soft_wrap=True)
    table = Table()
    for col in FILE_COLUMNS:
        table.add_column(col, overflow="fold", justify="right" if col in FILE_COLUMNS[2:6] else "left")
    for entry in report.files:
        table.add_row(*cells(*entry.row()))
    for line in report.kept:
        console.print(visible(f"kept: {line}"), markup=False, highlight=False, soft_wrap=True)
    console.print(table)
    for entry in report.files:  # PubMed update files: what their <DeleteCitation> did
        if entry.has_deletions:
            console.print(visible(f"{entry.path}: PubMed deletions: {entry.deletion_note()}"), markup=False,
                          highlight=False, soft_wrap=True)
        for note in entry.withdrawn_notes():  # PubMed copies of PMIDs a DeleteCitation withdrew
            console.print(visible(f"{entry.path}: {note}"), markup=False, highlight=False, soft_wrap=True)
    console.print(visible(f"{report.summary()}; report #{report.id} kept in the workspace"), markup=False)
    for entry in failed:
        err_console.print(labelled("[bold red]failed:[/]", entry.error_line()), highlight=False, soft_wrap=True)
    if failed:
        others = "; the records of the others were kept" if len(report.files) > len(failed) else ""
        err_console.print(labelled(f"[bold red]{len(failed)} of {len(report.files)} input file(s) failed whole[/]",
                                   f"({', '.join(f.path for f in failed)}){others}"),
                          highlight=False, soft_wrap=True)


def search(query: str = typer.Argument(..., help="Free-text query."),
           mode: Optional[str] = typer.Option(None, "--mode", "-m", help="Retrieval mode (default: the "
                                              "workspace's retrieval.default_mode, hybrid)."),
           k: int = typer.Option(10, "-k", help="Number of results."),
           rerank: Optional[str] = typer.Option(None, "--rerank", metavar="RUN_OR_PATH", help="Rerank the "
                                                "mode's top candidates with this reranker run (a run folder "
                                                "or a run id of the workspace)."),
           rerank_k: Optional[int] = typer.Option(None, "--rerank-k", help="Candidates the reranker "
                                                  f"re-scores (default: the run's tuned depth, else {DEFAULT_RERANK_K})."),
           rerank_weight: Optional[float] = typer.Option(None, "--rerank-weight", help="The reranker's share of "
                                                         "the score, 0-1; below 1 fused with the mode's (default: "
                                                         "the run's tuned weight, else 1)."),
           reranker: str = typer.Option(DEFAULT_RERANKER, "--reranker", help="Kind of reranker (with --rerank)."),
           rerank_backend: Optional[str] = typer.Option(None, "--rerank-backend", help="Backend that runs the "
                                                        "reranker (default: the workspace's "
                                                        "retrieval.rerank_backend, else onnx-int8 where "
                                                        "onnxruntime is installed)."),
           workspace: Optional[Path] = WorkspaceOpt,
           json_out: bool = typer.Option(False, "--json", help="Print results as JSON.")) -> None:
    """Search the workspace (warns when records were ingested after the last `serendip index`)."""
    import warnings

    from serendip.errors import StaleIndexWarning

    with handle_errors():
        ws = open_workspace(workspace)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", StaleIndexWarning)
            hits = ws.search(query, mode=mode, k=k, rerank=rerank, rerank_k=rerank_k, reranker=reranker,
                             rerank_weight=rerank_weight, rerank_backend=rerank_backend)
        for warning in caught:
            if issubclass(warning.category, StaleIndexWarning):
                err_console.print(labelled("[yellow]warning:[/]", warning.message), highlight=False, soft_wrap=True)
            else:
                warnings.warn_explicit(warning.message, warning.category, warning.filename, warning.lineno)
        if json_out:
            print(json_line([h.to_dict() for h in hits]))
            return
        shown = query if len(query) <= 80 else query[:77] + "..."
        how = mode or ws.config.retrieval.default_mode
        if rerank is not None:
            how += f", reranked by {reranker}"
        if not hits:  # e.g. a BM25 query of stopwords only: say so, not an empty table
            console.print(visible(f"no results ({how}: {shown})"), markup=False, highlight=False, soft_wrap=True)
            return
        print_hits(hits, f"{how}: {shown}")


def print_hits(hits, title: str) -> None:
    """A table of search hits: rank, score, year, record id (what `screen`, `recommend` and `verify`
    take), source identifier (PMID, DOI or source id), title."""
    table = Table(title=Text(visible(title)), title_justify="left")
    for col in ("#", "score", "year", "record", "source id", "title"):
        table.add_column(col, overflow="fold")
    for h in hits:
        ident = f"PMID {h.pmid}" if h.pmid else (h.doi or h.source_id or "")
        table.add_row(*cells(h.rank, f"{h.score:.3f}", h.year or "", h.record_id, ident, h.title or "(no title)"))
    console.print(table)


def reports(workspace: Optional[Path] = WorkspaceOpt) -> None:
    """List the ingest reports kept in the workspace (one line saying so when there is none yet)."""
    with handle_errors():
        ws = open_workspace(workspace)
        stored = ws.reports()
        if not stored:
            where = f" -w {ws.path}" if workspace is not None else ""
            console.print(escape(visible(f"no ingest reports yet in {ws.path}; ingest files with: "
                                 f"serendip ingest FILE...{where}")), highlight=False, soft_wrap=True)
            return
        for table in reports_tables(stored):
            console.print(table)


#: short headings of the report table's columns (:data:`~serendip.literature.ingest.REPORT_COLUMNS`)
_REPORT_HEADINGS = {"duplicates": "dup.", "deleted": "del."}


def reports_tables(stored: list[dict]) -> tuple[Table, Table]:
    """The stored ingest reports as two tables that read at 80 columns: the counts (one row per report,
    short headings explained in the caption, no vertical rules), then the input paths by report
    number, one path per line (a path wider than the terminal is folded, never cut)."""
    from serendip.literature.ingest import REPORT_COLUMNS, report_row

    counts = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, caption_justify="left",
                   caption="dup.: duplicates; del.: deleted by PubMed update files")
    paths = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    for col in REPORT_COLUMNS[:-1]:
        numeric = col in ("#", "ingested", "duplicates", "deleted")
        counts.add_column(_REPORT_HEADINGS.get(col, col), justify="right" if numeric else "left",
                          no_wrap=col not in ("started", "failed"), overflow="fold",
                          min_width=10 if col == "started" else None)
    paths.add_column("#", justify="right", no_wrap=True)
    paths.add_column(REPORT_COLUMNS[-1], overflow="fold")
    for report in stored:
        row = report_row(report)
        counts.add_row(*cells(*row[:-1]))
        paths.add_row(*cells(row[0]), lines_cell(report["paths"]))
    return counts, paths


def register(app: typer.Typer) -> None:
    app.command()(init)
    # --format lists the readers when help is shown or ingest parses: other commands import none of them
    REGISTRY_CHOICES["fmt"] = _format_help
    app.command(cls=RegistryHelpCommand)(ingest)
    from serendip.cli.index_cmd import index

    app.command(cls=RegistryHelpCommand)(index)
    app.command(cls=RegistryHelpCommand)(search)
    app.command()(reports)
