"""``serendip chem generate train | sample | evaluate``: the SMILES language model (wraps
:mod:`serendip.chem.generate`). Heavy imports (torch, RDKit) happen inside the commands."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from serendip.cli.common import (
    SerendipTyper,
    console,
    err_console,
    handle_errors,
    labelled,
    rate_progress,
)
from serendip.cli.display import count, visible
from serendip.errors import ConfigError

app = SerendipTyper(no_args_is_help=True, help="Molecule generation: train a SMILES language model, sample it, "
                    "score samples with the MOSES metrics.")


def _say(text: str) -> None:
    console.print(visible(text), markup=False, highlight=False, soft_wrap=True)


def _gen():
    from serendip.errors import ConfigError

    try:
        from serendip.chem import generate
    except ImportError as exc:
        raise ConfigError(f"serendip chem generate needs the chem extra ({exc}); pip install 'serendip[chem]'"
                          ) from None
    return generate


@app.command("train")
def train_cmd(file: Path = typer.Argument(..., help="SMILES file: CSV with a SMILES column (.gz allowed) or .smi."),
              out: Path = typer.Option(..., "--out", "-o", help="Model folder to write (rewritten at checkpoints)."),
              minutes: float = typer.Option(55.0, "--minutes", min=0.01, help="Wall-clock training budget."),
              epochs: Optional[float] = typer.Option(None, "--epochs", min=0.0, help="Stop after this many epochs."),
              hidden: int = typer.Option(384, "--hidden", min=1, help="LSTM units per layer."),
              layers: int = typer.Option(2, "--layers", min=1, help="LSTM layers."),
              embedding: int = typer.Option(64, "--embedding", min=1, help="Token embedding size."),
              dropout: float = typer.Option(0.0, "--dropout", min=0.0, max=0.99, help="Dropout between LSTM layers."),
              kekule: bool = typer.Option(False, "--kekule", help="Train on (and sample) Kekulé SMILES, every "
                                          "bond order written out, so `sample --mask valence` checks them all."),
              batch_size: int = typer.Option(128, "--batch-size", min=1, help="Molecules per batch."),
              lr: float = typer.Option(1e-3, "--lr", min=1e-8, help="Peak learning rate (Adam)."),
              seed: int = typer.Option(0, "--seed", min=0, help="Seeds the split, the batches and the weights."),
              threads: int = typer.Option(0, "--threads", min=0, help="torch threads (0: torch's default)."),
              resume: bool = typer.Option(False, "--resume", help="Continue training the model already in --out "
                                          "(its vocabulary, sizes and SMILES form; the size options and --kekule "
                                          "are then ignored)."),
              force: bool = typer.Option(False, "--force", help="Replace the model already in --out."),
              checkpoint_minutes: float = typer.Option(5.0, "--checkpoint-minutes", min=0.01,
                                                       help="Save the model folder every this many minutes."),
              json_out: bool = typer.Option(False, "--json", help="Print the result as JSON.")) -> None:
    """Train the SMILES LSTM on FILE under a wall-clock budget; a SMILES that cannot be tokenised, that
    RDKit rejects (a pentavalent carbon...) or that is longer than the model's max_length tokens is listed
    with its line and reason, left out and counted (exit status 1 then)."""
    with handle_errors():
        gen = _gen()
        import torch

        if threads:
            torch.set_num_threads(threads)
        if resume and force:
            raise ConfigError("--resume continues the model in --out and --force replaces it: give one of them")
        if resume and kekule:
            _check_resumed_form(out)
        cfg = None if resume else gen.GeneratorConfig(embedding_dim=embedding, hidden_size=hidden, num_layers=layers,
                                                      dropout=dropout, smiles_form="kekule" if kekule else "as-given")
        with rate_progress("molecules") as bar:
            task = bar.add_task("training", total=None)
            res = gen.train_file(file, out, config=cfg, minutes=minutes, epochs=epochs, batch_size=batch_size,
                                 lr=lr, seed=seed, checkpoint_minutes=checkpoint_minutes,
                                 init_from=out if resume else None, force=force,
                                 on_step=lambda k: bar.advance(task, k))
        for issue in res.issues:
            err_console.print(labelled("[yellow]skipped:[/]", str(issue)), highlight=False, soft_wrap=True)
        if json_out:
            from serendip.chem.generate.train import result_json

            print(result_json(res))
        else:
            _say(f"{res.steps:,} steps, {count(res.molecules_seen, 'molecule')} ({res.epochs:.2f} epochs) in "
                 f"{res.wall_s:.0f} s ({res.mol_per_s:.0f} molecules/s; {res.mol_per_cpu_s:.0f} per CPU-second); "
                 f"train loss {_loss(res.train_loss)}, validation loss {_loss(res.val_loss)} nats/token; stopped by "
                 f"{res.stopped}; {res.n_parameters:,} parameters; {count(res.n_train + res.n_val, 'molecule')} used, "
                 f"{len(res.issues):,} skipped; saved to {res.folder}")
    if res.issues:
        raise typer.Exit(1)


def _note_training_file(counts: dict, train: Optional[Path]) -> None:
    """A note per kind of training-file row left out of the novelty reference (blank, too long, rejected)."""
    from serendip.chem.standardize import MAX_SMILES_CHARS

    kinds = (("n_train_blank", "row{s} of {train} with no SMILES"),
             ("n_train_too_long", f"SMILES of {{train}} longer than {MAX_SMILES_CHARS:,} characters (damaged lines?): "
                                  "not parsed"),
             ("n_train_rejected", "SMILES of {train} RDKit rejects"))
    for key, what in kinds:
        k = counts.get(key)
        if k:
            err_console.print(labelled("[yellow]note:[/]", f"{k:,} " + what.format(s="s" * (k != 1), train=train)
                                       + f": left out of the novelty reference (counts.{key} with --json)"),
                              highlight=False, soft_wrap=True)


def _loss(value: float | None) -> str:
    return "none" if value is None else f"{value:.3f}"


def _check_resumed_form(out: Path) -> None:
    """``--resume --kekule``: refuse, before any work, a model in ``out`` trained on as-given SMILES
    (continuing keeps a model's own form; a missing or damaged folder is left to the training call)."""
    try:
        form = json.loads((out / "config.json").read_text(encoding="utf-8"))["config"].get("smiles_form", "as-given")
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return
    if form != "kekule":
        raise ConfigError(f"--kekule with --resume: the model in {out} was trained on {form} SMILES and keeps "
                          "that form; leave out --kekule, or train a new model (--force) with it")


@app.command("sample")
def sample_cmd(model_dir: Path = typer.Argument(..., help="A folder written by `serendip chem generate train`."),
               n: int = typer.Option(1000, "--n", "-n", min=0, help="Strings to draw."),
               out: Optional[Path] = typer.Option(None, "--out", "-o", help="File to write (SMILES header; default: "
                                                  "print)."),
               temperature: float = typer.Option(1.0, "--temperature", "-t", min=1e-6, help="Softmax temperature."),
               seed: int = typer.Option(0, "--seed", min=0, help="Sampling seed."),
               batch_size: int = typer.Option(1000, "--batch-size", min=1, help="Strings drawn together."),
               max_length: Optional[int] = typer.Option(None, "--max-length", min=1, help="Token cap (default: the "
                                                        "model's); near it the masks close what is open, and a "
                                                        "string still cut there is written as far as it got."),
               mask: str = typer.Option("syntax", "--mask", help="syntax: draw only tokens the SMILES grammar "
                                        "allows next (no unclosed ring or branch); valence: also no bond an atom "
                                        "has no room for; none: the model's raw distribution.")) -> None:
    """Draw SMILES strings, not checked by RDKit (invalid ones included, so validity can be measured), in
    the model's form (Kekulé SMILES from a model trained with --kekule). By default each token is drawn
    among those the SMILES grammar allows next (--mask)."""
    with handle_errors():
        from serendip.chem.generate.model import MASKS

        if mask not in MASKS:
            raise ConfigError(f"--mask must be one of {', '.join(MASKS)}, got {mask}")
        if out is not None:  # before sampling: a folder or a missing parent is refused at once
            from serendip.cli.chem_cmd import _check_writable

            _check_writable(out)
        gen = _gen()
        with rate_progress("molecules") as bar:
            task = bar.add_task("sampling", total=n)
            smiles = gen.sample_to_file(model_dir, n, out, temperature=temperature, seed=seed, batch_size=batch_size,
                                        max_length=max_length, mask=mask,
                                        on_batch=lambda k: bar.advance(task, k))
        if out is None:
            for s in smiles:
                print(s)
        else:
            _say(f"{len(smiles):,} SMILES written to {out}")


@app.command("evaluate")
def evaluate_cmd(file: Path = typer.Argument(..., help="Generated SMILES (as `sample --out` writes)."),
                 train: Optional[Path] = typer.Option(None, "--train", help="Training SMILES (novelty, scaffold "
                                                      "novelty)."),
                 test: Optional[Path] = typer.Option(None, "--test", help="Test SMILES (FCD/SNN/Frag/Scaf vs Test)."),
                 test_sf: Optional[Path] = typer.Option(None, "--test-scaffolds", help="Scaffold-test SMILES."),
                 cache: Optional[Path] = typer.Option(None, "--cache", help="Folder to keep reference statistics in."),
                 json_out: bool = typer.Option(False, "--json", help="Print the metrics as JSON.")) -> None:
    """The MOSES metrics (Polykovskiy et al. 2020) of FILE. Every line is a draw: an empty line (an empty
    draw) counts as an invalid sample, and their number is printed (counts.n_empty with --json)."""
    with handle_errors():
        gen = _gen()
        with rate_progress("stages") as bar:
            task = bar.add_task("evaluating", total=None)

            def stage(name: str) -> None:
                bar.update(task, description=name, advance=1)

            ev = gen.evaluate_file(file, train_file=train, test_file=test, test_sf_file=test_sf, cache=cache,
                                   on_stage=stage)
        if ev.counts["n_empty"]:
            n_empty = ev.counts["n_empty"]
            err_console.print(labelled("[yellow]note:[/]", f"{n_empty:,} empty line{'s' * (n_empty != 1)} counted "
                                       "as invalid samples (empty draws)"), highlight=False, soft_wrap=True)
        _note_training_file(ev.counts, train)
        if json_out:
            print(json.dumps({"metrics": ev.metrics, "counts": ev.counts}))
            return
        _say(f"{ev.counts['n']:,} strings, {ev.counts['n_valid']:,} valid, {ev.counts['n_unique']:,} unique")
        for k, v in ev.metrics.items():
            _say(f"{k:>16}  {v:.4f}")
