"""``serendip demo``: the main job, end to end on SciFact."""
from __future__ import annotations

import time
from pathlib import Path

import typer

from serendip.cli.common import console, handle_errors, rate_progress

EXAMPLE_QUERIES = [
    "vitamin D supplementation and risk of fractures",
    "TNF-α signalling in rheumatoid arthritis",
    "CRISPR off-target effects in human cells",
]


def demo(workspace: Path = typer.Option(Path("serendip-demo"), "--workspace", "-w",
                                        help="Folder for the demo workspace."),
         dataset: str = typer.Option("scifact", "--dataset")) -> None:
    """Resolve SciFact, ingest its 5,183 abstracts, index (BM25 + dense), evaluate the 300 test
    claims for bm25/dense/hybrid beside the published figures, and run three example searches."""
    from serendip.cli.eval_cmd import results_table
    from serendip.cli.literature_cmd import print_hits
    from serendip.datasets import beir_files
    from serendip.workspace.workspace import Workspace

    t0 = time.perf_counter()
    with handle_errors():
        corpus, _, _ = beir_files(dataset, "test")
        console.print(f"[bold]1/4[/] dataset {dataset}: {corpus}")
        ws = Workspace.init(workspace)
        with rate_progress("records") as bar:
            task = bar.add_task("ingest", total=None)
            rep = ws.ingest([corpus], fmt="beir", progress=lambda n: bar.advance(task, n))
        console.print(f"[bold]2/4[/] workspace {ws.path}: ingested {rep.ingested}, duplicates "
                      f"{rep.duplicates}, failed {rep.failed}; {ws.count()} records stored")
        with rate_progress("records") as bar:
            task = bar.add_task("embed", total=0)
            irep = ws.index(progress=lambda n: bar.advance(task, n), on_total=lambda n: bar.update(task, total=n))
        console.print(f"[bold]3/4[/] indexes: BM25 {irep.bm25_docs} records, dense {irep.dense_total} vectors "
                      f"({irep.dense_added} embedded now) in {irep.seconds:.0f} s")
        results = ws.evaluate(dataset, split="test")
        console.print("[bold]4/4[/] evaluation on the 300 SciFact test claims (BEIR test qrels):")
        console.print(results_table(results, dataset, "test"))
        for q in EXAMPLE_QUERIES:
            print_hits(ws.search(q, mode="hybrid", k=3), f"hybrid: {q}")
        console.print(f"demo done in {time.perf_counter() - t0:.0f} s; try: "
                      f"serendip search \"your question\" -w {ws.path}")


def register(app: typer.Typer) -> None:
    app.command()(demo)
