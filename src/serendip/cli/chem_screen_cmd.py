"""``serendip chem screen``: rank a SMILES library by a saved property model (wraps
:func:`serendip.chem.screen.screen_library`), with a progress bar showing lines/s."""
from __future__ import annotations

import _thread
import contextlib
import json
import signal
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Optional

import typer

from serendip.cli.common import (
    console,
    err_console,
    handle_errors,
    labelled,
    rate_progress,
)
from serendip.cli.display import count, visible


def screen_cmd(model_dir: Path = typer.Argument(..., help="A folder written by `serendip chem train --out`."),
               library: list[Path] = typer.Argument(..., help="SMILES files (.smi/.csv/.tsv/.txt, optionally .gz)."),
               out: Path = typer.Option(..., "--out", "-o", help="Output folder (holds the checkpoint; a run "
                                        "killed or stopped goes on from it when started again)."),
               top: int = typer.Option(1000, "--top", min=1, help="Molecules kept in the ranking."),
               diverse: int = typer.Option(0, "--diverse", min=0, help="MaxMin picks from the top molecules."),
               minimize: bool = typer.Option(False, "--minimize", help="Rank the lowest prediction first."),
               rank_by: str = typer.Option("prediction", "--rank-by", help="prediction, lower or upper (a bound "
                                           "of the conformal interval)."),
               min_pred: Optional[float] = typer.Option(None, "--min-pred", help="Keep predictions >= this."),
               max_pred: Optional[float] = typer.Option(None, "--max-pred", help="Keep predictions <= this."),
               max_sd: Optional[float] = typer.Option(None, "--max-sd", help="Keep ensemble spread <= this."),
               min_ad: Optional[float] = typer.Option(None, "--min-ad", help="Keep Tanimoto to the nearest "
                                                      "training molecule >= this (applicability domain)."),
               min_qed: Optional[float] = typer.Option(None, "--min-qed", help="Keep QED >= this."),
               lipinski: bool = typer.Option(False, "--lipinski", help="Keep at most one rule-of-five violation."),
               no_pains: bool = typer.Option(False, "--no-pains", help="Drop molecules with a PAINS alert."),
               no_brenk: bool = typer.Option(False, "--no-brenk", help="Drop molecules with a Brenk alert."),
               chunk_size: int = typer.Option(5000, "--chunk-size", min=1, help="Records per chunk (one "
                                              "checkpoint each)."),
               restart: bool = typer.Option(False, "--restart", help="Ignore a checkpoint in --out; start again."),
               smiles_column: Optional[str] = typer.Option(None, "--smiles-column", help="Header of the SMILES "
                                                           "column."),
               json_out: bool = typer.Option(False, "--json", help="Print the report as JSON.")) -> None:
    """Stream the library in chunks, standardise each molecule, predict it with its uncertainty and
    applicability domain, apply the filters and keep the best; write candidates.csv/.sdf, diverse.csv,
    issues.csv (lines that could not be read), duplicates.csv and report.json to --out. Exit status 1
    when some lines could not be read (listed in issues.csv); 0 with a warning for an empty library; 130 when stopped by Ctrl-C (the checkpoint
    stays: the same command goes on from it). A second run on the same --out is refused while one runs."""
    try:
        with _ctrl_c_by_sigwait():
            report = _screen(model_dir, library, out, top, diverse, minimize, rank_by, min_pred, max_pred, max_sd,
                             min_ad, min_qed, lipinski, no_pains, no_brenk, chunk_size, restart, smiles_column)
    except KeyboardInterrupt:
        err_console.print(labelled("[yellow]stopped:[/]", f"Ctrl-C; {_checkpointed(out)} in {out}; run the same "
                                   f"command again to go on from there (--restart starts again)"),
                          highlight=False, soft_wrap=True)
        raise typer.Exit(130) from None
    _show(report, out, json_out)
    if not report.counts["records"]:  # as `serendip ingest` of an empty file: a warning, exit status 0
        err_console.print(labelled("[yellow]warning:[/]", f"empty library: {', '.join(map(str, library))} "
                                   f"hold{'s' * (len(library) == 1)} no record ({report.counts['lines']:,} lines, "
                                   "blank or a header); nothing was screened"), highlight=False, soft_wrap=True)


@contextlib.contextmanager
def _ctrl_c_by_sigwait() -> Iterator[None]:
    """Take Ctrl-C with ``sigwait`` in a thread of our own and raise KeyboardInterrupt in the main thread.

    RDKit's substructure search installs its own SIGINT handler while it runs (``RDKit::ControlCHandler``:
    it only sets a flag), so a Ctrl-C that the kernel delivers meanwhile never reaches Python. Here SIGINT
    is blocked in the main thread (and so in every thread started from now on, which inherit the mask)
    and a waiting thread takes it from the kernel whatever handler is installed, then calls
    ``_thread.interrupt_main``. Nothing changes when not called from the main thread.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    old = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    done = threading.Event()

    def wait() -> None:
        while True:
            signal.sigwait({signal.SIGINT})
            if done.is_set():
                return
            _thread.interrupt_main()

    waiter = threading.Thread(target=wait, name="ctrl-c", daemon=True)
    waiter.start()
    try:
        yield
    finally:
        done.set()
        signal.pthread_kill(waiter.ident, signal.SIGINT)  # wakes the waiter, which then ends
        waiter.join(5)
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def _checkpointed(out: Path) -> str:
    """``"1,200 lines screened and checkpointed"`` from ``out/checkpoint.json`` (or that none was)."""
    try:
        state = json.loads((out / "checkpoint.json").read_text(encoding="utf-8"))["state"]
        return f"{state['counts']['lines']:,} lines screened and checkpointed"
    except (OSError, ValueError, KeyError, TypeError):
        return "no checkpoint written yet"


def _screen(model_dir, library, out, top, diverse, minimize, rank_by, min_pred, max_pred, max_sd, min_ad, min_qed,
            lipinski, no_pains, no_brenk, chunk_size, restart, smiles_column):
    with handle_errors():
        from serendip.cli.chem_cmd import _check_writable, _import_chem

        _import_chem()
        from serendip.chem.screen import ScreenFilters, screen_library

        filters = ScreenFilters(lipinski=lipinski, min_qed=min_qed, min_prediction=min_pred, max_prediction=max_pred,
                                max_sd=max_sd, min_ad=min_ad, no_pains=no_pains, no_brenk=no_brenk)
        _check_writable(out, folder=True)
        with rate_progress("lines") as bar:
            task = bar.add_task("screen", total=None)

            def tick(p: dict) -> None:
                total = int(p["lines"] / p["fraction"]) if p["fraction"] > 0 else None
                bar.update(task, completed=p["lines"], total=max(total, p["lines"]) if total else None)

            report = screen_library(model_dir, library, out, top_k=top, chunk_size=chunk_size, filters=filters,
                                    maximize=not minimize, rank_by=rank_by, diverse=diverse, resume=not restart,
                                    smiles_column=smiles_column, progress=tick)
            bar.update(task, total=report.counts["lines"], completed=report.counts["lines"])
    return report


def _show(report, out: Path, json_out: bool) -> None:
    c = report.counts
    if json_out:
        print(json.dumps(report.to_json()))
    else:
        say = lambda text: console.print(visible(text), markup=False, highlight=False, soft_wrap=True)  # noqa: E731
        resumed = f", resumed at line {report.resumed_at_line:,}" if report.resumed_at_line is not None else ""
        say(f"{c['lines']:,} lines: {count(c['records'], 'record')}, {c['invalid']:,} invalid, {c['duplicates']:,} "
            f"duplicates, {c['unique']:,} unique molecules, {c['passed']:,} passed the filters, {c['kept']:,} kept"
            f"{resumed}")
        left = ", ".join(f"{k} {v:,}" for k, v in report.filtered.items() if v)
        if left:
            say(f"left out by filter: {left}")
        for r in report.candidates[:10]:
            say(f"{r['rank']:>4}  {r['prediction']:.4g}  {r['name']}  {r['smiles']}")
        say(f"outputs in {out} ({report.outputs['candidates_csv'].name}, issues.csv, duplicates.csv, report.json)")
    if c["invalid"]:
        err_console.print(labelled("[yellow]warning:[/]", f"{c['invalid']:,} lines could not be read; see "
                                   f"{report.outputs['issues_csv']}"), highlight=False, soft_wrap=True)
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add ``screen`` to the ``serendip chem`` group."""
    app.command("screen")(screen_cmd)
