"""``serendip index``: build the BM25 and dense indexes (one progress bar per long step), or check them
whole with ``--verify`` (wraps :meth:`serendip.workbench.Workspace.index` and
:meth:`~serendip.workbench.Workspace.verify_index`)."""
from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Optional

import typer
from rich.markup import escape

from serendip.cli.common import (
    WorkspaceOpt,
    console,
    err_console,
    handle_errors,
    labelled,
    open_workspace,
    rate_progress,
    terminate_as_exit,
)
from serendip.cli.display import count, visible


def index(workspace: Optional[Path] = WorkspaceOpt,
          dense: bool = typer.Option(True, "--dense/--no-dense", help="Also build the dense (embedding) index."),
          rebuild: bool = typer.Option(False, "--rebuild", help="Drop the indexes and build them again from "
                                       "every record (after a damaged-index error, or a model change)."),
          encoder: Optional[str] = typer.Option(None, "--encoder", help="Backend that embeds the records "
                                                "(default: the workspace's retrieval.encoder, torch); "
                                                "searches use the one the index was built with."),
          ray: Optional[str] = typer.Option(None, "--ray", metavar="ADDRESS", help="Embed through Ray tasks "
                                            "(same vectors): 'local' (a private Ray on this machine), 'auto' "
                                            "(a cluster started here with `ray start`), HOST:PORT or "
                                            "ray://HOST:PORT. Needs the ray extra: pip install 'serendip[ray]'."),
          passages: bool = typer.Option(False, "--passages", help="Also split the records into passages "
                                        "(title, abstract sentences with character offsets) for the "
                                        "evidence commands; new and changed records only."),
          passage_vectors: bool = typer.Option(False, "--passage-vectors", help="--passages, and embed "
                                               "every passage with the dense encoder so that `serendip ask` "
                                               "need not (kept for unchanged records)."),
          verify: bool = typer.Option(False, "--verify", help="Build nothing: read every index file whole "
                                      "and compare its SHA-256 with the one recorded when it was written "
                                      "(exit 1 if a file is damaged).")) -> None:
    """Build the BM25 index and embed records not yet in the dense index (incremental); or, with
    --verify, check every index file whole."""
    from serendip.errors import ConfigError

    with handle_errors(), terminate_as_exit():  # SIGTERM: the embedded vectors are checkpointed first
        if verify and (rebuild or encoder or ray or passages or passage_vectors or not dense):
            raise ConfigError("--verify builds nothing: give it without --rebuild, --encoder, --ray, --passages "
                              "or --no-dense")
        ws = open_workspace(workspace)
        if verify:
            damaged = print_verify_report(ws.verify_index(), ws.path)
        else:
            with index_progress() as bar:
                rep = ws.index(dense=dense, progress=bar.embedded, on_total=bar.embedding, steps=bar.step,
                               notify=bar.note, rebuild=rebuild, encoder=encoder, ray=ray, passages=passages,
                               passage_vectors=passage_vectors)
            for rid in rep.dense_skipped:
                err_console.print(labelled("[yellow]warning:[/]", f"record {rid} has neither title nor abstract: "
                                           "nothing to embed"))
            console.print(visible(f"BM25: {count(rep.bm25_docs, 'record')}; dense: {dense_said(rep, dense)} ({rep.seconds:.1f} s)"),
                          markup=False, highlight=False, soft_wrap=True)
            if rep.passages is not None:
                print_passage_report(rep.passages)
            if rep.passage_vectors is not None:
                v = rep.passage_vectors
                console.print(visible(f"passage vectors: {v.passages:,} of {count(v.records, 'record')} ({v.embedded_passages:,} "
                              f"embedded now from {count(v.embedded_records, 'record')}, {count(v.kept_records, 'record')} kept; "
                              f"{v.seconds:.1f} s)"), markup=False, highlight=False, soft_wrap=True)
            return
    if damaged:
        raise typer.Exit(1)


def dense_said(rep, dense: bool) -> str:
    """The dense part of ``serendip index``'s last line: ``"5 embedded now, 1,300 in index"`` (with the
    vectors resumed from an interrupted run), or with ``--no-dense`` the vectors already there
    (``"not updated (--no-dense), 1,300 vectors present"``)."""
    if not dense:
        return f"not updated (--no-dense), {rep.dense_total:,} vectors present"
    resumed = f", {rep.dense_resumed:,} resumed from the interrupted run" if rep.dense_resumed else ""
    return f"{rep.dense_added:,} embedded now{resumed}, {rep.dense_total:,} in index"


def print_passage_report(rep) -> None:
    """The passage index update in one line, and each record the splitter failed on (stderr)."""
    for line in rep.failed:
        err_console.print(labelled("[yellow]skipped:[/]", line), highlight=False, soft_wrap=True)
    console.print(f"passages: {rep.passages:,} from {count(rep.records, 'record')} ({rep.split:,} split now, "
                  f"{rep.kept:,} kept, {rep.removed:,} removed; {rep.seconds:.1f} s)", highlight=False, soft_wrap=True)


def print_verify_report(found: dict, root: Path) -> int:
    """One line per index file (``ok``, ``DAMAGED`` or ``unchecked``, its path under the workspace, its
    size once and what was found) and a last line per index part; returns the number of damaged files."""
    bad = 0
    for part, checks in found.items():
        for check in checks:
            shown = check.path.relative_to(root) if check.path.is_relative_to(root) else check.path
            size = f"{check.size:,} bytes, " if check.size is not None else ""
            label = {"ok": "ok", "damaged": "[bold red]DAMAGED[/]"}.get(check.status, "[yellow]unchecked[/]")
            console.print(f"{label}  {escape(visible(f'{shown} ({size}{check.detail})'))}", highlight=False, soft_wrap=True)
        counts = {status: sum(c.status == status for c in checks) for status in ("ok", "unchecked", "damaged")}
        bad += counts["damaged"]
        said = [f"{counts['ok']} of {len(checks)} file(s) whole"]
        if counts["unchecked"]:
            said.append(f"{counts['unchecked']} unchecked (no SHA-256 recorded: `serendip index --rebuild` "
                        f"records them)")
        if counts["damaged"]:
            said.append(f"{counts['damaged']} damaged: run `serendip index --rebuild`")
        console.print(visible(f"{part}: {'; '.join(said)}"), markup=False, highlight=False, soft_wrap=True)
    return bad


class IndexBars:
    """The bars of ``serendip index``: one per long step (reading the records, BM25, embedding, the ANN
    structure), each with its count, rate and time left (:func:`rate_progress`)."""

    def __init__(self, progress) -> None:
        self.progress = progress
        self._embed = None

    def step(self, name: str, total: int | None):
        """A new bar; returns its ``advance(n)`` (the ``steps`` callback of :meth:`Workspace.index`)."""
        task = self.progress.add_task(name, total=total)
        return lambda n: self.progress.advance(task, n)

    def embedding(self, total: int) -> None:
        self._embed = self.step("embed", total)

    def embedded(self, n: int) -> None:
        if self._embed is not None:
            self._embed(n)

    def note(self, message: str) -> None:
        self.progress.console.print(labelled("[yellow]note:[/]", message), highlight=False, soft_wrap=True)


@contextlib.contextmanager
def index_progress():
    """:class:`IndexBars` on a :func:`rate_progress` display, shown for the ``with`` block."""
    with rate_progress("records") as progress:
        yield IndexBars(progress)
