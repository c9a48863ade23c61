"""``serendip pretrain [CONFIG] [--fasta PATH ...] [--size tiny] [--max-steps N] [--out DIR] [--set key=value]``."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer
from rich.table import Table
from rich.text import Text

from serendip.cli.common import (
    RegistryHelpCommand,
    cells,
    console,
    handle_errors,
    rate_progress,
    terminate_as_exit,
)
from serendip.cli.display import visible


def results_table(result: Any) -> Table:
    """Held-out masked-token metrics beside the unigram baseline, and throughput
    (:meth:`~serendip.models.pretrain.PretrainResult.summary_rows`)."""
    table = Table(title=Text(visible(result.title())), title_justify="left")
    for col in ("held-out (masked tokens)", "model", "unigram baseline"):
        table.add_column(col)
    for row in result.summary_rows():
        table.add_row(*cells(*row))
    return table


def pretrain_command(
        config: Path | None = typer.Argument(None, help="Config file (.toml/.yaml); optional when flags say enough."),
        fasta: list[Path] | None = typer.Option(None, "--fasta", help="FASTA/FASTQ input (repeatable); implies --kind dna."),
        inputs: list[Path] | None = typer.Option(None, "--input", help="Other input file: .txt, .jsonl, .csv, .tsv (repeatable)."),
        dataset: str | None = typer.Option(None, "--dataset", help="A registered dataset, e.g. genomes."),
        dataset_files: str | None = typer.Option(None, "--dataset-files", help="Glob on the dataset's files, e.g. '*ecoli*'."),
        kind: str | None = typer.Option(None, "--kind", help="Corpus kind (default: the config's kind, else dna)."),
        size: str | None = typer.Option(None, "--size", help="tiny, small or base."),
        max_steps: int | None = typer.Option(None, "--max-steps", help="Optimisation steps."),
        out: Path | None = typer.Option(None, "--out", help="Output model folder."),
        overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing output folder (and an interrupted run's checkpoint)."),
        checkpoint_every: int | None = typer.Option(None, "--checkpoint-every", min=1, help="Save a checkpoint every N steps (in OUT.partial)."),
        resume: bool = typer.Option(False, "--resume", help="Go on from the checkpoint of an interrupted run with the same settings."),
        seed: int | None = typer.Option(None, "--seed", help="Random seed (default: the config's training.seed, 0)."),
        device: str | None = typer.Option(None, "--device", help="cpu or cuda (default: cuda if available)."),
        set_: list[str] | None = typer.Option(None, "--set", help="key=value override, e.g. training.lr=3e-4 (repeatable)."),
        json_out: bool = typer.Option(False, "--json", help="Print the result as one JSON object."),
) -> None:
    """Pre-train a BERT masked language model from scratch (DNA, text, or SMILES with serendip.chem).

    Saves a Hugging Face model folder (weights, tokenizer, pretrain_report.json) that fine-tuning
    can start from; reports held-out masked-token accuracy and perplexity beside a unigram baseline."""
    with handle_errors(), terminate_as_exit():  # SIGTERM: the last checkpoint is kept, as on Ctrl-C
        from serendip.models.pretrain import (
            check_inputs,
            pretrain,
            pretrain_config_from_options,
        )

        cfg = pretrain_config_from_options(
            config, fasta=fasta, inputs=inputs, dataset=dataset, dataset_files=dataset_files, kind=kind,
            size=size, max_steps=max_steps, out=out, overwrite=overwrite, seed=seed, device=device,
            checkpoint_every=checkpoint_every, resume=resume, overrides=set_)
        check_inputs(cfg)  # missing files, a taken output folder: fail before the progress bar
        with rate_progress("steps") as bar:
            task = bar.add_task("pretrain", total=None)

            def progress(step: int, total: int, loss: float) -> None:
                bar.update(task, completed=step, total=total, description=f"pretrain loss {loss:.3f}")

            def log(message: str) -> None:
                if not json_out:
                    bar.console.print(visible(message), markup=False, highlight=False)

            result = pretrain(cfg, progress=progress, log=log)
        if json_out:
            data = result.to_dict()
            data.pop("report", None)
            print(json.dumps(data))
        else:
            console.print(results_table(result))
            console.print(visible(f"model folder: {result.output_dir} (report: pretrain_report.json)"), markup=False)


def register(app: typer.Typer) -> None:
    app.command("pretrain", cls=RegistryHelpCommand)(pretrain_command)
