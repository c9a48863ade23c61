"""``serendip init | ingest | index | search | reports``."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer
from rich.table import Table

from serendip.cli.common import (
    RegistryHelpCommand,
    WorkspaceOpt,
    console,
    err_console,
    handle_errors,
    open_workspace,
    rate_progress,
)

FORMATS = ["auto", "pubmed", "medline", "bibtex", "ris", "csv", "jsonl", "beir"]


def init(path: Optional[Path] = typer.Argument(None, help="Folder (default: $SERENDIP_WORKSPACE or ./serendip-workspace)."),
         database: Optional[str] = typer.Option(None, "--database", help="SQLAlchemy URL, e.g. postgresql+psycopg://user@127.0.0.1/db (default: SQLite in the folder).")) -> None:
    """Create a workspace: database (migrated with Alembic) and folders for indexes, models, runs."""
    from serendip.workbench import Workspace

    with handle_errors():
        ws = Workspace.init(path, database=database)
        console.print(f"workspace ready at [bold]{ws.path}[/] ({ws.config.database or 'SQLite'}), {ws.count()} records")


def ingest(paths: list[Path] = typer.Argument(..., help="Files or folders to ingest."),
           fmt: str = typer.Option("auto", "--format", "-f", help="One of: " + ", ".join(FORMATS)),
           workspace: Optional[Path] = WorkspaceOpt,
           columns: Optional[list[str]] = typer.Option(None, "--map", help="CSV/TSV column mapping FIELD=COLUMN, e.g. --map title=Headline (repeatable)."),
           json_out: bool = typer.Option(False, "--json", help="Print the report as JSON.")) -> None:
    """Ingest PubMed/MEDLINE XML, MEDLINE text, BibTeX, RIS, CSV/TSV, JSONL or a BEIR corpus."""
    from serendip.errors import ConfigError

    with handle_errors():
        mapping = {}
        for item in columns or []:
            field, sep, column = item.partition("=")
            if not sep or not field.strip() or not column.strip():
                raise ConfigError(f"--map expects FIELD=COLUMN, got {item!r}")
            mapping[field.strip()] = column.strip()
        ws = open_workspace(workspace)
        with rate_progress("records") as bar:
            task = bar.add_task("ingest", total=None)
            report = ws.ingest(paths, fmt=fmt, progress=lambda n: bar.advance(task, n),
                               mapping=mapping or None)
        if json_out:
            console.print_json(json.dumps(report.to_dict(), ensure_ascii=False))
            return
        for line in report.errors:
            err_console.print(f"[yellow]skipped:[/] {line}", highlight=False, soft_wrap=True)
        console.print(f"ingested {report.ingested}, duplicates {report.duplicates}, failed {report.failed} "
                      f"({report.records_per_s:,.0f} records/s); report #{report.id} kept in the workspace")


def index(workspace: Optional[Path] = WorkspaceOpt,
          dense: bool = typer.Option(True, "--dense/--no-dense", help="Also build the dense (embedding) index.")) -> None:
    """Build the BM25 index and embed records not yet in the dense index (incremental)."""
    with handle_errors():
        ws = open_workspace(workspace)
        with rate_progress("records") as bar:
            task = bar.add_task("embed", total=0)
            rep = ws.index(dense=dense, progress=lambda n: bar.advance(task, n),
                           on_total=lambda n: bar.update(task, total=n))
        for rid in rep.dense_skipped:
            err_console.print(f"[yellow]warning:[/] record {rid} has neither title nor abstract: nothing to embed")
        console.print(f"BM25: {rep.bm25_docs} records; dense: {rep.dense_added} embedded now, "
                      f"{rep.dense_total} in index ({rep.seconds:.1f} s)")


def search(query: str = typer.Argument(..., help="Free-text query."),
           mode: Optional[str] = typer.Option(None, "--mode", "-m", help="Retrieval mode (default: the "
                                              "workspace's retrieval.default_mode, hybrid)."),
           k: int = typer.Option(10, "-k", help="Number of results."),
           workspace: Optional[Path] = WorkspaceOpt,
           json_out: bool = typer.Option(False, "--json", help="Print results as JSON.")) -> None:
    """Search the workspace."""
    with handle_errors():
        ws = open_workspace(workspace)
        hits = ws.search(query, mode=mode, k=k)
        if json_out:
            print(json.dumps([h.to_dict() for h in hits], ensure_ascii=False))
            return
        shown = query if len(query) <= 80 else query[:77] + "..."
        print_hits(hits, f"{mode or ws.config.retrieval.default_mode}: {shown}")


def print_hits(hits, title: str) -> None:
    """A table of search hits: rank, score, year, identifier, title."""
    table = Table(title=title, title_justify="left")
    for col in ("#", "score", "year", "id", "title"):
        table.add_column(col, overflow="fold")
    for h in hits:
        ident = f"PMID {h.pmid}" if h.pmid else (h.doi or h.source_id or str(h.record_id))
        table.add_row(str(h.rank), f"{h.score:.3f}", str(h.year or ""), ident, h.title or "(no title)")
    console.print(table)


def reports(workspace: Optional[Path] = WorkspaceOpt) -> None:
    """List the ingest reports kept in the workspace."""
    with handle_errors():
        ws = open_workspace(workspace)
        table = Table()
        for col in ("#", "started", "status", "ingested", "duplicates", "failed", "paths"):
            table.add_column(col, overflow="fold")
        for r in ws.reports():
            table.add_row(str(r["id"]), str(r["started_at"])[:19], r["status"], str(r["ingested"]),
                          str(r["duplicates"]), str(r["failed"]), ", ".join(r["paths"]))
        console.print(table)


def register(app: typer.Typer) -> None:
    app.command()(init)
    app.command()(ingest)
    app.command()(index)
    app.command(cls=RegistryHelpCommand)(search)
    app.command()(reports)
