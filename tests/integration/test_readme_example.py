"""The README's fine-tuning example runs as written.

The ``bash`` and ``toml`` blocks of README.md's "Pre-training and fine-tuning" section are read from
the file, and each command is run through the CLI (Typer's CliRunner) in an empty folder, with the
workspace the README asks for (``serendip init``). Only what the README leaves to the reader is
supplied: the backbone folder (README: "or any local Hugging Face model folder"; the tiny BERT of
``models_helpers.make_backbone`` stands in for the 2000-step pre-training, whose command line is
still parsed and validated), the training table ``train.csv``, the ``sequences.fasta`` to predict
and the ``RUN_ID`` placeholder.
"""
from __future__ import annotations

import csv
import json
import random
import re
import shlex
from pathlib import Path

import pytest
from models_helpers import dna, make_backbone, write_rows
from typer.testing import CliRunner

from serendip.cli.app import app

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")
pytest.importorskip("peft")
pytestmark = pytest.mark.usefixtures("one_torch_thread")

README = Path(__file__).resolve().parents[2] / "README.md"
SECTION = "## Pre-training and fine-tuning"
runner = CliRunner()


def readme_blocks(text: str, section: str = SECTION) -> dict[str, str]:
    """The fenced code blocks (``{language: body}``, first of each language) of one README section."""
    start = text.index(section)
    end = text.find("\n## ", start + len(section))
    body = text[start:end if end >= 0 else None]
    blocks: dict[str, str] = {}
    for lang, code in re.findall(r"^```(\w+)\n(.*?)^```", body, flags=re.M | re.S):
        blocks.setdefault(lang, code)
    return blocks


def readme_commands(bash: str) -> list[list[str]]:
    """Each ``serendip`` command of a bash block as argv (after ``serendip``); comments dropped,
    ``a && b`` split in two."""
    commands: list[list[str]] = []
    for line in bash.splitlines():
        words = shlex.split(line, comments=True)
        while words:
            cut = words.index("&&") if "&&" in words else len(words)
            assert words[0] == "serendip", f"README command is not a serendip command: {line!r}"
            commands.append(words[1:cut])
            words = words[cut + 1:]
    return commands


def test_readme_section_has_the_example():
    blocks = readme_blocks(README.read_text(encoding="utf-8"))
    assert {"bash", "toml"} <= set(blocks)
    names = [c[0] for c in readme_commands(blocks["bash"])]
    assert names == ["pretrain", "finetune", "runs", "runs", "predict"]


def _option(argv: list[str], name: str) -> str:
    return argv[argv.index(name) + 1]


def test_readme_finetuning_example_runs_as_written(tmp_path, monkeypatch):
    blocks = readme_blocks(README.read_text(encoding="utf-8"))
    commands = readme_commands(blocks["bash"])
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SERENDIP_WORKSPACE", raising=False)
    assert runner.invoke(app, ["init"]).exit_code == 0  # "create one first ... (serendip init)"

    # 1. pre-training: the command line is parsed and validated as written; the model folder it
    # names is then made by the tiny stand-in (a 2000-step run has no place in a test)
    pretrain = commands[0]
    from serendip.models.pretrain import pretrain_config_from_options

    cfg = pretrain_config_from_options(
        None, dataset=_option(pretrain, "--dataset"), kind=_option(pretrain, "--kind"),
        size=_option(pretrain, "--size"), max_steps=int(_option(pretrain, "--max-steps")),
        out=Path(_option(pretrain, "--out")))
    assert cfg.training.max_steps == 2000 and cfg.kind == "dna"
    backbone = Path(_option(pretrain, "--out"))
    make_backbone(backbone)

    # 2. the config exactly as the README has it; the reader's own training table
    (tmp_path / "finetune.toml").write_text(blocks["toml"], encoding="utf-8")
    assert f'backbone = "{backbone.as_posix()}"' in blocks["toml"]
    rng = random.Random(0)
    write_rows(tmp_path / "train.csv",
               [[dna(rng, bool(i % 2)), str(i % 2)] for i in range(60)], header=("text", "label"))
    with open(tmp_path / "sequences.fasta", "w", encoding="utf-8") as fh:
        for i in range(4):
            fh.write(f">seq{i} query {i}\n{dna(rng, bool(i % 2), n=16)}\n")

    run_id = None
    for argv in commands[1:]:
        if run_id is not None:
            argv = [run_id if word == "RUN_ID" else word for word in argv]
        result = runner.invoke(app, argv)
        assert result.exit_code == 0, f"serendip {' '.join(argv)}\n{result.output}"
        if argv[0] == "finetune":
            listed = runner.invoke(app, ["runs", "list", "--json"])
            (info,) = json.loads(listed.stdout)
            run_id = info["id"]
            assert info["status"] == "done" and info["config"]["training"]["lr"] == 3e-4
    with open(tmp_path / "predictions.csv", encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["id"] for r in rows] == [f"seq{i}" for i in range(4)]
    assert set(rows[0]) == {"id", "prediction", "p_0", "p_1"}  # class probabilities per record
    assert all(abs(float(r["p_0"]) + float(r["p_1"]) - 1) < 1e-9 for r in rows)
