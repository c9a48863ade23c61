"""Checkpoints of ``serendip pretrain``: an interrupted run goes on with ``--resume`` to the same losses
as an uninterrupted one; a checkpoint is never thrown away unasked nor continued by another run."""
from __future__ import annotations

import random
from pathlib import Path

import pytest
from typer.testing import CliRunner

from serendip.errors import ConfigError
from serendip.models.pretrain import PretrainConfig, pretrain
from serendip.models.pretrain.checkpoint import CHECKPOINT_FILE, read_checkpoint


def _fasta(path: Path) -> Path:
    rng = random.Random(3)
    seq = "".join(rng.choice(["ACGTTGCA", "TTTAAACC", "GGGCCCAT", "A", "C", "G", "T"]) for _ in range(80))
    path.write_text(f">s1\n{seq}\n>s2\n{seq[::-1]}\n")
    return path


def _cfg(fasta: Path, out: Path, **training) -> PretrainConfig:
    return PretrainConfig.model_validate({
        "kind": "dna", "data": {"inputs": [str(fasta)], "heldout": 0.1},
        "windows": {"length": 48, "stride": 24}, "tokenizer": {"kind": "kmer", "k": 3},
        "model": {"size": "tiny", "hidden_size": 32, "num_attention_heads": 2, "intermediate_size": 64,
                  "max_position_embeddings": 64},
        "training": {"max_steps": 16, "batch_size": 8, "lr": 3e-3, "eval_every": 6, **training},
        "output": {"dir": str(out)},
    })


def _with(cfg: PretrainConfig, **output) -> PretrainConfig:
    return cfg.model_copy(update={"output": cfg.output.model_copy(update=output)})


def _interrupt_at(step_to_stop: int):
    def progress(step: int, total: int, loss: float) -> None:
        if step == step_to_stop:
            raise KeyboardInterrupt
    return progress


@pytest.fixture(scope="module")
def whole(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("resume")
    fasta = _fasta(tmp / "syn.fa")
    return fasta, pretrain(_cfg(fasta, tmp / "whole"))


def test_an_interrupted_run_resumes_to_the_losses_of_an_uninterrupted_one(whole, tmp_path):
    fasta, uninterrupted = whole
    cfg = _cfg(fasta, tmp_path / "m", checkpoint_every=5)
    messages: list[str] = []
    with pytest.raises(KeyboardInterrupt):
        pretrain(cfg, progress=_interrupt_at(12), log=messages.append)
    saved = tmp_path / "m.partial" / CHECKPOINT_FILE
    assert read_checkpoint(saved)["step"] == 10 and not (tmp_path / "m").exists()
    assert any("after step 10" in m and "--resume" in m for m in messages)
    with pytest.raises(ConfigError, match="--resume"):  # not discarded unasked
        pretrain(cfg)
    assert saved.is_file()
    said: list[str] = []
    resumed = pretrain(_with(cfg, resume=True), log=said.append)
    assert any("resumed after step 10 of 16" in m for m in said)
    assert resumed.losses == uninterrupted.losses  # same batches, masks and dropout after the restart
    assert resumed.heldout == uninterrupted.heldout
    assert [e["step"] for e in resumed.evals] == [6, 12, 16]
    assert not (tmp_path / "m.partial").exists()
    assert not (tmp_path / "m" / CHECKPOINT_FILE).exists() and (tmp_path / "m" / "config.json").is_file()


def test_a_checkpoint_is_continued_only_by_the_same_run_and_dropped_only_with_overwrite(whole, tmp_path):
    fasta, uninterrupted = whole
    cfg = _cfg(fasta, tmp_path / "m", checkpoint_every=4)
    with pytest.raises(KeyboardInterrupt):
        pretrain(cfg, progress=_interrupt_at(5))
    saved = tmp_path / "m.partial" / CHECKPOINT_FILE
    other = _cfg(fasta, tmp_path / "m", checkpoint_every=4, lr=1e-3)
    with pytest.raises(ConfigError, match="another run"):
        pretrain(_with(other, resume=True))
    assert read_checkpoint(saved)["step"] == 4  # kept after the refusal
    said: list[str] = []
    fresh = pretrain(_with(cfg, overwrite=True), log=said.append)
    assert any("discarding the checkpoint" in m for m in said)
    assert fresh.losses == uninterrupted.losses and not saved.exists()


def test_resume_without_a_checkpoint_starts_at_step_one_and_a_bad_file_is_named(whole, tmp_path):
    fasta, uninterrupted = whole
    said: list[str] = []
    result = pretrain(_with(_cfg(fasta, tmp_path / "a"), resume=True), log=said.append)
    assert any("starting at step 1" in m for m in said) and result.losses == uninterrupted.losses
    partial = tmp_path / "b.partial"
    partial.mkdir()
    (partial / CHECKPOINT_FILE).write_bytes(b"not a checkpoint")
    with pytest.raises(ConfigError, match=r"b\.partial.*checkpoint\.pt: unreadable checkpoint"):
        pretrain(_with(_cfg(fasta, tmp_path / "b"), resume=True))
    assert (partial / CHECKPOINT_FILE).read_bytes() == b"not a checkpoint"


def test_cli_flags_set_the_checkpoint_options(tmp_path):
    from serendip.cli.app import app
    from serendip.models.pretrain import pretrain_config_from_options

    cfg = pretrain_config_from_options(None, inputs=[tmp_path / "x.txt"], kind="text", checkpoint_every=50,
                                       resume=True)
    assert cfg.training.checkpoint_every == 50 and cfg.output.resume is True
    out = CliRunner().invoke(app, ["pretrain", "--help"], terminal_width=200)
    assert "--checkpoint-every" in out.output and "--resume" in out.output


def test_an_unreadable_checkpoint_gets_one_line_that_says_what_works(whole, tmp_path):
    fasta, _ = whole
    partial = tmp_path / "c.partial"
    partial.mkdir()
    (partial / CHECKPOINT_FILE).write_text("garbage")  # torch's own message runs to 9 lines
    with pytest.raises(ConfigError) as err:
        pretrain(_with(_cfg(fasta, tmp_path / "c"), resume=True))
    message = str(err.value)
    assert "\n" not in message and "unreadable checkpoint" in message and "pass --overwrite" in message
    assert "without --resume" not in message  # a rerun without --resume is refused: not advice
