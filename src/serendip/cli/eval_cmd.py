"""``serendip eval retrieval --dataset scifact``."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Optional

import typer
from rich.table import Table
from rich.text import Text

from serendip.cli.common import (
    RegistryHelpCommand,
    SerendipTyper,
    cells,
    console,
    handle_errors,
    rate_progress,
    workspace_option,
)
from serendip.cli.display import visible

app = SerendipTyper(no_args_is_help=True, help="Evaluate Serendip on public benchmarks.")


def results_table(rows: list[dict[str, Any]], dataset: str, split: str) -> Table:
    """Metrics per mode (rows of :func:`serendip.retrieval.evaluate.results_rows`), with the published
    anchors (nDCG@10) beside them."""
    table = Table(title=Text(visible(f"Retrieval on {dataset} ({split})")), title_justify="left")
    for col in ("mode", "nDCG@10", "Recall@100", "MRR@10", "published nDCG@10 (source)"):
        table.add_column(col)
    for row in rows:
        anchors = "; ".join(f"{a['value']:.3f} {a['name']} ({a['source']})" for a in row["anchors"])
        table.add_row(*cells(row["mode"], f"{row['ndcg@10']:.4f}", f"{row['recall@100']:.4f}",
                             f"{row['mrr@10']:.4f}", anchors or "-"))
    return table


@app.command("retrieval", cls=RegistryHelpCommand)
def retrieval(dataset: str = typer.Option("scifact", "--dataset", help="A BEIR dataset from `serendip datasets list`."),
              split: str = typer.Option("test", "--split", help="The dataset's split whose queries are scored."),
              modes: Optional[list[str]] = typer.Option(None, "--mode", "-m",
                                                        help="Mode to evaluate (repeatable; default: every registered mode)."),
              workspace: Optional[Path] = workspace_option(help="Evaluation workspace (default: "
                                                           "$SERENDIP_CACHE/eval-<dataset>)."),
              json_out: bool = typer.Option(False, "--json", help="Print one JSON object {mode: {metric: value}}.")) -> None:
    """nDCG@10, Recall@100 and MRR@10 for each registered retrieval mode, beside the published figures."""
    from serendip.datasets import check_beir
    from serendip.retrieval.evaluate import results_rows
    from serendip.retrieval.modes import RETRIEVAL_MODES
    from serendip.workbench import Workspace
    from serendip.workspace.paths import eval_workspace_path

    with handle_errors():
        for mode in modes or []:
            RETRIEVAL_MODES.get(mode)  # an unknown mode fails before any folder is made
        check_beir(dataset, split)  # before creating any folder
        ws = Workspace.init(workspace or eval_workspace_path(dataset))
        with rate_progress("records") as bar:
            task = bar.add_task("embed", total=0)
            results = ws.evaluate(dataset, split=split, modes=modes or None,
                                  progress=lambda n: bar.advance(task, n),
                                  on_total=lambda n: bar.update(task, total=n))
        if json_out:
            print(json.dumps({m: {k: round(v, 4) for k, v in r.items()} for m, r in results.items()}))
        else:
            console.print(results_table(results_rows(results, dataset), dataset, split))
