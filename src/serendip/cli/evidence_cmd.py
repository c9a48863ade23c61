"""``serendip verify``: claim verification over the workspace (wraps :mod:`serendip.evidence.api`)."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer
from rich.table import Table

from serendip.cli.common import (
    RegistryHelpCommand,
    WorkspaceOpt,
    cells,
    console,
    handle_errors,
    open_workspace,
)


def verify_cmd(claim: Optional[str] = typer.Argument(None, help="The claim to verify (one sentence)."),
               k: int = typer.Option(10, "-k", help="Records retrieved and read."),
               mode: Optional[str] = typer.Option(None, "--mode", "-m", help="Retrieval mode (default: the "
                                                  "workspace's retrieval.default_mode, hybrid)."),
               json_out: bool = typer.Option(False, "--json", help="Print the verdicts as JSON."),
               train: bool = typer.Option(False, "--train", help="Fine-tune the rationale and label models "
                                          "on the SciFact train claims and record them in the workspace "
                                          "(once; about 15 minutes on 2 CPU cores)."),
               workspace: Optional[Path] = WorkspaceOpt) -> None:
    """Label the top-k records SUPPORT / CONTRADICT / NEI for a claim, with rationale sentences."""
    from serendip.errors import ConfigError
    from serendip.evidence import api

    with handle_errors():
        ws = open_workspace(workspace)
        if train:
            if claim:
                raise ConfigError("--train trains the models only: give the claim in a second call")
            rationale, label = api.train_verifier(ws)
            console.print(f"verifier trained: runs {rationale} (rationale) and {label} (label)", markup=False)
            return
        if claim is None:
            raise ConfigError("give a claim to verify, e.g. serendip verify \"Zinc shortens the common cold\"")
        verdicts = api.verify_claim(ws, claim, k=k, mode=mode)
        if json_out:
            print(json.dumps([v.to_dict() for v in verdicts], ensure_ascii=False, indent=1))
            return
        _print(verdicts)


def _print(verdicts) -> None:
    table = Table(show_lines=True)
    for col in ("#", "label", "p", "record", "rationale"):
        table.add_column(col, overflow="fold")
    for v in verdicts:
        rationale = "\n".join(f"[{r['start']}:{r['end']}] {r['text']}" for r in v.rationale) or "-"
        who = f"{v.record_id}" + (f" PMID {v.pmid}" if v.pmid else "") + (f"\n{v.title}" if v.title else "")
        table.add_row(*cells(v.rank, v.label, f"{v.probability:.2f}", who, rationale))
    console.print(table)
    found = [v for v in verdicts if v.label != "NEI"]
    console.print(f"{len(found)} of {len(verdicts)} records take a side on the claim "
                  f"({sum(v.label == 'SUPPORT' for v in found)} support, "
                  f"{sum(v.label == 'CONTRADICT' for v in found)} contradict)", highlight=False)


def register(app: typer.Typer) -> None:
    app.command("verify", cls=RegistryHelpCommand)(verify_cmd)
