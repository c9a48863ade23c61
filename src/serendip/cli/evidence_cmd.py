"""``serendip verify``: claim verification over the workspace (wraps :mod:`serendip.evidence.api`);
``serendip rerank-train``: a cross-encoder reranker trained on judged queries (wraps
:mod:`serendip.evidence.rerank_train`)."""
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
    err_console,
    handle_errors,
    labelled,
    lines_cell,
    open_workspace,
    rate_progress,
)
from serendip.cli.display import count, json_line, visible


def verify_cmd(claim: Optional[str] = typer.Argument(None, help="The claim to verify (one sentence)."),
               k: int = typer.Option(10, "-k", help="Records retrieved and read."),
               mode: Optional[str] = typer.Option(None, "--mode", "-m", help="Retrieval mode (default: the "
                                                  "workspace's retrieval.default_mode, hybrid)."),
               json_out: bool = typer.Option(False, "--json", help="Print the verdicts as JSON."),
               train: bool = typer.Option(False, "--train", help="Fine-tune the rationale and label models "
                                          "on the SciFact train claims, tune the decision rule on held-out "
                                          "train claims and record them in the workspace (once; hours on 2 "
                                          "CPU cores, about 4 minutes on a GPU)."),
               epochs_rationale: int = typer.Option(4, "--epochs-rationale", min=1,
                                                    help="With --train: passes over the rationale data."),
               epochs_label: int = typer.Option(15, "--epochs-label", min=1,
                                                help="With --train: passes over the label data."),
               workspace: Optional[Path] = WorkspaceOpt) -> None:
    """Label the top-k records SUPPORT / CONTRADICT / NEI for a claim, with rationale sentences."""
    from serendip.errors import ConfigError
    from serendip.evidence import api

    with handle_errors():
        ws = open_workspace(workspace)
        if train:
            if claim:
                raise ConfigError("--train trains the models only: give the claim in a second call")
            rationale, label = api.train_verifier(ws, epochs_rationale=epochs_rationale, epochs_label=epochs_label,
                                                  log=lambda m: console.print(visible(m), markup=False, highlight=False))
            console.print(visible(f"verifier trained: runs {rationale} (rationale) and {label} (label)"), markup=False)
            return
        if claim is None:
            raise ConfigError("give a claim to verify, e.g. serendip verify \"Zinc shortens the common cold\"")
        verdicts = api.verify_claim(ws, claim, k=k, mode=mode)
        if json_out:
            print(json_line([v.to_dict() for v in verdicts]))
            return
        _print(verdicts)


def _print(verdicts) -> None:
    table = Table(show_lines=True)
    for col in ("#", "label", "p", "record", "rationale"):
        table.add_column(col, overflow="fold")
    for v in verdicts:
        rationale = lines_cell(f"[{r['start']}:{r['end']}] {r['text']}" for r in v.rationale) if v.rationale \
            else "-"
        who = lines_cell([f"{v.record_id}" + (f" PMID {v.pmid}" if v.pmid else ""), *([v.title] if v.title else [])])
        table.add_row(*cells(v.rank, v.label, f"{v.probability:.2f}", who, rationale))
    console.print(table)
    found = [v for v in verdicts if v.label != "NEI"]
    console.print(f"{len(found)} of {count(len(verdicts), 'record')} take a side on the claim "
                  f"({sum(v.label == 'SUPPORT' for v in found)} support, "
                  f"{sum(v.label == 'CONTRADICT' for v in found)} contradict)", highlight=False)


class _StepBars:
    """The ``steps`` callback of :func:`~serendip.evidence.rerank_train.train_reranker`: one
    :func:`rate_progress` display per step, in the step's own unit, closed when the next one opens."""

    UNITS = {"mine negatives": "queries", "fine-tune": "steps", "tune on held-out": "queries"}

    def __init__(self) -> None:
        self.progress = None

    def __call__(self, name: str, total: int | None):
        self.close()
        self.progress = rate_progress(self.UNITS.get(name, "items"))
        self.progress.start()
        task = self.progress.add_task(name, total=total)
        progress = self.progress
        return lambda n: progress.advance(task, n)

    def close(self) -> None:
        if self.progress is not None:
            self.progress.stop()
            self.progress = None


def rerank_train_cmd(
        queries: Path = typer.Argument(..., help="BEIR queries.jsonl: one {\"_id\", \"text\"} per line."),
        qrels: Path = typer.Argument(..., help="BEIR qrels TSV: query-id, corpus-id, score (header optional); "
                                     "a corpus-id is a record's id in the file it was ingested from "
                                     "(source_id in `serendip search --json`, with or without its FORMAT: "
                                     "prefix)."),
        record_ids: bool = typer.Option(False, "--record-ids", help="The qrels' corpus-ids are workspace "
                                        "record ids (record_id in `serendip search --json`)."),
        mode: str = typer.Option("hybrid", "--mode", "-m", help="Retrieval mode whose top candidates give the "
                                 "hard negatives and the settings are tuned on."),
        epochs: int = typer.Option(3, "--epochs", min=1, help="Passes over the training pairs."),
        max_length: int = typer.Option(128, "--max-length", min=8, help="Tokens per (query, record) pair."),
        lr: float = typer.Option(1e-4, "--lr", help="Peak learning rate (AdamW, linear warm-up and decay)."),
        batch_size: int = typer.Option(16, "--batch-size", min=1, help="Pairs per optimizer step."),
        negatives: int = typer.Option(5, "--negatives", min=0, help="Hard negatives per query."),
        mine_depth: int = typer.Option(50, "--mine-depth", min=1, help="Negatives are drawn from the mode's top N."),
        held_out: float = typer.Option(0.1, "--held-out", help="Share of the queries held out to choose the "
                                       "rerank depth and weight (0-0.5; 0: none)."),
        backbone: Optional[str] = typer.Option(None, "--backbone", help="Local model folder (default: the "
                                               "bundled all-MiniLM-L6-v2)."),
        layers: Optional[int] = typer.Option(None, "--layers", min=1, help="Keep the backbone's first N "
                                             "transformer layers only: a faster reranker (default: all)."),
        name: str = typer.Option("reranker", "--name", help="The run's name in `serendip runs list`."),
        json_out: bool = typer.Option(False, "--json", help="Print the result as JSON."),
        workspace: Optional[Path] = WorkspaceOpt) -> None:
    """Train a cross-encoder reranker on judged queries over the workspace's records (hard negatives
    from its own index); `serendip search --rerank RUN` then uses it."""
    import warnings

    from serendip.errors import StaleIndexWarning
    from serendip.evidence.rerank_train import load_judgements, train_reranker

    with handle_errors():
        ws = open_workspace(workspace)
        judged = load_judgements(ws, queries, qrels, record_ids=record_ids)
        bars = _StepBars()
        shown = warnings.showwarning

        def show(message, category, *args, **kwargs) -> None:  # a stale index is said when found, in one line
            if issubclass(category, StaleIndexWarning):
                err_console.print(labelled("[yellow]warning:[/]", message), highlight=False, soft_wrap=True)
            else:
                shown(message, category, *args, **kwargs)

        try:
            with warnings.catch_warnings():
                warnings.simplefilter("always", StaleIndexWarning)
                warnings.showwarning = show
                rep = train_reranker(ws, judged, mode=mode, epochs=epochs, max_length=max_length, lr=lr,
                                     batch_size=batch_size, negatives=negatives, mine_depth=mine_depth,
                                     held_out=held_out, backbone=backbone, name=name, steps=bars,
                                     layers=layers)
        finally:
            bars.close()
        _print_training(rep, json_out)


def _print_training(rep, json_out: bool) -> None:
    from dataclasses import asdict

    if json_out:
        print(json.dumps({**asdict(rep), "run_dir": str(rep.run_dir)}))
        return
    ref = rep.run_id or str(rep.run_dir)
    console.print(visible(f"reranker run {ref} trained: {rep.run_dir} ({rep.fit} queries, {rep.positives} relevant and "
                  f"{rep.negatives} {rep.mode} hard-negative pairs; {rep.train_s:.0f} s)"), markup=False,
                  highlight=False, soft_wrap=True)
    if rep.rerank_k is None:
        console.print(visible(f"no held-out query with a relevant record ({rep.held} held out, --held-out): no search "
                      f"settings chosen (a search reranks the top 50 by the reranker alone)"), markup=False,
                      highlight=False, soft_wrap=True)
    else:
        console.print(visible(f"held-out ({rep.held} queries): {rep.mode} nDCG@10 {rep.first_stage_ndcg_at_10:.4f}, "
                      f"reranked {rep.ndcg_at_10:.4f} at depth {rep.rerank_k}, weight {rep.weight} (saved in "
                      f"reranker.json)"), markup=False, highlight=False, soft_wrap=True)
    console.print(f"use it: serendip search --rerank {ref} \"QUERY\"", markup=False, highlight=False,
                  soft_wrap=True)


def register(app: typer.Typer) -> None:
    app.command("verify", cls=RegistryHelpCommand)(verify_cmd)
    app.command("rerank-train", cls=RegistryHelpCommand)(rerank_train_cmd)
