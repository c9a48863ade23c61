"""``serendip pretrain [CONFIG] [--fasta PATH ...] [--size tiny] [--max-steps N] [--out DIR] [--set key=value]``."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from serendip.cli.common import console, handle_errors, rate_progress


def _put(data: dict[str, Any], dotted: str, value: Any) -> None:
    node = data
    *parents, last = dotted.split(".")
    for part in parents:
        node = node.setdefault(part, {})
    node[last] = value


def build_config(config: Path | None, *, fasta: list[Path] | None = None, inputs: list[Path] | None = None,
                 dataset: str | None = None, dataset_files: str | None = None, kind: str | None = None,
                 size: str | None = None, max_steps: int | None = None, out: Path | None = None,
                 overwrite: bool = False, seed: int | None = None, device: str | None = None,
                 overrides: list[str] | None = None) -> Any:
    """The run's :class:`~serendip.models.pretrain.PretrainConfig`: the file (or defaults), then the
    flags, then ``--set key=value`` overrides (applied last)."""
    from serendip.errors import ConfigError
    from serendip.models.pretrain import (
        PretrainConfig,
        apply_pretrain_overrides,
        load_pretrain_config,
    )

    cfg = load_pretrain_config(config) if config is not None else PretrainConfig()
    data = cfg.model_dump(mode="python")
    files = [*(fasta or []), *(inputs or [])]
    if files:
        _put(data, "data.inputs", files)
    if fasta and kind is None:
        kind = "dna"
    for key, value in (("kind", kind), ("data.dataset", dataset), ("data.dataset_files", dataset_files),
                       ("model.size", size), ("training.max_steps", max_steps), ("output.dir", out),
                       ("training.seed", seed), ("training.device", device)):
        if value is not None:
            _put(data, key, value)
    if overwrite:
        _put(data, "output.overwrite", True)
    from pydantic import ValidationError

    from serendip.models.pretrain import _describe

    try:
        cfg = PretrainConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(f"options: {_describe(exc)}") from None
    return apply_pretrain_overrides(cfg, overrides or []) if overrides else cfg


def results_table(result: Any) -> Table:
    """Held-out masked-token metrics beside the unigram baseline, and throughput."""
    table = Table(title=f"Pre-training: {result.steps} steps, final training loss {result.final_loss:.4f}",
                  title_justify="left")
    for col in ("held-out (masked tokens)", "model", "unigram baseline"):
        table.add_column(col)
    if result.heldout:
        base = result.baseline or {}
        table.add_row("accuracy", f"{result.heldout['accuracy']:.4f}",
                      f"{base['accuracy']:.4f}" if base else "-")
        table.add_row("perplexity", f"{result.heldout['perplexity']:.2f}",
                      f"{base['perplexity']:.2f}" if base else "-")
        table.add_row("masked tokens", str(result.heldout["masked_tokens"]), "")
    else:
        table.add_row("(no held-out data)", "-", "-")
    table.add_row("steps/s | tokens/s", f"{result.steps_per_s:.2f} | {result.tokens_per_s:,.0f}", "")
    table.add_row("parameters", f"{result.n_parameters:,}", "")
    return table


def pretrain_command(
        config: Path | None = typer.Argument(None, help="Config file (.toml/.yaml); optional when flags say enough."),
        fasta: list[Path] | None = typer.Option(None, "--fasta", help="FASTA/FASTQ input (repeatable); implies --kind dna."),
        inputs: list[Path] | None = typer.Option(None, "--input", help="Other input file: .txt, .jsonl, .csv, .tsv (repeatable)."),
        dataset: str | None = typer.Option(None, "--dataset", help="A registered dataset, e.g. genomes."),
        dataset_files: str | None = typer.Option(None, "--dataset-files", help="Glob on the dataset's files, e.g. '*ecoli*'."),
        kind: str | None = typer.Option(None, "--kind", help="dna or text."),
        size: str | None = typer.Option(None, "--size", help="tiny, small or base."),
        max_steps: int | None = typer.Option(None, "--max-steps", help="Optimisation steps."),
        out: Path | None = typer.Option(None, "--out", help="Output model folder."),
        overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing output folder."),
        seed: int | None = typer.Option(None, "--seed"),
        device: str | None = typer.Option(None, "--device", help="cpu or cuda (default: cuda if available)."),
        set_: list[str] | None = typer.Option(None, "--set", help="key=value override, e.g. training.lr=3e-4 (repeatable)."),
        json_out: bool = typer.Option(False, "--json", help="Print the result as one JSON object."),
) -> None:
    """Pre-train a BERT masked language model from scratch (DNA or text).

    Saves a Hugging Face model folder (weights, tokenizer, pretrain_report.json) that fine-tuning
    can start from; reports held-out masked-token accuracy and perplexity beside a unigram baseline."""
    with handle_errors():
        cfg = build_config(config, fasta=fasta, inputs=inputs, dataset=dataset, dataset_files=dataset_files,
                           kind=kind, size=size, max_steps=max_steps, out=out, overwrite=overwrite, seed=seed,
                           device=device, overrides=set_)
        from serendip.models.pretrain import check_inputs, pretrain

        check_inputs(cfg)  # missing files, a taken output folder: fail before the progress bar
        with rate_progress("steps") as bar:
            task = bar.add_task("pretrain", total=None)

            def progress(step: int, total: int, loss: float) -> None:
                bar.update(task, completed=step, total=total, description=f"pretrain loss {loss:.3f}")

            def log(message: str) -> None:
                if not json_out:
                    bar.console.print(message, highlight=False)

            result = pretrain(cfg, progress=progress, log=log)
        if json_out:
            data = result.to_dict()
            data.pop("report", None)
            print(json.dumps(data))
        else:
            console.print(results_table(result))
            console.print(f"model folder: {result.output_dir} (report: pretrain_report.json)")


def register(app: typer.Typer) -> None:
    app.command("pretrain")(pretrain_command)
