"""``serendip eval retrieval --dataset scifact``."""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Optional

import typer
from rich.table import Table

from serendip.cli.common import console, handle_errors, rate_progress

app = typer.Typer(no_args_is_help=True, help="Evaluate Serendip on public benchmarks.")


def eval_workspace_path(dataset: str) -> Path:
    """Default evaluation workspace: ``$SERENDIP_CACHE/eval-<dataset>`` (kept apart from your own)."""
    base = Path(os.environ.get("SERENDIP_CACHE", Path.home() / ".cache" / "serendip"))
    return base / f"eval-{dataset.replace('/', '_')}"


def results_table(results: dict[str, dict[str, float]], dataset: str, split: str) -> Table:
    """Metrics per mode, with the published anchors (nDCG@10) beside them."""
    from serendip.retrieval.evaluate import anchors_for

    table = Table(title=f"Retrieval on {dataset} ({split})", title_justify="left")
    for col in ("mode", "nDCG@10", "Recall@100", "MRR@10", "published nDCG@10 (source)"):
        table.add_column(col)
    for mode, m in results.items():
        anchors = "; ".join(f"{a['value']:.3f} {a['name']} ({a['source']})" for a in anchors_for(dataset, mode))
        table.add_row(mode, f"{m['ndcg@10']:.4f}", f"{m['recall@100']:.4f}", f"{m['mrr@10']:.4f}", anchors or "-")
    return table


@app.command("retrieval")
def retrieval(dataset: str = typer.Option("scifact", "--dataset", help="A BEIR dataset from `serendip datasets list`."),
              split: str = typer.Option("test", "--split"),
              workspace: Optional[Path] = typer.Option(None, "--workspace", "-w",
                                                       help="Evaluation workspace (default: $SERENDIP_CACHE/eval-<dataset>)."),
              json_out: bool = typer.Option(False, "--json", help="Print one JSON object {mode: {metric: value}}.")) -> None:
    """nDCG@10, Recall@100 and MRR@10 for bm25, dense and hybrid, beside the published figures."""
    from serendip.datasets import check_beir
    from serendip.workspace.workspace import Workspace

    with handle_errors():
        check_beir(dataset, split)  # before creating any folder
        ws = Workspace.init(workspace or eval_workspace_path(dataset))
        with rate_progress("records") as bar:
            task = bar.add_task("embed", total=0)
            results = ws.evaluate(dataset, split=split, progress=lambda n: bar.advance(task, n),
                                  on_total=lambda n: bar.update(task, total=n))
        if json_out:
            print(json.dumps({m: {k: round(v, 4) for k, v in r.items()} for m, r in results.items()}))
        else:
            console.print(results_table(results, dataset, split))
