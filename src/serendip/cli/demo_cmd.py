"""``serendip demo``: prints :func:`serendip.demo.run`'s report (the main job, end to end on SciFact)."""
from __future__ import annotations

from pathlib import Path

import typer

from serendip.cli.common import (
    console,
    handle_errors,
    labelled,
    rate_progress,
    workspace_option,
)
from serendip.cli.display import count, visible
from serendip.workspace.paths import DEMO_DIR


def demo(workspace: Path = workspace_option(Path(DEMO_DIR), help="Folder for the demo workspace."),
         dataset: str = typer.Option("scifact", "--dataset", help="The BEIR dataset the demo runs on.")) -> None:
    """Resolve SciFact, ingest its 5,183 abstracts, index (BM25 + dense), evaluate the 300 test
    claims for every registered retrieval mode beside the published figures, run three example
    searches, answer one question with cited passages, and simulate screening a Cohen (2006) review
    with ASReview's default model and Serendip's."""
    from serendip.cli.eval_cmd import results_table
    from serendip.cli.literature_cmd import print_hits
    from serendip.demo import EXAMPLE_MODE, run

    with handle_errors(), rate_progress("records") as bar:
        tasks: dict[str, int] = {}

        def task(stage: str) -> int:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=None if stage == "ingest" else 0)
            return tasks[stage]

        report = run(workspace, dataset, progress=lambda stage, n: bar.advance(task(stage), n),
                     on_total=lambda stage, n: bar.update(task(stage), total=n))
    console.print(labelled("[bold]1/4[/]", f"dataset {report.dataset}: {report.corpus}"))
    console.print(labelled("[bold]2/4[/]", f"workspace {report.workspace}"))  # the path alone: no wrap inside a count
    console.print(visible(f"    ingested {report.ingested:,}, duplicates {report.duplicates:,}, failed {report.failed:,}; "
                  f"{count(report.records, 'record')} stored"), markup=False)
    console.print(f"[bold]3/4[/] indexes: BM25 {count(report.bm25_docs, 'record')}, dense {count(report.dense_total, 'vector')} "
                  f"({report.dense_added:,} embedded now) in {report.index_s:.0f} s")
    console.print(labelled("[bold]4/4[/]", f"evaluation on the {report.queries} {report.dataset} {report.split} "
                           f"claims (BEIR {report.split} qrels):"))
    console.print(results_table(report.rows, report.dataset, report.split))
    for query, hits in report.examples:
        print_hits(hits, f"{EXAMPLE_MODE}: {query}")
    if report.answer is not None:
        from serendip.cli.answer_cmd import print_answer

        console.print(labelled("[bold]ask[/]", report.answer.question))
        print_answer(report.answer)
    if report.screening is not None:
        print_screening(report.screening)
    console.print(visible(f"demo done in {report.timings['total']:.0f} s; try: "
                          f"serendip search \"your question\" -w {report.workspace}"), markup=False)


def print_screening(demo) -> None:
    """The simulated screening of :func:`serendip.screening.demo_step.run_screening_demo`: one row per
    model (WSS@95, RRF@10, the hypergeometric stop's recall and records left unread, mean ± sd over seeds),
    or why it was skipped."""
    from rich.table import Table

    from serendip.cli.common import cells
    from serendip.cli.screen_cmd import percent_sd as pct

    if demo.skipped:
        console.print(labelled("[bold]screen[/]", f"simulated screening skipped: {demo.skipped}"))
        return
    first = demo.results[0]
    seeds = ",".join(str(r.seed) for r in first.runs)
    console.print(labelled("[bold]screen[/]", f"simulated screening of the Cohen (2006) review {demo.review} "
                           f"({count(first.n, 'record')}, {first.n_includes} includes), 1 prior include and 1 prior "
                           f"exclude per seed, seeds {seeds}, in {demo.seconds:.0f} s:"))
    table = Table()
    for col in ("model", "WSS@95", "RRF@10", "stop: recall", "unread"):
        table.add_column(col)

    for res in demo.results:
        s = res.summary()
        table.add_row(*cells(res.model, pct(*s["wss@95"]), pct(*s["rrf@10"]), pct(*s["stop:hypergeometric:recall"]),
                             pct(*s["stop:hypergeometric:saved"])))
    console.print(table)
    console.print("    tfidf-svm screens in the order of ASReview 3.0.8's default model (elas_u4); tfidf-mesh-svm, "
                  "the MeSH headings beside the text, is what `serendip screen start` uses. stop: the hypergeometric "
                  "rule (95 % recall target), the recall it reached and the records it left unread. All 14 reviews, "
                  "beside ASReview itself: benchmarks/screening_cohen.py", highlight=False)


def register(app: typer.Typer) -> None:
    app.command()(demo)
